//! What happens to accounts, as a typed broadcast: notifications and the
//! window subscribe; the gateway and the jobs publish. Nobody waits on a
//! subscriber: a slow one misses events (`RecvError::Lagged`), it does not
//! slow requests down.

use serde::Serialize;

use crate::store::AccountStatus;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PoolEvent {
    /// An account's lasting status changed (needs re-login, verification, …).
    StatusChanged {
        account_id: i64,
        email: String,
        from: AccountStatus,
        to: AccountStatus,
        why: String,
        link: Option<String>,
    },
    /// A model's quota fell below the warning threshold.
    QuotaLow {
        account_id: i64,
        email: String,
        model: String,
        remaining_percent: f64,
        /// When the quota resets (Unix seconds), if the upstream said.
        resets_at: Option<i64>,
    },
    /// An account hit a limit for a model (`None`: the whole account).
    Limited {
        account_id: i64,
        email: String,
        model: Option<String>,
        quota_exhausted: bool,
        until: i64,
        why: String,
    },
    /// No account can serve this model until `until`.
    PoolExhausted { model: String, until: i64 },
    /// A limit ended: the account serves the model again.
    Recovered {
        account_id: i64,
        email: String,
        model: Option<String>,
    },
}
