//! Anthropic Messages request → Gemini `generateContent` request.
//!
//! Thought signatures have to come back to Gemini where Gemini put them.
//! [`anthropic_from_gemini`](super::anthropic_from_gemini) hands a signature
//! that sat on an answer part (text or function call) to the client as an
//! empty `thinking` block in front of that part's block; here such a block
//! gives its signature back to the next non-thought part of the same message.
//! A thinking block with text becomes a signed thought part.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::InvalidRequest;
use super::anthropic::{
    CountTokensRequest, InputBlock, InputMessage, MediaSource, MessagesRequest, TextOrBlocks,
    ThinkingParam, Tool, ToolChoice,
};
use super::gemini::{
    Blob, Content, GenerateContentRequest, GenerationConfig, Part, ThinkingConfig, push_turn,
};
use super::schema::gemini_parameters_from_json_schema;

/// The most output tokens current Gemini models produce; a larger
/// `maxOutputTokens` is refused with a 400, while Claude Code asks for up to
/// 128 000.
pub const MAX_OUTPUT_TOKENS: u32 = 65_536;

/// Builds the Gemini request for `POST /v1/messages`. Fails, with the field
/// at fault, on content the upstream cannot take.
pub fn gemini_request_from_anthropic(
    request: &MessagesRequest,
) -> Result<GenerateContentRequest, InvalidRequest> {
    let mut out = conversation(
        request.system.as_ref(),
        &request.messages,
        request.tools.as_deref(),
        request.tool_choice.as_ref(),
    )?;
    out.generation_config = Some(generation_config(request)?);
    Ok(out)
}

/// The Gemini request whose prompt `POST /v1/messages/count_tokens` measures:
/// the same conversation, system prompt and tools, without generation
/// settings.
pub fn gemini_request_from_anthropic_count_tokens(
    request: &CountTokensRequest,
) -> Result<GenerateContentRequest, InvalidRequest> {
    conversation(
        request.system.as_ref(),
        &request.messages,
        request.tools.as_deref(),
        request.tool_choice.as_ref(),
    )
}

fn conversation(
    system: Option<&TextOrBlocks>,
    messages: &[InputMessage],
    tools: Option<&[Tool]>,
    tool_choice: Option<&ToolChoice>,
) -> Result<GenerateContentRequest, InvalidRequest> {
    if messages.is_empty() {
        return Err(InvalidRequest::at(
            "messages",
            "`messages` must not be empty",
        ));
    }
    let mut system_parts = match system {
        Some(system) => system_parts_from(system, "system")?,
        None => Vec::new(),
    };
    // tool_use id → tool name, for the tool results that answer them.
    let mut tool_names: HashMap<&str, &str> = HashMap::new();
    let mut contents: Vec<Content> = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        let at = format!("messages[{index}]");
        let role = match message.role.as_str() {
            // Claude Code sends mid-conversation system text as a message.
            "system" => {
                system_parts.extend(system_parts_from(
                    &message.content,
                    &format!("{at}.content"),
                )?);
                continue;
            }
            "user" => "user",
            "assistant" => "model",
            other => {
                return Err(InvalidRequest::at(
                    format!("{at}.role"),
                    format!("unknown role `{other}`: expected user or assistant"),
                ));
            }
        };
        let parts = parts_from_message(
            &message.content,
            role,
            &format!("{at}.content"),
            &mut tool_names,
        )?;
        push_turn(&mut contents, role, parts);
    }
    if contents.is_empty() {
        return Err(InvalidRequest::at(
            "messages",
            "`messages` needs at least one user or assistant message with content",
        ));
    }
    super::signature::sign_unsigned_calls(&mut contents);
    let (tools, tool_config) = tools_from_anthropic(tools.unwrap_or_default(), tool_choice)?;
    Ok(GenerateContentRequest {
        contents,
        system_instruction: (!system_parts.is_empty()).then(|| Content {
            role: Some("user".to_owned()),
            parts: system_parts,
        }),
        tools,
        tool_config,
        ..GenerateContentRequest::default()
    })
}

