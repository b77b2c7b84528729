//! Gemini `generateContent` response → Anthropic message, and a Gemini stream
//! → Anthropic message events (`message_start` … `message_stop`).
//!
//! Only the first candidate is read. Both directions build their content
//! blocks with one `BlockBuilder`, so a collected stream equals the whole
//! answer. Thought signatures: a thought part becomes a `thinking` block
//! carrying its signature; a signature on an answer part (text or function
//! call) becomes an empty `thinking` block in front of that part's block,
//! which [`gemini_request_from_anthropic`](super::gemini_request_from_anthropic)
//! turns back into the same part with the same signature.

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Value, json};

use super::anthropic::{
    BlockDelta, BlockStart, ContentBlock, ErrorBody, Message, MessageDelta, StreamEvent, Usage,
};
use super::gemini::{Candidate, GenerateContentResponse, Part, UsageMetadata};
use super::{SseFrame, StreamEncoder, StreamFailure, to_json};

/// Anthropic's `stop_reason` for Gemini's `finishReason` (a function call in
/// the answer makes it `tool_use` instead).
pub fn stop_reason_from_gemini(reason: &str) -> &'static str {
    match reason {
        "MAX_TOKENS" => "max_tokens",
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT" => "refusal",
        _ => "end_turn",
    }
}

/// Gemini counts cached prompt tokens inside the prompt; Anthropic reports
/// them apart. Thinking tokens are output tokens.
pub fn usage_from_gemini(usage: &UsageMetadata) -> Usage {
    let prompt = usage.prompt_token_count.unwrap_or(0);
    let cached = usage.cached_content_token_count.unwrap_or(0);
    Usage {
        input_tokens: prompt.saturating_sub(cached),
        output_tokens: usage.candidates_token_count.unwrap_or(0)
            + usage.thoughts_token_count.unwrap_or(0),
        cache_read_input_tokens: cached,
        cache_creation_input_tokens: 0,
    }
}

/// A whole message. `model` is the name the client asked for.
pub fn anthropic_response_from_gemini(
    response: &GenerateContentResponse,
    id: String,
    model: &str,
) -> Message {
    let mut blocks = BlockBuilder::new(&id, false);
    let finish = match first_candidate(response) {
        Some(candidate) => {
            for part in parts(candidate) {
                blocks.push(part);
            }
            stop_reason_from_gemini(candidate.finish_reason.as_deref().unwrap_or("STOP"))
        }
        None => {
            // No candidate at all: the prompt itself was blocked.
            blocks.push(&refusal_part(response));
            "refusal"
        }
    };
    blocks.close();
    let stop_reason = blocks.stop_reason(finish);
    Message {
        id,
        kind: "message",
        role: "assistant",
        model: model.to_owned(),
        content: blocks.blocks,
        stop_reason: Some(stop_reason),
        stop_sequence: None,
        usage: response
            .usage_metadata
            .as_ref()
            .map(usage_from_gemini)
            .unwrap_or_default(),
    }
}

fn first_candidate(response: &GenerateContentResponse) -> Option<&Candidate> {
    response
        .candidates
        .iter()
        .enumerate()
        .find(|(position, candidate)| candidate.index.unwrap_or(*position as u32) == 0)
        .map(|(_, candidate)| candidate)
}

fn parts(candidate: &Candidate) -> impl Iterator<Item = &Part> {
    candidate.content.iter().flat_map(|c| &c.parts)
}

/// Why the prompt got no answer, as a text part, when Gemini said so.
fn block_reason(response: &GenerateContentResponse) -> Option<&str> {
    response
        .prompt_feedback
        .as_ref()
        .and_then(|f| f.get("blockReason"))
        .and_then(Value::as_str)
}

fn refusal_part(response: &GenerateContentResponse) -> Part {
    let reason = block_reason(response).unwrap_or("no answer");
    Part::text(format!("The upstream model returned no answer ({reason})."))
}

