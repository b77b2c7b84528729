//! Every change to an account's state, made here and only here: in memory
//! at once, announced as a [`PoolEvent`], and persisted through the ordered
//! writer (so an older change never lands after a newer one).
//!
//! Callers do not change accounts themselves: the gateway reports outcomes on
//! a [`super::Lease`], the quota job hands over what it read
//! ([`Pool::apply_poll`]), the recovery job asks [`Pool::recover`]. The
//! verdicts come from the pure policy table ([`super::policy`]).

use std::sync::Arc;

use super::policy::{LimitScope, Verdict};
use super::{AccessToken, Limit, Pool, PoolAccount, PoolEvent, RefreshFailure, window_limits};
use crate::secret::Secret;
use crate::store::{
    AccountStatus, LimitKind, LimitRecord, ModelCatalog, QuotaRecord, QuotaWindow, Store,
    StoreError, StoreWrite, now_unix,
};
use crate::upstream::UpstreamError;

/// Refresh this long before expiry, as Google's own client libraries do, so a
/// token never expires in the middle of a long request.
pub const REFRESH_MARGIN_SECS: i64 = 300;

/// The longest a request waits for another request's refresh of the same
/// account (the refresh itself is bounded by the upstream's call timeout).
const REFRESH_WAIT: std::time::Duration = std::time::Duration::from_secs(35);

/// Accounts' "last used" is written at most this often (it is shown to the
/// minute; writing it per request made a database write per request).
const LAST_USE_SAVE_INTERVAL_SECS: i64 = 60;

/// Where the pool's changes go: the store, through the running gateway's
/// ordered writer, and the quota job (asked to read an account at once).
pub struct Sink {
    pub store: Store,
    pub writes: tokio::sync::mpsc::UnboundedSender<StoreWrite>,
    pub quota_refresh: tokio::sync::mpsc::UnboundedSender<i64>,
}

impl Pool {
    /// Connects the pool to a running gateway's writer and quota job (again
    /// on every start: each run has its own).
    pub fn attach(&self, sink: Sink) {
        *self.sink.write() = Some(sink);
    }

    /// Queues a write to the store, off the request path: writes land in the
    /// order they were made, and the ones queued when the gateway stops are
    /// still written. A failure is logged, not returned (the request itself
    /// succeeded). Without a sink (a bare pool in a unit test) nothing is
    /// written.
    fn persist(
        &self,
        what: &'static str,
        work: impl FnOnce(&Store) -> Result<(), StoreError> + Send + 'static,
    ) {
        let sink = self.sink.read();
        let Some(sink) = sink.as_ref() else { return };
        let write = StoreWrite {
            what,
            work: Box::new(work),
        };
        if let Err(tokio::sync::mpsc::error::SendError(write)) = sink.writes.send(write) {
            // No writer (this gateway never started): write now.
            let store = sink.store.clone();
            tokio::spawn(async move {
                if let Err(error) = store.run(write.work).await {
                    tracing::error!(%error, "could not {}", write.what);
                }
            });
        }
    }

    /// A usable access token for `account`: the cached one while it is good
    /// for [`REFRESH_MARGIN_SECS`] more, else a new one from `refresh` (given
    /// the refresh token). Concurrent callers wait for one refresh instead of
    /// each sending their own (a refresh storm can get a token revoked), and
    /// when that refresh fails, they fail with its error instead of trying
    /// again one after another. A new token is stored.
    pub async fn access_token<F, Fut>(
        &self,
        account: &PoolAccount,
        refresh: F,
    ) -> Result<Secret, UpstreamError>
    where
        F: FnOnce(Secret) -> Fut,
        Fut: Future<Output = Result<AccessToken, UpstreamError>>,
    {
        if let Some(token) = account.usable_token(now_unix(), REFRESH_MARGIN_SECS) {
            return Ok(token);
        }
        let waiting_since = std::time::Instant::now();
        let Ok(_refreshing) = tokio::time::timeout(REFRESH_WAIT, account.refresh_lock.lock()).await
        else {
            return Err(UpstreamError::Transport {
                message: format!(
                    "the token refresh of {} has not finished within {} s",
                    account.email,
                    REFRESH_WAIT.as_secs()
                ),
                timeout: true,
            });
        };
        // Another request may have refreshed while this one waited for the lock,
        if let Some(token) = account.usable_token(now_unix(), REFRESH_MARGIN_SECS) {
            return Ok(token);
        }
        // or failed to: then this one fails the same way.
        if let Some(failure) = account.refresh_failure().filter(|f| f.at >= waiting_since) {
            return Err(failure.into_error());
        }
        let token = match refresh(account.refresh_token.clone()).await {
            Ok(token) => token,
            Err(error) => {
                account.set_refresh_failure(Some(RefreshFailure::of(&error)));
                return Err(error);
            }
        };
        account.set_refresh_failure(None);
        account.set_token(token.clone());
        tracing::debug!(account = %account.email, "refreshed access token");
        let id = account.id;
        let value = token.value.clone();
        self.persist("save the new access token", move |store| {
            store.save_access_token(id, &token.value, token.expires_at)
        });
        Ok(value)
    }

