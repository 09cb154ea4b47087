//! The model server's models, cached briefly so chat turns and `GET /api/models` do not hammer it, with the
//! context window from the best source available (docs/ARCHITECTURE.md §15).

use std::sync::Arc;
use std::time::{Duration, Instant};

use boocode_llm::{LlmClient, LlmError};
use boocode_protocol::ModelInfo;
use tokio::sync::Mutex;

const TTL: Duration = Duration::from_secs(30);

/// When the list was fetched, and the list.
type Snapshot = (Instant, Vec<ModelInfo>);

/// How long the loaded set is reused: the scheduler asks on every claim, the server need not hear
/// about each one.
const LOADED_TTL: Duration = Duration::from_millis(500);

/// The loaded models as last learned.
type Loaded = (Instant, Option<std::collections::HashSet<String>>);

/// Where the global default model set from the UI is kept (`settings` table).
pub const DEFAULT_MODEL_SETTING: &str = "default_model";

/// The global default model: the one set from the UI, else `configured` (`--default-model`).
pub async fn global_default_model(
    store: &dyn boocode_store::Store,
    configured: Option<&String>,
) -> Option<String> {
    match store.get_setting(DEFAULT_MODEL_SETTING).await {
        Ok(Some(model)) => Some(model),
        Ok(None) => configured.cloned(),
        Err(e) => {
            tracing::warn!(error = %e, "the default model setting is unreadable");
            configured.cloned()
        }
    }
}

/// A short-lived cache of `/v1/models`.
#[derive(Clone)]
pub struct ModelCatalog {
    llm: LlmClient,
    cached: Arc<Mutex<Option<Snapshot>>>,
    loaded: Arc<Mutex<Option<Loaded>>>,
    /// A background refresh of `cached` is under way.
    refreshing: Arc<std::sync::atomic::AtomicBool>,
}

impl ModelCatalog {
    /// A catalog over `llm`.
    pub fn new(llm: LlmClient) -> Self {
        Self {
            llm,
            cached: Arc::default(),
            loaded: Arc::default(),
            refreshing: Arc::default(),
        }
    }

    /// The models, fresh: from cache within its 30 s, else asked now. For what must tell the truth
    /// about the server (health, the model picker).
    pub async fn list(&self) -> Result<Vec<ModelInfo>, LlmError> {
        {
            let cached = self.cached.lock().await;
            if let Some((at, models)) = cached.as_ref()
                && at.elapsed() < TTL
            {
                return Ok(models.clone());
            }
        }
        self.fetch().await
    }

    /// The models for a turn: from cache; when stale, the stale list at once while a background
    /// refresh runs, so a reply never waits for `/v1/models` and `/props` before its request. Only
    /// the very first call (nothing cached) asks the server inline.
    pub async fn list_for_turn(&self) -> Result<Vec<ModelInfo>, LlmError> {
        {
            let cached = self.cached.lock().await;
            if let Some((at, models)) = cached.as_ref() {
                if at.elapsed() >= TTL
                    && !self
                        .refreshing
                        .swap(true, std::sync::atomic::Ordering::AcqRel)
                {
                    let this = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = this.fetch().await {
                            tracing::debug!(error = %e, "model list refresh failed; keeping the old one");
                        }
                        this.refreshing
                            .store(false, std::sync::atomic::Ordering::Release);
                    });
                }
                return Ok(models.clone());
            }
        }
        self.fetch().await
    }

    /// Asks the server for the list now and caches it.
    async fn fetch(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let remote = self.llm.list_models().await?;
        let mut models: Vec<ModelInfo> = remote
            .into_iter()
            .map(|m| ModelInfo {
                id: m.id,
                loaded: m.loaded,
                context_length: m.context_length,
            })
            .collect();
        // llama.cpp serves one model and says its window in /props. Never ask when the list already
        // says which model is loaded (llama-swap): a model-routed request there would load a model.
        let says_loaded = models.iter().any(|m| m.loaded.is_some());
        if !says_loaded
            && models.iter().any(|m| m.context_length.is_none())
            && let Some(n_ctx) = self.llm.server_context_length().await
        {
            for m in models.iter_mut().filter(|m| m.context_length.is_none()) {
                m.context_length = Some(n_ctx);
            }
        }
        *self.cached.lock().await = Some((Instant::now(), models.clone()));
        Ok(models)
    }

    /// The models the server has loaded now: llama-swap's `/running`, else the list's `loaded` marks
    /// (fetched fresh, these change with every swap). `None` means the server does not say, and every
    /// model counts as loaded (plain OpenAI-compatible servers).
    pub async fn loaded_models(&self) -> Option<std::collections::HashSet<String>> {
        let mut cached = self.loaded.lock().await;
        if let Some((at, loaded)) = cached.as_ref()
            && at.elapsed() < LOADED_TTL
        {
            return loaded.clone();
        }
        let fresh = self.fetch_loaded().await;
        *cached = Some((Instant::now(), fresh.clone()));
        fresh
    }

    async fn fetch_loaded(&self) -> Option<std::collections::HashSet<String>> {
        if let Some(running) = self.llm.running_models().await {
            return Some(running.into_iter().collect());
        }
        let listed = self.llm.list_models().await.ok()?;
        if listed.iter().all(|m| m.loaded.is_none()) {
            return None;
        }
        Some(
            listed
                .into_iter()
                .filter(|m| m.loaded == Some(true))
                .map(|m| m.id)
                .collect(),
        )
    }

    /// Whether the server holds one model at a time and swaps (llama-swap answers `/running`), so
    /// requests for several models should run one after another, not at once.
    pub async fn swaps_models(&self) -> bool {
        self.llm.running_models().await.is_some()
    }

    /// The window of `model`, when known; never fails (a missing window is not an error).
    pub async fn context_limit(&self, model: &str) -> Option<u64> {
        let models = self.list_for_turn().await.ok()?;
        models
            .iter()
            .find(|m| m.id == model)
            .and_then(|m| m.context_length)
    }

    /// The model to use when nobody chose one: the loaded one, else the first listed.
    pub async fn fallback_model(&self) -> Option<String> {
        let models = self.list().await.ok()?;
        models
            .iter()
            .find(|m| m.loaded == Some(true))
            .or_else(|| models.first())
            .map(|m| m.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use boocode_fakellm::{FakeLlm, FakeOptions};
    use boocode_llm::LlmConfig;

    #[tokio::test]
    async fn a_turn_gets_the_stale_list_at_once_while_health_sees_the_server_gone() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
        let catalog = ModelCatalog::new(LlmClient::new(LlmConfig::new(fake.url())).unwrap());
        assert_eq!(catalog.context_limit("fake-model").await, Some(32768));
        drop(fake);
        // Age the cache past its TTL.
        if let Some((at, _)) = catalog.cached.lock().await.as_mut() {
            *at = Instant::now()
                .checked_sub(TTL + Duration::from_secs(1))
                .unwrap();
        }
        // Asking the (gone) server inline would fail; the turn gets the stale list instead.
        assert_eq!(catalog.context_limit("fake-model").await, Some(32768));
        assert!(
            catalog.list().await.is_err(),
            "health must not trust a stale list"
        );
    }
}
