//! API-key upstreams: a Gemini API or Vertex key, any OpenAI-compatible
//! endpoint, an Anthropic endpoint. Each kind's file owns its URLs, auth
//! headers, request and answer shapes and error bodies; this one dispatches
//! on the kind and holds what they share (the HTTP client, error reading,
//! rate-limit headers, the key kept out of every message).
//!
//! Calls take and give Gemini's shapes (the pivot every client translator
//! starts from); `forward` sends a client's own body unchanged when the
//! client speaks the upstream's protocol (passthrough).

mod anthropic;
mod gemini_api;
mod openai;
pub mod service_account;

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use super::UpstreamError;
use crate::protocol::gemini::{GenerateContentRequest, GenerateContentResponse};
use crate::secret::Secret;
use crate::store::{ModelCatalog, UpstreamKind, UpstreamSettings};
use crate::upstream::google::StreamChunks;

/// The longest `/models` or `upstreams test` may take.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// One API-key upstream as a call needs it.
#[derive(Clone, Copy)]
pub struct Endpoint<'a> {
    pub settings: &'a UpstreamSettings,
    pub key: &'a Secret,
}

/// What to generate.
pub struct Call<'a> {
    pub model: &'a str,
    pub request: &'a GenerateContentRequest,
    /// How long the call may take to answer (a stream: to start).
    pub timeout: Duration,
    /// A stream's longest silence once it started.
    pub idle_timeout: Duration,
}

/// An HTTP client for API-key upstreams (shares the Google client's pool).
#[derive(Clone)]
pub struct KeyedClient {
    http: reqwest::Client,
}

impl KeyedClient {
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }

    pub async fn generate(
        &self,
        endpoint: Endpoint<'_>,
        call: &Call<'_>,
    ) -> Result<GenerateContentResponse, UpstreamError> {
        match endpoint.settings.kind {
            UpstreamKind::GeminiApi | UpstreamKind::Vertex => {
                gemini_api::generate(&self.http, endpoint, call).await
            }
            UpstreamKind::OpenAi => openai::generate(&self.http, endpoint, call).await,
            UpstreamKind::Anthropic => anthropic::generate(&self.http, endpoint, call).await,
        }
    }

    pub async fn stream(
        &self,
        endpoint: Endpoint<'_>,
        call: &Call<'_>,
    ) -> Result<StreamChunks, UpstreamError> {
        let chunks = match endpoint.settings.kind {
            UpstreamKind::GeminiApi | UpstreamKind::Vertex => {
                gemini_api::stream(&self.http, endpoint, call).await?
            }
            UpstreamKind::OpenAi => openai::stream(&self.http, endpoint, call).await?,
            UpstreamKind::Anthropic => anthropic::stream(&self.http, endpoint, call).await?,
        };
        Ok(Box::pin(super::with_idle_timeout(
            chunks,
            call.idle_timeout,
        )))
    }

    /// The prompt's size in tokens: counted by the upstream where it can
    /// (Gemini `countTokens`, Anthropic `count_tokens`), else estimated.
    pub async fn count_tokens(
        &self,
        endpoint: Endpoint<'_>,
        call: &Call<'_>,
    ) -> Result<u64, UpstreamError> {
        match endpoint.settings.kind {
            UpstreamKind::GeminiApi | UpstreamKind::Vertex => {
                gemini_api::count_tokens(&self.http, endpoint, call).await
            }
            UpstreamKind::Anthropic => anthropic::count_tokens(&self.http, endpoint, call).await,
            UpstreamKind::OpenAi => Ok(estimate_tokens(call.request)),
        }
    }

    /// An access token for a Vertex service account's JSON key, and when it
    /// expires (Unix seconds).
    pub async fn service_account_token(
        &self,
        key_json: &Secret,
    ) -> Result<(Secret, i64), UpstreamError> {
        service_account::access_token(&self.http, key_json).await
    }

    /// The models the upstream lists (`/models`).
    pub async fn models(&self, endpoint: Endpoint<'_>) -> Result<ModelCatalog, UpstreamError> {
        let models = match endpoint.settings.kind {
            UpstreamKind::GeminiApi => gemini_api::models(&self.http, endpoint).await?,
            // Vertex has no per-key model list: the `--models` globs say.
            UpstreamKind::Vertex => Vec::new(),
            UpstreamKind::OpenAi => openai::models(&self.http, endpoint).await?,
            UpstreamKind::Anthropic => anthropic::models(&self.http, endpoint).await?,
        };
        Ok(ModelCatalog {
            models,
            deprecated: Default::default(),
            updated_at: crate::store::now_unix(),
        })
    }
}