    /// Carries out a verdict on the account.
    pub(super) fn apply(&self, account: &Arc<PoolAccount>, model: &str, verdict: &Verdict) {
        match verdict {
            Verdict::CoolDown {
                scope,
                until,
                reason,
            } => self.limit(
                account,
                scope,
                LimitKind::CoolingDown,
                *until,
                reason.clone(),
            ),
            Verdict::QuotaExhausted {
                scope,
                resets_at,
                reason,
                ..
            } => {
                self.limit(
                    account,
                    scope,
                    LimitKind::QuotaExhausted,
                    *resets_at,
                    reason.clone(),
                );
                // The quota shows when it really resets; ask for it now.
                if let Some(sink) = self.sink.read().as_ref() {
                    let _ = sink.quota_refresh.send(account.id);
                }
            }
            Verdict::NeedsRelogin { reason } => {
                self.set_status(account, AccountStatus::NeedsRelogin, reason.clone(), None);
            }
            Verdict::NeedsVerification { link, message } => self.set_status(
                account,
                AccountStatus::Forbidden,
                message.clone(),
                link.clone(),
            ),
            Verdict::Forbidden { reason } => {
                self.set_status(account, AccountStatus::Forbidden, reason.clone(), None);
            }
            Verdict::Suspended { link, message } => self.set_status(
                account,
                AccountStatus::Suspended,
                message.clone(),
                link.clone(),
            ),
            Verdict::ClientRetired { message } => {
                self.set_status(account, AccountStatus::ClientRetired, message.clone(), None);
            }
            Verdict::KeyRejected { reason } => {
                self.set_status(account, AccountStatus::KeyRejected, reason.clone(), None);
            }
            Verdict::Rotate { reason, .. } => {
                tracing::info!(account = %account.email, model, %reason, "moving to another account");
            }
            Verdict::RefreshToken
            | Verdict::RetrySameAccount { .. }
            | Verdict::ReturnToClient { .. } => {}
        }
    }

    /// Keeps the account (or one model or quota group of it) away until
    /// `until`, unless a limit on the same scope already ends later (a 30 s
    /// rate limit must not shorten a 3-hour exhausted quota).
    fn limit(
        &self,
        account: &Arc<PoolAccount>,
        scope: &LimitScope,
        kind: LimitKind,
        until: i64,
        reason: String,
    ) {
        let model = match scope {
            LimitScope::Model(model) => Some(model.clone()),
            LimitScope::Account => None,
        };
        if !account.add_limit(Limit {
            model: model.clone(),
            kind,
            until,
            reason: reason.clone(),
        }) {
            return;
        }
        tracing::warn!(
            account = %account.email,
            model = model.as_deref().unwrap_or("(all models)"),
            until,
            %reason,
            "{}",
            if kind == LimitKind::QuotaExhausted { "quota exhausted" } else { "cooling down" }
        );
        self.publish(PoolEvent::Limited {
            account_id: account.id,
            email: account.email.clone(),
            model: model.clone(),
            quota_exhausted: kind == LimitKind::QuotaExhausted,
            until,
            why: reason.clone(),
        });
        let record = LimitRecord {
            account_id: account.id,
            model,
            kind,
            until,
            reason,
        };
        self.persist("save the account's limit", move |store| {
            store.set_limit(&record)
        });
    }

