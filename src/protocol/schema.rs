//! Tool parameter schemas: JSON Schema as OpenAI and Anthropic clients write
//! it → the OpenAPI subset Gemini's `functionDeclarations[].parameters`
//! accepts. Local `$ref`s are inlined, `oneOf`/`allOf` folded, type lists
//! become `nullable`, and every constraint Gemini cannot express is written
//! into the `description`, so the model still sees it: no meaning is dropped
//! silently.
//!
//! Parts Gemini has no shape for — a free-form object (no `properties`,
//! perhaps `additionalProperties`), an "anything" schema (`{}`, `true`), the
//! inner level of a recursive `$ref` — become a STRING the model fills with
//! JSON text, marked in its description ([`JSON_TEXT_MARK`]). Gemini refuses
//! an OBJECT without properties ("should be non-empty for OBJECT type").
//! [`JsonTextTools`] turns such strings in the model's function calls back
//! into the JSON the client's tool expects, so the client never notices.

use serde_json::{Map, Value, json};

/// Keys Gemini accepts and that we copy as they are (after cleaning their values).
const KEPT: &[&str] = &[
    "description",
    "nullable",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minProperties",
    "maxProperties",
];

/// Constraints Gemini has no field for: described in words instead.
const DESCRIBED: &[(&str, &str)] = &[
    ("pattern", "pattern"),
    ("minLength", "minimum length"),
    ("maxLength", "maximum length"),
    ("exclusiveMinimum", "greater than"),
    ("exclusiveMaximum", "less than"),
    ("multipleOf", "multiple of"),
    ("uniqueItems", "unique items"),
];

/// Keys with no meaning for the model (annotations and validation plumbing).
const DROPPED: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "$defs",
    "definitions",
    "additionalProperties",
    "unevaluatedProperties",
    "patternProperties",
    "propertyNames",
    "examples",
    "example",
    "title",
    "readOnly",
    "writeOnly",
    "deprecated",
    "strict",
    "contentEncoding",
    "contentMediaType",
];

const MAX_DEPTH: usize = 32;

/// Ends the description of a STRING that stands for a JSON value.
pub const JSON_TEXT_MARK: &str = "as JSON text)";

/// A STRING standing for JSON: `what` is said to the model.
fn json_text(description: Option<&str>, what: &str) -> Value {
    let base = description
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| format!("{d} "))
        .unwrap_or_default();
    json!({"type": "STRING", "description": format!("{base}({what}, {JSON_TEXT_MARK}")})
}

/// Gemini's `parameters` for a tool whose JSON Schema is `schema`. `None` when
/// the tool takes no parameters (Gemini wants the field left out then).
pub fn gemini_parameters_from_json_schema(schema: &Value) -> Result<Option<Value>, String> {
    if schema.is_null() {
        return Ok(None);
    }
    let cleaned = clean(schema, schema, 0, &mut Vec::new())?;
    // Gemini's parameters are an OBJECT with properties; anything else (no
    // properties, `{}`) takes none.
    let usable = cleaned.get("type").and_then(Value::as_str) == Some("OBJECT")
        && cleaned
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
    Ok(usable.then_some(cleaned))
}

