//! What the server-level tests of ACP agents share: a server whose providers are the fake agent and a
//! ghost (a command that does not exist), and a task body for the fake agent.

use serde_json::{Value, json};

use super::common::{Kit, init_test_log};

pub const FAKE: &str = env!("CARGO_BIN_EXE_fake-acp-agent");

/// A server with the `fake` and `ghost` providers.
pub async fn kit_with_fake(tweak: impl FnOnce(&mut boocode_server::Config)) -> Kit {
    init_test_log();
    Kit::start_with_files(
        &[(
            "providers.json",
            json!({"providers": {
                "fake": {"command": FAKE, "label": "Fake agent"},
                "ghost": {"command": "/nonexistent/ghost-agent", "label": "Ghost"}
            }})
            .to_string(),
        )],
        tweak,
    )
    .await
}

/// A task for the fake agent.
pub fn task_body(pid: &str, session: Option<&str>, input: &str) -> Value {
    json!({"project_id": pid, "session_id": session, "input": input, "agent": "fake"})
}
