//! Gemini `generateContent` response → OpenAI Responses `Response`, and a
//! Gemini stream → Responses events (`response.created` …
//! `response.completed`).
//!
//! Both go through one [`OutputBuilder`] fed part by part, so the collected
//! stream and the whole answer cannot drift apart. Parts become output items:
//! a thought → a `reasoning` item (its signature in `encrypted_content`); a
//! signed answer text → a `reasoning` item with no summary carrying the
//! signature, in front of the text (the request translator hands it back to
//! that text); text → a `message` item (consecutive texts extend it); a
//! function call → a `function_call` item whose `call_id` carries the
//! call's signature.

use serde_json::{Value, json};

use super::gemini::{Candidate, GenerateContentResponse, Part, UsageMetadata};
use super::openai_from_gemini::{finish_reason_from_gemini, usage_from_gemini};
use super::responses::{
    IncompleteDetails, InputTokensDetails, OutputContent, OutputItem, OutputTokensDetails,
    Response, ResponseError, ResponseUsage, ResponsesRequest, SummaryText,
};
use super::signature::tool_call_id_with_signature;
use super::{SseFrame, StreamEncoder, StreamFailure, to_json};

/// A whole Response for a non-streamed answer (its first candidate). `model`
/// is the name the client asked for.
pub fn responses_response_from_gemini(
    response: &GenerateContentResponse,
    id: String,
    created_at: i64,
    model: &str,
) -> Response {
    let mut builder = OutputBuilder::new(&id);
    let mut ignored = Vec::new();
    let candidate = first_candidate(response);
    for part in candidate.iter().flat_map(|c| parts(c)) {
        builder.push_part(part, &mut ignored);
    }
    builder.close_open(&mut ignored);
    let mut out = Response::new(id, created_at, model.to_owned());
    let ending = match candidate {
        Some(candidate) => Ending::from_finish_reason(candidate.finish_reason.as_deref()),
        // No candidate at all: the prompt itself was blocked.
        None => Ending::Filtered,
    };
    ending.apply(&mut out);
    out.output = builder.items;
    out.usage = Some(response_usage(response.usage_metadata.as_ref()));
    out
}

pub fn response_usage(usage: Option<&UsageMetadata>) -> ResponseUsage {
    let usage = usage.map(usage_from_gemini).unwrap_or_default();
    ResponseUsage {
        input_tokens: usage.prompt_tokens,
        input_tokens_details: InputTokensDetails {
            cached_tokens: usage.prompt_tokens_details.cached_tokens,
        },
        output_tokens: usage.completion_tokens,
        output_tokens_details: OutputTokensDetails {
            reasoning_tokens: usage.completion_tokens_details.reasoning_tokens,
        },
        total_tokens: usage.total_tokens,
    }
}

fn first_candidate(response: &GenerateContentResponse) -> Option<&Candidate> {
    response
        .candidates
        .iter()
        .find(|c| c.index.unwrap_or(0) == 0)
}

fn parts(candidate: &Candidate) -> impl Iterator<Item = &Part> {
    candidate.content.iter().flat_map(|c| &c.parts)
}

/// How the answer ended, as a Response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Completed,
    MaxTokens,
    Filtered,
}

impl Ending {
    fn from_finish_reason(reason: Option<&str>) -> Self {
        match finish_reason_from_gemini(reason.unwrap_or("STOP")) {
            "length" => Self::MaxTokens,
            "content_filter" => Self::Filtered,
            _ => Self::Completed,
        }
    }

    fn apply(self, response: &mut Response) {
        let reason = match self {
            Self::Completed => {
                response.status = "completed";
                return;
            }
            Self::MaxTokens => "max_output_tokens",
            Self::Filtered => "content_filter",
        };
        response.status = "incomplete";
        response.incomplete_details = Some(IncompleteDetails { reason });
    }
}

