//! Pure arithmetic over measurements: percentiles and rates.

use std::time::Duration;

/// Latency percentiles in microseconds, from raw samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    pub samples: usize,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Percentiles {
    /// Nearest-rank percentiles (the smallest sample with at least p% of samples at or below it).
    /// Sorts `samples` in place; empty input gives zeros with `samples == 0`.
    pub fn from_samples(samples: &mut [u64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        Self {
            samples: samples.len(),
            p50_us: nearest_rank(samples, 50.0),
            p99_us: nearest_rank(samples, 99.0),
            max_us: samples[samples.len() - 1],
        }
    }
}

fn nearest_rank(sorted: &[u64], percent: f64) -> u64 {
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Events per second over a window; zero for an empty window (one message has no rate).
pub fn rate(count: u64, window: Duration) -> f64 {
    let secs = window.as_secs_f64();
    if secs <= 0.0 {
        0.0
    } else {
        count as f64 / secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_one_to_hundred() {
        let mut samples: Vec<u64> = (1..=100).rev().collect();
        let p = Percentiles::from_samples(&mut samples);
        assert_eq!(
            p,
            Percentiles {
                samples: 100,
                p50_us: 50,
                p99_us: 99,
                max_us: 100
            }
        );
    }

    #[test]
    fn a_single_outlier_shows_in_max_and_p99_of_small_sets() {
        let mut samples = vec![10, 10, 10, 10, 5000];
        let p = Percentiles::from_samples(&mut samples);
        assert_eq!((p.p50_us, p.p99_us, p.max_us), (10, 5000, 5000));
    }

    #[test]
    fn empty_samples_and_empty_windows_are_zero_not_panics() {
        assert_eq!(Percentiles::from_samples(&mut []).samples, 0);
        assert_eq!(rate(10, Duration::ZERO), 0.0);
        assert_eq!(rate(500, Duration::from_millis(250)), 2000.0);
    }
}