fn system_parts_from(content: &TextOrBlocks, at: &str) -> Result<Vec<Part>, InvalidRequest> {
    let blocks = match content {
        TextOrBlocks::Text(text) if text.is_empty() => return Ok(Vec::new()),
        TextOrBlocks::Text(text) => return Ok(vec![Part::text(text.clone())]),
        TextOrBlocks::Blocks(blocks) => blocks,
    };
    let mut parts = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.iter().enumerate() {
        match block {
            InputBlock::Text { text } if text.is_empty() => {}
            InputBlock::Text { text } => parts.push(Part::text(text.clone())),
            InputBlock::Unknown => {}
            other => {
                return Err(InvalidRequest::at(
                    format!("{at}[{i}].type"),
                    format!(
                        "a system prompt holds text blocks only, not `{}`",
                        other.kind()
                    ),
                ));
            }
        }
    }
    Ok(parts)
}

/// The parts of one user or model message, in order, with tool results first
/// (Gemini expects a turn's function responses together).
fn parts_from_message<'a>(
    content: &'a TextOrBlocks,
    role: &str,
    at: &str,
    tool_names: &mut HashMap<&'a str, &'a str>,
) -> Result<Vec<Part>, InvalidRequest> {
    let blocks = match content {
        TextOrBlocks::Text(text) if text.is_empty() => return Ok(Vec::new()),
        TextOrBlocks::Text(text) => return Ok(vec![Part::text(text.clone())]),
        TextOrBlocks::Blocks(blocks) => blocks,
    };
    let mut responses: Vec<Part> = Vec::new();
    let mut parts: Vec<Part> = Vec::with_capacity(blocks.len());
    // The signature of an empty thinking block, waiting for the part it
    // belongs to.
    let mut pending_signature: Option<&str> = None;
    for (i, block) in blocks.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let mut part = match block {
            InputBlock::Text { text } if text.is_empty() => continue,
            InputBlock::Text { text } => Part::text(text.clone()),
            InputBlock::Image { source } => Part {
                inline_data: Some(blob_from_source(source, "image", &at)?),
                ..Part::default()
            },
            InputBlock::Document { source } => document_part(source, &at)?,
            InputBlock::ToolUse { id, name, input } => {
                if role != "model" {
                    return Err(InvalidRequest::at(
                        format!("{at}.type"),
                        "tool_use blocks belong in assistant messages",
                    ));
                }
                let args = match input {
                    Value::Object(_) => input.clone(),
                    Value::Null => json!({}),
                    _ => {
                        return Err(InvalidRequest::at(
                            format!("{at}.input"),
                            "a tool_use `input` must be an object",
                        ));
                    }
                };
                tool_names.insert(id, name);
                Part {
                    function_call: Some(json!({"id": id, "name": name, "args": args})),
                    ..Part::default()
                }
            }
            InputBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                if role != "user" {
                    return Err(InvalidRequest::at(
                        format!("{at}.type"),
                        "tool_result blocks belong in user messages",
                    ));
                }
                let Some(name) = tool_names.get(tool_use_id.as_str()) else {
                    return Err(InvalidRequest::at(
                        format!("{at}.tool_use_id"),
                        format!("no earlier tool_use block has the id `{tool_use_id}`"),
                    ));
                };
                let (text, media) =
                    tool_result_content(content.as_ref(), &format!("{at}.content"))?;
                let key = if *is_error == Some(true) {
                    "error"
                } else {
                    "result"
                };
                responses.push(Part {
                    function_response: Some(json!({
                        "id": tool_use_id,
                        "name": name,
                        "response": {key: text},
                    })),
                    ..Part::default()
                });
                parts.extend(media);
                continue;
            }
            InputBlock::Thinking {
                thinking,
                signature,
            } => {
                let signature = signature.as_deref().filter(|s| !s.is_empty());
                if thinking.is_empty() {
                    if let Some(signature) = signature
                        && let Some(earlier) = pending_signature.replace(signature)
                    {
                        // Two in a row: the earlier one came from an empty
                        // signed thought part; give it back as one.
                        parts.push(signed_thought(String::new(), earlier));
                    }
                    continue;
                }
                // Unsigned thinking is left out: Gemini does not need earlier
                // reasoning and refuses unsigned thought parts in history.
                if let Some(signature) = signature {
                    parts.push(signed_thought(thinking.clone(), signature));
                }
                continue;
            }
            InputBlock::RedactedThinking { .. } | InputBlock::Unknown => continue,
            InputBlock::SearchResult => {
                return Err(InvalidRequest::at(
                    format!("{at}.type"),
                    "search_result blocks are not supported by this gateway",
                ));
            }
        };
        if let Some(signature) = pending_signature.take() {
            part.thought_signature = Some(signature.to_owned());
        }
        parts.push(part);
    }
    if let Some(signature) = pending_signature {
        // Nothing followed: Gemini sent this signature on an empty text part.
        parts.push(Part {
            text: Some(String::new()),
            thought_signature: Some(signature.to_owned()),
            ..Part::default()
        });
    }
    responses.extend(parts);
    Ok(responses)
}