/// A client's own request, sent on unchanged (passthrough): the body as the
/// client sent it (its model already the upstream's), and the client's
/// protocol headers worth keeping (`anthropic-version`, `anthropic-beta`).
pub struct Forward<'a> {
    pub route: Route<'a>,
    pub body: bytes::Bytes,
    pub headers: &'a [(String, String)],
    pub stream: bool,
    pub timeout: Duration,
    pub idle_timeout: Duration,
}

/// Where a passthrough goes.
#[derive(Clone, Copy, Debug)]
pub enum Route<'a> {
    /// An OpenAI path under the base URL (`chat/completions`, `responses`).
    OpenAi(&'static str),
    /// `v1/messages`.
    Anthropic,
    /// A Gemini method of `model`, with the client's query (`alt=sse`).
    Gemini {
        model: &'a str,
        method: &'a str,
        query: &'a str,
    },
}

/// The upstream's answer to a passthrough, as it sent it.
pub struct RawAnswer {
    pub content_type: Option<reqwest::header::HeaderValue>,
    pub body: RawBody,
}

pub type ByteStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, UpstreamError>> + Send>>;

pub enum RawBody {
    Whole(bytes::Bytes),
    /// The bytes as they arrive (ends with an error if the upstream goes
    /// silent for the idle limit or breaks off).
    Stream(ByteStream),
}

impl KeyedClient {
    /// Sends a client's request unchanged (see [`Forward`]); an error answer
    /// is read as the kind's error, so it is judged like any other.
    pub async fn forward(
        &self,
        endpoint: Endpoint<'_>,
        forward: &Forward<'_>,
    ) -> Result<RawAnswer, UpstreamError> {
        let (request, read_error): (reqwest::RequestBuilder, ReadError) =
            match (endpoint.settings.kind, forward.route) {
                (UpstreamKind::OpenAi, Route::OpenAi(path)) => (
                    openai::request(&self.http, reqwest::Method::POST, endpoint, path),
                    status_error,
                ),
                (UpstreamKind::Anthropic, Route::Anthropic) => {
                    let version = forward
                        .headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("anthropic-version"))
                        .map(|(_, v)| v.as_str());
                    let mut request = anthropic::request_with_version(
                        &self.http,
                        reqwest::Method::POST,
                        endpoint,
                        "v1/messages",
                        version,
                    );
                    for (name, value) in forward.headers {
                        if !name.eq_ignore_ascii_case("anthropic-version") {
                            request = request.header(name.as_str(), value.as_str());
                        }
                    }
                    (request, status_error)
                }
                (
                    UpstreamKind::GeminiApi | UpstreamKind::Vertex,
                    Route::Gemini {
                        model,
                        method,
                        query,
                    },
                ) => {
                    let method = if query.is_empty() {
                        method.to_owned()
                    } else {
                        format!("{method}?{query}")
                    };
                    (
                        gemini_api::post(&self.http, endpoint, model, &method),
                        gemini_api::read_error,
                    )
                }
                (kind, route) => {
                    return Err(UpstreamError::Setup {
                        message: format!(
                            "a {route:?} request cannot pass through to a {kind} upstream"
                        ),
                        link: None,
                    });
                }
            };
        let mut request = request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(forward.body.clone());
        if forward.stream {
            request = request.header(reqwest::header::ACCEPT, "text/event-stream");
        }
        let response = send(
            request,
            "passthrough",
            forward.timeout,
            endpoint.key,
            read_error,
        )
        .await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .cloned();
        let body = if forward.stream {
            let bytes = response.bytes_stream().map(|chunk| {
                chunk.map_err(|e| UpstreamError::Transport {
                    message: format!("the upstream stream broke off: {e}"),
                    timeout: false,
                })
            });
            RawBody::Stream(Box::pin(super::with_idle_timeout(
                bytes,
                forward.idle_timeout,
            )))
        } else {
            RawBody::Whole(
                response
                    .bytes()
                    .await
                    .map_err(|e| UpstreamError::from_reqwest(e, "passthrough broke off"))?,
            )
        };
        Ok(RawAnswer { content_type, body })
    }
}

