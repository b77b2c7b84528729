//! Wire types of each protocol and the translators between them.
//!
//! Translators are plain functions named `x_from_y`, one file per direction;
//! streaming ones are small state machines fed one upstream chunk at a time.
//! Nothing in here knows about HTTP frameworks, accounts or the network.

pub mod anthropic;
pub mod anthropic_from_gemini;
pub mod anthropic_request_from_gemini;
pub mod completions;
pub mod completions_from_gemini;
pub mod gemini;
pub mod gemini_from_anthropic;
pub mod gemini_from_openai;
pub mod gemini_request_from_anthropic;
pub mod gemini_request_from_completions;
pub mod gemini_request_from_openai;
pub mod gemini_request_from_responses;
pub mod gemini_stream;
pub mod keyed_common;
pub mod openai;
pub mod openai_from_gemini;
pub mod openai_request_from_gemini;
pub mod responses;
pub mod responses_from_gemini;
pub mod schema;
pub mod signature;

use serde::Serialize;

/// A client-side problem with a request: it goes back as a 400 in the
/// caller's protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRequest {
    pub message: String,
    /// The request field at fault, when known (`messages[2].content`).
    pub param: Option<String>,
}

impl InvalidRequest {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            param: None,
        }
    }

    pub fn at(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            param: Some(param.into()),
        }
    }
}

/// One server-sent event, ready to write: an optional `event:` name and the
/// `data:` payload (a single line of JSON, or `[DONE]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseFrame {
    pub event: Option<&'static str>,
    pub data: String,
}

impl SseFrame {
    pub fn data(data: impl Into<String>) -> Self {
        Self {
            event: None,
            data: data.into(),
        }
    }

    pub fn json<T: Serialize>(value: &T) -> Self {
        Self::data(to_json(value))
    }

    /// The frame as it goes on the wire.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.data.len() + 32);
        if let Some(event) = self.event {
            out.push_str("event: ");
            out.push_str(event);
            out.push('\n');
        }
        out.push_str("data: ");
        out.push_str(&self.data);
        out.push_str("\n\n");
        out
    }
}

/// Serialises a wire type. Our types always serialise (string keys, no
/// non-finite floats reach them), so a failure is reported inside the JSON.
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        format!(
            "{{\"error\":{{\"message\":{}}}}}",
            serde_json::Value::String(format!("cannot encode response: {e}"))
        )
    })
}

/// Why a stream stopped early, as the stream translators report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFailure {
    /// A short machine name: `upstream_error`, `timeout`, `connection_lost`.
    pub kind: &'static str,
    pub message: String,
}

impl StreamFailure {
    /// The upstream ended cleanly but without a finish reason: the answer was
    /// cut off, and the client must be told rather than shown a partial answer.
    pub fn incomplete() -> Self {
        Self {
            kind: "incomplete_stream",
            message: "the upstream ended the stream before the answer was complete".to_owned(),
        }
    }

    /// The client went away before the end.
    pub fn client_disconnected() -> Self {
        Self {
            kind: "client_disconnected",
            message: "the client closed the connection before the answer was complete".to_owned(),
        }
    }

    /// The gateway is stopping.
    pub fn shutdown() -> Self {
        Self {
            kind: "gateway_shutdown",
            message: "the gateway is shutting down".to_owned(),
        }
    }
}

/// Turns upstream chunks into a client protocol's events.
pub trait StreamEncoder: Send {
    /// Events for one upstream chunk.
    fn on_chunk(&mut self, chunk: gemini::GenerateContentResponse, out: &mut Vec<SseFrame>);
    /// The closing events after the upstream finished normally.
    fn on_end(&mut self, out: &mut Vec<SseFrame>);
    /// The protocol's terminal error events after the upstream failed.
    fn on_failure(&mut self, failure: &StreamFailure, out: &mut Vec<SseFrame>);
}
