//! Runs one client request against the pool: picks an account, makes sure it
//! has a fresh token, calls the upstream, and when that fails, asks the
//! failure policy (`pool::policy`) what it means and acts on it: wait and
//! retry, cool the account (or one of its models) down, mark it, move on, or
//! hand the error to the client. Nothing has been sent to the client while
//! this runs, so retrying is always safe here.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;

use super::AppState;
use super::error::{ErrorKind, GatewayError};
use crate::config::{Config, OAuthClientProfile};
use crate::pool::policy::{self, Failure, LimitScope, Verdict};
use crate::pool::{Limit, Pick, PickRequest, PoolAccount, PoolEvent};
use crate::protocol::gemini::{GenerateContentRequest, GenerateContentResponse};
use crate::secret::Secret;
use crate::store::{AccountStatus, LimitKind, LimitRecord, now_unix};
use crate::upstream::UpstreamError;
use crate::upstream::google::{self, StreamChunks, Target, TokenOutcome};

/// Upstream calls for one request at most, across all accounts.
const MAX_ATTEMPTS: usize = 5;
/// Retries on the same account after a transient failure, at most.
const MAX_SAME_ACCOUNT_RETRIES: usize = 1;
/// The wait before an account that answered 503 gets its one more go.
const ROTATED_RETRY_WAIT: Duration = Duration::from_secs(1);
/// The longest a request waits before retrying on the same account.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// The account that answered, for the response headers and the logs.
pub struct Served {
    pub account: Arc<PoolAccount>,
    pub upstream_model: String,
}

impl Served {
    pub fn log(&self, route: &str) {
        tracing::debug!(route, account_id = self.account.id, model = %self.upstream_model, "served");
    }
}

