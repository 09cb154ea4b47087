//! fakellm: a scripted OpenAI-compatible server for tests and benchmarks (docs/ARCHITECTURE.md §14). Directives in the
//! last user message script each reply; every request is recorded (`GET /_fakellm/requests`) together with
//! whether the client hung up before the stream ended.

mod agent_tools;
mod directives;
mod reply;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

pub use directives::Directives;

/// How the fake server behaves.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// Model ids it serves; others get 404.
    pub models: Vec<String>,
    /// Context window it reports.
    pub context_length: u64,
    /// Canned user prompts used, in turn, for requests whose message carries no directive.
    pub script: Vec<String>,
    /// Emulates llama-swap: one model loaded at a time, a request for another one first waits this
    /// long (the load) and counts a swap; `/running` and the models' `status` say which is loaded.
    pub swap_delay: Option<std::time::Duration>,
    /// Models that take `image_url` parts; the others answer 400 as llama.cpp does without a
    /// multimodal projector.
    pub vision_models: Vec<String>,
}

impl Default for FakeOptions {
    fn default() -> Self {
        Self {
            models: vec!["fake-model".into(), "fake-model-2".into()],
            context_length: 32768,
            script: Vec::new(),
            swap_delay: None,
            vision_models: vec!["fake-model-2".into()],
        }
    }
}

/// The emulated llama-swap state: the loaded model and how many swaps happened.
#[derive(Default)]
pub(crate) struct Swapper {
    pub loaded: tokio::sync::Mutex<Option<String>>,
    pub swaps: std::sync::atomic::AtomicUsize,
}

impl Swapper {
    /// Loads `model` if another one is loaded (waiting `delay`), as llama-swap does; `true` when it
    /// had to load.
    pub(crate) async fn ensure(&self, model: &str, delay: std::time::Duration) -> bool {
        let mut loaded = self.loaded.lock().await;
        if loaded.as_deref() == Some(model) {
            return false;
        }
        tokio::time::sleep(delay).await;
        *loaded = Some(model.to_owned());
        self.swaps
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        true
    }

    fn current(&self) -> Option<String> {
        self.loaded.try_lock().ok().and_then(|l| l.clone())
    }
}

/// One request as received.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    pub model: String,
    pub stream: bool,
    pub body: serde_json::Value,
    /// Set when the client closed the connection before the stream finished.
    pub disconnected: bool,
    pub finished: bool,
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub options: Arc<FakeOptions>,
    pub requests: Arc<Mutex<Vec<RecordedRequest>>>,
    pub counter: Arc<std::sync::atomic::AtomicUsize>,
    pub swapper: Arc<Swapper>,
}

/// A running in-process fakellm.
pub struct FakeLlm {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    swapper: Arc<Swapper>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeLlm {
    /// Starts on an ephemeral loopback port.
    pub async fn start(options: FakeOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (app, requests, swapper) = build(options);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!("fakellm stopped: {e}");
            }
        });
        Ok(Self {
            addr,
            requests,
            swapper,
            task,
        })
    }

    /// Base URL including `/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// How many model swaps the llama-swap emulation made.
    pub fn swaps(&self) -> usize {
        self.swapper
            .swaps
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The axum app, plus the shared request log.
pub fn router(options: FakeOptions) -> (axum::Router, Arc<Mutex<Vec<RecordedRequest>>>) {
    let (app, requests, _) = build(options);
    (app, requests)
}

type Built = (axum::Router, Arc<Mutex<Vec<RecordedRequest>>>, Arc<Swapper>);

fn build(options: FakeOptions) -> Built {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let swapper = Arc::new(Swapper::default());
    let state = AppState {
        options: Arc::new(options),
        requests: requests.clone(),
        counter: Arc::default(),
        swapper: swapper.clone(),
    };
    let app = axum::Router::new()
        .route("/v1/models", get(models))
        .route("/models", get(models))
        .route("/props", get(props))
        .route("/v1/chat/completions", post(reply::chat_completions))
        .route("/chat/completions", post(reply::chat_completions))
        .route("/_fakellm/requests", get(recorded))
        .route("/running", get(running))
        .with_state(state);
    (app, requests, swapper)
}

/// llama-swap's `GET /running` (only with the swap emulation on).
async fn running(State(state): State<AppState>) -> Response {
    if state.options.swap_delay.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let running: Vec<_> = state
        .swapper
        .current()
        .into_iter()
        .map(|m| serde_json::json!({"model": m, "state": "ready"}))
        .collect();
    Json(serde_json::json!({"running": running})).into_response()
}

async fn models(State(state): State<AppState>) -> Json<serde_json::Value> {
    let data: Vec<_> = state
        .options
        .models
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let loaded = match state.options.swap_delay {
                Some(_) => state.swapper.current().as_deref() == Some(id.as_str()),
                None => i == 0,
            };
            serde_json::json!({
                "id": id, "object": "model", "created": 0, "owned_by": "fakellm",
                "status": {"value": if loaded { "loaded" } else { "unloaded" }},
                "meta": {"n_ctx": state.options.context_length},
            })
        })
        .collect();
    Json(serde_json::json!({"object": "list", "data": data}))
}

async fn props(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(
        serde_json::json!({"default_generation_settings": {"n_ctx": state.options.context_length}}),
    )
}

async fn recorded(State(state): State<AppState>) -> Response {
    match state.requests.lock() {
        Ok(r) => Json(r.clone()).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
