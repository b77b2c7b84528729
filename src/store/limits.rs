//! Limits on accounts that end by themselves: cool-downs and exhausted quotas,
//! per (account, model) or for the whole account.

use rusqlite::params;
use serde::Serialize;

use super::{Store, StoreError};

/// Why an account is held back until a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// A rate limit: short, the upstream said how long.
    CoolingDown,
    /// The quota is used up until it resets.
    QuotaExhausted,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CoolingDown => "cooling_down",
            Self::QuotaExhausted => "quota_exhausted",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "quota_exhausted" => Self::QuotaExhausted,
            _ => Self::CoolingDown,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitRecord {
    pub account_id: i64,
    /// `None`: the whole account.
    pub model: Option<String>,
    pub kind: LimitKind,
    /// Unix seconds.
    pub until: i64,
    pub reason: String,
}

impl Store {
    /// Records a limit, replacing an earlier one on the same (account, model).
    pub fn set_limit(&self, limit: &LimitRecord) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            conn.prepare_cached(
                "INSERT INTO limits (account_id, model, kind, until, reason) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (account_id, model) DO UPDATE SET kind = ?3, until = ?4, reason = ?5
                 WHERE ?4 > limits.until",
            )?
            .execute(params![
                    limit.account_id,
                    limit.model.as_deref().unwrap_or(""),
                    limit.kind.as_str(),
                    limit.until,
                    limit.reason
                ],
            )
        })?;
        Ok(())
    }

    /// Every limit still in force at `now`.
    pub fn limits(&self, now: i64) -> Result<Vec<LimitRecord>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(
                "SELECT account_id, model, kind, until, reason FROM limits WHERE until > ?1
                 ORDER BY account_id, model",
            )?;
            let rows = stmt.query_map([now], |r| {
                let model: String = r.get(1)?;
                Ok(LimitRecord {
                    account_id: r.get(0)?,
                    model: (!model.is_empty()).then_some(model),
                    kind: LimitKind::parse(&r.get::<_, String>(2)?),
                    until: r.get(3)?,
                    reason: r.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Forgets limits that ended before `now`; returns how many.
    pub fn clear_expired_limits(&self, now: i64) -> Result<usize, StoreError> {
        self.with_conn(|conn| conn.execute("DELETE FROM limits WHERE until <= ?1", [now]))
    }

    /// Forgets every limit of an account (after a fresh sign-in or a quota read
    /// that shows quota left).
    pub fn clear_limits(&self, account_id: i64, model: Option<&str>) -> Result<(), StoreError> {
        self.with_conn(|conn| match model {
            Some(model) => conn.execute(
                "DELETE FROM limits WHERE account_id = ?1 AND model = ?2",
                params![account_id, model],
            ),
            None => conn.execute("DELETE FROM limits WHERE account_id = ?1", [account_id]),
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
    fn limits_are_kept_replaced_and_expire() {
        let store = Store::open_in_memory().unwrap();
        let id = store
            .upsert_account(&NewAccount {
                email: "a@example.com".into(),
                upstream: "google".into(),
                oauth_client: "gemini-cli".into(),
                refresh_token: Secret::new("r"),
                access_token: None,
                access_expires_at: None,
                project_id: None,
                tier: None,
            })
            .unwrap()
            .id;
        let limit = |model: Option<&str>, until| LimitRecord {
            account_id: id,
            model: model.map(str::to_owned),
            kind: LimitKind::CoolingDown,
            until,
            reason: "rate".into(),
        };
        store.set_limit(&limit(Some("m"), 100)).unwrap();
        store.set_limit(&limit(Some("m"), 200)).unwrap();
        // A shorter one later does not cut the longer one short.
        store.set_limit(&limit(Some("m"), 150)).unwrap();
        store.set_limit(&limit(None, 50)).unwrap();
        assert_eq!(store.limits(0).unwrap().len(), 2);
        assert_eq!(store.limits(60).unwrap(), vec![limit(Some("m"), 200)]);
        assert_eq!(store.clear_expired_limits(60).unwrap(), 1);
        store.clear_limits(id, None).unwrap();
        assert!(store.limits(0).unwrap().is_empty());
    }
}
