//! API-key upstreams, shared by `switchyard upstreams …` and the window:
//! adding one (checked live: its `/models` answer is stored as what it
//! serves), and testing one (a model list and a tiny generation).

use std::time::{Duration, Instant};

use crate::protocol::gemini::{Content, GenerateContentRequest, GenerationConfig, Part};
use crate::secret::Secret;
use crate::store::{
    AccountRecord, AccountStatus, GOOGLE, ModelCatalog, NewUpstream, Store, StoreError,
    UpstreamKind, UpstreamSettings,
};
use crate::upstream::UpstreamError;
use crate::upstream::keyed::{self, Endpoint, KeyedClient};

#[derive(Debug, thiserror::Error)]
pub enum UpstreamSetupError {
    #[error("{0}")]
    Invalid(String),
    #[error("{name}: the endpoint refused the key ({error}); nothing was stored")]
    KeyRefused { name: String, error: UpstreamError },
    #[error(
        "{name}: cannot list its models ({error}); say which it serves with --models 'glob,glob' \
         (or --no-check to store it unchecked)"
    )]
    NoModels { name: String, error: UpstreamError },
    #[error("`{0}` is a Google account, not an API-key upstream (see `switchyard accounts`)")]
    NotAnUpstream(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct UpstreamInput {
    pub name: String,
    pub kind: UpstreamKind,
    pub base_url: Option<String>,
    pub key: Secret,
    pub models: Vec<String>,
    /// `Name: value` lines.
    pub headers: Vec<String>,
    pub priority: i32,
    pub project: Option<String>,
    pub location: Option<String>,
    /// Store it without asking the endpoint first.
    pub skip_check: bool,
    /// Vertex: `key` is a service account's JSON key file.
    pub service_account: bool,
    /// Anthropic: the key goes as `Authorization: Bearer`.
    pub bearer: bool,
}

/// What was stored.
#[derive(Debug, Clone)]
pub struct AddedUpstream {
    pub id: i64,
    pub name: String,
    pub kind: UpstreamKind,
    pub base_url: String,
    /// What `/models` listed (narrowed by the globs), when it was asked.
    pub models: Option<Vec<String>>,
    /// Why the list could not be read, when the globs stand in for it.
    pub warning: Option<String>,
}

/// Checks the input and turns it into settings.
pub fn settings_of(input: &UpstreamInput) -> Result<UpstreamSettings, UpstreamSetupError> {
    let invalid = |m: String| Err(UpstreamSetupError::Invalid(m));
    let name = input.name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return invalid(format!(
            "`{name}` cannot name an upstream: use letters, digits, `-`, `_` and `.`"
        ));
    }
    if name.eq_ignore_ascii_case(GOOGLE) {
        return invalid(
            "`google` stands for the Google accounts in [routing]; choose another name".to_owned(),
        );
    }
    let mut project = input.project.clone().filter(|p| !p.trim().is_empty());
    if input.service_account {
        if input.kind != UpstreamKind::Vertex {
            return invalid("a service account key is for --kind vertex".to_owned());
        }
        let key =
            crate::upstream::keyed::service_account::ServiceAccountKey::parse(input.key.expose())
                .map_err(UpstreamSetupError::Invalid)?;
        project = project.or(key.project_id);
        if project.is_none() {
            return invalid("the key file names no project_id: give --project".to_owned());
        }
    }
    let location = input
        .location
        .clone()
        .filter(|l| !l.trim().is_empty())
        .or_else(|| {
            (input.kind == UpstreamKind::Vertex && project.is_some())
                .then(|| "us-central1".to_owned())
        });
    let base_url = match input
        .base_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(url) => url.to_owned(),
        None => match (input.kind, location.as_deref()) {
            (UpstreamKind::Vertex, Some(location)) if location != "global" => {
                format!("https://{location}-aiplatform.googleapis.com")
            }
            (kind, _) => kind.default_base_url().unwrap_or_default().to_owned(),
        },
    };
    match url::Url::parse(&base_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        _ => return invalid(format!("`{base_url}` is not an http(s) address")),
    }
    if input.bearer && input.kind != UpstreamKind::Anthropic {
        return invalid(
            "--bearer is for --kind anthropic (openai upstreams always use Bearer)".to_owned(),
        );
    }
    if input.key.is_empty() && input.kind != UpstreamKind::OpenAi {
        return invalid(format!(
            "a {} upstream needs an API key (--api-key -, then the key on standard input)",
            input.kind
        ));
    }
    let mut headers = Vec::new();
    for line in &input.headers {
        let Some((key, value)) = line.split_once(':') else {
            return invalid(format!(
                "`{line}` is not a header: write it as `Name: value`"
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        if reqwest::header::HeaderName::from_bytes(key.as_bytes()).is_err()
            || reqwest::header::HeaderValue::from_str(value).is_err()
        {
            return invalid(format!("`{line}` is not a valid header"));
        }
        headers.push((key.to_owned(), value.to_owned()));
    }
    let models: Vec<String> = input
        .models
        .iter()
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    let models = if models.is_empty() && input.kind == UpstreamKind::Vertex {
        // Vertex lists no models per key: Google's own by default.
        vec!["gemini-*".to_owned()]
    } else {
        models
    };
    Ok(UpstreamSettings {
        kind: input.kind,
        base_url: base_url.trim_end_matches('/').to_owned(),
        models,
        headers,
        priority: input.priority,
        project,
        location,
        service_account: input.service_account,
        bearer: input.bearer,
    })
}

/// Checks the endpoint (unless told not to) and stores the upstream.
pub async fn add(
    client: &KeyedClient,
    store: &Store,
    input: UpstreamInput,
) -> Result<AddedUpstream, UpstreamSetupError> {
    let settings = settings_of(&input)?;
    let name = input.name.trim().to_owned();
    let mut catalog: Option<ModelCatalog> = None;
    let mut warning = None;
    // A service account key must give a token before it is stored.
    if settings.service_account
        && !input.skip_check
        && let Err(error) = client.service_account_token(&input.key).await
    {
        return Err(UpstreamSetupError::KeyRefused { name, error });
    }
    if !input.skip_check && settings.kind != UpstreamKind::Vertex {
        let endpoint = Endpoint {
            settings: &settings,
            key: &input.key,
        };
        match client.models(endpoint).await {
            Ok(found) => catalog = Some(found),
            Err(error) if matches!(error.status(), Some(401 | 403)) => {
                return Err(UpstreamSetupError::KeyRefused { name, error });
            }
            Err(error) if settings.models.is_empty() => {
                return Err(UpstreamSetupError::NoModels { name, error });
            }
            Err(error) => {
                warning = Some(format!(
                    "cannot list its models ({error}); it serves what --models names"
                ));
            }
        }
    }
    let new = NewUpstream {
        name: name.clone(),
        key: input.key,
        settings: settings.clone(),
    };
    let stored = store.clone();
    let id = tokio::task::spawn_blocking(move || stored.add_upstream(&new))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
    if let Some(catalog) = &catalog {
        store.save_catalog(id, catalog)?;
    }
    Ok(AddedUpstream {
        id,
        name,
        kind: settings.kind,
        base_url: settings.base_url.clone(),
        models: catalog.map(|c| {
            c.models
                .into_iter()
                .map(|m| m.id)
                .filter(|m| settings.allows(m))
                .collect()
        }),
        warning,
    })
}

/// The stored upstream named `name`.
pub fn find(store: &Store, name: &str) -> Result<AccountRecord, UpstreamSetupError> {
    let found = store.find_account(name)?;
    if found.is_google() {
        return Err(UpstreamSetupError::NotAnUpstream(name.to_owned()));
    }
    Ok(found)
}

/// What `upstreams test` found.
#[derive(Debug)]
pub struct TestReport {
    /// `/models`: how many it listed (narrowed by the globs), or its error.
    pub models: Result<Vec<String>, UpstreamError>,
    /// The generation tried: model, its answer's text (or the error) and how long it took.
    pub generation: Option<(String, Result<String, UpstreamError>, Duration)>,
}

impl TestReport {
    pub fn passed(&self) -> bool {
        matches!(&self.generation, Some((_, Ok(_), _)))
    }
}

/// Lists the upstream's models and asks one of them (`model`, else the first
/// it serves) for a few tokens. A key that works again lifts `key rejected`.
pub async fn test(
    client: &KeyedClient,
    store: &Store,
    record: &AccountRecord,
    model: Option<&str>,
) -> Result<TestReport, UpstreamSetupError> {
    let Some(settings) = &record.settings else {
        return Err(UpstreamSetupError::NotAnUpstream(record.email.clone()));
    };
    let token = if settings.service_account {
        match client.service_account_token(&record.refresh_token).await {
            Ok((token, _)) => token,
            Err(error) => {
                return Ok(TestReport {
                    models: Err(error),
                    generation: None,
                });
            }
        }
    } else {
        record.refresh_token.clone()
    };
    let endpoint = Endpoint {
        settings,
        key: &token,
    };
    let models = match settings.kind {
        UpstreamKind::Vertex => Ok(settings.models.clone()),
        _ => client.models(endpoint).await.map(|catalog| {
            catalog
                .models
                .into_iter()
                .map(|m| m.id)
                .filter(|m| settings.allows(m))
                .collect::<Vec<_>>()
        }),
    };
    let chosen = model.map(str::to_owned).or_else(|| {
        models
            .as_ref()
            .ok()
            .and_then(|m| m.iter().find(|m| !m.contains(['*', '?'])).cloned())
    });
    let generation = match chosen {
        None => None,
        Some(model) => {
            let request = GenerateContentRequest {
                contents: vec![Content::new(
                    "user",
                    vec![Part::text("Reply with the word OK.")],
                )],
                generation_config: Some(GenerationConfig {
                    max_output_tokens: Some(16),
                    ..GenerationConfig::default()
                }),
                ..GenerateContentRequest::default()
            };
            let started = Instant::now();
            let answer = client
                .generate(
                    endpoint,
                    &keyed::Call {
                        model: &model,
                        request: &request,
                        timeout: keyed::CONTROL_TIMEOUT,
                        idle_timeout: keyed::CONTROL_TIMEOUT,
                    },
                )
                .await
                .map(|response| {
                    response
                        .candidates
                        .iter()
                        .filter_map(|c| c.content.as_ref())
                        .flat_map(|c| c.parts.iter())
                        .filter(|p| !p.is_thought())
                        .filter_map(|p| p.text.as_deref())
                        .collect::<String>()
                });
            Some((model, answer, started.elapsed()))
        }
    };
    let report = TestReport { models, generation };
    if report.passed() && record.status == AccountStatus::KeyRejected {
        store.set_status(record.id, AccountStatus::Active, None)?;
    }
    if let Ok(models) = &report.models
        && settings.kind != UpstreamKind::Vertex
    {
        let catalog = ModelCatalog {
            models: models
                .iter()
                .map(|id| crate::store::ModelInfo::named(id.clone(), None))
                .collect(),
            deprecated: Default::default(),
            updated_at: crate::store::now_unix(),
        };
        store.save_catalog(record.id, &catalog)?;
    }
    Ok(report)
}