/// `refs` are the `$ref`s being expanded on the way here: one met again is
/// recursion, cut there (a recursive schema would otherwise expand forever).
fn clean(
    schema: &Value,
    root: &Value,
    depth: usize,
    refs: &mut Vec<String>,
) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "the schema nests too deeply (more than {MAX_DEPTH} levels)"
        ));
    }
    let Some(object) = schema.as_object() else {
        // `true`: anything goes.
        return Ok(json_text(None, "any JSON value"));
    };
    let description = object.get("description").and_then(Value::as_str);
    if object
        .keys()
        .all(|k| k == "description" || DROPPED.contains(&k.as_str()))
        && depth > 0
    {
        // `{}` (or only annotations): anything goes.
        return Ok(json_text(description, "any JSON value"));
    }
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        if refs.iter().any(|r| r == reference) {
            // The schema refers to itself (a tree, a linked list): Gemini
            // takes no recursion, so the inner level is free-form JSON.
            let name = match reference.rsplit('/').next() {
                Some(name) if !name.is_empty() && name != "#" => name,
                _ => "value of this whole shape",
            };
            return Ok(json_text(description, &format!("another {name}")));
        }
        let target = resolve(reference, root)?;
        let mut merged = target.as_object().cloned().unwrap_or_default();
        for (key, value) in object {
            if key != "$ref" {
                merged.insert(key.clone(), value.clone());
            }
        }
        refs.push(reference.to_owned());
        let cleaned = clean(&Value::Object(merged), root, depth + 1, refs);
        refs.pop();
        return cleaned;
    }
    if let Some(parts) = object.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(reference) => resolve(reference, root)?,
                None => part.clone(),
            };
            merge_into(&mut merged, &part);
        }
        for (key, value) in object {
            if key != "allOf" {
                merge_into(&mut merged, &json!({ key: value }));
            }
        }
        return clean(&Value::Object(merged), root, depth + 1, refs);
    }

    let mut out = Map::new();
    let mut notes: Vec<String> = Vec::new();

    // Type: a list with "null" means nullable; several real types become anyOf.
    let mut types: Vec<String> = match object.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(other) => {
            return Err(format!(
                "`type` must be a string or a list of strings, not {other}"
            ));
        }
        None => Vec::new(),
    };
    if types.iter().any(|t| t == "null") {
        types.retain(|t| t != "null");
        out.insert("nullable".to_owned(), json!(true));
    }
    if types.len() > 1 {
        let variants: Vec<Value> = types
            .iter()
            .map(|t| {
                let mut single = object.clone();
                single.insert("type".to_owned(), json!(t));
                clean(&Value::Object(single), root, depth + 1, refs)
            })
            .collect::<Result<_, _>>()?;
        out.insert("anyOf".to_owned(), Value::Array(variants));
        copy_description(object, &mut out);
        return Ok(Value::Object(out));
    }
    let mut kind = types.pop().or_else(|| infer_type(object));

    for (key, value) in object {
        match key.as_str() {
            "type" | "$ref" | "allOf" => {}
            "properties" => {
                let mut properties = Map::new();
                for (name, property) in value.as_object().into_iter().flatten() {
                    properties.insert(name.clone(), clean(property, root, depth + 1, refs)?);
                }
                out.insert("properties".to_owned(), Value::Object(properties));
            }
            "items" => {
                let items = match value {
                    Value::Array(tuple) => tuple.first().cloned().unwrap_or(json!({})),
                    other => other.clone(),
                };
                out.insert("items".to_owned(), clean(&items, root, depth + 1, refs)?);
            }
            "anyOf" | "oneOf" => {
                let variants: Vec<Value> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|v| v.get("type").and_then(Value::as_str) != Some("null"))
                    .map(|v| clean(v, root, depth + 1, refs))
                    .collect::<Result<_, _>>()?;
                if value
                    .as_array()
                    .is_some_and(|all| all.len() > variants.len())
                {
                    out.insert("nullable".to_owned(), json!(true));
                }
                match variants.len() {
                    0 => {}
                    1 => {
                        if let Some(single) = variants
                            .into_iter()
                            .next()
                            .and_then(|v| v.as_object().cloned())
                        {
                            for (k, v) in single {
                                out.entry(k).or_insert(v);
                            }
                            kind = out
                                .get("type")
                                .and_then(Value::as_str)
                                .map(str::to_lowercase);
                        }
                    }
                    _ => {
                        out.insert("anyOf".to_owned(), Value::Array(variants));
                    }
                }
            }
            "required" => {
                if let Some(list) = value.as_array() {
                    out.insert("required".to_owned(), Value::Array(list.clone()));
                }
            }
            "enum" => enum_into(value, &mut out, &mut notes, &mut kind),
            "const" => enum_into(&json!([value]), &mut out, &mut notes, &mut kind),
            "format" => {
                let allowed = matches!(
                    (kind.as_deref(), value.as_str()),
                    (Some("string"), Some("enum" | "date-time"))
                        | (Some("integer"), Some("int32" | "int64"))
                        | (Some("number"), Some("float" | "double"))
                );
                if allowed {
                    out.insert("format".to_owned(), value.clone());
                } else if let Some(format) = value.as_str() {
                    notes.push(format!("format: {format}"));
                }
            }
            "default" => notes.push(format!("default: {value}")),
            key if KEPT.contains(&key) => {
                out.insert(key.to_owned(), value.clone());
            }
            key if DROPPED.contains(&key) => {}
            key => {
                if let Some((_, words)) = DESCRIBED.iter().find(|(name, _)| *name == key) {
                    notes.push(format!("{words}: {value}"));
                }
                // Anything else (if/then/else, not, dependencies, vendor
                // extensions) has no Gemini form and no effect on the call.
            }
        }
    }

    if let Some(kind) = &kind {
        out.insert("type".to_owned(), json!(kind.to_uppercase()));
    }
    // Gemini refuses an ARRAY without `items`: any element becomes text.
    if kind.as_deref() == Some("array") && !out.contains_key("items") {
        out.insert("items".to_owned(), json_text(None, "any JSON value"));
    }
    // and an OBJECT without properties: below the top, the object is text.
    // (At the top, a tool without properties takes no parameters.)
    let free_form = kind.as_deref() == Some("object")
        && out
            .get("properties")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
    if free_form && depth > 0 {
        let said = out.get("description").and_then(Value::as_str);
        let mut text = json_text(said, "a JSON object");
        if let Some(true) = out.get("nullable").and_then(Value::as_bool) {
            text["nullable"] = json!(true);
        }
        if !notes.is_empty()
            && let Some(Value::String(d)) = text.get_mut("description")
        {
            *d = format!("{d} ({})", notes.join("; "));
        }
        return Ok(text);
    }
    // `required` may only name properties that exist.
    if let Some(required) = out.get("required").and_then(Value::as_array).cloned() {
        let properties = out.get("properties").and_then(Value::as_object);
        let kept: Vec<Value> = required
            .into_iter()
            .filter(|name| {
                name.as_str()
                    .is_some_and(|n| properties.is_some_and(|p| p.contains_key(n)))
            })
            .collect();
        if kept.is_empty() {
            out.remove("required");
        } else {
            out.insert("required".to_owned(), Value::Array(kept));
        }
    }
    if !notes.is_empty() {
        let base = out
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_owned();
        let joined = format!("({})", notes.join("; "));
        let description = if base.is_empty() {
            joined
        } else {
            format!("{base} {joined}")
        };
        out.insert("description".to_owned(), json!(description));
    }
    Ok(Value::Object(out))
}

