//! OpenAI Chat Completions request → Gemini `generateContent` request.

use std::collections::HashMap;

use serde_json::Value;

use super::InvalidRequest;
use super::gemini::{
    Blob, Content, GenerateContentRequest, GenerationConfig, Part, ThinkingConfig, push_turn,
};
use super::openai::{ChatCompletionRequest, ContentPart, MessageContent, ToolCall};
use super::schema::gemini_parameters_from_json_schema;
use super::signature::split_tool_call_id;

/// Builds the Gemini request for a chat completion. Fails, with the field at
/// fault, on content the upstream cannot take.
pub fn gemini_request_from_openai(
    request: &ChatCompletionRequest,
) -> Result<GenerateContentRequest, InvalidRequest> {
    if request.messages.is_empty() {
        return Err(InvalidRequest::at(
            "messages",
            "`messages` must not be empty",
        ));
    }
    let mut system_parts: Vec<Part> = Vec::new();
    let mut contents: Vec<Content> = Vec::with_capacity(request.messages.len());
    // Tool results name the call they answer only by id; Gemini wants the name.
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for (index, message) in request.messages.iter().enumerate() {
        let at = |field: &str| format!("messages[{index}].{field}");
        let (role, parts) = match message.role.as_str() {
            "system" | "developer" => {
                system_parts.extend(parts_from_content(
                    message.content.as_ref(),
                    &at("content"),
                )?);
                continue;
            }
            "user" => (
                "user",
                parts_from_content(message.content.as_ref(), &at("content"))?,
            ),
            "assistant" => {
                // Earlier reasoning is not sent back: Gemini does not need it, and
                // unsigned thought parts are not accepted in history.
                let mut parts = parts_from_content(message.content.as_ref(), &at("content"))?;
                for (call_index, call) in message.tool_calls.iter().flatten().enumerate() {
                    call_names.insert(call.id.as_str(), call.function.name.as_str());
                    parts.push(function_call_part(
                        call,
                        &at(&format!("tool_calls[{call_index}]")),
                    )?);
                }
                ("model", parts)
            }
            "tool" | "function" => {
                let call_id = message.tool_call_id.as_deref().unwrap_or_default();
                let name = message
                    .name
                    .as_deref()
                    .or_else(|| call_names.get(call_id).copied())
                    .ok_or_else(|| {
                        InvalidRequest::at(
                            at("tool_call_id"),
                            format!("no earlier assistant tool call has the id `{call_id}`"),
                        )
                    })?;
                let (plain_id, _) = split_tool_call_id(call_id);
                let output = text_of(message.content.as_ref());
                let mut response =
                    serde_json::json!({ "name": name, "response": { "result": output } });
                if !plain_id.is_empty() {
                    response["id"] = Value::String(plain_id.to_owned());
                }
                (
                    "user",
                    vec![Part {
                        function_response: Some(response),
                        ..Part::default()
                    }],
                )
            }
            other => {
                return Err(InvalidRequest::at(
                    at("role"),
                    format!(
                        "unknown role `{other}`: expected system, developer, user, assistant or tool"
                    ),
                ));
            }
        };
        push_turn(&mut contents, role, parts);
    }
    if contents.is_empty() {
        return Err(InvalidRequest::at(
            "messages",
            "`messages` needs at least one user or assistant message with content",
        ));
    }
    super::signature::sign_unsigned_calls(&mut contents);
    Ok(GenerateContentRequest {
        contents,
        system_instruction: (!system_parts.is_empty()).then(|| Content {
            role: Some("user".to_owned()),
            parts: system_parts,
        }),
        tools: tools_from_openai(request)?,
        tool_config: tool_config_from_openai(request.tool_choice.as_ref())?,
        generation_config: generation_config_from_openai(request)?,
        ..GenerateContentRequest::default()
    })
}

fn function_call_part(call: &ToolCall, at: &str) -> Result<Part, InvalidRequest> {
    let arguments = call.function.arguments.trim();
    let args: Value = if arguments.is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_str(arguments).map_err(|e| {
            InvalidRequest::at(
                format!("{at}.function.arguments"),
                format!("tool call arguments are not valid JSON: {e}"),
            )
        })?
    };
    let (plain_id, signature) = split_tool_call_id(&call.id);
    let mut function_call = serde_json::json!({ "name": call.function.name, "args": args });
    if !plain_id.is_empty() {
        function_call["id"] = Value::String(plain_id.to_owned());
    }
    Ok(Part {
        function_call: Some(function_call),
        thought_signature: signature,
        ..Part::default()
    })
}

