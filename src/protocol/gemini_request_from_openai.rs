//! OpenAI Chat Completions request → Gemini `generateContent` request.

use super::InvalidRequest;
use super::gemini::{
    Blob, Content, GenerateContentRequest, GenerationConfig, Part, ThinkingConfig,
};
use super::openai::{ChatCompletionRequest, ContentPart, MessageContent};

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
                if message.tool_calls.as_ref().is_some_and(|c| !c.is_empty()) {
                    return Err(InvalidRequest::at(
                        at("tool_calls"),
                        "tool calls are not supported by this version of the gateway yet",
                    ));
                }
                // Earlier reasoning is not sent back: Gemini does not need it, and
                // unsigned thought parts are not accepted in history.
                (
                    "model",
                    parts_from_content(message.content.as_ref(), &at("content"))?,
                )
            }
            "tool" | "function" => {
                return Err(InvalidRequest::at(
                    at("role"),
                    "tool results are not supported by this version of the gateway yet",
                ));
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
        if parts.is_empty() {
            continue;
        }
        // Gemini wants turns to alternate; consecutive messages of one role
        // become one turn.
        match contents.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
            _ => contents.push(Content::new(role, parts)),
        }
    }
    if contents.is_empty() {
        return Err(InvalidRequest::at(
            "messages",
            "`messages` needs at least one user or assistant message with content",
        ));
    }
    if request.tools.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(InvalidRequest::at(
            "tools",
            "tools are not supported by this version of the gateway yet",
        ));
    }
    Ok(GenerateContentRequest {
        contents,
        system_instruction: (!system_parts.is_empty()).then(|| Content {
            role: Some("user".to_owned()),
            parts: system_parts,
        }),
        generation_config: generation_config_from_openai(request)?,
        ..GenerateContentRequest::default()
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
                inline_data: Some(blob_from_image_url(image.url(), at)?),
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
fn blob_from_image_url(url: &str, at: &str) -> Result<Blob, InvalidRequest> {
    let at = format!("{at}.image_url.url");
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
        let budget = match effort {
            "none" => 0,
            "minimal" => 512,
            "low" => 1024,
            "medium" => 8192,
            "high" | "xhigh" => 24576,
            other => {
                return Err(InvalidRequest::at(
                    "reasoning_effort",
                    format!(
                        "unknown reasoning_effort `{other}` (none, minimal, low, medium, high)"
                    ),
                ));
            }
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
}
