//! The test stack's Apache Kafka on its authenticated and encrypted listeners
//! (`scripts/test-stack.sh`), as connector bodies, and SCRAM users made and revoked with Kafka's
//! own `kafka-configs` tool (`kafka.admin.ConfigCommand`).

use serde_json::{Value, json};

use crate::env::required;

/// Where the SASL_SSL listener is and who may use it.
#[derive(Debug, Clone)]
pub struct SecureKafka {
    /// `host:port` of the SASL_SSL listener.
    pub sasl_ssl: String,
    /// `host:port` of the PLAINTEXT listener, for the test's own clients and admin.
    pub plaintext: String,
    /// PEM of the CA that signed the broker's certificate.
    pub ca_pem: String,
    pub scram512_user: String,
    pub scram512_password: String,
}

impl SecureKafka {
    pub fn from_env() -> Self {
        let ca = required("TRIBUTARY_TEST_KAFKA_CA");
        Self {
            sasl_ssl: required("TRIBUTARY_TEST_KAFKA_SASL_SSL"),
            plaintext: required("TRIBUTARY_TEST_KAFKA"),
            ca_pem: std::fs::read_to_string(&ca).unwrap_or_else(|e| panic!("read {ca}: {e}")),
            scram512_user: required("TRIBUTARY_TEST_KAFKA_SCRAM512_USER"),
            scram512_password: required("TRIBUTARY_TEST_KAFKA_SCRAM512_PASSWORD"),
        }
    }

    /// A connector body of `kind` on the SASL_SSL listener: SCRAM-SHA-512 as `user`, the server's
    /// certificate verified against the test CA.
    pub fn connector(&self, kind: &str, name: &str, user: &str, password: &str) -> Value {
        json!({
            "type": kind,
            "name": name,
            "bootstrap_hosts": self.sasl_ssl,
            "authentication": {"mechanism": "scram_sha_512", "username": user, "password": password},
            "ssl": {"enable": true, "verify": "verify_peer", "cacertfile": self.ca_pem},
            "resource_opts": {"health_check_interval": "1s"}
        })
    }

    /// Creates (or changes the password of) a SCRAM-SHA-512 user.
    pub fn set_scram_user(&self, user: &str, password: &str) {
        self.configs(&[
            "--add-config",
            &format!("SCRAM-SHA-512=[iterations=4096,password={password}]"),
            "--entity-name",
            user,
        ]);
    }

    /// Deletes a user's SCRAM-SHA-512 credentials: its next authentication fails.
    pub fn revoke_scram_user(&self, user: &str) {
        self.configs(&["--delete-config", "SCRAM-SHA-512", "--entity-name", user]);
    }

    fn configs(&self, args: &[&str]) {
        let java = required("TRIBUTARY_TEST_JAVA");
        let libs = required("TRIBUTARY_TEST_KAFKA_LIBS");
        let output = std::process::Command::new(java)
            .arg("-cp")
            .arg(format!("{libs}/*"))
            .arg("kafka.admin.ConfigCommand")
            .args([
                "--bootstrap-server",
                &self.plaintext,
                "--alter",
                "--entity-type",
                "users",
            ])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run Kafka's ConfigCommand: {e}"));
        assert!(
            output.status.success(),
            "kafka-configs {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
