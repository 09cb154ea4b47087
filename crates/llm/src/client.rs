//! The HTTP side: one pooled reqwest client, connect timeout but no total timeout on streams (an idle
//! timeout between chunks instead, since prompt processing can take minutes).

use std::time::Duration;

use reqwest::StatusCode;

use crate::error::LlmError;
use crate::models::{ModelList, RemoteModel};
use crate::stream::ChatStream;
use crate::wire::{ChatRequest, Chunk, Completion, error_message};

/// Where the model server is and how patient to be with it. `Debug` hides the key.
#[derive(Clone)]
pub struct LlmConfig {
    /// Base URL including `/v1`, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub connect_timeout: Duration,
    /// Longest silence tolerated between two chunks (or before the first one).
    pub idle_timeout: Duration,
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}

impl LlmConfig {
    /// Defaults suited to local servers: 10 s to connect, 300 s of silence (cold loads are slow).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key: None,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// A cheap-to-clone client of one OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    config: std::sync::Arc<LlmConfig>,
}

impl LlmClient {
    /// Builds the client; fails only if the TLS backend cannot start.
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| LlmError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            config: std::sync::Arc::new(config),
        })
    }

    /// The configured base URL.
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self
            .http
            .request(method, format!("{}{path}", self.config.base_url));
        match &self.config.api_key {
            Some(key) => rb.bearer_auth(key),
            None => rb,
        }
    }

    fn send_error(&self, e: reqwest::Error) -> LlmError {
        if e.is_connect() || e.is_timeout() {
            LlmError::Unreachable {
                url: self.config.base_url.clone(),
                message: root_cause(&e),
            }
        } else {
            LlmError::Transport(root_cause(&e))
        }
    }

    /// `GET /models`.
    pub async fn list_models(&self) -> Result<Vec<RemoteModel>, LlmError> {
        let resp = self
            .request(reqwest::Method::GET, "/models")
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| self.send_error(e))?;
        let resp = check_status(resp, None).await?;
        let list: ModelList = resp
            .json()
            .await
            .map_err(|e| LlmError::Malformed(format!("model list: {e}")))?;
        Ok(list
            .data
            .iter()
            .filter_map(RemoteModel::from_json)
            .collect())
    }

    /// llama.cpp's `/props` window (`default_generation_settings.n_ctx`), when the server has one.
    /// Call only for a model that is loaded: on llama-swap a model-routed request would load it.
    pub async fn server_context_length(&self) -> Option<u64> {
        let v = self.root_json("/props").await?;
        v.pointer("/default_generation_settings/n_ctx")
            .and_then(|n| n.as_u64())
    }

    /// `GET <server root><path>` (outside `/v1`) as JSON; `None` when absent or not answering.
    async fn root_json(&self, path: &str) -> Option<serde_json::Value> {
        let root = self
            .config
            .base_url
            .trim_end_matches('/')
            .trim_end_matches("/v1");
        let resp = self
            .http
            .get(format!("{root}{path}"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json().await.ok()
    }

    /// llama-swap's `GET /running`: the models loaded now. `None` when the server has no such route (a
    /// plain OpenAI-compatible server) or does not answer.
    pub async fn running_models(&self) -> Option<Vec<String>> {
        let v = self.root_json("/running").await?;
        let running = v.get("running")?.as_array()?;
        Some(
            running
                .iter()
                .filter_map(|r| r.get("model").and_then(|m| m.as_str()).map(str::to_owned))
                .collect(),
        )
    }

    /// Starts a streamed completion; the returned stream yields its events.
    pub async fn stream_chat(&self, req: &ChatRequest) -> Result<ChatStream, LlmError> {
        let resp = self
            .request(reqwest::Method::POST, "/chat/completions")
            .json(&req.body(true))
            .send()
            .await
            .map_err(|e| self.send_error(e))?;
        let resp = check_status(resp, Some(&req.model)).await?;
        Ok(ChatStream::new(resp, self.config.idle_timeout))
    }

    /// A whole, non-streamed completion (titles and other short side requests).
    pub async fn complete(&self, req: &ChatRequest) -> Result<Completion, LlmError> {
        let resp = self
            .request(reqwest::Method::POST, "/chat/completions")
            .json(&req.body(false))
            .timeout(self.config.idle_timeout)
            .send()
            .await
            .map_err(|e| self.send_error(e))?;
        let resp = check_status(resp, Some(&req.model)).await?;
        let text = resp.text().await.map_err(|e| self.send_error(e))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| LlmError::Malformed(format!("completion body: {e}")))?;
        if value.get("error").is_some() {
            return Err(LlmError::Upstream(error_message(&text)));
        }
        let chunk: Chunk = serde_json::from_value(value)
            .map_err(|e| LlmError::Malformed(format!("completion body: {e}")))?;
        let mut out = Completion {
            usage: chunk.usage,
            ..Completion::default()
        };
        if let Some(msg) = chunk
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.or(c.delta))
        {
            out.content = msg.content.unwrap_or_default();
            out.reasoning = msg.reasoning_content.or(msg.reasoning).unwrap_or_default();
        }
        Ok(out)
    }
}

async fn check_status(
    resp: reqwest::Response,
    model: Option<&str>,
) -> Result<reqwest::Response, LlmError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.text().await.unwrap_or_default();
    let message = error_message(&body);
    if let Some(err) = context_exceeded(&body) {
        return Err(err);
    }
    Err(match (status, model) {
        (StatusCode::NOT_FOUND, Some(model)) => LlmError::ModelNotFound {
            model: model.to_owned(),
            message,
        },
        _ => LlmError::Http {
            status: status.as_u16(),
            message,
        },
    })
}

/// llama.cpp's `exceed_context_size_error` (HTTP 400 with `n_prompt_tokens`, `n_ctx`).
fn context_exceeded(body: &str) -> Option<LlmError> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let err = v.get("error")?;
    if err.get("type")?.as_str()? != "exceed_context_size_error" {
        return None;
    }
    Some(LlmError::ContextExceeded {
        prompt_tokens: err.get("n_prompt_tokens")?.as_u64()?,
        context: err.get("n_ctx")?.as_u64()?,
    })
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