    /// Changes an account's lasting status, once: a second request that sees
    /// the same failure finds the account already marked and sends no second
    /// event.
    pub fn set_status(
        &self,
        account: &Arc<PoolAccount>,
        status: AccountStatus,
        reason: String,
        link: Option<String>,
    ) {
        if account.status() == status {
            return;
        }
        let from = account.set_status(status, Some(reason.clone()), link.clone());
        tracing::warn!(account = %account.email, status = status.label(), %reason, "account status changed");
        self.publish(PoolEvent::StatusChanged {
            account_id: account.id,
            email: account.email.clone(),
            from,
            to: status,
            why: reason.clone(),
            link: link.clone(),
        });
        let id = account.id;
        self.persist("save the account's status", move |store| {
            store.set_status_with_link(id, status, Some(&reason), link.as_deref())
        });
    }

    /// The account served: its "last used", written at most once a minute.
    pub(super) fn record_use(&self, account: &PoolAccount) {
        let now = now_unix();
        if !account.should_save_use(now, LAST_USE_SAVE_INTERVAL_SECS) {
            return;
        }
        let id = account.id;
        self.persist("record the account's last use", move |store| {
            store.touch_last_used(id, now)
        });
    }

    /// What a quota reading says: the catalog, the quota windows and the
    /// per-model quotas replace the old ones, and a window read at 0 limits
    /// its group until it resets, as a 429 saying so would. A window showing
    /// quota never lifts a limit a 429 set (google-2026.md §4).
    pub fn apply_poll(
        &self,
        account: &Arc<PoolAccount>,
        catalog: Option<ModelCatalog>,
        windows: Vec<QuotaWindow>,
        quotas: Vec<QuotaRecord>,
    ) {
        let now = now_unix();
        for limit in window_limits(&windows, now) {
            let known = account
                .limits(now)
                .iter()
                .any(|l| l.model == limit.model && l.until >= limit.until);
            if known {
                // Stored already (say by `accounts add` in another process):
                // still say so, for the notification (shown once per window
                // however often it is told).
                self.publish(PoolEvent::Limited {
                    account_id: account.id,
                    email: account.email.clone(),
                    model: limit.model,
                    quota_exhausted: true,
                    until: limit.until,
                    why: limit.reason,
                });
            } else {
                self.limit(
                    account,
                    &LimitScope::Model(limit.model.unwrap_or_default()),
                    limit.kind,
                    limit.until,
                    limit.reason,
                );
            }
        }
        account.set_windows(windows.clone());
        if let Some(catalog) = &catalog {
            account.set_catalog(catalog.clone());
        }
        if !quotas.is_empty() {
            account.set_quotas(&quotas);
        }
        let id = account.id;
        self.persist("save the account's quota", move |store| {
            if !quotas.is_empty() {
                store.replace_quotas(id, &quotas)?;
            }
            if let Some(catalog) = &catalog {
                store.set_catalog(id, catalog)?;
            }
            store.set_windows(id, &windows)
        });
    }

    /// Ends the limits whose time has come, announces each recovery, and
    /// clears them from the store. Returns how many ended.
    pub fn recover(&self, now: i64) -> usize {
        let mut ended = 0;
        for account in self.snapshot().iter() {
            for limit in account.take_expired_limits(now) {
                ended += 1;
                tracing::info!(
                    account = %account.email,
                    model = limit.model.as_deref().unwrap_or("(all models)"),
                    "limit ended; the account serves again"
                );
                self.publish(PoolEvent::Recovered {
                    account_id: account.id,
                    email: account.email.clone(),
                    model: limit.model,
                });
            }
        }
        if ended > 0 {
            self.persist("clear ended limits", move |store| {
                store.clear_expired_limits(now).map(drop)
            });
        }
        ended
    }
}

impl RefreshFailure {
    fn of(error: &UpstreamError) -> Self {
        let (status, code, description) = match error {
            UpstreamError::OAuth {
                status,
                error,
                description,
            } => (*status, error.clone(), description.clone()),
            other => (0, "no answer".to_owned(), Some(other.to_string())),
        };
        Self {
            at: std::time::Instant::now(),
            status,
            error: code,
            description,
        }
    }

    fn into_error(self) -> UpstreamError {
        if self.status == 0 {
            UpstreamError::Transport {
                message: self.description.unwrap_or(self.error),
                timeout: false,
            }
        } else {
            UpstreamError::OAuth {
                status: self.status,
                error: self.error,
                description: self.description,
            }
        }
    }
}
