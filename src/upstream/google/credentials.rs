//! Access tokens for pool accounts: reuse while fresh, refresh shortly before
//! they expire, and refresh at most once at a time per account.

use super::{GoogleClient, TokenGrant};
use crate::config::GoogleConfig;
use crate::pool::{AccessToken, PoolAccount, RefreshFailure};
use crate::secret::Secret;
use crate::store::now_unix;
use crate::upstream::UpstreamError;

/// Refresh this long before expiry, as Google's own client libraries do, so a
/// token never expires in the middle of a long request.
pub const REFRESH_MARGIN_SECS: i64 = 300;

/// The longest a request waits for another request's refresh of the same
/// account (the refresh itself is bounded by `CONTROL_CALL_TIMEOUT`).
const REFRESH_WAIT: std::time::Duration = std::time::Duration::from_secs(35);

/// A token to use, and whether it is new (the caller persists new ones).
#[derive(Debug)]
pub enum TokenOutcome {
    Cached(Secret),
    Refreshed(TokenGrant),
}

impl TokenOutcome {
    pub fn token(&self) -> &Secret {
        match self {
            Self::Cached(token) => token,
            Self::Refreshed(grant) => &grant.access_token,
        }
    }
}

/// A usable access token for `account`. To force a refresh after the upstream
/// rejected a token, call [`PoolAccount::invalidate_token`] first.
pub async fn access_token(
    client: &GoogleClient,
    google: &GoogleConfig,
    account: &PoolAccount,
) -> Result<TokenOutcome, UpstreamError> {
    if let Some(token) = account.usable_token(now_unix(), REFRESH_MARGIN_SECS) {
        return Ok(TokenOutcome::Cached(token));
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
        return Ok(TokenOutcome::Cached(token));
    }
    // or failed to: then this one fails the same way instead of trying again.
    if let Some(failure) = account.refresh_failure().filter(|f| f.at >= waiting_since) {
        return Err(if failure.status == 0 {
            UpstreamError::Transport {
                message: failure.description.unwrap_or(failure.error),
                timeout: false,
            }
        } else {
            UpstreamError::OAuth {
                status: failure.status,
                error: failure.error,
                description: failure.description,
            }
        });
    }
    let profile =
        google
            .oauth_profile(&account.oauth_client)
            .ok_or_else(|| UpstreamError::Setup {
                message: format!(
                    "account {} uses OAuth client profile `{}`, which is no longer in the config",
                    account.email, account.oauth_client
                ),
                link: None,
            })?;
    let grant = match client
        .refresh_access_token(google, profile, &account.refresh_token)
        .await
    {
        Ok(grant) => grant,
        Err(error) => {
            let (status, code, description) = match &error {
                UpstreamError::OAuth {
                    status,
                    error,
                    description,
                } => (*status, error.clone(), description.clone()),
                other => (0, "no answer".to_owned(), Some(other.to_string())),
            };
            account.set_refresh_failure(Some(RefreshFailure {
                at: std::time::Instant::now(),
                status,
                error: code,
                description,
            }));
            return Err(error);
        }
    };
    account.set_refresh_failure(None);
    account.set_token(AccessToken {
        value: grant.access_token.clone(),
        expires_at: grant.expires_at,
    });
    tracing::debug!(account = %account.email, "refreshed access token");
    Ok(TokenOutcome::Refreshed(grant))
}
