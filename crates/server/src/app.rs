//! Assembles the server: store, broker, model client, chat service and routes; serves them on a given
//! listener (port 0 in tests) and shuts down in order: stop accepting, cancel turns with a reason, wait
//! for them (bounded), flush the frame journal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use boocode_agents::{AgentBackend, NativeBackend};
use boocode_llm::{LlmClient, LlmConfig};
use boocode_protocol::DatabaseEngine;
use boocode_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::broker::{Broker, prune_loop};
use crate::chat::{ChatDeps, ChatService, SHUTDOWN_REASON};
use crate::coding::CodingDeps;
use crate::config::Config;
use crate::dispatcher::Dispatcher;
use crate::models::ModelCatalog;
use crate::permissions::PermissionRelay;
use crate::providers::ProviderHub;
use crate::security::{Guard, guard};

/// What a reply cut off by a dead process says.
const INTERRUPTED: &str = "interrupted by restart";

/// How long running turns get to end after shutdown is requested.
const TURN_GRACE: Duration = Duration::from_secs(5);
/// How long coding turns may run on before shutdown cancels them.
const TASK_GRACE: Duration = Duration::from_secs(2);

/// `git worktree prune` for every project with worktrees, dropping records of deleted directories.
async fn prune_worktrees(store: &dyn Store) {
    let Ok(worktrees) = store.list_worktrees().await else {
        return;
    };
    let projects: std::collections::BTreeSet<String> =
        worktrees.into_iter().map(|(_, p)| p).collect();
    for project in projects {
        if let Err(e) = boocode_workspace::prune_worktrees(std::path::Path::new(&project)).await {
            tracing::warn!(%project, error = %e, "git worktree prune failed");
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub broker: Broker,
    pub llm: LlmClient,
    pub catalog: ModelCatalog,
    pub chat: ChatService,
    pub dispatcher: Dispatcher,
    pub providers: ProviderHub,
    pub permissions: PermissionRelay,
    pub disabled_agents: Vec<String>,
    pub changes: crate::changes::ChangeService,
    pub sessions: crate::sessions::SessionService,
    pub worktrees_dir: std::path::PathBuf,
    pub terminals: crate::terminals::Terminals,
    pub shell: Option<String>,
    pub skills: crate::skills::Skills,
    pub mcp_tokens: crate::mcp::McpTokens,
    pub tasks: crate::tasks::TaskService,
    pub uploads: crate::uploads::Uploads,
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

/// boocode's model server as the built-in agents that can use it are pointed at: the default model (set
/// `--default-model` for agents to use a specific one).
fn model_server(config: &Config) -> boocode_agents::providers::ModelServer {
    boocode_agents::providers::ModelServer {
        url: config.llm_url.clone(),
        api_key: config.llm_api_key.clone(),
        model: config
            .default_model
            .clone()
            .unwrap_or_else(|| "default".into()),
    }
}

/// Probes every provider (tier 1 and 2) without starting a server: `boocode agents probe`.
pub async fn probe_providers(
    config: &Config,
) -> Result<boocode_protocol::ProvidersSnapshot, ServerError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut llm_config = LlmConfig::new(config.llm_url.clone());
    llm_config.api_key = config.llm_api_key.clone();
    let llm = LlmClient::new(llm_config)?;
    let catalog = ModelCatalog::new(llm.clone());
    let hub = ProviderHub::new(
        config.data_dir.clone(),
        Duration::from_secs(60),
        crate::providers::OpencodeTimes {
            inactivity: Duration::from_secs(config.opencode_inactivity_secs),
            ready: Duration::from_secs(config.opencode_ready_secs),
        },
        Arc::new(NativeBackend::new(llm)),
        Arc::new(crate::agent_memory::NoMemory),
        Some(model_server(config)),
        config.agent_user_home.clone(),
    );
    Ok(hub
        .snapshot(crate::providers::ProbeMode::All, &catalog)
        .await)
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
    let interrupted = if store.backend() == DatabaseEngine::Sqlite {
        store.interrupt_streaming_messages(INTERRUPTED).await?
    } else {
        Vec::new()
    };
    if !interrupted.is_empty() {
        tracing::info!(
            messages = interrupted.len(),
            "replies cut off by the last shutdown marked as errors"
        );
    }
    let mut llm_config = LlmConfig::new(config.llm_url.clone());
    llm_config.api_key = config.llm_api_key.clone();
    let llm = LlmClient::new(llm_config)?;
    let catalog = ModelCatalog::new(llm.clone());
    let (broker, journal) = Broker::start(store.clone());
    for m in &interrupted {
        crate::recorder::publish_interrupted(
            &broker,
            &m.session_id,
            &m.id,
            &m.chat_id,
            INTERRUPTED,
        )
        .await;
    }
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let native: Arc<dyn AgentBackend> = Arc::new(NativeBackend::new(llm.clone()));
    let providers = ProviderHub::new(
        config.data_dir.clone(),
        Duration::from_secs(config.agent_idle_secs),
        crate::providers::OpencodeTimes {
            inactivity: Duration::from_secs(config.opencode_inactivity_secs),
            ready: Duration::from_secs(config.opencode_ready_secs),
        },
        native.clone(),
        Arc::new(crate::agent_memory::StoreMemory {
            store: store.clone(),
        }),
        Some(model_server(&config)),
        config.agent_user_home.clone(),
    );
    let pool = providers.build_pool(&config.disabled_agents);
    let permissions = PermissionRelay::new(
        store.clone(),
        broker.clone(),
        Duration::from_secs(config.permission_timeout_secs),
    );
    // Their agents are gone: nobody can answer requests left open by the last run.
    store.expire_permissions().await?;
    let skills = crate::skills::Skills::new(&config.data_dir, config.skills_dirs.clone());
    skills.install_defaults();
    let worktrees_dir = config.data_dir.join("worktrees");
    let addr = listener.local_addr()?;
    let mcp_tokens = crate::mcp::McpTokens::default();
    let mcp = crate::coding::McpAccess {
        url: format!("http://127.0.0.1:{}/mcp", addr.port()),
        tokens: mcp_tokens.clone(),
        bridge: config.mcp_bridge.clone(),
    };
    let dispatcher = Dispatcher::new(
        CodingDeps {
            store: store.clone(),
            broker: broker.clone(),
            catalog: catalog.clone(),
            default_model: config.default_model.clone(),
            worktrees_dir: worktrees_dir.clone(),
            max_steps: config.max_tool_steps,
            permissions: permissions.clone(),
            skills: skills.clone(),
            mcp,
        },
        Arc::new(pool),
        config.max_parallel_tasks,
        tracker.clone(),
        config.scheduling.clone(),
    );
    // SQLite has one process: every task still `running` belongs to a process that is gone.
    let horizon = if store.backend() == DatabaseEngine::Sqlite {
        chrono::Utc::now() + chrono::Duration::days(365)
    } else {
        chrono::Utc::now()
    };
    dispatcher.recover(horizon).await;
    prune_worktrees(store.as_ref()).await;
    let uploads = crate::uploads::Uploads::new(&config.data_dir, store.clone());
    let chat = ChatService::new(ChatDeps {
        store: store.clone(),
        broker: broker.clone(),
        llm: llm.clone(),
        catalog: catalog.clone(),
        backend: native,
        default_model: config.default_model.clone(),
        skills: skills.clone(),
        uploads: uploads.clone(),
        tracker: tracker.clone(),
        shutdown: shutdown.clone(),
        worker_id: dispatcher.worker_id().to_owned(),
    });
    let terminals = crate::terminals::Terminals::with_archive(config.data_dir.join("terminals"));
    let state = AppState {
        store: store.clone(),
        broker: broker.clone(),
        llm,
        catalog,
        chat: chat.clone(),
        dispatcher: dispatcher.clone(),
        providers: providers.clone(),
        permissions,
        disabled_agents: config.disabled_agents.clone(),
        changes: crate::changes::ChangeService::new(store.clone(), broker.clone()),
        sessions: crate::sessions::SessionService {
            store: store.clone(),
            broker: broker.clone(),
            chat: chat.clone(),
            dispatcher: dispatcher.clone(),
            providers: providers.clone(),
            terminals: terminals.clone(),
        },
        worktrees_dir,
        terminals: terminals.clone(),
        shell: config.shell.clone(),
        skills: skills.clone(),
        mcp_tokens,
        tasks: crate::tasks::TaskService::new(store.clone(), broker.clone(), dispatcher.clone()),
        uploads,
        shutdown: shutdown.clone(),
    };
    let notices = store.task_notices().await?;
    tracker.spawn(dispatcher.clone().run(notices));
    crate::arena::resume_runners(&state).await;
    let app = router(state, &config);
    tracker.spawn(prune_loop(store.clone(), broker.clone(), shutdown.clone()));
    if let Some(notices) = store.frame_notices().await? {
        broker.set_shared();
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
        let serve = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop.clone().cancelled_owned());
        let serve = tokio::spawn(async move { serve.await });
        stop.cancelled().await;
        tracing::info!("shutting down: cancelling running turns");
        dispatcher.stop_claiming();
        chat.cancel_all(SHUTDOWN_REASON);
        tracker.close();
        // Coding turns get a moment to finish on their own before they are cancelled.
        if tokio::time::timeout(TASK_GRACE, tracker.wait())
            .await
            .is_err()
        {
            dispatcher.interrupt_all_for_shutdown();
        }
        if tokio::time::timeout(TURN_GRACE, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some turns did not end within {TURN_GRACE:?}");
        }
        // Every frame published so far is journaled once this returns; the writer can then go.
        terminals.close_all();
        providers.dispose().await;
        broker.flush().await;
        broker.release_reservations().await;
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

/// One span per request (method and path only: a query may carry a login token) and a debug line with
/// the status and latency of each response; `BOOCODE_LOG=tower_http=debug` shows them.
fn trace_layer() -> tower_http::trace::TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    impl Fn(&axum::http::Request<axum::body::Body>) -> tracing::Span + Clone,
> {
    tower_http::trace::TraceLayer::new_for_http()
        .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
            tracing::debug_span!("http", method = %req.method(), path = %req.uri().path())
        })
        .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG))
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
    let guard_state =
        Guard::new(&hosts, config.token.clone()).with_mcp_tokens(state.mcp_tokens.clone());
    // MCP over streamable HTTP; Host, Origin and token are checked by the guard below, like everything.
    let mcp_state = state.clone();
    let mcp = rmcp::transport::StreamableHttpService::new(
        move || Ok(crate::mcp::BoocodeMcp::new(mcp_state.clone())),
        std::sync::Arc::new(
            rmcp::transport::streamable_http_server::session::local::LocalSessionManager::default(),
        ),
        rmcp::transport::StreamableHttpServerConfig::default()
            .disable_allowed_hosts()
            .with_cancellation_token(state.shutdown.child_token()),
    );
    crate::api::routes()
        .nest_service("/mcp", mcp)
        .fallback(crate::assets::serve)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::from_fn(crate::extract::refuse_nul_in_uri))
        .layer(axum::middleware::from_fn_with_state(guard_state, guard))
        .layer(trace_layer())
        .with_state(state)
}
