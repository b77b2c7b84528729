//! Passthrough: when the client speaks the chosen upstream's own protocol (an
//! OpenAI client on an `openai` upstream, an Anthropic client on an
//! `anthropic` one, a Gemini client on `gemini-api` or `vertex`), its body
//! goes up as it came — only the model name (spliced into the bytes, nothing
//! else re-encoded) and the auth change — and the answer comes back byte for
//! byte, streamed as it arrives. Usage is read on the side for the log.

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use super::sse::{OnDone, StreamOutcome};
use crate::protocol::StreamFailure;
use crate::protocol::gemini::UsageMetadata;
use crate::store::UpstreamKind;
use crate::upstream::keyed::{ByteStream, Forward, RawAnswer, RawBody, Route};

/// Which client route the body came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/responses` (an endpoint without it gets the translated call).
    Responses,
    /// `POST /v1/messages`.
    Messages,
    /// `models/{m}:generateContent` or `:streamGenerateContent?alt=sse`.
    Gemini { method: &'static str, query: String },
}

/// A client's request, kept to be sent on unchanged.
pub struct Passthrough {
    pub wire: Wire,
    body: Bytes,
    headers: Vec<(String, String)>,
    pub stream: bool,
}

/// Client headers that belong to the protocol and go up with the body.
const PASSED_HEADERS: &[&str] = &["anthropic-version", "anthropic-beta"];

impl Passthrough {
    /// The request to keep, when some usable upstream could take it as it
    /// is (otherwise the bytes are let go at once).
    pub fn new(
        pool: &crate::pool::Pool,
        wire: Wire,
        body: Bytes,
        headers: &HeaderMap,
        stream: bool,
    ) -> Option<Self> {
        let candidate = pool.snapshot().iter().any(|member| {
            member.is_usable()
                && member
                    .settings
                    .as_deref()
                    .is_some_and(|s| fits(&wire, s.kind))
        });
        if !candidate {
            return None;
        }
        let headers = PASSED_HEADERS
            .iter()
            .filter_map(|name| {
                headers
                    .get(*name)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| ((*name).to_owned(), v.to_owned()))
            })
            .collect();
        Some(Self {
            wire,
            body,
            headers,
            stream,
        })
    }

    /// Whether an upstream of `kind` speaks the client's protocol.
    pub fn fits(&self, kind: UpstreamKind) -> bool {
        fits(&self.wire, kind)
    }

    /// The request for `model` (the upstream's name for it), or `None` when
    /// the body's model cannot be replaced in place (then it is translated).
    pub fn forward<'a>(
        &'a self,
        model: &'a str,
        timeout: Duration,
        idle_timeout: Duration,
    ) -> Option<Forward<'a>> {
        let (route, body) = match &self.wire {
            Wire::Chat => (
                Route::OpenAi("chat/completions"),
                with_model(&self.body, model)?,
            ),
            Wire::Responses => (Route::OpenAi("responses"), with_model(&self.body, model)?),
            Wire::Messages => (Route::Anthropic, with_model(&self.body, model)?),
            Wire::Gemini { method, query } => (
                Route::Gemini {
                    model,
                    method,
                    query,
                },
                self.body.clone(),
            ),
        };
        Some(Forward {
            route,
            body,
            headers: &self.headers,
            stream: self.stream,
            timeout,
            idle_timeout,
        })
    }
}

fn fits(wire: &Wire, kind: UpstreamKind) -> bool {
    matches!(
        (wire, kind),
        (Wire::Chat | Wire::Responses, UpstreamKind::OpenAi)
            | (Wire::Messages, UpstreamKind::Anthropic)
            | (
                Wire::Gemini { .. },
                UpstreamKind::GeminiApi | UpstreamKind::Vertex
            )
    )
}

/// The body with its top-level `model` set to `model`: the bytes around the
/// value stay as they are. `None` when the body has no single top-level
/// `model` string.
pub fn with_model(body: &Bytes, model: &str) -> Option<Bytes> {
    #[derive(Deserialize)]
    struct Top<'a> {
        #[serde(borrow)]
        model: &'a RawValue,
    }
    let text = std::str::from_utf8(body).ok()?;
    let top: Top<'_> = serde_json::from_str(text).ok()?;
    let raw = top.model.get();
    let current: String = serde_json::from_str(raw).ok()?;
    if current == model {
        return Some(body.clone());
    }
    let start = (raw.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let end = start + raw.len();
    let replacement = serde_json::to_string(model).ok()?;
    let mut out = Vec::with_capacity(body.len() + replacement.len());
    out.extend_from_slice(&body[..start]);
    out.extend_from_slice(replacement.as_bytes());
    out.extend_from_slice(&body[end..]);
    Some(Bytes::from(out))
}