/// One stream event before numbering: its type and its other fields.
type Event = (&'static str, Value);

/// The item being written, while more of it may arrive.
enum OpenItem {
    Reasoning {
        id: String,
        text: String,
        /// Whether `reasoning_summary_part.added` went out.
        summary_started: bool,
        signature: Option<String>,
    },
    Message {
        id: String,
        text: String,
    },
}

/// Turns Gemini parts into output items, and into the stream events that
/// build them. Item ids derive from the response id and the output index, so
/// the same answer always gets the same ids.
struct OutputBuilder {
    id_base: String,
    items: Vec<OutputItem>,
    open: Option<OpenItem>,
}

impl OutputBuilder {
    fn new(response_id: &str) -> Self {
        Self {
            id_base: response_id
                .strip_prefix("resp_")
                .unwrap_or(response_id)
                .to_owned(),
            items: Vec::new(),
            open: None,
        }
    }

    fn next_id(&self, prefix: &str) -> String {
        format!("{prefix}_{}_{}", self.id_base, self.items.len())
    }

    /// Output index of the open item (closed items all come before it).
    fn output_index(&self) -> usize {
        self.items.len()
    }

    fn push_part(&mut self, part: &Part, events: &mut Vec<Event>) {
        if let Some(call) = &part.function_call {
            self.close_open(events);
            self.function_call(call, part.thought_signature.as_deref(), events);
            return;
        }
        let Some(text) = part.text.as_deref() else {
            // Inline data, code execution and the like have no Responses item.
            return;
        };
        if part.is_thought() {
            self.thought(text, part.thought_signature.as_deref(), events);
            return;
        }
        if let Some(signature) = part.thought_signature.as_deref() {
            // Gemini signed this answer part: the signature travels in a
            // summary-less reasoning item right before the text.
            self.close_open(events);
            self.signature_item(signature, events);
        }
        if !text.is_empty() {
            self.answer_text(text, events);
        }
    }

    fn thought(&mut self, text: &str, signature: Option<&str>, events: &mut Vec<Event>) {
        // A second signature cannot share an item with the first.
        let continues = matches!(
            &self.open,
            Some(OpenItem::Reasoning { signature: open_signature, .. })
                if open_signature.is_none() || signature.is_none()
        );
        if !continues {
            self.close_open(events);
            let id = self.next_id("rs");
            let added = OutputItem::Reasoning {
                id: id.clone(),
                summary: Vec::new(),
                encrypted_content: None,
            };
            events.push(self.item_event("response.output_item.added", &added));
            self.open = Some(OpenItem::Reasoning {
                id,
                text: String::new(),
                summary_started: false,
                signature: None,
            });
        }
        let output_index = self.output_index();
        let Some(OpenItem::Reasoning {
            id,
            text: summary,
            summary_started,
            signature: open_signature,
        }) = &mut self.open
        else {
            return;
        };
        if let Some(signature) = signature {
            *open_signature = Some(signature.to_owned());
        }
        if text.is_empty() {
            return;
        }
        if !*summary_started {
            *summary_started = true;
            events.push((
                "response.reasoning_summary_part.added",
                json!({"item_id": id, "output_index": output_index, "summary_index": 0,
                       "part": {"type": "summary_text", "text": ""}}),
            ));
        }
        summary.push_str(text);
        events.push((
            "response.reasoning_summary_text.delta",
            json!({"item_id": id, "output_index": output_index, "summary_index": 0, "delta": text}),
        ));
    }

    fn signature_item(&mut self, signature: &str, events: &mut Vec<Event>) {
        let item = OutputItem::Reasoning {
            id: self.next_id("rs"),
            summary: Vec::new(),
            encrypted_content: None,
        };
        events.push(self.item_event("response.output_item.added", &item));
        let OutputItem::Reasoning { id, summary, .. } = item else {
            return;
        };
        let item = OutputItem::Reasoning {
            id,
            summary,
            encrypted_content: Some(signature.to_owned()),
        };
        events.push(self.item_event("response.output_item.done", &item));
        self.items.push(item);
    }

    fn answer_text(&mut self, text: &str, events: &mut Vec<Event>) {
        if !matches!(self.open, Some(OpenItem::Message { .. })) {
            self.close_open(events);
            let id = self.next_id("msg");
            let added = OutputItem::Message {
                id: id.clone(),
                status: "in_progress",
                role: "assistant",
                content: Vec::new(),
            };
            events.push(self.item_event("response.output_item.added", &added));
            events.push((
                "response.content_part.added",
                json!({"item_id": id, "output_index": self.output_index(), "content_index": 0,
                       "part": OutputContent::text(String::new())}),
            ));
            self.open = Some(OpenItem::Message {
                id,
                text: String::new(),
            });
        }
        let output_index = self.output_index();
        if let Some(OpenItem::Message { id, text: whole }) = &mut self.open {
            whole.push_str(text);
            events.push((
                "response.output_text.delta",
                json!({"item_id": id, "output_index": output_index, "content_index": 0, "delta": text}),
            ));
        }
    }

    fn function_call(&mut self, call: &Value, signature: Option<&str>, events: &mut Vec<Event>) {
        let output_index = self.output_index();
        let id = self.next_id("fc");
        let call_id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("call_{}_{output_index}", self.id_base));
        let name = call
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let arguments = call
            .get("args")
            .map(to_json)
            .unwrap_or_else(|| "{}".to_owned());
        let call_id = tool_call_id_with_signature(&call_id, signature);
        let added = OutputItem::FunctionCall {
            id: id.clone(),
            call_id: call_id.clone(),
            name: name.clone(),
            arguments: String::new(),
            status: "in_progress",
        };
        events.push(self.item_event("response.output_item.added", &added));
        events.push((
            "response.function_call_arguments.delta",
            json!({"item_id": id, "output_index": output_index, "delta": arguments}),
        ));
        events.push((
            "response.function_call_arguments.done",
            json!({"item_id": id, "output_index": output_index, "arguments": arguments}),
        ));
        let item = OutputItem::FunctionCall {
            id,
            call_id,
            name,
            arguments,
            status: "completed",
        };
        events.push(self.item_event("response.output_item.done", &item));
        self.items.push(item);
    }

    /// Finishes the open item: its closing events, then it joins `items`.
    fn close_open(&mut self, events: &mut Vec<Event>) {
        let output_index = self.output_index();
        let item = match self.open.take() {
            None => return,
            Some(OpenItem::Reasoning {
                id,
                text,
                summary_started,
                signature,
            }) => {
                let mut summary = Vec::new();
                if summary_started {
                    events.push((
                        "response.reasoning_summary_text.done",
                        json!({"item_id": id, "output_index": output_index, "summary_index": 0, "text": text}),
                    ));
                    let part = SummaryText::SummaryText { text };
                    events.push((
                        "response.reasoning_summary_part.done",
                        json!({"item_id": id, "output_index": output_index, "summary_index": 0, "part": part}),
                    ));
                    summary.push(part);
                }
                OutputItem::Reasoning {
                    id,
                    summary,
                    encrypted_content: signature,
                }
            }
            Some(OpenItem::Message { id, text }) => {
                events.push((
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": output_index, "content_index": 0, "text": text}),
                ));
                let part = OutputContent::text(text);
                events.push((
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": output_index, "content_index": 0, "part": part}),
                ));
                OutputItem::Message {
                    id,
                    status: "completed",
                    role: "assistant",
                    content: vec![part],
                }
            }
        };
        events.push(self.item_event("response.output_item.done", &item));
        self.items.push(item);
    }

    fn item_event(&self, kind: &'static str, item: &OutputItem) -> Event {
        (
            kind,
            json!({"output_index": self.output_index(), "item": item}),
        )
    }
}

