//! One record per request: who asked (request id, client address), what
//! happened (model, account, status, latency, time to first byte, tokens,
//! error), and — only with `log.store_bodies` — the bodies, with secrets
//! redacted and a size cap.
//!
//! A middleware opens a [`RequestContext`] for every request (a task-local,
//! so handlers need no extra arguments); `respond` fills in the record when
//! the answer is known, or — for streams — when the stream ends. A request
//! that never reached a handler (bad key, bad JSON, unknown route) is recorded
//! by the middleware itself. Records go to the in-memory recent list, the
//! metrics, and the log writer, which batches them to the database off the
//! request path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use super::AppState;
use super::error::Protocol;
use super::recent::RequestRecord;
use crate::store::LogEntry;

tokio::task_local! {
    static CONTEXT: Arc<RequestContext>;
}

/// What is known about a request before a handler runs.
#[derive(Debug)]
pub struct RequestContext {
    pub request_id: String,
    pub at_ms: i64,
    pub started: std::time::Instant,
    /// The client's address when it was not this machine.
    pub client: Option<String>,
    /// The raw body, kept only when `log.store_bodies` is on.
    pub body: Option<Bytes>,
    recorded: AtomicBool,
}

impl RequestContext {
    /// The current request's context (outside a request: a fresh one).
    pub fn current() -> Arc<RequestContext> {
        CONTEXT
            .try_with(Arc::clone)
            .unwrap_or_else(|_| Arc::new(Self::new(None, None)))
    }

    fn new(client: Option<String>, body: Option<Bytes>) -> Self {
        Self {
            request_id: format!("req_{}", crate::ids::random_hex_id()),
            at_ms: chrono::Utc::now().timestamp_millis(),
            started: std::time::Instant::now(),
            client,
            body,
            recorded: AtomicBool::new(false),
        }
    }

    /// Says that this request's record will come later (a stream records
    /// itself when it ends), so the middleware does not record it too.
    pub fn claim(&self) {
        self.recorded.store(true, Ordering::SeqCst);
    }

    /// A record with what the context knows.
    pub fn record(&self) -> RequestRecord {
        RequestRecord {
            request_id: self.request_id.clone(),
            at_ms: self.at_ms,
            client: self.client.clone(),
            ..RequestRecord::default()
        }
    }
}

/// Opens the request's context, and records what no handler recorded
/// (refused requests, token counts).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
        .filter(|ip| !ip.is_loopback())
        .map(|ip| ip.to_string());
    let path = request.uri().path().to_owned();
    let is_post = request.method() == axum::http::Method::POST;
    let config = state.config.load();
    let (request, body) = if config.log.store_bodies && request.method() == axum::http::Method::POST
    {
        let limit = usize::try_from(config.gateway.max_body_mb.saturating_mul(1024 * 1024))
            .unwrap_or(usize::MAX);
        let (parts, body) = request.into_parts();
        match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => (
                Request::from_parts(parts, Body::from(bytes.clone())),
                Some(bytes),
            ),
            // Too large: the handler will say so; the rebuilt body is empty.
            Err(_) => (Request::from_parts(parts, Body::empty()), None),
        }
    } else {
        (request, None)
    };
    let context = Arc::new(RequestContext::new(client, body));
    let response = CONTEXT.scope(context.clone(), next.run(request)).await;
    let routed = path.starts_with("/v1") || path.starts_with("/v1beta");
    let failed = response.status().as_u16() >= 400;
    if routed && !context.recorded.load(Ordering::SeqCst) && (failed || is_post) {
        let protocol = Protocol::for_path(&path);
        let mut record = context.record();
        record.protocol = protocol.name().to_owned();
        record.route = path;
        record.status = response.status().as_u16();
        record.latency_ms = context.started.elapsed().as_millis() as u64;
        if failed {
            record.error_kind = Some(error_kind_for(record.status).to_owned());
        }
        finish(&state, &context, record, None);
    }
    response
}

/// A short name for what a status means, for records without a richer reason.
pub fn error_kind_for(status: u16) -> &'static str {
    match status {
        400 => "invalid_request",
        401 => "authentication",
        403 => "permission",
        404 => "not_found",
        413 => "payload_too_large",
        429 => "rate_limited",
        503 => "unavailable",
        504 => "timeout",
        _ => "upstream_error",
    }
}

/// A model name kept for a request, at most (in characters).
const MAX_NAME_CHARS: usize = 128;
/// An error message kept for a request, at most.
const MAX_MESSAGE_CHARS: usize = 2_000;

/// Cuts `text` to `max` characters, marking the cut, and gives back the
/// memory it no longer needs (`truncate` alone keeps the whole capacity: 500
/// kept records of 100 KB model names held 100 MB).
fn cap_string(text: &mut String, max: usize) {
    if let Some((end, _)) = text.char_indices().nth(max) {
        text.truncate(end);
        text.push('…');
        text.shrink_to_fit();
    }
}

/// Publishes a finished request: the recent list, the metrics, and the log.
pub fn finish(
    state: &AppState,
    context: &RequestContext,
    record: RequestRecord,
    response_body: Option<String>,
) {
    context.recorded.store(true, Ordering::SeqCst);
    // What a client sent is kept in memory (the live list) and the log: cut
    // to a size, so memory does not grow with what clients send.
    let mut record = record;
    for field in [&mut record.model, &mut record.upstream_model] {
        cap_string(field, MAX_NAME_CHARS);
    }
    if let Some(message) = record.error_message.as_mut() {
        cap_string(message, MAX_MESSAGE_CHARS);
    }
    state.metrics.observe(&record);
    let record = Arc::new(record);
    state.recent.push(record.clone());
    let config = state.config.load();
    if !config.log.enabled {
        return;
    }
    let (request_body, response_body) = if config.log.store_bodies {
        let cap =
            usize::try_from(config.log.body_max_kb.saturating_mul(1024)).unwrap_or(usize::MAX);
        (
            context
                .body
                .as_ref()
                .map(|b| redacted_body(&String::from_utf8_lossy(b), cap)),
            response_body.map(|b| redacted_body(&b, cap)),
        )
    } else {
        (None, None)
    };
    state.log.send(LogEntry {
        record,
        request_body,
        response_body,
    });
}