fn infer_type(object: &Map<String, Value>) -> Option<String> {
    if object.contains_key("properties") {
        Some("object".to_owned())
    } else if object.contains_key("items") {
        Some("array".to_owned())
    } else if object.contains_key("enum") || object.contains_key("const") {
        Some("string".to_owned())
    } else if object.contains_key("anyOf") || object.contains_key("oneOf") {
        None
    } else {
        Some("string".to_owned())
    }
}

/// Gemini enums are strings only; other values are listed in the description.
fn enum_into(
    value: &Value,
    out: &mut Map<String, Value>,
    notes: &mut Vec<String>,
    kind: &mut Option<String>,
) {
    let Some(values) = value.as_array() else {
        return;
    };
    if values.iter().all(Value::is_string) && kind.as_deref().is_none_or(|k| k == "string") {
        out.insert("enum".to_owned(), Value::Array(values.clone()));
        *kind = Some("string".to_owned());
    } else {
        let listed: Vec<String> = values.iter().map(Value::to_string).collect();
        notes.push(format!("one of: {}", listed.join(", ")));
    }
}

fn copy_description(from: &Map<String, Value>, to: &mut Map<String, Value>) {
    if let Some(description) = from.get("description") {
        to.insert("description".to_owned(), description.clone());
    }
}