/// The token counts in one answer (or one stream event) of `wire`'s protocol,
/// as Gemini's usage (`candidates` without reasoning).
fn usage_in(wire: &Wire, value: &Value) -> Option<UsageMetadata> {
    let number = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64);
    match wire {
        Wire::Gemini { .. } => value
            .get("usageMetadata")
            .and_then(|u| serde_json::from_value(u.clone()).ok()),
        Wire::Chat => {
            let usage = value.get("usage").filter(|u| u.is_object())?;
            let reasoning = usage
                .get("completion_tokens_details")
                .and_then(|d| number(d, "reasoning_tokens"))
                .unwrap_or(0);
            Some(UsageMetadata {
                prompt_token_count: number(usage, "prompt_tokens"),
                candidates_token_count: number(usage, "completion_tokens")
                    .map(|c| c.saturating_sub(reasoning)),
                thoughts_token_count: Some(reasoning),
                cached_content_token_count: usage
                    .get("prompt_tokens_details")
                    .and_then(|d| number(d, "cached_tokens")),
                total_token_count: number(usage, "total_tokens"),
            })
        }
        Wire::Responses => {
            let usage = value
                .get("usage")
                .or_else(|| value.get("response").and_then(|r| r.get("usage")))
                .filter(|u| u.is_object())?;
            let reasoning = usage
                .get("output_tokens_details")
                .and_then(|d| number(d, "reasoning_tokens"))
                .unwrap_or(0);
            Some(UsageMetadata {
                prompt_token_count: number(usage, "input_tokens"),
                candidates_token_count: number(usage, "output_tokens")
                    .map(|c| c.saturating_sub(reasoning)),
                thoughts_token_count: Some(reasoning),
                cached_content_token_count: usage
                    .get("input_tokens_details")
                    .and_then(|d| number(d, "cached_tokens")),
                total_token_count: number(usage, "total_tokens"),
            })
        }
        Wire::Messages => {
            let usage = value
                .get("usage")
                .or_else(|| value.get("message").and_then(|m| m.get("usage")))
                .filter(|u| u.is_object())?;
            let cached = number(usage, "cache_read_input_tokens").unwrap_or(0);
            let input = number(usage, "input_tokens")
                .map(|i| i + cached + number(usage, "cache_creation_input_tokens").unwrap_or(0));
            Some(UsageMetadata {
                prompt_token_count: input,
                candidates_token_count: number(usage, "output_tokens"),
                thoughts_token_count: None,
                cached_content_token_count: (cached > 0).then_some(cached),
                total_token_count: None,
            })
        }
    }
}

/// Later readings fill in what earlier ones lacked (Anthropic sends input
/// tokens first, output tokens at the end).
fn merge(into: &mut Option<UsageMetadata>, found: UsageMetadata) {
    match into {
        None => *into = Some(found),
        Some(usage) => {
            let keep = |old: &mut Option<u64>, new: Option<u64>| {
                if new.is_some() {
                    *old = new;
                }
            };
            keep(&mut usage.prompt_token_count, found.prompt_token_count);
            keep(
                &mut usage.candidates_token_count,
                found.candidates_token_count,
            );
            keep(&mut usage.thoughts_token_count, found.thoughts_token_count);
            keep(
                &mut usage.cached_content_token_count,
                found.cached_content_token_count,
            );
            keep(&mut usage.total_token_count, found.total_token_count);
        }
    }
}

/// The usage of a whole answer.
pub fn whole_usage(wire: &Wire, body: &[u8]) -> Option<UsageMetadata> {
    let value: Value = serde_json::from_slice(body).ok()?;
    usage_in(wire, &value)
}

/// Reads usage from the `data:` lines of a stream as it passes (only lines
/// that mention usage are parsed).
struct Sniffer {
    wire: Wire,
    line: Vec<u8>,
    usage: Option<UsageMetadata>,
}

impl Sniffer {
    fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.read_line(&line);
            } else if self.line.len() < 1 << 20 {
                self.line.push(byte);
            }
        }
    }

    fn read_line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let mentions = |needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
        if !(mentions(b"usage") || mentions(b"Usage")) {
            return;
        }
        if let Ok(value) = serde_json::from_slice::<Value>(data)
            && let Some(found) = usage_in(&self.wire, &value)
        {
            merge(&mut self.usage, found);
        }
    }
}

