//! Background work owned by a running gateway. Every job stops when the
//! gateway's cancellation token fires.
//!
//! - account reload: when another process (`switchyard accounts add`) changes
//!   the database, the pool picks the change up within a couple of seconds.

use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::gateway::AppState;

/// How often the database is checked for changes made by other processes.
const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(2);

pub fn spawn(state: &AppState, tasks: &TaskTracker) {
    tasks.spawn(reload_accounts(state.clone()));
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
                Ok((version, s.accounts()?, s.quotas()?))
            })
            .await;
        match result {
            Ok((version, records, quotas)) if Some(version) != seen => {
                seen = Some(version);
                state.pool.load(&records, &quotas);
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
