//! A Gemini request as an Anthropic Messages request, for Anthropic upstreams
//! when the client spoke another protocol. Kept: text, images, tool calls and
//! results, thinking blocks that carry a signature (Anthropic verifies them),
//! the thinking budget. Lost: thoughts without a signature, safety
//! settings, cached content, response schemas, candidate counts, penalties
//! and seeds (the Messages API has none).

use serde_json::{Map, Value, json};

use super::gemini::{GenerateContentRequest, Part};
use super::keyed_common::{CallIds, calling_mode, declared_functions, result_text, system_text};

/// Anthropic requires `max_tokens`; this is used when the client set none.
pub const DEFAULT_MAX_TOKENS: u64 = 8192;

pub fn anthropic_request_from_gemini(
    request: &GenerateContentRequest,
    model: &str,
    stream: bool,
) -> Value {
    let mut ids = CallIds::new("toolu_sy");
    let mut messages: Vec<Value> = Vec::new();
    for content in &request.contents {
        let role = if content.role.as_deref() == Some("model") {
            "assistant"
        } else {
            "user"
        };
        let blocks = if role == "assistant" {
            assistant_blocks(&content.parts, &mut ids)
        } else {
            user_blocks(&content.parts, &mut ids)
        };
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last["role"] == role => {
                if let Some(list) = last["content"].as_array_mut() {
                    list.extend(blocks);
                }
            }
            _ => messages.push(json!({"role": role, "content": blocks})),
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), Value::String(model.to_owned()));
    let config = request.generation_config.as_ref();
    let mut max_tokens = config
        .and_then(|c| c.max_output_tokens)
        .map(u64::from)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let budget = config
        .and_then(|c| c.thinking_config.as_ref())
        .and_then(|t| t.thinking_budget)
        .filter(|b| *b > 0)
        .map(|b| (b as u64).max(1024));
    if let Some(budget) = budget {
        // The budget must stay below max_tokens.
        max_tokens = max_tokens.max(budget + 1024);
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    body.insert("max_tokens".into(), Value::from(max_tokens));
    if let Some(system) = system_text(request) {
        body.insert("system".into(), Value::String(system));
    }
    body.insert("messages".into(), Value::Array(messages));
    let tools: Vec<Value> = declared_functions(request)
        .into_iter()
        .map(|f| {
            let mut schema = f.parameters;
            if schema.get("type").is_none() {
                schema["type"] = json!("object");
            }
            let mut tool = json!({"name": f.name, "input_schema": schema});
            if let Some(description) = f.description {
                tool["description"] = Value::String(description);
            }
            tool
        })
        .collect();
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
        if let Some((mode, allowed)) = calling_mode(request) {
            let choice = match (mode.as_str(), allowed) {
                ("ANY", Some(name)) => json!({"type": "tool", "name": name}),
                ("ANY" | "VALIDATED", None) => json!({"type": "any"}),
                ("NONE", _) => json!({"type": "none"}),
                _ => json!({"type": "auto"}),
            };
            body.insert("tool_choice".into(), choice);
        }
    }
    if let Some(config) = config {
        // Anthropic takes no temperature or top_k with thinking on.
        if budget.is_none() {
            if let Some(t) = config.temperature {
                body.insert("temperature".into(), Value::from(t.min(1.0)));
            }
            if let Some(k) = config.top_k {
                body.insert("top_k".into(), Value::from(k as u64));
            }
        }
        if let Some(p) = config.top_p {
            body.insert("top_p".into(), Value::from(p));
        }
        if let Some(stop) = config.stop_sequences.clone().filter(|s| !s.is_empty()) {
            body.insert("stop_sequences".into(), Value::from(stop));
        }
    }
    if stream {
        body.insert("stream".into(), Value::Bool(true));
    }
    Value::Object(body)
}

fn assistant_blocks(parts: &[Part], ids: &mut CallIds) -> Vec<Value> {
    let mut blocks = Vec::new();
    for part in parts {
        if part.is_thought() {
            if let (Some(text), Some(signature)) = (&part.text, &part.thought_signature) {
                blocks.push(json!({"type": "thinking", "thinking": text, "signature": signature}));
            }
        } else if let Some(call) = &part.function_call {
            blocks.push(json!({
                "type": "tool_use",
                "id": ids.call(call),
                "name": call.get("name").cloned().unwrap_or(Value::Null),
                "input": call.get("args").cloned().unwrap_or_else(|| json!({})),
            }));
        } else if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty()) {
            blocks.push(json!({"type": "text", "text": text}));
        }
    }
    blocks
}

fn user_blocks(parts: &[Part], ids: &mut CallIds) -> Vec<Value> {
    // Tool results lead the turn, as Anthropic requires.
    let mut blocks: Vec<Value> = parts
        .iter()
        .filter_map(|p| p.function_response.as_ref())
        .map(|response| {
            json!({
                "type": "tool_result",
                "tool_use_id": ids.result(response),
                "content": result_text(response),
            })
        })
        .collect();
    for part in parts {
        if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty()) {
            blocks.push(json!({"type": "text", "text": text}));
        } else if let Some(blob) = &part.inline_data {
            blocks.push(json!({"type": "image", "source": {
                "type": "base64", "media_type": blob.mime_type, "data": blob.data
            }}));
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_round_trip_with_thinking() {
        let request: GenerateContentRequest = serde_json::from_value(json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
                {"role": "model", "parts": [
                    {"text": "Need the tool.", "thought": true, "thoughtSignature": "sig1"},
                    {"text": "unsigned", "thought": true},
                    {"functionCall": {"name": "weather", "args": {"city": "Paris"}}}
                ]},
                {"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"output": "22 C"}}}]}
            ],
            "tools": [{"functionDeclarations": [{"name": "weather", "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}}]}],
            "generationConfig": {"thinkingConfig": {"thinkingBudget": 2000}, "temperature": 0.5}
        }))
        .unwrap();
        let body = anthropic_request_from_gemini(&request, "claude-sonnet-4-5", false);
        assert_eq!(
            body,
            json!({
                "model": "claude-sonnet-4-5",
                "thinking": {"type": "enabled", "budget_tokens": 2000},
                "max_tokens": 8192,
                "system": "Be brief.",
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
                    {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "Need the tool.", "signature": "sig1"},
                        {"type": "tool_use", "id": "toolu_sy1", "name": "weather", "input": {"city": "Paris"}}
                    ]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_sy1", "content": "22 C"}]}
                ],
                "tools": [{"name": "weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
            })
        );
    }
}