/// What happened to the blocks, for the stream: indexes into
/// `BlockBuilder::blocks`.
#[derive(Debug)]
enum BlockEvent {
    Start(usize),
    TextDelta(usize, String),
    ThinkingDelta(usize, String),
    SignatureDelta(usize, String),
    InputJsonDelta(usize, String),
    Stop(usize),
}

/// Turns Gemini parts, one at a time, into Anthropic content blocks.
/// Consecutive text parts extend one text block and consecutive thought parts
/// one thinking block, until a signature closes it.
struct BlockBuilder {
    /// Seed for the ids of function calls that come without one.
    message_id: String,
    blocks: Vec<ContentBlock>,
    /// The last block is still open (text or thinking).
    open: bool,
    tool_use: bool,
    /// Only streams need the events.
    record: bool,
    events: Vec<BlockEvent>,
}

impl BlockBuilder {
    fn new(message_id: &str, record: bool) -> Self {
        Self {
            message_id: message_id.to_owned(),
            blocks: Vec::new(),
            open: false,
            tool_use: false,
            record,
            events: Vec::new(),
        }
    }

    fn emit(&mut self, event: BlockEvent) {
        if self.record {
            self.events.push(event);
        }
    }

    fn open_block(&self) -> Option<&ContentBlock> {
        self.blocks.last().filter(|_| self.open)
    }

    fn push(&mut self, part: &Part) {
        let signature = part.thought_signature.as_deref().filter(|s| !s.is_empty());
        let text = part.text.as_deref().unwrap_or("");
        if part.is_thought() {
            let extend = matches!(
                self.open_block(),
                Some(ContentBlock::Thinking { signature, .. }) if signature.is_empty()
            );
            if !extend {
                if text.is_empty() && signature.is_none() {
                    return;
                }
                self.start(ContentBlock::Thinking {
                    thinking: String::new(),
                    signature: String::new(),
                });
            }
            let index = self.blocks.len() - 1;
            if let Some(ContentBlock::Thinking {
                thinking,
                signature: slot,
            }) = self.blocks.last_mut()
            {
                thinking.push_str(text);
                if let Some(signature) = signature {
                    signature.clone_into(slot);
                }
            }
            if !text.is_empty() {
                self.emit(BlockEvent::ThinkingDelta(index, text.to_owned()));
            }
            return;
        }

        if let Some(signature) = signature {
            self.start(ContentBlock::Thinking {
                thinking: String::new(),
                signature: signature.to_owned(),
            });
            self.close();
        }
        if let Some(call) = &part.function_call {
            self.push_call(call);
        } else if !text.is_empty() {
            if !matches!(self.open_block(), Some(ContentBlock::Text { .. })) {
                self.start(ContentBlock::Text {
                    text: String::new(),
                });
            }
            let index = self.blocks.len() - 1;
            if let Some(ContentBlock::Text { text: block }) = self.blocks.last_mut() {
                block.push_str(text);
            }
            self.emit(BlockEvent::TextDelta(index, text.to_owned()));
        }
        // Other parts (inline images, executable code) have no Anthropic form.
    }

    fn push_call(&mut self, call: &Value) {
        let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            return;
        }
        let index = self.blocks.len();
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map_or_else(|| self.tool_use_id(index), str::to_owned);
        let input = call
            .get("args")
            .filter(|args| args.is_object())
            .cloned()
            .unwrap_or_else(|| json!({}));
        let arguments = to_json(&input);
        self.start(ContentBlock::ToolUse {
            id,
            name: name.to_owned(),
            input,
        });
        self.emit(BlockEvent::InputJsonDelta(index, arguments));
        self.close();
        self.tool_use = true;
    }

    /// An id for a call Gemini sent without one: the same for the same
    /// message and block, so a stream and a whole answer agree.
    fn tool_use_id(&self, index: usize) -> String {
        let mut hasher = DefaultHasher::new();
        self.message_id.hash(&mut hasher);
        index.hash(&mut hasher);
        format!("toolu_{:016x}", hasher.finish())
    }

    fn start(&mut self, block: ContentBlock) {
        self.close();
        self.blocks.push(block);
        self.open = true;
        self.emit(BlockEvent::Start(self.blocks.len() - 1));
    }

    fn close(&mut self) {
        if !self.open {
            return;
        }
        self.open = false;
        let index = self.blocks.len() - 1;
        if let Some(ContentBlock::Thinking { signature, .. }) = self.blocks.last() {
            let signature = signature.clone();
            self.emit(BlockEvent::SignatureDelta(index, signature));
        }
        self.emit(BlockEvent::Stop(index));
    }

    fn stop_reason(&self, finish: &'static str) -> &'static str {
        if self.tool_use { "tool_use" } else { finish }
    }
}

