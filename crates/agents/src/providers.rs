//! The provider registry (docs/ARCHITECTURE.md §7): built-in agents plus custom ACP entries from
//! `<data dir>/providers.json`. An override replaces a built-in's settings wholesale; a custom id with a
//! `command` is an ACP agent. A broken file never stops the server: the built-ins stay, with the error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::acp::AgentSpec;

pub use boocode_protocol::{ProviderOverride, ProvidersFile};

/// How a provider runs turns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKind {
    Native,
    Acp(AgentSpec),
    /// A warm `opencode serve` driven over HTTP + SSE (`backend: "opencode_server"`).
    OpencodeServer(AgentSpec),
}

impl ProviderKind {
    /// The launch spec of an external agent.
    pub fn spec(&self) -> Option<&AgentSpec> {
        match self {
            Self::Native => None,
            Self::Acp(spec) | Self::OpencodeServer(spec) => Some(spec),
        }
    }

    fn spec_mut(&mut self) -> Option<&mut AgentSpec> {
        match self {
            Self::Native => None,
            Self::Acp(spec) | Self::OpencodeServer(spec) => Some(spec),
        }
    }

    /// `native`, `acp` or `opencode_server`, as the snapshot and `providers.json` name them.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Acp(_) => "acp",
            Self::OpencodeServer(_) => "opencode_server",
        }
    }

    /// `backend` from `providers.json` (default `default`) applied to an external agent's spec.
    fn external(spec: AgentSpec, backend: Option<&str>, default: &str) -> Self {
        match backend.unwrap_or(default) {
            "opencode_server" => Self::OpencodeServer(spec),
            _ => Self::Acp(spec),
        }
    }
}

/// A provider as resolved from built-ins and overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub id: String,
    pub label: String,
    pub kind: ProviderKind,
    pub enabled: bool,
    /// Where the command was found, if it was.
    pub install_path: Option<PathBuf>,
    /// boocode pointed it at its model server (the user did not set its environment), so boocode may
    /// keep its configuration current.
    pub wired: bool,
}

impl Provider {
    /// Whether the agent's program exists (always for native).
    pub fn installed(&self) -> bool {
        matches!(self.kind, ProviderKind::Native) || self.install_path.is_some()
    }
}

/// All providers, plus why `providers.json` was ignored, if it was.
#[derive(Debug, Clone)]
pub struct ProviderRegistry {
    pub providers: Vec<Provider>,
    pub file_error: Option<String>,
}

struct Builtin {
    id: &'static str,
    label: &'static str,
    command: &'static str,
    args: &'static [&'static str],
    hint: &'static str,
    /// How it runs unless `providers.json` says otherwise.
    backend: &'static str,
}

/// Agents boocode wires to its own model server (their settings written into a private home) run
/// there by default; every other agent runs in the user's home, so their own setup applies.
pub fn default_home(id: &str) -> boocode_protocol::AgentHome {
    if WIRED.contains(&id) {
        boocode_protocol::AgentHome::Private
    } else {
        boocode_protocol::AgentHome::User
    }
}

/// The built-ins boocode points at its model server.
const WIRED: &[&str] = &["opencode", "qwen"];

const BUILTINS: &[Builtin] = &[
    Builtin {
        id: "opencode",
        label: "opencode",
        command: "opencode",
        args: &["acp"],
        hint: "install it with `npm install -g opencode-ai`",
        backend: "opencode_server",
    },
    Builtin {
        id: "qwen",
        label: "Qwen Code",
        command: "qwen",
        args: &["--acp"],
        hint: "install it with `npm install -g @qwen-code/qwen-code`",
        backend: "acp",
    },
    Builtin {
        id: "gemini",
        label: "Gemini CLI",
        command: "gemini",
        args: &["--acp"],
        hint: "install it with `npm install -g @google/gemini-cli`",
        backend: "acp",
    },
    Builtin {
        id: "goose",
        label: "goose",
        command: "goose",
        args: &["acp"],
        hint: "install the goose CLI from its releases (github.com/block/goose)",
        backend: "acp",
    },
    Builtin {
        id: "claude",
        label: "Claude Code",
        command: "claude-agent-acp",
        args: &[],
        hint: "install it with `npm install -g @agentclientprotocol/claude-agent-acp`",
        backend: "acp",
    },
    Builtin {
        id: "codex",
        label: "Codex",
        command: "codex-acp",
        args: &[],
        hint: "install it with `npm install -g @zed-industries/codex-acp`",
        backend: "acp",
    },
];

/// boocode's model server, handed to the built-in agents that can use an OpenAI-compatible one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelServer {
    /// Base URL including `/v1`.
    pub url: String,
    pub api_key: Option<String>,
    pub model: String,
}

