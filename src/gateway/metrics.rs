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

/// Distinct model labels per protocol, at most; later ones count as `other`
/// (a client can send any model name: the label set must stay bounded).
const MAX_MODEL_LABELS: usize = 64;

/// The label for names that are not plausible model ids, or past the cap.
const OTHER_MODEL: &str = "other";

/// Whether `model` looks like a model id (`gemini-2.5-pro`,
/// `claude-opus-4-6-thinking`, `models/x:y`), short enough to be a label.
fn plausible_model(model: &str) -> bool {
    !model.is_empty()
        && model.len() <= 100
        && model.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'@')
        })
}

/// A label value in the Prometheus text format: backslash, double quote and
/// line feed escaped, so no value can end its line or its label.
fn label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            // Other control characters have no escape: drop them.
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Status classes `0xx` … `9xx`, indexed by `status / 100`.
const CLASSES: usize = 10;

#[derive(Default)]
struct Counters {
    /// protocol → its counters. Keyed by the borrowed name on every request;
    /// a key is allocated only the first time a protocol or model is seen.
    protocols: BTreeMap<String, ProtocolCounters>,
    /// token kind → tokens
    tokens: BTreeMap<&'static str, u64>,
}

struct ProtocolCounters {
    /// upstream model → requests by status class
    requests: BTreeMap<String, [u64; CLASSES]>,
    /// latency bucket counts, count, sum in seconds
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl ProtocolCounters {
    fn new() -> Self {
        Self {
            requests: BTreeMap::new(),
            buckets: [0; BUCKETS.len()],
            count: 0,
            sum: 0.0,
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    // One short lock per finished request.
    counters: Mutex<Counters>,
}

/// The entry for `key`, allocating the key only when it is new (always
/// `Some`; an `Option` only because the borrow checker cannot see that).
fn entry_mut<'m, V>(
    map: &'m mut BTreeMap<String, V>,
    key: &str,
    new: impl FnOnce() -> V,
) -> Option<&'m mut V> {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), new());
    }
    map.get_mut(key)
}

impl Metrics {
    pub fn observe(&self, record: &RequestRecord) {
        let class = usize::from(record.status / 100).min(CLASSES - 1);
        let model = if record.upstream_model.is_empty() {
            "unknown"
        } else if plausible_model(&record.upstream_model) {
            &record.upstream_model
        } else {
            OTHER_MODEL
        };
        let seconds = record.latency_ms as f64 / 1000.0;
        let mut counters = self.counters.lock();
        let Some(protocol) = entry_mut(
            &mut counters.protocols,
            &record.protocol,
            ProtocolCounters::new,
        ) else {
            return;
        };
        let model = if protocol.requests.contains_key(model)
            || protocol.requests.len() < MAX_MODEL_LABELS
        {
            model
        } else {
            OTHER_MODEL
        };
        if let Some(classes) = entry_mut(&mut protocol.requests, model, || [0; CLASSES]) {
            classes[class] += 1;
        }
        for (bound, count) in BUCKETS.iter().zip(protocol.buckets.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        protocol.count += 1;
        protocol.sum += seconds;
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
        let quote = label_value;
        let _ = writeln!(
            out,
            "# HELP switchyard_requests_total Requests answered, by protocol, upstream model and status class."
        );
        let _ = writeln!(out, "# TYPE switchyard_requests_total counter");
        for (protocol, counts) in &counters.protocols {
            for (model, classes) in &counts.requests {
                for (class, count) in classes.iter().enumerate().filter(|(_, n)| **n > 0) {
                    let _ = writeln!(
                        out,
                        "switchyard_requests_total{{protocol=\"{}\",model=\"{}\",status=\"{class}xx\"}} {count}",
                        quote(protocol),
                        quote(model)
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP switchyard_request_errors_total Requests answered with a status of 400 or more."
        );
        let _ = writeln!(out, "# TYPE switchyard_request_errors_total counter");
        for (protocol, counts) in &counters.protocols {
            let errors: u64 = counts
                .requests
                .values()
                .map(|classes| classes[4..].iter().sum::<u64>())
                .sum();
            if errors > 0 {
                let _ = writeln!(
                    out,
                    "switchyard_request_errors_total{{protocol=\"{}\"}} {errors}",
                    quote(protocol)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP switchyard_request_duration_seconds Time to the whole answer."
        );
        let _ = writeln!(out, "# TYPE switchyard_request_duration_seconds histogram");
        for (protocol, counts) in &counters.protocols {
            let (buckets, count, sum) = (&counts.buckets, counts.count, counts.sum);
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
        metrics.observe(&RequestRecord {
            protocol: "anthropic".into(),
            status: 502,
            latency_ms: 40,
            ..RequestRecord::default()
        });
        let text = metrics.render(&Pool::new());
        assert!(text.contains(
            "switchyard_requests_total{protocol=\"anthropic\",model=\"unknown\",status=\"5xx\"} 1"
        ));
        assert!(text.contains("switchyard_request_errors_total{protocol=\"anthropic\"} 1"));
        assert!(
            text.contains("switchyard_request_duration_seconds_count{protocol=\"anthropic\"} 1")
        );
        assert!(!text.contains("status=\"3xx\""), "{text}");
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

    #[test]
    fn model_names_cannot_forge_lines_and_the_label_set_is_bounded() {
        let metrics = Metrics::default();
        let evil = "evil\"}\nswitchyard_fake_metric{a=\"b\"} 42";
        metrics.observe(&RequestRecord {
            protocol: "openai".into(),
            upstream_model: evil.into(),
            status: 404,
            ..RequestRecord::default()
        });
        for i in 0..500 {
            metrics.observe(&RequestRecord {
                protocol: "openai".into(),
                upstream_model: format!("model-{i}"),
                status: 200,
                ..RequestRecord::default()
            });
        }
        let text = metrics.render(&Pool::new());
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("switchyard_fake_metric")),
            "{text}"
        );
        let series = text
            .lines()
            .filter(|l| l.starts_with("switchyard_requests_total{"))
            .count();
        assert!(series <= MAX_MODEL_LABELS + 2, "{series} series");
        assert!(text.contains("model=\"other\""), "{text}");
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
