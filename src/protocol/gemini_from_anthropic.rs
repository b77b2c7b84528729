//! An Anthropic Messages answer (whole, or its event stream) as Gemini
//! answers. Thinking blocks become thought parts with their signature, tool
//! uses become function calls (collected whole from `input_json_delta`s).

use serde_json::{Value, json};

use super::gemini::{Candidate, Content, GenerateContentResponse, Part, UsageMetadata};

fn finish_reason(reason: &str) -> &'static str {
    match reason {
        "max_tokens" => "MAX_TOKENS",
        "refusal" => "SAFETY",
        _ => "STOP",
    }
}

fn usage_of(usage: &Value, input: u64) -> UsageMetadata {
    let number = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
    let cached = number("cache_read_input_tokens");
    let prompt = input.max(number("input_tokens") + cached + number("cache_creation_input_tokens"));
    let output = number("output_tokens");
    UsageMetadata {
        prompt_token_count: Some(prompt),
        candidates_token_count: Some(output),
        total_token_count: Some(prompt + output),
        cached_content_token_count: (cached > 0).then_some(cached),
        ..UsageMetadata::default()
    }
}

fn block_part(block: &Value) -> Option<Part> {
    match block.get("type").and_then(Value::as_str)? {
        "text" => Some(Part::text(
            block
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )),
        "thinking" => Some(Part {
            text: Some(
                block
                    .get("thinking")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ),
            thought: Some(true),
            thought_signature: block
                .get("signature")
                .and_then(Value::as_str)
                .map(str::to_owned),
            ..Part::default()
        }),
        "tool_use" => Some(Part {
            function_call: Some(json!({
                "name": block.get("name").cloned().unwrap_or(Value::Null),
                "args": block.get("input").cloned().unwrap_or_else(|| json!({})),
                "id": block.get("id").cloned().unwrap_or(Value::Null),
            })),
            ..Part::default()
        }),
        _ => None,
    }
}

fn candidate(parts: Vec<Part>, finish: Option<&str>) -> Candidate {
    Candidate {
        content: Some(Content::new("model", parts)),
        finish_reason: finish.map(|f| finish_reason(f).to_owned()),
        index: Some(0),
        ..Candidate::default()
    }
}

/// A whole Messages answer.
pub fn gemini_from_anthropic(message: &Value) -> GenerateContentResponse {
    let parts = message
        .get("content")
        .and_then(Value::as_array)
        .map(|blocks| blocks.iter().filter_map(block_part).collect())
        .unwrap_or_default();
    GenerateContentResponse {
        candidates: vec![candidate(
            parts,
            Some(
                message
                    .get("stop_reason")
                    .and_then(Value::as_str)
                    .unwrap_or("end_turn"),
            ),
        )],
        usage_metadata: message.get("usage").map(|u| usage_of(u, 0)),
        model_version: message
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_owned),
        response_id: message.get("id").and_then(Value::as_str).map(str::to_owned),
        ..GenerateContentResponse::default()
    }
}

/// A content block being streamed.
enum Open {
    Text,
    Thinking {
        signature: Option<String>,
    },
    ToolUse {
        id: String,
        name: String,
        json: String,
    },
    Other,
}

/// What one Anthropic stream event means for the Gemini stream.
pub enum Event {
    Chunks(Vec<GenerateContentResponse>),
    /// An `error` event: its type and message.
    Error {
        error_type: String,
        message: String,
    },
}

/// Turns Messages stream events into Gemini chunks.
#[derive(Default)]
pub struct AnthropicStreamToGemini {
    open: Option<Open>,
    input_tokens: u64,
    usage: Value,
    finish: Option<String>,
    model: Option<String>,
    id: Option<String>,
}

impl AnthropicStreamToGemini {
    pub fn new() -> Self {
        Self::default()
    }

    fn chunk(&self, parts: Vec<Part>, finish: Option<&str>) -> GenerateContentResponse {
        GenerateContentResponse {
            candidates: vec![candidate(parts, finish)],
            model_version: self.model.clone(),
            response_id: self.id.clone(),
            ..GenerateContentResponse::default()
        }
    }