fn signed_thought(text: String, signature: &str) -> Part {
    Part {
        text: Some(text),
        thought: Some(true),
        thought_signature: Some(signature.to_owned()),
        ..Part::default()
    }
}

/// A tool result's text (blocks joined by newlines) and its images.
fn tool_result_content(
    content: Option<&TextOrBlocks>,
    at: &str,
) -> Result<(String, Vec<Part>), InvalidRequest> {
    let blocks = match content {
        None => return Ok((String::new(), Vec::new())),
        Some(TextOrBlocks::Text(text)) => return Ok((text.clone(), Vec::new())),
        Some(TextOrBlocks::Blocks(blocks)) => blocks,
    };
    let mut texts: Vec<&str> = Vec::new();
    let mut media = Vec::new();
    for (k, block) in blocks.iter().enumerate() {
        let at = format!("{at}[{k}]");
        match block {
            InputBlock::Text { text } => texts.push(text),
            InputBlock::Image { source } => media.push(Part {
                inline_data: Some(blob_from_source(source, "image", &at)?),
                ..Part::default()
            }),
            InputBlock::Document { source } => media.push(document_part(source, &at)?),
            InputBlock::Unknown => {}
            other => {
                return Err(InvalidRequest::at(
                    format!("{at}.type"),
                    format!(
                        "a tool result holds text, images and documents, not `{}`",
                        other.kind()
                    ),
                ));
            }
        }
    }
    Ok((texts.join("\n"), media))
}

/// Only inline base64 data: the gateway never fetches a URL on the client's
/// behalf.
fn blob_from_source(source: &MediaSource, what: &str, at: &str) -> Result<Blob, InvalidRequest> {
    match source {
        MediaSource::Base64 { media_type, data } => Ok(Blob {
            mime_type: media_type.clone(),
            data: data.clone(),
        }),
        MediaSource::Url { .. } => Err(InvalidRequest::at(
            format!("{at}.source"),
            format!(
                "the gateway does not fetch URLs; send the {what} inline as base64 (source.type \"base64\")"
            ),
        )),
        MediaSource::Text { .. } | MediaSource::Other => Err(InvalidRequest::at(
            format!("{at}.source.type"),
            format!("only base64 {what} sources are supported"),
        )),
    }
}

/// PDFs and other base64 documents go inline; plain-text documents as text.
fn document_part(source: &MediaSource, at: &str) -> Result<Part, InvalidRequest> {
    match source {
        MediaSource::Text { data } => Ok(Part::text(data.clone())),
        _ => Ok(Part {
            inline_data: Some(blob_from_source(source, "document", at)?),
            ..Part::default()
        }),
    }
}

