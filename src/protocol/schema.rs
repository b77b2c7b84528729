//! Tool parameter schemas: JSON Schema as OpenAI and Anthropic clients write
//! it → the OpenAPI subset Gemini's `functionDeclarations[].parameters`
//! accepts. Local `$ref`s are inlined, `oneOf`/`allOf` folded, type lists
//! become `nullable`, and every constraint Gemini cannot express is written
//! into the `description`, so the model still sees it: no meaning is dropped
//! silently.

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

/// Gemini's `parameters` for a tool whose JSON Schema is `schema`. `None` when
/// the tool takes no parameters (Gemini wants the field left out then).
pub fn gemini_parameters_from_json_schema(schema: &Value) -> Result<Option<Value>, String> {
    if schema.is_null() {
        return Ok(None);
    }
    let cleaned = clean(schema, schema, 0, &mut Vec::new())?;
    let no_properties = cleaned.get("type").and_then(Value::as_str) == Some("OBJECT")
        && cleaned
            .get("properties")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
    Ok((!no_properties).then_some(cleaned))
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
        // `true` / `{}`: anything goes.
        return Ok(json!({ "type": "STRING" }));
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        if refs.iter().any(|r| r == reference) {
            // The schema refers to itself (a tree, a linked list): Gemini
            // takes no recursion, so the inner level is free-form JSON.
            let name = reference.rsplit('/').next().unwrap_or(reference);
            let mut cut = Map::new();
            cut.insert("type".to_owned(), json!("STRING"));
            let base = object
                .get("description")
                .and_then(Value::as_str)
                .map(|d| format!("{d} "))
                .unwrap_or_default();
            cut.insert(
                "description".to_owned(),
                json!(format!("{base}(JSON text of another {name})")),
            );
            return Ok(Value::Object(cut));
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
        out.insert(
            "items".to_owned(),
            json!({"type": "STRING", "description": "any JSON value"}),
        );
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
            json!({"type": "STRING", "description": "the rest (JSON text of another N)"})
        );
        assert_eq!(
            cleaned["properties"]["tree"]["properties"]["replies"]["items"]["type"],
            "STRING"
        );
        assert_eq!(
            cleaned["properties"]["tags"],
            json!({"type": "ARRAY", "items": {"type": "STRING", "description": "any JSON value"}})
        );
    }
}
