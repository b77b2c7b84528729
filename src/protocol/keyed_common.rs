//! What the translators towards API-key upstreams (OpenAI-compatible,
//! Anthropic) share: Gemini's schemas as JSON Schema, and ids for tool calls
//! Gemini sent without one.

use std::collections::VecDeque;

use serde_json::{Map, Value};

use super::gemini::GenerateContentRequest;

/// A Gemini `Schema` (upper-case `type`, `nullable`) as JSON Schema; a
/// `parametersJsonSchema` is JSON Schema already and comes back unchanged.
pub fn json_schema_from_gemini(schema: &Value) -> Value {
    match schema {
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            let nullable = fields.get("nullable").and_then(Value::as_bool) == Some(true);
            for (key, value) in fields {
                match key.as_str() {
                    "nullable" => {}
                    "type" => {
                        let kind = value
                            .as_str()
                            .map(|t| Value::String(t.to_ascii_lowercase()))
                            .unwrap_or_else(|| value.clone());
                        out.insert(
                            key.clone(),
                            if nullable {
                                Value::Array(vec![kind, Value::String("null".into())])
                            } else {
                                kind
                            },
                        );
                    }
                    "properties" | "$defs" | "definitions" => {
                        let props = value
                            .as_object()
                            .map(|p| {
                                p.iter()
                                    .map(|(k, v)| (k.clone(), json_schema_from_gemini(v)))
                                    .collect()
                            })
                            .unwrap_or_default();
                        out.insert(key.clone(), Value::Object(props));
                    }
                    "items" | "additionalProperties" | "not" => {
                        out.insert(key.clone(), json_schema_from_gemini(value));
                    }
                    "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                        let list = value
                            .as_array()
                            .map(|l| l.iter().map(json_schema_from_gemini).collect())
                            .unwrap_or_default();
                        out.insert(key.clone(), Value::Array(list));
                    }
                    _ => {
                        out.insert(key.clone(), value.clone());
                    }
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// One declared function: name, description and its parameters as JSON Schema.
pub struct Declared {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Value,
}

/// Every function the request declares (`functionDeclarations`, either spelling).
pub fn declared_functions(request: &GenerateContentRequest) -> Vec<Declared> {
    let mut out = Vec::new();
    for tool in request.tools.iter().flatten() {
        let list = tool
            .get("functionDeclarations")
            .or_else(|| tool.get("function_declarations"))
            .and_then(Value::as_array);
        for function in list.into_iter().flatten() {
            let Some(name) = function.get("name").and_then(Value::as_str) else {
                continue;
            };
            let parameters = function
                .get("parametersJsonSchema")
                .or_else(|| function.get("parameters_json_schema"))
                .cloned()
                .or_else(|| function.get("parameters").map(json_schema_from_gemini))
                .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
            out.push(Declared {
                name: name.to_owned(),
                description: function
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                parameters,
            });
        }
    }
    out
}

/// The function-calling mode (`AUTO`, `ANY`, `NONE`) and, for `ANY`, the one
/// allowed function when exactly one is named.
pub fn calling_mode(request: &GenerateContentRequest) -> Option<(String, Option<String>)> {
    let config = request.tool_config.as_ref()?;
    let calling = config
        .get("functionCallingConfig")
        .or_else(|| config.get("function_calling_config"))?;
    let mode = calling
        .get("mode")
        .and_then(Value::as_str)?
        .to_ascii_uppercase();
    let allowed = calling
        .get("allowedFunctionNames")
        .or_else(|| calling.get("allowed_function_names"))
        .and_then(Value::as_array)
        .filter(|names| names.len() == 1)
        .and_then(|names| names[0].as_str())
        .map(str::to_owned);
    Some((mode, allowed))
}

/// Pairs tool calls with their results when Gemini's parts carry no id:
/// each call without one gets `{prefix}{n}`, and the next result for the same
/// function takes the oldest id still open.
pub struct CallIds {
    prefix: &'static str,
    next: usize,
    open: VecDeque<(String, String)>,
}

impl CallIds {
    pub fn new(prefix: &'static str) -> Self {
        Self {
            prefix,
            next: 0,
            open: VecDeque::new(),
        }
    }

    /// The id of a call (its own when it has one).
    pub fn call(&mut self, call: &Value) -> String {
        let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
        let id = match call.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => {
                self.next += 1;
                format!("{}{}", self.prefix, self.next)
            }
        };
        self.open.push_back((name.to_owned(), id.clone()));
        id
    }

    /// The id a result answers (its own when it has one).
    pub fn result(&mut self, response: &Value) -> String {
        let name = response
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(id) = response
            .get("id")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
        {
            self.open.retain(|(_, open)| open != id);
            return id.to_owned();
        }
        match self.open.iter().position(|(n, _)| n == name) {
            Some(at) => self.open.remove(at).map(|(_, id)| id).unwrap_or_default(),
            None => {
                self.next += 1;
                format!("{}{}", self.prefix, self.next)
            }
        }
    }
}

/// A function result's payload as the text OpenAI and Anthropic carry
/// (`{"output": "…"}` and `{"content": "…"}` unwrap to their text).
pub fn result_text(response: &Value) -> String {
    let payload = response.get("response").unwrap_or(&Value::Null);
    for key in ["output", "content", "result"] {
        if let Some(text) = payload.get(key).and_then(Value::as_str)
            && payload.as_object().is_some_and(|o| o.len() == 1)
        {
            return text.to_owned();
        }
    }
    payload.to_string()
}

/// The system instruction's text.
pub fn system_text(request: &GenerateContentRequest) -> Option<String> {
    let system = request.system_instruction.as_ref()?;
    let text: Vec<&str> = system
        .parts
        .iter()
        .filter_map(|p| p.text.as_deref())
        .collect();
    (!text.is_empty()).then(|| text.join("\n"))
}

/// A streamed answer collected into one: text of consecutive parts of the
/// same kind joined, other parts kept, the last finish reason and usage.
/// (For tests that hold a stream translator to its whole counterpart.)
#[cfg(test)]
pub fn collect(chunks: &[super::gemini::GenerateContentResponse]) -> Value {
    let mut parts: Vec<Value> = Vec::new();
    let mut finish = Value::Null;
    let mut usage = Value::Null;
    for chunk in chunks {
        let value = serde_json::to_value(chunk).unwrap_or_default();
        let candidate = &value["candidates"][0];
        for part in candidate["content"]["parts"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let joinable = part.get("text").is_some() && part.get("thoughtSignature").is_none();
            match parts.last_mut() {
                Some(last)
                    if joinable
                        && last.get("text").is_some()
                        && last.get("thought") == part.get("thought") =>
                {
                    let text = format!(
                        "{}{}",
                        last["text"].as_str().unwrap_or_default(),
                        part["text"].as_str().unwrap_or_default()
                    );
                    last["text"] = Value::String(text);
                }
                _ => parts.push(part.clone()),
            }
            // A signature closing a thought belongs to the thought before it.
            if part.get("thoughtSignature").is_some() && part["text"] == "" && parts.len() >= 2 {
                let signature = part["thoughtSignature"].clone();
                parts.pop();
                if let Some(last) = parts.last_mut() {
                    last["thoughtSignature"] = signature;
                }
            }
        }
        if !candidate["finishReason"].is_null() {
            finish = candidate["finishReason"].clone();
        }
        if !value["usageMetadata"].is_null() {
            usage = value["usageMetadata"].clone();
        }
    }
    serde_json::json!({"parts": parts, "finishReason": finish, "usage": usage})
}

/// The same view of a whole answer.
#[cfg(test)]
pub fn whole_view(answer: &super::gemini::GenerateContentResponse) -> Value {
    let value = serde_json::to_value(answer).unwrap_or_default();
    serde_json::json!({
        "parts": value["candidates"][0]["content"]["parts"],
        "finishReason": value["candidates"][0]["finishReason"],
        "usage": value["usageMetadata"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gemini_schemas_become_json_schema() {
        let gemini = json!({"type": "OBJECT", "properties": {
            "city": {"type": "STRING", "nullable": true},
            "days": {"type": "ARRAY", "items": {"type": "INTEGER"}}
        }, "required": ["city"]});
        assert_eq!(
            json_schema_from_gemini(&gemini),
            json!({"type": "object", "properties": {
                "city": {"type": ["string", "null"]},
                "days": {"type": "array", "items": {"type": "integer"}}
            }, "required": ["city"]})
        );
    }

    #[test]
    fn results_without_ids_answer_the_oldest_open_call_of_their_function() {
        let mut ids = CallIds::new("call_");
        let a = ids.call(&json!({"name": "weather", "args": {}}));
        let b = ids.call(&json!({"name": "time", "args": {}}));
        let c = ids.call(&json!({"name": "weather", "args": {}}));
        assert_eq!(ids.result(&json!({"name": "time"})), b);
        assert_eq!(ids.result(&json!({"name": "weather"})), a);
        assert_eq!(ids.result(&json!({"name": "weather"})), c);
        let own = ids.call(&json!({"name": "x", "id": "toolu_9"}));
        assert_eq!(own, "toolu_9");
        assert_eq!(
            ids.result(&json!({"name": "x", "id": "toolu_9"})),
            "toolu_9"
        );
    }

    #[test]
    fn result_text_unwraps_a_lone_output() {
        assert_eq!(
            result_text(&json!({"response": {"output": "22 C"}})),
            "22 C"
        );
        assert_eq!(
            result_text(&json!({"response": {"temp": 22}})),
            r#"{"temp":22}"#
        );
    }
}
