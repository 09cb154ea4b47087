//! One typed `Config`, resolved once: defaults → `boocode.toml` in the data dir → environment → flags
//! (docs/ARCHITECTURE.md §4). Unknown keys in the file are an error, never silently ignored.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Values given on the command line or in `BOOCODE_*` variables (clap merges those two).
#[derive(Clone, Default)]
pub struct ConfigOverrides {
    pub host: Option<IpAddr>,
    pub port: Option<u16>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub llm_url: Option<String>,
    pub llm_api_key: Option<String>,
    pub default_model: Option<String>,
    pub token: Option<String>,
    pub allowed_hosts: Vec<String>,
    pub insecure_no_auth: bool,
    /// Extra skill folders (`BOOCODE_SKILLS_DIR`, colon-separated).
    pub skills_dirs: Vec<PathBuf>,
}

/// How a secret shows in `Debug` output: whether it is set, never its value.
fn redacted(secret: &Option<String>) -> &'static str {
    if secret.is_some() {
        "<redacted>"
    } else {
        "None"
    }
}

impl std::fmt::Debug for ConfigOverrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigOverrides")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("llm_url", &self.llm_url)
            .field("llm_api_key", &redacted(&self.llm_api_key))
            .field("default_model", &self.default_model)
            .field("token", &redacted(&self.token))
            .field("allowed_hosts", &self.allowed_hosts)
            .field("insecure_no_auth", &self.insecure_no_auth)
            .field("skills_dirs", &self.skills_dirs)
            .finish()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("llm_url", &self.llm_url)
            .field("llm_api_key", &redacted(&self.llm_api_key))
            .field("default_model", &self.default_model)
            .field("token", &redacted(&self.token))
            .field("allowed_hosts", &self.allowed_hosts)
            .field("insecure_no_auth", &self.insecure_no_auth)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_parallel_tasks", &self.max_parallel_tasks)
            .field("max_tool_steps", &self.max_tool_steps)
            .field("disabled_agents", &self.disabled_agents)
            .field("permission_timeout_secs", &self.permission_timeout_secs)
            .field("agent_idle_secs", &self.agent_idle_secs)
            .field("opencode_inactivity_secs", &self.opencode_inactivity_secs)
            .field("opencode_ready_secs", &self.opencode_ready_secs)
            .field("scheduling", &self.scheduling)
            .field("shell", &self.shell)
            .field("skills_dirs", &self.skills_dirs)
            .field("mcp_bridge", &self.mcp_bridge)
            .field("agent_user_home", &self.agent_user_home)
            .finish()
    }
}

/// A database URL without its password (`postgres://user:secret@host/db` → `postgres://user:***@host/db`).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// `boocode.toml`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    host: Option<IpAddr>,
    port: Option<u16>,
    database_url: Option<String>,
    llm_url: Option<String>,
    llm_api_key: Option<String>,
    default_model: Option<String>,
    allowed_hosts: Option<Vec<String>>,
    max_body_bytes: Option<usize>,
    max_parallel_tasks: Option<usize>,
    max_tool_steps: Option<usize>,
    disabled_agents: Option<Vec<String>>,
    permission_timeout_secs: Option<u64>,
    agent_idle_secs: Option<u64>,
    opencode_inactivity_secs: Option<u64>,
    opencode_ready_secs: Option<u64>,
    model_affinity: Option<bool>,
    max_model_wait_secs: Option<u64>,
    max_tasks_per_model: Option<usize>,
    max_task_attempts: Option<u32>,
    worker_silence_secs: Option<u64>,
    shell: Option<String>,
}

