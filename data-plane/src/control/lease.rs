//! The worker's own view of its lease: without a successful heartbeat for `ttl` the control plane
//! considers it gone and hands its flows to others, so it must stop them itself.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Lease {
    ttl: Duration,
    renewed_at: Instant,
}

impl Lease {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            renewed_at: Instant::now(),
        }
    }

    pub fn renew(&mut self, ttl: Duration) {
        self.ttl = ttl;
        self.renewed_at = Instant::now();
    }

    pub fn expired(&self) -> bool {
        self.renewed_at.elapsed() >= self.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_after_ttl_and_renews() {
        let mut lease = Lease::new(Duration::from_millis(0));
        assert!(lease.expired());
        lease.renew(Duration::from_secs(60));
        assert!(!lease.expired());
    }
}