/// The text of a message's content (a tool result), parts joined.
fn text_of(content: Option<&MessageContent>) -> String {
    match content {
        None => String::new(),
        Some(MessageContent::Text(text)) => text.clone(),
        Some(MessageContent::Parts(parts)) => parts
            .iter()
            .filter_map(|p| p.text.as_deref())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn tools_from_openai(
    request: &ChatCompletionRequest,
) -> Result<Option<Vec<Value>>, InvalidRequest> {
    let Some(tools) = request.tools.as_ref().filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let mut declarations = Vec::with_capacity(tools.len());
    for (index, tool) in tools.iter().enumerate() {
        let at = format!("tools[{index}]");
        let Some(function) = tool.function.as_ref().filter(|_| tool.kind == "function") else {
            return Err(InvalidRequest::at(
                format!("{at}.type"),
                format!(
                    "tool type `{}` is not supported: only `function` tools",
                    tool.kind
                ),
            ));
        };
        let mut declaration = serde_json::json!({ "name": function.name });
        if let Some(description) = &function.description {
            declaration["description"] = Value::String(description.clone());
        }
        if let Some(schema) = &function.parameters {
            let parameters = gemini_parameters_from_json_schema(schema).map_err(|message| {
                InvalidRequest::at(
                    format!("{at}.function.parameters"),
                    format!("tool `{}`: {message}", function.name),
                )
            })?;
            if let Some(parameters) = parameters {
                declaration["parameters"] = parameters;
            }
        }
        declarations.push(declaration);
    }
    Ok(Some(vec![
        serde_json::json!({ "functionDeclarations": declarations }),
    ]))
}

/// `tool_choice` of the Chat Completions and Responses APIs (a function is
/// named as `{"type":"function","function":{"name"}}` or `{"type":"function","name"}`).
pub(crate) fn tool_config_from_openai(
    choice: Option<&Value>,
) -> Result<Option<Value>, InvalidRequest> {
    let config = |mode: &str, name: Option<&str>| {
        let mut calling = serde_json::json!({ "mode": mode });
        if let Some(name) = name {
            calling["allowedFunctionNames"] = serde_json::json!([name]);
        }
        Some(serde_json::json!({ "functionCallingConfig": calling }))
    };
    match choice {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(mode)) => match mode.as_str() {
            "auto" => Ok(config("AUTO", None)),
            "none" => Ok(config("NONE", None)),
            "required" => Ok(config("ANY", None)),
            other => Err(InvalidRequest::at(
                "tool_choice",
                format!("unknown tool_choice `{other}` (auto, none, required, or a function)"),
            )),
        },
        Some(object) => {
            let name = object
                .get("name")
                .or_else(|| object.get("function").and_then(|f| f.get("name")))
                .and_then(Value::as_str);
            match name {
                Some(name) => Ok(config("ANY", Some(name))),
                None => Err(InvalidRequest::at(
                    "tool_choice",
                    "tool_choice must be auto, none, required or {\"type\":\"function\",\"function\":{\"name\":…}}",
                )),
            }
        }
    }
}

/// Gemini's thinking budget for an OpenAI reasoning effort.
pub(crate) fn thinking_budget_for_effort(effort: &str) -> Option<i64> {
    Some(match effort {
        "none" => 0,
        "minimal" => 512,
        "low" => 1024,
        "medium" => 8192,
        "high" | "xhigh" => 24576,
        _ => return None,
    })
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
            .filter_map(|(i, part)| part_from_openai(part, &format!("{at}[{i}]")).transpose())
            .collect(),
    }
}

fn part_from_openai(part: &ContentPart, at: &str) -> Result<Option<Part>, InvalidRequest> {
    match part.kind.as_str() {
        "text" | "input_text" => Ok(part
            .text
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(Part::text)),
        "image_url" => {
            let Some(image) = &part.image_url else {
                return Err(InvalidRequest::at(
                    format!("{at}.image_url"),
                    "an image_url part needs `image_url.url`",
                ));
            };
            Ok(Some(Part {
                inline_data: Some(blob_from_image_url(
                    image.url(),
                    &format!("{at}.image_url.url"),
                )?),
                ..Part::default()
            }))
        }
        other => Err(InvalidRequest::at(
            format!("{at}.type"),
            format!("content part type `{other}` is not supported (use text or image_url)"),
        )),
    }
}

