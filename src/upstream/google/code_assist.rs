//! Code Assist methods: account set-up (`loadCodeAssist`, `onboardUser` and its
//! operation), quotas (`retrieveUserQuota`), and generation, whole or streamed.
//! Requests go out in Code Assist's envelope; answers are unwrapped from it.

use std::pin::Pin;

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::GoogleClient;
use super::error::status_error;
use crate::config::{GoogleConfig, OAuthClientProfile};
use crate::protocol::gemini::{GenerateContentRequest, GenerateContentResponse};
use crate::secret::Secret;
use crate::store::{ModelCatalog, ModelInfo, QuotaRecord, QuotaWindow, now_unix};
use crate::upstream::UpstreamError;

/// What set-up found out about an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSetup {
    pub project_id: String,
    pub tier: String,
}

/// What Google says about an account's models and quota right now.
#[derive(Debug, Clone, Default)]
pub struct AccountState {
    pub catalog: Option<ModelCatalog>,
    pub windows: Vec<QuotaWindow>,
    pub quotas: Vec<QuotaRecord>,
}

/// The upstream's answer to a streamed request: one unwrapped response per event.
pub type StreamChunks =
    Pin<Box<dyn Stream<Item = Result<GenerateContentResponse, UpstreamError>> + Send>>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    model: &'a str,
    project: &'a str,
    #[serde(rename = "user_prompt_id", skip_serializing_if = "Option::is_none")]
    user_prompt_id: Option<&'a str>,
    /// The Antigravity client's fields: `userAgent: "antigravity"`,
    /// `requestType: "agent"` and a `requestId` per call.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    request: &'a GenerateContentRequest,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Wrapped {
    #[serde(default)]
    response: Option<GenerateContentResponse>,
    #[serde(default)]
    trace_id: Option<String>,
}