impl ModelServer {
    /// Points qwen and opencode at this server (env and settings in their private home), unless the
    /// user's override already sets their environment. Other agents keep their own configuration.
    /// Says whether it wired the agent.
    pub fn wire(&self, id: &str, spec: &mut AgentSpec, overridden_env: bool) -> bool {
        if overridden_env {
            return false;
        }
        let key = self.api_key.clone().unwrap_or_else(|| "local".into());
        // Custom providers running the same program (say `opencode-acp`) are wired like the built-in.
        let program = Path::new(&spec.command)
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| ["qwen", "opencode"].contains(n));
        match program.unwrap_or(id) {
            "qwen" => {
                spec.env.insert("OPENAI_BASE_URL".into(), self.url.clone());
                spec.env.insert("OPENAI_API_KEY".into(), key);
                spec.env.insert("OPENAI_MODEL".into(), self.model.clone());
                let settings = serde_json::json!({
                    "security": {"auth": {"selectedType": "openai"}},
                    "model": {"name": self.model},
                    "tools": {"approvalMode": "default"},
                    "general": {"enableAutoUpdate": false},
                    "ui": {"enableFollowupSuggestions": false},
                    "privacy": {"usageStatisticsEnabled": false},
                    "telemetry": {"enabled": false},
                    "memory": {"enableManagedAutoMemory": false, "enableManagedAutoDream": false},
                });
                spec.home_files
                    .push((".qwen/settings.json".into(), settings.to_string()));
            }
            "opencode" => {
                let config = self.opencode_config(&[(self.model.clone(), None)]);
                spec.env
                    .insert("OPENCODE_CONFIG_CONTENT".into(), config.to_string());
                for flag in [
                    "OPENCODE_DISABLE_AUTOUPDATE",
                    "OPENCODE_DISABLE_MODELS_FETCH",
                    "OPENCODE_DISABLE_SHARE",
                ] {
                    spec.env.insert(flag.into(), "1".into());
                }
            }
            _ => return false,
        }
        true
    }
}

/// The provider id opencode knows boocode's model server by.
pub const OPENCODE_PROVIDER: &str = "boocode";

impl ModelServer {
    /// opencode's config: one OpenAI-compatible provider (bundled `@ai-sdk/openai-compatible`, so
    /// nothing is downloaded) listing `models` with their context windows, the default model as both
    /// `model` and `small_model` (so opencode's title call never swaps the loaded model), and edits and
    /// commands that ask first.
    pub fn opencode_config(&self, models: &[(String, Option<u64>)]) -> serde_json::Value {
        let key = self.api_key.clone().unwrap_or_else(|| "local".into());
        let model = format!("{OPENCODE_PROVIDER}/{}", self.model);
        let listed: serde_json::Map<String, serde_json::Value> = models
            .iter()
            .map(|(id, context)| {
                let context = context.unwrap_or(32768);
                let entry = serde_json::json!({"name": id, "tool_call": true, "reasoning": true,
                    "limit": {"context": context, "output": 8192.min(context / 2).max(1)}});
                (id.clone(), entry)
            })
            .collect();
        serde_json::json!({
            "$schema": "https://opencode.ai/config.json",
            "autoupdate": false, "share": "disabled",
            "model": model, "small_model": model,
            "provider": {OPENCODE_PROVIDER: {
                "npm": "@ai-sdk/openai-compatible", "name": "boocode model server",
                "options": {"baseURL": self.url, "apiKey": key, "includeUsage": true},
                "models": listed}},
            "permission": {"edit": "ask", "bash": "ask", "webfetch": "deny"},
        })
    }
}

/// `<data dir>/providers.json`.
pub fn providers_path(data_dir: &Path) -> PathBuf {
    data_dir.join("providers.json")
}

/// Finds `command` on `PATH` (or checks it, when it names a path).
pub fn which(command: &str) -> Option<PathBuf> {
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt as _;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if command.contains('/') {
        let p = PathBuf::from(command);
        return executable(&p).then_some(p);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(command))
        .find(|p| executable(p))
}

