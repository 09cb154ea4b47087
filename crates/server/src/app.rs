//! Assembles the server: store, broker, model client, chat service and routes; serves them on a given
//! listener (port 0 in tests) and shuts down in order: stop accepting, cancel turns with a reason, wait
//! for them (bounded), flush the frame journal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use boocode_agents::NativeBackend;
use boocode_llm::{LlmClient, LlmConfig};
use boocode_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::broker::{Broker, prune_loop};
use crate::chat::{ChatDeps, ChatService, SHUTDOWN_REASON};
use crate::config::Config;
use crate::models::ModelCatalog;
use crate::security::{Guard, guard};

/// How long running turns get to end after shutdown is requested.
const TURN_GRACE: Duration = Duration::from_secs(7);

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub broker: Broker,
    pub llm: LlmClient,
    pub catalog: ModelCatalog,
    pub chat: ChatService,
    pub shutdown: CancellationToken,
}

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot create data directory {0}: {1}")]
    DataDir(std::path::PathBuf, std::io::Error),
    #[error(transparent)]
    Store(#[from] boocode_store::StoreError),
    #[error(transparent)]
    Llm(#[from] boocode_llm::LlmError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A server accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// Asks the server to stop (idempotent).
    pub fn trigger_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Stops the server and waits until turns ended and frames are journaled.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        self.trigger_shutdown();
        self.wait().await
    }

    /// Waits for the server to end (after `trigger_shutdown`).
    pub async fn wait(self) -> Result<(), ServerError> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(ServerError::Io(std::io::Error::other(e))),
        }
    }
}

/// Opens the store, recovers, and serves on `listener` until shut down.
pub async fn start(config: Config, listener: TcpListener) -> Result<RunningServer, ServerError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    config.validate()?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| ServerError::DataDir(config.data_dir.clone(), e))?;
    let store = boocode_store::open(&config.database_url).await?;
    // With SQLite this process is the only writer, so anything still streaming was cut off by a crash.
    // With PostgreSQL another worker may own those replies; their own restart recovers them.
    if store.backend() == "sqlite" {
        let n = store
            .interrupt_streaming_messages("interrupted by restart")
            .await?;
        if n > 0 {
            tracing::info!(
                messages = n,
                "replies cut off by the last shutdown marked as errors"
            );
        }
    }
    let mut llm_config = LlmConfig::new(config.llm_url.clone());
    llm_config.api_key = config.llm_api_key.clone();
    let llm = LlmClient::new(llm_config)?;
    let catalog = ModelCatalog::new(llm.clone());
    let (broker, journal) = Broker::start(store.clone());
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let chat = ChatService::new(ChatDeps {
        store: store.clone(),
        broker: broker.clone(),
        llm: llm.clone(),
        catalog: catalog.clone(),
        backend: Arc::new(NativeBackend::new(llm.clone())),
        default_model: config.default_model.clone(),
        tracker: tracker.clone(),
        shutdown: shutdown.clone(),
    });
    let state = AppState {
        store: store.clone(),
        broker: broker.clone(),
        llm,
        catalog,
        chat: chat.clone(),
        shutdown: shutdown.clone(),
    };
    let app = router(state, &config);
    let addr = listener.local_addr()?;
    tracker.spawn(prune_loop(store.clone(), broker.clone(), shutdown.clone()));
    if let Some(notices) = store.frame_notices().await? {
        let follower = broker.clone();
        let stop = shutdown.clone();
        tracker.spawn(async move {
            tokio::select! {
                () = follower.follow_remote(notices) => {}
                () = stop.cancelled() => {}
            }
        });
    }
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app.into_make_service())
            .with_graceful_shutdown(stop.clone().cancelled_owned());
        let serve = tokio::spawn(async move { serve.await });
        stop.cancelled().await;
        tracing::info!("shutting down: cancelling running turns");
        chat.cancel_all(SHUTDOWN_REASON);
        tracker.close();
        if tokio::time::timeout(TURN_GRACE, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some turns did not end within {TURN_GRACE:?}");
        }
        // Every frame published so far is journaled once this returns; the writer can then go.
        broker.flush().await;
        journal.abort();
        match tokio::time::timeout(Duration::from_secs(2), serve).await {
            Ok(Ok(result)) => result.map_err(ServerError::Io),
            _ => Ok(()),
        }
    });
    Ok(RunningServer {
        addr,
        shutdown,
        task,
    })
}

fn router(state: AppState, config: &Config) -> Router {
    // An IP literal cannot be DNS-rebound, so the address boocode is bound to is always a valid Host.
    let mut hosts = config.allowed_hosts.clone();
    if !config.host.is_unspecified() {
        hosts.push(match config.host {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        });
    }
    let guard_state = Guard::new(&hosts, config.token.clone());
    crate::api::routes()
        .fallback(crate::assets::serve)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(guard_state, guard))
        .with_state(state)
}
