//! A private Mosquitto for a test that restarts its broker, and a subscriber whose session
//! survives those restarts.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

use crate::mqtt::host_port;
use crate::process::free_port;
use crate::unique;

/// Mosquitto on a port of its own with the queue settings of scripts/lib/stack.sh (unbounded
/// queues: the broker never drops a QoS 1 message), except that it persists sessions, so that a
/// restart keeps a subscriber's subscription and the messages queued for it.
#[derive(Debug)]
pub struct PrivateMosquitto {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateMosquitto {
    pub fn start() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(unique("e2e-mosquitto"));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        // Started as root, Mosquitto drops to its own user: it must be able to write its
        // database here, or it keeps no session across a restart (it only logs the error).
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
            .unwrap_or_else(|e| panic!("cannot open up {}: {e}", dir.display()));
        let config = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\n\
             persistence true\npersistence_location {}/\n\
             max_queued_messages 1000000\nmax_queued_bytes 0\nmax_inflight_messages 0\n\
             set_tcp_nodelay true\nlog_dest stderr\nlog_type error\nlog_type warning\n",
            dir.display()
        );
        std::fs::write(dir.join("mosquitto.conf"), config)
            .unwrap_or_else(|e| panic!("cannot write mosquitto.conf: {e}"));
        let mut broker = Self {
            port,
            dir,
            child: None,
        };
        broker.launch();
        broker
    }

    /// `host:port`
    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the broker gracefully (SIGTERM: it saves its sessions), waits `down`, starts it
    /// again on the same port. Blocking: call it from `spawn_blocking`.
    pub fn restart(&mut self, down: Duration) {
        self.terminate();
        std::thread::sleep(down);
        self.launch();
    }

    fn launch(&mut self) {
        let binary = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap_or_else(|| {
                panic!("mosquitto is not installed (scripts/test-stack.sh installs it)")
            });
        let child = Command::new(binary)
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mosquitto: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private mosquitto did not listen on {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateMosquitto {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A QoS 1 subscriber with a persistent session (MQTT 3.1.1, clean session off) that reconnects
/// on its own: with a broker that persists sessions, nothing published to `filter` while the
/// broker or the subscriber was down is missed.
#[derive(Debug)]
pub struct SessionSubscriber {
    messages: mpsc::UnboundedReceiver<(String, Bytes)>,
    /// Reconnections on which the broker no longer had the session (whatever was queued for the
    /// subscriber is gone then).
    sessions_lost: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl SessionSubscriber {
    /// Connects and subscribes; returns once the subscription is acknowledged.
    pub async fn start(server: &str, filter: &str) -> Self {
        let (host, port) = host_port(server);
        let mut options = MqttOptions::new(unique("e2e-session-sub"), host, port);
        options
            .set_clean_session(false)
            .set_keep_alive(Duration::from_secs(5))
            .set_max_packet_size(16 << 20, 16 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 100);
        let (sender, messages) = mpsc::unbounded_channel();
        let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
        let filter = filter.to_owned();
        let sessions_lost = Arc::new(AtomicUsize::new(0));
        let lost = Arc::clone(&sessions_lost);
        let task = tokio::spawn(async move {
            let mut subscribed_tx = Some(subscribed_tx);
            let mut connected_before = false;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                        if connected_before && !ack.session_present {
                            lost.fetch_add(1, Ordering::Relaxed);
                        }
                        connected_before = true;
                        // A restored session keeps its subscription.
                        if !ack.session_present {
                            let _ = client.subscribe(filter.as_str(), QoS::AtLeastOnce).await;
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(tx) = subscribed_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(publish))) => {
                        let _ = sender.send((publish.topic, publish.payload));
                    }
                    Ok(_) => {}
                    // The next poll reconnects.
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        let acknowledged = tokio::time::timeout(Duration::from_secs(10), subscribed).await;
        assert!(
            matches!(acknowledged, Ok(Ok(()))),
            "no SUBACK for {server} within 10 s"
        );
        Self {
            messages,
            sessions_lost,
            task,
        }
    }

    /// How many reconnections found the session gone.
    pub fn sessions_lost(&self) -> usize {
        self.sessions_lost.load(Ordering::Relaxed)
    }

    /// The next message, or None after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<(String, Bytes)> {
        tokio::time::timeout(timeout, self.messages.recv())
            .await
            .ok()
            .flatten()
    }

    /// Collects messages until `done` says so or `timeout` passes.
    pub async fn collect_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&[(String, Bytes)]) -> bool,
    ) -> Vec<(String, Bytes)> {
        let deadline = Instant::now() + timeout;
        let mut all = Vec::new();
        while !done(&all) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Some(message) => all.push(message),
                None => break,
            }
        }
        all
    }
}

impl Drop for SessionSubscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}
