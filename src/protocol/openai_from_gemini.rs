//! Gemini `generateContent` response → OpenAI chat completion, and a Gemini
//! stream → OpenAI `chat.completion.chunk` events ending with `[DONE]`.

use super::gemini::{Candidate, GenerateContentResponse, UsageMetadata};
use super::openai::{
    AssistantMessage, ChatChoice, ChatCompletion, ChatCompletionChunk, ChunkChoice,
    CompletionTokensDetails, Delta, FunctionCallOut, PromptTokensDetails, ToolCallOut, Usage,
};
use super::signature::tool_call_id_with_signature;
use super::{SseFrame, StreamEncoder, StreamFailure, to_json};

/// OpenAI's `finish_reason` for Gemini's `finishReason`.
pub fn finish_reason_from_gemini(reason: &str) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            "content_filter"
        }
        _ => "stop",
    }
}

pub fn usage_from_gemini(usage: &UsageMetadata) -> Usage {
    let prompt = usage.prompt_token_count.unwrap_or(0);
    let reasoning = usage.thoughts_token_count.unwrap_or(0);
    let completion = usage.candidates_token_count.unwrap_or(0) + reasoning;
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: usage.total_token_count.unwrap_or(prompt + completion),
        prompt_tokens_details: PromptTokensDetails {
            cached_tokens: usage.cached_content_token_count.unwrap_or(0),
        },
        completion_tokens_details: CompletionTokensDetails {
            reasoning_tokens: reasoning,
        },
    }
}

/// What one candidate (or one chunk of it) says: answer text, thinking text,
/// and tool calls, each in order.
#[derive(Default)]
struct Said {
    answer: String,
    thinking: String,
    tool_calls: Vec<ToolCallOut>,
}

fn said(candidate: &Candidate) -> Said {
    let mut said = Said::default();
    for part in candidate.content.iter().flat_map(|c| &c.parts) {
        if let Some(call) = &part.function_call {
            said.tool_calls.push(tool_call_from_gemini(
                call,
                part.thought_signature.as_deref(),
            ));
        } else if let Some(text) = &part.text {
            if part.is_thought() {
                said.thinking.push_str(text);
            } else {
                said.answer.push_str(text);
            }
        }
    }
    said
}

/// A Gemini `functionCall` as an OpenAI tool call; its thought signature rides
/// in the id so it comes back with the tool result.
fn tool_call_from_gemini(call: &serde_json::Value, signature: Option<&str>) -> ToolCallOut {
    let call_id = call
        .get("id")
        .and_then(|id| id.as_str())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("call_{}", random_suffix()));
    let arguments = call
        .get("args")
        .map(to_json)
        .unwrap_or_else(|| "{}".to_owned());
    ToolCallOut {
        index: None,
        id: tool_call_id_with_signature(&call_id, signature),
        kind: "function",
        function: FunctionCallOut {
            name: call
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_owned(),
            arguments,
        },
    }
}

fn random_suffix() -> String {
    use rand::Rng;
    let bytes: [u8; 8] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A whole chat completion. `model` is the name the client asked for.
pub fn openai_response_from_gemini(
    response: &GenerateContentResponse,
    id: String,
    created: i64,
    model: &str,
) -> ChatCompletion {
    let mut choices: Vec<ChatChoice> = response
        .candidates
        .iter()
        .enumerate()
        .map(|(position, candidate)| {
            let said = said(candidate);
            let finish_reason = if said.tool_calls.is_empty() {
                finish_reason_from_gemini(candidate.finish_reason.as_deref().unwrap_or("STOP"))
            } else {
                "tool_calls"
            };
            ChatChoice {
                index: candidate.index.unwrap_or(position as u32),
                message: AssistantMessage {
                    role: "assistant",
                    content: (!said.answer.is_empty() || said.tool_calls.is_empty())
                        .then_some(said.answer),
                    reasoning_content: (!said.thinking.is_empty()).then_some(said.thinking),
                    refusal: None,
                    tool_calls: (!said.tool_calls.is_empty()).then_some(said.tool_calls),
                },
                finish_reason: Some(finish_reason),
                logprobs: None,
            }
        })
        .collect();
    if choices.is_empty() {
        // No candidate at all: the prompt itself was blocked.
        let reason = response
            .prompt_feedback
            .as_ref()
            .and_then(|f| f.get("blockReason"))
            .and_then(|r| r.as_str())
            .unwrap_or("no answer");
        choices.push(ChatChoice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content: None,
                reasoning_content: None,
                refusal: Some(format!("The upstream model returned no answer ({reason}).")),
                tool_calls: None,
            },
            finish_reason: Some("content_filter"),
            logprobs: None,
        });
    }
    ChatCompletion {
        id,
        object: "chat.completion",
        created,
        model: model.to_owned(),
        choices,
        usage: response
            .usage_metadata
            .as_ref()
            .map(usage_from_gemini)
            .unwrap_or_default(),
    }
}

