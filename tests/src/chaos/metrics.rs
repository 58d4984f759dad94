//! Tributary's own counters over a run in which workers die: each worker process's counters are
//! scraped every second and kept per process (a restarted worker starts from zero), so the sum
//! over every process that ran is what Tributary counted, short of what a SIGKILLed process
//! counted after its last scrape.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// `(worker index, process generation)` → `resource` → `metric` → value.
type PerProcess = BTreeMap<(usize, u32), BTreeMap<String, BTreeMap<String, u64>>>;

#[derive(Debug, Clone)]
pub struct Counters {
    admins: Vec<String>,
    generations: Arc<Mutex<Vec<u32>>>,
    scraped: Arc<Mutex<PerProcess>>,
    client: reqwest::Client,
}

impl Counters {
    /// For workers whose admin endpoints are `admins` (indexes as in the stack).
    pub fn new(admins: Vec<String>) -> Self {
        let workers = admins.len();
        Self {
            admins,
            generations: Arc::new(Mutex::new(vec![0; workers])),
            scraped: Arc::new(Mutex::new(BTreeMap::new())),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(2))
                .build()
                .unwrap_or_else(|e| panic!("http client: {e}")),
        }
    }

    /// Scrapes worker `i` into its current process's slot (nothing when it does not answer).
    pub async fn scrape(&self, i: usize) {
        let generation = self.generation(i);
        let url = format!("http://{}/metrics", self.admins[i]);
        let Ok(response) = self.client.get(&url).send().await else {
            return;
        };
        let Ok(text) = response.text().await else {
            return;
        };
        let parsed = parse(&text);
        if parsed.is_empty() {
            return;
        }
        // A process that started after this scrape began has a newer generation: the figures
        // may be its predecessor's last or its own first; either way they belong to the slot
        // read at the start, and the next scrape puts the new process's own in its slot.
        self.scraped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((i, generation), parsed);
    }

    pub async fn scrape_all(&self) {
        for i in 0..self.admins.len() {
            self.scrape(i).await;
        }
    }

    /// Worker `i` is about to be replaced by a new process: its last figures are taken now, and
    /// scrapes from here on belong to the next process.
    pub async fn replacing(&self, i: usize) {
        self.scrape(i).await;
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)[i] += 1;
    }

    fn generation(&self, i: usize) -> u32 {
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)[i]
    }

    /// `metric` of `resource` summed over every process scraped.
    pub fn total(&self, resource: &str, metric: &str) -> u64 {
        self.scraped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter_map(|resources| resources.get(resource)?.get(metric))
            .sum()
    }

    /// Every metric of `resource`, summed over every process scraped.
    pub fn totals(&self, resource: &str) -> BTreeMap<String, u64> {
        let mut totals = BTreeMap::new();
        for resources in self
            .scraped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            for (metric, value) in resources.get(resource).into_iter().flatten() {
                *totals.entry(metric.clone()).or_default() += value;
            }
        }
        totals
    }

    /// How many worker processes were scraped at least once.
    pub fn processes(&self) -> usize {
        self.scraped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Every counter of a worker's text, resource id -> metric (as its family names it) -> value.
fn parse(text: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    crate::worker_metrics::counters(text)
}