/// Turns a Gemini stream into Responses events. Every event carries its type
/// and a `sequence_number`; the last one is `response.completed` or
/// `response.failed`, and nothing follows it.
pub struct ResponsesEventEncoder {
    /// The Response as it stands: id, model, echoed settings.
    response: Response,
    builder: OutputBuilder,
    sequence_number: u64,
    started: bool,
    ending: Option<Ending>,
    usage: Option<UsageMetadata>,
    finished: bool,
}

impl ResponsesEventEncoder {
    pub fn new(id: String, created_at: i64, model: String) -> Self {
        Self {
            builder: OutputBuilder::new(&id),
            response: Response::new(id, created_at, model),
            sequence_number: 0,
            started: false,
            ending: None,
            usage: None,
            finished: false,
        }
    }

    /// Reports the request's settings (tool choice, sampling) in the
    /// Response objects the events carry.
    pub fn with_request_echo(mut self, request: &ResponsesRequest) -> Self {
        self.response.echo_request(request);
        self
    }

    fn emit(&mut self, kind: &'static str, mut body: Value, out: &mut Vec<SseFrame>) {
        if let Value::Object(fields) = &mut body {
            fields.insert("type".to_owned(), Value::String(kind.to_owned()));
            fields.insert("sequence_number".to_owned(), json!(self.sequence_number));
        }
        self.sequence_number += 1;
        out.push(SseFrame {
            event: Some(kind),
            data: to_json(&body),
        });
    }

    fn emit_all(&mut self, events: Vec<Event>, out: &mut Vec<SseFrame>) {
        for (kind, body) in events {
            self.emit(kind, body, out);
        }
    }

