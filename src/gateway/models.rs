//! Which upstream model serves a client's model name: the user's `[models]`
//! table first (exact names, then the longest matching glob), then Google's
//! own forwarding rules for retired ids, then a model the accounts offer by
//! that name, then built-in defaults for Claude names (the Claude models the
//! accounts offer, else Gemini) and GPT names; anything else passes through.

use std::collections::BTreeMap;

/// Built-in mappings for names that are not Gemini models. Checked after the
/// user's table, in order.
const DEFAULT_MAPPINGS: &[(&str, &str)] = &[
    ("claude-*haiku*", "gemini-2.5-flash"),
    ("claude-*", "gemini-2.5-pro"),
    ("gpt-*mini*", "gemini-2.5-flash"),
    ("gpt-*nano*", "gemini-2.5-flash"),
    ("gpt-*", "gemini-2.5-pro"),
    ("o1*", "gemini-2.5-pro"),
    ("o3*", "gemini-2.5-pro"),
    ("o4*", "gemini-2.5-pro"),
];

/// Claude names go to the Claude models Google offers, when an account has
/// them (checked before [`DEFAULT_MAPPINGS`]).
const CLAUDE_MAPPINGS: &[(&str, &str)] = &[
    ("claude-opus-*", "claude-opus-4-6-thinking"),
    ("claude-sonnet-*", "claude-sonnet-4-6"),
    ("claude-haiku-*", "claude-sonnet-4-6"),
    ("claude-*", "claude-sonnet-4-6"),
];

/// What the accounts offer, as model resolution needs it.
pub trait Offered {
    /// Whether some usable account offers `model` (`false` when unknown).
    fn offers(&self, model: &str) -> bool;
    /// Google's replacement for a retired id.
    fn forwarded(&self, model: &str) -> Option<String>;
}

impl Offered for crate::pool::Pool {
    fn offers(&self, model: &str) -> bool {
        self.offered(model) == Some(true)
    }

    fn forwarded(&self, model: &str) -> Option<String> {
        crate::pool::Pool::forwarded(self, model)
    }
}

/// The 404 for a model no account offers, naming some that exist, when the
/// accounts' catalogs say so (without catalogs the upstream decides).
pub fn check_offered(
    pool: &crate::pool::Pool,
    requested: &str,
    upstream: &str,
) -> Result<(), super::GatewayError> {
    // A model name goes into the upstream's URL, body and User-Agent: one
    // with control characters is the client's mistake, not the upstream's.
    for name in [requested, upstream] {
        if name.trim().is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
            return Err(super::GatewayError::bad_request(format!(
                "`{}` is not a model name (empty, too long, or with control characters)",
                name.chars().take(80).collect::<String>().escape_debug()
            ))
            .with_code("invalid_model"));
        }
    }
    // `NAME:model` asks that upstream for its own model name: it decides.
    let pinned = pinned_upstream(upstream, |name| {
        pool.snapshot()
            .iter()
            .any(|a| a.is_upstream() && a.email.eq_ignore_ascii_case(name))
    });
    if pinned.is_some() || pool.offered(upstream) != Some(false) {
        return Ok(());
    }
    let available = pool.models();
    let shown: Vec<&str> = available.iter().take(12).map(String::as_str).collect();
    let more = available.len().saturating_sub(shown.len());
    let via = if requested == upstream {
        String::new()
    } else {
        format!(" (asked as `{requested}`)")
    };
    Err(super::GatewayError::new(
        axum::http::StatusCode::NOT_FOUND,
        super::error::ErrorKind::NotFound,
        format!(
            "model `{upstream}`{via} is not offered by any account; available: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more (GET /v1/models)")
            } else {
                String::new()
            }
        ),
    )
    .with_code("model_not_found"))
}

/// Models listed when no account has reported its models yet.
pub const KNOWN_MODELS: &[&str] = &[
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.5-pro",
    "gemini-3-flash-preview",
    "gemini-3-pro-preview",
];

/// The most answers one request may ask for (`n`, `candidateCount`).
pub const MAX_CANDIDATES: u32 = 8;

/// The largest output any upstream model accepts.
pub const MAX_OUTPUT_TOKENS: u32 = 65_536;