fn merge_into(target: &mut Map<String, Value>, part: &Value) {
    for (key, value) in part.as_object().into_iter().flatten() {
        match (target.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(more)) => {
                for (k, v) in more {
                    existing.insert(k.clone(), v.clone());
                }
            }
            (Some(Value::Array(existing)), Value::Array(more)) if key == "required" => {
                existing.extend(more.iter().cloned());
            }
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A local reference: `#/$defs/Name`, `#/definitions/Name`, or any JSON pointer.
fn resolve(reference: &str, root: &Value) -> Result<Value, String> {
    let Some(pointer) = reference.strip_prefix('#') else {
        return Err(format!(
            "`$ref: {reference}` points outside the schema; only local references work"
        ));
    };
    root.pointer(pointer)
        .cloned()
        .ok_or_else(|| format!("`$ref: {reference}` points to nothing in the schema"))
}

/// The tools of a request whose parameters hold JSON-text strings, by
/// name: the model's calls to them get their JSON back
/// ([`JsonTextTools::restore`]). Built once per request, and only when some
/// tool needs it.
#[derive(Debug, Clone, Default)]
pub struct JsonTextTools {
    tools: Vec<(String, Value)>,
}

impl JsonTextTools {
    /// From a Gemini request's `tools`; `None` when no tool has a JSON-text part.
    pub fn of(tools: Option<&[Value]>) -> Option<Self> {
        let tools: Vec<(String, Value)> = tools
            .into_iter()
            .flatten()
            .filter_map(|tool| tool.get("functionDeclarations").and_then(Value::as_array))
            .flatten()
            .filter_map(|declaration| {
                let name = declaration.get("name")?.as_str()?;
                let parameters = declaration.get("parameters")?;
                has_json_text(parameters).then(|| (name.to_owned(), parameters.clone()))
            })
            .collect();
        (!tools.is_empty()).then_some(Self { tools })
    }

    /// Puts back the JSON in a function call (`{name, args}`) to one of
    /// these tools: a string where the schema has JSON text, holding valid
    /// JSON, becomes that JSON. Anything else stays as the model wrote it.
    pub fn restore(&self, function_call: &mut Value) {
        let Some(name) = function_call.get("name").and_then(Value::as_str) else {
            return;
        };
        let Some((_, parameters)) = self.tools.iter().find(|(n, _)| n == name) else {
            return;
        };
        if let Some(args) = function_call.get_mut("args") {
            restore_value(args, parameters, 0);
        }
    }

    /// [`JsonTextTools::restore`] on every function call of a response.
    pub fn restore_response(&self, response: &mut super::gemini::GenerateContentResponse) {
        for candidate in &mut response.candidates {
            for part in candidate
                .content
                .iter_mut()
                .flat_map(|c| c.parts.iter_mut())
            {
                if let Some(call) = part.function_call.as_mut() {
                    self.restore(call);
                }
            }
        }
    }
}

fn is_json_text(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("STRING")
        && schema
            .get("description")
            .and_then(Value::as_str)
            .is_some_and(|d| d.ends_with(JSON_TEXT_MARK))
}

fn has_json_text(schema: &Value) -> bool {
    is_json_text(schema)
        || schema
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| p.values().any(has_json_text))
        || schema.get("items").is_some_and(has_json_text)
        || schema
            .get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(has_json_text))
}