/// Turns a Gemini stream into Anthropic message events.
pub struct AnthropicEventEncoder {
    id: String,
    model: String,
    blocks: BlockBuilder,
    started: bool,
    /// The stop reason once the upstream said it finished.
    finish: Option<&'static str>,
    usage: Option<UsageMetadata>,
    /// `message_stop` or `error` went out: nothing may follow.
    done: bool,
}

impl AnthropicEventEncoder {
    /// `model` is the name the client asked for.
    pub fn new(id: String, model: String) -> Self {
        let blocks = BlockBuilder::new(&id, true);
        Self {
            id,
            model,
            blocks,
            started: false,
            finish: None,
            usage: None,
            done: false,
        }
    }

    fn usage(&self) -> Usage {
        self.usage
            .as_ref()
            .map(usage_from_gemini)
            .unwrap_or_default()
    }

    fn flush_blocks(&mut self, out: &mut Vec<SseFrame>) {
        let blocks = &self.blocks.blocks;
        for event in std::mem::take(&mut self.blocks.events) {
            let event = match &event {
                BlockEvent::Start(index) => StreamEvent::ContentBlockStart {
                    index: *index,
                    content_block: match &blocks[*index] {
                        ContentBlock::Text { .. } => BlockStart::Text { text: "" },
                        ContentBlock::Thinking { .. } => BlockStart::Thinking { thinking: "" },
                        ContentBlock::ToolUse { id, name, .. } => BlockStart::ToolUse {
                            id,
                            name,
                            input: json!({}),
                        },
                    },
                },
                BlockEvent::TextDelta(index, text) => StreamEvent::ContentBlockDelta {
                    index: *index,
                    delta: BlockDelta::TextDelta { text },
                },
                BlockEvent::ThinkingDelta(index, thinking) => StreamEvent::ContentBlockDelta {
                    index: *index,
                    delta: BlockDelta::ThinkingDelta { thinking },
                },
                BlockEvent::SignatureDelta(index, signature) => StreamEvent::ContentBlockDelta {
                    index: *index,
                    delta: BlockDelta::SignatureDelta { signature },
                },
                BlockEvent::InputJsonDelta(index, partial_json) => StreamEvent::ContentBlockDelta {
                    index: *index,
                    delta: BlockDelta::InputJsonDelta { partial_json },
                },
                BlockEvent::Stop(index) => StreamEvent::ContentBlockStop { index: *index },
            };
            out.push(frame(&event));
        }
    }
}

fn frame(event: &StreamEvent<'_>) -> SseFrame {
    SseFrame {
        event: Some(event.name()),
        data: to_json(event),
    }
}

impl StreamEncoder for AnthropicEventEncoder {
    fn on_chunk(&mut self, chunk: GenerateContentResponse, out: &mut Vec<SseFrame>) {
        if self.done {
            return;
        }
        if let Some(usage) = chunk.usage_metadata {
            self.usage = Some(usage);
        }
        if !self.started {
            self.started = true;
            let usage = Usage {
                output_tokens: 0,
                ..self.usage()
            };
            out.push(frame(&StreamEvent::MessageStart {
                message: Message {
                    id: self.id.clone(),
                    kind: "message",
                    role: "assistant",
                    model: self.model.clone(),
                    content: Vec::new(),
                    stop_reason: None,
                    stop_sequence: None,
                    usage,
                },
            }));
        }
        match first_candidate(&chunk) {
            Some(candidate) => {
                for part in parts(candidate) {
                    self.blocks.push(part);
                }
                if let Some(reason) = &candidate.finish_reason {
                    self.finish.get_or_insert(stop_reason_from_gemini(reason));
                }
            }
            None if block_reason(&chunk).is_some() => {
                self.blocks.push(&refusal_part(&chunk));
                self.finish.get_or_insert("refusal");
            }
            None => {}
        }
        self.flush_blocks(out);
    }

