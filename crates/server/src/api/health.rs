//! Health and the model list.

use axum::Json;
use axum::extract::State;
use boocode_protocol::{AgentsHealth, HealthResponse, HealthStatus, LlmHealth, ModelInfo};

use crate::app::AppState;
use crate::error::ApiError;

/// `GET /api/health`: `ok`, or `degraded` with what is wrong when the database cannot be read or a
/// write transaction does not commit (a full disk answers pings but refuses every write).
pub async fn health(State(state): State<AppState>) -> Json<HealthResponse> {
    let mut problems = Vec::new();
    if let Err(e) = state.store.ping().await {
        problems.push(format!("the database does not answer: {e}"));
    } else if let Err(e) = state.store.check_write().await {
        problems.push(format!("the database refuses writes: {e}"));
    }
    let reachable = state.catalog.list().await.is_ok();
    Json(HealthResponse {
        status: if problems.is_empty() {
            HealthStatus::Ok
        } else {
            HealthStatus::Degraded
        },
        problems,
        version: env!("CARGO_PKG_VERSION").into(),
        database: state.store.backend(),
        llm: LlmHealth {
            url: state.llm.base_url().to_owned(),
            reachable,
        },
        agents: AgentsHealth {
            pool_size: state.dispatcher.pool().len() as u64,
            backends: state
                .dispatcher
                .pool()
                .enabled()
                .map(str::to_owned)
                .collect(),
        },
    })
}

/// `GET /api/models`.
pub async fn models(State(state): State<AppState>) -> Result<Json<Vec<ModelInfo>>, ApiError> {
    state
        .catalog
        .list()
        .await
        .map(Json)
        .map_err(|e| ApiError::upstream(e.to_string()))
}
