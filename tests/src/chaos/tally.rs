//! What one far end received: how often each sequence number arrived, and the lowest number not
//! received yet (everything below it arrived), which recovery times are measured against.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct Tally {
    inner: Arc<Mutex<Counts>>,
}

#[derive(Debug)]
struct Counts {
    /// Arrivals per sequence number (saturating).
    seen: Vec<u16>,
    /// Every number below this arrived at least once.
    low: usize,
    /// Arrivals, duplicates and foreign records included.
    arrivals: u64,
    /// Records that carried no number below the expected count (garbage, or a stale run's).
    foreign: u64,
    /// When each duplicate arrived, to tell which fault caused it.
    duplicates_at: Vec<Instant>,
}

/// A tally's figures at the end of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub expected: usize,
    /// Arrivals, duplicates included.
    pub received: u64,
    pub distinct: usize,
    pub duplicates: u64,
    /// Numbers below `expected` that never arrived (the first 20 of them are in `first_missing`).
    pub missing: usize,
    pub first_missing: Vec<usize>,
    pub foreign: u64,
}

impl Tally {
    pub fn new(expected: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Counts {
                seen: vec![0; expected],
                low: 0,
                arrivals: 0,
                foreign: 0,
                duplicates_at: Vec::new(),
            })),
        }
    }

    pub fn add(&self, n: Option<u64>) {
        let mut counts = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        counts.arrivals += 1;
        let slot = n
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n < counts.seen.len());
        let Some(n) = slot else {
            counts.foreign += 1;
            return;
        };
        counts.seen[n] = counts.seen[n].saturating_add(1);
        if counts.seen[n] > 1 {
            counts.duplicates_at.push(Instant::now());
        }
        while counts.low < counts.seen.len() && counts.seen[counts.low] > 0 {
            counts.low += 1;
        }
    }

    /// Every number below this arrived.
    pub fn low(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .low
    }

    /// Everything that arrived so far (duplicates included): whether a far end still moves.
    pub fn summary_received(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .arrivals
    }

    /// When each duplicate arrived.
    pub fn duplicates_at(&self) -> Vec<Instant> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .duplicates_at
            .clone()
    }

    pub fn summary(&self) -> Summary {
        let counts = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut summary = Summary {
            expected: counts.seen.len(),
            foreign: counts.foreign,
            ..Summary::default()
        };
        for (n, &c) in counts.seen.iter().enumerate() {
            summary.received += u64::from(c);
            if c == 0 {
                summary.missing += 1;
                if summary.first_missing.len() < 20 {
                    summary.first_missing.push(n);
                }
            } else {
                summary.distinct += 1;
                summary.duplicates += u64::from(c - 1);
            }
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_duplicates_gaps_and_the_contiguous_prefix() {
        let tally = Tally::new(5);
        for n in [0, 1, 1, 3, 9] {
            tally.add(Some(n));
        }
        tally.add(None);
        assert_eq!(tally.low(), 2);
        let summary = tally.summary();
        assert_eq!(summary.received, 4);
        assert_eq!(summary.distinct, 3);
        assert_eq!(summary.duplicates, 1);
        assert_eq!(summary.first_missing, vec![2, 4]);
        assert_eq!(summary.foreign, 2);
        assert_eq!(tally.duplicates_at().len(), 1);
        tally.add(Some(2));
        assert_eq!(tally.low(), 4);
    }
}
