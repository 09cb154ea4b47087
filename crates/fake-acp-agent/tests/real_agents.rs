//! Real agents over ACP (opencode, Qwen Code) through the whole server against fakellm: a text reply, a file the
//! agent writes after a permission request answered over REST landing in a pending change, and cancel
//! mid-turn. `.ci/run` installs the pinned npm packages and sets `BOOCODE_AGENTS_BIN`; without it these
//! tests say so and do nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn agents_bin() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("BOOCODE_AGENTS_BIN")?);
    dir.join("qwen").exists().then_some(dir)
}

async fn kit(bin: &std::path::Path) -> Kit {
    init_test_log();
    let providers = json!({"providers": {
        "qwen": {"command": bin.join("qwen")},
        "opencode": {"command": bin.join("opencode"), "backend": "acp"}
    }});
    let bridge = boocode_binary_beside(env!("CARGO_BIN_EXE_fake-acp-agent"));
    Kit::start_with_files(&[("providers.json", providers.to_string())], |c| {
        c.default_model = Some("fake-model".into());
        c.mcp_bridge = Some(bridge);
    })
    .await
}

async fn wait_final(kit: &Kit, id: &str) -> Value {
    kit.wait_task_for(id, Duration::from_secs(60)).await
}

async fn reply(kit: &Kit, task: &Value) -> String {
    kit.reply_of(task).await["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn exercise(agent: &str) {
    let Some(bin) = agents_bin() else {
        missing("agents", &format!("the real-agent test for {agent}"));
        return;
    };
    let kit = kit(&bin).await;
    let (pid, repo) = kit.coding_project("real").await;

    // 1. A text reply.
    let t = kit.task(json!({"project_id": pid, "input": format!("[[reply:Hello from {agent} via fakellm]]"), "agent": agent})).await;
    let sid = t["session_id"].as_str().unwrap().to_owned();
    let t = wait_final(&kit, t["id"].as_str().unwrap()).await;
    assert_eq!(t["state"], "completed", "{t}");
    assert!(
        reply(&kit, &t)
            .await
            .contains(&format!("Hello from {agent} via fakellm"))
    );

    // 2. A file, after a permission request answered through the API.
    let mut ws = kit.ws(&sid, None).await;
    let input =
        format!("[[agent_write:from-{agent}.txt written by {agent}]] [[reply:Wrote the file.]]");
    let t = kit
        .task(json!({"project_id": pid, "session_id": sid, "input": input, "agent": agent}))
        .await;
    let frames = frames_until(&mut ws, |f| f["type"] == "permission_request").await;
    kit.answer_permission(&frames.last().unwrap()["request"], "allow_once")
        .await;
    let t = wait_final(&kit, t["id"].as_str().unwrap()).await;
    assert_eq!(t["state"], "completed", "{t}");
    let file = kit
        .dir
        .path()
        .join("data/worktrees")
        .join(&sid)
        .join(format!("from-{agent}.txt"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("written by {agent}")
    );
    let changes = kit
        .ok("GET", &format!("/api/sessions/{sid}/changes"), None)
        .await;
    assert_eq!(changes[0]["agent"], agent);
    assert!(
        changes[0]["diff"]
            .as_str()
            .unwrap()
            .contains(&format!("from-{agent}.txt"))
    );
    assert!(
        !repo.join(format!("from-{agent}.txt")).exists(),
        "only after review"
    );

    // 3. The agent queues a task through boocode's MCP server (HTTP or the stdio bridge, whichever it
    //    takes), answering a permission request if the agent asks before calling an MCP tool.
    let input = r#"[[agent_tool:new_task {"input":"say hello"}]] [[reply:Queued it.]]"#;
    let t = kit
        .task(json!({"project_id": pid, "session_id": sid, "input": input, "agent": agent}))
        .await;
    let id = t["id"].clone();
    let t = loop {
        let frames = frames_until(&mut ws, |f| {
            f["type"] == "permission_request"
                || f["type"] == "task_updated"
                    && f["task"]["id"] == id
                    && matches!(
                        f["task"]["state"].as_str(),
                        Some("completed" | "failed" | "cancelled")
                    )
        })
        .await;
        let last = frames.last().unwrap();
        if last["type"] != "permission_request" {
            break wait_final(&kit, t["id"].as_str().unwrap()).await;
        }
        kit.answer_permission(&last["request"], "allow_once").await;
    };
    assert_eq!(t["state"], "completed", "{t}");
    assert!(reply(&kit, &t).await.contains("Queued it."), "{t}");
    let queued = kit.queued_task_done(&sid, "say hello").await;
    assert_eq!(queued["state"], "completed", "{queued}");

    // 4. Cancel mid-turn.
    let t = kit.task(json!({"project_id": pid, "session_id": sid, "input": "[[tokens:4000]] [[delay_ms:5]]", "agent": agent})).await;
    frames_until(&mut ws, |f| {
        f["type"] == "delta" && f["content"].as_str().is_some_and(|c| c.starts_with("tok3"))
    })
    .await;
    kit.ok(
        "POST",
        &format!("/api/tasks/{}/cancel", t["id"].as_str().unwrap()),
        None,
    )
    .await;
    let t = wait_final(&kit, t["id"].as_str().unwrap()).await;
    assert_eq!(t["state"], "cancelled", "{t}");
    let partial = reply(&kit, &t).await;
    assert!(
        partial.contains("tok3") && !partial.contains("tok3999"),
        "{partial}"
    );
}

#[tokio::test]
async fn real_qwen_code_through_boocode() {
    exercise("qwen").await;
}

#[tokio::test]
async fn real_opencode_through_boocode() {
    exercise("opencode").await;
}

#[tokio::test]
async fn real_agents_race_in_an_arena() {
    let Some(bin) = agents_bin() else {
        missing("agents", "the real-agent arena");
        return;
    };
    let providers = json!({"providers": {
        "qwen": {"command": bin.join("qwen")},
        "opencode": {"command": bin.join("opencode")}
    }});
    let kit = Kit::start_with_files(&[("providers.json", providers.to_string())], |c| {
        c.default_model = Some("fake-model".into());
    })
    .await;
    let (pid, _) = kit.coding_project("race").await;
    let arena = kit
        .ok(
            "POST",
            "/api/arenas",
            Some(json!({"project_id": pid, "input": "[[reply:racing]]",
            "contenders": [{"agent": "native"}, {"agent": "qwen"}, {"agent": "opencode"}],
            "check": "git status --short"})),
        )
        .await;
    let id = arena["id"].as_str().unwrap().to_owned();
    let mut finished = Value::Null;
    for _ in 0..1200 {
        finished = kit.ok("GET", &format!("/api/arenas/{id}"), None).await;
        if finished["status"] == "finished" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(finished["status"], "finished", "{finished}");
    for lane in finished["contenders"].as_array().unwrap() {
        assert_eq!(lane["state"], "completed", "{lane}");
        assert_eq!(lane["check"]["status"], "passed", "{lane}");
        let task = kit
            .ok(
                "GET",
                &format!("/api/tasks/{}", lane["task_id"].as_str().unwrap()),
                None,
            )
            .await;
        assert!(reply(&kit, &task).await.contains("racing"), "{lane}");
    }
}
