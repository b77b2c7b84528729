//! Gemini clients get Gemini's own events back: each upstream chunk (already
//! unwrapped from Code Assist's envelope) is forwarded as one `data:` event.
//! A stream that fails, or ends without a finish reason, ends with Gemini's
//! error object instead of stopping silently.

use super::gemini::GenerateContentResponse;
use super::{SseFrame, StreamEncoder, StreamFailure, to_json};

#[derive(Default)]
pub struct GeminiEventEncoder {
    finished: bool,
}

impl GeminiEventEncoder {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Gemini's error object for a failed stream.
pub fn gemini_stream_error(failure: &StreamFailure) -> serde_json::Value {
    let (code, status) = match failure.kind {
        "timeout" => (504, "DEADLINE_EXCEEDED"),
        "gateway_shutdown" => (503, "UNAVAILABLE"),
        _ => (500, "INTERNAL"),
    };
    serde_json::json!({ "error": { "code": code, "message": failure.message, "status": status } })
}

impl StreamEncoder for GeminiEventEncoder {
    fn on_chunk(&mut self, chunk: GenerateContentResponse, out: &mut Vec<SseFrame>) {
        if chunk.candidates.iter().any(|c| c.finish_reason.is_some()) {
            self.finished = true;
        }
        out.push(SseFrame::json(&chunk));
    }

    fn on_end(&mut self, out: &mut Vec<SseFrame>) {
        if !self.finished {
            self.on_failure(&StreamFailure::incomplete(), out);
        }
    }

    fn on_failure(&mut self, failure: &StreamFailure, out: &mut Vec<SseFrame>) {
        out.push(SseFrame::data(to_json(&gemini_stream_error(failure))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn chunks_pass_through_and_signatures_survive() {
        let chunk: GenerateContentResponse = serde_json::from_value(json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"functionCall": {"id": "call-1", "name": "f", "args": {"a": 1}}, "thoughtSignature": "sig-1"}
            ]}, "finishReason": "STOP"}]
        }))
        .unwrap();
        let mut encoder = GeminiEventEncoder::new();
        let mut out = Vec::new();
        encoder.on_chunk(chunk, &mut out);
        encoder.on_end(&mut out);
        assert_eq!(out.len(), 1);
        let sent: Value = serde_json::from_str(&out[0].data).unwrap();
        let part = &sent["candidates"][0]["content"]["parts"][0];
        assert_eq!(part["thoughtSignature"], "sig-1");
        assert_eq!(part["functionCall"]["id"], "call-1");
    }

    #[test]
    fn an_unfinished_stream_ends_with_an_error_object() {
        let mut encoder = GeminiEventEncoder::new();
        let mut out = Vec::new();
        encoder.on_chunk(GenerateContentResponse::default(), &mut out);
        encoder.on_end(&mut out);
        let last: Value = serde_json::from_str(&out[1].data).unwrap();
        assert_eq!(last["error"]["status"], "INTERNAL");
    }
}
