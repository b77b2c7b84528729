//! Background work owned by a running gateway. Every job stops when the
//! gateway's cancellation token fires.
//!
//! - account reload: when another process (`switchyard accounts add`) changes
//!   the database, the pool picks the change up within a couple of seconds.
//! - recovery: limits that ended are cleared, and each recovery announced.
//! - quota: every account's quota is read every `pool.quota_poll_minutes`, and
//!   at once when a request hit a quota error; low quotas are announced once
//!   per reset window.
//! - request log: finished requests are written in batches (one transaction
//!   each, roll-ups included), never on the request path.
//! - retention: the log is kept within `log.retention_days` and `log.max_mb`.

use std::collections::HashSet;

use futures::StreamExt;
use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::gateway::AppState;
use crate::pool::{PoolAccount, PoolEvent};
use crate::store::now_unix;
use crate::upstream::UpstreamError;

/// How often the database is checked for changes made by other processes.
const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(2);
/// How often ended limits are looked for.
const RECOVERY_INTERVAL: Duration = Duration::from_secs(1);
/// Accounts whose quota is read at the same time, at most.
const POLL_CONCURRENCY: usize = 4;

/// Entries written per transaction, at most.
const LOG_BATCH: usize = 512;
/// How long a finished request may wait for its batch.
const LOG_FLUSH: Duration = Duration::from_millis(250);
/// How often the log's limits are enforced.
const RETENTION_INTERVAL: Duration = Duration::from_secs(10 * 60);

pub fn spawn(state: &AppState, tasks: &TaskTracker) {
    tasks.spawn(reload_accounts(state.clone()));
    tasks.spawn(recover(state.clone()));
    if let Some(writes) = state.write_queue.lock().take() {
        tasks.spawn(write_in_order(state.clone(), writes));
    }
    if let Some(entries) = state.log_entries.lock().take() {
        tasks.spawn(write_log(state.clone(), entries));
    }
    tasks.spawn(enforce_retention(state.clone()));
    if let Some(requests) = state.quota_refresh_requests.lock().take() {
        tasks.spawn(poll_quotas(state.clone(), requests));
    }
}

async fn reload_accounts(state: AppState) {
    let mut seen = state.store.run(|s| s.data_version()).await.ok();
    let mut ticker = tokio::time::interval(RELOAD_CHECK_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let result = state
            .store
            .run(|s| {
                let version = s.data_version()?;
                Ok((version, s.accounts()?, s.quotas()?, s.limits(now_unix())?))
            })
            .await;
        match result {
            Ok((version, records, quotas, limits)) if Some(version) != seen => {
                seen = Some(version);
                let before: Vec<(i64, crate::store::AccountStatus)> = state
                    .pool
                    .snapshot()
                    .iter()
                    .map(|a| (a.id, a.status()))
                    .collect();
                let known: Vec<i64> = before.iter().map(|(id, _)| *id).collect();
                state.pool.load(&records, &quotas, &limits);
                // A status another process found (the window's Refresh quota
                // on a revoked account): announced as if found here.
                for record in &records {
                    if let Some((_, from)) = before.iter().find(|(id, _)| *id == record.id)
                        && *from != record.status
                    {
                        state.pool.publish(PoolEvent::StatusChanged {
                            account_id: record.id,
                            email: record.email.clone(),
                            from: *from,
                            to: record.status,
                            why: record.status_reason.clone().unwrap_or_default(),
                            link: record.status_link.clone(),
                        });
                    }
                }
                // An account added by another process: read its quota here
                // too, so an empty window raises its notification.
                for record in records.iter().filter(|r| !known.contains(&r.id)) {
                    let _ = state.quota_refresh.send(record.id);
                }
                tracing::info!(
                    accounts = records.len(),
                    "accounts reloaded after an outside change"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot check the database for account changes"),
        }
    }
}

async fn recover(state: AppState) {
    let mut ticker = tokio::time::interval(RECOVERY_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        state.pool.recover(now_unix());
    }
}

async fn poll_quotas(state: AppState, mut requests: tokio::sync::mpsc::UnboundedReceiver<i64>) {
    // (account, model, reset time) already warned about: one warning per window.
    let mut warned: HashSet<(i64, String, Option<i64>)> = HashSet::new();
    let minutes = state.config.load().pool.quota_poll_minutes.max(1);
    let period = Duration::from_secs(u64::from(minutes) * 60);
    // Quotas were read when each account was added; the first poll waits a period.
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let only: Option<i64> = tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = ticker.tick() => None,
            Some(id) = requests.recv() => Some(id),
        };
        let accounts: Vec<_> = state
            .pool
            .snapshot()
            .iter()
            .filter(|a| a.is_usable() && only.is_none_or(|id| a.id == id))
            .cloned()
            .collect();
        // A few accounts at a time: one that hangs (each call is bounded
        // anyway) does not hold up the others.
        let warned_shared = parking_lot::Mutex::new(std::mem::take(&mut warned));
        futures::stream::iter(accounts)
            .for_each_concurrent(POLL_CONCURRENCY, |account| {
                let state = &state;
                let warned = &warned_shared;
                async move {
                    if let Err(error) = refresh_quota(state, &account, warned).await {
                        tracing::warn!(account = %account.email, %error, "cannot read the quota");
                    }
                }
            })
            .await;
        warned = warned_shared.into_inner();
    }
}