impl Wrapped {
    fn unwrap_response(self) -> GenerateContentResponse {
        let mut response = self.response.unwrap_or_default();
        if response.response_id.is_none() {
            response.response_id = self.trace_id;
        }
        response
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct LoadCodeAssistResponse {
    #[serde(default)]
    current_tier: Option<Tier>,
    #[serde(default)]
    allowed_tiers: Vec<Tier>,
    #[serde(default)]
    ineligible_tiers: Vec<IneligibleTier>,
    #[serde(default)]
    cloudaicompanion_project: Option<String>,
    #[serde(default)]
    paid_tier: Option<Tier>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct Tier {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    is_default: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IneligibleTier {
    #[serde(default)]
    reason_code: Option<String>,
    #[serde(default)]
    reason_message: Option<String>,
    #[serde(default)]
    validation_url: Option<String>,
}

#[derive(Deserialize, Default)]
struct Operation {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    response: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

fn method_url(host: &str, method: &str) -> String {
    format!("{host}/v1internal:{method}")
}

/// Who is calling, as Code Assist wants it: the same object goes in the
/// `Client-Metadata` header and in set-up bodies' `metadata`.
fn client_metadata(profile: &OAuthClientProfile, project: Option<&str>) -> Value {
    let platform = if profile.is_antigravity() {
        match (std::env::consts::OS, std::env::consts::ARCH) {
            ("macos", "aarch64") => "DARWIN_ARM64",
            ("macos", _) => "DARWIN_AMD64",
            ("windows", _) => "WINDOWS_AMD64",
            (_, "aarch64") => "LINUX_ARM64",
            _ => "LINUX_AMD64",
        }
    } else {
        "PLATFORM_UNSPECIFIED"
    };
    let mut metadata = json!({
        "ideType": profile.ide_type,
        "platform": platform,
        "pluginType": "GEMINI",
    });
    if let Some(project) = project {
        metadata["duetProject"] = json!(project);
    }
    metadata
}

impl GoogleClient {
    fn code_assist_post(
        &self,
        google: &GoogleConfig,
        url: String,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        model: &str,
    ) -> reqwest::RequestBuilder {
        let request = self
            .http
            .post(url)
            .bearer_auth(access_token.expose())
            .header(
                reqwest::header::USER_AGENT,
                google.user_agent(profile, model),
            );
        if profile.is_antigravity() {
            request.header(
                "Client-Metadata",
                client_metadata(profile, None).to_string(),
            )
        } else {
            request
        }
    }

    /// Runs `call` on each of the profile's hosts in turn until one answers
    /// with something other than a host fault (no answer, 5xx, Google's
    /// capacity); the last host's answer is returned as it is.
    async fn on_hosts<T, F, Fut>(
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        what: &str,
        mut call: F,
    ) -> Result<T, UpstreamError>
    where
        F: FnMut(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, UpstreamError>>,
    {
        let hosts = google.hosts(profile);
        let last = hosts.len().saturating_sub(1);
        for (index, host) in hosts.iter().enumerate() {
            match call((*host).to_owned()).await {
                Err(error) if index < last && error.is_host_fault() => {
                    tracing::info!(%host, %error, "{what}: host failed, trying the next one");
                }
                other => return other,
            }
        }
        Err(UpstreamError::Setup {
            message: format!("OAuth client profile `{}` has no hosts", profile.name),
            link: None,
        })
    }

    /// One JSON call to `method`, on each host in turn (see [`Self::on_hosts`]).
    async fn call_method<T: serde::de::DeserializeOwned>(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        method: &str,
        body: &Value,
    ) -> Result<T, UpstreamError> {
        Self::on_hosts(google, profile, method, |host| {
            let request = self
                .code_assist_post(google, method_url(&host, method), profile, access_token, "")
                .json(body)
                .timeout(super::CONTROL_CALL_TIMEOUT);
            self.call_json(request, method)
        })
        .await
    }

    async fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<T, UpstreamError> {
        let response = request
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(e, &format!("{what} failed")))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| UpstreamError::from_reqwest(e, &format!("{what} failed")))?;
        if !status.is_success() {
            return Err(status_error(
                status,
                &headers,
                &String::from_utf8_lossy(&body),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| UpstreamError::Decode(format!("{what}: {e}")))
    }

    /// Finds the account's Code Assist project and tier, onboarding it when it
    /// has none yet. `project` is the user's own Cloud project, if any.
    pub async fn setup_account(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        project: Option<&str>,
    ) -> Result<AccountSetup, UpstreamError> {
        let mut body = json!({ "metadata": client_metadata(profile, project) });
        if let Some(project) = project {
            body["cloudaicompanionProject"] = json!(project);
        }
        let loaded: LoadCodeAssistResponse = self
            .call_method(google, profile, access_token, "loadCodeAssist", &body)
            .await?;

        if let Some(current) = &loaded.current_tier {
            let project_id = loaded
                .cloudaicompanion_project
                .clone()
                .or_else(|| project.map(str::to_owned))
                .ok_or_else(|| no_project_error(&loaded.ineligible_tiers))?;
            let tier = loaded
                .paid_tier
                .as_ref()
                .and_then(|t| t.id.clone())
                .or_else(|| current.id.clone())
                .unwrap_or_else(|| "standard-tier".to_owned());
            return Ok(AccountSetup { project_id, tier });
        }

        if let Some(retired) = loaded
            .ineligible_tiers
            .iter()
            .find(|t| t.reason_code.as_deref() == Some("UNSUPPORTED_CLIENT"))
        {
            return Err(UpstreamError::ClientRetired {
                message: retired
                    .reason_message
                    .clone()
                    .unwrap_or_else(|| "This client is no longer supported".to_owned()),
            });
        }

        if let Some(validation) = loaded.ineligible_tiers.iter().find(|t| {
            t.reason_code.as_deref() == Some("VALIDATION_REQUIRED") && t.validation_url.is_some()
        }) {
            return Err(UpstreamError::Setup {
                message: format!(
                    "Google asks to verify this account before use: {}",
                    validation
                        .reason_message
                        .as_deref()
                        .unwrap_or("open the link to verify")
                ),
                link: validation.validation_url.clone(),
            });
        }

        let tier_id = loaded
            .allowed_tiers
            .iter()
            .find(|t| t.is_default)
            .and_then(|t| t.id.clone())
            .unwrap_or_else(|| "legacy-tier".to_owned());
        // The free tier runs on a Google-managed project; sending one fails.
        let onboard_project = if tier_id == "free-tier" {
            None
        } else {
            project
        };
        if tier_id != "free-tier" && onboard_project.is_none() {
            return Err(no_project_error(&loaded.ineligible_tiers));
        }
        let mut body = json!({
            "tierId": tier_id,
            "metadata": client_metadata(profile, onboard_project),
        });
        if let Some(project) = onboard_project {
            body["cloudaicompanionProject"] = json!(project);
        }
        // The operation is polled on the host that started it.
        let (mut operation, host): (Operation, String) =
            Self::on_hosts(google, profile, "onboardUser", |host| {
                let request = self
                    .code_assist_post(
                        google,
                        method_url(&host, "onboardUser"),
                        profile,
                        access_token,
                        "",
                    )
                    .json(&body)
                    .timeout(super::CONTROL_CALL_TIMEOUT);
                async move {
                    let operation = self.call_json(request, "onboardUser").await?;
                    Ok((operation, host))
                }
            })
            .await?;
        let deadline = tokio::time::Instant::now() + self.onboard_deadline;
        while !operation.done {
            let Some(name) = operation.name.clone() else {
                return Err(UpstreamError::Decode(
                    "onboardUser returned an unfinished operation without a name".to_owned(),
                ));
            };
            if tokio::time::Instant::now() + self.onboard_poll_interval > deadline {
                return Err(UpstreamError::Transport {
                    message: format!(
                        "onboarding did not finish within {} s; try again later",
                        self.onboard_deadline.as_secs()
                    ),
                    timeout: true,
                });
            }
            tokio::time::sleep(self.onboard_poll_interval).await;
            let url = format!("{host}/v1internal/{name}");
            let request = self
                .http
                .get(url)
                .bearer_auth(access_token.expose())
                .header(reqwest::header::USER_AGENT, google.user_agent(profile, ""))
                .timeout(super::CONTROL_CALL_TIMEOUT);
            operation = self.call_json(request, "onboarding operation").await?;
        }
        if let Some(error) = operation.error {
            return Err(UpstreamError::Setup {
                message: format!(
                    "onboarding failed: {}",
                    error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given")
                ),
                link: None,
            });
        }
        let project_id = operation
            .response
            .as_ref()
            .and_then(|r| r.get("cloudaicompanionProject"))
            .and_then(|p| p.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| project.map(str::to_owned))
            .ok_or_else(|| no_project_error(&loaded.ineligible_tiers))?;
        Ok(AccountSetup {
            project_id,
            tier: tier_id,
        })
    }

    /// Asks `loadCodeAssist` whether Google still serves the account through
    /// this client: `Some(Google's message)` when it answers
    /// `UNSUPPORTED_CLIENT` (the quota poll runs it, so accounts stored before
    /// Google retired a client get their honest status).
    pub async fn retired_client(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        project: &str,
    ) -> Result<Option<String>, UpstreamError> {
        let body = json!({
            "metadata": client_metadata(profile, Some(project)),
            "cloudaicompanionProject": project,
        });
        let loaded: LoadCodeAssistResponse = self
            .call_method(google, profile, access_token, "loadCodeAssist", &body)
            .await?;
        if loaded.current_tier.is_some() {
            return Ok(None);
        }
        Ok(loaded
            .ineligible_tiers
            .into_iter()
            .find(|t| t.reason_code.as_deref() == Some("UNSUPPORTED_CLIENT"))
            .map(|t| {
                t.reason_message
                    .unwrap_or_else(|| "This client is no longer supported".to_owned())
            }))
    }

    /// `fetchAvailableModels`: the models Google offers the account, with
    /// its forwarding rules for retired ids, and each model's `quotaInfo`
    /// (a per-model quota, used only where no quota window says more).
    pub async fn available_models(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        project: &str,
    ) -> Result<(ModelCatalog, Vec<QuotaRecord>), UpstreamError> {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase")]
        struct QuotaInfo {
            #[serde(default)]
            remaining_fraction: Option<f64>,
            #[serde(default)]
            reset_time: Option<String>,
        }
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase")]
        struct Model {
            #[serde(default)]
            display_name: Option<String>,
            #[serde(default)]
            quota_info: Option<QuotaInfo>,
            #[serde(default)]
            max_tokens: Option<u64>,
            #[serde(default)]
            max_output_tokens: Option<u64>,
            #[serde(default)]
            supports_thinking: bool,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Deprecated {
            #[serde(default)]
            new_model_id: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            #[serde(default)]
            models: std::collections::BTreeMap<String, Model>,
            #[serde(default)]
            deprecated_model_ids: std::collections::BTreeMap<String, Deprecated>,
        }
        let answer: Answer = self
            .call_method(
                google,
                profile,
                access_token,
                "fetchAvailableModels",
                &json!({ "project": project }),
            )
            .await?;
        let now = now_unix();
        let mut quotas = Vec::new();
        let mut models = Vec::new();
        for (id, model) in answer.models {
            // Image models are named so (`gemini-3.1-flash-image`).
            let image_output = id.contains("image");
            if let Some(info) = &model.quota_info {
                quotas.push(QuotaRecord {
                    model: id.clone(),
                    remaining_fraction: info.remaining_fraction,
                    reset_at: parse_time(info.reset_time.as_deref()),
                    updated_at: now,
                });
            }
            models.push(ModelInfo {
                id,
                display_name: model.display_name,
                max_input_tokens: model.max_tokens,
                max_output_tokens: model.max_output_tokens,
                thinking: model.supports_thinking,
                image_output,
            });
        }
        let deprecated = answer
            .deprecated_model_ids
            .into_iter()
            .filter_map(|(old, d)| Some((old, d.new_model_id?)))
            .collect();
        Ok((
            ModelCatalog {
                models,
                deprecated,
                updated_at: now,
            },
            quotas,
        ))
    }

    /// `retrieveUserQuotaSummary`: the account's 5-hour and weekly windows
    /// per group. Asked on the profile's first host (daily): prod freezes the
    /// 5-hour figure (`remainingFraction: 1`, reset always 5 h ahead), so an
    /// answer from a later host keeps only its weekly windows.
    pub async fn quota_windows(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        project: &str,
    ) -> Result<Vec<QuotaWindow>, UpstreamError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Bucket {
            #[serde(default)]
            bucket_id: Option<String>,
            #[serde(default)]
            window: Option<String>,
            #[serde(default)]
            remaining_fraction: Option<f64>,
            #[serde(default)]
            reset_time: Option<String>,
        }
        #[derive(Deserialize)]
        struct Group {
            #[serde(default)]
            buckets: Vec<Bucket>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Summary {
            #[serde(default)]
            groups: Vec<Group>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            #[serde(default)]
            groups: Vec<Group>,
            #[serde(default)]
            quota_summary: Option<Summary>,
        }
        let body = json!({ "project": project });
        let (answer, from_first): (Answer, bool) = {
            let hosts = google.hosts(profile);
            let mut result = None;
            for (index, host) in hosts.iter().enumerate() {
                let request = self
                    .code_assist_post(
                        google,
                        method_url(host, "retrieveUserQuotaSummary"),
                        profile,
                        access_token,
                        "",
                    )
                    .json(&body)
                    .timeout(super::CONTROL_CALL_TIMEOUT);
                match self.call_json(request, "retrieveUserQuotaSummary").await {
                    Err(error) if index + 1 < hosts.len() && error.is_host_fault() => {
                        tracing::info!(%host, %error, "quota summary: host failed, trying the next");
                    }
                    Err(error) => return Err(error),
                    Ok(answer) => {
                        result = Some((answer, index == 0));
                        break;
                    }
                }
            }
            result.ok_or_else(|| UpstreamError::Setup {
                message: format!("OAuth client profile `{}` has no hosts", profile.name),
                link: None,
            })?
        };
        let groups = if answer.groups.is_empty() {
            answer.quota_summary.map(|s| s.groups).unwrap_or_default()
        } else {
            answer.groups
        };
        let mut windows: Vec<QuotaWindow> = groups
            .into_iter()
            .flat_map(|g| g.buckets)
            .filter_map(|bucket| {
                let id = bucket.bucket_id?;
                let window = bucket
                    .window
                    .or_else(|| id.rsplit_once('-').map(|(_, w)| w.to_owned()))?;
                let group = id
                    .strip_suffix(&format!("-{window}"))
                    .unwrap_or(&id)
                    .to_owned();
                Some(QuotaWindow {
                    group,
                    window,
                    remaining_fraction: bucket.remaining_fraction,
                    reset_at: parse_time(bucket.reset_time.as_deref()),
                })
            })
            .filter(|w| from_first || w.window != "5h")
            .collect();
        windows.sort_by(|a, b| (&a.group, &a.window).cmp(&(&b.group, &b.window)));
        Ok(windows)
    }

    /// Everything a poll learns about an account: its catalog (`None` when
    /// Google would not say), its quota windows, and per-model quotas
    /// (`retrieveUserQuota` on Code Assist, `quotaInfo` on Antigravity).
    /// Only the per-model quota is required; the rest is best effort.
    pub async fn account_state(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        project: &str,
    ) -> Result<AccountState, UpstreamError> {
        let catalog = self
            .available_models(google, profile, access_token, project)
            .await;
        if let Err(error) = &catalog {
            tracing::info!(%error, "fetchAvailableModels failed; the account keeps its old catalog");
        }
        let (catalog, model_quotas) = match catalog {
            Ok((catalog, quotas)) => (Some(catalog), quotas),
            Err(_) => (None, Vec::new()),
        };
        let (quotas, windows) = if profile.is_antigravity() {
            let windows = match self
                .quota_windows(google, profile, access_token, project)
                .await
            {
                Ok(windows) => windows,
                Err(error) => {
                    tracing::info!(%error, "retrieveUserQuotaSummary failed");
                    Vec::new()
                }
            };
            if catalog.is_none() {
                // Neither call answered: say why instead of showing nothing.
                self.user_quota(google, profile, access_token, project)
                    .await
                    .map(|q| (q, windows))?
            } else {
                (model_quotas, windows)
            }
        } else {
            (
                self.user_quota(google, profile, access_token, project)
                    .await?,
                Vec::new(),
            )
        };
        Ok(AccountState {
            catalog,
            windows,
            quotas,
        })
    }

    /// The account's remaining quota per model.
    pub async fn user_quota(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        project: &str,
    ) -> Result<Vec<QuotaRecord>, UpstreamError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Bucket {
            #[serde(default)]
            model_id: Option<String>,
            #[serde(default)]
            remaining_fraction: Option<f64>,
            #[serde(default)]
            reset_time: Option<String>,
        }
        #[derive(Deserialize)]
        struct Quota {
            #[serde(default)]
            buckets: Vec<Bucket>,
        }
        let quota: Quota = self
            .call_method(
                google,
                profile,
                access_token,
                "retrieveUserQuota",
                &json!({ "project": project }),
            )
            .await?;
        let now = now_unix();
        let mut records: Vec<QuotaRecord> = quota
            .buckets
            .into_iter()
            .filter_map(|b| {
                Some(QuotaRecord {
                    model: b.model_id?,
                    remaining_fraction: b.remaining_fraction,
                    reset_at: parse_time(b.reset_time.as_deref()),
                    updated_at: now,
                })
            })
            .collect();
        records.sort_by(|a, b| a.model.cmp(&b.model));
        records.dedup_by(|a, b| a.model == b.model);
        Ok(records)
    }

    fn generate_request(
        &self,
        google: &GoogleConfig,
        host: &str,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        target: &Target<'_>,
        method: &str,
    ) -> reqwest::RequestBuilder {
        let id = crate::ids::random_hex_id();
        let antigravity = profile.is_antigravity();
        let request_id = format!("agent-{id}");
        let envelope = Envelope {
            model: target.model,
            project: target.project,
            user_prompt_id: (!antigravity).then_some(id.as_str()),
            user_agent: antigravity.then_some("antigravity"),
            request_type: antigravity.then_some("agent"),
            request_id: antigravity.then_some(request_id.as_str()),
            request: target.request,
        };
        self.code_assist_post(
            google,
            method_url(host, method),
            profile,
            access_token,
            target.model,
        )
        .json(&envelope)
    }

    /// `generateContent`: the whole answer at once.
    pub async fn generate(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        target: &Target<'_>,
    ) -> Result<GenerateContentResponse, UpstreamError> {
        let wrapped: Wrapped = Self::on_hosts(google, profile, "generateContent", |host| {
            let request = self
                .generate_request(
                    google,
                    &host,
                    profile,
                    access_token,
                    target,
                    "generateContent",
                )
                .timeout(target.timeout);
            self.call_json(request, "generateContent")
        })
        .await?;
        Ok(wrapped.unwrap_response())
    }

    /// `countTokens`: the prompt's size in tokens, as the model counts it.
    pub async fn count_tokens(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        target: &Target<'_>,
    ) -> Result<u64, UpstreamError> {
        #[derive(Serialize)]
        struct Inner<'a> {
            model: String,
            contents: &'a [crate::protocol::gemini::Content],
        }
        #[derive(Serialize)]
        struct CountRequest<'a> {
            request: Inner<'a>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct CountResponse {
            #[serde(default)]
            total_tokens: u64,
        }
        // Code Assist counts `contents` only; a system prompt counts as a turn.
        let mut contents = target.request.contents.clone();
        if let Some(system) = &target.request.system_instruction {
            contents.insert(
                0,
                crate::protocol::gemini::Content::new("user", system.parts.clone()),
            );
        }
        let body = CountRequest {
            request: Inner {
                model: format!("models/{}", target.model),
                contents: &contents,
            },
        };
        let counted: CountResponse = Self::on_hosts(google, profile, "countTokens", |host| {
            let request = self
                .code_assist_post(
                    google,
                    method_url(&host, "countTokens"),
                    profile,
                    access_token,
                    target.model,
                )
                .json(&body)
                .timeout(target.timeout);
            self.call_json(request, "countTokens")
        })
        .await?;
        Ok(counted.total_tokens)
    }

    /// `streamGenerateContent?alt=sse`: resolves once the upstream accepted the
    /// request (so an error status is still a plain error), then yields each
    /// event as it arrives.
    pub async fn stream(
        &self,
        google: &GoogleConfig,
        profile: &OAuthClientProfile,
        access_token: &Secret,
        target: &Target<'_>,
    ) -> Result<StreamChunks, UpstreamError> {
        let response = Self::on_hosts(google, profile, "streamGenerateContent", |host| {
            let request = self
                .generate_request(
                    google,
                    &host,
                    profile,
                    access_token,
                    target,
                    "streamGenerateContent?alt=sse",
                )
                .header(reqwest::header::ACCEPT, "text/event-stream");
            async move {
                let response = tokio::time::timeout(target.timeout, request.send())
                    .await
                    .map_err(|_| UpstreamError::Transport {
                        message: format!(
                            "streamGenerateContent: no answer within {} s",
                            target.timeout.as_secs()
                        ),
                        timeout: true,
                    })?
                    .map_err(|e| UpstreamError::from_reqwest(e, "streamGenerateContent failed"))?;
                let status = response.status();
                if !status.is_success() {
                    let headers = response.headers().clone();
                    let body = response.text().await.unwrap_or_default();
                    return Err(status_error(status, &headers, &body));
                }
                Ok(response)
            }
        })
        .await?;
        let idle_timeout = target.idle_timeout;
        let events = response.bytes_stream().eventsource();
        let chunks = events.filter_map(|event| async move {
            match event {
                Ok(event) => {
                    let data = event.data.trim();
                    if data.is_empty() || data == "[DONE]" {
                        return None;
                    }
                    let parsed = serde_json::from_str::<Wrapped>(data);
                    // An event with an error and no response is that error
                    // (Google sends quota errors this way, with a 200).
                    if !matches!(&parsed, Ok(w) if w.response.is_some())
                        && let Some(error) = super::GoogleApiError::parse(data)
                    {
                        return Some(Err(UpstreamError::Status {
                            status: error.code.unwrap_or(500),
                            message: error.message,
                            retry_after: None,
                            code: error.status,
                            details: error.details,
                        }));
                    }
                    match parsed {
                        Ok(wrapped) => Some(Ok(wrapped.unwrap_response())),
                        Err(e) => {
                            // Gemini CLI skips malformed chunks too; the content is
                            // not logged (it is the user's conversation).
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
        });
        Ok(Box::pin(crate::upstream::with_idle_timeout(
            chunks,
            idle_timeout,
        )))
    }
}

/// What to generate, and where.
pub struct Target<'a> {
    pub model: &'a str,
    pub project: &'a str,
    pub request: &'a GenerateContentRequest,
    /// How long the call may take to answer (a stream: to start).
    pub timeout: std::time::Duration,
    /// A stream's longest silence once it started.
    pub idle_timeout: std::time::Duration,
}

/// An RFC 3339 time as Unix seconds.
fn parse_time(text: Option<&str>) -> Option<i64> {
    text.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp())
}

fn no_project_error(ineligible: &[IneligibleTier]) -> UpstreamError {
    let reasons: Vec<&str> = ineligible
        .iter()
        .filter_map(|t| t.reason_message.as_deref())
        .collect();
    if reasons.is_empty() {
        UpstreamError::Setup {
            message:
                "this account needs a Google Cloud project: add it again with --project PROJECT_ID"
                    .to_owned(),
            link: Some("https://goo.gle/gemini-cli-auth-docs#workspace-gca".to_owned()),
        }
    } else {
        UpstreamError::Setup {
            message: format!(
                "this account cannot use Code Assist: {}",
                reasons.join(", ")
            ),
            link: None,
        }
    }
}