    fn start(&mut self, out: &mut Vec<SseFrame>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let response = json!({ "response": self.response });
        self.emit("response.created", response.clone(), out);
        self.emit("response.in_progress", response, out);
    }

    /// The Response with what has been built so far.
    fn snapshot(&self) -> Response {
        let mut response = self.response.clone();
        response.output = self.builder.items.clone();
        response.usage = self.usage.as_ref().map(|u| response_usage(Some(u)));
        response
    }
}

impl StreamEncoder for ResponsesEventEncoder {
    fn on_chunk(&mut self, chunk: GenerateContentResponse, out: &mut Vec<SseFrame>) {
        if self.finished {
            return;
        }
        self.start(out);
        if let Some(usage) = chunk.usage_metadata {
            self.usage = Some(usage);
        }
        let mut events = Vec::new();
        match first_candidate(&chunk) {
            Some(candidate) => {
                for part in parts(candidate) {
                    self.builder.push_part(part, &mut events);
                }
                if let Some(reason) = candidate.finish_reason.as_deref() {
                    self.ending = Some(Ending::from_finish_reason(Some(reason)));
                }
            }
            None => {
                if chunk
                    .prompt_feedback
                    .as_ref()
                    .and_then(|f| f.get("blockReason"))
                    .is_some()
                {
                    self.ending = Some(Ending::Filtered);
                }
            }
        }
        self.emit_all(events, out);
    }

    fn on_end(&mut self, out: &mut Vec<SseFrame>) {
        if self.finished {
            return;
        }
        let Some(ending) = self.ending else {
            // A clean end without a finish reason means the answer was cut
            // off upstream: say so rather than pass it off as complete.
            self.on_failure(&StreamFailure::incomplete(), out);
            return;
        };
        self.start(out);
        let mut events = Vec::new();
        self.builder.close_open(&mut events);
        self.emit_all(events, out);
        let mut response = self.snapshot();
        response.usage = Some(response_usage(self.usage.as_ref()));
        ending.apply(&mut response);
        self.finished = true;
        self.emit("response.completed", json!({ "response": response }), out);
    }

