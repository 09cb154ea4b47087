//! Health and the model list.

use axum::Json;
use axum::extract::State;
use boocode_protocol::{AgentsHealth, HealthResponse, LlmHealth, ModelInfo};

use crate::app::AppState;
use crate::error::ApiError;

/// `GET /api/health`: `ok`, or `degraded` when the database does not answer.
pub async fn health(State(state): State<AppState>) -> Json<HealthResponse> {
    let db_ok = state.store.ping().await.is_ok();
    let reachable = state.catalog.list().await.is_ok();
    Json(HealthResponse {
        status: if db_ok { "ok" } else { "degraded" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: state.store.backend().into(),
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