/// What a request asks of the upstream, and what it gets back.
#[derive(Clone, Copy)]
enum Call<'a> {
    Generate(&'a GenerateContentRequest),
    Stream(&'a GenerateContentRequest),
    CountTokens(&'a GenerateContentRequest),
}

enum Answer {
    Whole(GenerateContentResponse),
    Stream(StreamChunks),
    Count(u64),
}

pub async fn generate(
    state: &AppState,
    config: &Config,
    model: &str,
    session: Option<u64>,
    request: &GenerateContentRequest,
) -> Result<(GenerateContentResponse, Served), GatewayError> {
    let request = state.signatures.fit(request, model);
    match run(state, config, model, session, Call::Generate(&request)).await? {
        (Answer::Whole(answer), served) => {
            state.signatures.record(&answer, model);
            Ok((answer, served))
        }
        _ => Err(mismatch()),
    }
}

pub async fn stream(
    state: &AppState,
    config: &Config,
    model: &str,
    session: Option<u64>,
    request: &GenerateContentRequest,
) -> Result<(StreamChunks, Served), GatewayError> {
    use futures::StreamExt;
    let request = state.signatures.fit(request, model);
    match run(state, config, model, session, Call::Stream(&request)).await? {
        (Answer::Stream(chunks), served) => {
            let book = state.signatures.clone();
            let model = model.to_owned();
            let later = state.clone();
            let account = served.account.clone();
            let chunks = chunks.inspect(move |chunk| match chunk {
                Ok(chunk) => book.record(chunk, &model),
                // Too late to retry (the client has the first bytes), but
                // the account's state still learns from it: a quota error
                // in the stream cools it down like any other.
                Err(error) => {
                    let verdict = judge(error, &model, now_unix());
                    if !matches!(
                        verdict,
                        Verdict::ReturnToClient { .. } | Verdict::RetrySameAccount { .. }
                    ) {
                        act_on(&later, &account, &model, verdict);
                    }
                }
            });
            Ok((Box::pin(chunks), served))
        }
        _ => Err(mismatch()),
    }
}

/// The prompt's size in tokens, counted by the upstream.
pub async fn count_tokens(
    state: &AppState,
    config: &Config,
    model: &str,
    session: Option<u64>,
    request: &GenerateContentRequest,
) -> Result<u64, GatewayError> {
    let request = state.signatures.fit(request, model);
    match run(state, config, model, session, Call::CountTokens(&request)).await? {
        (Answer::Count(tokens), _) => Ok(tokens),
        _ => Err(mismatch()),
    }
}

fn mismatch() -> GatewayError {
    GatewayError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        super::error::ErrorKind::Internal,
        "internal error: the upstream answer does not match the request",
    )
}

#[allow(clippy::too_many_arguments)]
async fn call_upstream(
    state: &AppState,
    config: &Config,
    model: &str,
    account: &PoolAccount,
    token: &Secret,
    profile: &OAuthClientProfile,
    call: Call<'_>,
    left: Duration,
) -> Result<Answer, UpstreamError> {
    let google = &config.google;
    match call {
        Call::Generate(request) => state
            .google
            .generate(
                google,
                profile,
                token,
                &target(config, left, model, account, request),
            )
            .await
            .map(Answer::Whole),
        Call::Stream(request) => {
            use futures::StreamExt;
            let mut chunks = state
                .google
                .stream(
                    google,
                    profile,
                    token,
                    &target(config, left, model, account, request),
                )
                .await?;
            // Nothing reaches the client before the first event: an error
            // there (a quota error sent as the stream's first event) is
            // still an attempt that failed, judged and retried elsewhere.
            match chunks.next().await {
                Some(Err(error)) => Err(error),
                Some(Ok(first)) => Ok(Answer::Stream(Box::pin(
                    futures::stream::once(async move { Ok(first) }).chain(chunks),
                ))),
                None => Ok(Answer::Stream(chunks)),
            }
        }
        Call::CountTokens(request) => state
            .google
            .count_tokens(
                google,
                profile,
                token,
                &target(config, left, model, account, request),
            )
            .await
            .map(Answer::Count),
    }
}

/// The call for `account`, with the time the request has left (a stream
/// may then go silent for up to the whole limit).
fn target<'a>(
    config: &Config,
    left: Duration,
    model: &'a str,
    account: &'a PoolAccount,
    request: &'a GenerateContentRequest,
) -> Target<'a> {
    Target {
        model,
        project: account.project_id.as_deref().unwrap_or_default(),
        request,
        timeout: left.max(Duration::from_millis(1)),
        idle_timeout: Duration::from_secs(config.gateway.request_timeout_secs),
    }
}

