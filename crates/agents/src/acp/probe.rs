//! Tier-2 probe: start the agent in a scratch directory, `initialize` and `session/new`, and read what it
//! offers — models, modes, slash commands — then stop it.

use std::path::Path;
use std::time::Duration;

use boocode_protocol::AgentCommand;

use super::process::AgentSpec;
use super::session::AcpSession;

/// What a probe learned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeReport {
    pub models: Vec<String>,
    pub modes: Vec<String>,
    /// Values of the agent's `thought_level` option (its thinking levels), if it has one.
    pub thinking: Vec<String>,
    pub commands: Vec<AgentCommand>,
}

/// How long to listen for `available_commands_update` after the session opens.
const LISTEN: Duration = Duration::from_millis(400);

/// Probes `spec`; `data_dir` holds the agent's private home.
pub async fn probe(spec: &AgentSpec, data_dir: &Path) -> Result<ProbeReport, String> {
    let scratch = tempfile::tempdir().map_err(|e| format!("scratch directory: {e}"))?;
    let (home, _) = spec.home_dir(data_dir);
    let (mut session, _) =
        AcpSession::start(spec, scratch.path(), &home, String::new(), None, None)
            .await
            .map_err(|e| e.to_string())?;
    // Commands usually follow session/new at once; give a slower agent a moment.
    if session.commands().is_empty() {
        tokio::time::sleep(LISTEN).await;
    }
    let report = ProbeReport {
        models: session
            .config
            .options
            .iter()
            .filter(|o| o.category == "model")
            .flat_map(|o| o.values.clone())
            .chain(session.config.legacy_models.clone())
            .collect(),
        modes: session.config.modes.clone(),
        thinking: session
            .config
            .options
            .iter()
            .filter(|o| o.category == "thought_level")
            .flat_map(|o| o.values.clone())
            .collect(),
        commands: session.commands(),
    };
    session.shutdown().await;
    Ok(report)
}
