//! An OpenAI chat completion (whole, or its stream of chunks) as Gemini
//! answers, so the client translators (which start from Gemini) serve an
//! OpenAI-compatible upstream too. Tool calls stream in fragments on OpenAI
//! and whole on Gemini: fragments are collected until the call is complete.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::gemini::{Candidate, Content, GenerateContentResponse, Part, UsageMetadata};

/// Gemini's `finishReason` for OpenAI's `finish_reason`.
fn finish_reason(reason: &str) -> &'static str {
    match reason {
        "length" => "MAX_TOKENS",
        "content_filter" => "SAFETY",
        _ => "STOP",
    }
}

fn usage(usage: &Value) -> Option<UsageMetadata> {
    let number = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64);
    let prompt = number(usage, "prompt_tokens")?;
    let completion = number(usage, "completion_tokens").unwrap_or(0);
    let reasoning = usage
        .get("completion_tokens_details")
        .and_then(|d| number(d, "reasoning_tokens"))
        .unwrap_or(0);
    let cached = usage
        .get("prompt_tokens_details")
        .and_then(|d| number(d, "cached_tokens"));
    Some(UsageMetadata {
        prompt_token_count: Some(prompt),
        candidates_token_count: Some(completion.saturating_sub(reasoning)),
        total_token_count: Some(number(usage, "total_tokens").unwrap_or(prompt + completion)),
        thoughts_token_count: (reasoning > 0).then_some(reasoning),
        cached_content_token_count: cached.filter(|c| *c > 0),
    })
}

fn reasoning_of(message: &Value) -> Option<&str> {
    message
        .get("reasoning_content")
        .or_else(|| message.get("reasoning"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
}

fn thought(text: &str) -> Part {
    Part {
        text: Some(text.to_owned()),
        thought: Some(true),
        ..Part::default()
    }
}

fn function_call(id: Option<&str>, name: &str, arguments: &str) -> Part {
    let args: Value = if arguments.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(arguments).unwrap_or_else(|_| json!({"arguments": arguments}))
    };
    let mut call = json!({"name": name, "args": args});
    if let Some(id) = id.filter(|i| !i.is_empty()) {
        call["id"] = Value::String(id.to_owned());
    }
    Part {
        function_call: Some(call),
        ..Part::default()
    }
}

fn answer(parts: Vec<Part>, finish: Option<&str>) -> Candidate {
    Candidate {
        content: Some(Content::new("model", parts)),
        finish_reason: finish.map(|f| finish_reason(f).to_owned()),
        index: Some(0),
        ..Candidate::default()
    }
}

/// A whole chat completion.
pub fn gemini_from_openai(response: &Value) -> GenerateContentResponse {
    let candidates = response
        .get("choices")
        .and_then(Value::as_array)
        .map(|choices| {
            choices
                .iter()
                .map(|choice| {
                    let message = choice.get("message").unwrap_or(&Value::Null);
                    let mut parts = Vec::new();
                    if let Some(text) = reasoning_of(message) {
                        parts.push(thought(text));
                    }
                    if let Some(text) = message.get("content").and_then(Value::as_str)
                        && !text.is_empty()
                    {
                        parts.push(Part::text(text));
                    }
                    for call in message
                        .get("tool_calls")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let function = call.get("function").unwrap_or(&Value::Null);
                        parts.push(function_call(
                            call.get("id").and_then(Value::as_str),
                            function
                                .get("name")
                                .and_then(Value::as_str)
                                .unwrap_or_default(),
                            function
                                .get("arguments")
                                .and_then(Value::as_str)
                                .unwrap_or_default(),
                        ));
                    }
                    let mut candidate = answer(
                        parts,
                        Some(
                            choice
                                .get("finish_reason")
                                .and_then(Value::as_str)
                                .unwrap_or("stop"),
                        ),
                    );
                    candidate.index = choice
                        .get("index")
                        .and_then(Value::as_u64)
                        .map(|i| i as u32);
                    candidate
                })
                .collect()
        })
        .unwrap_or_default();
    GenerateContentResponse {
        candidates,
        usage_metadata: response.get("usage").and_then(usage),
        model_version: response
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_owned),
        response_id: response
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..GenerateContentResponse::default()
    }
}

/// A tool call being streamed: its id, name and the argument text so far.
#[derive(Default)]
struct OpenCall {
    id: Option<String>,
    name: String,
    arguments: String,
}

/// Turns chat completion chunks into Gemini chunks, one `push` per chunk
/// and `finish` at the end of the stream. The finishing chunk waits for the
/// usage (OpenAI sends it in a chunk of its own after `finish_reason`).
#[derive(Default)]
pub struct OpenAiStreamToGemini {
    calls: BTreeMap<u64, OpenCall>,
    finish: Option<String>,
    usage: Option<UsageMetadata>,
    model: Option<String>,
    id: Option<String>,
    done: bool,
}

impl OpenAiStreamToGemini {
    pub fn new() -> Self {
        Self::default()
    }

    fn chunk(&self, candidates: Vec<Candidate>) -> GenerateContentResponse {
        GenerateContentResponse {
            candidates,
            model_version: self.model.clone(),
            response_id: self.id.clone(),
            ..GenerateContentResponse::default()
        }
    }

