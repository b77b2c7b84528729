//! Accounts and their quotas.

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, now_unix};
use crate::secret::Secret;

/// The lasting state of an account, as the user sees it. Cool-downs per model
/// are kept apart (they expire by themselves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// Switched off by the user.
    Disabled,
    /// Google refused the refresh token (`invalid_grant`): sign in again.
    NeedsRelogin,
    /// Google answered 403: the account must be verified (the reason holds the link).
    Forbidden,
    /// Google no longer serves this account through its OAuth client
    /// (`UNSUPPORTED_CLIENT`, e.g. a personal account on the Gemini CLI client
    /// since 2026-06-18). The reason holds Google's message and the options.
    ClientRetired,
    /// Google suspended the account ("disabled in this account for violation of
    /// Terms of Service"); the link is the appeal form when Google gave one.
    Suspended,
    /// An API-key upstream refused its key (401/403, `API_KEY_INVALID`): not
    /// tried again until the user changes or enables it.
    KeyRejected,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::NeedsRelogin => "needs_relogin",
            Self::Forbidden => "forbidden",
            Self::ClientRetired => "client_retired",
            Self::Suspended => "suspended",
            Self::KeyRejected => "key_rejected",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "disabled" => Self::Disabled,
            "needs_relogin" => Self::NeedsRelogin,
            "forbidden" => Self::Forbidden,
            "client_retired" => Self::ClientRetired,
            "suspended" => Self::Suspended,
            "key_rejected" => Self::KeyRejected,
            _ => Self::Active,
        }
    }

    /// How the window, the tray, the CLI and the API show it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled by user",
            Self::NeedsRelogin => "needs re-login",
            Self::Forbidden => "forbidden / needs verification",
            Self::ClientRetired => "client retired",
            Self::Suspended => "suspended by Google",
            Self::KeyRejected => "key rejected",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AccountRecord {
    pub id: i64,
    pub email: String,
    pub upstream: String,
    pub oauth_client: String,
    pub refresh_token: Secret,
    pub access_token: Option<Secret>,
    /// Unix seconds.
    pub access_expires_at: Option<i64>,
    pub project_id: Option<String>,
    pub tier: Option<String>,
    pub status: AccountStatus,
    pub status_reason: Option<String>,
    /// Where to fix a "needs verification" status.
    pub status_link: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// The models Google offers this account, when it said.
    pub catalog: Option<super::ModelCatalog>,
    /// Its quota windows (group × 5 h / weekly), when Google reports them.
    pub windows: Vec<super::QuotaWindow>,
    /// An API-key upstream's settings (`None`: a Google account).
    pub settings: Option<super::UpstreamSettings>,
}

impl AccountRecord {
    /// A Google account (not an API-key upstream).
    pub fn is_google(&self) -> bool {
        self.settings.is_none()
    }
}

/// What `accounts add` learned about an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub upstream: String,
    pub oauth_client: String,
    pub refresh_token: Secret,
    pub access_token: Option<Secret>,
    pub access_expires_at: Option<i64>,
    pub project_id: Option<String>,
    pub tier: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upserted {
    pub id: i64,
    pub created: bool,
}

/// The upstream's quota for one model of one account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaRecord {
    pub model: String,
    /// 0.0 (none left) to 1.0 (all left).
    pub remaining_fraction: Option<f64>,
    /// Unix seconds.
    pub reset_at: Option<i64>,
    pub updated_at: i64,
}

const ACCOUNT_COLUMNS: &str = "id, email, upstream, oauth_client, refresh_token, access_token, \
     access_expires_at, project_id, tier, status, status_reason, created_at, last_used_at, status_link, \
     catalog_json, windows_json, settings_json";

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<AccountRecord> {
    Ok(AccountRecord {
        id: row.get(0)?,
        email: row.get(1)?,
        upstream: row.get(2)?,
        oauth_client: row.get(3)?,
        refresh_token: Secret::new(row.get::<_, String>(4)?),
        access_token: row.get::<_, Option<String>>(5)?.map(Secret::new),
        access_expires_at: row.get(6)?,
        project_id: row.get(7)?,
        tier: row.get(8)?,
        status: AccountStatus::parse(&row.get::<_, String>(9)?),
        status_reason: row.get(10)?,
        created_at: row.get(11)?,
        last_used_at: row.get(12)?,
        status_link: row.get(13)?,
        // A column that does not parse (written by a newer build) reads as
        // unknown; the next poll writes it again.
        catalog: row
            .get::<_, Option<String>>(14)?
            .and_then(|text| serde_json::from_str(&text).ok()),
        windows: row
            .get::<_, Option<String>>(15)?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default(),
        // An upstream row whose settings do not parse is kept out of use
        // rather than taken for a Google account.
        settings: row
            .get::<_, Option<String>>(16)?
            .map(|text| {
                serde_json::from_str(&text).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        16,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })
            })
            .transpose()?,
    })
}