    fn on_end(&mut self, out: &mut Vec<SseFrame>) {
        if self.done {
            return;
        }
        let Some(finish) = self.finish else {
            // A clean end without a finish reason means the answer was cut off
            // upstream: say so rather than pass it off as complete.
            self.on_failure(&StreamFailure::incomplete(), out);
            return;
        };
        self.blocks.close();
        self.flush_blocks(out);
        out.push(frame(&StreamEvent::MessageDelta {
            delta: MessageDelta {
                stop_reason: Some(self.blocks.stop_reason(finish)),
                stop_sequence: None,
            },
            usage: self.usage(),
        }));
        out.push(frame(&StreamEvent::MessageStop));
        self.done = true;
    }

    fn on_failure(&mut self, failure: &StreamFailure, out: &mut Vec<SseFrame>) {
        if self.done {
            return;
        }
        out.push(frame(&StreamEvent::Error {
            error: ErrorBody {
                kind: "api_error",
                message: failure.message.clone(),
            },
        }));
        self.done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::anthropic::MessagesRequest;
    use crate::protocol::gemini_request_from_anthropic::gemini_request_from_anthropic;

    fn chunk(value: Value) -> GenerateContentResponse {
        serde_json::from_value(value).unwrap()
    }

    /// The stream as (event name, data) pairs.
    fn run(chunks: &[Value]) -> Vec<(String, Value)> {
        let mut encoder = AnthropicEventEncoder::new("msg_1".into(), "claude-test".into());
        let mut frames = Vec::new();
        for c in chunks {
            encoder.on_chunk(chunk(c.clone()), &mut frames);
        }
        encoder.on_end(&mut frames);
        // Nothing may follow the end.
        let before = frames.len();
        encoder.on_chunk(chunk(chunks[0].clone()), &mut frames);
        encoder.on_end(&mut frames);
        encoder.on_failure(&StreamFailure::incomplete(), &mut frames);
        assert_eq!(frames.len(), before, "events after the end");
        frames
            .iter()
            .map(|f| {
                let data: Value = serde_json::from_str(&f.data).unwrap();
                let name = f.event.unwrap().to_owned();
                assert_eq!(data["type"], json!(name), "event name and type agree");
                (name, data)
            })
            .collect()
    }

    fn stream_fixture() -> Vec<Value> {
        vec![
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Let me", "thought": true}]}}],
                   "usageMetadata": {"promptTokenCount": 20, "cachedContentTokenCount": 5, "totalTokenCount": 20}}),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": " think.", "thought": true, "thoughtSignature": "SIG_A"}]}}]}),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Checking"}]}}]}),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": " Oslo."}]}}]}),
            json!({"candidates": [{"content": {"role": "model", "parts": [
                    {"functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "SIG_B"}
                   ]}, "finishReason": "STOP"}],
                   "usageMetadata": {"promptTokenCount": 20, "cachedContentTokenCount": 5, "candidatesTokenCount": 10,
                                     "thoughtsTokenCount": 7, "totalTokenCount": 37}}),
        ]
    }

    /// The same answer as one response.
    fn whole_fixture() -> GenerateContentResponse {
        chunk(json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "Let me", "thought": true},
                {"text": " think.", "thought": true, "thoughtSignature": "SIG_A"},
                {"text": "Checking"},
                {"text": " Oslo."},
                {"functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "SIG_B"}
            ]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 20, "cachedContentTokenCount": 5, "candidatesTokenCount": 10,
                              "thoughtsTokenCount": 7, "totalTokenCount": 37}
        }))
    }

    #[test]
    fn stream_golden() {
        let events = run(&stream_fixture());
        let delta = |index: u32, delta: Value| {
            (
                "content_block_delta".to_owned(),
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            )
        };
        let start = |index: u32, block: Value| {
            (
                "content_block_start".to_owned(),
                json!({"type": "content_block_start", "index": index, "content_block": block}),
            )
        };
        let stop = |index: u32| {
            (
                "content_block_stop".to_owned(),
                json!({"type": "content_block_stop", "index": index}),
            )
        };
        let expected = vec![
            (
                "message_start".to_owned(),
                json!({"type": "message_start", "message": {
                    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
                    "content": [], "stop_reason": null, "stop_sequence": null,
                    "usage": {"input_tokens": 15, "output_tokens": 0, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 0}
                }}),
            ),
            start(0, json!({"type": "thinking", "thinking": ""})),
            delta(0, json!({"type": "thinking_delta", "thinking": "Let me"})),
            delta(0, json!({"type": "thinking_delta", "thinking": " think."})),
            delta(0, json!({"type": "signature_delta", "signature": "SIG_A"})),
            stop(0),
            start(1, json!({"type": "text", "text": ""})),
            delta(1, json!({"type": "text_delta", "text": "Checking"})),
            delta(1, json!({"type": "text_delta", "text": " Oslo."})),
            stop(1),
            start(2, json!({"type": "thinking", "thinking": ""})),
            delta(2, json!({"type": "signature_delta", "signature": "SIG_B"})),
            stop(2),
            start(
                3,
                json!({"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}}),
            ),
            delta(
                3,
                json!({"type": "input_json_delta", "partial_json": "{\"city\":\"Oslo\"}"}),
            ),
            stop(3),
            (
                "message_delta".to_owned(),
                json!({"type": "message_delta",
                       "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                       "usage": {"input_tokens": 15, "output_tokens": 17, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 0}}),
            ),
            ("message_stop".to_owned(), json!({"type": "message_stop"})),
        ];
        assert_eq!(events, expected);
    }

    /// Rebuilds the message from the events the way the Anthropic SDKs do.
    fn collect(events: &[(String, Value)]) -> Value {
        let mut message = Value::Null;
        let mut json_buffers: Vec<String> = Vec::new();
        for (name, data) in events {
            match name.as_str() {
                "message_start" => message = data["message"].clone(),
                "content_block_start" => {
                    message["content"]
                        .as_array_mut()
                        .unwrap()
                        .push(data["content_block"].clone());
                    json_buffers.push(String::new());
                }
                "content_block_delta" => {
                    let index = data["index"].as_u64().unwrap() as usize;
                    let block = &mut message["content"][index];
                    let delta = &data["delta"];
                    match delta["type"].as_str().unwrap() {
                        "text_delta" => {
                            let text = block["text"].as_str().unwrap().to_owned();
                            block["text"] = json!(text + delta["text"].as_str().unwrap());
                        }
                        "thinking_delta" => {
                            let text = block["thinking"].as_str().unwrap().to_owned();
                            block["thinking"] = json!(text + delta["thinking"].as_str().unwrap());
                        }
                        "signature_delta" => block["signature"] = delta["signature"].clone(),
                        "input_json_delta" => {
                            json_buffers[index].push_str(delta["partial_json"].as_str().unwrap())
                        }
                        other => panic!("unexpected delta {other}"),
                    }
                }
                "content_block_stop" => {
                    let index = data["index"].as_u64().unwrap() as usize;
                    if message["content"][index]["type"] == "tool_use" {
                        message["content"][index]["input"] =
                            serde_json::from_str(&json_buffers[index]).unwrap();
                    }
                }
                "message_delta" => {
                    message["stop_reason"] = data["delta"]["stop_reason"].clone();
                    message["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                    message["usage"] = data["usage"].clone();
                }
                "message_stop" => {}
                other => panic!("unexpected event {other}"),
            }
        }
        message
    }

    #[test]
    fn collected_stream_equals_the_whole_message() {
        let collected = collect(&run(&stream_fixture()));
        let whole = serde_json::to_value(anthropic_response_from_gemini(
            &whole_fixture(),
            "msg_1".into(),
            "claude-test",
        ))
        .unwrap();
        assert_eq!(collected, whole);
        assert_eq!(whole["stop_reason"], json!("tool_use"));
        assert_eq!(whole["content"].as_array().unwrap().len(), 4);

        // Unsigned thinking, a call without an id, an empty trailing signed part.
        let parts = vec![
            json!({"text": "hmm", "thought": true}),
            json!({"text": "Hi"}),
            json!({"functionCall": {"name": "ls", "args": {}}}),
            json!({"text": "", "thoughtSignature": "SIG_END"}),
        ];
        let chunks: Vec<Value> = parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let mut c =
                    json!({"candidates": [{"content": {"role": "model", "parts": [part]}}]});
                if i == parts.len() - 1 {
                    c["candidates"][0]["finishReason"] = json!("MAX_TOKENS");
                }
                c
            })
            .collect();
        let collected = collect(&run(&chunks));
        let whole = serde_json::to_value(anthropic_response_from_gemini(
            &chunk(
                json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "MAX_TOKENS"}]}),
            ),
            "msg_1".into(),
            "claude-test",
        ))
        .unwrap();
        assert_eq!(collected, whole);
        let content = whole["content"].as_array().unwrap();
        assert_eq!(
            content[0],
            json!({"type": "thinking", "thinking": "hmm", "signature": ""})
        );
        assert_eq!(content[2]["type"], json!("tool_use"));
        assert!(content[2]["id"].as_str().unwrap().starts_with("toolu_"));
        assert_eq!(
            content[3],
            json!({"type": "thinking", "thinking": "", "signature": "SIG_END"})
        );
        assert_eq!(whole["stop_reason"], json!("tool_use"));
    }

    #[test]
    fn signatures_survive_a_round_trip() {
        let original_parts = json!([
            {"text": "Plan the calls.", "thought": true, "thoughtSignature": "S_THOUGHT"},
            {"text": "Looking it up.", "thoughtSignature": "S_TEXT"},
            {"functionCall": {"id": "c1", "name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "S_CALL"},
            {"functionCall": {"id": "c2", "name": "time", "args": {}}},
            {"text": "", "thoughtSignature": "S_END"}
        ]);
        let response = chunk(json!({
            "candidates": [{"content": {"role": "model", "parts": original_parts}, "finishReason": "STOP"}]
        }));
        let message = anthropic_response_from_gemini(&response, "msg_rt".into(), "claude-test");
        let assistant = serde_json::to_value(&message.content).unwrap();
        let next: MessagesRequest = serde_json::from_value(json!({
            "model": "claude-test", "max_tokens": 1000,
            "tools": [{"name": "weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
                      {"name": "time"}],
            "messages": [
                {"role": "user", "content": "Weather and time in Oslo?"},
                {"role": "assistant", "content": assistant},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "c1", "content": "12C"},
                    {"type": "tool_result", "tool_use_id": "c2", "content": "10:00"}
                ]}
            ]
        }))
        .unwrap();
        let gemini = serde_json::to_value(gemini_request_from_anthropic(&next).unwrap()).unwrap();
        assert_eq!(gemini["contents"][1]["role"], json!("model"));
        assert_eq!(gemini["contents"][1]["parts"], original_parts);
        assert_eq!(
            gemini["contents"][2]["parts"][1],
            json!({"functionResponse": {"id": "c2", "name": "time", "response": {"result": "10:00"}}})
        );
    }

    #[test]
    fn a_stream_cut_short_ends_with_an_error_event() {
        let mut encoder = AnthropicEventEncoder::new("msg_1".into(), "m".into());
        let mut frames = Vec::new();
        encoder.on_chunk(
            chunk(json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]})),
            &mut frames,
        );
        encoder.on_end(&mut frames);
        let names: Vec<&str> = frames.iter().map(|f| f.event.unwrap()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "error"
            ]
        );
        let error: Value = serde_json::from_str(&frames[3].data).unwrap();
        assert_eq!(
            error,
            json!({"type": "error", "error": {"type": "api_error", "message": StreamFailure::incomplete().message}})
        );
        encoder.on_end(&mut frames);
        assert_eq!(frames.len(), 4, "nothing after the error");
    }

    #[test]
    fn a_failure_before_any_chunk_is_just_an_error() {
        let mut encoder = AnthropicEventEncoder::new("msg_1".into(), "m".into());
        let mut frames = Vec::new();
        let failure = StreamFailure {
            kind: "timeout",
            message: "upstream went quiet".to_owned(),
        };
        encoder.on_failure(&failure, &mut frames);
        encoder.on_chunk(
            chunk(json!({"candidates": [{"content": {"parts": [{"text": "late"}]}, "finishReason": "STOP"}]})),
            &mut frames,
        );
        encoder.on_end(&mut frames);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].event, Some("error"));
        assert!(frames[0].data.contains("upstream went quiet"));
    }

    #[test]
    fn stop_reasons_and_usage_map() {
        assert_eq!(stop_reason_from_gemini("STOP"), "end_turn");
        assert_eq!(stop_reason_from_gemini("MAX_TOKENS"), "max_tokens");
        assert_eq!(stop_reason_from_gemini("SAFETY"), "refusal");
        assert_eq!(stop_reason_from_gemini("PROHIBITED_CONTENT"), "refusal");
        assert_eq!(
            stop_reason_from_gemini("MALFORMED_FUNCTION_CALL"),
            "end_turn"
        );
        let usage = usage_from_gemini(&UsageMetadata {
            prompt_token_count: Some(100),
            candidates_token_count: Some(30),
            thoughts_token_count: Some(12),
            cached_content_token_count: Some(40),
            total_token_count: Some(142),
        });
        assert_eq!(
            usage,
            Usage {
                input_tokens: 60,
                output_tokens: 42,
                cache_read_input_tokens: 40,
                cache_creation_input_tokens: 0
            }
        );
    }

    #[test]
    fn whole_message_maps_text_and_stop_reason() {
        let message = anthropic_response_from_gemini(
            &chunk(json!({
                "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello"}, {"text": ", world"}]},
                                "finishReason": "MAX_TOKENS"}],
                "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 3}
            })),
            "msg_9".into(),
            "claude-haiku",
        );
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            json!({
                "id": "msg_9", "type": "message", "role": "assistant", "model": "claude-haiku",
                "content": [{"type": "text", "text": "Hello, world"}],
                "stop_reason": "max_tokens", "stop_sequence": null,
                "usage": {"input_tokens": 7, "output_tokens": 3, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
            })
        );
    }

    #[test]
    fn blocked_prompt_becomes_a_refusal_both_ways() {
        let blocked = json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}});
        let message = anthropic_response_from_gemini(&chunk(blocked.clone()), "m1".into(), "m");
        assert_eq!(message.stop_reason, Some("refusal"));
        assert!(matches!(
            &message.content[..],
            [ContentBlock::Text { text }] if text.contains("SAFETY")
        ));
        let mut encoder = AnthropicEventEncoder::new("m1".into(), "m".into());
        let mut frames = Vec::new();
        encoder.on_chunk(chunk(blocked), &mut frames);
        encoder.on_end(&mut frames);
        let events: Vec<(String, Value)> = frames
            .iter()
            .map(|f| {
                (
                    f.event.unwrap().to_owned(),
                    serde_json::from_str(&f.data).unwrap(),
                )
            })
            .collect();
        assert_eq!(collect(&events), serde_json::to_value(&message).unwrap());
    }
}