/// The resolved configuration the server runs with. Its `Debug` never shows the token or the model
/// server's key.
#[derive(Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub llm_url: String,
    pub llm_api_key: Option<String>,
    pub default_model: Option<String>,
    /// Required off loopback; optional on loopback (protects a shared machine).
    pub token: Option<String>,
    /// Extra `Host` names accepted besides localhost, 127.0.0.1 and [::1].
    pub allowed_hosts: Vec<String>,
    pub insecure_no_auth: bool,
    pub max_body_bytes: usize,
    /// Sessions whose tasks run at the same time (one GPU rarely wants many).
    pub max_parallel_tasks: usize,
    /// Model round trips ending in tool calls per native coding turn.
    pub max_tool_steps: usize,
    /// Agents known but refused.
    pub disabled_agents: Vec<String>,
    /// How long an agent's permission request waits for an answer before it is denied.
    pub permission_timeout_secs: u64,
    /// How long a warm agent process may sit idle before it is stopped.
    pub agent_idle_secs: u64,
    /// How long an opencode turn may go without an event before it is stopped.
    pub opencode_inactivity_secs: u64,
    /// How long `opencode serve` may take to say it is ready.
    pub opencode_ready_secs: u64,
    /// How the queue is ordered (model affinity, its age bound, per-model cap).
    pub scheduling: crate::dispatcher::Scheduling,
    /// The shell BooTerm starts; `None` means the user's `$SHELL`.
    pub shell: Option<String>,
    /// Skill folders besides `<data dir>/skills`.
    pub skills_dirs: Vec<PathBuf>,
    /// The `boocode` executable that agents without MCP over HTTP run as `boocode mcp` (the stdio
    /// bridge). The CLI sets it to itself; `None` offers such agents no MCP server.
    pub mcp_bridge: Option<PathBuf>,
    /// The user's home, for agents that run in it (`"home": "user"`); `$HOME` by default.
    pub agent_user_home: Option<PathBuf>,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "refusing to listen on {0} without a token: set BOOCODE_TOKEN, or pass --insecure-no-auth \
         if the network is trusted"
    )]
    TokenRequired(IpAddr),
    #[error("no data directory: set --data-dir, BOOCODE_DATA_DIR or HOME")]
    NoDataDir,
}

impl Config {
    /// Resolves the configuration from overrides, the data dir's `boocode.toml` and defaults.
    pub fn resolve(o: ConfigOverrides) -> Result<Self, ConfigError> {
        let data_dir = match o.data_dir {
            Some(d) => d,
            None => default_data_dir().ok_or(ConfigError::NoDataDir)?,
        };
        let file = read_file(&data_dir.join("boocode.toml"))?;
        let config = Self {
            host: o.host.or(file.host).unwrap_or(IpAddr::from([127, 0, 0, 1])),
            port: o.port.or(file.port).unwrap_or(9500),
            database_url: o
                .database_url
                .or(file.database_url)
                .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("boocode.db").display())),
            llm_url: o
                .llm_url
                .or(file.llm_url)
                .unwrap_or_else(|| "http://127.0.0.1:8080/v1".into()),
            llm_api_key: o.llm_api_key.or(file.llm_api_key),
            default_model: o.default_model.or(file.default_model),
            token: o.token.filter(|t| !t.is_empty()),
            allowed_hosts: if o.allowed_hosts.is_empty() {
                file.allowed_hosts.unwrap_or_default()
            } else {
                o.allowed_hosts
            },
            insecure_no_auth: o.insecure_no_auth,
            max_body_bytes: file.max_body_bytes.unwrap_or(4 * 1024 * 1024),
            max_parallel_tasks: file.max_parallel_tasks.unwrap_or(4).max(1),
            max_tool_steps: file.max_tool_steps.unwrap_or(25),
            disabled_agents: file.disabled_agents.unwrap_or_default(),
            permission_timeout_secs: file.permission_timeout_secs.unwrap_or(300),
            agent_idle_secs: file.agent_idle_secs.unwrap_or(600),
            opencode_inactivity_secs: file.opencode_inactivity_secs.unwrap_or(180).max(1),
            opencode_ready_secs: file.opencode_ready_secs.unwrap_or(30).max(1),
            scheduling: crate::dispatcher::Scheduling {
                model_affinity: file.model_affinity.unwrap_or(true),
                max_wait: std::time::Duration::from_secs(file.max_model_wait_secs.unwrap_or(120)),
                per_model_cap: file.max_tasks_per_model.filter(|n| *n > 0),
                max_attempts: file
                    .max_task_attempts
                    .unwrap_or(crate::dispatcher::DEFAULT_MAX_ATTEMPTS)
                    .max(1),
                worker_silence: std::time::Duration::from_secs(
                    file.worker_silence_secs
                        .unwrap_or(crate::dispatcher::DEFAULT_WORKER_SILENCE_SECS)
                        .max(3),
                ),
            },
            shell: file.shell,
            skills_dirs: o.skills_dirs,
            mcp_bridge: None,
            agent_user_home: std::env::var_os("HOME").map(PathBuf::from),
            data_dir,
        };
        config.validate()?;
        Ok(config)
    }

    /// A loopback configuration for tests and embedding: everything in `data_dir`.
    pub fn for_data_dir(data_dir: &Path, llm_url: &str) -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            data_dir: data_dir.to_owned(),
            database_url: format!("sqlite://{}", data_dir.join("boocode.db").display()),
            llm_url: llm_url.to_owned(),
            llm_api_key: None,
            default_model: None,
            token: None,
            allowed_hosts: Vec::new(),
            insecure_no_auth: false,
            max_body_bytes: 4 * 1024 * 1024,
            max_parallel_tasks: 4,
            max_tool_steps: 25,
            disabled_agents: Vec::new(),
            permission_timeout_secs: 300,
            agent_idle_secs: 600,
            opencode_inactivity_secs: 180,
            opencode_ready_secs: 30,
            scheduling: crate::dispatcher::Scheduling::default(),
            shell: None,
            skills_dirs: Vec::new(),
            mcp_bridge: None,
            agent_user_home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }

    /// Refuses an unprotected non-loopback bind.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.host.is_loopback() && self.token.is_none() && !self.insecure_no_auth {
            return Err(ConfigError::TokenRequired(self.host));
        }
        Ok(())
    }
}