/// Reads one account's quota, stores it, and warns when a model runs low.
pub async fn refresh_quota(
    state: &AppState,
    account: &std::sync::Arc<PoolAccount>,
    warned: &parking_lot::Mutex<HashSet<(i64, String, Option<i64>)>>,
) -> Result<(), UpstreamError> {
    let config = state.config.load_full();
    if let Some(settings) = &account.settings {
        // An API-key upstream has no quota to read: its model list is
        // read again (Vertex has none; its globs say).
        if settings.kind == crate::store::UpstreamKind::Vertex {
            return Ok(());
        }
        let endpoint = crate::upstream::keyed::Endpoint {
            settings,
            key: &account.refresh_token,
        };
        let catalog = state.keyed.models(endpoint).await?;
        state
            .pool
            .apply_poll(account, Some(catalog), Vec::new(), Vec::new());
        return Ok(());
    }
    let Some(project) = account.project_id.clone() else {
        return Ok(());
    };
    let Some(profile) = config.google.oauth_profile(&account.oauth_client) else {
        return Ok(());
    };
    let token = state
        .pool
        .access_token(account, |refresh_token| {
            crate::gateway::relay::refresh(state, &config, profile, refresh_token)
        })
        .await?;
    if let Some(message) = state
        .google
        .retired_client(&config.google, profile, &token, &project)
        .await?
    {
        state.pool.set_status(
            account,
            crate::store::AccountStatus::ClientRetired,
            crate::accounts::client_retired_reason(&message),
            None,
        );
        return Ok(());
    }
    let polled = state
        .google
        .account_state(&config.google, profile, &token, &project)
        .await?;
    let quotas = polled.quotas.clone();
    state
        .pool
        .apply_poll(account, polled.catalog, polled.windows, polled.quotas);
    let threshold = f64::from(config.notifications.quota_warning_percent) / 100.0;
    for quota in &quotas {
        let Some(remaining) = quota.remaining_fraction else {
            continue;
        };
        let key = (account.id, quota.model.clone(), quota.reset_at);
        // Read as used up (an account added with nothing left, a quota spent
        // elsewhere): said like a 429 that ran into it, once per reset.
        if remaining <= 0.0
            && let Some(until) = quota.reset_at.filter(|at| *at > crate::store::now_unix())
        {
            if warned.lock().insert(key) {
                state.pool.publish(PoolEvent::Limited {
                    account_id: account.id,
                    email: account.email.clone(),
                    model: Some(quota.model.clone()),
                    quota_exhausted: true,
                    until,
                    why: "its quota reads 0%".to_owned(),
                });
            }
            continue;
        }
        if remaining < threshold && remaining > 0.0 && warned.lock().insert(key) {
            state.pool.publish(PoolEvent::QuotaLow {
                account_id: account.id,
                email: account.email.clone(),
                model: quota.model.clone(),
                remaining_percent: remaining * 100.0,
                resets_at: quota.reset_at,
            });
        }
    }
    Ok(())
}

/// Runs the queued account writes one after another; on shutdown, the ones
/// already queued are still written.
async fn write_in_order(
    state: AppState,
    mut writes: tokio::sync::mpsc::UnboundedReceiver<crate::store::StoreWrite>,
) {
    loop {
        let write = tokio::select! {
            write = writes.recv() => write,
            () = state.shutdown.cancelled() => writes.try_recv().ok(),
        };
        let Some(write) = write else { break };
        let what = write.what;
        if let Err(error) = state.store.run(write.work).await {
            tracing::error!(%error, "could not {what}");
        }
    }
}

async fn write_log(
    state: AppState,
    mut entries: tokio::sync::mpsc::Receiver<crate::store::LogEntry>,
) {
    let mut batch = Vec::with_capacity(LOG_BATCH);
    loop {
        let first = tokio::select! {
            entry = entries.recv() => entry,
            // On shutdown, keep draining what already arrived.
            () = state.shutdown.cancelled() => entries.try_recv().ok(),
        };
        let Some(first) = first else { break };
        batch.push(first);
        take_queued(&mut entries, &mut batch);
        if batch.len() < LOG_BATCH && !state.shutdown.is_cancelled() {
            // Let the batch gather while the writer sleeps: the senders do
            // not wake it, so under load this is one wake-up per batch, not
            // one per request. With a backlog of a full batch or more, the
            // next one is written at once.
            tokio::select! {
                () = tokio::time::sleep(LOG_FLUSH) => {}
                () = state.shutdown.cancelled() => {}
            }
            take_queued(&mut entries, &mut batch);
        }
        let written = std::mem::take(&mut batch);
        let count = written.len();
        if let Err(error) = state.store.run(move |s| s.write_log(&written)).await {
            tracing::error!(%error, count, "cannot write to the request log");
        }
    }
}

/// Moves what is already queued into `batch`, up to a full batch, without
/// waiting.
fn take_queued(
    entries: &mut tokio::sync::mpsc::Receiver<crate::store::LogEntry>,
    batch: &mut Vec<crate::store::LogEntry>,
) {
    while batch.len() < LOG_BATCH {
        match entries.try_recv() {
            Ok(entry) => batch.push(entry),
            Err(_) => break,
        }
    }
}

async fn enforce_retention(state: AppState) {
    let mut ticker = tokio::time::interval(RETENTION_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Err(error) = trim_log(&state).await {
            tracing::warn!(%error, "cannot trim the request log");
        }
    }
}

/// Applies `log.retention_days`, `log.body_retention_hours` and `log.max_mb` now.
pub async fn trim_log(state: &AppState) -> Result<u64, crate::store::StoreError> {
    let log = state.config.load().log.clone();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let oldest_ms = now_ms - i64::from(log.retention_days) * 86_400_000;
    let bodies_before_ms = now_ms - i64::from(log.body_retention_hours) * 3_600_000;
    let max_bytes = log.max_mb.saturating_mul(1024 * 1024);
    let removed = state
        .store
        .run(move |s| s.trim_log(oldest_ms, bodies_before_ms, max_bytes))
        .await?;
    if removed > 0 {
        tracing::info!(removed, "request log trimmed");
    }
    Ok(removed)
}