async fn run(
    state: &AppState,
    config: &Config,
    model: &str,
    session: Option<u64>,
    call: Call<'_>,
) -> Result<(Answer, Served), GatewayError> {
    // One deadline per request, from its arrival: token refresh, every
    // attempt and every wait come out of it.
    let arrived = tokio::time::Instant::from_std(super::record::RequestContext::current().started);
    let deadline = arrived + Duration::from_secs(config.gateway.request_timeout_secs);
    let mut tried: Vec<i64> = Vec::new();
    let mut last_error: Option<UpstreamError> = None;
    // The first client-side error, kept while a second account checks that the
    // request, not the account, is at fault.
    let mut client_fault: Option<(u16, UpstreamError)> = None;
    let mut same_account_retries = 0;
    // An account that could not serve for reasons of Google's (503, its
    // capacity): once every other account is tried, it gets one more go,
    // so with a single account a 5xx is still retried once.
    let mut rotated: Option<i64> = None;
    let mut rotated_retried = false;
    for _ in 0..MAX_ATTEMPTS {
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        let now = now_unix();
        let pick = state.pool.pick(&PickRequest {
            model,
            session,
            mode: config.gateway.scheduling,
            exclude: &tried,
            reserve: f64::from(config.pool.reserve_percent) / 100.0,
            now,
        });
        let account = match pick {
            Pick::Account(account) => account,
            Pick::NoAccounts => return Err(GatewayError::no_accounts()),
            _ if client_fault.is_some() => break,
            Pick::AllLimited { until, total } => {
                state.pool.publish(PoolEvent::PoolExhausted {
                    model: model.to_owned(),
                    until,
                });
                return Err(pool_exhausted(model, until, now, total));
            }
            Pick::NoneUsable { .. } if !rotated_retried && rotated.is_some() => {
                rotated_retried = true;
                let id = rotated.take().unwrap_or_default();
                tried.retain(|t| *t != id);
                let wait = ROTATED_RETRY_WAIT
                    .min(deadline.saturating_duration_since(tokio::time::Instant::now()));
                tokio::time::sleep(wait).await;
                continue;
            }
            Pick::NoneUsable { total, unusable } => {
                // Every account was tried; if they are all limited now, say
                // when the first frees up rather than pass on the last error.
                let unfiltered = state.pool.pick(&PickRequest {
                    model,
                    session: None,
                    mode: config.gateway.scheduling,
                    exclude: &[],
                    reserve: f64::from(config.pool.reserve_percent) / 100.0,
                    now,
                });
                if let Pick::AllLimited { until, total } = unfiltered {
                    state.pool.publish(PoolEvent::PoolExhausted {
                        model: model.to_owned(),
                        until,
                    });
                    return Err(pool_exhausted(model, until, now, total));
                }
                return Err(match last_error {
                    Some(error) => GatewayError::from_upstream(&error),
                    None => none_usable(total, &unusable),
                });
            }
        };
        let outcome = tokio::time::timeout_at(
            deadline,
            attempt(state, config, model, &account, call, deadline),
        )
        .await
        .unwrap_or_else(|_| Err(out_of_time_error(config)));
        let error = match outcome {
            Ok(answer) => {
                record_use(state, &account);
                return Ok((
                    answer,
                    Served {
                        account,
                        upstream_model: model.to_owned(),
                    },
                ));
            }
            Err(error) => error,
        };
        if matches!(error, UpstreamError::Transport { timeout: true, .. }) {
            // The request's time is used up (or the upstream went silent for
            // all of it): no other account could answer in time either.
            return Err(GatewayError::from_upstream(&error));
        }
        let verdict = judge(&error, model, now_unix());
        tracing::debug!(account = %account.email, %error, ?verdict, "upstream call failed");
        match verdict {
            Verdict::RetrySameAccount { after }
                if same_account_retries < MAX_SAME_ACCOUNT_RETRIES =>
            {
                same_account_retries += 1;
                let wait = after.min(MAX_RETRY_WAIT);
                if tokio::time::Instant::now() + wait >= deadline {
                    return Err(GatewayError::from_upstream(&error));
                }
                tokio::time::sleep(wait).await;
            }
            Verdict::ReturnToClient { status } => match &client_fault {
                Some((first, _)) if *first == status => {
                    return Err(GatewayError::from_upstream(&error));
                }
                Some(_) => return Err(GatewayError::from_upstream(&error)),
                None => {
                    tried.push(account.id);
                    client_fault = Some((status, error));
                    continue;
                }
            },
            verdict => {
                if matches!(verdict, Verdict::Rotate { .. }) && rotated.is_none() {
                    rotated = Some(account.id);
                }
                act_on(state, &account, model, verdict);
                tried.push(account.id);
                same_account_retries = 0;
            }
        }
        last_error = Some(error);
        if tokio::time::Instant::now() >= deadline {
            break;
        }
    }
    let out_of_time = tokio::time::Instant::now() >= deadline;
    let error = client_fault
        .map(|(_, error)| error)
        .or(last_error)
        .or_else(|| out_of_time.then(|| out_of_time_error(config)))
        .map(|e| GatewayError::from_upstream(&e));
    Err(error.unwrap_or_else(GatewayError::no_accounts))
}

/// The request's time limit ran out.
fn out_of_time_error(config: &Config) -> UpstreamError {
    UpstreamError::Transport {
        message: format!(
            "no answer within the request's time limit ({} s, gateway.request_timeout_secs)",
            config.gateway.request_timeout_secs
        ),
        timeout: true,
    }
}

