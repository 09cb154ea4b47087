//! The agent pool: every backend a task can name, with which are enabled. The dispatcher and the tasks
//! API resolve agent names here, so an unknown or disabled agent is refused before anything is queued.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::backend::AgentBackend;

/// Why an agent name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("unknown agent {0:?} (available: {1})")]
    Unknown(String, String),
    #[error("agent {0:?} is disabled")]
    Disabled(String),
    /// Known and enabled, but it cannot start here (not installed, say): the reason and what to do.
    #[error("agent {0:?} is unavailable: {1}")]
    Unavailable(String, String),
}

/// Named backends.
#[derive(Clone, Default)]
pub struct AgentPool {
    backends: BTreeMap<String, Arc<dyn AgentBackend>>,
    disabled: BTreeSet<String>,
    unavailable: BTreeMap<String, String>,
}

impl AgentPool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a backend under `name`.
    pub fn register(&mut self, name: &str, backend: Arc<dyn AgentBackend>) {
        self.backends.insert(name.to_owned(), backend);
    }

    /// Keeps `name` known but refuses it.
    pub fn disable(&mut self, name: &str) {
        self.disabled.insert(name.to_owned());
    }

    /// Keeps `name` known but refuses it with `why` (it cannot start here).
    pub fn unavailable(&mut self, name: &str, why: impl Into<String>) {
        self.unavailable.insert(name.to_owned(), why.into());
    }

    /// The backend for `name`, if known and enabled.
    pub fn resolve(&self, name: &str) -> Result<Arc<dyn AgentBackend>, PoolError> {
        if let Some(why) = self.unavailable.get(name) {
            return Err(PoolError::Unavailable(name.to_owned(), why.clone()));
        }
        if self.disabled.contains(name) {
            return Err(PoolError::Disabled(name.to_owned()));
        }
        self.backends.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.enabled().collect();
            PoolError::Unknown(name.to_owned(), known.join(", "))
        })
    }

    /// Names of enabled backends.
    pub fn enabled(&self) -> impl Iterator<Item = &str> {
        self.backends
            .keys()
            .map(String::as_str)
            .filter(|n| !self.disabled.contains(*n) && !self.unavailable.contains_key(*n))
    }

    /// How many backends are enabled.
    pub fn len(&self) -> usize {
        self.enabled().count()
    }

    /// Whether no backend is enabled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
