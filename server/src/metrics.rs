//! Prometheus text metrics: requests by route and status, authentication
//! outcomes by operation, and request latency histograms by route.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket bounds in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    outcomes: BTreeMap<(&'static str, &'static str), u64>,
    latency: BTreeMap<String, Histogram>,
}

/// The service's counters.
#[derive(Default)]
pub struct Metrics(Mutex<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counts one request to `route` answered with `status` after `elapsed`.
    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let Ok(mut m) = self.0.lock() else { return };
        *m.requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let h = m.latency.entry(route.to_string()).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Counts one authentication outcome of `event`.
    pub fn outcome(&self, event: &'static str, outcome: &'static str) {
        if let Ok(mut m) = self.0.lock() {
            *m.outcomes.entry((event, outcome)).or_default() += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let Ok(m) = self.0.lock() else {
            return String::new();
        };
        let mut out = String::new();
        out.push_str(
            "# HELP softtoken_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE softtoken_requests_total counter\n");
        for ((method, route, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "softtoken_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(method),
                escape(route)
            );
        }
        out.push_str("# HELP softtoken_outcomes_total Authentication outcomes by operation.\n");
        out.push_str("# TYPE softtoken_outcomes_total counter\n");
        for ((event, outcome), n) in &m.outcomes {
            let _ = writeln!(
                out,
                "softtoken_outcomes_total{{event=\"{event}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP softtoken_request_seconds Request latency by route.\n");
        out.push_str("# TYPE softtoken_request_seconds histogram\n");
        for (route, h) in &m.latency {
            let route = escape(route);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "softtoken_request_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "softtoken_request_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "softtoken_request_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "softtoken_request_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request(
            "POST",
            "/v1/contracts/{contract}/login",
            200,
            Duration::from_millis(3),
        );
        m.request(
            "POST",
            "/v1/contracts/{contract}/login",
            200,
            Duration::from_millis(30),
        );
        m.outcome("login", "accepted");
        let text = m.render();
        assert!(text.contains(
            "softtoken_requests_total{method=\"POST\",route=\"/v1/contracts/{contract}/login\",status=\"200\"} 2"
        ));
        assert!(text.contains("softtoken_outcomes_total{event=\"login\",outcome=\"accepted\"} 1"));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }
}