/// What a failure means, by the policy table. Failures without an HTTP
/// status (the network, a broken answer) are not the account's doing.
fn judge(error: &UpstreamError, model: &str, now: i64) -> Verdict {
    match error {
        UpstreamError::Status {
            status,
            message,
            retry_after,
            google_status,
            details,
        } => policy::classify(
            &Failure {
                status: *status,
                retry_after_secs: retry_after.map(|d| d.as_secs()),
                google_status: google_status.as_deref(),
                details,
                message,
                oauth_error: None,
            },
            model,
            now,
        ),
        UpstreamError::OAuth {
            status,
            error,
            description,
        } => policy::classify(
            &Failure {
                status: *status,
                retry_after_secs: None,
                google_status: None,
                details: &[],
                message: description.as_deref().unwrap_or(""),
                oauth_error: Some(error),
            },
            model,
            now,
        ),
        UpstreamError::Transport { timeout: false, .. } => Verdict::RetrySameAccount {
            after: Duration::from_secs(1),
        },
        UpstreamError::ClientRetired { message } => Verdict::ClientRetired {
            message: message.clone(),
        },
        UpstreamError::Setup { message, .. } => Verdict::Rotate {
            reason: message.clone(),
            retry_after: None,
        },
        UpstreamError::Transport { timeout: true, .. } | UpstreamError::Decode(_) => {
            Verdict::ReturnToClient { status: 502 }
        }
    }
}

/// Carries out a verdict on the account: in memory at once, in the store off
/// the request path, and as an event for notifications and the window.
fn act_on(state: &AppState, account: &Arc<PoolAccount>, model: &str, verdict: Verdict) {
    match verdict {
        Verdict::CoolDown {
            scope,
            until,
            reason,
        } => limit(state, account, scope, LimitKind::CoolingDown, until, reason),
        Verdict::QuotaExhausted {
            scope,
            resets_at,
            reason,
            ..
        } => {
            limit(
                state,
                account,
                scope,
                LimitKind::QuotaExhausted,
                resets_at,
                reason,
            );
            // The quota shows when it really resets; ask for it now.
            let _ = state.quota_refresh.send(account.id);
        }
        Verdict::NeedsRelogin { reason } => {
            set_status(state, account, AccountStatus::NeedsRelogin, reason, None);
        }
        Verdict::NeedsVerification { link, message } => {
            set_status(state, account, AccountStatus::Forbidden, message, link);
        }
        Verdict::Forbidden { reason } => {
            set_status(state, account, AccountStatus::Forbidden, reason, None);
        }
        Verdict::Suspended { link, message } => {
            set_status(state, account, AccountStatus::Suspended, message, link);
        }
        Verdict::ClientRetired { message } => {
            set_status(state, account, AccountStatus::ClientRetired, message, None);
        }
        Verdict::Rotate { reason, .. } => {
            tracing::info!(account = %account.email, model, %reason, "moving to another account");
        }
        Verdict::RefreshToken
        | Verdict::RetrySameAccount { .. }
        | Verdict::ReturnToClient { .. } => {}
    }
}

