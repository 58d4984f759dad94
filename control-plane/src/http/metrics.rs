//! Prometheus counters and latency histograms of the REST API, by route pattern and status.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tracing::Instrument as _;

use crate::state::AppState;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The matched route pattern (`/api/v5/connectors/{id}`), never the raw path, so that ids do
    /// not blow up the number of series.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram>,
}

impl HttpMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        });
        registry.register(
            "tributary_http_requests",
            "REST API requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "tributary_http_request_duration_seconds",
            "REST API request latency by method, route and status",
            durations.clone(),
        );
        Self {
            requests,
            durations,
        }
    }

    fn observe(&self, labels: &RequestLabels, seconds: f64) {
        self.requests.get_or_create(labels).inc();
        self.durations.get_or_create(labels).observe(seconds);
    }
}

/// Middleware counting every request, including those refused by authentication.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.http_metrics.clone());
    // Everything logged while the request is served (an internal error's causes among it) names
    // the request. The path, not the query: query strings may carry what logs should not.
    let span = tracing::info_span!("request", method = %method, path = %req.path());
    let response = next.call(req).instrument(span).await?;
    if let Some(metrics) = metrics {
        let labels = RequestLabels {
            method,
            route: response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned()),
            status: response.status().as_u16(),
        };
        let elapsed = started.elapsed();
        tracing::debug!(
            method = %labels.method,
            route = %labels.route,
            status = labels.status,
            elapsed_ms = elapsed.as_millis() as u64,
            "request served"
        );
        metrics.observe(&labels, elapsed.as_secs_f64());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test};

    use super::*;

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[actix_web::test]
    async fn what_a_handler_logs_names_its_request_but_not_its_query() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(App::new().wrap(from_fn(record)).route(
            "/things/{id}",
            web::get().to(|| async {
                tracing::warn!("handler ran");
                HttpResponse::Ok().finish()
            }),
        ))
        .await;
        let request = test::TestRequest::get()
            .uri("/things/42?token=hush")
            .to_request();
        assert!(
            test::call_service(&app, request)
                .await
                .status()
                .is_success()
        );
        let logged = String::from_utf8(captured.0.lock().map(|b| b.clone()).unwrap_or_default())
            .unwrap_or_default();
        assert!(
            logged.contains("request{method=GET path=/things/42}")
                && logged.contains("handler ran"),
            "{logged}"
        );
        assert!(!logged.contains("hush"), "{logged}");
    }
}
