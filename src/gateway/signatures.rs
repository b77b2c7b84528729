//! Which model family issued each thought signature the gateway relayed, so a
//! conversation that moves between Google's Claude and Gemini models sends
//! each only its own family's signatures (google-2026.md §6).
//!
//! Signatures are remembered by a keyed hash (never the signature itself),
//! at most [`CAPACITY`], oldest forgotten first. After a restart, history
//! signatures are of unknown origin and sent as they are.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};

use parking_lot::Mutex;

use crate::protocol::gemini::{GenerateContentRequest, GenerateContentResponse};
use crate::protocol::signature::{Family, SKIP_VALIDATOR, fit_signatures};

/// Signatures remembered at most (about 40 bytes each).
pub const CAPACITY: usize = 65_536;

#[derive(Default)]
pub struct SignatureBook {
    hasher: RandomState,
    seen: Mutex<(HashMap<u64, Family>, VecDeque<u64>)>,
}

impl SignatureBook {
    fn key(&self, signature: &str) -> u64 {
        self.hasher.hash_one(signature)
    }

    /// Remembers the signatures in an answer from `model`.
    pub fn record(&self, response: &GenerateContentResponse, model: &str) {
        let family = Family::of_model(model);
        let keys: Vec<u64> = response
            .candidates
            .iter()
            .filter_map(|c| c.content.as_ref())
            .flat_map(|c| c.parts.iter())
            .filter_map(|p| p.thought_signature.as_deref())
            .filter(|s| !s.is_empty() && *s != SKIP_VALIDATOR)
            .map(|s| self.key(s))
            .collect();
        if keys.is_empty() {
            return;
        }
        let mut seen = self.seen.lock();
        let (map, order) = &mut *seen;
        for key in keys {
            if map.insert(key, family).is_none() {
                order.push_back(key);
            }
        }
        while order.len() > CAPACITY {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    pub fn family(&self, signature: &str) -> Option<Family> {
        self.seen.lock().0.get(&self.key(signature)).copied()
    }

    /// The request as `model` accepts it: borrowed when its history already
    /// fits (the common case: no copy of a large conversation).
    pub fn fit<'a>(
        &self,
        request: &'a GenerateContentRequest,
        model: &str,
    ) -> Cow<'a, GenerateContentRequest> {
        let target = Family::of_model(model);
        let needs = request
            .contents
            .iter()
            .filter(|c| c.role.as_deref() == Some("model"))
            .flat_map(|c| c.parts.iter())
            .any(|p| {
                let signature = p.thought_signature.as_deref();
                let foreign = signature
                    .filter(|s| *s != SKIP_VALIDATOR)
                    .and_then(|s| self.family(s))
                    .is_some_and(|f| f != target);
                let claude_misfit = target == Family::Claude
                    && (signature == Some(SKIP_VALIDATOR)
                        || (p.thought == Some(true)
                            && (signature.is_none()
                                || p.text.as_deref().is_none_or(str::is_empty))));
                foreign || claude_misfit
            });
        if !needs {
            return Cow::Borrowed(request);
        }
        let mut fitted = request.clone();
        fit_signatures(&mut fitted.contents, target, |s| self.family(s));
        Cow::Owned(fitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(signature: &str) -> GenerateContentResponse {
        serde_json::from_value(
            serde_json::json!({"candidates": [{"content": {"role": "model",
            "parts": [{"text": "t", "thought": true, "thoughtSignature": signature}]}}]}),
        )
        .unwrap()
    }

    #[test]
    fn remembers_families_and_forgets_the_oldest() {
        let book = SignatureBook::default();
        book.record(&answer("A"), "claude-opus-4-6-thinking");
        book.record(&answer("B"), "gemini-3-flash");
        assert_eq!(book.family("A"), Some(Family::Claude));
        assert_eq!(book.family("B"), Some(Family::Gemini));
        assert_eq!(book.family("C"), None);
        for i in 0..CAPACITY {
            book.record(&answer(&format!("x{i}")), "gemini-3-flash");
        }
        assert_eq!(book.family("A"), None, "the oldest went first");
        assert_eq!(book.seen.lock().0.len(), CAPACITY);
    }

    #[test]
    fn a_fitting_request_is_not_copied() {
        let book = SignatureBook::default();
        book.record(&answer("G"), "gemini-3-flash");
        let request: GenerateContentRequest = serde_json::from_value(serde_json::json!({
            "contents": [{"role": "model", "parts": [{"text": "t", "thought": true, "thoughtSignature": "G"}]}]
        }))
        .unwrap();
        assert!(matches!(
            book.fit(&request, "gemini-2.5-pro"),
            Cow::Borrowed(_)
        ));
        let fitted = book.fit(&request, "claude-sonnet-4-6");
        assert!(matches!(fitted, Cow::Owned(_)));
        assert!(
            fitted.contents[0].parts.is_empty(),
            "the Gemini thought went"
        );
    }
}