/// A streamed passthrough on its way to the client.
struct RawPump {
    upstream: ByteStream,
    sniffer: Sniffer,
    shutdown: CancellationToken,
    outcome: StreamOutcome,
    on_done: Option<OnDone>,
    finished: bool,
}

impl RawPump {
    fn report(&mut self) {
        if let Some(on_done) = self.on_done.take() {
            self.outcome.usage = self.sniffer.usage.take();
            on_done(std::mem::take(&mut self.outcome));
        }
    }
}

impl Drop for RawPump {
    fn drop(&mut self) {
        if self.on_done.is_some() && self.outcome.failure.is_none() && !self.finished {
            self.outcome.failure = Some(StreamFailure::client_disconnected());
        }
        self.report();
    }
}

/// The client's response: the upstream's content type and bytes. (A
/// failure in the middle of a stream reaches the lease in the relay.)
pub fn response(
    answer: RawAnswer,
    wire: Wire,
    shutdown: CancellationToken,
    on_done: OnDone,
) -> Response {
    let mut builder = Response::builder().status(200);
    if let Some(content_type) = answer.content_type {
        builder = builder.header(axum::http::header::CONTENT_TYPE, content_type);
    }
    let body = match answer.body {
        RawBody::Whole(bytes) => {
            let mut outcome = StreamOutcome {
                usage: whole_usage(&wire, &bytes),
                first_byte: Some(Instant::now()),
                failure: None,
            };
            on_done(std::mem::take(&mut outcome));
            Body::from(bytes)
        }
        RawBody::Stream(upstream) => {
            let pump = RawPump {
                upstream,
                sniffer: Sniffer {
                    wire,
                    line: Vec::new(),
                    usage: None,
                },
                shutdown,
                outcome: StreamOutcome::default(),
                on_done: Some(on_done),
                finished: false,
            };
            let bytes = futures::stream::unfold(pump, |mut pump| async move {
                if pump.finished {
                    pump.report();
                    return None;
                }
                tokio::select! {
                    item = pump.upstream.next() => match item {
                        Some(Ok(bytes)) => {
                            pump.outcome.first_byte.get_or_insert_with(Instant::now);
                            pump.sniffer.feed(&bytes);
                            Some((Ok::<Bytes, std::io::Error>(bytes), pump))
                        }
                        Some(Err(error)) => {
                            tracing::warn!(%error, "upstream stream failed after it started");
                            pump.outcome.failure = Some(super::GatewayError::stream_failure(&error));
                            pump.finished = true;
                            pump.report();
                            // Breaking the connection tells the client the answer is cut.
                            Some((Err(std::io::Error::other(error.to_string())), pump))
                        }
                        None => {
                            pump.finished = true;
                            pump.report();
                            None
                        }
                    },
                    () = pump.shutdown.cancelled() => {
                        pump.outcome.failure = Some(StreamFailure::shutdown());
                        pump.finished = true;
                        pump.report();
                        None
                    }
                }
            });
            Body::from_stream(bytes)
        }
    };
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_model_value_changes() {
        let body = Bytes::from_static(
            br#"{ "messages" : [{"role":"user","content":"model: keep"}],"model":  "gpt-4o" ,"x":{"model":"inner"}}"#,
        );
        let out = with_model(&body, "openai/gpt-4o").unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{ "messages" : [{"role":"user","content":"model: keep"}],"model":  "openai/gpt-4o" ,"x":{"model":"inner"}}"#
        );
        // The same model: the very same bytes.
        assert_eq!(with_model(&body, "gpt-4o").unwrap(), body);
        // No model, or two: not spliced.
        assert!(with_model(&Bytes::from_static(br#"{"messages":[]}"#), "m").is_none());
        assert!(with_model(&Bytes::from_static(br#"{"model":"a","model":"b"}"#), "m").is_none());
    }

    #[test]
    fn usage_is_read_from_streams_of_each_protocol() {
        let mut sniffer = Sniffer {
            wire: Wire::Messages,
            line: Vec::new(),
            usage: None,
        };
        let stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":30}}\n\n";
        // Split mid-line, as a network would.
        let (a, b) = stream.split_at(40);
        sniffer.feed(a.as_bytes());
        sniffer.feed(b.as_bytes());
        let usage = sniffer.usage.unwrap();
        assert_eq!(
            (usage.prompt_token_count, usage.candidates_token_count),
            (Some(12), Some(30))
        );
        let chat = whole_usage(
            &Wire::Chat,
            br#"{"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14,"completion_tokens_details":{"reasoning_tokens":4}}}"#,
        )
        .unwrap();
        assert_eq!(
            (chat.candidates_token_count, chat.thoughts_token_count),
            (Some(5), Some(4))
        );
    }
}
