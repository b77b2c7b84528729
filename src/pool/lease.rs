//! A lease: one account, lent to one request for one model. The request runs
//! its upstream call with it and reports what came of the call on it — the
//! answer arrived, or a failure (before the answer or in the middle of a
//! stream) — and the pool turns that into state through the policy table.
//! A lease dropped without a report is "no verdict": nothing changes (the
//! client went away, or the request ran out of time).

use std::sync::Arc;

use super::policy::{self, Verdict};
use super::{AccessToken, Pick, PickRequest, Pool, PoolAccount};
use crate::secret::Secret;
use crate::store::now_unix;
use crate::upstream::UpstreamError;

/// What [`Pool::lease`] found: a lease, or why there is none.
pub type Leased = Pick<Lease>;

/// What came of a call made with a lease.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The answer arrived (a whole one, or a stream's first event).
    Served,
    /// The call failed, before the answer or in the middle of a stream.
    Failed(&'a UpstreamError),
}

pub struct Lease {
    pool: Arc<Pool>,
    account: Arc<PoolAccount>,
    model: String,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("account", &self.account.email)
            .field("model", &self.model)
            .finish()
    }
}

impl Pool {
    /// Chooses an account for a request (see [`Pool::pick`]) and lends it.
    pub fn lease(self: &Arc<Self>, request: &PickRequest<'_>) -> Leased {
        match self.pick(request) {
            Pick::Account(account) => Pick::Account(Lease {
                pool: self.clone(),
                account,
                model: request.model.to_owned(),
            }),
            Pick::NoAccounts => Pick::NoAccounts,
            Pick::AllLimited { until, total } => Pick::AllLimited { until, total },
            Pick::NoneUsable { total, unusable } => Pick::NoneUsable { total, unusable },
        }
    }
}

impl Lease {
    /// The account lent (read its identity and settings; its state changes
    /// only through [`Lease::report`]).
    pub fn account(&self) -> &Arc<PoolAccount> {
        &self.account
    }

    /// An access token for the call (see [`Pool::access_token`]).
    pub async fn token<F, Fut>(&self, refresh: F) -> Result<Secret, UpstreamError>
    where
        F: FnOnce(Secret) -> Fut,
        Fut: Future<Output = Result<AccessToken, UpstreamError>>,
    {
        self.pool.access_token(&self.account, refresh).await
    }

    /// The upstream refused `token` (401): forget it, unless another request
    /// has already replaced it (then 50 concurrent 401s make one refresh).
    pub fn token_rejected(&self, token: &Secret) {
        self.account.invalidate_token_if(token);
    }

    /// Reports what came of a call. A failure is judged by the policy
    /// table and its verdict applied to the account (limits, status, the
    /// notification, the store) and returned, for the caller to decide
    /// whether to retry and where. A stream may report more than once (its
    /// start, then an error in the middle).
    pub fn report(&self, outcome: Outcome<'_>) -> Option<Verdict> {
        match outcome {
            Outcome::Served => {
                self.pool.record_use(&self.account);
                None
            }
            Outcome::Failed(error) => Some(self.failed(error)),
        }
    }

    /// [`Lease::report`] of a failure.
    pub fn failed(&self, error: &UpstreamError) -> Verdict {
        let verdict = policy::judge(error, self.account.source(), &self.model, now_unix());
        tracing::debug!(account = %self.account.email, %error, ?verdict, "upstream call failed");
        self.pool.apply(&self.account, &self.model, &verdict);
        verdict
    }
}
