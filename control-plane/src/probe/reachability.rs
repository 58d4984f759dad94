//! A TCP connect to each `host:port` before speaking any protocol, so that "nothing listens there"
//! and "the name does not resolve" are reported as such rather than as a protocol timeout.

use std::time::Duration;

use futures::future::join_all;
use tokio::net::{TcpStream, lookup_host};

use super::ProbeFailure;

/// Succeeds when at least one of `hosts` accepts a TCP connection within `timeout`.
pub async fn any_reachable(hosts: &[&str], timeout: Duration) -> Result<(), ProbeFailure> {
    let attempts = join_all(hosts.iter().map(|host| reach(host, timeout))).await;
    if attempts.iter().any(Result::is_ok) {
        return Ok(());
    }
    let reasons: Vec<String> = attempts.into_iter().filter_map(Result::err).collect();
    Err(ProbeFailure(format!("cannot reach {}", reasons.join("; "))))
}

async fn reach(host: &str, timeout: Duration) -> Result<(), String> {
    let host = host.trim();
    let attempt = async {
        let addresses: Vec<_> = lookup_host(host)
            .await
            .map_err(|e| format!("{host}: the host name does not resolve ({e})"))?
            .collect();
        let mut last = format!("{host}: no address");
        for address in addresses {
            match TcpStream::connect(address).await {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("{host}: {e}"),
            }
        }
        Err(last)
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "{host}: no answer within {}ms (unreachable host or firewall)",
                timeout.as_millis()
            ))
        })
}