    /// The Gemini chunks one OpenAI chunk makes (often one, sometimes none).
    pub fn push(&mut self, chunk: &Value) -> Vec<GenerateContentResponse> {
        if self.model.is_none() {
            self.model = chunk
                .get("model")
                .and_then(Value::as_str)
                .map(str::to_owned);
            self.id = chunk.get("id").and_then(Value::as_str).map(str::to_owned);
        }
        if let Some(found) = chunk.get("usage").filter(|u| !u.is_null()).and_then(usage) {
            self.usage = Some(found);
        }
        let mut out = Vec::new();
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return out;
        };
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        let mut parts = Vec::new();
        if let Some(text) = reasoning_of(delta) {
            parts.push(thought(text));
        }
        if let Some(text) = delta.get("content").and_then(Value::as_str)
            && !text.is_empty()
        {
            parts.push(Part::text(text));
        }
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
            let open = self.calls.entry(index).or_default();
            if let Some(id) = call.get("id").and_then(Value::as_str) {
                open.id = Some(id.to_owned());
            }
            let function = call.get("function").unwrap_or(&Value::Null);
            if let Some(name) = function.get("name").and_then(Value::as_str) {
                open.name.push_str(name);
            }
            if let Some(arguments) = function.get("arguments").and_then(Value::as_str) {
                open.arguments.push_str(arguments);
            }
        }
        if !parts.is_empty() {
            out.push(self.chunk(vec![answer(parts, None)]));
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(reason.to_owned());
        }
        out
    }

    /// The last chunk: collected tool calls, the finish reason and the usage.
    pub fn finish(&mut self) -> Option<GenerateContentResponse> {
        if self.done {
            return None;
        }
        self.done = true;
        let parts: Vec<Part> = std::mem::take(&mut self.calls)
            .into_values()
            .map(|c| function_call(c.id.as_deref(), &c.name, &c.arguments))
            .collect();
        let finish = self.finish.take().unwrap_or_else(|| "stop".to_owned());
        let mut chunk = self.chunk(vec![answer(parts, Some(&finish))]);
        chunk.usage_metadata = self.usage.take();
        Some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_answer_with_reasoning_and_a_tool_call() {
        let response = json!({
            "id": "chatcmpl-1", "model": "deepseek-reasoner",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Checking.", "reasoning_content": "Need weather.",
                "tool_calls": [{"id": "call_a", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]
            }}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17,
                      "completion_tokens_details": {"reasoning_tokens": 3}}
        });
        let gemini = gemini_from_openai(&response);
        let value = serde_json::to_value(&gemini).unwrap();
        assert_eq!(
            value["candidates"][0]["content"]["parts"],
            json!([
                {"text": "Need weather.", "thought": true},
                {"text": "Checking."},
                {"functionCall": {"name": "weather", "args": {"city": "Paris"}, "id": "call_a"}}
            ])
        );
        assert_eq!(value["candidates"][0]["finishReason"], "STOP");
        assert_eq!(value["usageMetadata"]["candidatesTokenCount"], 4);
        assert_eq!(value["usageMetadata"]["thoughtsTokenCount"], 3);
    }

    #[test]
    fn streamed_tool_arguments_are_collected_into_one_call() {
        let mut stream = OpenAiStreamToGemini::new();
        let chunks = [
            json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "weather", "arguments": "{\"ci"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "ty\":\"Oslo\"}"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
            json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}),
        ];
        let mut out: Vec<GenerateContentResponse> =
            chunks.iter().flat_map(|c| stream.push(c)).collect();
        out.extend(stream.finish());
        assert!(stream.finish().is_none());
        assert_eq!(out.len(), 2);
        let last = serde_json::to_value(&out[1]).unwrap();
        assert_eq!(
            last["candidates"][0]["content"]["parts"][0]["functionCall"],
            json!({"name": "weather", "args": {"city": "Oslo"}, "id": "call_1"})
        );
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["usageMetadata"]["promptTokenCount"], 5);
    }

    #[test]
    fn a_streamed_answer_collects_to_the_whole_one() {
        use crate::protocol::keyed_common::{collect, whole_view};
        let whole = json!({
            "id": "c", "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "reasoning_content": "Think.", "content": "Hello there.",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{\"x\":1}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "b", "arguments": "{}"}}
                ]
            }}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}
        });
        let chunks = [
            json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"reasoning_content": "Thi"}}]}),
            json!({"choices": [{"index": 0, "delta": {"reasoning_content": "nk."}}]}),
            json!({"choices": [{"index": 0, "delta": {"content": "Hello "}}]}),
            json!({"choices": [{"index": 0, "delta": {"content": "there."}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "a", "arguments": "{\"x\""}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "b", "arguments": "{}"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
            json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}}),
        ];
        let mut stream = OpenAiStreamToGemini::new();
        let mut out: Vec<GenerateContentResponse> =
            chunks.iter().flat_map(|c| stream.push(c)).collect();
        out.extend(stream.finish());
        assert_eq!(collect(&out), whole_view(&gemini_from_openai(&whole)));
    }
}
