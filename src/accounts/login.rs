//! Browser sign-in: the OAuth loopback flow. A one-shot local server on
//! `127.0.0.1:<free port>` receives Google's redirect; the `state` must match;
//! PKCE is used where the client profile allows it. On a machine without a
//! browser, the user opens the URL elsewhere and pastes back the address the
//! browser ended on (or just the code).
//!
//! The CLI and the window both drive a [`LoginFlow`]: start it, show
//! [`LoginFlow::url`], wait for [`LoginFlow::wait`] or feed a paste to
//! [`LoginFlow::code_from_paste`], then [`LoginFlow::finish`].

use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{AddAccountError, AddedAccount, add_with_grant, profile};
use crate::config::{Config, OAuthClientProfile};
use crate::store::Store;
use crate::upstream::google::{AuthorizationRequest, GoogleClient, authorization_url};

/// How long a sign-in may take before it is given up.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// A sign-in in progress.
pub struct LoginFlow {
    /// Open this in a browser.
    pub url: String,
    pub redirect_uri: String,
    state: String,
    verifier: Option<String>,
    profile: OAuthClientProfile,
    callbacks: mpsc::Receiver<Result<String, String>>,
    server: CancellationToken,
}

#[derive(Debug, Deserialize)]
struct Callback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

#[derive(Clone)]
struct CallbackState {
    expected_state: String,
    sender: mpsc::Sender<Result<String, String>>,
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts a sign-in with the named OAuth client profile (default: `google.oauth_client`).
pub async fn start(
    config: &Config,
    profile_name: Option<&str>,
) -> Result<LoginFlow, AddAccountError> {
    let profile = profile(config, profile_name)?;
    if !config.google.profile_allowed(&profile) {
        return Err(AddAccountError::RiskNotAccepted(format!(
            "signing in with `{}` uses the Antigravity client.",
            profile.name
        )));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| {
            AddAccountError::Login(format!("cannot open a local port for the sign-in: {e}"))
        })?;
    let port = listener
        .local_addr()
        .map_err(|e| AddAccountError::Login(e.to_string()))?
        .port();
    // Google wants a loopback IP literal here, not "localhost".
    let redirect_uri = format!("http://127.0.0.1:{port}/oauth2callback");
    let state = random_hex(32);
    let verifier = profile.pkce.then(|| {
        use rand::RngCore;
        let mut bytes = [0u8; 64];
        rand::rng().fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    });
    let code_challenge = verifier
        .as_ref()
        .map(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())));
    let url = authorization_url(
        &config.google,
        &profile,
        &AuthorizationRequest {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            code_challenge,
        },
    )
    .map_err(|e| AddAccountError::Login(e.to_string()))?;

    let (sender, callbacks) = mpsc::channel(4);
    let server = CancellationToken::new();
    let app = Router::new()
        .route("/oauth2callback", get(callback))
        .with_state(CallbackState {
            expected_state: state.clone(),
            sender,
        });
    let shutdown = server.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
    });
    Ok(LoginFlow {
        url,
        redirect_uri,
        state,
        verifier,
        profile,
        callbacks,
        server,
    })
}