fn default_data_dir() -> Option<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(xdg).join("boocode"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/boocode"))
}

fn read_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(e) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                message: e.to_string(),
            });
        }
    };
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_flags_over_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("boocode.toml"),
            "port = 7000\nllm_url = \"http://file/v1\"\ndefault_model = \"from-file\"\n",
        )
        .unwrap();
        let o = ConfigOverrides {
            data_dir: Some(dir.path().into()),
            llm_url: Some("http://flag/v1".into()),
            ..Default::default()
        };
        let c = Config::resolve(o).unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.llm_url, "http://flag/v1");
        assert_eq!(c.default_model.as_deref(), Some("from-file"));
        assert!(c.database_url.ends_with("boocode.db"));
        assert!(c.host.is_loopback());
    }

    #[test]
    fn unknown_keys_and_open_binds_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("boocode.toml"), "prot = 1\n").unwrap();
        let o = ConfigOverrides {
            data_dir: Some(dir.path().into()),
            ..Default::default()
        };
        assert!(matches!(Config::resolve(o), Err(ConfigError::Parse { .. })));
        std::fs::remove_file(dir.path().join("boocode.toml")).unwrap();
        let open = ConfigOverrides {
            data_dir: Some(dir.path().into()),
            host: Some("0.0.0.0".parse().unwrap()),
            ..Default::default()
        };
        assert!(matches!(
            Config::resolve(open.clone()),
            Err(ConfigError::TokenRequired(_))
        ));
        let with_token = ConfigOverrides {
            token: Some("s3cret".into()),
            ..open.clone()
        };
        assert!(Config::resolve(with_token).is_ok());
        let insecure = ConfigOverrides {
            insecure_no_auth: true,
            ..open
        };
        assert!(Config::resolve(insecure).is_ok());
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let mut config = Config::for_data_dir(Path::new("/tmp/d"), "http://127.0.0.1:1/v1");
        config.token = Some("tok-XYZZY".into());
        config.llm_api_key = Some("key-PLUGH".into());
        config.database_url = "postgres://boo:pw-FROB@db/boo".into();
        let shown = format!("{config:?}");
        for secret in ["XYZZY", "PLUGH", "FROB"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("<redacted>") && shown.contains("postgres://boo:***@db/boo"));
        let overrides = ConfigOverrides {
            token: Some("tok-XYZZY".into()),
            ..Default::default()
        };
        assert!(!format!("{overrides:?}").contains("XYZZY"));
    }
}