/// Reads and validates `providers.json`; a missing file is empty.
pub fn read_file(path: &Path) -> Result<ProvidersFile, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            serde_json::from_str(&text).map_err(|e| format!("{} is invalid: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ProvidersFile::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Reads `providers.json` entry by entry: what is valid loads; each invalid entry is skipped and named
/// with its first bad field in the returned error.
pub fn read_file_lenient(path: &Path) -> (ProvidersFile, Option<String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (ProvidersFile::default(), None);
        }
        Err(e) => {
            return (
                ProvidersFile::default(),
                Some(format!("cannot read {}: {e}", path.display())),
            );
        }
    };
    if let Ok(file) = serde_json::from_str::<ProvidersFile>(&text) {
        return (file, None);
    }
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            return (
                ProvidersFile::default(),
                Some(format!("{} is invalid: {e}", path.display())),
            );
        }
    };
    let Some(entries) = value
        .get("providers")
        .and_then(serde_json::Value::as_object)
    else {
        return (
            ProvidersFile::default(),
            Some(format!(
                "{} is invalid: expected {{\"providers\": {{…}}}}",
                path.display()
            )),
        );
    };
    let mut file = ProvidersFile::default();
    let mut problems = Vec::new();
    for (id, entry) in entries {
        match serde_json::from_value::<ProviderOverride>(entry.clone()) {
            Ok(o) => {
                file.providers.insert(id.clone(), o);
            }
            Err(e) => problems.push(format!(
                "provider {id:?} skipped: {}",
                field_error(entry, &e)
            )),
        }
    }
    (
        file,
        Some(format!("{}: {}", path.display(), problems.join("; "))),
    )
}

/// The first field of a provider entry that does not parse, with why.
fn field_error(entry: &serde_json::Value, whole: &serde_json::Error) -> String {
    if let Some(fields) = entry.as_object() {
        for (key, value) in fields {
            let one = serde_json::json!({ key: value });
            if let Err(e) = serde_json::from_value::<ProviderOverride>(one) {
                return format!("field {key:?}: {e}");
            }
        }
    }
    whole.to_string()
}

impl ProviderRegistry {
    /// Built-ins with `file`'s overrides applied, wired to `server` where they can use it.
    pub fn resolve_with(
        file: &ProvidersFile,
        file_error: Option<String>,
        server: Option<&ModelServer>,
    ) -> Self {
        let mut reg = Self::resolve(file, file_error);
        if let Some(server) = server {
            for p in &mut reg.providers {
                let overridden = file.providers.get(&p.id).is_some_and(|o| o.env.is_some());
                if let Some(spec) = p.kind.spec_mut() {
                    p.wired = server.wire(&p.id, spec, overridden);
                }
            }
        }
        reg
    }

    /// Built-ins with `file`'s overrides applied.
    pub fn resolve(file: &ProvidersFile, file_error: Option<String>) -> Self {
        let mut providers = vec![Provider {
            id: "native".into(),
            label: "boocode native".into(),
            kind: ProviderKind::Native,
            enabled: true,
            install_path: None,
            wired: false,
        }];
        for b in BUILTINS {
            let o = file.providers.get(b.id).cloned().unwrap_or_default();
            let spec = AgentSpec {
                id: b.id.into(),
                label: o.label.clone().unwrap_or_else(|| b.label.into()),
                command: o.command.clone().unwrap_or_else(|| b.command.into()),
                args: o
                    .args
                    .clone()
                    .unwrap_or_else(|| b.args.iter().map(|a| (*a).to_owned()).collect()),
                env: o.env.clone().unwrap_or_default(),
                install_hint: Some(b.hint.into()),
                home_files: Vec::new(),
                home: o.home.unwrap_or_else(|| default_home(b.id)),
                user_home: None,
            };
            let install_path = which(&spec.command);
            // Built-ins are on when installed, unless the file says otherwise.
            let enabled = o.enabled.unwrap_or(install_path.is_some());
            providers.push(Provider {
                id: b.id.into(),
                label: spec.label.clone(),
                kind: ProviderKind::external(spec, o.backend.as_deref(), b.backend),
                enabled,
                install_path,
                wired: false,
            });
        }
        if let Some(o) = file.providers.get("native") {
            providers[0].enabled = o.enabled.unwrap_or(true);
        }
        for (id, o) in &file.providers {
            if providers.iter().any(|p| &p.id == id) {
                continue;
            }
            let Some(command) = o.command.clone() else {
                tracing::warn!(provider = %id, "custom provider without a command ignored");
                continue;
            };
            let spec = AgentSpec {
                id: id.clone(),
                label: o.label.clone().unwrap_or_else(|| id.clone()),
                command,
                args: o.args.clone().unwrap_or_default(),
                env: o.env.clone().unwrap_or_default(),
                install_hint: None,
                home_files: Vec::new(),
                home: o.home.unwrap_or(boocode_protocol::AgentHome::User),
                user_home: None,
            };
            let install_path = which(&spec.command);
            providers.push(Provider {
                id: id.clone(),
                label: spec.label.clone(),
                kind: ProviderKind::external(spec, o.backend.as_deref(), "acp"),
                enabled: o.enabled.unwrap_or(true),
                install_path,
                wired: false,
            });
        }
        Self {
            providers,
            file_error,
        }
    }