impl Store {
    /// Adds the account, or updates the one with the same upstream and email
    /// (a fresh sign-in also clears a "needs re-login" status).
    pub fn upsert_account(&self, account: &NewAccount) -> Result<Upserted, StoreError> {
        self.with_conn(|conn| {
            // Reads then writes: take the write lock first, so a write from
            // another process in between cannot fail it (SQLITE_BUSY_SNAPSHOT).
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM accounts WHERE upstream = ?1 AND email = ?2",
                    params![account.upstream, account.email],
                    |r| r.get(0),
                )
                .optional()?;
            let upserted = match existing {
                Some(id) => {
                    tx.execute(
                        "UPDATE accounts SET oauth_client = ?2, refresh_token = ?3, access_token = ?4,
                           access_expires_at = ?5, project_id = ?6, tier = ?7,
                           status = CASE WHEN status = 'disabled' THEN status ELSE 'active' END,
                           status_reason = CASE WHEN status = 'disabled' THEN status_reason ELSE NULL END,
                           status_link = CASE WHEN status = 'disabled' THEN status_link ELSE NULL END
                         WHERE id = ?1",
                        params![
                            id,
                            account.oauth_client,
                            account.refresh_token.expose(),
                            account.access_token.as_ref().map(Secret::expose),
                            account.access_expires_at,
                            account.project_id,
                            account.tier,
                        ],
                    )?;
                    Upserted { id, created: false }
                }
                None => {
                    tx.execute(
                        "INSERT INTO accounts (email, upstream, oauth_client, refresh_token, access_token,
                           access_expires_at, project_id, tier, status, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active', ?9)",
                        params![
                            account.email,
                            account.upstream,
                            account.oauth_client,
                            account.refresh_token.expose(),
                            account.access_token.as_ref().map(Secret::expose),
                            account.access_expires_at,
                            account.project_id,
                            account.tier,
                            now_unix(),
                        ],
                    )?;
                    Upserted {
                        id: tx.last_insert_rowid(),
                        created: true,
                    }
                }
            };
            tx.commit()?;
            Ok(upserted)
        })
    }

    pub fn accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id"
            ))?;
            let rows = stmt.query_map([], account_from_row)?;
            rows.collect()
        })
    }

    /// The account whose id or email is `reference`.
    pub fn find_account(&self, reference: &str) -> Result<AccountRecord, StoreError> {
        let id: Option<i64> = reference.parse().ok();
        self.with_conn(|conn| {
            conn.query_row(
                &format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1 OR lower(email) = lower(?2)
                     ORDER BY id LIMIT 1"
                ),
                params![id, reference],
                account_from_row,
            )
            .optional()
        })?
        .ok_or_else(|| StoreError::NoSuchAccount(reference.to_owned()))
    }

    /// Removes the account (and its quotas); returns what was removed.
    pub fn remove_account(&self, reference: &str) -> Result<AccountRecord, StoreError> {
        let account = self.find_account(reference)?;
        self.with_conn(|conn| conn.execute("DELETE FROM accounts WHERE id = ?1", [account.id]))?;
        Ok(account)
    }

    pub fn save_access_token(
        &self,
        id: i64,
        access_token: &Secret,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            conn.prepare_cached(
                "UPDATE accounts SET access_token = ?2, access_expires_at = ?3 WHERE id = ?1",
            )?
            .execute(params![id, access_token.expose(), expires_at])
        })?;
        Ok(())
    }

    pub fn touch_last_used(&self, id: i64, at: i64) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            conn.prepare_cached("UPDATE accounts SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![id, at])
        })?;
        Ok(())
    }

    pub fn set_status(
        &self,
        id: i64,
        status: AccountStatus,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.set_status_with_link(id, status, reason, None)
    }

    pub fn set_status_with_link(
        &self,
        id: i64,
        status: AccountStatus,
        reason: Option<&str>,
        link: Option<&str>,
    ) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            conn.prepare_cached("UPDATE accounts SET status = ?2, status_reason = ?3, status_link = ?4 WHERE id = ?1")?
                .execute(params![id, status.as_str(), reason, link])
        })?;
        Ok(())
    }

    /// Replaces every quota of the account with `quotas`.
    pub fn replace_quotas(
        &self,
        account_id: i64,
        quotas: &[QuotaRecord],
    ) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM quotas WHERE account_id = ?1", [account_id])?;
            {
                let mut insert = tx.prepare(
                    "INSERT INTO quotas (account_id, model, remaining_fraction, reset_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for q in quotas {
                    insert.execute(params![
                        account_id,
                        q.model,
                        q.remaining_fraction,
                        q.reset_at,
                        q.updated_at
                    ])?;
                }
            }
            tx.commit()
        })
    }

    /// Every quota, with the id of its account, ordered by account and model.
    pub fn quotas(&self) -> Result<Vec<(i64, QuotaRecord)>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(
                "SELECT account_id, model, remaining_fraction, reset_at, updated_at FROM quotas
                 ORDER BY account_id, model",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    QuotaRecord {
                        model: r.get(1)?,
                        remaining_fraction: r.get(2)?,
                        reset_at: r.get(3)?,
                        updated_at: r.get(4)?,
                    },
                ))
            })?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_account(email: &str, token: &str) -> NewAccount {
        NewAccount {
            email: email.to_owned(),
            upstream: "google".to_owned(),
            oauth_client: "gemini-cli".to_owned(),
            refresh_token: Secret::new(token),
            access_token: Some(Secret::new("ya29.a")),
            access_expires_at: Some(100),
            project_id: Some("proj-1".to_owned()),
            tier: Some("free-tier".to_owned()),
        }
    }

    #[test]
    fn re_adding_an_email_updates_it() {
        let store = Store::open_in_memory().unwrap();
        let first = store
            .upsert_account(&new_account("a@example.com", "r1"))
            .unwrap();
        assert!(first.created);
        store
            .set_status(first.id, AccountStatus::NeedsRelogin, Some("invalid_grant"))
            .unwrap();
        let second = store
            .upsert_account(&new_account("a@example.com", "r2"))
            .unwrap();
        assert_eq!(
            second,
            Upserted {
                id: first.id,
                created: false
            }
        );
        let all = store.accounts().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].refresh_token.expose(), "r2");
        assert_eq!(all[0].status, AccountStatus::Active);
        assert_eq!(all[0].status_reason, None);
    }

    #[test]
    fn find_and_remove_by_id_or_email() {
        let store = Store::open_in_memory().unwrap();
        let a = store
            .upsert_account(&new_account("a@example.com", "r1"))
            .unwrap();
        store
            .upsert_account(&new_account("b@example.com", "r2"))
            .unwrap();
        store
            .replace_quotas(
                a.id,
                &[QuotaRecord {
                    model: "gemini-2.5-pro".to_owned(),
                    remaining_fraction: Some(0.5),
                    reset_at: Some(10),
                    updated_at: 1,
                }],
            )
            .unwrap();
        assert_eq!(
            store.find_account("B@example.com").unwrap().email,
            "b@example.com"
        );
        assert_eq!(
            store.remove_account(&a.id.to_string()).unwrap().email,
            "a@example.com"
        );
        assert!(
            store.quotas().unwrap().is_empty(),
            "quotas go with the account"
        );
        assert!(matches!(
            store.remove_account("a@example.com"),
            Err(StoreError::NoSuchAccount(_))
        ));
    }

    #[test]
    fn file_is_private_and_sees_other_connections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("switchyard.db");
        let one = Store::open(&path).unwrap();
        let two = Store::open(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let before = one.data_version().unwrap();
        two.upsert_account(&new_account("a@example.com", "r1"))
            .unwrap();
        assert_ne!(one.data_version().unwrap(), before);
        assert_eq!(one.accounts().unwrap().len(), 1);
    }
}
