//! `boocode`: the command line (docs/ARCHITECTURE.md §12). `serve` runs the workspace; `migrate` prepares a database.
//! Config is resolved once (flags > env > `boocode.toml` > defaults) and handed to the server.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

/// A self-hosted workspace for coding with local models.
#[derive(Parser)]
#[command(name = "boocode", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the workspace (API, frames and web UI).
    Serve(ServeArgs),
    /// Create or upgrade the database, then exit.
    Migrate(CommonArgs),
    /// Inspect the agent providers.
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Speak MCP on stdio, forwarding to a running server's `/mcp` (for stdio-only MCP clients).
    Mcp(McpArgs),
}

#[derive(Args)]
struct McpArgs {
    /// The server's MCP endpoint.
    #[arg(
        long,
        env = "BOOCODE_MCP_URL",
        default_value = "http://127.0.0.1:9500/mcp"
    )]
    url: String,
    /// A per-session token naming the calling session (boocode sets it for its agents).
    #[arg(long, env = boocode_server::mcp_bridge::SESSION_TOKEN_ENV, hide_env_values = true)]
    session_token: Option<String>,
}

#[derive(Subcommand)]
enum AgentsCommand {
    /// Probe every provider: installed?, version, models, modes, commands.
    Probe {
        #[command(flatten)]
        common: CommonArgs,
        /// Print the snapshot as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct CommonArgs {
    /// Where boocode keeps its database, worktrees and config [default: $XDG_DATA_HOME/boocode].
    #[arg(long, env = "BOOCODE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://…` [default: sqlite://<data dir>/boocode.db].
    #[arg(long, env = "BOOCODE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Address to bind [default: 127.0.0.1]. Off loopback a token (BOOCODE_TOKEN) is required.
    #[arg(long, env = "BOOCODE_HOST")]
    host: Option<IpAddr>,
    /// Port to listen on; 0 picks a free one [default: 9500].
    #[arg(long, env = "BOOCODE_PORT")]
    port: Option<u16>,
    /// OpenAI-compatible model server, including /v1 [default: http://127.0.0.1:8080/v1].
    #[arg(long, env = "BOOCODE_LLM_URL")]
    llm_url: Option<String>,
    /// Model used when neither the message nor the session nor the project chooses one.
    #[arg(long, env = "BOOCODE_DEFAULT_MODEL")]
    default_model: Option<String>,
    /// Extra Host names to accept (comma-separated), e.g. a LAN name.
    #[arg(
        long = "allowed-host",
        env = "BOOCODE_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    allowed_hosts: Vec<String>,
    /// Listen off loopback without a token. Only on a network you trust.
    #[arg(long)]
    insecure_no_auth: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BOOCODE_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Migrate(args) => migrate(args).await,
            Command::Agents(AgentsCommand::Probe { common, json }) => probe(common, json).await,
            Command::Mcp(args) => mcp(args).await,
        }
    })
}

fn overrides(common: CommonArgs) -> boocode_server::ConfigOverrides {
    boocode_server::ConfigOverrides {
        data_dir: common.data_dir,
        database_url: common.database_url,
        llm_api_key: std::env::var("BOOCODE_LLM_API_KEY")
            .ok()
            .filter(|k| !k.is_empty()),
        token: std::env::var("BOOCODE_TOKEN").ok(),
        skills_dirs: std::env::var("BOOCODE_SKILLS_DIR")
            .map(|v| {
                v.split(':')
                    .filter(|p| !p.is_empty())
                    .map(std::path::PathBuf::from)
                    .collect()
            })
            .unwrap_or_default(),
        ..Default::default()
    }
}

async fn probe(args: CommonArgs, json: bool) -> anyhow::Result<()> {
    let config = boocode_server::Config::resolve(overrides(args))?;
    let snapshot = boocode_server::probe_providers(&config).await?;
    let mut out = String::new();
    if json {
        out = serde_json::to_string_pretty(&snapshot)?;
    } else {
        if let Some(e) = &snapshot.config_error {
            out.push_str(&format!("providers.json ignored: {e}\n"));
        }
        for p in &snapshot.providers {
            let state = match (p.enabled, p.installed) {
                (true, true) => "ready",
                (false, true) => "disabled",
                (_, false) => "not installed",
            };
            out.push_str(&format!(
                "{:<10} {:<14} {:<22} models: {}{}\n",
                p.id,
                state,
                p.version.as_deref().unwrap_or("-"),
                if p.models.is_empty() {
                    "-".to_owned()
                } else {
                    p.models.join(", ")
                },
                p.error
                    .as_ref()
                    .map(|e| format!("  ({e})"))
                    .unwrap_or_default(),
            ));
        }
    }
    #[allow(clippy::print_stdout)]
    {
        println!("{}", out.trim_end());
    }
    Ok(())
}

async fn migrate(args: CommonArgs) -> anyhow::Result<()> {
    let config = boocode_server::Config::resolve(overrides(args))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = boocode_store::open(&config.database_url).await?;
    tracing::info!(database = store.backend().as_str(), "database is migrated");
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let o = boocode_server::ConfigOverrides {
        host: args.host,
        port: args.port,
        llm_url: args.llm_url,
        default_model: args.default_model,
        allowed_hosts: args.allowed_hosts,
        insecure_no_auth: args.insecure_no_auth,
        ..overrides(args.common)
    };
    let mut config = boocode_server::Config::resolve(o)?;
    // Agents without MCP over HTTP reach the server through this very binary (`boocode mcp`).
    config.mcp_bridge = std::env::current_exe().ok();
    let listener = tokio::net::TcpListener::bind((config.host, config.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
    tracing::info!(
        data_dir = %config.data_dir.display(),
        database = %boocode_store::redact(&config.database_url),
        llm = %config.llm_url,
        "starting"
    );
    let server = boocode_server::start(config, listener).await?;
    let addr = server.addr;
    let host = if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    #[allow(clippy::print_stdout)]
    {
        println!("boocode listening on http://{host}:{}", addr.port());
    }
    wait_for_signal().await?;
    tracing::info!("signal received; shutting down");
    match tokio::time::timeout(Duration::from_secs(10), server.shutdown()).await {
        Ok(result) => result?,
        Err(_) => tracing::warn!("shutdown took longer than 10 s; exiting anyway"),
    }
    Ok(())
}

async fn mcp(args: McpArgs) -> anyhow::Result<()> {
    let target = boocode_server::mcp_bridge::BridgeTarget {
        url: args.url,
        session_token: args.session_token.filter(|t| !t.is_empty()),
        api_token: std::env::var(boocode_server::mcp_bridge::API_TOKEN_ENV)
            .ok()
            .filter(|t| !t.is_empty()),
    };
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    boocode_server::mcp_bridge::run_bridge(target, stdin, tokio::io::stdout()).await?;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
