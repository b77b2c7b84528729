//! Gemini answer → legacy Completions response, whole or as `text_completion`
//! chunks ending with `[DONE]`.

use super::completions::{Completion, CompletionChoice};
use super::gemini::{Candidate, GenerateContentResponse, UsageMetadata};
use super::openai_from_gemini::{finish_reason_from_gemini, usage_from_gemini};
use super::{SseFrame, StreamEncoder, StreamFailure, to_json};

/// The answer text of a candidate (thinking left out).
fn answer_text(candidate: &Candidate) -> String {
    candidate
        .content
        .iter()
        .flat_map(|c| &c.parts)
        .filter(|p| !p.is_thought())
        .filter_map(|p| p.text.as_deref())
        .collect()
}

pub fn completion_from_gemini(
    response: &GenerateContentResponse,
    id: &str,
    created: i64,
    model: &str,
) -> serde_json::Value {
    let choices = response
        .candidates
        .iter()
        .enumerate()
        .map(|(position, candidate)| CompletionChoice {
            index: candidate.index.unwrap_or(position as u32),
            text: answer_text(candidate),
            logprobs: None,
            finish_reason: Some(finish_reason_from_gemini(
                candidate.finish_reason.as_deref().unwrap_or("STOP"),
            )),
        })
        .collect();
    serde_json::to_value(Completion {
        id,
        object: "text_completion",
        created,
        model,
        choices,
        usage: Some(
            response
                .usage_metadata
                .as_ref()
                .map(usage_from_gemini)
                .unwrap_or_default(),
        ),
    })
    .unwrap_or_default()
}

pub struct CompletionChunkEncoder {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
    finished: bool,
    usage: Option<UsageMetadata>,
}

impl CompletionChunkEncoder {
    pub fn new(id: String, created: i64, model: String, include_usage: bool) -> Self {
        Self {
            id,
            created,
            model,
            include_usage,
            finished: false,
            usage: None,
        }
    }

    fn frame(&self, choices: Vec<CompletionChoice>, with_usage: bool) -> SseFrame {
        SseFrame::json(&Completion {
            id: &self.id,
            object: "text_completion",
            created: self.created,
            model: &self.model,
            choices,
            usage: with_usage.then(|| {
                self.usage
                    .as_ref()
                    .map(usage_from_gemini)
                    .unwrap_or_default()
            }),
        })
    }
}

impl StreamEncoder for CompletionChunkEncoder {
    fn on_chunk(&mut self, chunk: GenerateContentResponse, out: &mut Vec<SseFrame>) {
        if let Some(usage) = chunk.usage_metadata {
            self.usage = Some(usage);
        }
        for (position, candidate) in chunk.candidates.iter().enumerate() {
            let text = answer_text(candidate);
            let finish = candidate
                .finish_reason
                .as_deref()
                .map(finish_reason_from_gemini);
            self.finished |= finish.is_some();
            if text.is_empty() && finish.is_none() {
                continue;
            }
            let choice = CompletionChoice {
                index: candidate.index.unwrap_or(position as u32),
                text,
                logprobs: None,
                finish_reason: finish,
            };
            out.push(self.frame(vec![choice], false));
        }
    }

    fn on_end(&mut self, out: &mut Vec<SseFrame>) {
        if !self.finished {
            self.on_failure(&StreamFailure::incomplete(), out);
            return;
        }
        if self.include_usage {
            out.push(self.frame(Vec::new(), true));
        }
        out.push(SseFrame::data("[DONE]"));
    }

    fn on_failure(&mut self, failure: &StreamFailure, out: &mut Vec<SseFrame>) {
        let body = serde_json::json!({
            "error": { "message": failure.message, "type": "upstream_error", "code": failure.kind, "param": null }
        });
        out.push(SseFrame::data(to_json(&body)));
        out.push(SseFrame::data("[DONE]"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn stream_collects_to_the_whole_answer() {
        let chunks: Vec<GenerateContentResponse> = [
            json!({"candidates": [{"content": {"parts": [{"text": "Once"}]}}]}),
            json!({"candidates": [{"content": {"parts": [{"text": " upon"}]}, "finishReason": "MAX_TOKENS"}],
                   "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 2, "totalTokenCount": 4}}),
        ]
        .into_iter()
        .map(|c| serde_json::from_value(c).unwrap())
        .collect();
        let mut encoder = CompletionChunkEncoder::new("cmpl-1".into(), 3, "m".into(), true);
        let mut frames = Vec::new();
        for chunk in chunks {
            encoder.on_chunk(chunk, &mut frames);
        }
        encoder.on_end(&mut frames);
        assert_eq!(frames.last().unwrap().data, "[DONE]");
        let parsed: Vec<Value> = frames[..frames.len() - 1]
            .iter()
            .map(|f| serde_json::from_str(&f.data).unwrap())
            .collect();
        let text: String = parsed
            .iter()
            .filter_map(|c| c["choices"][0]["text"].as_str())
            .collect();
        assert_eq!(text, "Once upon");
        assert_eq!(parsed[1]["choices"][0]["finish_reason"], "length");
        assert_eq!(parsed[2]["usage"]["total_tokens"], 4);

        let whole: GenerateContentResponse = serde_json::from_value(json!({"candidates": [{"content": {"parts": [
            {"text": "Once"}, {"text": " upon"}]}, "finishReason": "MAX_TOKENS"}],
            "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 2, "totalTokenCount": 4}})).unwrap();
        let response = completion_from_gemini(&whole, "cmpl-1", 3, "m");
        assert_eq!(response["object"], "text_completion");
        assert_eq!(response["choices"][0]["text"], json!(text));
        assert_eq!(response["choices"][0]["finish_reason"], "length");
        assert_eq!(response["usage"], parsed[2]["usage"]);
    }
}