    pub fn push(&mut self, event: &Value) -> Event {
        let mut out = Vec::new();
        match event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
        {
            "message_start" => {
                let message = event.get("message").unwrap_or(&Value::Null);
                self.model = message
                    .get("model")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.id = message.get("id").and_then(Value::as_str).map(str::to_owned);
                if let Some(usage) = message.get("usage") {
                    let u = usage_of(usage, 0);
                    self.input_tokens = u.prompt_token_count.unwrap_or(0);
                    self.usage = usage.clone();
                }
            }
            "content_block_start" => {
                let block = event.get("content_block").unwrap_or(&Value::Null);
                self.open = Some(match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(text) = block
                            .get("text")
                            .and_then(Value::as_str)
                            .filter(|t| !t.is_empty())
                        {
                            out.push(self.chunk(vec![Part::text(text)], None));
                        }
                        Open::Text
                    }
                    Some("thinking") => Open::Thinking { signature: None },
                    Some("tool_use") => Open::ToolUse {
                        id: block
                            .get("id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        name: block
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        json: String::new(),
                    },
                    _ => Open::Other,
                });
            }
            "content_block_delta" => {
                let delta = event.get("delta").unwrap_or(&Value::Null);
                let text = |key: &str| delta.get(key).and_then(Value::as_str).unwrap_or_default();
                match (delta.get("type").and_then(Value::as_str), &mut self.open) {
                    (Some("text_delta"), _) => {
                        out.push(self.chunk(vec![Part::text(text("text"))], None))
                    }
                    (Some("thinking_delta"), _) => out.push(self.chunk(
                        vec![Part {
                            text: Some(text("thinking").to_owned()),
                            thought: Some(true),
                            ..Part::default()
                        }],
                        None,
                    )),
                    (Some("signature_delta"), Some(Open::Thinking { signature })) => {
                        signature
                            .get_or_insert_default()
                            .push_str(text("signature"));
                    }
                    (Some("input_json_delta"), Some(Open::ToolUse { json, .. })) => {
                        json.push_str(text("partial_json"));
                    }
                    _ => {}
                }
            }
            "content_block_stop" => match self.open.take() {
                Some(Open::ToolUse { id, name, json }) => {
                    let args: Value = if json.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&json).unwrap_or_else(|_| json!({}))
                    };
                    out.push(self.chunk(
                        vec![Part {
                            function_call: Some(json!({"name": name, "args": args, "id": id})),
                            ..Part::default()
                        }],
                        None,
                    ));
                }
                // The signature closes the thought: an empty thought part carries it.
                Some(Open::Thinking {
                    signature: Some(signature),
                }) => out.push(self.chunk(
                    vec![Part {
                        text: Some(String::new()),
                        thought: Some(true),
                        thought_signature: Some(signature),
                        ..Part::default()
                    }],
                    None,
                )),
                _ => {}
            },
            "message_delta" => {
                if let Some(reason) = event
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str)
                {
                    self.finish = Some(reason.to_owned());
                }
                if let Some(usage) = event.get("usage").and_then(Value::as_object) {
                    for (key, value) in usage {
                        if !value.is_null() {
                            if !self.usage.is_object() {
                                self.usage = json!({});
                            }
                            self.usage[key] = value.clone();
                        }
                    }
                }
            }
            "message_stop" => {
                let finish = self.finish.take().unwrap_or_else(|| "end_turn".to_owned());
                let mut chunk = self.chunk(Vec::new(), Some(&finish));
                chunk.usage_metadata = Some(usage_of(&self.usage, self.input_tokens));
                out.push(chunk);
            }
            "error" => {
                let error = event.get("error").unwrap_or(&Value::Null);
                return Event::Error {
                    error_type: error
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("error")
                        .to_owned(),
                    message: error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("the upstream stream failed")
                        .to_owned(),
                };
            }
            _ => {}
        }
        Event::Chunks(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(chunks: &[GenerateContentResponse]) -> Vec<Value> {
        chunks
            .iter()
            .flat_map(|c| c.candidates[0].content.as_ref().unwrap().parts.clone())
            .map(|p| serde_json::to_value(p).unwrap())
            .collect()
    }

    #[test]
    fn a_streamed_answer_with_thinking_text_and_a_tool_use() {
        let events = [
            json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 12, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm."}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Let me check."}}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}}),
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "\"Oslo\"}"}}),
            json!({"type": "content_block_stop", "index": 2}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}}),
            json!({"type": "message_stop"}),
        ];
        let mut stream = AnthropicStreamToGemini::new();
        let mut chunks = Vec::new();
        for event in &events {
            match stream.push(event) {
                Event::Chunks(c) => chunks.extend(c),
                Event::Error { .. } => panic!("no error expected"),
            }
        }
        assert_eq!(
            parts(&chunks),
            vec![
                json!({"text": "Hmm.", "thought": true}),
                json!({"text": "", "thought": true, "thoughtSignature": "sig"}),
                json!({"text": "Let me check."}),
                json!({"functionCall": {"name": "weather", "args": {"city": "Oslo"}, "id": "toolu_1"}}),
            ]
        );
        let last = chunks.last().unwrap();
        assert_eq!(last.candidates[0].finish_reason.as_deref(), Some("STOP"));
        let usage = last.usage_metadata.as_ref().unwrap();
        assert_eq!(
            (usage.prompt_token_count, usage.candidates_token_count),
            (Some(12), Some(30))
        );
    }

    #[test]
    fn an_error_event_is_reported() {
        let mut stream = AnthropicStreamToGemini::new();
        match stream.push(&json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})) {
            Event::Error { error_type, message } => {
                assert_eq!((error_type.as_str(), message.as_str()), ("overloaded_error", "Overloaded"));
            }
            Event::Chunks(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn a_streamed_answer_collects_to_the_whole_one() {
        use crate::protocol::keyed_common::{collect, whole_view};
        let whole = json!({
            "id": "msg_1", "model": "claude", "stop_reason": "tool_use",
            "content": [
                {"type": "thinking", "thinking": "Hmm.", "signature": "sig"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}}
            ],
            "usage": {"input_tokens": 12, "output_tokens": 30}
        });
        let events = [
            json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 12, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hm"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "m."}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Let me "}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "check."}}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}}),
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Oslo\"}"}}),
            json!({"type": "content_block_stop", "index": 2}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}}),
            json!({"type": "message_stop"}),
        ];
        let mut stream = AnthropicStreamToGemini::new();
        let mut chunks = Vec::new();
        for event in &events {
            if let Event::Chunks(c) = stream.push(event) {
                chunks.extend(c);
            }
        }
        assert_eq!(collect(&chunks), whole_view(&gemini_from_anthropic(&whole)));
    }
}