fn generation_config(request: &MessagesRequest) -> Result<GenerationConfig, InvalidRequest> {
    if request.max_tokens == 0 {
        return Err(InvalidRequest::at(
            "max_tokens",
            "`max_tokens` must be at least 1",
        ));
    }
    let thinking_config = match request.thinking {
        Some(ThinkingParam::Enabled { budget_tokens }) => Some(ThinkingConfig {
            include_thoughts: Some(true),
            // No budget given: let the model decide (-1 is "dynamic").
            thinking_budget: Some(budget_tokens.map_or(-1, i64::from)),
            thinking_level: None,
        }),
        Some(ThinkingParam::Adaptive) => Some(ThinkingConfig {
            include_thoughts: Some(true),
            thinking_budget: Some(-1),
            thinking_level: None,
        }),
        Some(ThinkingParam::Disabled | ThinkingParam::Unknown) | None => None,
    };
    Ok(GenerationConfig {
        temperature: request.temperature,
        top_p: request.top_p,
        top_k: request.top_k.map(f64::from),
        max_output_tokens: Some(request.max_tokens.min(MAX_OUTPUT_TOKENS)),
        stop_sequences: request
            .stop_sequences
            .clone()
            .filter(|stops| !stops.is_empty()),
        thinking_config,
        ..GenerationConfig::default()
    })
}

/// `tools` becomes one `functionDeclarations` entry; `tool_choice` becomes
/// `toolConfig.functionCallingConfig`.
fn tools_from_anthropic(
    tools: &[Tool],
    tool_choice: Option<&ToolChoice>,
) -> Result<(Option<Vec<Value>>, Option<Value>), InvalidRequest> {
    let mut declarations = Vec::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        let at = format!("tools[{i}]");
        if let Some(kind) = tool.kind.as_deref().filter(|kind| *kind != "custom") {
            return Err(InvalidRequest::at(
                format!("{at}.type"),
                format!(
                    "tool type `{kind}` is not supported: only custom tools (name, description, input_schema) can be offered to the upstream model"
                ),
            ));
        }
        if !valid_function_name(&tool.name) {
            return Err(InvalidRequest::at(
                format!("{at}.name"),
                format!(
                    "tool name `{}` is not accepted upstream: use 1 to 64 letters, digits, `_`, `-`, `.` or `:`",
                    tool.name
                ),
            ));
        }
        let mut declaration = Map::new();
        declaration.insert("name".to_owned(), Value::String(tool.name.clone()));
        if let Some(description) = tool.description.as_ref().filter(|d| !d.is_empty()) {
            declaration.insert("description".to_owned(), Value::String(description.clone()));
        }
        if let Some(schema) = &tool.input_schema {
            let parameters = gemini_parameters_from_json_schema(schema).map_err(|message| {
                InvalidRequest::at(
                    format!("{at}.input_schema"),
                    format!("tool `{}`: {message}", tool.name),
                )
            })?;
            // A tool without arguments simply has no parameters.
            if let Some(parameters) = parameters {
                declaration.insert("parameters".to_owned(), parameters);
            }
        }
        declarations.push(Value::Object(declaration));
    }
    let tool_config = match tool_choice {
        None => None,
        Some(ToolChoice::Tool { name }) => {
            if !tools.iter().any(|tool| tool.name == *name) {
                return Err(InvalidRequest::at(
                    "tool_choice.name",
                    format!("tool_choice names `{name}`, which is not in `tools`"),
                ));
            }
            Some(json!({"mode": "ANY", "allowedFunctionNames": [name]}))
        }
        // Without tools there is nothing to choose from.
        Some(_) if declarations.is_empty() => None,
        Some(ToolChoice::Auto) => Some(json!({"mode": "AUTO"})),
        Some(ToolChoice::Any) => Some(json!({"mode": "ANY"})),
        Some(ToolChoice::None) => Some(json!({"mode": "NONE"})),
    };
    Ok((
        (!declarations.is_empty()).then(|| vec![json!({ "functionDeclarations": declarations })]),
        tool_config.map(|config| json!({ "functionCallingConfig": config })),
    ))
}