async fn callback(State(state): State<CallbackState>, Query(query): Query<Callback>) -> Response {
    let outcome = if let Some(error) = query.error {
        Err(format!(
            "Google said `{error}`{}",
            query
                .error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ))
    } else if query.state.as_deref() != Some(state.expected_state.as_str()) {
        Err(
            "the sign-in answer did not match this sign-in (state mismatch); start again"
                .to_owned(),
        )
    } else if let Some(code) = query.code.filter(|c| !c.is_empty()) {
        Ok(code)
    } else {
        Err("the sign-in answer had no code".to_owned())
    };
    let page = match &outcome {
        Ok(_) => "<h2>Signed in to Switchyard.</h2><p>You can close this tab.</p>".to_owned(),
        Err(message) => format!("<h2>Sign-in failed</h2><p>{}</p>", html_escape(message)),
    };
    let _ = state.sender.send(outcome).await;
    Html(page).into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl LoginFlow {
    /// Whether pasting the address the browser ended on can finish this
    /// sign-in. Not with the Antigravity client: Google's consent page must
    /// reach the loopback port itself, and hangs when it cannot.
    pub fn accepts_paste(&self) -> bool {
        !self.profile.is_antigravity()
    }

    /// Gives the sign-in up: its local server stops answering.
    pub fn cancel(self) {
        self.server.cancel();
    }

    /// The loopback port Google sends the browser back to.
    pub fn port(&self) -> u16 {
        url::Url::parse(&self.redirect_uri)
            .ok()
            .and_then(|u| u.port())
            .unwrap_or_default()
    }

    /// Waits for the browser to come back, up to [`LOGIN_TIMEOUT`]. Returns the code.
    pub async fn wait(&mut self) -> Result<String, AddAccountError> {
        match tokio::time::timeout(LOGIN_TIMEOUT, self.callbacks.recv()).await {
            Ok(Some(Ok(code))) => Ok(code),
            Ok(Some(Err(message))) => Err(AddAccountError::Login(message)),
            Ok(None) => Err(AddAccountError::Login(
                "the sign-in server stopped".to_owned(),
            )),
            Err(_) => Err(AddAccountError::Login(format!(
                "no answer from the browser within {} minutes",
                LOGIN_TIMEOUT.as_secs() / 60
            ))),
        }
    }

    /// The code in what the user pasted: the whole address the browser ended
    /// on (its `state` is checked), or the bare code.
    pub fn code_from_paste(&self, pasted: &str) -> Result<String, AddAccountError> {
        let pasted = pasted.trim();
        if pasted.is_empty() {
            return Err(AddAccountError::Login("nothing was pasted".to_owned()));
        }
        if let Ok(url) = url::Url::parse(pasted) {
            let query: std::collections::HashMap<String, String> =
                url.query_pairs().into_owned().collect();
            if let Some(error) = query.get("error") {
                return Err(AddAccountError::Login(format!("Google said `{error}`")));
            }
            if query.get("state").is_some_and(|s| *s != self.state) {
                return Err(AddAccountError::Login(
                    "that address belongs to another sign-in (state mismatch)".to_owned(),
                ));
            }
            return query.get("code").cloned().ok_or_else(|| {
                AddAccountError::Login("that address has no `code` in it".to_owned())
            });
        }
        if pasted.contains(char::is_whitespace) {
            return Err(AddAccountError::Login(
                "paste the whole address from the browser, or just the code".to_owned(),
            ));
        }
        Ok(pasted.to_owned())
    }

    /// Exchanges the code and adds (or updates) the account.
    pub async fn finish(
        self,
        client: &GoogleClient,
        config: &Config,
        store: &Store,
        code: &str,
        project: Option<&str>,
    ) -> Result<AddedAccount, AddAccountError> {
        self.server.cancel();
        let grant = client
            .exchange_code(
                &config.google,
                &self.profile,
                code,
                &self.redirect_uri,
                self.verifier.as_deref(),
            )
            .await
            .map_err(AddAccountError::Exchange)?;
        let Some(refresh_token) = grant.refresh_token.clone() else {
            return Err(AddAccountError::Login(
                "Google granted no refresh token; remove the app's access at \
                 https://myaccount.google.com/permissions and sign in again"
                    .to_owned(),
            ));
        };
        add_with_grant(
            client,
            config,
            store,
            &self.profile,
            grant,
            refresh_token,
            project,
        )
        .await
    }
}

impl Drop for LoginFlow {
    fn drop(&mut self) {
        self.server.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pasted_addresses_and_codes() {
        let mut config = Config::default();
        config.google.oauth_auth_url = "http://127.0.0.1:9/auth".to_owned();
        let flow = start(&config, None).await.unwrap();
        let url = url::Url::parse(&flow.url).unwrap();
        let query: std::collections::HashMap<String, String> =
            url.query_pairs().into_owned().collect();
        assert_eq!(query["redirect_uri"], flow.redirect_uri);
        assert_eq!(query["access_type"], "offline");
        assert_eq!(query["state"].len(), 64);
        assert!(
            !query.contains_key("code_challenge"),
            "the built-in client does not use PKCE"
        );
        let state = &query["state"];
        let pasted = format!("{}?state={state}&code=4/abc&scope=x", flow.redirect_uri);
        assert_eq!(flow.code_from_paste(&pasted).unwrap(), "4/abc");
        assert_eq!(
            flow.code_from_paste("  4/bare-code \n").unwrap(),
            "4/bare-code"
        );
        let forged = format!("{}?state=other&code=4/abc", flow.redirect_uri);
        assert!(flow.code_from_paste(&forged).is_err());
        assert!(flow.code_from_paste("two words").is_err());
    }

    #[tokio::test]
    async fn the_callback_checks_state_and_hands_over_the_code() {
        let mut config = Config::default();
        config.google.oauth_clients.push(OAuthClientProfile {
            pkce: true,
            name: "pkce".to_owned(),
            ..OAuthClientProfile::gemini_cli()
        });
        let mut flow = start(&config, Some("pkce")).await.unwrap();
        assert!(flow.url.contains("code_challenge_method=S256"));
        let client = reqwest::Client::new();
        let forged = client
            .get(format!("{}?state=nope&code=x", flow.redirect_uri))
            .send()
            .await
            .unwrap();
        assert!(forged.text().await.unwrap().contains("state mismatch"));
        assert!(
            matches!(flow.wait().await, Err(AddAccountError::Login(m)) if m.contains("state mismatch"))
        );
        let good = client
            .get(format!(
                "{}?state={}&code=4/good",
                flow.redirect_uri, flow.state
            ))
            .send()
            .await
            .unwrap();
        assert!(good.text().await.unwrap().contains("Signed in"));
        assert_eq!(flow.wait().await.unwrap(), "4/good");
    }
}