/// About four characters a token: OpenAI-compatible endpoints have no
/// counting call.
fn estimate_tokens(request: &GenerateContentRequest) -> u64 {
    let chars: usize = request
        .contents
        .iter()
        .chain(request.system_instruction.iter())
        .flat_map(|c| c.parts.iter())
        .filter_map(|p| p.text.as_deref())
        .map(str::len)
        .sum();
    (chars as u64).div_ceil(4)
}

/// `base` + `path`, with exactly one slash between.
fn url(settings: &UpstreamSettings, path: &str) -> String {
    format!(
        "{}/{}",
        settings.base_url.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// The user's extra headers on a request.
fn with_headers(
    mut request: reqwest::RequestBuilder,
    settings: &UpstreamSettings,
) -> reqwest::RequestBuilder {
    for (name, value) in &settings.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    request
}

/// The key never leaves in a message, whatever the upstream echoed.
fn scrub(text: &str, key: &Secret) -> String {
    if key.expose().len() >= 8 {
        text.replace(key.expose(), "[redacted]")
    } else {
        text.to_owned()
    }
}

/// When the upstream says to come back: `Retry-After` (seconds),
/// `retry-after-ms`, OpenAI's `x-ratelimit-reset-requests/tokens` ("6m0s",
/// "20ms"), Anthropic's `anthropic-ratelimit-*-reset` (RFC 3339).
pub fn retry_hint(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(secs) = text("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Some(Duration::from_millis(ms.max(0.0) as u64));
    }
    let now = chrono::Utc::now();
    let resets: Vec<Duration> = ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
        .iter()
        .filter_map(|h| text(h).and_then(super::parse_duration))
        .chain(
            [
                "anthropic-ratelimit-requests-reset",
                "anthropic-ratelimit-tokens-reset",
                "anthropic-ratelimit-input-tokens-reset",
                "anthropic-ratelimit-output-tokens-reset",
            ]
            .iter()
            .filter_map(|h| text(h))
            .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .filter_map(|at| (at.with_timezone(&chrono::Utc) - now).to_std().ok()),
        )
        .collect();
    resets.into_iter().max()
}

/// An error answer of an OpenAI-compatible or Anthropic endpoint:
/// `{"error": {"message", "type", "code"}}` (Anthropic wraps it in
/// `{"type": "error", …}`); Google-shaped bodies go through Google's reader.
fn status_error(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
    key: &Secret,
) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_str(body.trim()).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| super::body_excerpt(status, body));
    let error_type = error.and_then(|e| {
        e.get("code")
            .and_then(Value::as_str)
            .or_else(|| e.get("type").and_then(Value::as_str))
            .map(str::to_owned)
    });
    UpstreamError::Status {
        status: status.as_u16(),
        message: scrub(&message, key),
        retry_after: retry_hint(headers),
        code: error_type,
        details: Vec::new(),
    }
}

/// An error that arrived inside a stream, as the status it stands for.
fn stream_error(status: u16, message: &str, code: Option<String>, key: &Secret) -> UpstreamError {
    UpstreamError::Status {
        status,
        message: scrub(message, key),
        retry_after: None,
        code,
        details: Vec::new(),
    }
}

/// Sends `request`; a non-success answer is the kind's error.
async fn send(
    request: reqwest::RequestBuilder,
    what: &str,
    timeout: Duration,
    key: &Secret,
    read_error: fn(
        reqwest::StatusCode,
        &reqwest::header::HeaderMap,
        &str,
        &Secret,
    ) -> UpstreamError,
) -> Result<reqwest::Response, UpstreamError> {
    let response = tokio::time::timeout(timeout, request.send())
        .await
        .map_err(|_| UpstreamError::Transport {
            message: format!("{what}: no answer within {} s", timeout.as_secs()),
            timeout: true,
        })?
        .map_err(|e| UpstreamError::from_reqwest(e, &format!("{what} failed")))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Err(read_error(status, &headers, &body, key))
}

/// How a kind reads its error answers.
type ReadError =
    fn(reqwest::StatusCode, &reqwest::header::HeaderMap, &str, &Secret) -> UpstreamError;