/// Only inline `data:` URLs: the gateway never fetches a URL or reads a local
/// file on the client's behalf.
/// `at` names the field holding the URL, for the error.
pub(crate) fn blob_from_image_url(url: &str, at: &str) -> Result<Blob, InvalidRequest> {
    if let Some(rest) = url.strip_prefix("data:") {
        let Some((header, data)) = rest.split_once(',') else {
            return Err(InvalidRequest::at(at, "malformed data: URL (no comma)"));
        };
        let Some(mime_type) = header.strip_suffix(";base64") else {
            return Err(InvalidRequest::at(
                at,
                "data: URLs must be base64 (data:image/png;base64,…)",
            ));
        };
        if !mime_type.contains('/') {
            return Err(InvalidRequest::at(
                at,
                format!("data: URL has no valid media type (`{mime_type}`)"),
            ));
        }
        return Ok(Blob {
            mime_type: mime_type.to_owned(),
            data: data.to_owned(),
        });
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return Err(InvalidRequest::at(
            at,
            "the gateway does not fetch image URLs; send the image inline as a base64 data: URL",
        ));
    }
    Err(InvalidRequest::at(
        at,
        "images must be base64 data: URLs (data:image/png;base64,…)",
    ))
}

fn generation_config_from_openai(
    request: &ChatCompletionRequest,
) -> Result<Option<GenerationConfig>, InvalidRequest> {
    let mut config = GenerationConfig {
        temperature: request.temperature,
        top_p: request.top_p,
        max_output_tokens: request.max_completion_tokens.or(request.max_tokens),
        stop_sequences: request
            .stop
            .clone()
            .map(|s| s.into_vec())
            .filter(|s| !s.is_empty()),
        presence_penalty: request.presence_penalty,
        frequency_penalty: request.frequency_penalty,
        seed: request.seed,
        ..GenerationConfig::default()
    };
    match request.n {
        None | Some(1) => {}
        Some(0) => return Err(InvalidRequest::at("n", "`n` must be at least 1")),
        Some(n) => config.candidate_count = Some(n),
    }
    if let Some(effort) = request.reasoning_effort.as_deref() {
        let Some(budget) = thinking_budget_for_effort(effort) else {
            return Err(InvalidRequest::at(
                "reasoning_effort",
                format!("unknown reasoning_effort `{effort}` (none, minimal, low, medium, high)"),
            ));
        };
        config.thinking_config = Some(ThinkingConfig {
            include_thoughts: Some(budget > 0),
            thinking_budget: Some(budget),
            thinking_level: None,
        });
    }
    if let Some(format) = &request.response_format {
        match format.get("type").and_then(|t| t.as_str()) {
            Some("text") | None => {}
            Some("json_object") => config.response_mime_type = Some("application/json".to_owned()),
            Some("json_schema") => {
                config.response_mime_type = Some("application/json".to_owned());
                config.response_json_schema = format
                    .get("json_schema")
                    .and_then(|s| s.get("schema"))
                    .cloned();
            }
            Some(other) => {
                return Err(InvalidRequest::at(
                    "response_format.type",
                    format!("unknown response_format type `{other}`"),
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
    use serde_json::json;

    fn request(body: serde_json::Value) -> ChatCompletionRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn system_history_and_sampling_map_to_gemini() {
        let req = request(json!({
            "model": "gemini-2.5-flash",
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "developer", "content": [{"type": "text", "text": "Use metric."}]},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!", "reasoning_content": "greet"},
                {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
                {"role": "user", "content": "In Oslo."}
            ],
            "temperature": 0.2, "top_p": 0.9, "max_tokens": 100, "stop": "END", "seed": 7
        }));
        let out = serde_json::to_value(gemini_request_from_openai(&req).unwrap()).unwrap();
        assert_eq!(
            out,
            json!({
                "contents": [
                    {"role": "user", "parts": [{"text": "Hi"}]},
                    {"role": "model", "parts": [{"text": "Hello!"}]},
                    {"role": "user", "parts": [{"text": "Weather?"}, {"text": "In Oslo."}]}
                ],
                "systemInstruction": {"role": "user", "parts": [{"text": "Be terse."}, {"text": "Use metric."}]},
                "generationConfig": {
                    "temperature": 0.2, "topP": 0.9, "maxOutputTokens": 100,
                    "stopSequences": ["END"], "seed": 7
                }
            })
        );
    }

    #[test]
    fn inline_images_pass_and_remote_ones_are_refused() {
        let req = request(
            json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
            ]}]}),
        );
        let out = gemini_request_from_openai(&req).unwrap();
        let blob = out.contents[0].parts[1].inline_data.clone().unwrap();
        assert_eq!(blob.mime_type, "image/png");
        assert_eq!(blob.data, "iVBORw0KGgo=");

        for url in [
            "https://example.com/cat.png",
            "/etc/passwd",
            "file:///etc/passwd",
        ] {
            let req = request(
                json!({"model": "m", "messages": [{"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": url}}
                ]}]}),
            );
            let err = gemini_request_from_openai(&req).unwrap_err();
            assert_eq!(
                err.param.as_deref(),
                Some("messages[0].content[0].image_url.url")
            );
        }
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases = [
            (json!({"model": "m", "messages": []}), "messages"),
            (
                json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}),
                "messages[0].role",
            ),
            (
                json!({"model": "m", "messages": [{"role": "system", "content": "x"}]}),
                "messages",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}),
                "messages[0].content[0].type",
            ),
            (
                json!({"model": "m", "n": 0, "messages": [{"role": "user", "content": "x"}]}),
                "n",
            ),
            (
                json!({"model": "m", "reasoning_effort": "max", "messages": [{"role": "user", "content": "x"}]}),
                "reasoning_effort",
            ),
        ];
        for (body, param) in cases {
            let err = gemini_request_from_openai(&request(body.clone())).unwrap_err();
            assert_eq!(err.param.as_deref(), Some(param), "{body}");
        }
    }

    #[test]
    fn reasoning_effort_and_json_output_map_to_config() {
        let req = request(json!({
            "model": "m", "messages": [{"role": "user", "content": "x"}],
            "reasoning_effort": "low", "max_completion_tokens": 50, "max_tokens": 10,
            "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}}}
        }));
        let config = gemini_request_from_openai(&req)
            .unwrap()
            .generation_config
            .unwrap();
        assert_eq!(config.max_output_tokens, Some(50));
        assert_eq!(config.thinking_config.unwrap().thinking_budget, Some(1024));
        assert_eq!(
            config.response_mime_type.as_deref(),
            Some("application/json")
        );
        assert_eq!(config.response_json_schema, Some(json!({"type": "object"})));
    }

    #[test]
    fn tools_calls_and_results_map_with_signatures() {
        let signed_id =
            crate::protocol::signature::tool_call_id_with_signature("call_1", Some("sig-A"));
        let req = request(json!({
            "model": "m",
            "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}}}],
            "tool_choice": {"type": "function", "function": {"name": "weather"}},
            "messages": [
                {"role": "user", "content": "Weather in Oslo and Bergen?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": signed_id, "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Bergen\"}"}}
                ]},
                {"role": "tool", "tool_call_id": signed_id, "content": "rain"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "sun"}]}
            ]
        }));
        let out = serde_json::to_value(gemini_request_from_openai(&req).unwrap()).unwrap();
        assert_eq!(
            out["contents"][1],
            json!({"role": "model", "parts": [
                {"functionCall": {"id": "call_1", "name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "sig-A"},
                {"functionCall": {"id": "call_2", "name": "weather", "args": {"city": "Bergen"}}}
            ]})
        );
        assert_eq!(
            out["contents"][2],
            json!({"role": "user", "parts": [
                {"functionResponse": {"id": "call_1", "name": "weather", "response": {"result": "rain"}}},
                {"functionResponse": {"id": "call_2", "name": "weather", "response": {"result": "sun"}}}
            ]})
        );
        assert_eq!(
            out["tools"],
            json!([{"functionDeclarations": [{"name": "weather", "description": "Weather",
            "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]}])
        );
        assert_eq!(
            out["toolConfig"],
            json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["weather"]}})
        );
    }

    #[test]
    fn unsigned_calls_get_the_documented_placeholder() {
        let req = request(json!({"model": "m", "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "c", "content": "done"}
        ]}));
        let out = gemini_request_from_openai(&req).unwrap();
        assert_eq!(
            out.contents[1].parts[0].thought_signature.as_deref(),
            Some(SKIP_VALIDATOR)
        );
        assert_eq!(
            out.contents[1].parts[0].function_call.as_ref().unwrap()["args"],
            json!({})
        );
    }

    #[test]
    fn bad_tool_input_names_the_field() {
        let cases = [
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"},
                {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{nope"}}]}]}),
                "messages[1].tool_calls[0].function.arguments",
            ),
            (
                json!({"model": "m", "messages": [{"role": "tool", "tool_call_id": "ghost", "content": "x"}]}),
                "messages[0].tool_call_id",
            ),
            (
                json!({"model": "m", "tools": [{"type": "web_search"}], "messages": [{"role": "user", "content": "x"}]}),
                "tools[0].type",
            ),
            (
                json!({"model": "m", "tool_choice": "sometimes", "messages": [{"role": "user", "content": "x"}]}),
                "tool_choice",
            ),
            (
                json!({"model": "m", "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"$ref": "#/nope"}}}}}],
                "messages": [{"role": "user", "content": "x"}]}),
                "tools[0].function.parameters",
            ),
        ];
        for (body, param) in cases {
            let err = gemini_request_from_openai(&request(body.clone())).unwrap_err();
            assert_eq!(err.param.as_deref(), Some(param), "{body}");
        }
    }
}
