//! Carrying Gemini thought signatures through protocols that have no field for
//! them. Gemini needs the signature of each function call sent back with that
//! call in the next turn; OpenAI's tool calls only keep an id, so the
//! signature rides inside the id (`{call id}__ts_{base64url(signature)}`),
//! which clients echo back verbatim with the tool result.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::gemini::Content;

const MARKER: &str = "__ts_";

/// The placeholder Google documents for function calls whose signature was
/// lost (history from another model, a client that rewrote ids): Gemini then
/// skips its signature check instead of refusing the request.
pub const SKIP_VALIDATOR: &str = "skip_thought_signature_validator";

/// A tool call id that also carries `signature`.
pub fn tool_call_id_with_signature(call_id: &str, signature: Option<&str>) -> String {
    match signature {
        Some(signature) if !signature.is_empty() => {
            format!("{call_id}{MARKER}{}", URL_SAFE_NO_PAD.encode(signature))
        }
        _ => call_id.to_owned(),
    }
}

/// Splits an id made by [`tool_call_id_with_signature`] into the call id and
/// the signature. Ids from elsewhere come back whole, with no signature.
pub fn split_tool_call_id(id: &str) -> (&str, Option<String>) {
    if let Some((call_id, encoded)) = id.rsplit_once(MARKER)
        && let Ok(bytes) = URL_SAFE_NO_PAD.decode(encoded)
        && let Ok(signature) = String::from_utf8(bytes)
    {
        return (call_id, Some(signature));
    }
    (id, None)
}

/// A model turn whose function calls carry no signature at all (history from
/// another model, or a client that rebuilt the ids) gets [`SKIP_VALIDATOR`] on
/// its first call, so thinking models accept it.
pub fn sign_unsigned_calls(contents: &mut [Content]) {
    for content in contents
        .iter_mut()
        .filter(|c| c.role.as_deref() == Some("model"))
    {
        let has_calls = content.parts.iter().any(|p| p.function_call.is_some());
        let signed = content.parts.iter().any(|p| p.thought_signature.is_some());
        if has_calls
            && !signed
            && let Some(first) = content.parts.iter_mut().find(|p| p.function_call.is_some())
        {
            first.thought_signature = Some(SKIP_VALIDATOR.to_owned());
        }
    }
}

/// Which model family issued a thought signature. Google's Claude models
/// (behind Antigravity) and Gemini models refuse each other's signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Claude,
    Gemini,
}

impl Family {
    pub fn of_model(model: &str) -> Self {
        if model.to_ascii_lowercase().starts_with("claude") {
            Self::Claude
        } else {
            Self::Gemini
        }
    }
}

/// Makes a conversation's history acceptable to a `target` model family:
/// signatures `family_of` knows to be another family's are dropped (a
/// thought part carrying one goes with it), and for Claude targets thinking
/// stays in the history only as `{thought: true, text, thoughtSignature}`
/// (an empty signed thought hands its signature to the next part, as the
/// Gemini stream put it). Gemini targets get [`SKIP_VALIDATOR`] on a turn's
/// first call when its signatures were dropped. Returns whether anything
/// changed. Signatures of unknown origin are left alone.
pub fn fit_signatures(
    contents: &mut [Content],
    target: Family,
    family_of: impl Fn(&str) -> Option<Family>,
) -> bool {
    let foreign = |signature: &str| {
        signature != SKIP_VALIDATOR && family_of(signature).is_some_and(|f| f != target)
    };
    let mut changed = false;
    for content in contents
        .iter_mut()
        .filter(|c| c.role.as_deref() == Some("model"))
    {
        let had_calls_signed = content
            .parts
            .iter()
            .any(|p| p.function_call.is_some() && p.thought_signature.is_some());
        let before = content.parts.len();
        content.parts.retain(|part| {
            !(part.thought == Some(true) && part.thought_signature.as_deref().is_some_and(foreign))
        });
        changed |= content.parts.len() != before;
        for part in &mut content.parts {
            if part.thought_signature.as_deref().is_some_and(foreign) {
                part.thought_signature = None;
                changed = true;
            }
        }
        if target == Family::Claude {
            changed |= claude_thinking_only_with_text(content);
        } else if had_calls_signed
            && !content.parts.iter().any(|p| p.thought_signature.is_some())
            && let Some(first) = content.parts.iter_mut().find(|p| p.function_call.is_some())
        {
            first.thought_signature = Some(SKIP_VALIDATOR.to_owned());
            changed = true;
        }
    }
    changed
}