/// Sends `request` and reads its JSON answer.
async fn exchange(
    request: reqwest::RequestBuilder,
    what: &str,
    timeout: Duration,
    key: &Secret,
    read_error: ReadError,
) -> Result<Value, UpstreamError> {
    let response = send(request, what, timeout, key, read_error).await?;
    let bytes = response
        .bytes()
        .await
        .map_err(|e| UpstreamError::from_reqwest(e, &format!("{what} broke off")))?;
    serde_json::from_slice(&bytes).map_err(|e| UpstreamError::Decode(format!("{what}: {e}")))
}

/// The models of a `{"data": [{"id", …}]}` list (OpenAI's and Anthropic's shape).
fn listed_models(value: &Value) -> Vec<crate::store::ModelInfo> {
    value
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let id = m.get("id")?.as_str()?;
            let display = m
                .get("display_name")
                .and_then(Value::as_str)
                .map(str::to_owned);
            Some(crate::store::ModelInfo::named(id, display))
        })
        .collect()
}

/// An SSE answer turned into Gemini chunks by `step`, called with each
/// event and once with `None` at the end; a broken stream passes its error on.
fn translated<S, F>(response: reqwest::Response, state: S, mut step: F) -> StreamChunks
where
    S: Send + 'static,
    F: FnMut(&mut S, Option<Value>) -> Vec<Result<GenerateContentResponse, UpstreamError>>
        + Send
        + 'static,
{
    let events = sse_json(response)
        .map(Some)
        .chain(futures::stream::once(async { None }));
    let chunks = events
        .scan(state, move |state, item| {
            let out = match item {
                Some(Err(error)) => vec![Err(error)],
                Some(Ok((_, value))) => step(state, Some(value)),
                None => step(state, None),
            };
            futures::future::ready(Some(futures::stream::iter(out)))
        })
        .flatten();
    Box::pin(chunks)
}

/// The `data:` payloads of an SSE answer, as JSON (comments, blanks and
/// `[DONE]` skipped); a payload that is not JSON is skipped with a warning.
fn sse_json(
    response: reqwest::Response,
) -> impl futures::Stream<Item = Result<(String, Value), UpstreamError>> + Send {
    use eventsource_stream::Eventsource;
    response.bytes_stream().eventsource().filter_map(|event| async move {
        match event {
            Ok(event) => {
                let data = event.data.trim();
                if data.is_empty() || data == "[DONE]" {
                    return None;
                }
                match serde_json::from_str::<Value>(data) {
                    Ok(value) => Some(Ok((event.event, value))),
                    Err(e) => {
                        tracing::warn!(error = %e, "skipping a malformed upstream stream event");
                        None
                    }
                }
            }
            Err(e) => Some(Err(UpstreamError::Transport {
                message: format!("the upstream stream broke off: {e}"),
                timeout: false,
            })),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_rate_limit_header() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_hint(&headers), Some(Duration::from_secs(7)));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-ratelimit-reset-requests", "1s".parse().unwrap());
        headers.insert("x-ratelimit-reset-tokens", "6m0s".parse().unwrap());
        assert_eq!(retry_hint(&headers), Some(Duration::from_secs(360)));
        let mut headers = reqwest::header::HeaderMap::new();
        let at = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc3339();
        headers.insert("anthropic-ratelimit-requests-reset", at.parse().unwrap());
        let hint = retry_hint(&headers).unwrap();
        assert!((85..=90).contains(&hint.as_secs()), "{hint:?}");
        assert_eq!(retry_hint(&reqwest::header::HeaderMap::new()), None);
    }

    #[test]
    fn an_echoed_key_is_scrubbed_from_errors() {
        let key = Secret::new("sk-live-0123456789abcdef");
        let error = status_error(
            reqwest::StatusCode::UNAUTHORIZED,
            &reqwest::header::HeaderMap::new(),
            r#"{"error":{"message":"Incorrect API key provided: sk-live-0123456789abcdef","type":"invalid_request_error","code":"invalid_api_key"}}"#,
            &key,
        );
        let text = error.to_string();
        assert!(!text.contains(key.expose()), "{text}");
        assert!(
            matches!(error, UpstreamError::Status { status: 401, ref code, .. } if code.as_deref() == Some("invalid_api_key"))
        );
    }
}
