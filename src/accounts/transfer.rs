//! Import and export of accounts as JSON: `[{"email"?, "refresh_token",
//! "client"?}]`. `client` is the OAuth client that issued the token
//! (`gemini-cli`, `antigravity`, or a custom profile); without it each
//! built-in client is tried. `oauth_client` is read as the same key.
//! The export holds refresh tokens: it is written with mode 0600.

use serde::{Deserialize, Serialize};

use super::{AddAccountError, AddedAccount, add_with_refresh_token};
use crate::config::Config;
use crate::secret::Secret;
use crate::store::{Store, StoreError};
use crate::upstream::google::GoogleClient;

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub refresh_token: String,
    #[serde(
        default,
        rename = "client",
        alias = "oauth_client",
        skip_serializing_if = "Option::is_none"
    )]
    pub oauth_client: Option<String>,
}

/// By hand, so a refresh token never reaches a log.
impl std::fmt::Debug for AccountEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountEntry")
            .field("email", &self.email)
            .field("refresh_token", &"[redacted]")
            .field("client", &self.oauth_client)
            .finish()
    }
}

/// Reads an import file's text.
pub fn parse(text: &str) -> Result<Vec<AccountEntry>, String> {
    let entries: Vec<AccountEntry> = serde_json::from_str(text).map_err(|e| {
        format!("expected a JSON list of {{\"email\", \"refresh_token\"}} objects: {e}")
    })?;
    if let Some(index) = entries
        .iter()
        .position(|e| e.refresh_token.trim().is_empty())
    {
        return Err(format!("entry {} has an empty refresh_token", index + 1));
    }
    Ok(entries)
}

/// What importing one entry did.
#[derive(Debug)]
pub enum ImportOutcome {
    Added(AddedAccount),
    Updated(AddedAccount),
    Failed {
        email: Option<String>,
        error: AddAccountError,
    },
}

/// Adds every entry (each checked live, one after the other), calling
/// `progress` after each so a long import shows where it is.
pub async fn import(
    client: &GoogleClient,
    config: &Config,
    store: &Store,
    entries: Vec<AccountEntry>,
    mut progress: impl FnMut(usize, &ImportOutcome),
) -> Vec<ImportOutcome> {
    let mut outcomes = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let result = add_with_refresh_token(
            client,
            config,
            store,
            Secret::new(entry.refresh_token.trim()),
            entry.oauth_client.as_deref(),
            None,
        )
        .await;
        let outcome = match result {
            Ok(added) if added.created => ImportOutcome::Added(added),
            Ok(added) => ImportOutcome::Updated(added),
            Err(error) => ImportOutcome::Failed {
                email: entry.email,
                error,
            },
        };
        progress(index, &outcome);
        outcomes.push(outcome);
    }
    outcomes
}

/// Every stored account as an import file's text.
pub fn export(store: &Store) -> Result<String, StoreError> {
    let entries: Vec<AccountEntry> = store
        .accounts()?
        .into_iter()
        .filter(crate::store::AccountRecord::is_google)
        .map(|a| AccountEntry {
            email: Some(a.email),
            refresh_token: a.refresh_token.expose().to_owned(),
            oauth_client: Some(a.oauth_client),
        })
        .collect();
    Ok(serde_json::to_string_pretty(&entries).unwrap_or_else(|_| "[]".to_owned()) + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_the_documented_shape_and_names_problems() {
        let entries = parse(
            r#"[{"email": "a@example.com", "refresh_token": "1//a"}, {"refresh_token": "1//b"}]"#,
        )
        .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].email, None);
        assert!(
            parse(r#"{"refresh_token": "x"}"#)
                .unwrap_err()
                .contains("JSON list")
        );
        assert!(
            parse(r#"[{"email": "a"}]"#)
                .unwrap_err()
                .contains("refresh_token")
        );
        assert!(
            parse(r#"[{"refresh_token": " "}]"#)
                .unwrap_err()
                .contains("entry 1")
        );
    }

    #[test]
    fn debug_hides_the_refresh_token() {
        let entry = &parse(r#"[{"refresh_token": "1//secret-token"}]"#).unwrap()[0];
        assert!(!format!("{entry:?}").contains("1//secret"));
    }

    #[test]
    fn export_lists_every_account() {
        let store = Store::open_in_memory().unwrap();
        store
            .upsert_account(&crate::store::NewAccount {
                email: "a@example.com".into(),
                upstream: "google".into(),
                oauth_client: "gemini-cli".into(),
                refresh_token: Secret::new("1//a"),
                access_token: None,
                access_expires_at: None,
                project_id: None,
                tier: None,
            })
            .unwrap();
        let text = export(&store).unwrap();
        assert_eq!(
            parse(&text).unwrap(),
            vec![AccountEntry {
                email: Some("a@example.com".into()),
                refresh_token: "1//a".into(),
                oauth_client: Some("gemini-cli".into())
            }]
        );
    }
}
