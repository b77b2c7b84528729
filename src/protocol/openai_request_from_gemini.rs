//! A Gemini request as an OpenAI chat completion request, for OpenAI-compatible
//! upstreams when the client spoke another protocol. Lost on the way:
//! thought signatures and thinking text of earlier turns (OpenAI takes no
//! reasoning back), safety settings, cached content, files by URI other than
//! images.

use serde_json::{Map, Value, json};

use super::gemini::{GenerateContentRequest, Part};
use super::keyed_common::{CallIds, calling_mode, declared_functions, result_text, system_text};

pub fn openai_request_from_gemini(
    request: &GenerateContentRequest,
    model: &str,
    stream: bool,
) -> Value {
    let mut messages: Vec<Value> = Vec::new();
    if let Some(system) = system_text(request) {
        messages.push(json!({"role": "system", "content": system}));
    }
    let mut ids = CallIds::new("call_");
    for content in &request.contents {
        if content.role.as_deref() == Some("model") {
            messages.push(assistant_message(&content.parts, &mut ids));
        } else {
            user_messages(&content.parts, &mut ids, &mut messages);
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), Value::String(model.to_owned()));
    body.insert("messages".into(), Value::Array(messages));
    let tools: Vec<Value> = declared_functions(request)
        .into_iter()
        .map(|f| {
            let mut function = json!({"name": f.name, "parameters": f.parameters});
            if let Some(description) = f.description {
                function["description"] = Value::String(description);
            }
            json!({"type": "function", "function": function})
        })
        .collect();
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
        if let Some((mode, allowed)) = calling_mode(request) {
            let choice = match (mode.as_str(), allowed) {
                ("ANY", Some(name)) => json!({"type": "function", "function": {"name": name}}),
                ("ANY" | "VALIDATED", None) => json!("required"),
                ("NONE", _) => json!("none"),
                _ => json!("auto"),
            };
            body.insert("tool_choice".into(), choice);
        }
    }
    if let Some(config) = &request.generation_config {
        let mut set = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                body.insert(key.into(), value);
            }
        };
        set("temperature", config.temperature.map(Value::from));
        set("top_p", config.top_p.map(Value::from));
        set("max_tokens", config.max_output_tokens.map(Value::from));
        set(
            "stop",
            config
                .stop_sequences
                .clone()
                .filter(|s| !s.is_empty())
                .map(Value::from),
        );
        set("presence_penalty", config.presence_penalty.map(Value::from));
        set(
            "frequency_penalty",
            config.frequency_penalty.map(Value::from),
        );
        set("seed", config.seed.map(Value::from));
        set(
            "n",
            config.candidate_count.filter(|n| *n > 1).map(Value::from),
        );
        let schema = config.response_json_schema.clone().or_else(|| {
            config
                .response_schema
                .as_ref()
                .map(super::keyed_common::json_schema_from_gemini)
        });
        let json_mime = config.response_mime_type.as_deref() == Some("application/json");
        set(
            "response_format",
            match schema {
                Some(schema) => Some(
                    json!({"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}),
                ),
                None if json_mime => Some(json!({"type": "json_object"})),
                None => None,
            },
        );
        set(
            "reasoning_effort",
            config.thinking_config.as_ref().and_then(|t| {
                match (t.thinking_level.as_deref(), t.thinking_budget) {
                    (Some(level), _) => Some(Value::String(level.to_ascii_lowercase())),
                    (None, Some(budget)) if budget > 0 => Some(Value::String(
                        if budget <= 2048 {
                            "low"
                        } else if budget <= 12_288 {
                            "medium"
                        } else {
                            "high"
                        }
                        .to_owned(),
                    )),
                    _ => None,
                }
            }),
        );
    }
    if stream {
        body.insert("stream".into(), Value::Bool(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(body)
}

fn assistant_message(parts: &[Part], ids: &mut CallIds) -> Value {
    let text: String = parts
        .iter()
        .filter(|p| !p.is_thought())
        .filter_map(|p| p.text.as_deref())
        .collect();
    let calls: Vec<Value> = parts
        .iter()
        .filter_map(|p| p.function_call.as_ref())
        .map(|call| {
            let args = call.get("args").cloned().unwrap_or_else(|| json!({}));
            json!({
                "id": ids.call(call),
                "type": "function",
                "function": {
                    "name": call.get("name").cloned().unwrap_or(Value::Null),
                    "arguments": args.to_string(),
                },
            })
        })
        .collect();
    let mut message = json!({"role": "assistant"});
    message["content"] = if text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    };
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    message
}

fn user_messages(parts: &[Part], ids: &mut CallIds, messages: &mut Vec<Value>) {
    // Tool results first: they answer the assistant turn just before.
    for response in parts.iter().filter_map(|p| p.function_response.as_ref()) {
        messages.push(json!({
            "role": "tool",
            "tool_call_id": ids.result(response),
            "content": result_text(response),
        }));
    }
    let mut content: Vec<Value> = Vec::new();
    for part in parts {
        if let Some(text) = &part.text {
            content.push(json!({"type": "text", "text": text}));
        } else if let Some(blob) = &part.inline_data {
            content.push(json!({"type": "image_url", "image_url": {
                "url": format!("data:{};base64,{}", blob.mime_type, blob.data)
            }}));
        } else if let Some(uri) = part
            .file_data
            .as_ref()
            .and_then(|f| f.get("fileUri").or_else(|| f.get("file_uri")))
            .and_then(Value::as_str)
        {
            content.push(json!({"type": "image_url", "image_url": {"url": uri}}));
        }
    }
    match content.len() {
        0 => {}
        1 if content[0]["type"] == "text" => {
            messages.push(json!({"role": "user", "content": content[0]["text"].clone()}));
        }
        _ => messages.push(json!({"role": "user", "content": content})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_round_trip_keeps_its_call_ids_paired() {
        let request: GenerateContentRequest = serde_json::from_value(json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {"city": "Paris"}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"output": "22 C"}}}]}
            ],
            "tools": [{"functionDeclarations": [{"name": "weather", "description": "Weather", "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}}]}],
            "generationConfig": {"maxOutputTokens": 100, "temperature": 0.2}
        }))
        .unwrap();
        let body = openai_request_from_gemini(&request, "gpt-4o", true);
        assert_eq!(
            body,
            json!({
                "model": "gpt-4o",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Weather in Paris?"},
                    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "22 C"}
                ],
                "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
                "temperature": 0.2,
                "max_tokens": 100,
                "stream": true,
                "stream_options": {"include_usage": true}
            })
        );
    }
}
