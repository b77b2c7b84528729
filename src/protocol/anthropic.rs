//! Anthropic Messages wire types: the `POST /v1/messages` and
//! `POST /v1/messages/count_tokens` requests as clients send them, and the
//! message and stream events we send back. Unknown request fields
//! (`cache_control`, `context_management`, `output_config`, beta fields) are
//! ignored.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
pub struct MessagesRequest {
    pub model: String,
    #[serde(default)]
    pub messages: Vec<InputMessage>,
    #[serde(default)]
    pub system: Option<TextOrBlocks>,
    pub max_tokens: u32,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub top_k: Option<u32>,
    #[serde(default)]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    pub tools: Option<Vec<Tool>>,
    #[serde(default)]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default)]
    pub thinking: Option<ThinkingParam>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

/// `POST /v1/messages/count_tokens`: the conversation of a messages request,
/// without `max_tokens` or sampling.
#[derive(Debug, Clone, Deserialize)]
pub struct CountTokensRequest {
    pub model: String,
    #[serde(default)]
    pub messages: Vec<InputMessage>,
    #[serde(default)]
    pub system: Option<TextOrBlocks>,
    #[serde(default)]
    pub tools: Option<Vec<Tool>>,
    #[serde(default)]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default)]
    pub thinking: Option<ThinkingParam>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CountTokensResponse {
    pub input_tokens: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Metadata {
    /// Claude Code puts a JSON string with device and session ids here.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// One entry of `messages`: `user`, `assistant`, or (Claude Code's
/// mid-conversation system beta) `system`.
#[derive(Debug, Clone, Deserialize)]
pub struct InputMessage {
    pub role: String,
    pub content: TextOrBlocks,
}

/// A `content` (or `system`, or tool result `content`) that is either a plain
/// string or a list of blocks.
#[derive(Debug, Clone)]
pub enum TextOrBlocks {
    Text(String),
    Blocks(Vec<InputBlock>),
}

impl<'de> Deserialize<'de> for TextOrBlocks {
    /// By hand rather than `untagged`, so that a bad block reports its own
    /// error (with line and column) instead of "did not match any variant".
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextOrList;

        impl<'de> Visitor<'de> for TextOrList {
            type Value = TextOrBlocks;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of content blocks")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(TextOrBlocks::Text(text.to_owned()))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(TextOrBlocks::Text(text))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(block) = seq.next_element()? {
                    blocks.push(block);
                }
                Ok(TextOrBlocks::Blocks(blocks))
            }
        }

        deserializer.deserialize_any(TextOrList)
    }
}

/// A content block in a request. Types we have no use for (server tool
/// results and the like) become `Unknown` and are dropped.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputBlock {
    Text {
        text: String,
    },
    Image {
        source: MediaSource,
    },
    Document {
        source: MediaSource,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(default)]
        content: Option<TextOrBlocks>,
        #[serde(default)]
        is_error: Option<bool>,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: Option<String>,
    },
    RedactedThinking {
        #[serde(default)]
        data: String,
    },
    SearchResult,
    #[serde(other)]
    Unknown,
}

impl InputBlock {
    /// The block's `type` on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Image { .. } => "image",
            Self::Document { .. } => "document",
            Self::ToolUse { .. } => "tool_use",
            Self::ToolResult { .. } => "tool_result",
            Self::Thinking { .. } => "thinking",
            Self::RedactedThinking { .. } => "redacted_thinking",
            Self::SearchResult => "search_result",
            Self::Unknown => "unknown",
        }
    }
}

/// The `source` of an image or document block.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MediaSource {
    Base64 {
        media_type: String,
        data: String,
    },
    Url {
        url: String,
    },
    /// Plain-text documents.
    Text {
        data: String,
    },
    /// `file` (Files API), `content` and anything newer.
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tool {
    /// Absent or `custom` for client tools; Anthropic's own tools carry a
    /// versioned type such as `web_search_20250305`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub input_schema: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolChoice {
    Auto,
    Any,
    Tool { name: String },
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThinkingParam {
    Enabled {
        #[serde(default, alias = "budgetTokens")]
        budget_tokens: Option<u32>,
    },
    Adaptive,
    Disabled,
    /// A newer mode we do not know: treated as no thinking setting rather
    /// than refusing the request.
    #[serde(other)]
    Unknown,
}

/// A whole (non-streamed) answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: String,
    pub content: Vec<ContentBlock>,
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<String>,
    pub usage: Usage,
}

/// A content block in an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
}

/// One server-sent event of a streamed answer; `type` doubles as the SSE
/// `event:` name.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent<'a> {
    MessageStart {
        message: Message,
    },
    ContentBlockStart {
        index: usize,
        content_block: BlockStart<'a>,
    },
    ContentBlockDelta {
        index: usize,
        delta: BlockDelta<'a>,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: MessageDelta,
        usage: Usage,
    },
    MessageStop,
    Error {
        error: ErrorBody,
    },
}

