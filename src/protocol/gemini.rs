//! Gemini's `generateContent` wire types (as used by Vertex, AI Studio and, wrapped,
//! by Code Assist). Field names are camelCase on the wire; like Google's own
//! endpoints, the snake_case spelling is accepted too (google-genai sends
//! `mime_type`, `include_thoughts`, …). Fields we do not interpret are kept as
//! raw JSON so they pass through untouched.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest {
    #[serde(default)]
    pub contents: Vec<Content>,
    #[serde(
        alias = "system_instruction",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub system_instruction: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    #[serde(
        alias = "tool_config",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tool_config: Option<Value>,
    #[serde(
        alias = "generation_config",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub generation_config: Option<GenerationConfig>,
    #[serde(
        alias = "safety_settings",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub safety_settings: Option<Value>,
    #[serde(
        alias = "cached_content",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cached_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Value>,
    /// Code Assist only: the conversation this request belongs to.
    #[serde(
        rename = "session_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub session_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Content {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default)]
    pub parts: Vec<Part>,
}

impl Content {
    pub fn new(role: &str, parts: Vec<Part>) -> Self {
        Self {
            role: Some(role.to_owned()),
            parts,
        }
    }
}

/// Appends a turn to a conversation. Gemini wants turns to alternate, so
/// parts of the same role as the last turn join it; an empty turn is dropped.
pub fn push_turn(contents: &mut Vec<Content>, role: &str, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match contents.last_mut() {
        Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
        _ => contents.push(Content::new(role, parts)),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    #[serde(
        alias = "thought_signature",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub thought_signature: Option<String>,
    #[serde(
        alias = "inline_data",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub inline_data: Option<Blob>,
    #[serde(alias = "file_data", default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<Value>,
    #[serde(
        alias = "function_call",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub function_call: Option<Value>,
    #[serde(
        alias = "function_response",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub function_response: Option<Value>,
    #[serde(
        alias = "executable_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub executable_code: Option<Value>,
    #[serde(
        alias = "code_execution_result",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub code_execution_result: Option<Value>,
    #[serde(
        alias = "video_metadata",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub video_metadata: Option<Value>,
}

impl Part {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// Thinking text (a "thought summary"), not part of the answer.
    pub fn is_thought(&self) -> bool {
        self.thought == Some(true)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blob {
    #[serde(alias = "mime_type")]
    pub mime_type: String,
    /// Base64.
    pub data: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(alias = "top_p", default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(alias = "top_k", default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<f64>,
    #[serde(
        alias = "candidate_count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub candidate_count: Option<u32>,
    #[serde(
        alias = "max_output_tokens",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_output_tokens: Option<u32>,
    #[serde(
        alias = "stop_sequences",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(
        alias = "presence_penalty",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub presence_penalty: Option<f64>,
    #[serde(
        alias = "frequency_penalty",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(
        alias = "response_mime_type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_mime_type: Option<String>,
    #[serde(
        alias = "response_schema",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_schema: Option<Value>,
    #[serde(
        alias = "response_json_schema",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_json_schema: Option<Value>,
    #[serde(
        alias = "response_modalities",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_modalities: Option<Value>,
    #[serde(
        alias = "thinking_config",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub thinking_config: Option<ThinkingConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    #[serde(
        alias = "include_thoughts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub include_thoughts: Option<bool>,
    #[serde(
        alias = "thinking_budget",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub thinking_budget: Option<i64>,
    #[serde(
        alias = "thinking_level",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub thinking_level: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    #[serde(
        alias = "prompt_feedback",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_feedback: Option<Value>,
    #[serde(
        alias = "usage_metadata",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(
        alias = "model_version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub model_version: Option<String>,
    #[serde(
        alias = "response_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    #[serde(
        alias = "finish_reason",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub finish_reason: Option<String>,
    #[serde(
        alias = "finish_message",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub finish_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    #[serde(
        alias = "safety_ratings",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub safety_ratings: Option<Value>,
    #[serde(
        alias = "citation_metadata",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub citation_metadata: Option<Value>,
    #[serde(
        alias = "grounding_metadata",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub grounding_metadata: Option<Value>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(
        alias = "prompt_token_count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_token_count: Option<u64>,
    #[serde(
        alias = "candidates_token_count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub candidates_token_count: Option<u64>,
    #[serde(
        alias = "total_token_count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub total_token_count: Option<u64>,
    #[serde(
        alias = "thoughts_token_count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub thoughts_token_count: Option<u64>,
    #[serde(
        alias = "cached_content_token_count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cached_content_token_count: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn snake_case_spellings_are_read_like_google_reads_them() {
        let request: GenerateContentRequest = serde_json::from_value(json!({
            "contents": [{"role": "user", "parts": [
                {"inline_data": {"mime_type": "image/png", "data": "iVBO"}},
                {"function_call": {"name": "f"}, "thought_signature": "sig"}]}],
            "system_instruction": {"parts": [{"text": "s"}]},
            "generation_config": {"max_output_tokens": 5, "thinking_config": {"include_thoughts": true, "thinking_budget": 1024}}
        }))
        .unwrap();
        let sent = serde_json::to_value(&request).unwrap();
        assert_eq!(
            sent["contents"][0]["parts"][0]["inlineData"]["mimeType"],
            "image/png"
        );
        assert_eq!(sent["contents"][0]["parts"][1]["thoughtSignature"], "sig");
        assert_eq!(sent["systemInstruction"]["parts"][0]["text"], "s");
        assert_eq!(
            sent["generationConfig"],
            json!({"maxOutputTokens": 5, "thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}})
        );
    }
}