pub(crate) fn limit(
    state: &AppState,
    account: &Arc<PoolAccount>,
    scope: LimitScope,
    kind: LimitKind,
    until: i64,
    reason: String,
) {
    let model = match scope {
        LimitScope::Model(model) => Some(model),
        LimitScope::Account => None,
    };
    if !account.add_limit(Limit {
        model: model.clone(),
        kind,
        until,
        reason: reason.clone(),
    }) {
        // A limit on the same model that ends later stays (and is stored).
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
    state.pool.publish(PoolEvent::Limited {
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
    persist(state, "save the account's limit", move |store| {
        store.set_limit(&record)
    });
}

/// Changes an account's lasting status, once: a second request that sees the
/// same failure finds the account already marked and sends no second event.
pub(crate) fn set_status(
    state: &AppState,
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
    state.pool.publish(PoolEvent::StatusChanged {
        account_id: account.id,
        email: account.email.clone(),
        from,
        to: status,
        why: reason.clone(),
        link: link.clone(),
    });
    let id = account.id;
    persist(state, "save the account's status", move |store| {
        store.set_status_with_link(id, status, Some(&reason), link.as_deref())
    });
}

/// Every account is limited for this model: a 429 that says when to come back.
fn pool_exhausted(model: &str, until: i64, now: i64, total: usize) -> GatewayError {
    let seconds = (until - now).max(1);
    let when = chrono::DateTime::from_timestamp(until, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| until.to_string());
    let mut error = GatewayError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::RateLimited,
        format!(
            "every account ({total}) is rate-limited or out of quota for {model}; \
             the first frees up at {when} (in {seconds} s)"
        ),
    )
    .with_code("pool_exhausted");
    error.retry_after = Some(seconds as u64);
    error
}

/// One account: token (refreshed if needed), the call, and once more with a
/// new token if the upstream said 401.
async fn attempt(
    state: &AppState,
    config: &Config,
    model: &str,
    account: &Arc<PoolAccount>,
    call: Call<'_>,
    deadline: tokio::time::Instant,
) -> Result<Answer, UpstreamError> {
    let profile = config
        .google
        .oauth_profile(&account.oauth_client)
        .ok_or_else(|| UpstreamError::Setup {
            message: format!(
                "OAuth client profile `{}` is not in the config",
                account.oauth_client
            ),
            link: None,
        })?;
    if !config.google.profile_allowed(profile) {
        return Err(UpstreamError::Setup {
            message: format!(
                "account {} is on the Antigravity client, which is used only once \
                 google.antigravity_risk_accepted = true",
                account.email
            ),
            link: None,
        });
    }
    if account.project_id.is_none() {
        return Err(UpstreamError::Setup {
            message: format!(
                "account {} has no Code Assist project; add it again",
                account.email
            ),
            link: None,
        });
    }
    let mut retried_after_401 = false;
    loop {
        let token = fresh_token(state, config, account).await?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match call_upstream(state, config, model, account, &token, profile, call, left).await {
            Err(error) if error.status() == Some(401) && !retried_after_401 => {
                // The token may have been revoked early: one new token, one
                // more try. Only this token goes: another request may have
                // fetched a new one already.
                retried_after_401 = true;
                account.invalidate_token_if(&token);
            }
            other => return other,
        }
    }
}

async fn fresh_token(
    state: &AppState,
    config: &Config,
    account: &Arc<PoolAccount>,
) -> Result<Secret, UpstreamError> {
    match google::access_token(&state.google, &config.google, account).await? {
        TokenOutcome::Cached(token) => Ok(token),
        TokenOutcome::Refreshed(grant) => {
            let (id, token, expires_at) =
                (account.id, grant.access_token.clone(), grant.expires_at);
            persist(state, "save the new access token", move |store| {
                store.save_access_token(id, &token, expires_at)
            });
            Ok(grant.access_token)
        }
    }
}

/// Accounts' "last used" is written at most this often (it is shown to the
/// minute; writing it per request made a database write per request).
const LAST_USE_SAVE_INTERVAL_SECS: i64 = 60;

fn record_use(state: &AppState, account: &PoolAccount) {
    let now = now_unix();
    if !account.should_save_use(now, LAST_USE_SAVE_INTERVAL_SECS) {
        return;
    }
    let id = account.id;
    persist(state, "record the account's last use", move |store| {
        store.touch_last_used(id, now)
    });
}

/// Queues a write to the store, in order (see [`AppState::persist`]).
fn persist(
    state: &AppState,
    what: &'static str,
    work: impl FnOnce(&crate::store::Store) -> Result<(), crate::store::StoreError> + Send + 'static,
) {
    state.persist(what, work);
}

fn none_usable(total: usize, unusable: &[(String, AccountStatus)]) -> GatewayError {
    let list: Vec<String> = unusable
        .iter()
        .map(|(email, status)| format!("{email}: {}", status.label()))
        .collect();
    GatewayError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        super::error::ErrorKind::Unavailable,
        format!(
            "none of the {total} accounts can serve this request ({})",
            list.join("; ")
        ),
    )
    .with_code("no_usable_account")
}
