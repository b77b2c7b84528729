//! OpenAI Responses request → Gemini `generateContent` request.
//!
//! The whole conversation comes in `input` (the gateway keeps no state, so
//! `previous_response_id` is refused). Thought signatures come back where
//! [`responses_from_gemini`](super::responses_from_gemini) put them: in a
//! function call's `call_id`, and in reasoning items' `encrypted_content`. A
//! reasoning item with summary text becomes a signed thought part; one with
//! no summary text gives its signature to the next non-thought part of the
//! same model turn (Gemini had put it on that answer part).

use std::collections::HashMap;

use serde_json::Value;

use super::InvalidRequest;
use super::gemini::{
    Content, GenerateContentRequest, GenerationConfig, Part, ThinkingConfig, push_turn,
};
use super::gemini_request_from_anthropic::MAX_OUTPUT_TOKENS;
use super::gemini_request_from_openai::{
    blob_from_image_url, thinking_budget_for_effort, tool_config_from_openai,
};
use super::responses::{
    ContentPart, InputItem, MessageContent, ResponsesInput, ResponsesRequest, Tool,
};
use super::schema::gemini_parameters_from_json_schema;
use super::signature::split_tool_call_id;

/// Builds the Gemini request for `POST /v1/responses`. Fails, with the field
/// at fault, on content the upstream cannot take.
pub fn gemini_request_from_responses(
    request: &ResponsesRequest,
) -> Result<GenerateContentRequest, InvalidRequest> {
    if request
        .previous_response_id
        .as_deref()
        .is_some_and(|id| !id.is_empty())
    {
        return Err(InvalidRequest::at(
            "previous_response_id",
            "the gateway keeps no conversation state: send the full conversation in `input` \
             (with store=false) instead of previous_response_id",
        ));
    }
    let mut system_parts: Vec<Part> = Vec::new();
    if let Some(instructions) = request.instructions.as_deref().filter(|i| !i.is_empty()) {
        system_parts.push(Part::text(instructions));
    }
    let mut turns = Turns::default();
    match &request.input {
        None => return Err(InvalidRequest::at("input", "`input` is required")),
        Some(ResponsesInput::Text(text)) => {
            if !text.is_empty() {
                turns.push("user", vec![Part::text(text.clone())]);
            }
        }
        Some(ResponsesInput::Items(items)) => {
            // Tool outputs name the call they answer only by call_id; Gemini
            // wants the function's name.
            let mut call_names: HashMap<&str, String> = HashMap::new();
            for (index, item) in items.iter().enumerate() {
                add_item(item, index, &mut turns, &mut system_parts, &mut call_names)?;
            }
        }
    }
    let mut contents = turns.finish();
    if contents.is_empty() {
        return Err(InvalidRequest::at(
            "input",
            "`input` needs at least one user or assistant message with content",
        ));
    }
    super::signature::sign_unsigned_calls(&mut contents);
    let tools = tools_from_responses(request.tools.as_deref().unwrap_or_default())?;
    let tool_config = tool_config_from_openai(request.tool_choice.as_ref())?;
    Ok(GenerateContentRequest {
        contents,
        system_instruction: (!system_parts.is_empty()).then(|| Content {
            role: Some("user".to_owned()),
            parts: system_parts,
        }),
        // Without declarations (all tools were hosted ones we skip) a tool
        // config would only be refused upstream.
        tool_config: tool_config.filter(|_| tools.is_some()),
        tools,
        generation_config: generation_config_from_responses(request)?,
        ..GenerateContentRequest::default()
    })
}

/// The conversation being built: alternating turns, plus a signature waiting
/// for the next answer part of the current model turn.
#[derive(Default)]
struct Turns {
    contents: Vec<Content>,
    pending_signature: Option<String>,
}

