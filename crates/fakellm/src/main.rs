//! `fakellm --port P [--script FILE]`: the scripted model server as a process.

use anyhow::Context as _;
use clap::Parser;

/// Scripted OpenAI-compatible server for boocode's tests and benchmarks.
#[derive(Parser)]
#[command(name = "fakellm", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// JSON array of prompts (with directives) used in turn for requests without directives.
    #[arg(long)]
    script: Option<std::path::PathBuf>,
    /// Comma-separated model ids to serve.
    #[arg(long, default_value = "fake-model,fake-model-2", value_delimiter = ',')]
    models: Vec<String>,
    /// Context window to report.
    #[arg(long, default_value_t = 32768)]
    context_length: u64,
    /// Emulate llama-swap: one model at a time, loading another takes this many milliseconds.
    #[arg(long)]
    swap_ms: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let script = match &args.script {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} must be a JSON array of strings", path.display()))?
        }
        None => Vec::new(),
    };
    let options = boocode_fakellm::FakeOptions {
        models: args.models,
        context_length: args.context_length,
        script,
        swap_delay: args.swap_ms.map(std::time::Duration::from_millis),
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let addr = listener.local_addr()?;
    let (app, _log) = boocode_fakellm::router(options);
    #[allow(clippy::print_stdout)]
    {
        println!("fakellm listening on http://{addr}");
    }
    axum::serve(listener, app).await?;
    Ok(())
}
