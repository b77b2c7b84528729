//! OAuth with Google: the refresh-token grant, the authorization-code grant,
//! the browser authorization URL, and the signed-in user's email.

use serde::Deserialize;

use super::GoogleClient;
use crate::config::{GoogleConfig, OAuthClientProfile};
use crate::secret::Secret;
use crate::store::now_unix;
use crate::upstream::UpstreamError;

/// What the token endpoint granted.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: Secret,
    /// Unix seconds.
    pub expires_at: i64,
    /// Only on a code exchange (and rarely on a refresh).
    pub refresh_token: Option<Secret>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// The parameters of a browser sign-in.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub redirect_uri: String,
    pub state: String,
    /// PKCE S256 challenge, when the profile uses PKCE.
    pub code_challenge: Option<String>,
}

impl GoogleClient {
    /// Exchanges a refresh token for an access token.
    pub async fn refresh_access_token(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        refresh_token: &Secret,
    ) -> Result<TokenGrant, UpstreamError> {
        self.token_request(
            google,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
                ("client_id", &profile.client_id),
                ("client_secret", &profile.client_secret),
            ],
        )
        .await
    }

    /// Exchanges an authorization code (browser sign-in) for tokens.
    pub async fn exchange_code(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<TokenGrant, UpstreamError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", profile.client_id.as_str()),
            ("client_secret", profile.client_secret.as_str()),
        ];
        if let Some(verifier) = code_verifier {
            form.push(("code_verifier", verifier));
        }
        self.token_request(google, &form).await
    }

    async fn token_request(
        &self,
        google: &GoogleConfig,
        form: &[(&str, &str)],
    ) -> Result<TokenGrant, UpstreamError> {
        let response = self
            .http
            .post(&google.oauth_token_url)
            .form(form)
            .timeout(super::CONTROL_CALL_TIMEOUT)
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(e, "cannot reach Google's token endpoint"))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| UpstreamError::from_reqwest(e, "cannot read Google's token answer"))?;
        if !status.is_success() {
            let parsed: OAuthErrorBody = serde_json::from_str(&body).unwrap_or(OAuthErrorBody {
                error: None,
                error_description: None,
            });
            return Err(UpstreamError::OAuth {
                status: status.as_u16(),
                error: parsed
                    .error
                    .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
                description: parsed.error_description,
            });
        }
        let token: TokenResponse = serde_json::from_str(&body)
            .map_err(|e| UpstreamError::Decode(format!("token endpoint: {e}")))?;
        Ok(TokenGrant {
            access_token: Secret::new(token.access_token),
            expires_at: now_unix() + token.expires_in.unwrap_or(3600),
            refresh_token: token.refresh_token.map(Secret::new),
        })
    }

    /// The email address of the signed-in user.
    pub async fn user_email(
        &self,
        google: &GoogleConfig,
        access_token: &Secret,
    ) -> Result<String, UpstreamError> {
        #[derive(Deserialize)]
        struct UserInfo {
            #[serde(default)]
            email: Option<String>,
        }
        let response = self
            .http
            .get(&google.userinfo_url)
            .bearer_auth(access_token.expose())
            .timeout(super::CONTROL_CALL_TIMEOUT)
            .send()
            .await
            .map_err(|e| {
                UpstreamError::from_reqwest(e, "cannot reach Google's userinfo endpoint")
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| UpstreamError::from_reqwest(e, "cannot read Google's userinfo answer"))?;
        if !status.is_success() {
            return Err(super::error::status_error(status, &headers, &body));
        }
        let info: UserInfo = serde_json::from_str(&body)
            .map_err(|e| UpstreamError::Decode(format!("userinfo: {e}")))?;
        info.email.filter(|e| !e.is_empty()).ok_or_else(|| {
            UpstreamError::Decode(
                "userinfo has no email: the token lacks the userinfo.email scope".to_owned(),
            )
        })
    }
}

/// The URL that starts a browser sign-in.
pub fn authorization_url(
    google: &GoogleConfig,
    profile: &OAuthClientProfile,
    request: &AuthorizationRequest,
) -> Result<String, UpstreamError> {
    let mut url = url::Url::parse(&google.oauth_auth_url).map_err(|e| UpstreamError::Setup {
        message: format!("google.oauth_auth_url is not a URL: {e}"),
        link: None,
    })?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &profile.client_id)
            .append_pair("redirect_uri", &request.redirect_uri)
            .append_pair("scope", &profile.scopes.join(" "))
            .append_pair("access_type", "offline")
            // Without consent Google may not send a refresh token to a user
            // who already granted access once.
            .append_pair("prompt", "consent")
            .append_pair("state", &request.state);
        if let Some(challenge) = &request.code_challenge {
            query
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    Ok(url.into())
}
