//! REST routes (docs/ARCHITECTURE.md §5). Handlers validate, call the store or a service, and map errors through
//! `ApiError`; none of them frames or persists a turn themselves.

mod agents;
mod arenas;
mod changes;
mod chats;
mod health;
mod permissions;
mod presets;
mod projects;
mod server_settings;
pub(crate) mod sessions;
mod skills;
pub(crate) mod tasks;
mod terminals;
mod uploads;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

/// The `/api` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health::health))
        .route("/api/models", get(health::models))
        .route("/api/projects", get(projects::list).post(projects::create))
        .route(
            "/api/projects/{id}",
            get(projects::get)
                .patch(projects::update)
                .delete(projects::delete),
        )
        .route(
            "/api/projects/{id}/sessions",
            get(sessions::list).post(sessions::create),
        )
        .route(
            "/api/sessions/{id}",
            get(sessions::get)
                .patch(sessions::update)
                .delete(sessions::delete),
        )
        .route(
            "/api/sessions/{id}/chats",
            get(chats::list).post(chats::create),
        )
        .route("/api/sessions/{id}/ws", get(crate::ws::frames))
        .route(
            "/api/chats/{id}",
            get(chats::get).patch(chats::update).delete(chats::delete),
        )
        .route(
            "/api/chats/{id}/messages",
            get(chats::messages).post(chats::post_message),
        )
        .route("/api/chats/{id}/stop", post(chats::stop))
        .route("/api/chats", get(chats::find))
        .route("/api/chats/{id}/export", get(chats::export))
        .route(
            "/api/chats/import",
            post(chats::import).layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
        )
        .route("/api/messages/{id}/regenerate", post(chats::regenerate))
        .route("/api/messages/{id}/fork", post(chats::fork))
        .route("/api/messages/{id}/continue", post(chats::continue_reply))
        .route("/api/presets", get(presets::list).post(presets::create))
        .route(
            "/api/settings",
            get(server_settings::get).patch(server_settings::update),
        )
        .route("/api/presets/{id}", axum::routing::delete(presets::delete))
        .route(
            "/api/uploads",
            post(uploads::create).layer(axum::extract::DefaultBodyLimit::max(
                crate::uploads::MAX_UPLOAD_BYTES + (64 << 10),
            )),
        )
        .route("/api/uploads/{id}", get(uploads::get))
        .route("/api/tasks", get(tasks::list).post(tasks::create))
        .route("/api/tasks/{id}", get(tasks::get))
        .route("/api/tasks/{id}/cancel", post(tasks::cancel))
        .route("/api/tasks/{id}/retry", post(tasks::retry))
        .route("/api/sessions/{id}/changes", get(changes::list))
        .route("/api/sessions/{id}/agents", get(sessions::agents))
        .route("/api/changes/{id}", get(changes::detail))
        .route("/api/changes/{id}/source", get(changes::source))
        .route(
            "/api/changes/{id}/comments",
            get(changes::comments).post(changes::add_comment),
        )
        .route(
            "/api/changes/{id}/commit-message",
            post(changes::draft_message),
        )
        .route(
            "/api/changes/{id}/request-changes",
            post(changes::request_changes),
        )
        .route(
            "/api/comments/{id}",
            axum::routing::delete(changes::delete_comment),
        )
        .route("/api/changes/{id}/accept", post(changes::accept))
        .route("/api/changes/{id}/reject", post(changes::reject))
        .route(
            "/api/providers/snapshot",
            get(agents::snapshot).post(agents::probe),
        )
        .route(
            "/api/providers/config",
            get(agents::get_config).patch(agents::patch_config),
        )
        .route("/api/permissions/{id}", post(agents::answer_permission))
        .route("/api/sessions/{id}/permissions", get(permissions::list))
        .route(
            "/api/sessions/{id}/permission-rules",
            get(permissions::rules),
        )
        .route(
            "/api/permission-rules/{id}",
            axum::routing::delete(permissions::revoke_rule),
        )
        .route("/api/skills", get(skills::list))
        .route("/api/arenas", get(arenas::list).post(arenas::create))
        .route("/api/projects/{id}/leaderboard", get(arenas::leaderboard))
        .route("/api/arenas/{id}", get(arenas::get).delete(arenas::delete))
        .route("/api/arenas/{id}/pick", post(arenas::pick))
        .route("/api/sessions/{id}/terminals", post(terminals::create))
        .route(
            "/api/sessions/{id}/terminals/{tid}",
            get(terminals::info).delete(terminals::delete),
        )
        .route(
            "/api/sessions/{id}/terminals/{tid}/resize",
            post(terminals::resize),
        )
        .route(
            "/api/sessions/{id}/terminals/{tid}/ws",
            get(terminals::socket),
        )
}