impl Turns {
    /// Appends parts to the conversation; consecutive parts of one role form
    /// one turn, as Gemini wants turns to alternate.
    fn push(&mut self, role: &str, mut parts: Vec<Part>) {
        if role == "model" {
            if let Some(part) = parts
                .iter_mut()
                .find(|p| !p.is_thought() && (p.text.is_some() || p.function_call.is_some()))
                && let Some(signature) = self.pending_signature.take()
                && part.thought_signature.is_none()
            {
                part.thought_signature = Some(signature);
            }
        } else {
            self.flush_signature();
        }
        push_turn(&mut self.contents, role, parts);
    }

    /// A signature for the next answer part of this model turn.
    fn sign_next(&mut self, signature: String) {
        self.flush_signature();
        self.pending_signature = Some(signature);
    }

    /// No answer part followed the signature: Gemini had sent it on an empty
    /// text part, so that is what goes back.
    fn flush_signature(&mut self) {
        if let Some(signature) = self.pending_signature.take() {
            self.push(
                "model",
                vec![Part {
                    text: Some(String::new()),
                    thought_signature: Some(signature),
                    ..Part::default()
                }],
            );
        }
    }

    fn finish(mut self) -> Vec<Content> {
        self.flush_signature();
        self.contents
    }
}

fn add_item<'a>(
    item: &'a InputItem,
    index: usize,
    turns: &mut Turns,
    system_parts: &mut Vec<Part>,
    call_names: &mut HashMap<&'a str, String>,
) -> Result<(), InvalidRequest> {
    let at = |field: &str| format!("input[{index}].{field}");
    match item.kind() {
        Some("message") => {
            let parts = parts_from_content(item.content.as_ref(), &at("content"))?;
            match item.role.as_deref().unwrap_or_default() {
                "system" | "developer" => system_parts.extend(parts),
                "user" => turns.push("user", parts),
                "assistant" => turns.push("model", parts),
                other => {
                    return Err(InvalidRequest::at(
                        at("role"),
                        format!(
                            "unknown role `{other}`: expected user, assistant, system or developer"
                        ),
                    ));
                }
            }
        }
        Some("function_call") => {
            let call_id = item.call_id.as_deref().unwrap_or_default();
            if call_id.is_empty() {
                return Err(InvalidRequest::at(
                    at("call_id"),
                    "a function_call item needs a `call_id`",
                ));
            }
            let name = match (item.namespace.as_deref(), item.name.as_deref()) {
                (_, None | Some("")) => {
                    return Err(InvalidRequest::at(
                        at("name"),
                        "a function_call item needs a `name`",
                    ));
                }
                (Some(namespace), Some(name)) if !namespace.is_empty() => {
                    namespaced_name(namespace, name)
                }
                (_, Some(name)) => name.to_owned(),
            };
            let args = arguments(item.arguments.as_deref().unwrap_or_default(), &at)?;
            let (plain_id, signature) = split_tool_call_id(call_id);
            let function_call = serde_json::json!({ "id": plain_id, "name": name, "args": args });
            call_names.insert(call_id, name);
            turns.push(
                "model",
                vec![Part {
                    function_call: Some(function_call),
                    thought_signature: signature,
                    ..Part::default()
                }],
            );
        }
        Some("function_call_output") => {
            let call_id = item.call_id.as_deref().unwrap_or_default();
            let name = call_names.get(call_id).ok_or_else(|| {
                InvalidRequest::at(
                    at("call_id"),
                    format!("no earlier function_call item has the call_id `{call_id}`"),
                )
            })?;
            let (plain_id, _) = split_tool_call_id(call_id);
            let (output, images) = tool_output(item.output.as_ref(), &at("output"))?;
            let response = serde_json::json!({
                "id": plain_id, "name": name, "response": { "result": output }
            });
            let mut parts = vec![Part {
                function_response: Some(response),
                ..Part::default()
            }];
            parts.extend(images);
            turns.push("user", parts);
        }
        Some("reasoning") => {
            // Without a signature Gemini has no use for earlier thinking, and
            // refuses unsigned thought parts in history.
            let Some(signature) = item.encrypted_content.clone().filter(|s| !s.is_empty()) else {
                return Ok(());
            };
            let summary: Vec<&str> = item
                .summary
                .iter()
                .flatten()
                .map(|part| part.text.as_str())
                .filter(|text| !text.is_empty())
                .collect();
            if summary.is_empty() {
                turns.sign_next(signature);
            } else {
                turns.push(
                    "model",
                    vec![Part {
                        text: Some(summary.join("\n\n")),
                        thought: Some(true),
                        thought_signature: Some(signature),
                        ..Part::default()
                    }],
                );
            }
        }
        Some("item_reference") => {
            return Err(InvalidRequest::at(
                at("type"),
                "the gateway keeps no conversation state: send the referenced item itself",
            ));
        }
        Some(other) => {
            return Err(InvalidRequest::at(
                at("type"),
                format!(
                    "input item type `{other}` is not supported \
                     (message, function_call, function_call_output, reasoning)"
                ),
            ));
        }
        None => {
            return Err(InvalidRequest::at(
                at("type"),
                "an input item needs a `type` (or a `role` for a message)",
            ));
        }
    }
    Ok(())
}