/// Brings a request within what `model` accepts: thinking budgets above the
/// model's maximum (Claude Code asks for 31,999) are lowered to it, and so is
/// an output limit above any model's. Dynamic budgets (-1) stay.
pub fn fit_limits(request: &mut crate::protocol::gemini::GenerateContentRequest, model: &str) {
    let Some(config) = request.generation_config.as_mut() else {
        return;
    };
    if let Some(max) = config.max_output_tokens.as_mut() {
        *max = (*max).min(MAX_OUTPUT_TOKENS);
    }
    if let Some(count) = config.candidate_count.as_mut() {
        *count = (*count).clamp(1, MAX_CANDIDATES);
    }
    let budget_limit: i64 = if model.contains("flash") {
        24_576
    } else {
        32_768
    };
    if let Some(budget) = config
        .thinking_config
        .as_mut()
        .and_then(|t| t.thinking_budget.as_mut())
        && *budget > budget_limit
    {
        *budget = budget_limit;
    }
}

/// The upstream model for `requested` (a `models/` prefix is dropped).
pub fn upstream_model(
    mappings: &BTreeMap<String, String>,
    requested: &str,
    offered: &impl Offered,
) -> String {
    let requested = requested.strip_prefix("models/").unwrap_or(requested);
    if let Some(target) = mappings.get(requested) {
        return target.clone();
    }
    let user_glob = mappings
        .iter()
        .filter(|(pattern, _)| glob_matches(pattern, requested))
        .max_by_key(|(pattern, _)| pattern.len())
        .map(|(_, target)| target.clone());
    if let Some(target) = user_glob {
        return target;
    }
    if let Some(target) = offered.forwarded(requested) {
        return target;
    }
    if offered.offers(requested) {
        return requested.to_owned();
    }
    if let Some((_, target)) = CLAUDE_MAPPINGS
        .iter()
        .find(|(pattern, target)| glob_matches(pattern, requested) && offered.offers(target))
    {
        return (*target).to_owned();
    }
    DEFAULT_MAPPINGS
        .iter()
        .find(|(pattern, _)| glob_matches(pattern, requested))
        .map(|(_, target)| (*target).to_owned())
        .unwrap_or_else(|| requested.to_owned())
}

pub use crate::glob::matches as glob_matches;

/// The `[routing]` rule for `model`: an exact key, else the longest glob
/// that matches.
pub fn routing_rule<'a>(
    routing: &'a BTreeMap<String, Vec<String>>,
    model: &str,
) -> Option<&'a [String]> {
    if let Some(names) = routing.get(model) {
        return Some(names);
    }
    routing
        .iter()
        .filter(|(pattern, _)| glob_matches(pattern, model))
        .max_by_key(|(pattern, _)| pattern.len())
        .map(|(_, names)| names.as_slice())
}

