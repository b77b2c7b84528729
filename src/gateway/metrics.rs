//! Counters for `GET /metrics` (Prometheus text format): requests and errors
//! by protocol, model and status class, a latency histogram, tokens by kind,
//! and the accounts' states. Updated once per finished request.

use std::collections::BTreeMap;
use std::fmt::Write;

use parking_lot::Mutex;

use super::recent::RequestRecord;
use crate::pool::Pool;
use crate::store::now_unix;

/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Default)]
struct Counters {
    /// (protocol, model, status class) → requests
    requests: BTreeMap<(String, String, String), u64>,
    /// protocol → (bucket counts, count, sum in seconds)
    latency: BTreeMap<String, ([u64; BUCKETS.len()], u64, f64)>,
    /// token kind → tokens
    tokens: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
pub struct Metrics {
    // One short lock per finished request.
    counters: Mutex<Counters>,
}

impl Metrics {
    pub fn observe(&self, record: &RequestRecord) {
        let class = format!("{}xx", record.status / 100);
        let model = if record.upstream_model.is_empty() {
            "unknown".to_owned()
        } else {
            record.upstream_model.clone()
        };
        let seconds = record.latency_ms as f64 / 1000.0;
        let mut counters = self.counters.lock();
        *counters
            .requests
            .entry((record.protocol.clone(), model, class))
            .or_default() += 1;
        let entry =
            counters
                .latency
                .entry(record.protocol.clone())
                .or_insert(([0; BUCKETS.len()], 0, 0.0));
        for (bound, count) in BUCKETS.iter().zip(entry.0.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        entry.1 += 1;
        entry.2 += seconds;
        for (kind, tokens) in [
            ("input", record.input_tokens),
            ("output", record.output_tokens),
            ("cached", record.cached_tokens),
            ("reasoning", record.reasoning_tokens),
        ] {
            *counters.tokens.entry(kind).or_default() += tokens;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, pool: &Pool) -> String {
        let counters = self.counters.lock();
        let mut out = String::new();
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = writeln!(
            out,
            "# HELP switchyard_requests_total Requests answered, by protocol, upstream model and status class."
        );
        let _ = writeln!(out, "# TYPE switchyard_requests_total counter");
        for ((protocol, model, class), count) in &counters.requests {
            let _ = writeln!(
                out,
                "switchyard_requests_total{{protocol=\"{}\",model=\"{}\",status=\"{class}\"}} {count}",
                quote(protocol),
                quote(model)
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchyard_request_errors_total Requests answered with a status of 400 or more."
        );
        let _ = writeln!(out, "# TYPE switchyard_request_errors_total counter");
        let mut errors: BTreeMap<&str, u64> = BTreeMap::new();
        for ((protocol, _, class), count) in &counters.requests {
            if class.starts_with('4') || class.starts_with('5') {
                *errors.entry(protocol).or_default() += count;
            }
        }
        for (protocol, count) in errors {
            let _ = writeln!(
                out,
                "switchyard_request_errors_total{{protocol=\"{}\"}} {count}",
                quote(protocol)
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchyard_request_duration_seconds Time to the whole answer."
        );
        let _ = writeln!(out, "# TYPE switchyard_request_duration_seconds histogram");
        for (protocol, (buckets, count, sum)) in &counters.latency {
            let protocol = quote(protocol);
            for (bound, n) in BUCKETS.iter().zip(buckets) {
                let _ = writeln!(
                    out,
                    "switchyard_request_duration_seconds_bucket{{protocol=\"{protocol}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "switchyard_request_duration_seconds_bucket{{protocol=\"{protocol}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "switchyard_request_duration_seconds_sum{{protocol=\"{protocol}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "switchyard_request_duration_seconds_count{{protocol=\"{protocol}\"}} {count}"
            );
        }
        let _ = writeln!(out, "# HELP switchyard_tokens_total Tokens, by kind.");
        let _ = writeln!(out, "# TYPE switchyard_tokens_total counter");
        for (kind, tokens) in &counters.tokens {
            let _ = writeln!(out, "switchyard_tokens_total{{kind=\"{kind}\"}} {tokens}");
        }
        let _ = writeln!(
            out,
            "# HELP switchyard_account_ready Whether an account can serve now (1) or not (0), with its status."
        );
        let _ = writeln!(out, "# TYPE switchyard_account_ready gauge");
        let now = now_unix();
        for account in pool.snapshot().iter() {
            let ready = account.is_usable() && account.limits(now).is_empty();
            let _ = writeln!(
                out,
                "switchyard_account_ready{{account=\"{}\",status=\"{}\"}} {}",
                quote(&account.email),
                account.status().as_str(),
                u8::from(ready)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let metrics = Metrics::default();
        for (status, latency) in [(200, 20), (200, 3000), (429, 1)] {
            metrics.observe(&RequestRecord {
                protocol: "openai".into(),
                upstream_model: "gemini-2.5-pro".into(),
                status,
                latency_ms: latency,
                input_tokens: 10,
                output_tokens: 2,
                ..RequestRecord::default()
            });
        }
        let text = metrics.render(&Pool::new());
        assert!(text.contains("switchyard_requests_total{protocol=\"openai\",model=\"gemini-2.5-pro\",status=\"2xx\"} 2"), "{text}");
        assert!(text.contains("switchyard_request_errors_total{protocol=\"openai\"} 1"));
        assert!(text.contains(
            "switchyard_request_duration_seconds_bucket{protocol=\"openai\",le=\"0.025\"} 2"
        ));
        assert!(text.contains(
            "switchyard_request_duration_seconds_bucket{protocol=\"openai\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains("switchyard_tokens_total{kind=\"input\"} 30"));
    }
}
