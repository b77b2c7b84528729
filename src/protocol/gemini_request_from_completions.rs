//! Legacy Completions request → Gemini `generateContent` request.

use super::InvalidRequest;
use super::completions::{CompletionRequest, Prompt};
use super::gemini::{Content, GenerateContentRequest, GenerationConfig, Part};

pub fn gemini_request_from_completions(
    request: &CompletionRequest,
) -> Result<GenerateContentRequest, InvalidRequest> {
    let prompt = match &request.prompt {
        Some(Prompt::One(text)) => text.clone(),
        Some(Prompt::Many(texts)) if texts.len() == 1 => texts[0].clone(),
        Some(Prompt::Many(_)) => {
            return Err(InvalidRequest::at(
                "prompt",
                "several prompts in one request are not supported; send one prompt per request",
            ));
        }
        Some(Prompt::Tokens(_)) => {
            return Err(InvalidRequest::at(
                "prompt",
                "token-array prompts are not supported; send the prompt as text",
            ));
        }
        None => String::new(),
    };
    if prompt.is_empty() {
        return Err(InvalidRequest::at("prompt", "`prompt` must not be empty"));
    }
    if request.suffix.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(InvalidRequest::at(
            "suffix",
            "`suffix` (fill-in-the-middle) is not supported by the upstream models",
        ));
    }
    if request.echo {
        return Err(InvalidRequest::at("echo", "`echo` is not supported"));
    }
    let config = GenerationConfig {
        temperature: request.temperature,
        top_p: request.top_p,
        max_output_tokens: request.max_tokens,
        stop_sequences: request
            .stop
            .clone()
            .map(|s| s.into_vec())
            .filter(|s| !s.is_empty()),
        presence_penalty: request.presence_penalty,
        frequency_penalty: request.frequency_penalty,
        seed: request.seed,
        candidate_count: request.n.filter(|n| *n > 1),
        ..GenerationConfig::default()
    };
    Ok(GenerateContentRequest {
        contents: vec![Content::new("user", vec![Part::text(prompt)])],
        generation_config: (config != GenerationConfig::default()).then_some(config),
        ..GenerateContentRequest::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(body: serde_json::Value) -> CompletionRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn prompt_and_sampling_map() {
        let out = gemini_request_from_completions(&request(json!({
            "model": "m", "prompt": "Once upon", "max_tokens": 20, "temperature": 0.5, "stop": ["\n"]
        })))
        .unwrap();
        assert_eq!(
            serde_json::to_value(out).unwrap(),
            json!({"contents": [{"role": "user", "parts": [{"text": "Once upon"}]}],
                   "generationConfig": {"temperature": 0.5, "maxOutputTokens": 20, "stopSequences": ["\n"]}})
        );
    }

    #[test]
    fn unsupported_prompts_name_the_field() {
        for (body, param) in [
            (json!({"model": "m", "prompt": ["a", "b"]}), "prompt"),
            (json!({"model": "m", "prompt": [1, 2, 3]}), "prompt"),
            (json!({"model": "m"}), "prompt"),
            (
                json!({"model": "m", "prompt": "a", "suffix": "z"}),
                "suffix",
            ),
            (json!({"model": "m", "prompt": "a", "echo": true}), "echo"),
        ] {
            let err = gemini_request_from_completions(&request(body.clone())).unwrap_err();
            assert_eq!(err.param.as_deref(), Some(param), "{body}");
        }
    }
}