/// Turns a Gemini stream into chat completion chunks.
pub struct OpenAiChunkEncoder {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
    /// Per candidate index: whether the role chunk went out, whether it finished.
    started: Vec<bool>,
    finished: Vec<bool>,
    /// Per candidate index: tool calls sent so far (their `index`).
    tool_calls: Vec<u32>,
    usage: Option<UsageMetadata>,
}

impl OpenAiChunkEncoder {
    pub fn new(id: String, created: i64, model: String, include_usage: bool) -> Self {
        Self {
            id,
            created,
            model,
            include_usage,
            started: Vec::new(),
            finished: Vec::new(),
            tool_calls: Vec::new(),
            usage: None,
        }
    }

    fn frame(&self, choices: Vec<ChunkChoice>, usage: Option<Usage>) -> SseFrame {
        SseFrame::json(&ChatCompletionChunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices,
            usage,
        })
    }

    fn choice(index: u32, delta: Delta, finish_reason: Option<&'static str>) -> ChunkChoice {
        ChunkChoice {
            index,
            delta,
            finish_reason,
            logprobs: None,
        }
    }

    fn mark(flags: &mut Vec<bool>, index: usize) -> bool {
        if flags.len() <= index {
            flags.resize(index + 1, false);
        }
        std::mem::replace(&mut flags[index], true)
    }
}

impl StreamEncoder for OpenAiChunkEncoder {
    fn on_chunk(&mut self, chunk: GenerateContentResponse, out: &mut Vec<SseFrame>) {
        if let Some(usage) = chunk.usage_metadata {
            self.usage = Some(usage);
        }
        for (position, candidate) in chunk.candidates.iter().enumerate() {
            let index = candidate.index.unwrap_or(position as u32);
            let slot = index as usize;
            if !Self::mark(&mut self.started, slot) {
                let delta = Delta {
                    role: Some("assistant"),
                    content: Some(String::new()),
                    ..Delta::default()
                };
                out.push(self.frame(vec![Self::choice(index, delta, None)], None));
            }
            let Said {
                answer,
                thinking,
                tool_calls,
            } = said(candidate);
            if !thinking.is_empty() {
                let delta = Delta {
                    reasoning_content: Some(thinking),
                    ..Delta::default()
                };
                out.push(self.frame(vec![Self::choice(index, delta, None)], None));
            }
            if !answer.is_empty() {
                let delta = Delta {
                    content: Some(answer),
                    ..Delta::default()
                };
                out.push(self.frame(vec![Self::choice(index, delta, None)], None));
            }
            if !tool_calls.is_empty() {
                if self.tool_calls.len() <= slot {
                    self.tool_calls.resize(slot + 1, 0);
                }
                let numbered: Vec<ToolCallOut> = tool_calls
                    .into_iter()
                    .map(|mut call| {
                        call.index = Some(self.tool_calls[slot]);
                        self.tool_calls[slot] += 1;
                        call
                    })
                    .collect();
                let delta = Delta {
                    tool_calls: Some(numbered),
                    ..Delta::default()
                };
                out.push(self.frame(vec![Self::choice(index, delta, None)], None));
            }
            if let Some(reason) = &candidate.finish_reason
                && !Self::mark(&mut self.finished, slot)
            {
                let called_tools = self.tool_calls.get(slot).is_some_and(|n| *n > 0);
                let finish = if called_tools {
                    "tool_calls"
                } else {
                    finish_reason_from_gemini(reason)
                };
                out.push(self.frame(
                    vec![Self::choice(index, Delta::default(), Some(finish))],
                    None,
                ));
            }
        }
    }