impl StreamEvent<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::MessageStart { .. } => "message_start",
            Self::ContentBlockStart { .. } => "content_block_start",
            Self::ContentBlockDelta { .. } => "content_block_delta",
            Self::ContentBlockStop { .. } => "content_block_stop",
            Self::MessageDelta { .. } => "message_delta",
            Self::MessageStop => "message_stop",
            Self::Error { .. } => "error",
        }
    }
}

/// The empty block a `content_block_start` opens.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockStart<'a> {
    Text {
        text: &'a str,
    },
    Thinking {
        thinking: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Value,
    },
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockDelta<'a> {
    TextDelta { text: &'a str },
    ThinkingDelta { thinking: &'a str },
    SignatureDelta { signature: &'a str },
    InputJsonDelta { partial_json: &'a str },
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageDelta {
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<String>,
}

/// Anthropic's error body: `{"type":"error","error":{"type","message"}}`
/// (the outer `type` comes from [`StreamEvent::Error`]).
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claude_code_shaped_request_parses() {
        let request: MessagesRequest = serde_json::from_value(json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 32000,
            "stream": true,
            "system": [
                {"type": "text", "text": "x-anthropic-billing-header: cc_version=2"},
                {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}
            ],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "<system-reminder>…</system-reminder>"},
                    {"type": "text", "text": "Say hi", "cache_control": {"type": "ephemeral"}}
                ]},
                {"role": "system", "content": "mid-conversation system text"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "opaque"},
                    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
                    {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok", "is_error": false,
                     "cache_control": {"type": "ephemeral"}},
                    {"type": "search_result", "source": "s", "title": "t", "content": []}
                ]}
            ],
            "tools": [{"name": "Bash", "description": "Run", "input_schema": {"type": "object"}, "defer_loading": true}],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
            "thinking": {"type": "enabled", "budget_tokens": 31999, "display": "omitted"},
            "metadata": {"user_id": "{\"device_id\":\"d\"}"},
            "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
            "output_config": {"effort": "medium"}
        }))
        .unwrap();
        assert_eq!(request.max_tokens, 32000);
        assert!(matches!(&request.system, Some(TextOrBlocks::Blocks(b)) if b.len() == 2));
        assert_eq!(request.messages[1].role, "system");
        let TextOrBlocks::Blocks(assistant) = &request.messages[2].content else {
            panic!("assistant content should be blocks");
        };
        let kinds: Vec<&str> = assistant.iter().map(InputBlock::kind).collect();
        assert_eq!(
            kinds,
            ["thinking", "redacted_thinking", "unknown", "tool_use"]
        );
        let TextOrBlocks::Blocks(user) = &request.messages[3].content else {
            panic!("user content should be blocks");
        };
        assert_eq!(user[1].kind(), "search_result");
        assert_eq!(request.tool_choice, Some(ToolChoice::Auto));
        assert_eq!(
            request.thinking,
            Some(ThinkingParam::Enabled {
                budget_tokens: Some(31999)
            })
        );
        let adaptive: ThinkingParam =
            serde_json::from_value(json!({"type": "adaptive", "display": "omitted"})).unwrap();
        assert_eq!(adaptive, ThinkingParam::Adaptive);
        let newer: ThinkingParam = serde_json::from_value(json!({"type": "auto"})).unwrap();
        assert_eq!(newer, ThinkingParam::Unknown);
    }

    #[test]
    fn max_tokens_is_required_for_messages_but_not_for_counting() {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "foo"}]});
        let err = serde_json::from_value::<MessagesRequest>(body.clone()).unwrap_err();
        assert!(err.to_string().contains("max_tokens"), "{err}");
        let count: CountTokensRequest = serde_json::from_value(body).unwrap();
        assert_eq!(count.messages.len(), 1);
    }

    #[test]
    fn a_bad_block_reports_its_own_error() {
        let err = serde_json::from_str::<InputMessage>(
            r#"{"role": "user", "content": [{"type": "tool_use", "name": "x"}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing field `id`"), "{err}");
        let err =
            serde_json::from_str::<InputMessage>(r#"{"role": "user", "content": 5}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("a string or an array of content blocks"),
            "{err}"
        );
    }

    #[test]
    fn stream_events_serialise_with_their_type() {
        let event = StreamEvent::ContentBlockDelta {
            index: 2,
            delta: BlockDelta::SignatureDelta { signature: "s" },
        };
        assert_eq!(event.name(), "content_block_delta");
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "signature_delta", "signature": "s"}})
        );
        assert_eq!(
            serde_json::to_value(StreamEvent::MessageStop).unwrap(),
            json!({"type": "message_stop"})
        );
    }
}