/// The flat name a tool inside a `namespace` tool is declared under
/// (Codex's own convention for APIs without namespaces: `ns__name`).
fn namespaced_name(namespace: &str, name: &str) -> String {
    format!(
        "{}__{}",
        namespace.trim_end_matches('_'),
        name.trim_start_matches('_')
    )
}

fn arguments(arguments: &str, at: &impl Fn(&str) -> String) -> Result<Value, InvalidRequest> {
    let arguments = arguments.trim();
    if arguments.is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_str(arguments).map_err(|e| {
        InvalidRequest::at(
            at("arguments"),
            format!("function call arguments are not valid JSON: {e}"),
        )
    })
}

/// A tool output's text (text parts joined by newlines) and its images.
fn tool_output(output: Option<&Value>, at: &str) -> Result<(String, Vec<Part>), InvalidRequest> {
    match output {
        None | Some(Value::Null) => Ok((String::new(), Vec::new())),
        Some(Value::String(text)) => Ok((text.clone(), Vec::new())),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::new();
            let mut images = Vec::new();
            for (index, part) in parts.iter().enumerate() {
                let at = format!("{at}[{index}]");
                let part: ContentPart = serde_json::from_value(part.clone()).map_err(|e| {
                    InvalidRequest::at(at.clone(), format!("malformed output part: {e}"))
                })?;
                match part_from_content(&part, &at)? {
                    Some(Part {
                        text: Some(text), ..
                    }) => texts.push(text),
                    Some(image) => images.push(image),
                    None => {}
                }
            }
            Ok((texts.join("\n"), images))
        }
        // `{content, success}` as some clients send a failed call's output.
        Some(object) => Ok((
            object
                .get("content")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| super::to_json(object)),
            Vec::new(),
        )),
    }
}

fn parts_from_content(
    content: Option<&MessageContent>,
    at: &str,
) -> Result<Vec<Part>, InvalidRequest> {
    match content {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(text)) if text.is_empty() => Ok(Vec::new()),
        Some(MessageContent::Text(text)) => Ok(vec![Part::text(text.clone())]),
        Some(MessageContent::Parts(parts)) => parts
            .iter()
            .enumerate()
            .filter_map(|(i, part)| part_from_content(part, &format!("{at}[{i}]")).transpose())
            .collect(),
    }
}

fn part_from_content(part: &ContentPart, at: &str) -> Result<Option<Part>, InvalidRequest> {
    match part.kind.as_str() {
        "input_text" | "output_text" | "text" => Ok(part
            .text
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(Part::text)),
        "input_image" => {
            let Some(url) = part.image_url() else {
                return Err(InvalidRequest::at(
                    format!("{at}.image_url"),
                    "an input_image part needs `image_url` (a base64 data: URL); file ids are not supported",
                ));
            };
            Ok(Some(Part {
                inline_data: Some(blob_from_image_url(url, &format!("{at}.image_url"))?),
                ..Part::default()
            }))
        }
        "" => Err(InvalidRequest::at(
            format!("{at}.type"),
            "a content part needs a `type`",
        )),
        other => Err(InvalidRequest::at(
            format!("{at}.type"),
            format!("content part type `{other}` is not supported (use input_text or input_image)"),
        )),
    }
}

