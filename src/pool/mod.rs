//! The accounts the gateway may use right now, and the choice between them.
//!
//! The pool is an in-memory mirror of the store's accounts plus the state that
//! only matters while running (cached access tokens, the round-robin cursor).
//! It does no I/O: the gateway persists what changes and reloads the pool when
//! another process (the CLI) changed the database.

pub mod policy;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::secret::Secret;
use crate::store::{AccountRecord, AccountStatus, QuotaRecord};

/// An OAuth access token and when it stops working (Unix seconds).
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub value: Secret,
    pub expires_at: i64,
}

/// One account as the gateway uses it.
#[derive(Debug)]
pub struct PoolAccount {
    pub id: i64,
    pub email: String,
    pub oauth_client: String,
    pub project_id: Option<String>,
    pub tier: Option<String>,
    pub refresh_token: Secret,
    /// Models the upstream reported a quota for.
    pub models: Vec<String>,
    token: Mutex<Option<AccessToken>>,
    status: Mutex<(AccountStatus, Option<String>)>,
    /// Held while refreshing, so concurrent requests wait for one refresh
    /// instead of each sending their own (a refresh storm can get a token revoked).
    pub refresh_lock: tokio::sync::Mutex<()>,
}

impl PoolAccount {
    pub fn from_record(record: &AccountRecord, quotas: &[(i64, QuotaRecord)]) -> Self {
        let token = match (&record.access_token, record.access_expires_at) {
            (Some(value), Some(expires_at)) => Some(AccessToken {
                value: value.clone(),
                expires_at,
            }),
            _ => None,
        };
        Self {
            id: record.id,
            email: record.email.clone(),
            oauth_client: record.oauth_client.clone(),
            project_id: record.project_id.clone(),
            tier: record.tier.clone(),
            refresh_token: record.refresh_token.clone(),
            models: quotas
                .iter()
                .filter(|(id, _)| *id == record.id)
                .map(|(_, q)| q.model.clone())
                .collect(),
            token: Mutex::new(token),
            status: Mutex::new((record.status, record.status_reason.clone())),
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The cached access token if it is still good for at least `margin_secs`.
    pub fn usable_token(&self, now: i64, margin_secs: i64) -> Option<Secret> {
        self.token
            .lock()
            .as_ref()
            .filter(|t| t.expires_at - margin_secs > now)
            .map(|t| t.value.clone())
    }

    pub fn token(&self) -> Option<AccessToken> {
        self.token.lock().clone()
    }

    pub fn set_token(&self, token: AccessToken) {
        *self.token.lock() = Some(token);
    }

    /// Forgets the cached token (after the upstream rejected it).
    pub fn invalidate_token(&self) {
        *self.token.lock() = None;
    }

    pub fn status(&self) -> AccountStatus {
        self.status.lock().0
    }

    pub fn status_reason(&self) -> Option<String> {
        self.status.lock().1.clone()
    }

    pub fn set_status(&self, status: AccountStatus, reason: Option<String>) {
        *self.status.lock() = (status, reason);
    }

    pub fn is_usable(&self) -> bool {
        self.status() == AccountStatus::Active
    }
}

/// What [`Pool::pick`] found.
#[derive(Debug)]
pub enum Pick {
    Account(Arc<PoolAccount>),
    /// The pool has no accounts at all.
    NoAccounts,
    /// Accounts exist, but none can serve (all failed, disabled or already tried).
    NoneUsable {
        total: usize,
        unusable: Vec<(String, AccountStatus)>,
    },
}

#[derive(Default)]
pub struct Pool {
    // Readers take a snapshot (an `Arc` clone) and let go at once; the lock is
    // only written when the account list is reloaded.
    accounts: RwLock<Arc<Vec<Arc<PoolAccount>>>>,
    cursor: AtomicUsize,
}

impl Pool {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the account list with the store's, keeping the live state
    /// (cached tokens) of accounts whose credentials did not change.
    pub fn load(&self, records: &[AccountRecord], quotas: &[(i64, QuotaRecord)]) {
        let current = self.snapshot();
        let next: Vec<Arc<PoolAccount>> = records
            .iter()
            .map(|record| {
                let fresh = PoolAccount::from_record(record, quotas);
                if let Some(old) = current
                    .iter()
                    .find(|a| a.id == record.id && a.refresh_token == record.refresh_token)
                {
                    let newer = match (old.token(), fresh.token()) {
                        (Some(o), Some(f)) if o.expires_at > f.expires_at => Some(o),
                        (Some(o), None) => Some(o),
                        _ => None,
                    };
                    if let Some(token) = newer {
                        fresh.set_token(token);
                    }
                }
                Arc::new(fresh)
            })
            .collect();
        *self.accounts.write() = Arc::new(next);
    }

    pub fn snapshot(&self) -> Arc<Vec<Arc<PoolAccount>>> {
        self.accounts.read().clone()
    }

    pub fn len(&self) -> usize {
        self.accounts.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next usable account in round-robin order, skipping `exclude`.
    pub fn pick(&self, exclude: &[i64]) -> Pick {
        let accounts = self.snapshot();
        if accounts.is_empty() {
            return Pick::NoAccounts;
        }
        let start = self.cursor.fetch_add(1, Ordering::Relaxed);
        let count = accounts.len();
        for offset in 0..count {
            let account = &accounts[(start + offset) % count];
            if account.is_usable() && !exclude.contains(&account.id) {
                return Pick::Account(account.clone());
            }
        }
        Pick::NoneUsable {
            total: count,
            unusable: accounts
                .iter()
                .filter(|a| !a.is_usable())
                .map(|a| (a.email.clone(), a.status()))
                .collect(),
        }
    }

    /// Every model some usable account has a quota for, sorted.
    pub fn models(&self) -> Vec<String> {
        let mut models: Vec<String> = self
            .snapshot()
            .iter()
            .filter(|a| a.is_usable())
            .flat_map(|a| a.models.iter().cloned())
            .collect();
        models.sort();
        models.dedup();
        models
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: i64, status: AccountStatus) -> AccountRecord {
        AccountRecord {
            id,
            email: format!("a{id}@example.com"),
            upstream: "google".into(),
            oauth_client: "gemini-cli".into(),
            refresh_token: Secret::new(format!("r{id}")),
            access_token: None,
            access_expires_at: None,
            project_id: Some("p".into()),
            tier: None,
            status,
            status_reason: None,
            created_at: 0,
            last_used_at: None,
        }
    }

    fn picked(pool: &Pool, exclude: &[i64]) -> Option<i64> {
        match pool.pick(exclude) {
            Pick::Account(a) => Some(a.id),
            _ => None,
        }
    }

    #[test]
    fn round_robin_skips_unusable_and_excluded() {
        let pool = Pool::new();
        assert!(matches!(pool.pick(&[]), Pick::NoAccounts));
        pool.load(
            &[
                record(1, AccountStatus::Active),
                record(2, AccountStatus::Disabled),
                record(3, AccountStatus::Active),
            ],
            &[],
        );
        let picks: Vec<_> = (0..4).map(|_| picked(&pool, &[]).unwrap()).collect();
        assert_eq!(picks.iter().filter(|&&id| id == 1).count(), 2);
        assert_eq!(picks.iter().filter(|&&id| id == 3).count(), 2);
        assert_eq!(picked(&pool, &[1]), Some(3));
        match pool.pick(&[1, 3]) {
            Pick::NoneUsable { total, unusable } => {
                assert_eq!(total, 3);
                assert_eq!(
                    unusable,
                    vec![("a2@example.com".into(), AccountStatus::Disabled)]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reload_keeps_a_newer_cached_token() {
        let pool = Pool::new();
        pool.load(&[record(1, AccountStatus::Active)], &[]);
        pool.snapshot()[0].set_token(AccessToken {
            value: Secret::new("fresh"),
            expires_at: 1000,
        });
        pool.load(&[record(1, AccountStatus::Active)], &[]);
        assert_eq!(
            pool.snapshot()[0].usable_token(0, 60).unwrap().expose(),
            "fresh"
        );
        assert!(pool.snapshot()[0].usable_token(950, 60).is_none());
        // A new refresh token (account re-added) drops the old access token.
        let mut changed = record(1, AccountStatus::Active);
        changed.refresh_token = Secret::new("other");
        pool.load(&[changed], &[]);
        assert!(pool.snapshot()[0].token().is_none());
    }
}