/// Keys whose values are never stored.
const SECRET_KEYS: &[&str] = &[
    "api_key",
    "apikey",
    "key",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "secret",
    "client_secret",
    "password",
    "authorization",
    "x-api-key",
    "x-goog-api-key",
];

/// A body as the log may keep it: secrets replaced, cut at `cap` bytes.
pub fn redacted_body(body: &str, cap: usize) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(mut value) => {
            redact(&mut value);
            value.to_string()
        }
        Err(_) => redact_text(body),
    };
    if text.len() <= cap {
        return text;
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [cut at {cap} bytes]", &text[..end])
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str()) && !inner.is_object() {
                    *inner = Value::String("[redacted]".to_owned());
                } else {
                    redact(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(text) => {
            let cleaned = redact_text(text);
            if cleaned != *text {
                *text = cleaned;
            }
        }
        _ => {}
    }
}

/// Replaces token-shaped runs anywhere in `text` (not only whole words):
/// client keys, Google API keys, access and refresh tokens, OAuth client
/// secrets — `key=sk-…`, `(sk-…)`, `` `sk-…` ``, `<1//…>` and `APIKEY=sk-…`
/// included. A token starts where no letter or digit comes before its
/// prefix (so `task-list` is not a key) and runs over the characters tokens
/// are made of; shorter than 12 characters, it is left alone.
fn redact_text(text: &str) -> String {
    const PREFIXES: &[&str] = &["sk-", "ya29.", "1//", "AIza", "GOCSPX-"];
    const MIN_LEN: usize = 12;
    let is_token_byte = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'+' | b'=' | b'~')
    };
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let prefix = boundary
            .then(|| {
                PREFIXES
                    .iter()
                    .find(|p| bytes[i..].starts_with(p.as_bytes()))
            })
            .flatten();
        let Some(prefix) = prefix else {
            i += 1;
            continue;
        };
        let mut end = i + prefix.len();
        while end < bytes.len() && is_token_byte(bytes[end]) {
            end += 1;
        }
        // A token does not end in punctuation that closes a sentence.
        while end > i + prefix.len() && matches!(bytes[end - 1], b'.' | b'=' | b'/') {
            end -= 1;
        }
        if end - i >= MIN_LEN {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..i]);
            out.push_str("[redacted]");
            copied = end;
        }
        i = end.max(i + 1);
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            out
        }
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_string_gives_its_memory_back() {
        let mut name = "m".repeat(100_000);
        cap_string(&mut name, MAX_NAME_CHARS);
        assert_eq!(name.chars().count(), MAX_NAME_CHARS + 1);
        assert!(name.capacity() < 1_000, "capacity {}", name.capacity());
    }

    #[test]
    fn bodies_lose_their_secrets_and_are_capped() {
        let body = r#"{"model":"m","api_key":"sk-0123456789abcdef0123","messages":[{"content":"my key is sk-0123456789abcdef0123 ok"}],"nested":{"refresh_token":"1//0gabcdefghijkl"}}"#;
        let out = redacted_body(body, 10_000);
        assert!(!out.contains("sk-0123456789abcdef0123"), "{out}");
        assert!(!out.contains("1//0gabcdefghijkl"), "{out}");
        assert!(out.contains("my key is [redacted] ok"), "{out}");
        assert!(out.contains("\"model\":\"m\""));
        let long = format!("{{\"text\":\"{}\"}}", "é".repeat(100));
        let cut = redacted_body(&long, 51);
        assert!(cut.contains("[cut at 51 bytes]"));
        assert!(redacted_body("Bearer sk-0123456789abcdef0123", 100).contains("[redacted]"));
    }

    #[test]
    fn secrets_inside_words_and_punctuation_are_found() {
        let key = "sk-0123456789abcdef0123";
        let refresh = "1//0gAbCdEfGhIjKlMnOp";
        for (text, kept) in [
            (format!("key={key}"), "key="),
            (format!("({key})"), "()"),
            (format!("`{key}`"), "``"),
            (format!("<{refresh}>"), "<>"),
            (format!("APIKEY={key}\nnext"), "APIKEY=\nnext"),
            (format!("token:{key}."), "token:."),
        ] {
            let out = redact_text(&text);
            assert!(
                !out.contains("0123456789abcdef") && !out.contains("AbCdEf"),
                "{text} -> {out}"
            );
            assert_eq!(out.replace("[redacted]", ""), kept, "{text} -> {out}");
        }
        // A tool result echoing a key in the response body, as JSON.
        let body =
            format!(r#"{{"content":[{{"type":"tool_result","content":"APIKEY={key} loaded"}}]}}"#);
        assert!(!redacted_body(&body, 10_000).contains(key));
        // Words that only contain a prefix are not keys.
        for plain in [
            "task-management-system",
            "desk-0123456789abcdef",
            "a 1//2 ratio",
            "sk-short",
        ] {
            assert_eq!(redact_text(plain), plain);
        }
    }
}
