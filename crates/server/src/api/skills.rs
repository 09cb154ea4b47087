//! `GET /api/skills`: every skill file, including broken ones with their error.

use axum::Json;
use axum::extract::State;
use boocode_protocol::SkillInfo;

use crate::app::AppState;

pub async fn list(State(state): State<AppState>) -> Json<Vec<SkillInfo>> {
    let skills = state.skills.clone();
    let listed = tokio::task::spawn_blocking(move || {
        skills.scan().into_iter().map(|(info, _)| info).collect()
    })
    .await
    .unwrap_or_default();
    Json(listed)
}