    /// Gives every agent that runs in the user's home that directory (without one, they fall back to
    /// their private home).
    pub fn with_user_home(mut self, home: Option<&Path>) -> Self {
        for p in &mut self.providers {
            if let Some(spec) = p.kind.spec_mut() {
                spec.user_home = home.map(Path::to_path_buf);
            }
        }
        self
    }

    /// Loads `<data dir>/providers.json`: a provider entry with a bad field is left out and reported
    /// (naming the provider and field), the rest still loads; an unreadable file leaves the built-ins.
    pub fn load(data_dir: &Path, server: Option<&ModelServer>) -> Self {
        let (file, error) = read_file_lenient(&providers_path(data_dir));
        if let Some(e) = &error {
            tracing::warn!(error = %e, "providers.json partly ignored");
        }
        Self::resolve_with(&file, error, server)
    }
}

/// Tier-1 probe: `<command> --version`, first line, within 5 s.
pub async fn probe_version(command: &Path) -> Result<String, String> {
    let run = tokio::process::Command::new(command)
        .arg("--version")
        .env_clear()
        .envs(std::env::var("PATH").ok().map(|p| ("PATH", p)))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(5), run).await {
        Ok(Ok(out)) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            Ok(text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default()
                .trim()
                .to_owned())
        }
        Ok(Ok(out)) => Err(format!("--version exited with {}", out.status)),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("--version did not answer within 5 s".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_wholesale_and_customs_are_acp() {
        let file: ProvidersFile = serde_json::from_str(
            r#"{"providers": {
                "qwen": {"enabled": true, "command": "/opt/qwen/bin/qwen"},
                "mine": {"command": "sh", "args": ["-c", "exit 0"], "env": {"K": "V"}, "label": "Mine"},
                "broken": {"label": "no command"},
                "native": {"enabled": false}
            }}"#,
        )
        .unwrap();
        let reg = ProviderRegistry::resolve(&file, None);
        let get = |id: &str| reg.providers.iter().find(|p| p.id == id).cloned();
        let qwen = get("qwen").unwrap();
        assert!(qwen.enabled, "explicitly enabled even though not installed");
        assert!(!qwen.installed());
        match &qwen.kind {
            ProviderKind::Acp(spec) => {
                assert_eq!(spec.command, "/opt/qwen/bin/qwen");
                assert_eq!(
                    spec.args,
                    vec!["--acp".to_owned()],
                    "unset fields keep the built-in's"
                );
            }
            other => panic!("qwen is ACP: {other:?}"),
        }
        let mine = get("mine").unwrap();
        assert!(mine.enabled && mine.installed());
        assert_eq!(mine.label, "Mine");
        assert!(get("broken").is_none());
        assert!(!get("native").unwrap().enabled);
        assert!(
            !get("gemini").unwrap().enabled || which("gemini").is_some(),
            "built-ins are on only when installed"
        );
    }

    #[test]
    fn broken_file_keeps_builtins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(providers_path(dir.path()), "{not json").unwrap();
        let reg = ProviderRegistry::load(dir.path(), None);
        assert!(reg.file_error.as_deref().unwrap().contains("invalid"));
        assert_eq!(reg.providers.len(), 1 + BUILTINS.len());
        std::fs::write(
            providers_path(dir.path()),
            r#"{"providers": {"x": {"commnd": "typo"}}}"#,
        )
        .unwrap();
        assert!(
            ProviderRegistry::load(dir.path(), None)
                .file_error
                .unwrap()
                .contains("commnd")
        );
    }

    #[test]
    fn boocode_wires_agents_unless_their_environment_is_the_users() {
        let server = ModelServer {
            url: "http://127.0.0.1:8080/v1".into(),
            api_key: None,
            model: "m".into(),
        };
        let file: ProvidersFile = serde_json::from_str(
            r#"{"providers": {"qwen": {"env": {"OPENAI_BASE_URL": "http://elsewhere/v1"}}}}"#,
        )
        .unwrap();
        let reg = ProviderRegistry::resolve_with(&file, None, Some(&server));
        let get = |id: &str| reg.providers.iter().find(|p| p.id == id).unwrap();
        let opencode = get("opencode");
        assert!(opencode.wired);
        assert_eq!(opencode.kind.backend_name(), "opencode_server");
        assert!(opencode.kind.spec().unwrap().env["OPENCODE_CONFIG_CONTENT"].contains("boocode/m"));
        assert!(!get("qwen").wired, "the user's environment wins");
        assert!(!get("gemini").wired && !get("native").wired);
    }
}
