//! The provider hub: the registry resolved from built-ins and `providers.json`, one backend per enabled
//! provider (kept across config changes when its launch spec is unchanged, so warm agents survive), tier-1
//! probes cached for 24 h, and the snapshot and config endpoints' logic.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use boocode_agents::acp::AcpBackend;
use boocode_agents::acp::probe::{ProbeReport, probe};
use boocode_agents::opencode::{OpencodeBackend, OpencodeOptions};
use boocode_agents::providers::{
    ModelServer, ProviderKind, ProviderRegistry, probe_version, providers_path, read_file,
};
use boocode_agents::{AgentBackend, AgentPool};
use boocode_protocol::{PatchProvidersRequest, ProviderInfo, ProvidersFile, ProvidersSnapshot};
use chrono::{DateTime, Utc};

use crate::error::ApiError;
use crate::models::ModelCatalog;

const PROBE_TTL: Duration = Duration::from_secs(24 * 3600);

/// When probed, and what tier 1 (`--version`) and tier 2 (initialize + session/new) found.
type Probe = (
    Instant,
    DateTime<Utc>,
    Result<String, String>,
    Option<Result<ProbeReport, String>>,
);
/// A backend with the launch spec it was made from.
type Backed = (ProviderKind, Arc<dyn AgentBackend>);

/// The opencode server backend's time limits (`boocode.toml`).
#[derive(Debug, Clone, Copy)]
pub struct OpencodeTimes {
    /// A turn with no event for this long is stopped.
    pub inactivity: Duration,
    /// How long `opencode serve` may take to print its ready line.
    pub ready: Duration,
}

/// Which agents a snapshot probes (a deep probe starts the agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeMode {
    /// None: report the last probes (what a GET may do).
    Cached,
    /// Those never probed or probed longer ago than the probe TTL.
    Stale,
    /// Every one.
    All,
}

/// Registry, backends and probes; cheap to clone.
#[derive(Clone)]
pub struct ProviderHub {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    idle: Duration,
    opencode: OpencodeTimes,
    native: Arc<dyn AgentBackend>,
    memory: Arc<dyn boocode_agents::acp::SessionMemory>,
    server: Option<ModelServer>,
    /// The user's home, for agents that run in it.
    user_home: Option<PathBuf>,
    registry: Mutex<ProviderRegistry>,
    backends: Mutex<HashMap<String, Backed>>,
    probes: tokio::sync::Mutex<HashMap<String, Probe>>,
    write_lock: tokio::sync::Mutex<()>,
}

