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
    let response = next.call(req).await?;
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
