//! The control-plane replicas a worker may talk to, and the one it talks to now.
//!
//! Replicas share one database (registrations, leases and epochs live there), so a worker's
//! registration is valid on every replica and it can move between them freely. It stays on one
//! while that one answers, and moves to the next when a call fails in a way another replica might
//! not (unreachable, unavailable, timed out); a refusal that every replica would repeat (stale
//! epoch, bad token) is not a reason to move.

use tonic::{Code, Status};

use super::client::{ClientSetupError, WorkerClient};
use super::tls::ControlPlaneTlsArgs;

#[derive(Debug)]
pub struct Replicas {
    clients: Vec<(String, WorkerClient)>,
    current: usize,
}

impl Replicas {
    /// Lazily connecting clients for `addresses`, a comma-separated list (one address is the
    /// common case).
    pub fn connect(
        addresses: &str,
        token: &str,
        tls: &ControlPlaneTlsArgs,
    ) -> Result<Self, ClientSetupError> {
        let clients = parse_list(addresses)
            .into_iter()
            .map(|address| {
                super::client::connect_with_tls(&address, token, tls).map(|c| (address, c))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if clients.is_empty() {
            return Err(ClientSetupError::BadAddress(addresses.to_owned()));
        }
        Ok(Self {
            clients,
            current: 0,
        })
    }

    /// The client of the replica in use.
    pub fn client(&mut self) -> &mut WorkerClient {
        &mut self.clients[self.current].1
    }

    /// The address of the replica in use.
    pub fn address(&self) -> &str {
        &self.clients[self.current].0
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Moves to the next replica when `status` says the one in use may be the problem; returns
    /// whether that came back round to the first (every replica was tried: time to back off).
    pub fn after_failure(&mut self, status: &Status) -> bool {
        if self.clients.len() < 2 || !replica_may_be_at_fault(status) {
            return true;
        }
        let from = self.address().to_owned();
        self.current = (self.current + 1) % self.clients.len();
        tracing::warn!(from = %from, to = %self.address(), code = ?status.code(), "moving to another control-plane replica");
        self.current == 0
    }
}

/// `a, b,c` → `["a", "b", "c"]`, blanks dropped.
pub fn parse_list(addresses: &str) -> Vec<String> {
    addresses
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

fn replica_may_be_at_fault(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Unknown
            | Code::Internal
            | Code::Cancelled
            | Code::ResourceExhausted
            | Code::Aborted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_comma_separated_list() {
        assert_eq!(
            parse_list(" http://a:1, http://b:2,,"),
            vec!["http://a:1".to_owned(), "http://b:2".to_owned()]
        );
    }

    #[tokio::test]
    async fn moves_round_the_replicas_on_failures_another_might_not_have() {
        let tls = ControlPlaneTlsArgs::default();
        let mut replicas =
            Replicas::connect("http://a:1,http://b:2", "t", &tls).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(replicas.address(), "http://a:1");
        assert!(!replicas.after_failure(&Status::unavailable("down")));
        assert_eq!(replicas.address(), "http://b:2");
        // Every replica would refuse a stale epoch the same way: stay.
        assert!(replicas.after_failure(&Status::failed_precondition("stale")));
        assert_eq!(replicas.address(), "http://b:2");
        assert!(replicas.after_failure(&Status::unavailable("down")));
        assert_eq!(replicas.address(), "http://a:1");
    }

    #[tokio::test]
    async fn one_replica_always_backs_off() {
        let tls = ControlPlaneTlsArgs::default();
        let mut replicas =
            Replicas::connect("http://a:1", "t", &tls).unwrap_or_else(|e| panic!("{e}"));
        assert!(replicas.after_failure(&Status::unavailable("down")));
        assert_eq!(replicas.address(), "http://a:1");
    }
}