impl ProviderHub {
    /// Loads `providers.json` (a broken file keeps the built-ins) and creates the backends.
    pub fn new(
        data_dir: PathBuf,
        idle: Duration,
        opencode: OpencodeTimes,
        native: Arc<dyn AgentBackend>,
        memory: Arc<dyn boocode_agents::acp::SessionMemory>,
        server: Option<ModelServer>,
        user_home: Option<PathBuf>,
    ) -> Self {
        let registry =
            ProviderRegistry::load(&data_dir, server.as_ref()).with_user_home(user_home.as_deref());
        Self {
            inner: Arc::new(Inner {
                data_dir,
                idle,
                opencode,
                native,
                memory,
                server,
                user_home,
                registry: Mutex::new(registry),
                backends: Mutex::default(),
                probes: tokio::sync::Mutex::default(),
                write_lock: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn registry(&self) -> ProviderRegistry {
        match self.inner.registry.lock() {
            Ok(r) => r.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    /// The opencode server backend's options: the model server's models are listed into opencode's
    /// config at each server start when boocode wired it (the user's `providers.json` did not set its
    /// environment).
    fn opencode_options(&self, wired: bool) -> OpencodeOptions {
        let server = self.inner.server.clone();
        OpencodeOptions {
            inactivity: self.inner.opencode.inactivity,
            ready_timeout: self.inner.opencode.ready,
            default_model: server.as_ref().map(|s| s.model.clone()),
            model_server: server.filter(|_| wired),
            ..OpencodeOptions::default()
        }
    }

    /// A pool for the current registry, reusing backends whose launch spec did not change. Backends no
    /// longer in use are disposed in the background.
    pub fn build_pool(&self, extra_disabled: &[String]) -> AgentPool {
        let registry = self.registry();
        let mut pool = AgentPool::new();
        let mut backends = match self.inner.backends.lock() {
            Ok(b) => b,
            Err(e) => e.into_inner(),
        };
        let mut fresh: HashMap<String, Backed> = HashMap::new();
        for provider in &registry.providers {
            let backend = match backends.remove(&provider.id) {
                Some((kind, backend)) if kind == provider.kind => backend,
                old => {
                    if let Some((_, stale)) = old {
                        tokio::spawn(async move { stale.dispose().await });
                    }
                    match &provider.kind {
                        ProviderKind::Native => self.inner.native.clone(),
                        ProviderKind::Acp(spec) => AcpBackend::new(
                            spec.clone(),
                            self.inner.data_dir.clone(),
                            self.inner.idle,
                            Some(self.inner.memory.clone()),
                        )
                            as Arc<dyn AgentBackend>,
                        ProviderKind::OpencodeServer(spec) => OpencodeBackend::new(
                            spec.clone(),
                            self.inner.data_dir.clone(),
                            self.opencode_options(provider.wired),
                            Some(self.inner.memory.clone()),
                        )
                            as Arc<dyn AgentBackend>,
                    }
                }
            };
            pool.register(&provider.id, backend.clone());
            // One that cannot start here says why (and what to do) before being merely disabled.
            if !provider.installed()
                && let Some(spec) = provider.kind.spec()
            {
                pool.unavailable(
                    &provider.id,
                    boocode_agents::acp::process::SpawnError::NotInstalled {
                        label: spec.label.clone(),
                        command: spec.command.clone(),
                        hint: spec.install_hint.clone(),
                    }
                    .to_string(),
                );
            } else if !provider.enabled || extra_disabled.contains(&provider.id) {
                pool.disable(&provider.id);
            }
            fresh.insert(provider.id.clone(), (provider.kind.clone(), backend));
        }
        for (_, (_, stale)) in backends.drain() {
            tokio::spawn(async move { stale.dispose().await });
        }
        *backends = fresh;
        pool
    }

    fn backends(&self) -> Vec<Arc<dyn AgentBackend>> {
        self.inner
            .backends
            .lock()
            .map(|b| b.values().map(|(_, x)| x.clone()).collect())
            .unwrap_or_default()
    }

    /// Ends the warm agents of a deleted session.
    pub async fn close_session(&self, session: &str) {
        for backend in self.backends() {
            backend.close_session(session).await;
        }
    }

    /// Ends every agent process (shutdown).
    pub async fn dispose(&self) {
        for backend in self.backends() {
            backend.dispose().await;
        }
    }

    /// `GET /api/providers/snapshot`; `force` re-runs the probes.
    pub async fn snapshot(&self, mode: ProbeMode, catalog: &ModelCatalog) -> ProvidersSnapshot {
        let registry = self.registry();
        let native_models: Vec<String> = catalog
            .list()
            .await
            .map(|m| m.into_iter().map(|m| m.id).collect())
            .unwrap_or_default();
        let mut probes = self.inner.probes.lock().await;
        let mut out = Vec::new();
        for p in &registry.providers {
            let backend = p.kind.backend_name();
            let command = match &p.kind {
                ProviderKind::Native => None,
                ProviderKind::Acp(spec) => Some(
                    format!("{} {}", spec.command, spec.args.join(" "))
                        .trim()
                        .to_owned(),
                ),
                ProviderKind::OpencodeServer(spec) => Some(format!("{} serve", spec.command)),
            };
            let mut info = ProviderInfo {
                id: p.id.clone(),
                label: p.label.clone(),
                backend: backend.into(),
                enabled: p.enabled,
                installed: p.installed(),
                command,
                install_path: p.install_path.as_ref().map(|x| x.display().to_string()),
                version: None,
                // opencode's server is configured with the model server's models.
                models: if matches!(
                    p.kind,
                    ProviderKind::Native | ProviderKind::OpencodeServer(_)
                ) {
                    native_models.clone()
                } else {
                    Vec::new()
                },
                modes: Vec::new(),
                thinking: Vec::new(),
                commands: Vec::new(),
                error: None,
                last_probed_at: None,
                home: p.kind.spec().map(|spec| spec.home),
                home_dir: p
                    .kind
                    .spec()
                    .map(|spec| spec.home_dir(&self.inner.data_dir).0.display().to_string()),
                args: p
                    .kind
                    .spec()
                    .map(|spec| spec.args.clone())
                    .unwrap_or_default(),
                env: p
                    .kind
                    .spec()
                    .map(|spec| masked(&spec.env))
                    .unwrap_or_default(),
            };
            if let Some(path) = &p.install_path {
                let stale = probes
                    .get(&p.id)
                    .is_none_or(|(at, ..)| at.elapsed() > PROBE_TTL);
                let run = match mode {
                    ProbeMode::Cached => false,
                    ProbeMode::Stale => stale,
                    ProbeMode::All => true,
                };
                if run {
                    let version = probe_version(path).await;
                    // Tier 2 starts the agent: only for enabled ACP agents.
                    let deep = match &p.kind {
                        ProviderKind::Acp(spec) if p.enabled => {
                            Some(probe(spec, &self.inner.data_dir).await)
                        }
                        _ => None,
                    };
                    probes.insert(p.id.clone(), (Instant::now(), Utc::now(), version, deep));
                }
                if let Some((_, at, version, deep)) = probes.get(&p.id) {
                    info.last_probed_at = Some(*at);
                    match version {
                        Ok(v) => info.version = Some(v.clone()).filter(|v| !v.is_empty()),
                        Err(e) => info.error = Some(format!("--version failed: {e}")),
                    }
                    match deep {
                        Some(Ok(report)) => {
                            info.models = report.models.clone();
                            info.modes = report.modes.clone();
                            info.thinking = report.thinking.clone();
                            info.commands = report.commands.clone();
                        }
                        Some(Err(e)) => info.error = Some(e.clone()),
                        None => {}
                    }
                }
            } else if let Some(spec) = p.kind.spec() {
                info.error = Some(format!(
                    "not installed (`{}` not found){}",
                    spec.command,
                    spec.install_hint
                        .as_ref()
                        .map(|h| format!("; {h}"))
                        .unwrap_or_default()
                ));
            }
            out.push(info);
        }
        ProvidersSnapshot {
            providers: out,
            config_error: registry.file_error,
        }
    }

    /// `GET /api/providers/config`: the overrides as stored.
    pub fn config(&self) -> Result<ProvidersFile, ApiError> {
        read_file(&providers_path(&self.inner.data_dir)).map_err(ApiError::conflict)
    }

    /// `PATCH /api/providers/config`: replaces each named override, writes the file atomically and
    /// reloads the registry. A broken file on disk is replaced by the patched overrides.
    pub async fn patch(&self, patch: PatchProvidersRequest) -> Result<ProvidersFile, ApiError> {
        let _held = self.inner.write_lock.lock().await;
        let path = providers_path(&self.inner.data_dir);
        let mut file = read_file(&path).unwrap_or_default();
        for (id, entry) in patch.providers {
            if id.trim().is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ApiError::bad_request(format!(
                    "provider id {id:?} must be letters, digits, - or _"
                )));
            }
            match entry {
                Some(o) => {
                    let builtin = ProviderRegistry::resolve(&ProvidersFile::default(), None)
                        .providers
                        .iter()
                        .any(|p| p.id == id);
                    if !builtin && o.command.as_deref().is_none_or(|c| c.trim().is_empty()) {
                        return Err(ApiError::bad_request(format!(
                            "custom provider {id:?} needs a command"
                        )));
                    }
                    if let Some(b) = &o.backend
                        && !matches!(b.as_str(), "acp" | "opencode_server")
                    {
                        return Err(ApiError::bad_request(format!(
                            "backend {b:?} is not acp or opencode_server"
                        )));
                    }
                    file.providers.insert(id, o);
                }
                None => {
                    file.providers.remove(&id);
                }
            }
        }
        let text =
            serde_json::to_string_pretty(&file).map_err(|e| ApiError::internal(e.to_string()))?;
        std::fs::create_dir_all(&self.inner.data_dir)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| ApiError::internal(format!("writing {}: {e}", path.display())))?;
        let reloaded = ProviderRegistry::resolve_with(&file, None, self.inner.server.as_ref())
            .with_user_home(self.inner.user_home.as_deref());
        if let Ok(mut registry) = self.inner.registry.lock() {
            *registry = reloaded;
        }
        Ok(file)
    }
}

/// Provider variables as the settings page shows them: values of names that look secret are masked.
fn masked(
    env: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    env.iter()
        .map(|(k, v)| {
            let upper = k.to_ascii_uppercase();
            // `OPENCODE_CONFIG_CONTENT` carries the model server's key inside its JSON.
            let secret = [
                "KEY",
                "TOKEN",
                "SECRET",
                "PASSWORD",
                "PASS",
                "AUTH",
                "CREDENTIAL",
                "CONFIG_CONTENT",
            ]
            .iter()
            .any(|w| upper.contains(w));
            (
                k.clone(),
                if secret && !v.is_empty() {
                    "••••••".to_owned()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn secret_looking_values_are_masked() {
        let env: std::collections::BTreeMap<String, String> = [
            ("OPENAI_API_KEY", "sk-1"),
            ("OPENCODE_CONFIG_CONTENT", "{\"apiKey\":\"sk-2\"}"),
            ("MODE", "fast"),
            ("EMPTY_TOKEN", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let shown = super::masked(&env);
        assert!(!format!("{shown:?}").contains("sk-"));
        assert_eq!(shown["MODE"], "fast");
        assert_eq!(shown["EMPTY_TOKEN"], "", "nothing to hide");
    }
}
