//! Runs one client request against the pool: picks an account, makes sure it
//! has a fresh token, calls the upstream, and moves to another account when the
//! failure was the account's. Nothing has been sent to the client while this
//! runs, so retrying is always safe here.

use std::sync::Arc;

use super::AppState;
use super::error::GatewayError;
use crate::config::{Config, OAuthClientProfile};
use crate::pool::{Pick, PoolAccount};
use crate::protocol::gemini::{GenerateContentRequest, GenerateContentResponse};
use crate::secret::Secret;
use crate::store::{AccountStatus, now_unix};
use crate::upstream::UpstreamError;
use crate::upstream::google::{self, StreamChunks, Target, TokenOutcome};

/// Accounts tried for one request at most.
const MAX_ACCOUNTS_PER_REQUEST: usize = 3;

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
    request: &GenerateContentRequest,
) -> Result<(GenerateContentResponse, Served), GatewayError> {
    match run(state, config, model, Call::Generate(request)).await? {
        (Answer::Whole(answer), served) => Ok((answer, served)),
        _ => Err(mismatch()),
    }
}

pub async fn stream(
    state: &AppState,
    config: &Config,
    model: &str,
    request: &GenerateContentRequest,
) -> Result<(StreamChunks, Served), GatewayError> {
    match run(state, config, model, Call::Stream(request)).await? {
        (Answer::Stream(chunks), served) => Ok((chunks, served)),
        _ => Err(mismatch()),
    }
}

/// The prompt's size in tokens, counted by the upstream.
pub async fn count_tokens(
    state: &AppState,
    config: &Config,
    model: &str,
    request: &GenerateContentRequest,
) -> Result<u64, GatewayError> {
    match run(state, config, model, Call::CountTokens(request)).await? {
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

async fn call_upstream(
    state: &AppState,
    config: &Config,
    model: &str,
    account: &PoolAccount,
    token: &Secret,
    profile: &OAuthClientProfile,
    call: Call<'_>,
) -> Result<Answer, UpstreamError> {
    let google = &config.google;
    match call {
        Call::Generate(request) => state
            .google
            .generate(
                google,
                profile,
                token,
                &target(config, model, account, request),
            )
            .await
            .map(Answer::Whole),
        Call::Stream(request) => state
            .google
            .stream(
                google,
                profile,
                token,
                &target(config, model, account, request),
            )
            .await
            .map(Answer::Stream),
        Call::CountTokens(request) => state
            .google
            .count_tokens(
                google,
                profile,
                token,
                &target(config, model, account, request),
            )
            .await
            .map(Answer::Count),
    }
}

fn target<'a>(
    config: &Config,
    model: &'a str,
    account: &'a PoolAccount,
    request: &'a GenerateContentRequest,
) -> Target<'a> {
    Target {
        model,
        project: account.project_id.as_deref().unwrap_or_default(),
        request,
        timeout: std::time::Duration::from_secs(config.gateway.request_timeout_secs),
    }
}

/// Whose fault a failure is: the account's (try another) or not (give up).
fn is_account_fault(error: &UpstreamError) -> bool {
    match error {
        UpstreamError::OAuth { .. } | UpstreamError::Setup { .. } => true,
        UpstreamError::Status { status, .. } => matches!(status, 401 | 403 | 429),
        UpstreamError::Transport { .. } | UpstreamError::Decode(_) => false,
    }
}

async fn run(
    state: &AppState,
    config: &Config,
    model: &str,
    call: Call<'_>,
) -> Result<(Answer, Served), GatewayError> {
    let mut tried: Vec<i64> = Vec::new();
    let mut last_error: Option<UpstreamError> = None;
    while tried.len() < MAX_ACCOUNTS_PER_REQUEST {
        let account = match state.pool.pick(&tried) {
            Pick::Account(account) => account,
            Pick::NoAccounts => return Err(GatewayError::no_accounts()),
            Pick::NoneUsable { total, unusable } => {
                return Err(match last_error {
                    Some(error) => GatewayError::from_upstream(&error),
                    None => none_usable(total, &unusable),
                });
            }
        };
        tried.push(account.id);
        match attempt(state, config, model, &account, call).await {
            Ok(value) => {
                record_use(state, &account);
                return Ok((
                    value,
                    Served {
                        account,
                        upstream_model: model.to_owned(),
                    },
                ));
            }
            Err(error) if is_account_fault(&error) => {
                tracing::warn!(account = %account.email, %error, "account failed; trying another");
                last_error = Some(error);
            }
            Err(error) => return Err(GatewayError::from_upstream(&error)),
        }
    }
    Err(last_error
        .map(|e| GatewayError::from_upstream(&e))
        .unwrap_or_else(GatewayError::no_accounts))
}

/// One account: token (refreshed if needed), the call, and once more with a
/// new token if the upstream said 401.
async fn attempt(
    state: &AppState,
    config: &Config,
    model: &str,
    account: &Arc<PoolAccount>,
    call: Call<'_>,
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
        match call_upstream(state, config, model, account, &token, &profile, call).await {
            Err(error) if error.status() == Some(401) && !retried_after_401 => {
                // The token may have been revoked early: one new token, one more try.
                retried_after_401 = true;
                account.invalidate_token();
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
    match google::access_token(&state.google, &config.google, account).await {
        Ok(TokenOutcome::Cached(token)) => Ok(token),
        Ok(TokenOutcome::Refreshed(grant)) => {
            let (id, token, expires_at) =
                (account.id, grant.access_token.clone(), grant.expires_at);
            persist(state, "save the new access token", move |store| {
                store.save_access_token(id, &token, expires_at)
            });
            Ok(grant.access_token)
        }
        Err(error) => {
            if error.is_invalid_grant() && account.status() == AccountStatus::Active {
                tracing::warn!(
                    account = %account.email,
                    "Google refused the refresh token (invalid_grant): the account needs a new sign-in"
                );
                let reason = error.to_string();
                account.set_status(AccountStatus::NeedsRelogin, Some(reason.clone()));
                let id = account.id;
                persist(
                    state,
                    "mark the account as needing a new sign-in",
                    move |store| store.set_status(id, AccountStatus::NeedsRelogin, Some(&reason)),
                );
            }
            Err(error)
        }
    }
}

fn record_use(state: &AppState, account: &PoolAccount) {
    let id = account.id;
    persist(state, "record the account's last use", move |store| {
        store.touch_last_used(id, now_unix())
    });
}

/// Writes to the store off the request path; a failure is logged, not returned
/// (the request itself succeeded).
fn persist(
    state: &AppState,
    what: &'static str,
    work: impl FnOnce(&crate::store::Store) -> Result<(), crate::store::StoreError> + Send + 'static,
) {
    let store = state.store.clone();
    tokio::spawn(async move {
        if let Err(error) = store.run(work).await {
            tracing::error!(%error, "could not {what}");
        }
    });
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
