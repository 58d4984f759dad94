//! Which resource a request is about, read from its path before it is routed (the resource
//! is looked up before the handler runs, to record it as it was).

/// The resource kinds whose path's second segment is the resource's id.
const KINDS_WITH_IDS: [&str; 5] = ["connectors", "actions", "sources", "rules", "api_key"];

/// POSTs that change nothing: tests and probes. EMQX logs them at low importance; here they are
/// left out, so the log holds changes only.
const READ_ONLY_POSTS: [&str; 4] = [
    "rule_test",
    "connectors_probe",
    "actions_probe",
    "sources_probe",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The first segment after `/api/v5`, as EMQX's `operation_type`: `connectors`, `rules`, ...
    pub kind: String,
    /// The resource's id, percent-decoded; empty for a collection (a create, an import).
    pub id: String,
}

impl Target {
    /// The resource a change under `/api/v5` is about; `None` for what is not audited: other
    /// paths, reads, and the POSTs that change nothing.
    pub fn of_change(method: &actix_web::http::Method, path: &str) -> Option<Target> {
        use actix_web::http::Method;
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return None;
        }
        let rest = path
            .strip_prefix(crate::app::API_PREFIX)?
            .strip_prefix('/')?;
        let segments: Vec<&str> = rest.split('/').collect();
        let kind = *segments.first().filter(|s| !s.is_empty())?;
        if READ_ONLY_POSTS.contains(&kind) {
            return None;
        }
        // `POST /rules/{id}/test` is a dry run.
        if kind == "rules" && segments.len() == 3 && segments[2] == "test" {
            return None;
        }
        let id = if KINDS_WITH_IDS.contains(&kind) {
            segments
                .get(1)
                .map(|s| percent_decode(s))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Some(Target {
            kind: kind.to_owned(),
            id,
        })
    }
}

/// `%3A` to `:` and so on; malformed escapes are kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use actix_web::http::Method;

    use super::*;

    fn target(method: Method, path: &str) -> Option<(String, String)> {
        Target::of_change(&method, path).map(|t| (t.kind, t.id))
    }

    #[test]
    fn changes_name_their_resource_and_reads_and_tests_are_left_out() {
        let of = |kind: &str, id: &str| Some((kind.to_owned(), id.to_owned()));
        assert_eq!(
            target(Method::PUT, "/api/v5/connectors/kafka_producer%3Ak1"),
            of("connectors", "kafka_producer:k1")
        );
        assert_eq!(
            target(Method::PUT, "/api/v5/rules/r1/metrics/reset"),
            of("rules", "r1")
        );
        assert_eq!(target(Method::POST, "/api/v5/rules"), of("rules", ""));
        assert_eq!(target(Method::POST, "/api/v5/data/import"), of("data", ""));
        assert_eq!(
            target(Method::DELETE, "/api/v5/api_key/ci"),
            of("api_key", "ci")
        );
        assert_eq!(target(Method::GET, "/api/v5/rules/r1"), None);
        assert_eq!(target(Method::POST, "/api/v5/rule_test"), None);
        assert_eq!(target(Method::POST, "/api/v5/connectors_probe"), None);
        assert_eq!(target(Method::POST, "/api/v5/rules/r1/test"), None);
        assert_eq!(target(Method::POST, "/healthz"), None);
    }

    #[test]
    fn percent_decoding_keeps_malformed_escapes() {
        assert_eq!(percent_decode("a%3Ab%20c"), "a:b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
