//! What the disk and hybrid buffer tests share: a worker data directory that outlives the worker
//! process (optionally a small tmpfs, for a real full disk), a warm-up that proves the path
//! before Kafka goes away, and the buffer's counters summed over a worker's actions.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::mqtt::publish_all;
use crate::numbered::{NumberedFlow, consume_numbers};
use crate::worker_metrics::samples;
use crate::{Stack, unique, wait_until};

/// A data directory that outlives the worker process, removed (and unmounted) when dropped.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    mounted: bool,
}

impl DataDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(unique("tributary-data"));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        Self {
            path,
            mounted: false,
        }
    }

    /// A tmpfs of `size` mounted on a new directory; `None` where mounting is not permitted.
    pub fn tmpfs(size: &str) -> Option<Self> {
        let mut dir = Self::new();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir.path)
            .status()
            .ok()?;
        dir.mounted = status.success();
        dir.mounted.then_some(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The worker's environment: `TRIBUTARY_DATA_DIR` and `extra`.
    pub fn env(&self, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.insert(
            "TRIBUTARY_DATA_DIR".to_owned(),
            self.path.display().to_string(),
        );
        env
    }
}

impl Default for DataDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Prints how long the test has run at each phase (shown with `--nocapture`).
pub fn phase(started: Instant, what: &str) {
    eprintln!("{:>6.1} s  {what}", started.elapsed().as_secs_f64());
}

/// Publishes numbers `0..count` over `topics` MQTT topics and waits until every one is in Kafka:
/// the path works and the worker knows the topic's partitions before Kafka goes away.
pub async fn warm_up(
    stack: &Stack,
    bootstrap: &str,
    flow: &NumberedFlow,
    count: usize,
    topics: usize,
) {
    publish_all(
        &stack.env.mqtt,
        &unique("pub"),
        flow.messages(0..count, topics),
    )
    .await;
    let warm = consume_numbers(bootstrap, &flow.topic, count, Duration::from_secs(30)).await;
    assert!(warm.missing(count).is_empty(), "the warm-up did not arrive");
}

/// The sum of counter family `name` (e.g. `tributary_action_buffer_recovered_total`) over every
/// action of worker 0.
pub async fn action_total(stack: &Stack, name: &str) -> u64 {
    samples(&stack.worker_metrics(0).await)
        .iter()
        .filter(|sample| sample.name == name)
        .map(|sample| sample.value)
        .sum::<f64>() as u64
}

/// The `action:<id>` of the only action worker 0 has metrics for.
pub async fn only_action(stack: &Stack) -> String {
    samples(&stack.worker_metrics(0).await)
        .into_iter()
        .find_map(|sample| Some(format!("action:{}", sample.labels.get("action")?)))
        .unwrap_or_else(|| panic!("no action metrics"))
}

/// Publishes `numbers` over `topics` MQTT topics while the test goes on (Kafka away, a worker
/// killed): await the handle to know every message was acknowledged by the broker.
pub fn publish_in_background(
    stack: &Stack,
    flow: &NumberedFlow,
    numbers: Range<usize>,
    topics: usize,
) -> tokio::task::JoinHandle<()> {
    let mqtt = stack.env.mqtt.clone();
    let messages = flow.messages(numbers, topics);
    tokio::spawn(async move { publish_all(&mqtt, &unique("pub"), messages).await })
}

/// Waits until worker 0 counts `count` of the rule's actions as successes (a record in the
/// buffer counts as one); fails the test with the counters otherwise.
pub async fn wait_buffered(stack: &Stack, rule: &str, count: u64) {
    let buffered = wait_until(Duration::from_secs(60), || async {
        stack.worker_counter(0, rule, "actions.success").await >= count
    })
    .await;
    assert!(
        buffered,
        "the worker did not buffer {count} messages; counters:{}",
        stack.counters_report().await
    );
}

/// Checks a paused intake on worker 0: the action's buffer says it is full (`buffer.disk_full`),
/// the rule took fewer than `sent` messages and the action dropped none, and within 15 s the
/// flow status the worker reports contains every one of `status_says` (why intake stopped).
/// `what` names the cause in failure messages ("buffer", "disk").
pub async fn assert_intake_paused(
    stack: &Stack,
    (rule, action): (&str, &str),
    sent: u64,
    what: &str,
    status_says: &[&str],
) {
    let full = wait_until(Duration::from_secs(30), || async {
        stack.worker_gauge(0, action, "buffer.disk_full").await == Some(1.0)
    })
    .await;
    assert!(
        full,
        "the {what} never said it was full; counters:{}",
        stack.counters_report().await
    );
    let taken = stack.worker_counter(0, rule, "actions.success").await;
    assert!(taken < sent, "a full {what} took every message ({taken})");
    assert_eq!(
        stack.worker_counter(0, action, "dropped").await,
        0,
        "a full {what} dropped records"
    );
    let workers = || async {
        stack
            .api()
            .call(reqwest::Method::GET, "/workers", None)
            .await
            .1
            .to_string()
    };
    let says_why = wait_until(Duration::from_secs(15), || async {
        let text = workers().await;
        status_says.iter().all(|needle| text.contains(needle))
    })
    .await;
    assert!(
        says_why,
        "the flow status does not say why intake stopped ({status_says:?}): {}",
        workers().await
    );
}