    fn on_failure(&mut self, failure: &StreamFailure, out: &mut Vec<SseFrame>) {
        if self.finished {
            return;
        }
        // The SDK's stream helper wants `response.created` before anything.
        self.start(out);
        let mut response = self.snapshot();
        response.status = "failed";
        response.error = Some(ResponseError {
            code: failure.kind.to_owned(),
            message: failure.message.clone(),
        });
        self.finished = true;
        self.emit("response.failed", json!({ "response": response }), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::gemini_request_from_responses::gemini_request_from_responses;
    use crate::protocol::signature::split_tool_call_id;

    fn chunk(value: Value) -> GenerateContentResponse {
        serde_json::from_value(value).unwrap()
    }

    fn run(chunks: &[Value], end: bool) -> Vec<Value> {
        let mut encoder = ResponsesEventEncoder::new("resp_1".into(), 5, "gpt-5".into());
        let mut frames = Vec::new();
        for c in chunks {
            encoder.on_chunk(chunk(c.clone()), &mut frames);
        }
        if end {
            encoder.on_end(&mut frames);
        }
        frames
            .iter()
            .map(|f| {
                let data: Value = serde_json::from_str(&f.data).unwrap();
                assert_eq!(Some(data["type"].as_str().unwrap()), f.event, "{data}");
                data
            })
            .collect()
    }

    fn usage() -> Value {
        json!({"promptTokenCount": 7, "candidatesTokenCount": 3, "thoughtsTokenCount": 2,
               "totalTokenCount": 12, "cachedContentTokenCount": 4})
    }

    fn stream_fixture() -> Vec<Value> {
        vec![
            json!({"candidates": [{"content": {"role": "model", "parts": [
                {"text": "Let me think", "thought": true, "thoughtSignature": "sig-T"}]}}]}),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hello"}]}}]}),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": ", world"}]}}]}),
            json!({"candidates": [{"content": {"role": "model", "parts": [
                {"functionCall": {"id": "call_a", "name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "sig-F"}]},
                "finishReason": "STOP"}], "usageMetadata": usage()}),
        ]
    }

    /// The same answer, not streamed: every part in one candidate.
    fn whole_fixture() -> GenerateContentResponse {
        let mut parts = Vec::new();
        let mut last = Value::Null;
        for c in stream_fixture() {
            parts.extend(
                c["candidates"][0]["content"]["parts"]
                    .as_array()
                    .unwrap()
                    .clone(),
            );
            last = c;
        }
        chunk(
            json!({"candidates": [{"content": {"role": "model", "parts": parts},
            "finishReason": last["candidates"][0]["finishReason"]}],
            "usageMetadata": last["usageMetadata"]}),
        )
    }

    #[test]
    fn stream_golden() {
        let signed_call = tool_call_id_with_signature("call_a", Some("sig-F"));
        let in_progress = json!({"id": "resp_1", "object": "response", "created_at": 5,
            "status": "in_progress", "model": "gpt-5", "output": [], "usage": null, "error": null,
            "incomplete_details": null, "parallel_tool_calls": true, "tool_choice": "auto", "tools": []});
        let reasoning = json!({"type": "reasoning", "id": "rs_1_0",
            "summary": [{"type": "summary_text", "text": "Let me think"}], "encrypted_content": "sig-T"});
        let message = json!({"type": "message", "id": "msg_1_1", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello, world", "annotations": []}]});
        let call = json!({"type": "function_call", "id": "fc_1_2", "call_id": signed_call, "name": "weather",
            "arguments": "{\"city\":\"Oslo\"}", "status": "completed"});
        let mut completed = in_progress.clone();
        completed["status"] = json!("completed");
        completed["output"] = json!([reasoning, message, call]);
        completed["usage"] = json!({"input_tokens": 7, "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 12});
        let text_part =
            |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
        let expected = vec![
            json!({"type": "response.created", "response": in_progress}),
            json!({"type": "response.in_progress", "response": in_progress}),
            json!({"type": "response.output_item.added", "output_index": 0,
                   "item": {"type": "reasoning", "id": "rs_1_0", "summary": []}}),
            json!({"type": "response.reasoning_summary_part.added", "item_id": "rs_1_0", "output_index": 0,
                   "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
            json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1_0", "output_index": 0,
                   "summary_index": 0, "delta": "Let me think"}),
            json!({"type": "response.reasoning_summary_text.done", "item_id": "rs_1_0", "output_index": 0,
                   "summary_index": 0, "text": "Let me think"}),
            json!({"type": "response.reasoning_summary_part.done", "item_id": "rs_1_0", "output_index": 0,
                   "summary_index": 0, "part": {"type": "summary_text", "text": "Let me think"}}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": reasoning}),
            json!({"type": "response.output_item.added", "output_index": 1,
                   "item": {"type": "message", "id": "msg_1_1", "status": "in_progress", "role": "assistant", "content": []}}),
            json!({"type": "response.content_part.added", "item_id": "msg_1_1", "output_index": 1,
                   "content_index": 0, "part": text_part("")}),
            json!({"type": "response.output_text.delta", "item_id": "msg_1_1", "output_index": 1,
                   "content_index": 0, "delta": "Hello"}),
            json!({"type": "response.output_text.delta", "item_id": "msg_1_1", "output_index": 1,
                   "content_index": 0, "delta": ", world"}),
            json!({"type": "response.output_text.done", "item_id": "msg_1_1", "output_index": 1,
                   "content_index": 0, "text": "Hello, world"}),
            json!({"type": "response.content_part.done", "item_id": "msg_1_1", "output_index": 1,
                   "content_index": 0, "part": text_part("Hello, world")}),
            json!({"type": "response.output_item.done", "output_index": 1, "item": message}),
            json!({"type": "response.output_item.added", "output_index": 2,
                   "item": {"type": "function_call", "id": "fc_1_2", "call_id": signed_call, "name": "weather",
                            "arguments": "", "status": "in_progress"}}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1_2", "output_index": 2,
                   "delta": "{\"city\":\"Oslo\"}"}),
            json!({"type": "response.function_call_arguments.done", "item_id": "fc_1_2", "output_index": 2,
                   "arguments": "{\"city\":\"Oslo\"}"}),
            json!({"type": "response.output_item.done", "output_index": 2, "item": call}),
            json!({"type": "response.completed", "response": completed}),
        ];
        let mut frames = run(&stream_fixture(), true);
        for (number, frame) in frames.iter_mut().enumerate() {
            let fields = frame.as_object_mut().unwrap();
            assert_eq!(fields.remove("sequence_number"), Some(json!(number)));
        }
        assert_eq!(frames.len(), expected.len());
        for (got, want) in frames.iter().zip(&expected) {
            assert_eq!(got, want);
        }
        assert_eq!(
            split_tool_call_id(&signed_call),
            ("call_a", Some("sig-F".to_owned()))
        );
    }

    #[test]
    fn collected_stream_equals_the_whole_response() {
        let fixtures = [
            stream_fixture(),
            // A signed answer text, a thought without signature, MAX_TOKENS.
            vec![
                json!({"candidates": [{"content": {"parts": [{"text": "hmm", "thought": true}]}}]}),
                json!({"candidates": [{"content": {"parts": [{"text": "Hi", "thoughtSignature": "sig-A"}]}}]}),
                json!({"candidates": [{"content": {"parts": [{"text": " there"}, {"functionCall": {"name": "f", "args": {}}}]}}]}),
                json!({"candidates": [{"content": {"parts": [{"text": "", "thoughtSignature": "sig-B"}]},
                    "finishReason": "MAX_TOKENS"}]}),
            ],
        ];
        for chunks in fixtures {
            let frames = run(&chunks, true);
            let completed = frames.last().unwrap();
            assert_eq!(completed["type"], "response.completed");
            let mut parts = Vec::new();
            for c in &chunks {
                parts.extend(
                    c["candidates"][0]["content"]["parts"]
                        .as_array()
                        .unwrap()
                        .clone(),
                );
            }
            let last = chunks.last().unwrap();
            let whole = chunk(
                json!({"candidates": [{"content": {"role": "model", "parts": parts},
                "finishReason": last["candidates"][0]["finishReason"]}],
                "usageMetadata": last.get("usageMetadata")}),
            );
            let response = responses_response_from_gemini(&whole, "resp_1".into(), 5, "gpt-5");
            assert_eq!(
                completed["response"],
                serde_json::to_value(&response).unwrap()
            );
            // And the items announced one by one are the same items.
            let done: Vec<&Value> = frames
                .iter()
                .filter(|f| f["type"] == "response.output_item.done")
                .map(|f| &f["item"])
                .collect();
            let output: Vec<&Value> = completed["response"]["output"]
                .as_array()
                .unwrap()
                .iter()
                .collect();
            assert_eq!(done, output);
        }
        assert_eq!(
            serde_json::to_value(responses_response_from_gemini(
                &whole_fixture(),
                "resp_1".into(),
                5,
                "gpt-5"
            ))
            .unwrap()["status"],
            "completed"
        );
    }

    #[test]
    fn max_tokens_and_blocked_prompts_are_incomplete() {
        let frames = run(
            &[
                json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}, "finishReason": "MAX_TOKENS"}]}),
            ],
            true,
        );
        let response = &frames.last().unwrap()["response"];
        assert_eq!(response["status"], "incomplete");
        assert_eq!(
            response["incomplete_details"],
            json!({"reason": "max_output_tokens"})
        );

        let blocked = chunk(json!({"promptFeedback": {"blockReason": "SAFETY"}}));
        let out = responses_response_from_gemini(&blocked, "resp_2".into(), 1, "m");
        assert_eq!(out.status, "incomplete");
        assert_eq!(out.incomplete_details.unwrap().reason, "content_filter");
        assert!(out.output.is_empty());
        let frames = run(
            &[json!({"promptFeedback": {"blockReason": "SAFETY"}})],
            true,
        );
        assert_eq!(frames.last().unwrap()["response"]["status"], "incomplete");
    }

    #[test]
    fn a_stream_cut_short_fails_and_then_stays_silent() {
        let mut encoder = ResponsesEventEncoder::new("resp_1".into(), 5, "gpt-5".into());
        let mut frames = Vec::new();
        encoder.on_chunk(
            chunk(json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]})),
            &mut frames,
        );
        encoder.on_end(&mut frames);
        let count = frames.len();
        encoder.on_chunk(
            chunk(json!({"candidates": [{"content": {"parts": [{"text": "lo"}]}, "finishReason": "STOP"}]})),
            &mut frames,
        );
        encoder.on_end(&mut frames);
        encoder.on_failure(&StreamFailure::incomplete(), &mut frames);
        assert_eq!(frames.len(), count, "nothing after the terminal event");
        let kinds: Vec<_> = frames.iter().map(|f| f.event.unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.failed"
            ]
        );
        let failed: Value = serde_json::from_str(&frames[count - 1].data).unwrap();
        assert_eq!(failed["response"]["status"], "failed");
        assert_eq!(
            failed["response"]["error"],
            json!({"code": "incomplete_stream", "message": StreamFailure::incomplete().message})
        );
        assert_eq!(failed["sequence_number"], json!(count - 1));
    }

    #[test]
    fn a_failure_before_any_chunk_still_starts_with_created() {
        let mut encoder = ResponsesEventEncoder::new("resp_1".into(), 5, "gpt-5".into());
        let mut frames = Vec::new();
        let failure = StreamFailure {
            kind: "timeout",
            message: "upstream went quiet".into(),
        };
        encoder.on_failure(&failure, &mut frames);
        encoder.on_end(&mut frames);
        let kinds: Vec<_> = frames.iter().map(|f| f.event.unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.in_progress",
                "response.failed"
            ]
        );
        let failed: Value = serde_json::from_str(&frames[2].data).unwrap();
        assert_eq!(failed["response"]["error"]["code"], "timeout");
    }

    #[test]
    fn request_settings_are_echoed() {
        let request: ResponsesRequest = serde_json::from_value(json!({
            "model": "gpt-5", "input": "x", "tool_choice": "required", "parallel_tool_calls": false,
            "temperature": 0.5
        }))
        .unwrap();
        let mut encoder = ResponsesEventEncoder::new("resp_1".into(), 5, "gpt-5".into())
            .with_request_echo(&request);
        let mut frames = Vec::new();
        encoder.on_chunk(
            chunk(json!({"candidates": [{"content": {"parts": [{"text": "ok"}]}, "finishReason": "STOP"}]})),
            &mut frames,
        );
        encoder.on_end(&mut frames);
        let done: Value = serde_json::from_str(&frames.last().unwrap().data).unwrap();
        assert_eq!(done["response"]["tool_choice"], "required");
        assert_eq!(done["response"]["parallel_tool_calls"], false);
        assert_eq!(done["response"]["temperature"], 0.5);
    }

    #[test]
    fn signatures_round_trip_through_the_history() {
        let answers = [
            // Thought, signed answer text, signed and unsigned calls.
            json!([
                {"text": "Plan the lookup.", "thought": true, "thoughtSignature": "sig-T"},
                {"text": "Checking.", "thoughtSignature": "sig-X"},
                {"functionCall": {"id": "call_a", "name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "sig-F"},
                {"functionCall": {"id": "call_b", "name": "weather", "args": {"city": "Bergen"}}}
            ]),
            // The signature on a closing empty text part (Gemini 3 style).
            json!([
                {"text": "Hi"},
                {"text": " there."},
                {"text": "", "thoughtSignature": "sig-Z"}
            ]),
        ];
        for parts in answers {
            let upstream = chunk(
                json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]}),
            );
            let response = responses_response_from_gemini(&upstream, "resp_9".into(), 1, "gpt-5");
            let mut input = vec![json!({"role": "user", "content": "Weather?"})];
            let output = serde_json::to_value(&response.output).unwrap();
            for item in output.as_array().unwrap() {
                input.push(item.clone());
            }
            for item in output.as_array().unwrap() {
                if item["type"] == "function_call" {
                    input.push(json!({"type": "function_call_output", "call_id": item["call_id"], "output": "ok"}));
                }
            }
            let request: ResponsesRequest =
                serde_json::from_value(json!({"model": "gpt-5", "input": input})).unwrap();
            let gemini = gemini_request_from_responses(&request).unwrap();
            let model_turn = serde_json::to_value(&gemini.contents[1]).unwrap();
            // Consecutive texts came back as one message: compare them merged.
            let mut expected = Vec::<Value>::new();
            for part in parts.as_array().unwrap() {
                match expected.last_mut() {
                    Some(last)
                        if last.get("text").is_some()
                            && last.get("thought").is_none()
                            && part.get("thought").is_none()
                            && part.get("thoughtSignature").is_none()
                            && part["text"].as_str().is_some_and(|t| !t.is_empty()) =>
                    {
                        let joined = format!(
                            "{}{}",
                            last["text"].as_str().unwrap(),
                            part["text"].as_str().unwrap()
                        );
                        last["text"] = json!(joined);
                    }
                    _ => expected.push(part.clone()),
                }
            }
            assert_eq!(
                model_turn,
                json!({"role": "model", "parts": expected}),
                "{output}"
            );
        }
    }
}
