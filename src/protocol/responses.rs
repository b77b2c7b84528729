//! OpenAI Responses API (`POST /v1/responses`) wire types: the request as
//! clients (Codex, the openai SDK) send it, and the `Response` object and its
//! output items we send back. Unknown request fields are ignored; fields whose
//! content we interpret item by item are kept loose, so that an unsupported
//! value gets an error naming it rather than a generic decoding failure.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResponsesRequest {
    pub model: String,
    #[serde(default)]
    pub input: Option<ResponsesInput>,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub tools: Option<Vec<Tool>>,
    /// `"auto"`, `"none"`, `"required"` or `{"type":"function","name":…}`.
    #[serde(default)]
    pub tool_choice: Option<Value>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub reasoning: Option<ReasoningConfig>,
    #[serde(default)]
    pub text: Option<TextConfig>,
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
    /// Refused: the gateway keeps no conversation state.
    #[serde(default)]
    pub previous_response_id: Option<String>,
    #[serde(default)]
    pub store: Option<bool>,
    #[serde(default)]
    pub include: Option<Vec<String>>,
    #[serde(default)]
    pub prompt_cache_key: Option<String>,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub user: Option<String>,
}

/// `input`: a plain string (one user message) or a list of items.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ResponsesInput {
    Text(String),
    Items(Vec<InputItem>),
}

/// One element of `input`. Every item type shares this loose shape:
/// `message` (also the short form `{role, content}` without a type),
/// `function_call`, `function_call_output` and `reasoning`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InputItem {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    // message
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub content: Option<MessageContent>,
    // function_call / function_call_output
    #[serde(default)]
    pub call_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Set by Codex on calls of a tool inside a `namespace` tool.
    #[serde(default)]
    pub namespace: Option<String>,
    /// JSON text.
    #[serde(default)]
    pub arguments: Option<String>,
    /// A string, or a list of `input_text` / `input_image` parts.
    #[serde(default)]
    pub output: Option<Value>,
    // reasoning
    #[serde(default)]
    pub summary: Option<Vec<SummaryPart>>,
    #[serde(default)]
    pub encrypted_content: Option<String>,
}

impl InputItem {
    /// The item type, `message` for the short form `{role, content}`.
    pub fn kind(&self) -> Option<&str> {
        match self.kind.as_deref() {
            Some(kind) => Some(kind),
            None if self.role.is_some() => Some("message"),
            None => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// `input_text` / `output_text` (`text`), `input_image` (`image_url`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContentPart {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
    /// A `data:` URL (a string; `{"url":…}` is accepted too).
    #[serde(default)]
    pub image_url: Option<Value>,
    #[serde(default)]
    pub detail: Option<String>,
}

impl ContentPart {
    pub fn image_url(&self) -> Option<&str> {
        match &self.image_url {
            Some(Value::String(url)) => Some(url),
            Some(object) => object.get("url").and_then(Value::as_str),
            None => None,
        }
    }
}

/// `{"type":"summary_text","text":…}` in a reasoning item.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SummaryPart {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub text: String,
}

/// A tool the model may call: `{"type":"function", name, description,
/// parameters, strict}`. Codex also sends `{"type":"namespace", name,
/// tools:[…]}` groups and hosted tools such as `web_search`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Tool {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub strict: Option<bool>,
    /// The members of a `namespace` tool.
    #[serde(default)]
    pub tools: Option<Vec<Tool>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReasoningConfig {
    #[serde(default)]
    pub effort: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TextConfig {
    #[serde(default)]
    pub format: Option<TextFormat>,
}

/// `{"type":"text"}`, `{"type":"json_object"}` or
/// `{"type":"json_schema", name, schema, strict}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TextFormat {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub schema: Option<Value>,
}

/// The Response object, whole (non-streaming) or inside the
/// `response.created` / `response.completed` / `response.failed` events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    pub id: String,
    pub object: &'static str,
    pub created_at: i64,
    /// `in_progress`, `completed`, `incomplete` or `failed`.
    pub status: &'static str,
    pub model: String,
    pub output: Vec<OutputItem>,
    pub usage: Option<ResponseUsage>,
    pub error: Option<ResponseError>,
    pub incomplete_details: Option<IncompleteDetails>,
    pub parallel_tool_calls: bool,
    pub tool_choice: Value,
    pub tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
}

