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

#[cfg(test)]
mod tests {
    use super::*;

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