fn valid_function_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::signature::SKIP_VALIDATOR;

    fn request(body: Value) -> MessagesRequest {
        serde_json::from_value(body).unwrap()
    }

    fn translate(body: Value) -> Value {
        serde_json::to_value(gemini_request_from_anthropic(&request(body)).unwrap()).unwrap()
    }

    fn error_at(body: Value) -> InvalidRequest {
        gemini_request_from_anthropic(&request(body)).unwrap_err()
    }

    #[test]
    fn golden_conversation_with_tools_images_and_signatures() {
        let out = translate(json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 128000,
            "temperature": 0.5, "top_p": 0.9, "top_k": 40,
            "stop_sequences": ["STOP"],
            "stream": true,
            "system": "Be terse.",
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "tool_choice": {"type": "tool", "name": "get_weather"},
            "tools": [{
                "name": "get_weather",
                "description": "Weather for a city",
                "input_schema": {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "city": {"type": "string", "description": "City", "default": "Oslo", "examples": ["Oslo"]},
                        "unit": {"$ref": "#/$defs/Unit"},
                        "days": {"type": ["integer", "null"], "exclusiveMinimum": 0, "maximum": 14}
                    },
                    "required": ["city", "ghost"],
                    "$defs": {"Unit": {"type": "string", "enum": ["C", "F"], "title": "Unit"}}
                }
            }],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather in Oslo?", "cache_control": {"type": "ephemeral"}},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
                ]},
                {"role": "system", "content": [{"type": "text", "text": "Reminder: metric."}]},
                {"role": "user", "content": "Today."},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Need the tool.", "signature": "SIG_THOUGHT"},
                    {"type": "thinking", "thinking": "", "signature": "SIG_CALL"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "12C"}, {"type": "text", "text": "rain"}]},
                    {"type": "text", "text": "Thanks"}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "", "signature": "SIG_TEXT"},
                    {"type": "text", "text": "12C and rain."},
                    {"type": "redacted_thinking", "data": "opaque"}
                ]},
                {"role": "user", "content": "And tomorrow?"}
            ]
        }));
        assert_eq!(
            out,
            json!({
                "contents": [
                    {"role": "user", "parts": [
                        {"text": "Weather in Oslo?"},
                        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                        {"text": "Today."}
                    ]},
                    {"role": "model", "parts": [
                        {"text": "Need the tool.", "thought": true, "thoughtSignature": "SIG_THOUGHT"},
                        {"functionCall": {"id": "toolu_1", "name": "get_weather", "args": {"city": "Oslo"}},
                         "thoughtSignature": "SIG_CALL"}
                    ]},
                    {"role": "user", "parts": [
                        {"functionResponse": {"id": "toolu_1", "name": "get_weather", "response": {"result": "12C\nrain"}}},
                        {"text": "Thanks"}
                    ]},
                    {"role": "model", "parts": [
                        {"text": "12C and rain.", "thoughtSignature": "SIG_TEXT"}
                    ]},
                    {"role": "user", "parts": [{"text": "And tomorrow?"}]}
                ],
                "systemInstruction": {"role": "user", "parts": [
                    {"text": "Be terse."}, {"text": "Reminder: metric."}
                ]},
                "tools": [{"functionDeclarations": [{
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {
                            "city": {"type": "STRING", "description": "City (default: \"Oslo\")"},
                            "unit": {"type": "STRING", "enum": ["C", "F"]},
                            "days": {"type": "INTEGER", "nullable": true, "maximum": 14, "description": "(greater than: 0)"}
                        },
                        "required": ["city"]
                    }
                }]}],
                "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
                "generationConfig": {
                    "temperature": 0.5, "topP": 0.9, "topK": 40.0,
                    "maxOutputTokens": 65536,
                    "stopSequences": ["STOP"],
                    "thinkingConfig": {"includeThoughts": true, "thinkingBudget": 2048}
                }
            })
        );
    }

    #[test]
    fn system_blocks_adaptive_thinking_and_tool_choice_modes() {
        let base = json!({
            "model": "m", "max_tokens": 100,
            "system": [{"type": "text", "text": "A"}, {"type": "text", "text": "B", "cache_control": {"type": "ephemeral"}}],
            "thinking": {"type": "adaptive"},
            "tools": [{"name": "noop", "input_schema": {"type": "object", "properties": {}}}],
            "messages": [{"role": "user", "content": "hi"}]
        });
        let out = translate(base.clone());
        assert_eq!(
            out["systemInstruction"],
            json!({"role": "user", "parts": [{"text": "A"}, {"text": "B"}]})
        );
        assert_eq!(
            out["generationConfig"],
            json!({"maxOutputTokens": 100, "thinkingConfig": {"includeThoughts": true, "thinkingBudget": -1}})
        );
        // No arguments: no `parameters` (Gemini refuses empty properties).
        assert_eq!(
            out["tools"],
            json!([{"functionDeclarations": [{"name": "noop"}]}])
        );
        assert!(out.get("toolConfig").is_none());

        for (choice, config) in [
            (json!({"type": "auto"}), json!({"mode": "AUTO"})),
            (
                json!({"type": "any", "disable_parallel_tool_use": true}),
                json!({"mode": "ANY"}),
            ),
            (json!({"type": "none"}), json!({"mode": "NONE"})),
        ] {
            let mut body = base.clone();
            body["tool_choice"] = choice;
            body["thinking"] = json!({"type": "disabled"});
            let out = translate(body);
            assert_eq!(out["toolConfig"], json!({"functionCallingConfig": config}));
            assert!(out["generationConfig"].get("thinkingConfig").is_none());
        }
    }

    #[test]
    fn trailing_and_doubled_signatures_keep_their_place() {
        let out = translate(json!({
            "model": "m", "max_tokens": 10,
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "unsigned musing"},
                    {"type": "thinking", "thinking": "", "signature": "S1"},
                    {"type": "thinking", "thinking": "", "signature": "S2"},
                    {"type": "text", "text": "Hello"},
                    {"type": "thinking", "thinking": "", "signature": "S3"}
                ]}
            ]
        }));
        assert_eq!(
            out["contents"][1]["parts"],
            json!([
                {"text": "", "thought": true, "thoughtSignature": "S1"},
                {"text": "Hello", "thoughtSignature": "S2"},
                {"text": "", "thoughtSignature": "S3"}
            ])
        );
    }

    #[test]
    fn tool_result_errors_images_and_documents() {
        let out = translate(json!({
            "model": "m", "max_tokens": 10,
            "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "a", "name": "shot", "input": {}},
                    {"type": "tool_use", "id": "b", "name": "run", "input": null}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "a", "content": [
                        {"type": "text", "text": "see image"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}}
                    ]},
                    {"type": "tool_result", "tool_use_id": "b", "content": "exit 1", "is_error": true},
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}}
                ]}
            ]
        }));
        // Calls from history without any signature: the first gets Google's placeholder.
        assert_eq!(
            out["contents"][1]["parts"],
            json!([
                {"functionCall": {"id": "a", "name": "shot", "args": {}}, "thoughtSignature": SKIP_VALIDATOR},
                {"functionCall": {"id": "b", "name": "run", "args": {}}}
            ])
        );
        assert_eq!(
            out["contents"][2]["parts"],
            json!([
                {"functionResponse": {"id": "a", "name": "shot", "response": {"result": "see image"}}},
                {"functionResponse": {"id": "b", "name": "run", "response": {"error": "exit 1"}}},
                {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/"}},
                {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
                {"text": "notes"}
            ])
        );
    }

    #[test]
    fn count_tokens_translates_the_conversation_only() {
        let count: CountTokensRequest = serde_json::from_value(json!({
            "model": "m",
            "system": "S",
            "messages": [{"role": "user", "content": "foo"}],
            "tools": [{"name": "t", "input_schema": {"type": "object", "properties": {"a": {"type": "string"}}}}]
        }))
        .unwrap();
        let out = serde_json::to_value(gemini_request_from_anthropic_count_tokens(&count).unwrap())
            .unwrap();
        assert_eq!(
            out,
            json!({
                "contents": [{"role": "user", "parts": [{"text": "foo"}]}],
                "systemInstruction": {"role": "user", "parts": [{"text": "S"}]},
                "tools": [{"functionDeclarations": [{"name": "t", "parameters": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}}}]}]
            })
        );
    }

    #[test]
    fn bad_requests_name_the_field() {
        let user = |content: Value| json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": content}]});
        let with_tool = |schema: Value| {
            let mut body = user(json!("x"));
            body["tools"] = json!([{"name": "lookup", "input_schema": schema}]);
            body
        };
        let cases = [
            (
                json!({"model": "m", "max_tokens": 10, "messages": []}),
                "messages",
                "empty",
            ),
            (
                json!({"model": "m", "max_tokens": 10, "messages": [{"role": "system", "content": "x"}]}),
                "messages",
                "at least one",
            ),
            (
                json!({"model": "m", "max_tokens": 10, "messages": [{"role": "wizard", "content": "x"}]}),
                "messages[0].role",
                "wizard",
            ),
            (
                json!({"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}),
                "max_tokens",
                "at least 1",
            ),
            (
                user(
                    json!([{"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]),
                ),
                "messages[0].content[0].source",
                "does not fetch URLs",
            ),
            (
                user(json!([{"type": "image", "source": {"type": "file", "file_id": "f"}}])),
                "messages[0].content[0].source.type",
                "base64",
            ),
            (
                user(
                    json!([{"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}]),
                ),
                "messages[0].content[0].source",
                "does not fetch URLs",
            ),
            (
                user(
                    json!([{"type": "search_result", "source": "s", "title": "t", "content": []}]),
                ),
                "messages[0].content[0].type",
                "search_result",
            ),
            (
                user(json!([{"type": "tool_result", "tool_use_id": "nope", "content": "x"}])),
                "messages[0].content[0].tool_use_id",
                "nope",
            ),
            (
                user(json!([{"type": "tool_use", "id": "a", "name": "t", "input": {}}])),
                "messages[0].content[0].type",
                "assistant",
            ),
            (
                json!({"model": "m", "max_tokens": 10, "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "t", "input": [1]}]}
                ]}),
                "messages[1].content[0].input",
                "object",
            ),
            (
                json!({"model": "m", "max_tokens": 10, "system": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "x"}}],
                       "messages": [{"role": "user", "content": "x"}]}),
                "system[0].type",
                "text blocks only",
            ),
            (
                json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}],
                       "tools": [{"type": "web_search_20250305", "name": "web_search"}]}),
                "tools[0].type",
                "web_search_20250305",
            ),
            (
                json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}],
                       "tools": [{"name": "has space"}]}),
                "tools[0].name",
                "has space",
            ),
            (
                json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}],
                       "tools": [{"name": "a"}], "tool_choice": {"type": "tool", "name": "b"}}),
                "tool_choice.name",
                "`b`",
            ),
            (
                // A self-reference is cut (schema.rs); plain nesting past the limit is refused.
                with_tool((0..40).fold(
                    json!({"type": "string"}),
                    |inner, _| json!({"type": "object", "properties": {"a": inner}}),
                )),
                "tools[0].input_schema",
                "tool `lookup`: the schema nests too deeply",
            ),
            (
                with_tool(
                    json!({"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}}),
                ),
                "tools[0].input_schema",
                "tool `lookup`: `$ref: https://example.com/s.json` points outside the schema",
            ),
            (
                with_tool(json!({"type": "object", "properties": {"a": {"type": 5}}})),
                "tools[0].input_schema",
                "tool `lookup`: `type` must be",
            ),
        ];
        for (body, param, message) in cases {
            let err = error_at(body.clone());
            assert_eq!(err.param.as_deref(), Some(param), "{body}");
            assert!(
                err.message.contains(message),
                "{body}: `{}` lacks `{message}`",
                err.message
            );
        }
    }
}