/// Claude's rule for thinking in the history: a thought part needs both its
/// text and its signature. An empty signed thought gives its signature to the
/// next part without one; a thought without a signature, and the Gemini
/// placeholder, go.
fn claude_thinking_only_with_text(content: &mut Content) -> bool {
    let mut changed = false;
    let mut pending: Option<String> = None;
    let mut kept = Vec::with_capacity(content.parts.len());
    for mut part in std::mem::take(&mut content.parts) {
        if part.thought_signature.as_deref() == Some(SKIP_VALIDATOR) {
            part.thought_signature = None;
            changed = true;
        }
        if part.thought == Some(true) {
            let has_text = part.text.as_deref().is_some_and(|t| !t.is_empty());
            match (has_text, part.thought_signature.is_some()) {
                (true, true) => kept.push(part),
                (false, true) => {
                    pending = part.thought_signature.take();
                    changed = true;
                }
                _ => changed = true,
            }
            continue;
        }
        if part.thought_signature.is_none()
            && let Some(signature) = pending.take()
        {
            part.thought_signature = Some(signature);
        }
        kept.push(part);
    }
    content.parts = kept;
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::gemini::Part;

    fn part(json: serde_json::Value) -> Part {
        serde_json::from_value(json).unwrap()
    }

    fn model_turn(parts: Vec<serde_json::Value>) -> Vec<Content> {
        vec![Content::new("model", parts.into_iter().map(part).collect())]
    }

    fn family(signature: &str) -> Option<Family> {
        if signature.starts_with("claude-") {
            Some(Family::Claude)
        } else if signature.starts_with("gem-") {
            Some(Family::Gemini)
        } else {
            None
        }
    }

    fn json_of(contents: &[Content]) -> serde_json::Value {
        serde_json::to_value(&contents[0].parts).unwrap()
    }

    #[test]
    fn a_gemini_history_sent_to_claude_loses_gemini_signatures_and_sentinels() {
        let mut contents = model_turn(vec![
            serde_json::json!({"text": "hm", "thought": true, "thoughtSignature": "gem-1"}),
            serde_json::json!({"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "gem-2"}),
            serde_json::json!({"functionCall": {"name": "g", "args": {}}, "thoughtSignature": SKIP_VALIDATOR}),
        ]);
        assert!(fit_signatures(&mut contents, Family::Claude, family));
        assert_eq!(
            json_of(&contents),
            serde_json::json!([
                {"functionCall": {"name": "f", "args": {}}},
                {"functionCall": {"name": "g", "args": {}}}
            ])
        );
    }

    #[test]
    fn a_claude_history_sent_to_gemini_gets_the_placeholder_on_its_first_call() {
        let mut contents = model_turn(vec![
            serde_json::json!({"text": "plan", "thought": true, "thoughtSignature": "claude-1"}),
            serde_json::json!({"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "claude-2"}),
            serde_json::json!({"text": "done"}),
        ]);
        assert!(fit_signatures(&mut contents, Family::Gemini, family));
        assert_eq!(
            json_of(&contents),
            serde_json::json!([
                {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": SKIP_VALIDATOR},
                {"text": "done"}
            ])
        );
    }

    #[test]
    fn claude_keeps_its_own_signatures_and_thinking_needs_text() {
        let original = vec![
            serde_json::json!({"text": "plan", "thought": true, "thoughtSignature": "claude-1"}),
            serde_json::json!({"text": "", "thought": true, "thoughtSignature": "claude-2"}),
            serde_json::json!({"functionCall": {"name": "f", "args": {}}}),
            serde_json::json!({"text": "unsigned thought", "thought": true}),
            serde_json::json!({"text": "mystery", "thought": true, "thoughtSignature": "other-3"}),
        ];
        let mut contents = model_turn(original);
        assert!(fit_signatures(&mut contents, Family::Claude, family));
        assert_eq!(
            json_of(&contents),
            serde_json::json!([
                {"text": "plan", "thought": true, "thoughtSignature": "claude-1"},
                {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "claude-2"},
                {"text": "mystery", "thought": true, "thoughtSignature": "other-3"}
            ])
        );
        // Already in shape: nothing changes, so nothing needs copying.
        let mut again = contents.clone();
        assert!(!fit_signatures(&mut again, Family::Claude, family));
        let mut gemini = model_turn(vec![
            serde_json::json!({"text": "t", "thought": true, "thoughtSignature": "gem-1"}),
            serde_json::json!({"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "gem-2"}),
        ]);
        assert!(!fit_signatures(&mut gemini, Family::Gemini, family));
    }

    #[test]
    fn signatures_round_trip_through_ids() {
        let signature = "CiQB0e2Kb+/x9==";
        let id = tool_call_id_with_signature("call_abc", Some(signature));
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{id}"
        );
        assert_eq!(
            split_tool_call_id(&id),
            ("call_abc", Some(signature.to_owned()))
        );
        assert_eq!(tool_call_id_with_signature("call_abc", None), "call_abc");
        assert_eq!(split_tool_call_id("call_plain"), ("call_plain", None));
        assert_eq!(split_tool_call_id("weird__ts_!!"), ("weird__ts_!!", None));
    }
}
