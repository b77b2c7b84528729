//! API-key upstreams (`gemini-api`, `vertex`, `openai`, `anthropic`): stored
//! as members of the `accounts` table beside Google accounts, so the pool, its
//! limits and the request log treat both alike. For such a row, `upstream` is
//! the kind, `email` the user's name for it, `refresh_token` the API key (or a
//! Vertex service account's JSON key) and `settings_json` the rest
//! ([`UpstreamSettings`]).

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, now_unix};
use crate::secret::Secret;

/// The `upstream` value of a Google account.
pub const GOOGLE: &str = "google";

/// What an API-key upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UpstreamKind {
    /// A Gemini API key (AI Studio): `generativelanguage.googleapis.com/v1beta`.
    #[serde(rename = "gemini-api")]
    GeminiApi,
    /// Vertex AI: an express-mode API key, or a service account's JSON key
    /// with a project and location.
    #[serde(rename = "vertex")]
    Vertex,
    /// Any OpenAI-compatible base URL (chat completions, `/models`).
    #[serde(rename = "openai")]
    OpenAi,
    /// The Anthropic Messages API or a compatible endpoint.
    #[serde(rename = "anthropic")]
    Anthropic,
}

impl UpstreamKind {
    pub const ALL: [Self; 4] = [Self::GeminiApi, Self::Vertex, Self::OpenAi, Self::Anthropic];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GeminiApi => "gemini-api",
            Self::Vertex => "vertex",
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Where the kind's public service is, when the user gives no base URL.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            Self::GeminiApi => Some("https://generativelanguage.googleapis.com"),
            Self::Vertex => Some("https://aiplatform.googleapis.com"),
            Self::OpenAi => Some("https://api.openai.com/v1"),
            Self::Anthropic => Some("https://api.anthropic.com"),
        }
    }
}

impl std::fmt::Display for UpstreamKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything about an API-key upstream but its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamSettings {
    pub kind: UpstreamKind,
    /// Without a trailing slash.
    pub base_url: String,
    /// Model globs it may serve (`gpt-4o*`); empty: whatever its `/models` lists.
    #[serde(default)]
    pub models: Vec<String>,
    /// Extra request headers (`OpenRouter`'s `HTTP-Referer`, a proxy's).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Lower goes first among upstreams when no `[routing]` rule applies.
    #[serde(default)]
    pub priority: i32,
    /// Vertex with a service account: the Cloud project and location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Vertex: the secret is a service account's JSON key (a token is
    /// minted from it), not an API key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub service_account: bool,
    /// Anthropic: send the key as `Authorization: Bearer` instead of
    /// `x-api-key` (some compatible endpoints want that).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bearer: bool,
}

impl UpstreamSettings {
    /// Whether `model` passes the `--models` globs (all pass without any).
    pub fn allows(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|g| crate::glob::matches(g, model))
    }
}

/// A new API-key upstream.
#[derive(Debug, Clone)]
pub struct NewUpstream {
    pub name: String,
    pub key: Secret,
    pub settings: UpstreamSettings,
}

impl Store {
    /// Adds an upstream; a name already used by an upstream or an account is
    /// refused (names are how routing rules and the CLI find them).
    pub fn add_upstream(&self, upstream: &NewUpstream) -> Result<i64, StoreError> {
        let settings = serde_json::to_string(&upstream.settings)
            .map_err(|e| StoreError::Task(e.to_string()))?;
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let taken: Option<i64> = tx
                .query_row(
                    "SELECT id FROM accounts WHERE lower(email) = lower(?1)",
                    [&upstream.name],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some() {
                return Ok(Err(StoreError::NameTaken(upstream.name.clone())));
            }
            tx.execute(
                "INSERT INTO accounts (email, upstream, oauth_client, refresh_token, status,
                   created_at, settings_json)
                 VALUES (?1, ?2, '', ?3, 'active', ?4, ?5)",
                params![
                    upstream.name,
                    upstream.settings.kind.as_str(),
                    upstream.key.expose(),
                    now_unix(),
                    settings
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(Ok(id))
        })?
    }

    /// Stores what the upstream's `/models` said (replacing the last answer).
    pub fn save_catalog(&self, id: i64, catalog: &super::ModelCatalog) -> Result<(), StoreError> {
        let text = serde_json::to_string(catalog).map_err(|e| StoreError::Task(e.to_string()))?;
        self.with_conn(|conn| {
            conn.execute(
                "UPDATE accounts SET catalog_json = ?2 WHERE id = ?1",
                params![id, text],
            )
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_by_name() {
        for kind in UpstreamKind::ALL {
            assert_eq!(UpstreamKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(UpstreamKind::parse("google"), None);
    }
}
