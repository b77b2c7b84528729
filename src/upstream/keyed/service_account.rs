//! A Google service account's JSON key, for Vertex AI: a JWT signed with its
//! private key (RS256) is exchanged at its `token_uri` for an access token
//! (the OAuth2 JWT-bearer grant). The pool caches the token and asks for a
//! new one before it expires, as it does for Google accounts.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::json;

use crate::secret::Secret;
use crate::upstream::UpstreamError;

/// What Vertex needs from a token.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The fields of a service account key file this uses.
#[derive(Deserialize)]
pub struct ServiceAccountKey {
    #[serde(rename = "type")]
    pub kind: String,
    pub client_email: String,
    pub private_key: String,
    pub token_uri: String,
    #[serde(default)]
    pub project_id: Option<String>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// Reads and checks a key file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let key: Self = serde_json::from_str(text)
            .map_err(|e| format!("not a service account key file: {e}"))?;
        if key.kind != "service_account" {
            return Err(format!(
                "the key file's type is `{}`, not `service_account`",
                key.kind
            ));
        }
        key.signer()?;
        Ok(key)
    }

    fn signer(&self) -> Result<aws_lc_rs::signature::RsaKeyPair, String> {
        let body: String = self
            .private_key
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = STANDARD
            .decode(body.trim())
            .map_err(|_| "the key file's private_key is not a PEM key".to_owned())?;
        aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| format!("the key file's private_key cannot sign: {e}"))
    }

    /// The signed assertion for `now` (Unix seconds), valid an hour.
    pub fn assertion(&self, now: i64) -> Result<String, String> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = json!({
            "iss": self.client_email,
            "scope": CLOUD_PLATFORM_SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let signer = self.signer()?;
        let mut signature = vec![0; signer.public_modulus_len()];
        signer
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "cannot sign the token request".to_owned())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// An access token for the service account in `key_json`, and when it
/// expires (Unix seconds).
pub async fn access_token(
    http: &reqwest::Client,
    key_json: &Secret,
) -> Result<(Secret, i64), UpstreamError> {
    let key =
        ServiceAccountKey::parse(key_json.expose()).map_err(|message| UpstreamError::Setup {
            message,
            link: None,
        })?;
    let now = crate::store::now_unix();
    let assertion = key.assertion(now).map_err(|message| UpstreamError::Setup {
        message,
        link: None,
    })?;
    let response = tokio::time::timeout(
        super::CONTROL_TIMEOUT,
        http.post(&key.token_uri)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send(),
    )
    .await
    .map_err(|_| UpstreamError::Transport {
        message: "the service account's token endpoint did not answer in time".to_owned(),
        timeout: true,
    })?
    .map_err(|e| UpstreamError::from_reqwest(e, "cannot reach the token endpoint"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    if !status.is_success() {
        // `invalid_grant` here is the key's fault (deleted, disabled): the
        // policy reads a 401 from a key upstream as a rejected key.
        let error = value["error"].as_str().unwrap_or("error");
        let description = value["error_description"].as_str().unwrap_or_default();
        return Err(UpstreamError::Status {
            status: if status.as_u16() == 400 {
                401
            } else {
                status.as_u16()
            },
            message: format!(
                "the token endpoint refused the service account: {error} {description}"
            )
            .trim()
            .to_owned(),
            retry_after: None,
            code: Some(error.to_owned()),
            details: Vec::new(),
        });
    }
    let token = value["access_token"]
        .as_str()
        .ok_or_else(|| UpstreamError::Decode("token endpoint: no access_token".to_owned()))?;
    let expires_in = value["expires_in"].as_i64().unwrap_or(3600);
    Ok((Secret::new(token), now + expires_in))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/vertex-service-account.json"
        ))
        .unwrap()
    }

    #[test]
    fn assertions_verify_with_the_keys_public_half() {
        let key = ServiceAccountKey::parse(&fixture()).unwrap();
        let jwt = key.assertion(1_800_000_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims["iss"],
            "gateway@switchyard-test.iam.gserviceaccount.com"
        );
        assert_eq!(claims["scope"], CLOUD_PLATFORM_SCOPE);
        assert_eq!(claims["exp"], 1_800_003_600);
        let public = STANDARD
            .decode(
                std::fs::read_to_string(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/vertex-service-account.pub.der.b64"
                ))
                .unwrap()
                .trim(),
            )
            .unwrap();
        let verifier = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            public,
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        verifier
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .unwrap();
        assert!(
            verifier
                .verify(b"tampered", &URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
                .is_err()
        );
    }

    #[test]
    fn other_files_are_refused_clearly() {
        assert!(
            ServiceAccountKey::parse("{}")
                .unwrap_err()
                .contains("not a service account key file")
        );
        let user = fixture().replace("\"service_account\"", "\"authorized_user\"");
        assert!(
            ServiceAccountKey::parse(&user)
                .unwrap_err()
                .contains("`authorized_user`")
        );
        // Debug never prints the private key.
        let key = ServiceAccountKey::parse(&fixture()).unwrap();
        assert!(!format!("{key:?}").contains("PRIVATE KEY"));
    }
}
