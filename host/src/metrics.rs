//! The host's Prometheus metrics: requests by app and status, latency and instantiation time,
//! instances in flight, requests refused by each limit and requests no app is mounted for,
//! served as text on the admin listener.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Which limit refused or ended a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Limit {
    /// `max_concurrency`: answered 503.
    concurrency,
    /// `max_instances`, the host-wide instance limit: answered 503.
    instances,
    /// `max_body_size`: answered 413.
    body_size,
    /// `memory_limit`: the instance trapped, answered 500.
    memory,
    /// `timeout`: answered 504.
    deadline,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AppLabels {
    app: Arc<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StatusLabels {
    app: Arc<String>,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LimitLabels {
    app: Arc<String>,
    limit: Limit,
}

type HistogramFamily = Family<AppLabels, Histogram, fn() -> Histogram>;

/// Every metric of the host; apps take their handles from it by name, so a redeployed app
/// keeps counting where its previous version left off.
pub struct Metrics {
    registry: Registry,
    requests: Family<StatusLabels, Counter>,
    duration: HistogramFamily,
    instantiation: HistogramFamily,
    in_flight: Family<AppLabels, Gauge>,
    rejections: Family<LimitLabels, Counter>,
    connections: Gauge,
    unrouted: Counter,
}

/// One app's handles on the metrics that every request touches.
#[derive(Clone)]
pub struct AppMetrics {
    app: Arc<String>,
    metrics: Arc<Metrics>,
    duration: Histogram,
    instantiation: Histogram,
    in_flight: Gauge<i64, std::sync::atomic::AtomicI64>,
}

fn latency_histogram() -> Histogram {
    // 50 µs to ~13 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 19))
}

impl Metrics {
    /// An empty set of metrics, registered under `wasgi_`.
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("wasgi");
        let requests = Family::<StatusLabels, Counter>::default();
        let duration: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let instantiation: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let in_flight = Family::<AppLabels, Gauge>::default();
        let rejections = Family::<LimitLabels, Counter>::default();
        let connections = Gauge::default();
        let unrouted = Counter::default();
        registry.register(
            "requests",
            "Requests answered by an app, by app and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its response head, by app",
            duration.clone(),
        );
        registry.register(
            "instantiation_duration_seconds",
            "Time to instantiate a guest for a request, by app",
            instantiation.clone(),
        );
        registry.register(
            "instances_in_flight",
            "Guest instances running, background work included, by app",
            in_flight.clone(),
        );
        registry.register(
            "limit_rejections",
            "Requests refused or ended by a limit, by app and limit",
            rejections.clone(),
        );
        registry.register(
            "connections_open",
            "Client connections open",
            connections.clone(),
        );
        registry.register(
            "unrouted_requests",
            "Requests no app is mounted for, answered 404 by the host",
            unrouted.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            duration,
            instantiation,
            in_flight,
            rejections,
            connections,
            unrouted,
        })
    }

    /// The handles for app `name`.
    pub fn app(self: &Arc<Self>, name: &str) -> AppMetrics {
        let labels = AppLabels {
            app: Arc::new(name.to_owned()),
        };
        AppMetrics {
            duration: self.duration.get_or_create_owned(&labels),
            instantiation: self.instantiation.get_or_create_owned(&labels),
            in_flight: self.in_flight.get_or_create_owned(&labels),
            app: labels.app,
            metrics: self.clone(),
        }
    }

    /// The gauge of open client connections.
    pub fn connections(&self) -> &Gauge {
        &self.connections
    }

    /// The counter of requests no app is mounted for: they have no app to be counted under.
    pub fn unrouted(&self) -> &Counter {
        &self.unrouted
    }

    /// Everything, in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

impl AppMetrics {
    /// A request answered with `status` after `elapsed`.
    pub fn answered(&self, status: u16, elapsed: Duration) {
        self.duration.observe(elapsed.as_secs_f64());
        let labels = StatusLabels {
            app: self.app.clone(),
            status,
        };
        self.metrics.requests.get_or_create(&labels).inc();
    }

    /// A request refused or ended by `limit`.
    pub fn rejected(&self, limit: Limit) {
        let labels = LimitLabels {
            app: self.app.clone(),
            limit,
        };
        self.metrics.rejections.get_or_create(&labels).inc();
    }

    /// An instance took `elapsed` to instantiate.
    pub fn instantiated(&self, elapsed: Duration) {
        self.instantiation.observe(elapsed.as_secs_f64());
    }

    /// Counts an instance as running until the guard is dropped.
    pub fn running(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }
}

/// Counts one instance in flight while it lives.
pub struct InFlight(Gauge<i64, std::sync::atomic::AtomicI64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text_format() {
        let metrics = Metrics::new();
        let hello = metrics.app("hello");
        hello.answered(200, Duration::from_millis(1));
        hello.answered(200, Duration::from_millis(2));
        hello.rejected(Limit::deadline);
        {
            let _running = hello.running();
            assert!(
                metrics
                    .render()
                    .contains("wasgi_instances_in_flight{app=\"hello\"} 1")
            );
        }
        let text = metrics.render();
        assert!(
            text.contains("wasgi_requests_total{app=\"hello\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("wasgi_limit_rejections_total{app=\"hello\",limit=\"deadline\"} 1"));
        assert!(text.contains("wasgi_instances_in_flight{app=\"hello\"} 0"));
        assert!(text.contains("wasgi_request_duration_seconds_count{app=\"hello\"} 2"));
        // A second version of the app shares the series.
        metrics.app("hello").answered(404, Duration::ZERO);
        assert!(metrics.render().contains("status=\"404\"} 1"));
    }
}
