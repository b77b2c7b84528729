//! What Google says an account offers: its models (`fetchAvailableModels`)
//! with Google's forwarding rules for retired ids, and its quota windows
//! (`retrieveUserQuotaSummary`: a 5-hour and a weekly window per group).
//! Stored as JSON on the account row.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

/// One model an account may use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    #[serde(default)]
    pub thinking: bool,
    /// Can answer with images.
    #[serde(default)]
    pub image_output: bool,
}

impl ModelInfo {
    /// A model known by its id (and maybe a display name) alone.
    pub fn named(id: impl Into<String>, display_name: Option<String>) -> Self {
        Self {
            id: id.into(),
            display_name,
            max_input_tokens: None,
            max_output_tokens: None,
            thinking: false,
            image_output: false,
        }
    }
}

/// The models of one account, and Google's `deprecatedModelIds` (old id →
/// the id that replaced it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelCatalog {
    pub models: Vec<ModelInfo>,
    #[serde(default)]
    pub deprecated: BTreeMap<String, String>,
    /// Unix seconds.
    pub updated_at: i64,
}

impl ModelCatalog {
    pub fn offers(&self, model: &str) -> bool {
        self.models.iter().any(|m| m.id == model)
    }

    /// Where Google forwards a retired id (followed up to a few hops).
    pub fn forwarded(&self, model: &str) -> Option<&str> {
        let mut current = self.deprecated.get(model)?.as_str();
        for _ in 0..4 {
            match self.deprecated.get(current) {
                Some(next) => current = next,
                None => break,
            }
        }
        Some(current)
    }
}

/// One quota window of a group: how much is left and when it resets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaWindow {
    /// `gemini` (Gemini models) or `3p` (Claude and GPT models).
    pub group: String,
    /// `5h` or `weekly`.
    pub window: String,
    /// 0.0 (none left) to 1.0.
    pub remaining_fraction: Option<f64>,
    /// Unix seconds.
    pub reset_at: Option<i64>,
}

/// The quota group a model counts against: `3p` for Claude and GPT models,
/// `gemini` for the rest (google-2026.md §4).
pub fn model_group(model: &str) -> &'static str {
    let model = model.to_ascii_lowercase();
    if model.starts_with("claude") || model.starts_with("gpt") {
        "3p"
    } else {
        "gemini"
    }
}

impl Store {
    /// Saves the account's model catalog.
    pub fn set_catalog(&self, account_id: i64, catalog: &ModelCatalog) -> Result<(), StoreError> {
        let text = serde_json::to_string(catalog).unwrap_or_default();
        self.with_conn(|conn| {
            conn.prepare_cached("UPDATE accounts SET catalog_json = ?2 WHERE id = ?1")?
                .execute(params![account_id, text])
        })?;
        Ok(())
    }

    /// Saves the account's quota windows (an empty list: none reported).
    pub fn set_windows(&self, account_id: i64, windows: &[QuotaWindow]) -> Result<(), StoreError> {
        let text = serde_json::to_string(windows).unwrap_or_default();
        self.with_conn(|conn| {
            conn.prepare_cached("UPDATE accounts SET windows_json = ?2 WHERE id = ?1")?
                .execute(params![account_id, text])
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::store::NewAccount;

    #[test]
    fn groups_follow_the_model_family() {
        assert_eq!(model_group("claude-opus-4-6-thinking"), "3p");
        assert_eq!(model_group("gpt-oss-120b-medium"), "3p");
        assert_eq!(model_group("gemini-3-flash"), "gemini");
        assert_eq!(model_group("Claude-Sonnet-4-6"), "3p");
    }

    #[test]
    fn forwarding_follows_chains_and_stops_on_loops() {
        let catalog = ModelCatalog {
            deprecated: [("a", "b"), ("b", "c"), ("x", "y"), ("y", "x")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ..ModelCatalog::default()
        };
        assert_eq!(catalog.forwarded("a"), Some("c"));
        assert!(catalog.forwarded("x").is_some());
        assert_eq!(catalog.forwarded("c"), None);
    }

    #[test]
    fn catalog_and_windows_round_trip_through_the_store() {
        let store = Store::open_in_memory().unwrap();
        let id = store
            .upsert_account(&NewAccount {
                email: "a@example.com".into(),
                upstream: "google".into(),
                oauth_client: "antigravity".into(),
                refresh_token: Secret::new("1//a"),
                access_token: None,
                access_expires_at: None,
                project_id: Some("p".into()),
                tier: None,
            })
            .unwrap()
            .id;
        let before = store.find_account("a@example.com").unwrap();
        assert_eq!(before.catalog, None);
        assert!(before.windows.is_empty());
        let catalog = ModelCatalog {
            models: vec![ModelInfo {
                id: "claude-sonnet-4-6".into(),
                display_name: Some("Claude Sonnet 4.6".into()),
                max_input_tokens: Some(200_000),
                max_output_tokens: Some(64_000),
                thinking: true,
                image_output: false,
            }],
            deprecated: BTreeMap::new(),
            updated_at: 5,
        };
        let windows = vec![QuotaWindow {
            group: "3p".into(),
            window: "weekly".into(),
            remaining_fraction: Some(0.25),
            reset_at: Some(99),
        }];
        store.set_catalog(id, &catalog).unwrap();
        store.set_windows(id, &windows).unwrap();
        let after = store.find_account("a@example.com").unwrap();
        assert_eq!(after.catalog, Some(catalog));
        assert_eq!(after.windows, windows);
    }
}