/// Hosted tools we cannot offer; skipped rather than refused, because Codex
/// always sends one.
fn is_skipped_hosted_tool(kind: &str) -> bool {
    kind.starts_with("web_search")
}

fn tools_from_responses(tools: &[Tool]) -> Result<Option<Vec<Value>>, InvalidRequest> {
    let mut declarations = Vec::with_capacity(tools.len());
    for (index, tool) in tools.iter().enumerate() {
        let at = format!("tools[{index}]");
        match tool.kind.as_str() {
            "function" => declarations.push(declaration(tool, None, &at)?),
            // A group of functions (Codex): each is declared under its flat
            // `namespace__name`.
            "namespace" => {
                let namespace = tool.name.as_deref().unwrap_or_default();
                if namespace.is_empty() {
                    return Err(InvalidRequest::at(
                        format!("{at}.name"),
                        "a namespace tool needs a `name`",
                    ));
                }
                for (member_index, member) in tool.tools.iter().flatten().enumerate() {
                    let at = format!("{at}.tools[{member_index}]");
                    match member.kind.as_str() {
                        "function" => declarations.push(declaration(member, Some(namespace), &at)?),
                        kind if is_skipped_hosted_tool(kind) => {}
                        other => return Err(unsupported_tool(other, &at)),
                    }
                }
            }
            kind if is_skipped_hosted_tool(kind) => {}
            other => return Err(unsupported_tool(other, &at)),
        }
    }
    if declarations.is_empty() {
        return Ok(None);
    }
    Ok(Some(vec![
        serde_json::json!({ "functionDeclarations": declarations }),
    ]))
}

fn unsupported_tool(kind: &str, at: &str) -> InvalidRequest {
    InvalidRequest::at(
        format!("{at}.type"),
        format!(
            "tool type `{kind}` is not supported: only `function` tools (and `namespace` groups of them)"
        ),
    )
}

fn declaration(tool: &Tool, namespace: Option<&str>, at: &str) -> Result<Value, InvalidRequest> {
    let name = tool.name.as_deref().unwrap_or_default();
    if name.is_empty() {
        return Err(InvalidRequest::at(
            format!("{at}.name"),
            "a function tool needs a `name`",
        ));
    }
    let name = match namespace {
        Some(namespace) => namespaced_name(namespace, name),
        None => name.to_owned(),
    };
    let mut declaration = serde_json::json!({ "name": name });
    if let Some(description) = &tool.description {
        declaration["description"] = Value::String(description.clone());
    }
    if let Some(schema) = &tool.parameters {
        let parameters = gemini_parameters_from_json_schema(schema).map_err(|message| {
            InvalidRequest::at(
                format!("{at}.parameters"),
                format!("tool `{name}`: {message}"),
            )
        })?;
        if let Some(parameters) = parameters {
            declaration["parameters"] = parameters;
        }
    }
    Ok(declaration)
}

