//! Account operations shared by the CLI and the window: adding an account
//! from a refresh token or a browser sign-in (checked live against Google),
//! importing and exporting them.

pub mod login;
pub mod transfer;

use crate::config::{Config, OAuthClientProfile};
use crate::secret::Secret;
use crate::store::{NewAccount, Store, StoreError, Upserted};
use crate::upstream::UpstreamError;
use crate::upstream::google::{GoogleClient, TokenGrant};

#[derive(Debug, thiserror::Error)]
pub enum AddAccountError {
    #[error(
        "no OAuth client profile named `{0}` (see google.oauth_client and [[google.oauth_clients]])"
    )]
    UnknownProfile(String),
    #[error("Google refused the refresh token: {0}")]
    Refresh(UpstreamError),
    #[error("cannot read the account's email: {0}")]
    Email(UpstreamError),
    #[error("Google refused the sign-in: {0}")]
    Exchange(UpstreamError),
    #[error("sign-in failed: {0}")]
    Login(String),
    #[error("cannot set up Code Assist for {email}: {error}{}", error_link(.error))]
    Setup { email: String, error: UpstreamError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn error_link(error: &UpstreamError) -> String {
    match error {
        UpstreamError::Setup {
            link: Some(link), ..
        } => format!(" (see {link})"),
        _ => String::new(),
    }
}

/// What adding an account did.
#[derive(Debug, Clone)]
pub struct AddedAccount {
    pub id: i64,
    pub email: String,
    pub created: bool,
    pub project_id: String,
    pub tier: String,
    pub models: usize,
    /// Quota could not be read (the account works; quotas come later).
    pub quota_warning: Option<String>,
}

/// Checks `refresh_token` live (refresh, email, project, quota) and stores the
/// account; the same email again updates the stored one.
pub async fn add_with_refresh_token(
    client: &GoogleClient,
    config: &Config,
    store: &Store,
    refresh_token: Secret,
    profile_name: Option<&str>,
    project: Option<&str>,
) -> Result<AddedAccount, AddAccountError> {
    let profile = profile(config, profile_name)?;
    let grant = client
        .refresh_access_token(&config.google, &profile, &refresh_token)
        .await
        .map_err(AddAccountError::Refresh)?;
    add_with_grant(
        client,
        config,
        store,
        &profile,
        grant,
        refresh_token,
        project,
    )
    .await
}

pub(crate) fn profile(
    config: &Config,
    profile_name: Option<&str>,
) -> Result<OAuthClientProfile, AddAccountError> {
    let name = profile_name.unwrap_or(&config.google.oauth_client);
    config
        .google
        .oauth_profile(name)
        .cloned()
        .ok_or_else(|| AddAccountError::UnknownProfile(name.to_owned()))
}

/// Finishes adding an account once Google granted tokens: email, project,
/// quota, then the store.
pub(crate) async fn add_with_grant(
    client: &GoogleClient,
    config: &Config,
    store: &Store,
    profile: &OAuthClientProfile,
    grant: TokenGrant,
    refresh_token: Secret,
    project: Option<&str>,
) -> Result<AddedAccount, AddAccountError> {
    let google = &config.google;
    let email = client
        .user_email(google, &grant.access_token)
        .await
        .map_err(AddAccountError::Email)?;
    let setup = client
        .setup_account(google, profile, &grant.access_token, project)
        .await
        .map_err(|error| AddAccountError::Setup {
            email: email.clone(),
            error,
        })?;
    let (quotas, quota_warning) = match client
        .user_quota(google, profile, &grant.access_token, &setup.project_id)
        .await
    {
        Ok(quotas) => (quotas, None),
        Err(error) => (Vec::new(), Some(error.to_string())),
    };
    let account = NewAccount {
        email: email.clone(),
        upstream: "google".to_owned(),
        oauth_client: profile.name.clone(),
        // Google may rotate the refresh token on use; keep the newest.
        refresh_token: grant.refresh_token.clone().unwrap_or(refresh_token),
        access_token: Some(grant.access_token.clone()),
        access_expires_at: Some(grant.expires_at),
        project_id: Some(setup.project_id.clone()),
        tier: Some(setup.tier.clone()),
    };
    let models = quotas.len();
    let Upserted { id, created } = store
        .run(move |store| {
            let upserted = store.upsert_account(&account)?;
            if !quotas.is_empty() {
                store.replace_quotas(upserted.id, &quotas)?;
            }
            Ok(upserted)
        })
        .await?;
    Ok(AddedAccount {
        id,
        email,
        created,
        project_id: setup.project_id,
        tier: setup.tier,
        models,
        quota_warning,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("OAuth client profile `{0}` is not in the config")]
    UnknownProfile(String),
    #[error("the account has no Code Assist project; add it again")]
    NoProject,
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads an account's quota from Google now and stores it (and the fresh
/// token). A refused refresh token marks the account as needing a new sign-in.
pub async fn refresh_quota(
    client: &GoogleClient,
    config: &Config,
    store: &Store,
    account: &crate::store::AccountRecord,
) -> Result<Vec<crate::store::QuotaRecord>, RefreshError> {
    let profile = config
        .google
        .oauth_profile(&account.oauth_client)
        .ok_or_else(|| RefreshError::UnknownProfile(account.oauth_client.clone()))?;
    let project = account
        .project_id
        .as_deref()
        .ok_or(RefreshError::NoProject)?;
    let grant = match client
        .refresh_access_token(&config.google, profile, &account.refresh_token)
        .await
    {
        Ok(grant) => grant,
        Err(error) => {
            if error.is_invalid_grant() {
                store.set_status(
                    account.id,
                    crate::store::AccountStatus::NeedsRelogin,
                    Some(&error.to_string()),
                )?;
            }
            return Err(error.into());
        }
    };
    store.save_access_token(account.id, &grant.access_token, grant.expires_at)?;
    let quotas = client
        .user_quota(&config.google, profile, &grant.access_token, project)
        .await?;
    store.replace_quotas(account.id, &quotas)?;
    Ok(quotas)
}

/// An account's one status line, the same in the CLI, the tray and the window:
/// `active`, `cooling down (model, until T, why)`, `quota exhausted (model,
/// resets at T)`, `needs re-login (why)`, `forbidden / needs verification
/// (link)`, `disabled by user`.
pub fn describe_status(
    record: &crate::store::AccountRecord,
    limits: &[crate::store::LimitRecord],
    now: i64,
) -> String {
    use crate::store::{AccountStatus, LimitKind};
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| t.to_string())
    };
    match record.status {
        AccountStatus::Disabled => return "disabled by user".to_owned(),
        AccountStatus::NeedsRelogin => {
            return format!(
                "needs re-login ({})",
                record
                    .status_reason
                    .as_deref()
                    .unwrap_or("the refresh token was refused")
            );
        }
        AccountStatus::Forbidden => {
            let detail = record
                .status_link
                .as_deref()
                .or(record.status_reason.as_deref())
                .unwrap_or("Google refused the account");
            return format!("forbidden / needs verification ({detail})");
        }
        AccountStatus::Active => {}
    }
    let lines: Vec<String> = limits
        .iter()
        .filter(|l| l.account_id == record.id && l.until > now)
        .map(|l| {
            let model = l.model.as_deref().unwrap_or("all models");
            match l.kind {
                LimitKind::QuotaExhausted => {
                    format!("quota exhausted ({model}, resets at {})", time(l.until))
                }
                LimitKind::CoolingDown => {
                    format!(
                        "cooling down ({model}, until {}, {})",
                        time(l.until),
                        l.reason
                    )
                }
            }
        })
        .collect();
    if lines.is_empty() {
        "active".to_owned()
    } else {
        lines.join("; ")
    }
}
