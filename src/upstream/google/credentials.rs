//! Access tokens for pool accounts: reuse while fresh, refresh shortly before
//! they expire, and refresh at most once at a time per account.

use super::{GoogleClient, TokenGrant};
use crate::config::GoogleConfig;
use crate::pool::{AccessToken, PoolAccount};
use crate::secret::Secret;
use crate::store::now_unix;
use crate::upstream::UpstreamError;

/// Refresh this long before expiry, as Google's own client libraries do, so a
/// token never expires in the middle of a long request.
pub const REFRESH_MARGIN_SECS: i64 = 300;

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
    let _refreshing = account.refresh_lock.lock().await;
    // Another request may have refreshed while this one waited for the lock.
    if let Some(token) = account.usable_token(now_unix(), REFRESH_MARGIN_SECS) {
        return Ok(TokenOutcome::Cached(token));
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
    let grant = client
        .refresh_access_token(google, profile, &account.refresh_token)
        .await?;
    account.set_token(AccessToken {
        value: grant.access_token.clone(),
        expires_at: grant.expires_at,
    });
    tracing::debug!(account = %account.email, "refreshed access token");
    Ok(TokenOutcome::Refreshed(grant))
}