/// A mapping's target that names an upstream's own model
/// (`openrouter:openai/gpt-4o`): the upstream and its model, when `name` is
/// one of `upstreams`.
pub fn pinned_upstream(model: &str, is_upstream: impl Fn(&str) -> bool) -> Option<(&str, &str)> {
    let (name, rest) = model.split_once(':')?;
    (!rest.is_empty() && is_upstream(name)).then_some((name, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing known about the accounts: the built-in defaults alone.
    struct NothingOffered;

    impl Offered for NothingOffered {
        fn offers(&self, _: &str) -> bool {
            false
        }

        fn forwarded(&self, _: &str) -> Option<String> {
            None
        }
    }

    #[test]
    fn limits_fit_the_model() {
        use crate::protocol::gemini::{GenerateContentRequest, GenerationConfig, ThinkingConfig};
        let request = |budget: i64, max: u32| GenerateContentRequest {
            generation_config: Some(GenerationConfig {
                max_output_tokens: Some(max),
                thinking_config: Some(ThinkingConfig {
                    thinking_budget: Some(budget),
                    ..ThinkingConfig::default()
                }),
                ..GenerationConfig::default()
            }),
            ..GenerateContentRequest::default()
        };
        let fitted = |budget, max, model| {
            let mut r = request(budget, max);
            fit_limits(&mut r, model);
            let c = r.generation_config.unwrap();
            (
                c.thinking_config.unwrap().thinking_budget.unwrap(),
                c.max_output_tokens.unwrap(),
            )
        };
        assert_eq!(
            fitted(31_999, 128_000, "gemini-2.5-flash"),
            (24_576, 65_536)
        );
        assert_eq!(fitted(31_999, 32_000, "gemini-2.5-pro"), (31_999, 32_000));
        assert_eq!(
            fitted(40_000, 1_000, "gemini-3-pro-preview"),
            (32_768, 1_000)
        );
        assert_eq!(fitted(-1, 1_000, "gemini-2.5-flash"), (-1, 1_000));
    }

    #[test]
    fn globs() {
        assert!(glob_matches("gpt-4*", "gpt-4o"));
        assert!(glob_matches("gpt-4*", "GPT-4"));
        assert!(glob_matches("*sonnet*", "claude-sonnet-4-5"));
        assert!(glob_matches("o?-mini", "o3-mini"));
        assert!(!glob_matches("gpt-4*", "gpt-5"));
        assert!(!glob_matches("o?-mini", "o3-mini-high"));
        assert!(glob_matches("*", ""));
        // Names outside ASCII take the general path, case-insensitively too.
        assert!(glob_matches("modèle-*", "MODÈLE-Rapide"));
        assert!(!glob_matches("modèle-?", "modèle-ab"));
    }

    #[test]
    fn user_table_then_defaults_then_passthrough() {
        let mut table = BTreeMap::new();
        table.insert("gpt-4*".to_owned(), "gemini-2.5-flash".to_owned());
        table.insert(
            "gpt-4o-special".to_owned(),
            "gemini-3-pro-preview".to_owned(),
        );
        table.insert("gpt-4o*".to_owned(), "gemini-2.5-pro".to_owned());
        let upstream_model = |table: &BTreeMap<String, String>, model: &str| {
            upstream_model(table, model, &NothingOffered)
        };
        assert_eq!(
            upstream_model(&table, "gpt-4o-special"),
            "gemini-3-pro-preview"
        );
        assert_eq!(upstream_model(&table, "gpt-4o-mini"), "gemini-2.5-pro");
        assert_eq!(upstream_model(&table, "gpt-4.1"), "gemini-2.5-flash");
        assert_eq!(upstream_model(&table, "gpt-5-mini"), "gemini-2.5-flash");
        assert_eq!(upstream_model(&table, "claude-opus-5-5"), "gemini-2.5-pro");
        assert_eq!(
            upstream_model(&table, "claude-haiku-5-5"),
            "gemini-2.5-flash"
        );
        assert_eq!(
            upstream_model(&table, "models/gemini-3.8-flash"),
            "gemini-3.8-flash"
        );
        assert_eq!(
            upstream_model(&BTreeMap::new(), "gemini-2.5-pro"),
            "gemini-2.5-pro"
        );
    }

    /// Accounts that offer `models`, with Google's forwarding `rules`.
    struct Offers(
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    );

    impl Offered for Offers {
        fn offers(&self, model: &str) -> bool {
            self.0.contains(&model)
        }

        fn forwarded(&self, model: &str) -> Option<String> {
            self.1
                .iter()
                .find(|(old, _)| *old == model)
                .map(|(_, new)| (*new).to_owned())
        }
    }

    #[test]
    fn claude_names_reach_the_claude_models_offered_else_gemini() {
        let antigravity = Offers(
            &[
                "claude-opus-4-6-thinking",
                "claude-sonnet-4-6",
                "gemini-3-flash",
            ],
            &[("gemini-3-pro-preview", "gemini-3.1-pro-low")],
        );
        let none = BTreeMap::new();
        for (asked, served) in [
            ("claude-opus-4-6", "claude-opus-4-6-thinking"),
            ("claude-opus-4-1-20250805", "claude-opus-4-6-thinking"),
            ("claude-sonnet-4-5", "claude-sonnet-4-6"),
            ("claude-haiku-4-5-20251001", "claude-sonnet-4-6"),
            ("claude-sonnet-4-6", "claude-sonnet-4-6"),
            ("gemini-3-pro-preview", "gemini-3.1-pro-low"),
            ("gemini-3-flash", "gemini-3-flash"),
            ("gpt-5", "gemini-2.5-pro"),
        ] {
            assert_eq!(
                upstream_model(&none, asked, &antigravity),
                served,
                "{asked}"
            );
        }
        // Only Gemini offered: the Gemini fallback.
        let gemini_only = Offers(&["gemini-2.5-pro", "gemini-2.5-flash"], &[]);
        assert_eq!(
            upstream_model(&none, "claude-opus-4-6", &gemini_only),
            "gemini-2.5-pro"
        );
        // The user's table still wins over everything.
        let mut table = BTreeMap::new();
        table.insert("claude-*".to_owned(), "gemini-3-flash".to_owned());
        assert_eq!(
            upstream_model(&table, "claude-opus-4-6", &antigravity),
            "gemini-3-flash"
        );
    }
}