fn restore_value(value: &mut Value, schema: &Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    if is_json_text(schema) {
        if let Value::String(text) = value
            && let Ok(parsed) = serde_json::from_str::<Value>(text)
        {
            *value = parsed;
        }
        return;
    }
    match value {
        Value::Object(fields) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, field) in fields.iter_mut() {
                    if let Some(sub) = properties.get(key) {
                        restore_value(field, sub, depth + 1);
                    }
                }
            }
        }
        Value::Array(elements) => {
            if let Some(items) = schema.get("items") {
                for element in elements {
                    restore_value(element, items, depth + 1);
                }
            }
        }
        _ => {}
    }
    for variant in schema
        .get("anyOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        restore_value(value, variant, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(schema: Value) -> Value {
        gemini_parameters_from_json_schema(&schema)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_typical_tool_schema() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "path": {"type": "string", "description": "File path", "minLength": 1},
                "mode": {"type": "string", "enum": ["read", "write"], "default": "read"},
                "limit": {"type": ["integer", "null"], "exclusiveMinimum": 0},
                "tags": {"type": "array", "items": {"type": "string", "format": "uri"}},
                "level": {"enum": [1, 2, 3]}
            },
            "required": ["path", "ghost"]
        });
        assert_eq!(
            cleaned(schema),
            json!({
                "type": "OBJECT",
                "properties": {
                    "path": {"type": "STRING", "description": "File path (minimum length: 1)"},
                    "mode": {"type": "STRING", "enum": ["read", "write"], "description": "(default: \"read\")"},
                    "limit": {"type": "INTEGER", "nullable": true, "description": "(greater than: 0)"},
                    "tags": {"type": "ARRAY", "items": {"type": "STRING", "description": "(format: uri)"}},
                    "level": {"type": "STRING", "description": "(one of: 1, 2, 3)"}
                },
                "required": ["path"]
            })
        );
    }

    #[test]
    fn refs_all_of_and_one_of_are_folded() {
        let schema = json!({
            "type": "object",
            "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
            "properties": {
                "at": {"$ref": "#/$defs/Point", "description": "where"},
                "both": {"allOf": [{"$ref": "#/$defs/Point"}, {"properties": {"y": {"type": "number"}}}]},
                "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "fixed": {"const": "yes"}
            }
        });
        let out = cleaned(schema);
        assert_eq!(
            out["properties"]["at"],
            json!({"type": "OBJECT", "properties": {"x": {"type": "NUMBER"}}, "required": ["x"], "description": "where"})
        );
        assert_eq!(
            out["properties"]["both"]["properties"],
            json!({"x": {"type": "NUMBER"}, "y": {"type": "NUMBER"}})
        );
        assert_eq!(
            out["properties"]["either"],
            json!({"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]})
        );
        assert_eq!(
            out["properties"]["maybe"],
            json!({"type": "STRING", "nullable": true})
        );
        assert_eq!(
            out["properties"]["fixed"],
            json!({"type": "STRING", "enum": ["yes"]})
        );
        assert!(out.get("$defs").is_none());
    }

    #[test]
    fn no_parameters_means_none() {
        assert_eq!(
            gemini_parameters_from_json_schema(&json!({"type": "object", "properties": {}}))
                .unwrap(),
            None
        );
        assert_eq!(
            gemini_parameters_from_json_schema(&json!({"type": "object"})).unwrap(),
            None
        );
        assert_eq!(
            gemini_parameters_from_json_schema(&Value::Null).unwrap(),
            None
        );
    }

    #[test]
    fn bad_references_are_errors() {
        let remote =
            json!({"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}});
        assert!(
            gemini_parameters_from_json_schema(&remote)
                .unwrap_err()
                .contains("outside")
        );
        let missing = json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/Nope"}}});
        assert!(
            gemini_parameters_from_json_schema(&missing)
                .unwrap_err()
                .contains("nothing")
        );
    }

    #[test]
    fn recursion_is_cut_and_arrays_always_have_items() {
        // A linked list and a tree of comments, as MCP servers send them.
        let looped = json!({"type": "object", "$defs": {"N": {"type": "object", "properties": {
                "value": {"type": "integer"},
                "next": {"$ref": "#/$defs/N", "description": "the rest"}}}},
            "properties": {"head": {"$ref": "#/$defs/N"},
                "tags": {"type": "array"},
                "tree": {"$ref": "#/$defs/T"}},
            "definitions": {}});
        let mut looped = looped;
        looped["$defs"]["T"] = json!({"type": "object", "properties": {
            "text": {"type": "string"},
            "replies": {"type": "array", "items": {"$ref": "#/$defs/T"}}}});
        let cleaned = cleaned(looped);
        assert_eq!(
            cleaned["properties"]["head"]["properties"]["value"]["type"],
            "INTEGER"
        );
        assert_eq!(
            cleaned["properties"]["head"]["properties"]["next"],
            json!({"type": "STRING", "description": "the rest (another N, as JSON text)"})
        );
        assert_eq!(
            cleaned["properties"]["tree"]["properties"]["replies"]["items"]["type"],
            "STRING"
        );
        assert_eq!(
            cleaned["properties"]["tags"],
            json!({"type": "ARRAY", "items": {"type": "STRING", "description": "(any JSON value, as JSON text)"}})
        );
    }
}
