//! Account operations shared by the CLI and (later) the window: adding an
//! account from a refresh token, checked live against Google.

use crate::config::Config;
use crate::secret::Secret;
use crate::store::{NewAccount, Store, StoreError, Upserted};
use crate::upstream::UpstreamError;
use crate::upstream::google::GoogleClient;

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
    let profile_name = profile_name.unwrap_or(&config.google.oauth_client);
    let profile = config
        .google
        .oauth_profile(profile_name)
        .ok_or_else(|| AddAccountError::UnknownProfile(profile_name.to_owned()))?;
    let google = &config.google;
    let grant = client
        .refresh_access_token(google, &profile, &refresh_token)
        .await
        .map_err(AddAccountError::Refresh)?;
    let email = client
        .user_email(google, &grant.access_token)
        .await
        .map_err(AddAccountError::Email)?;
    let setup = client
        .setup_account(google, &profile, &grant.access_token, project)
        .await
        .map_err(|error| AddAccountError::Setup {
            email: email.clone(),
            error,
        })?;
    let (quotas, quota_warning) = match client
        .user_quota(google, &profile, &grant.access_token, &setup.project_id)
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