impl Response {
    /// An empty response in progress; the translators fill in the rest.
    pub fn new(id: String, created_at: i64, model: String) -> Self {
        Self {
            id,
            object: "response",
            created_at,
            status: "in_progress",
            model,
            output: Vec::new(),
            usage: None,
            error: None,
            incomplete_details: None,
            parallel_tool_calls: true,
            tool_choice: Value::String("auto".to_owned()),
            tools: Vec::new(),
            temperature: None,
            top_p: None,
        }
    }

    /// Echoes the request settings a Response reports back.
    pub fn echo_request(&mut self, request: &ResponsesRequest) {
        self.parallel_tool_calls = request.parallel_tool_calls.unwrap_or(true);
        if let Some(choice) = &request.tool_choice {
            self.tool_choice = choice.clone();
        }
        self.temperature = request.temperature;
        self.top_p = request.top_p;
    }
}

/// One element of `output`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    /// Thinking: its summary text, and Gemini's thought signature in
    /// `encrypted_content` (which clients send back with the history).
    Reasoning {
        id: String,
        summary: Vec<SummaryText>,
        #[serde(skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
    },
    Message {
        id: String,
        status: &'static str,
        role: &'static str,
        content: Vec<OutputContent>,
    },
    FunctionCall {
        id: String,
        call_id: String,
        name: String,
        /// JSON text.
        arguments: String,
        status: &'static str,
    },
}

impl OutputItem {
    pub fn id(&self) -> &str {
        match self {
            Self::Reasoning { id, .. }
            | Self::Message { id, .. }
            | Self::FunctionCall { id, .. } => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SummaryText {
    SummaryText { text: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputContent {
    OutputText {
        text: String,
        annotations: Vec<Value>,
    },
}

impl OutputContent {
    pub fn text(text: String) -> Self {
        Self::OutputText {
            text,
            annotations: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ResponseUsage {
    pub input_tokens: u64,
    pub input_tokens_details: InputTokensDetails,
    pub output_tokens: u64,
    pub output_tokens_details: OutputTokensDetails,
    pub total_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InputTokensDetails {
    pub cached_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutputTokensDetails {
    pub reasoning_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    pub reason: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codex_shaped_requests_parse() {
        let req: ResponsesRequest = serde_json::from_value(json!({
            "model": "gpt-5", "stream": true, "store": false,
            "include": ["reasoning.encrypted_content"], "prompt_cache_key": "k",
            "client_metadata": {"x": 1}, "reasoning": {"summary": "auto"},
            "tool_choice": "auto", "parallel_tool_calls": true,
            "tools": [
                {"type": "function", "name": "exec_command", "parameters": {"type": "object"}, "strict": false},
                {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "child"}]},
                {"type": "web_search", "external_web_access": false}
            ],
            "input": [
                {"type": "message", "id": "msg_1", "role": "developer", "content": [{"type": "input_text", "text": "be good"}]},
                {"role": "user", "content": "hi"},
                {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "exec_command", "arguments": "{}", "status": "completed"},
                {"type": "function_call_output", "call_id": "c1", "output": "ok"},
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "t"}], "encrypted_content": "sig"}
            ]
        }))
        .unwrap();
        assert!(req.stream);
        let Some(ResponsesInput::Items(items)) = &req.input else {
            panic!("items expected")
        };
        let kinds: Vec<_> = items.iter().map(InputItem::kind).collect();
        assert_eq!(
            kinds,
            [
                Some("message"),
                Some("message"),
                Some("function_call"),
                Some("function_call_output"),
                Some("reasoning")
            ]
        );
        assert_eq!(
            req.tools.as_ref().unwrap()[1].tools.as_ref().unwrap().len(),
            1
        );
        assert_eq!(req.reasoning.unwrap().summary.as_deref(), Some("auto"));
    }

    #[test]
    fn output_items_serialize_in_the_wire_shape() {
        let items = vec![
            OutputItem::Reasoning {
                id: "rs_1".into(),
                summary: vec![SummaryText::SummaryText { text: "t".into() }],
                encrypted_content: Some("sig".into()),
            },
            OutputItem::Message {
                id: "msg_1".into(),
                status: "completed",
                role: "assistant",
                content: vec![OutputContent::text("hi".into())],
            },
            OutputItem::FunctionCall {
                id: "fc_1".into(),
                call_id: "call_1".into(),
                name: "f".into(),
                arguments: "{}".into(),
                status: "completed",
            },
        ];
        assert_eq!(
            serde_json::to_value(&items).unwrap(),
            json!([
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "t"}], "encrypted_content": "sig"},
                {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "text": "hi", "annotations": []}]},
                {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}", "status": "completed"}
            ])
        );
    }
}
