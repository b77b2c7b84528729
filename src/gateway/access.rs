//! Who may use the gateway: the Host check that stops DNS rebinding while it
//! listens on loopback only, and the client API key per `gateway.auth_mode`.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::{ErrorKind, GatewayError, Protocol};
use crate::config::AuthMode;

/// Runs before every route.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let config = state.config.load();
    let path = request.uri().path();
    let protocol = Protocol::for_path(path);

    // Web pages: only the origins the user allowed get CORS answers; any
    // other page a browser marks as cross-site is refused before it can
    // spend the accounts' quota (a no-cors POST needs no preflight).
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let allowed_origin = origin
        .as_deref()
        .filter(|o| origin_allowed(&config.gateway.allowed_origins, o))
        .map(str::to_owned);
    if request.method() == Method::OPTIONS
        && let Some(allowed) = &allowed_origin
    {
        return preflight(allowed, request.headers());
    }
    if allowed_origin.is_none() {
        let cross_site = request
            .headers()
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
        let foreign_origin = origin.as_deref().is_some_and(|o| !origin_is_loopback(o));
        if cross_site || foreign_origin {
            return GatewayError::new(
                StatusCode::FORBIDDEN,
                ErrorKind::PermissionDenied,
                format!(
                    "a web page from {} may not use this gateway; if you trust it, add its \
                     origin to gateway.allowed_origins",
                    origin.as_deref().unwrap_or("another site")
                ),
            )
            .with_code("origin_not_allowed")
            .in_protocol(protocol)
            .into_response();
        }
    }

    if !config.gateway.allow_lan_access
        && let Some(host) = request_host(&request)
        && !is_loopback_host(host)
    {
        return GatewayError::new(
            StatusCode::FORBIDDEN,
            ErrorKind::PermissionDenied,
            format!(
                "Host `{host}` refused: this gateway only answers requests addressed to \
                 localhost or 127.0.0.1 (a browser page on another site must not reach it)"
            ),
        )
        .with_code("host_not_allowed")
        .in_protocol(protocol)
        .into_response();
    }

    // A declared body over the limit is refused before a byte of it is read.
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared
        .is_some_and(|length| length > config.gateway.max_body_mb.saturating_mul(1024 * 1024))
    {
        return GatewayError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::PayloadTooLarge,
            format!(
                "request body is larger than gateway.max_body_mb ({} MB) allows",
                config.gateway.max_body_mb
            ),
        )
        .with_code("payload_too_large")
        .in_protocol(protocol)
        .into_response();
    }

    let key_required = match config.gateway.effective_auth_mode() {
        AuthMode::Off | AuthMode::Auto => false,
        AuthMode::Strict => true,
        AuthMode::AllExceptHealth => path != "/healthz",
    };
    if key_required {
        let expected = config.gateway.api_key.as_bytes();
        let accepted = presented_keys(&request)
            .into_iter()
            .any(|key| !expected.is_empty() && bool::from(key.as_bytes().ct_eq(expected)));
        if !accepted {
            return GatewayError::new(
                StatusCode::UNAUTHORIZED,
                ErrorKind::Authentication,
                "missing or wrong API key: send the key from `switchyard config show` \
                 (gateway.api_key) as `Authorization: Bearer KEY`, `x-api-key`, \
                 `x-goog-api-key` or `?key=`",
            )
            .with_code("invalid_api_key")
            .in_protocol(protocol)
            .into_response();
        }
    }
    let mut response = next.run(request).await;
    if let Some(allowed) = allowed_origin
        && let Ok(value) = HeaderValue::from_str(&allowed)
    {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// Whether `origin` is one the user allowed (`gateway.allowed_origins`;
/// compared without a trailing slash, scheme and host case-insensitively).
fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    let origin = origin.trim().trim_end_matches('/');
    allowed
        .iter()
        .any(|a| a.trim().trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// Whether a browser origin is a page served from this machine.
fn origin_is_loopback(origin: &str) -> bool {
    url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .is_some_and(|host| is_loopback_host(&host))
}

/// The answer to an allowed origin's CORS preflight.
fn preflight(origin: &str, headers: &axum::http::HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(origin) {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    let asked = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_static(
                "authorization, content-type, x-api-key, x-goog-api-key, anthropic-version",
            )
        });
    out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    out.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// The host the client addressed: the `Host` header, or the URI authority (HTTP/2).
fn request_host(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
}

/// `localhost`, `*.localhost`, or a loopback address, with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, _)) => inside,
            None => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            _ => host,
        }
    };
    let name = name.trim_end_matches('.');
    if name.eq_ignore_ascii_case("localhost")
        || name
            .to_ascii_lowercase()
            .strip_suffix(".localhost")
            .is_some_and(|prefix| !prefix.is_empty())
    {
        return true;
    }
    name.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Every key the client sent, in each of the four accepted places.
fn presented_keys(request: &Request) -> Vec<String> {
    let headers = request.headers();
    let mut keys = Vec::new();
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        if value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer ") {
            keys.push(value[7..].trim().to_owned());
        }
    }
    for name in ["x-api-key", "x-goog-api-key"] {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            keys.push(value.trim().to_owned());
        }
    }
    if let Some(query) = request.uri().query() {
        keys.extend(
            url::form_urlencoded::parse(query.as_bytes())
                .filter(|(name, _)| name == "key")
                .map(|(_, value)| value.into_owned()),
        );
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "localhost:8045",
            "LOCALHOST",
            "app.localhost:1",
            "127.0.0.1",
            "127.0.0.1:8045",
            "127.1.2.3",
            "[::1]",
            "[::1]:8045",
            "localhost.",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.com",
            "evil.com:8045",
            "localhost.evil.com",
            "127.0.0.1.nip.io",
            "192.168.1.2:8045",
            "[::2]",
            "0.0.0.0",
            "",
            ".localhost",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