fn generation_config_from_responses(
    request: &ResponsesRequest,
) -> Result<Option<GenerationConfig>, InvalidRequest> {
    let mut config = GenerationConfig {
        temperature: request.temperature,
        top_p: request.top_p,
        max_output_tokens: request
            .max_output_tokens
            .map(|tokens| tokens.min(MAX_OUTPUT_TOKENS)),
        ..GenerationConfig::default()
    };
    if let Some(reasoning) = &request.reasoning {
        let budget = match reasoning.effort.as_deref() {
            None => None,
            Some(effort) => Some(thinking_budget_for_effort(effort).ok_or_else(|| {
                InvalidRequest::at(
                    "reasoning.effort",
                    format!(
                        "unknown reasoning effort `{effort}` (none, minimal, low, medium, high)"
                    ),
                )
            })?),
        };
        // A requested summary is what the client shows of the thinking:
        // Gemini sends thoughts only when asked to include them.
        let summary = reasoning
            .summary
            .as_deref()
            .is_some_and(|summary| summary != "none");
        if budget.is_some() || summary {
            config.thinking_config = Some(ThinkingConfig {
                include_thoughts: Some(budget.map_or(summary, |budget| budget > 0)),
                thinking_budget: budget,
                thinking_level: None,
            });
        }
    }
    if let Some(format) = request.text.as_ref().and_then(|t| t.format.as_ref()) {
        match format.kind.as_str() {
            "text" | "" => {}
            "json_object" => config.response_mime_type = Some("application/json".to_owned()),
            "json_schema" => {
                config.response_mime_type = Some("application/json".to_owned());
                config.response_json_schema = format.schema.clone();
            }
            other => {
                return Err(InvalidRequest::at(
                    "text.format.type",
                    format!("unknown text format `{other}` (text, json_object, json_schema)"),
                ));
            }
        }
    }
    Ok((config != GenerationConfig::default()).then_some(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::signature::SKIP_VALIDATOR;
    use crate::protocol::signature::tool_call_id_with_signature;
    use serde_json::json;

    fn request(body: Value) -> ResponsesRequest {
        serde_json::from_value(body).unwrap()
    }

    fn translate(body: Value) -> Value {
        serde_json::to_value(gemini_request_from_responses(&request(body)).unwrap()).unwrap()
    }

    #[test]
    fn string_input_is_one_user_turn() {
        let out = translate(json!({
            "model": "gpt-5", "input": "Hello", "instructions": "Be terse.",
            "max_output_tokens": 100, "temperature": 0.2, "top_p": 0.9
        }));
        assert_eq!(
            out,
            json!({
                "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
                "systemInstruction": {"role": "user", "parts": [{"text": "Be terse."}]},
                "generationConfig": {"temperature": 0.2, "topP": 0.9, "maxOutputTokens": 100}
            })
        );
    }

    #[test]
    fn item_history_with_signatures_maps_to_gemini() {
        let signed_call = tool_call_id_with_signature("call_1", Some("sig-call"));
        let out = translate(json!({
            "model": "gpt-5", "store": false, "include": ["reasoning.encrypted_content"],
            "input": [
                {"type": "message", "id": "msg_dev", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
                {"type": "message", "role": "system", "content": "Use metric."},
                {"role": "user", "content": [
                    {"type": "input_text", "text": "What is this, and the weather?"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"}
                ]},
                // Thinking with text: a signed thought part.
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Look it up."}], "encrypted_content": "sig-thought"},
                // Thinking without text: its signature goes to the next answer part.
                {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "sig-text"},
                {"type": "message", "role": "assistant", "status": "completed",
                 "content": [{"type": "output_text", "text": "A cat. Checking.", "annotations": []}]},
                {"type": "function_call", "id": "fc_1", "call_id": signed_call, "name": "weather", "arguments": "{\"city\":\"Oslo\"}", "status": "completed"},
                {"type": "function_call", "call_id": "call_2", "name": "weather", "arguments": ""},
                {"type": "function_call_output", "call_id": signed_call, "output": "rain"},
                {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "sun"}, {"type": "input_text", "text": "warm"}]},
                // Unsigned thinking (not from Gemini) is dropped.
                {"type": "reasoning", "id": "rs_3", "summary": [{"type": "summary_text", "text": "ignored"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Rain and sun."}]},
                {"type": "reasoning", "id": "rs_4", "summary": [], "encrypted_content": "sig-tail"},
                {"role": "user", "content": "Thanks"}
            ]
        }));
        assert_eq!(
            out,
            json!({
                "contents": [
                    {"role": "user", "parts": [
                        {"text": "What is this, and the weather?"},
                        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
                    ]},
                    {"role": "model", "parts": [
                        {"text": "Look it up.", "thought": true, "thoughtSignature": "sig-thought"},
                        {"text": "A cat. Checking.", "thoughtSignature": "sig-text"},
                        {"functionCall": {"id": "call_1", "name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "sig-call"},
                        {"functionCall": {"id": "call_2", "name": "weather", "args": {}}}
                    ]},
                    {"role": "user", "parts": [
                        {"functionResponse": {"id": "call_1", "name": "weather", "response": {"result": "rain"}}},
                        {"functionResponse": {"id": "call_2", "name": "weather", "response": {"result": "sun\nwarm"}}}
                    ]},
                    {"role": "model", "parts": [
                        {"text": "Rain and sun."},
                        {"text": "", "thoughtSignature": "sig-tail"}
                    ]},
                    {"role": "user", "parts": [{"text": "Thanks"}]}
                ],
                "systemInstruction": {"role": "user", "parts": [{"text": "You are Codex."}, {"text": "Use metric."}]}
            })
        );
    }

    #[test]
    fn tools_and_tool_choice_map_to_declarations() {
        let out = translate(json!({
            "model": "gpt-5", "input": "x", "tool_choice": {"type": "function", "name": "weather"},
            "tools": [
                {"type": "function", "name": "weather", "description": "Weather", "strict": true,
                 "parameters": {"type": "object", "$defs": {"city": {"type": "string", "minLength": 2}},
                    "properties": {"city": {"$ref": "#/$defs/city"}, "days": {"type": ["integer", "null"]}},
                    "required": ["city"], "additionalProperties": false}},
                {"type": "namespace", "name": "multi_agent_v1", "tools": [
                    {"type": "function", "name": "spawn", "parameters": {"type": "object", "properties": {}}}
                ]},
                {"type": "web_search", "external_web_access": false},
                {"type": "web_search_preview"}
            ]
        }));
        assert_eq!(
            out["tools"],
            json!([{"functionDeclarations": [
                {"name": "weather", "description": "Weather", "parameters": {"type": "OBJECT",
                    "properties": {
                        "city": {"type": "STRING", "description": "(minimum length: 2)"},
                        "days": {"type": "INTEGER", "nullable": true}
                    },
                    "required": ["city"]}},
                {"name": "multi_agent_v1__spawn"}
            ]}])
        );
        assert_eq!(
            out["toolConfig"],
            json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["weather"]}})
        );
        for (choice, mode) in [("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")] {
            let out = translate(json!({"model": "m", "input": "x", "tool_choice": choice,
                "tools": [{"type": "function", "name": "f"}]}));
            assert_eq!(out["toolConfig"]["functionCallingConfig"]["mode"], mode);
        }
        // Only hosted tools: no declarations and no tool config.
        let out = translate(json!({"model": "m", "input": "x", "tool_choice": "auto",
            "tools": [{"type": "web_search"}]}));
        assert!(
            out.get("tools").is_none() && out.get("toolConfig").is_none(),
            "{out}"
        );
    }

    #[test]
    fn namespaced_calls_in_history_use_the_flat_name() {
        let out = translate(json!({"model": "m", "input": [
            {"role": "user", "content": "go"},
            {"type": "function_call", "call_id": "c", "namespace": "multi_agent_v1", "name": "spawn", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": "ok"}
        ]}));
        assert_eq!(
            out["contents"][1]["parts"][0]["functionCall"]["name"],
            "multi_agent_v1__spawn"
        );
        assert_eq!(
            out["contents"][2]["parts"][0]["functionResponse"]["name"],
            "multi_agent_v1__spawn"
        );
    }

    #[test]
    fn unsigned_calls_get_the_documented_placeholder() {
        let out = translate(json!({"model": "m", "input": [
            {"role": "user", "content": "x"},
            {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "b", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "a", "output": "1"},
            {"type": "function_call_output", "call_id": "b", "output": "2"}
        ]}));
        let parts = &out["contents"][1]["parts"];
        assert_eq!(parts[0]["thoughtSignature"], SKIP_VALIDATOR);
        assert!(parts[1].get("thoughtSignature").is_none());
    }

    #[test]
    fn reasoning_and_text_format_map_to_config() {
        let out = translate(json!({
            "model": "m", "input": "x", "reasoning": {"effort": "low", "summary": "auto"},
            "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}, "strict": true}},
            "max_output_tokens": 1_000_000
        }));
        assert_eq!(
            out["generationConfig"],
            json!({
                "maxOutputTokens": MAX_OUTPUT_TOKENS,
                "responseMimeType": "application/json",
                "responseJsonSchema": {"type": "object"},
                "thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}
            })
        );
        // Codex: a summary but no effort asks for thoughts, budget left to the model.
        let out = translate(json!({"model": "m", "input": "x", "reasoning": {"summary": "auto"}}));
        assert_eq!(
            out["generationConfig"],
            json!({"thinkingConfig": {"includeThoughts": true}})
        );
        let out = translate(
            json!({"model": "m", "input": "x", "reasoning": {"effort": "none"},
            "text": {"format": {"type": "json_object"}}}),
        );
        assert_eq!(
            out["generationConfig"],
            json!({"responseMimeType": "application/json",
                   "thinkingConfig": {"includeThoughts": false, "thinkingBudget": 0}})
        );
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases = [
            (json!({"model": "m"}), "input"),
            (json!({"model": "m", "input": []}), "input"),
            (
                json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}),
                "previous_response_id",
            ),
            (
                json!({"model": "m", "input": [{"role": "wizard", "content": "x"}]}),
                "input[0].role",
            ),
            (
                json!({"model": "m", "input": [{"content": "x"}]}),
                "input[0].type",
            ),
            (
                json!({"model": "m", "input": [{"type": "local_shell_call"}]}),
                "input[0].type",
            ),
            (
                json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}),
                "input[0].content[0].type",
            ),
            (
                json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "https://example.com/cat.png"}]}]}),
                "input[0].content[0].image_url",
            ),
            (
                json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]}),
                "input[0].content[0].image_url",
            ),
            (
                json!({"model": "m", "input": [{"type": "function_call_output", "call_id": "ghost", "output": "x"}]}),
                "input[0].call_id",
            ),
            (
                json!({"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}),
                "input[0].call_id",
            ),
            (
                json!({"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{nope"}]}),
                "input[0].arguments",
            ),
            (
                json!({"model": "m", "input": "x", "tools": [{"type": "file_search"}]}),
                "tools[0].type",
            ),
            (
                json!({"model": "m", "input": "x", "tools": [{"type": "namespace", "name": "n", "tools": [{"type": "custom", "name": "c"}]}]}),
                "tools[0].tools[0].type",
            ),
            (
                json!({"model": "m", "input": "x", "tools": [{"type": "function", "name": "f",
                    "parameters": {"type": "object", "properties": {"a": {"$ref": "#/nope"}}}}]}),
                "tools[0].parameters",
            ),
            (
                json!({"model": "m", "input": "x", "tool_choice": "sometimes"}),
                "tool_choice",
            ),
            (
                json!({"model": "m", "input": "x", "tool_choice": {"type": "allowed_tools", "tools": []}}),
                "tool_choice",
            ),
            (
                json!({"model": "m", "input": "x", "reasoning": {"effort": "max"}}),
                "reasoning.effort",
            ),
            (
                json!({"model": "m", "input": "x", "text": {"format": {"type": "xml"}}}),
                "text.format.type",
            ),
        ];
        for (body, param) in cases {
            let err = gemini_request_from_responses(&request(body.clone())).unwrap_err();
            assert_eq!(err.param.as_deref(), Some(param), "{body}: {err}");
        }
        let err = gemini_request_from_responses(&request(
            json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}),
        ))
        .unwrap_err();
        assert!(err.message.contains("store=false"), "{err}");
    }
}
