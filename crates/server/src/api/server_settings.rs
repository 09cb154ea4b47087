//! `GET`/`PATCH /api/settings`: server-wide settings changed from the UI (the global default model).

use axum::Json;
use axum::extract::State;
use boocode_protocol::{ServerSettings, UpdateServerSettingsRequest};

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::models::DEFAULT_MODEL_SETTING;

async fn current(state: &AppState) -> Result<ServerSettings, ApiError> {
    Ok(ServerSettings {
        default_model: state.store.get_setting(DEFAULT_MODEL_SETTING).await?,
        configured_default_model: state.chat.configured_default_model(),
    })
}

pub async fn get(State(state): State<AppState>) -> Result<Json<ServerSettings>, ApiError> {
    Ok(Json(current(&state).await?))
}

pub async fn update(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<UpdateServerSettingsRequest>,
) -> Result<Json<ServerSettings>, ApiError> {
    if let Some(model) = &req.default_model {
        let model = model.trim();
        if model.chars().count() > 200 {
            return Err(ApiError::bad_request(
                "default_model is longer than 200 characters",
            ));
        }
        let value = (!model.is_empty()).then_some(model);
        state
            .store
            .set_setting(DEFAULT_MODEL_SETTING, value)
            .await?;
    }
    Ok(Json(current(&state).await?))
}