    fn on_end(&mut self, out: &mut Vec<SseFrame>) {
        let all_finished = !self.started.is_empty()
            && self
                .started
                .iter()
                .enumerate()
                .all(|(i, started)| !started || self.finished.get(i).copied().unwrap_or(false));
        if !all_finished {
            // A clean end without a finish reason means the answer was cut off
            // upstream: say so rather than pass it off as complete.
            self.on_failure(&StreamFailure::incomplete(), out);
            return;
        }
        if self.include_usage {
            let usage = self
                .usage
                .as_ref()
                .map(usage_from_gemini)
                .unwrap_or_default();
            out.push(self.frame(Vec::new(), Some(usage)));
        }
        out.push(SseFrame::data("[DONE]"));
    }

    fn on_failure(&mut self, failure: &StreamFailure, out: &mut Vec<SseFrame>) {
        let body = serde_json::json!({
            "error": {
                "message": failure.message,
                "type": "upstream_error",
                "code": failure.kind,
                "param": null,
            }
        });
        out.push(SseFrame::data(to_json(&body)));
        out.push(SseFrame::data("[DONE]"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn chunk(value: Value) -> GenerateContentResponse {
        serde_json::from_value(value).unwrap()
    }

    fn run(chunks: Vec<Value>, include_usage: bool) -> Vec<Value> {
        let mut encoder =
            OpenAiChunkEncoder::new("chatcmpl-1".into(), 5, "gpt-test".into(), include_usage);
        let mut frames = Vec::new();
        for c in chunks {
            encoder.on_chunk(chunk(c), &mut frames);
        }
        encoder.on_end(&mut frames);
        frames
            .iter()
            .map(|f| {
                if f.data == "[DONE]" {
                    Value::String("[DONE]".into())
                } else {
                    serde_json::from_str(&f.data).unwrap()
                }
            })
            .collect()
    }

    fn stream_fixture() -> Vec<Value> {
        vec![
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Let me think", "thought": true}]}}]}),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hello"}]}}]}),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": ", world"}]}, "finishReason": "STOP"}],
                   "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 3, "thoughtsTokenCount": 2, "totalTokenCount": 12, "cachedContentTokenCount": 4}}),
        ]
    }

    #[test]
    fn stream_golden() {
        let frames = run(stream_fixture(), true);
        let base = |choices: Value| json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 5, "model": "gpt-test", "choices": choices});
        let expected = vec![
            base(
                json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null, "logprobs": null}]),
            ),
            base(
                json!([{"index": 0, "delta": {"reasoning_content": "Let me think"}, "finish_reason": null, "logprobs": null}]),
            ),
            base(
                json!([{"index": 0, "delta": {"content": "Hello"}, "finish_reason": null, "logprobs": null}]),
            ),
            base(
                json!([{"index": 0, "delta": {"content": ", world"}, "finish_reason": null, "logprobs": null}]),
            ),
            base(json!([{"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": null}])),
            {
                let mut usage = base(json!([]));
                usage["usage"] = json!({"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12,
                    "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 2}});
                usage
            },
            json!("[DONE]"),
        ];
        assert_eq!(frames, expected);
    }

    #[test]
    fn collected_stream_equals_the_whole_response() {
        let frames = run(stream_fixture(), true);
        let mut content = String::new();
        let mut reasoning = String::new();
        let mut finish = None;
        let mut usage = None;
        for f in &frames {
            if let Some(choice) = f.get("choices").and_then(|c| c.get(0)) {
                content.push_str(choice["delta"]["content"].as_str().unwrap_or(""));
                reasoning.push_str(choice["delta"]["reasoning_content"].as_str().unwrap_or(""));
                if !choice["finish_reason"].is_null() {
                    finish = Some(choice["finish_reason"].clone());
                }
            }
            if let Some(u) = f.get("usage") {
                usage = Some(u.clone());
            }
        }
        // The same upstream answer, not streamed: every part in one candidate.
        let whole = chunk(
            json!({"candidates": [{"content": {"role": "model", "parts": [
                {"text": "Let me think", "thought": true}, {"text": "Hello"}, {"text": ", world"}]},
                "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 3, "thoughtsTokenCount": 2, "totalTokenCount": 12, "cachedContentTokenCount": 4}}),
        );
        let response = serde_json::to_value(openai_response_from_gemini(
            &whole,
            "x".into(),
            5,
            "gpt-test",
        ))
        .unwrap();
        let message = &response["choices"][0]["message"];
        assert_eq!(message["content"], json!(content));
        assert_eq!(message["reasoning_content"], json!(reasoning));
        assert_eq!(
            Some(response["choices"][0]["finish_reason"].clone()),
            finish
        );
        assert_eq!(Some(response["usage"].clone()), usage);
    }

    #[test]
    fn usage_chunk_only_when_asked() {
        let frames = run(stream_fixture(), false);
        assert!(frames.iter().all(|f| f.get("usage").is_none()));
        assert_eq!(frames.last(), Some(&json!("[DONE]")));
    }

    #[test]
    fn a_stream_cut_short_ends_with_an_error_then_done() {
        let frames = run(
            vec![json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]})],
            true,
        );
        let error = &frames[frames.len() - 2];
        assert_eq!(error["error"]["code"], json!("incomplete_stream"));
        assert_eq!(frames.last(), Some(&json!("[DONE]")));
    }

    #[test]
    fn finish_reasons_map() {
        assert_eq!(finish_reason_from_gemini("STOP"), "stop");
        assert_eq!(finish_reason_from_gemini("MAX_TOKENS"), "length");
        assert_eq!(finish_reason_from_gemini("SAFETY"), "content_filter");
        assert_eq!(finish_reason_from_gemini("OTHER"), "stop");
    }

    #[test]
    fn blocked_prompt_becomes_a_refusal() {
        let response = chunk(json!({"promptFeedback": {"blockReason": "SAFETY"}}));
        let out = openai_response_from_gemini(&response, "x".into(), 1, "m");
        assert_eq!(out.choices[0].finish_reason, Some("content_filter"));
        assert!(
            out.choices[0]
                .message
                .refusal
                .as_deref()
                .unwrap()
                .contains("SAFETY")
        );
    }

    #[test]
    fn parallel_tool_calls_with_signatures_stream_and_collect_alike() {
        let chunks = vec![
            json!({"candidates": [{"content": {"role": "model", "parts": [
                {"functionCall": {"id": "call_a", "name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "sig-1"}]}}]}),
            json!({"candidates": [{"content": {"role": "model", "parts": [
                {"functionCall": {"id": "call_b", "name": "weather", "args": {"city": "Bergen"}}}]}, "finishReason": "STOP"}]}),
        ];
        let frames = run(chunks, false);
        let calls: Vec<&Value> = frames
            .iter()
            .filter_map(|f| f.get("choices").and_then(|c| c.get(0)))
            .filter_map(|c| c["delta"].get("tool_calls"))
            .flat_map(|calls| calls.as_array().unwrap())
            .collect();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0]["index"], 0);
        assert_eq!(calls[1]["index"], 1);
        let first_id = calls[0]["id"].as_str().unwrap();
        assert_eq!(
            crate::protocol::signature::split_tool_call_id(first_id),
            ("call_a", Some("sig-1".to_owned()))
        );
        assert_eq!(calls[1]["id"], "call_b");
        assert_eq!(calls[0]["function"]["arguments"], "{\"city\":\"Oslo\"}");
        let finish: Vec<&Value> = frames
            .iter()
            .filter_map(|f| f.get("choices").and_then(|c| c.get(0)))
            .map(|c| &c["finish_reason"])
            .filter(|f| !f.is_null())
            .collect();
        assert_eq!(finish, vec![&json!("tool_calls")]);

        let whole = chunk(
            json!({"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"id": "call_a", "name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "sig-1"},
            {"functionCall": {"id": "call_b", "name": "weather", "args": {"city": "Bergen"}}}]}, "finishReason": "STOP"}]}),
        );
        let response =
            serde_json::to_value(openai_response_from_gemini(&whole, "x".into(), 5, "m")).unwrap();
        let message = &response["choices"][0]["message"];
        assert_eq!(message["content"], Value::Null);
        assert_eq!(message["tool_calls"][0]["id"], calls[0]["id"]);
        assert_eq!(message["tool_calls"][1]["function"], calls[1]["function"]);
        assert_eq!(response["choices"][0]["finish_reason"], "tool_calls");
    }
}
