//! Runs one client request against the pool, as a short retry loop: lease an
//! account, call the upstream with it, report the outcome on the lease. The
//! pool turns a failure into account state (limits, statuses: see
//! `pool::policy`) and hands back the verdict; this loop only decides where
//! to go next: wait and retry, another account, or the error to the client.
//! Nothing has been sent to the client while this runs, so retrying is
//! always safe here.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;

use super::AppState;
use super::error::{ErrorKind, GatewayError};
use crate::config::{Config, OAuthClientProfile};
use crate::pool::policy::Verdict;
use crate::pool::{AccessToken, Lease, Leased, Outcome, PickRequest, PoolAccount, PoolEvent};
use crate::protocol::gemini::{GenerateContentRequest, GenerateContentResponse};
use crate::protocol::schema::JsonTextTools;
use crate::secret::Secret;
use crate::store::{AccountStatus, now_unix};
use crate::upstream::UpstreamError;
use crate::upstream::google::{StreamChunks, Target};
use crate::upstream::keyed::{RawAnswer, RawBody};

use super::passthrough::{Passthrough, Wire};

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
    /// A passthrough: the upstream's own answer.
    Raw(RawAnswer),
}

/// What a generate call brought back: Gemini's shapes for the client's
/// translator, or a passthrough's bytes for the client as they are.
pub enum Relayed<T> {
    Translated(T),
    Raw(RawAnswer),
}

pub async fn generate(
    state: &AppState,
    config: &Config,
    model: &str,
    session: Option<u64>,
    request: &GenerateContentRequest,
    raw: Option<&Passthrough>,
) -> Result<(Relayed<GenerateContentResponse>, Served), GatewayError> {
    let request = state.signatures.fit(request, model);
    let json_text = JsonTextTools::of(request.tools.as_deref());
    match run(state, config, model, session, Call::Generate(&request), raw).await? {
        (Answer::Whole(mut answer), served, _) => {
            if let Some(tools) = &json_text {
                tools.restore_response(&mut answer);
            }
            state.signatures.record(&answer, model);
            Ok((Relayed::Translated(answer), served))
        }
        (Answer::Raw(answer), served, _) => Ok((Relayed::Raw(answer), served)),
        _ => Err(mismatch()),
    }
}

pub async fn stream(
    state: &AppState,
    config: &Config,
    model: &str,
    session: Option<u64>,
    request: &GenerateContentRequest,
    raw: Option<&Passthrough>,
) -> Result<(Relayed<StreamChunks>, Served), GatewayError> {
    use futures::StreamExt;
    let request = state.signatures.fit(request, model);
    let json_text = JsonTextTools::of(request.tools.as_deref());
    match run(state, config, model, session, Call::Stream(&request), raw).await? {
        (Answer::Stream(chunks), served, lease) => {
            let book = state.signatures.clone();
            let model = model.to_owned();
            // The lease goes with the stream: too late to retry (the client
            // has the first bytes), but the account still learns from an
            // error in it (a quota error cools it down like any other).
            // Gemini sends each function call whole, in one event.
            let chunks = chunks.map(move |chunk| match chunk {
                Ok(mut chunk) => {
                    if let Some(tools) = &json_text {
                        tools.restore_response(&mut chunk);
                    }
                    book.record(&chunk, &model);
                    Ok(chunk)
                }
                Err(error) => {
                    lease.report(Outcome::Failed(&error));
                    Err(error)
                }
            });
            Ok((Relayed::Translated(Box::pin(chunks)), served))
        }
        (Answer::Raw(mut answer), served, lease) => {
            if let RawBody::Stream(bytes) = answer.body {
                // As above: an error in the middle is still the upstream's to answer for.
                answer.body = RawBody::Stream(Box::pin(bytes.map(move |chunk| {
                    if let Err(error) = &chunk {
                        lease.report(Outcome::Failed(error));
                    }
                    chunk
                })));
            }
            Ok((Relayed::Raw(answer), served))
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
    match run(
        state,
        config,
        model,
        session,
        Call::CountTokens(&request),
        None,
    )
    .await?
    {
        (Answer::Count(tokens), _, _) => Ok(tokens),
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
            let chunks = state
                .google
                .stream(
                    google,
                    profile,
                    token,
                    &target(config, left, model, account, request),
                )
                .await?;
            // A quota error sent as the stream's first event is still a
            // failed attempt.
            first_event(chunks).await
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
    raw: Option<&Passthrough>,
) -> Result<(Answer, Served, Lease), GatewayError> {
    // `openrouter:openai/gpt-4o`: that upstream alone, with its own model name.
    let pinned = super::models::pinned_upstream(model, |name| {
        state
            .pool
            .snapshot()
            .iter()
            .any(|a| a.is_upstream() && a.email.eq_ignore_ascii_case(name))
    });
    let pinned_names: [String; 1];
    let (model, routing) = match pinned {
        Some((name, own)) => {
            pinned_names = [name.to_owned()];
            (own, Some(&pinned_names[..]))
        }
        None => (model, super::models::routing_rule(&config.routing, model)),
    };
    // One deadline per request, from its arrival: token refresh, every
    // attempt and every wait come out of it.
    let arrived = tokio::time::Instant::from_std(super::record::RequestContext::current().started);
    let deadline = arrived + Duration::from_secs(config.gateway.request_timeout_secs);
    let reserve = f64::from(config.pool.reserve_percent) / 100.0;
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
        let leased = state.pool.lease(&PickRequest {
            model,
            session,
            mode: config.gateway.scheduling,
            exclude: &tried,
            reserve,
            now,
            routing,
        });
        let lease = match leased {
            Leased::Account(lease) => lease,
            Leased::NoAccounts => return Err(GatewayError::no_accounts()),
            _ if client_fault.is_some() => break,
            Leased::AllLimited { until, total } => {
                return Err(pool_exhausted(state, model, until, now, total));
            }
            Leased::NoneUsable { .. } if !rotated_retried && rotated.is_some() => {
                rotated_retried = true;
                let id = rotated.take().unwrap_or_default();
                tried.retain(|t| *t != id);
                let wait = ROTATED_RETRY_WAIT
                    .min(deadline.saturating_duration_since(tokio::time::Instant::now()));
                tokio::time::sleep(wait).await;
                continue;
            }
            Leased::NoneUsable { total, unusable } => {
                // Every account was tried; if they are all limited now, say
                // when the first frees up rather than pass on the last error.
                let unfiltered = state.pool.pick(&PickRequest {
                    model,
                    session: None,
                    mode: config.gateway.scheduling,
                    exclude: &[],
                    reserve,
                    now,
                    routing,
                });
                if let crate::pool::Pick::AllLimited { until, total } = unfiltered {
                    return Err(pool_exhausted(state, model, until, now, total));
                }
                return Err(match last_error {
                    Some(error) => GatewayError::from_upstream(&error),
                    None => none_usable(total, &unusable),
                });
            }
        };
        let outcome = tokio::time::timeout_at(
            deadline,
            attempt(state, config, model, &lease, call, raw, deadline),
        )
        .await
        .unwrap_or_else(|_| Err(out_of_time_error(config)));
        let error = match outcome {
            Ok(answer) => {
                lease.report(Outcome::Served);
                let served = Served {
                    account: lease.account().clone(),
                    upstream_model: model.to_owned(),
                };
                return Ok((answer, served, lease));
            }
            Err(error) => error,
        };
        if matches!(error, UpstreamError::Transport { timeout: true, .. }) {
            // The request's time is used up (or the upstream went silent for
            // all of it): no other account could answer in time either. No
            // verdict: the lease goes back unreported.
            return Err(GatewayError::from_upstream(&error));
        }
        let account = lease.account().id;
        match lease.failed(&error) {
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
                Some(_) => return Err(GatewayError::from_upstream(&error)),
                None => {
                    tried.push(account);
                    client_fault = Some((status, error));
                    continue;
                }
            },
            verdict => {
                if matches!(verdict, Verdict::Rotate { .. }) && rotated.is_none() {
                    rotated = Some(account);
                }
                tried.push(account);
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

/// Every account is limited for this model: a 429 that says when to come back.
fn pool_exhausted(
    state: &AppState,
    model: &str,
    until: i64,
    now: i64,
    total: usize,
) -> GatewayError {
    state.pool.publish(PoolEvent::PoolExhausted {
        model: model.to_owned(),
        until,
    });
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
#[allow(clippy::too_many_arguments)]
async fn attempt(
    state: &AppState,
    config: &Config,
    model: &str,
    lease: &Lease,
    call: Call<'_>,
    raw: Option<&Passthrough>,
    deadline: tokio::time::Instant,
) -> Result<Answer, UpstreamError> {
    let account = lease.account();
    if let Some(settings) = &account.settings {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let idle = Duration::from_secs(config.gateway.request_timeout_secs);
        // A Vertex service account calls with an access token minted from
        // its key, cached and renewed by the pool like a Google account's.
        let minted;
        let key = if settings.service_account {
            minted = lease
                .token(|key_json| async move {
                    let (value, expires_at) = state.keyed.service_account_token(&key_json).await?;
                    Ok(AccessToken { value, expires_at })
                })
                .await?;
            &minted
        } else {
            &account.refresh_token
        };
        // The client speaks this upstream's protocol: its own body goes up.
        if let Some(raw) = raw.filter(|r| r.fits(settings.kind))
            && let Some(forward) = raw.forward(model, left.max(Duration::from_millis(1)), idle)
        {
            let endpoint = crate::upstream::keyed::Endpoint { settings, key };
            match state.keyed.forward(endpoint, &forward).await {
                // An OpenAI-compatible endpoint without the Responses API
                // gets the request as chat completions instead.
                Err(error) if raw.wire == Wire::Responses && error.status() == Some(404) => {
                    tracing::debug!(upstream = %account.email, "no Responses API there: translating");
                }
                other => return other.map(Answer::Raw),
            }
        }
        return call_keyed(state, config, model, settings, key, call, left).await;
    }
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
        let token = lease
            .token(|refresh_token| refresh(state, config, profile, refresh_token))
            .await?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match call_upstream(state, config, model, account, &token, profile, call, left).await {
            Err(error) if error.status() == Some(401) && !retried_after_401 => {
                // The token may have been revoked early: one new token, one
                // more try.
                retried_after_401 = true;
                lease.token_rejected(&token);
            }
            other => return other,
        }
    }
}

/// One call to an API-key upstream (its key is the member's secret).
async fn call_keyed(
    state: &AppState,
    config: &Config,
    model: &str,
    settings: &crate::store::UpstreamSettings,
    key: &Secret,
    call: Call<'_>,
    left: Duration,
) -> Result<Answer, UpstreamError> {
    use crate::upstream::keyed;
    let endpoint = keyed::Endpoint { settings, key };
    let of = |request| keyed::Call {
        model,
        request,
        timeout: left.max(Duration::from_millis(1)),
        idle_timeout: Duration::from_secs(config.gateway.request_timeout_secs),
    };
    match call {
        Call::Generate(request) => state
            .keyed
            .generate(endpoint, &of(request))
            .await
            .map(Answer::Whole),
        Call::Stream(request) => {
            let chunks = state.keyed.stream(endpoint, &of(request)).await?;
            first_event(chunks).await
        }
        Call::CountTokens(request) => state
            .keyed
            .count_tokens(endpoint, &of(request))
            .await
            .map(Answer::Count),
    }
}

/// Waits for a stream's first event: an error there is still an attempt
/// that failed (judged and retried elsewhere), since nothing reached the
/// client yet.
async fn first_event(mut chunks: StreamChunks) -> Result<Answer, UpstreamError> {
    use futures::StreamExt;
    match chunks.next().await {
        Some(Err(error)) => Err(error),
        Some(Ok(first)) => Ok(Answer::Stream(Box::pin(
            futures::stream::once(async move { Ok(first) }).chain(chunks),
        ))),
        None => Ok(Answer::Stream(chunks)),
    }
}

/// A new access token from Google's token endpoint (for [`Lease::token`]).
pub(crate) async fn refresh(
    state: &AppState,
    config: &Config,
    profile: &OAuthClientProfile,
    refresh_token: Secret,
) -> Result<AccessToken, UpstreamError> {
    let grant = state
        .google
        .refresh_access_token(&config.google, profile, &refresh_token)
        .await?;
    Ok(AccessToken {
        value: grant.access_token,
        expires_at: grant.expires_at,
    })
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
