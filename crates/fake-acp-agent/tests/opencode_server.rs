//! The warm `opencode serve` backend with real opencode (from npm, installed by `.ci/run`) against
//! fakellm, through the whole server: one server and one opencode session reused across turns, two
//! worktrees streaming at once, a permission-gated write that becomes a pending change, abort, the
//! server killed mid-turn, and a boocode restart resuming the same opencode session. Without
//! `BOOCODE_AGENTS_BIN` these tests say so and do nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const LONG: Duration = Duration::from_secs(90);

fn opencode() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("BOOCODE_AGENTS_BIN")?).join("opencode");
    if path.exists() {
        return Some(path);
    }
    None
}

macro_rules! require_opencode {
    () => {
        match opencode() {
            Some(bin) => bin,
            None => {
                missing("agents", "the opencode server test");
                return;
            }
        }
    };
}

async fn kit(bin: &Path) -> Kit {
    init_test_log();
    // No `backend`: opencode runs as a warm server by default.
    let providers = json!({"providers": {"opencode": {"command": bin}}});
    Kit::start_with_files(&[("providers.json", providers.to_string())], |_| {}).await
}

fn task(pid: &str, sid: Option<&str>, input: &str) -> Value {
    json!({"project_id": pid, "session_id": sid, "input": input, "agent": "opencode", "model": "fake-model"})
}

async fn opencode_session(kit: &Kit, sid: &str) -> (String, String) {
    let agents = kit
        .ok("GET", &format!("/api/sessions/{sid}/agents"), None)
        .await;
    let row = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"] == "opencode")
        .unwrap_or_else(|| panic!("no opencode session kept: {agents}"))
        .clone();
    assert_eq!(row["backend"], "opencode_server", "{row}");
    (
        row["agent_session_id"].as_str().unwrap().to_owned(),
        row["status"].as_str().unwrap().to_owned(),
    )
}

async fn run(kit: &Kit, pid: &str, sid: Option<&str>, input: &str) -> Value {
    let t = kit.task(task(pid, sid, input)).await;
    kit.wait_task_for(t["id"].as_str().unwrap(), LONG).await
}

/// Starts a long streaming turn in `sid` and returns its task once a delta starting with `seen` came.
async fn long_turn(kit: &Kit, pid: &str, sid: &str, seen: &str) -> Value {
    let mut ws = kit.ws(sid, None).await;
    let t = kit
        .task(task(pid, Some(sid), "[[tokens:4000]] [[delay_ms:5]]"))
        .await;
    frames_until(&mut ws, |f| {
        f["type"] == "delta" && f["content"].as_str().is_some_and(|c| c.starts_with(seen))
    })
    .await;
    t
}

#[tokio::test]
async fn real_opencode_turns_reuse_one_server_and_session_and_a_write_becomes_a_pending_change() {
    let bin = require_opencode!();
    let kit = kit(&bin).await;
    let data = kit.dir.path().join("data");
    let (pid, repo) = kit.coding_project("app").await;

    let t1 = run(
        &kit,
        &pid,
        None,
        "[[reasoning:pondering]] [[reply:Hello from the server]]",
    )
    .await;
    assert_eq!(t1["state"], "completed", "{t1}");
    assert_eq!(t1["execution_path"], "opencode_server", "{t1}");
    let sid = t1["session_id"].as_str().unwrap().to_owned();
    let reply = kit.reply_of(&t1).await;
    assert_eq!(reply["content"], "Hello from the server", "{reply}");
    assert_eq!(reply["reasoning"], "pondering", "{reply}");
    let (oc1, _) = opencode_session(&kit, &sid).await;
    assert!(oc1.starts_with("ses_"), "{oc1}");
    let server1 = opencode_server_pid(&data).expect("opencode serve is running");

    // A write asks permission, answered over REST; the file lands in the worktree, then in a change.
    let mut ws = kit.ws(&sid, None).await;
    let t = kit
        .task(task(
            &pid,
            Some(&sid),
            "[[agent_write:hello.txt written by opencode serve]] [[reply:Wrote it.]]",
        ))
        .await;
    let frames = frames_until(&mut ws, |f| f["type"] == "permission_request").await;
    kit.answer_permission(&frames.last().unwrap()["request"], "allow_once")
        .await;
    let t2 = kit.wait_task_for(t["id"].as_str().unwrap(), LONG).await;
    assert_eq!(t2["state"], "completed", "{t2}");
    let worktree = data.join("worktrees").join(&sid);
    assert_eq!(
        std::fs::read_to_string(worktree.join("hello.txt")).unwrap(),
        "written by opencode serve"
    );
    let changes = kit
        .ok("GET", &format!("/api/sessions/{sid}/changes"), None)
        .await;
    assert_eq!(changes[0]["agent"], "opencode");
    assert!(changes[0]["diff"].as_str().unwrap().contains("hello.txt"));
    assert!(!repo.join("hello.txt").exists(), "only after review");
    let reply = kit.reply_of(&t2).await;
    let tools = reply["tool_calls"].as_array().unwrap();
    assert!(
        tools
            .iter()
            .any(|c| c["kind"] == "edit" && c["status"] == "completed"),
        "{reply}"
    );

    // opencode was given boocode's MCP server: it queues a task in this session.
    let t3 = run(
        &kit,
        &pid,
        Some(&sid),
        r#"[[agent_tool:new_task {"input":"say hello"}]] [[reply:Queued.]]"#,
    )
    .await;
    assert_eq!(t3["state"], "completed", "{t3}");
    assert_eq!(kit.reply_of(&t3).await["content"], "Queued.");
    let queued = kit.queued_task_done(&sid, "say hello").await;
    assert_eq!(queued["state"], "completed", "{queued}");

    // The same server process and the same opencode session served every turn.
    assert_eq!(opencode_session(&kit, &sid).await.0, oc1);
    assert_eq!(opencode_server_pid(&data), Some(server1));
}

#[tokio::test]
async fn real_opencode_two_worktrees_stream_at_the_same_time_without_losing_or_crossing_events() {
    let bin = require_opencode!();
    let kit = kit(&bin).await;
    let (pid, _) = kit.coding_project("app").await;
    // Warm the server first so both turns really overlap.
    let warm = run(&kit, &pid, None, "[[reply:warm]]").await;
    assert_eq!(warm["state"], "completed", "{warm}");
    let a = kit
        .task(task(&pid, None, "[[tokens:150]] [[delay_ms:4]]"))
        .await;
    let b = kit
        .task(task(
            &pid,
            None,
            "[[reply:b0 b1 b2 b3 b4 b5 b6 b7 b8 b9]] [[delay_ms:40]]",
        ))
        .await;
    let a = kit.wait_task_for(a["id"].as_str().unwrap(), LONG).await;
    let b = kit.wait_task_for(b["id"].as_str().unwrap(), LONG).await;
    assert_eq!(
        (a["state"].as_str(), b["state"].as_str()),
        (Some("completed"), Some("completed"))
    );
    assert_ne!(a["session_id"], b["session_id"]);
    let expected: String = (0..150).map(|i| format!("tok{i} ")).collect();
    assert_eq!(kit.reply_of(&a).await["content"], expected.as_str());
    assert_eq!(
        kit.reply_of(&b).await["content"],
        "b0 b1 b2 b3 b4 b5 b6 b7 b8 b9"
    );
}

#[tokio::test]
async fn real_opencode_abort_mid_turn_cancels_and_keeps_the_partial_text() {
    let bin = require_opencode!();
    let kit = kit(&bin).await;
    let (pid, _) = kit.coding_project("app").await;
    let first = run(&kit, &pid, None, "[[reply:ready]]").await;
    let sid = first["session_id"].as_str().unwrap().to_owned();
    let t = long_turn(&kit, &pid, &sid, "tok3").await;
    kit.ok(
        "POST",
        &format!("/api/tasks/{}/cancel", t["id"].as_str().unwrap()),
        None,
    )
    .await;
    let t = kit.wait_task_for(t["id"].as_str().unwrap(), LONG).await;
    assert_eq!(t["state"], "cancelled", "{t}");
    let partial = kit.reply_of(&t).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(partial.starts_with("tok0 tok1 tok2 tok3"), "{partial}");
    assert!(!partial.contains("tok3999"), "stopped early");
    // The session takes the next turn normally.
    let next = run(&kit, &pid, Some(&sid), "[[reply:after abort]]").await;
    assert_eq!(next["state"], "completed", "{next}");
    assert_eq!(kit.reply_of(&next).await["content"], "after abort");
}

#[tokio::test]
async fn real_opencode_a_killed_server_fails_its_turn_and_the_next_turn_gets_a_new_one() {
    let bin = require_opencode!();
    let kit = kit(&bin).await;
    let data = kit.dir.path().join("data");
    let (pid, _) = kit.coding_project("app").await;
    let first = run(&kit, &pid, None, "[[reply:ready]]").await;
    let sid = first["session_id"].as_str().unwrap().to_owned();
    let (oc1, _) = opencode_session(&kit, &sid).await;
    let old = opencode_server_pid(&data).unwrap();
    let t = long_turn(&kit, &pid, &sid, "tok2").await;
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &old.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let t = kit.wait_task_for(t["id"].as_str().unwrap(), LONG).await;
    assert_eq!(t["state"], "failed", "{t}");
    assert!(
        t["error"]
            .as_str()
            .unwrap()
            .contains("opencode serve exited"),
        "{t}"
    );
    assert_eq!(opencode_session(&kit, &sid).await.1, "crashed");
    let next = run(&kit, &pid, Some(&sid), "[[reply:back again]]").await;
    assert_eq!(next["state"], "completed", "{next}");
    assert_eq!(kit.reply_of(&next).await["content"], "back again");
    let new = opencode_server_pid(&data).unwrap();
    assert_ne!(new, old, "a new server");
    assert_ne!(
        opencode_session(&kit, &sid).await.0,
        oc1,
        "crashed sessions start fresh"
    );
}

#[tokio::test]
async fn real_opencode_a_boocode_restart_resumes_the_same_opencode_session() {
    let bin = require_opencode!();
    let mut kit = kit(&bin).await;
    let data = kit.dir.path().join("data");
    let (pid, _) = kit.coding_project("app").await;
    let first = run(&kit, &pid, None, "[[reply:remember me]]").await;
    assert_eq!(first["state"], "completed", "{first}");
    let sid = first["session_id"].as_str().unwrap().to_owned();
    let (oc1, _) = opencode_session(&kit, &sid).await;
    let old = opencode_server_pid(&data).unwrap();
    kit.restart().await;
    assert!(
        !Path::new(&format!("/proc/{old}")).exists() || opencode_server_pid(&data).is_none(),
        "the old server ended with boocode"
    );
    let next = run(&kit, &pid, Some(&sid), "[[reply:resumed]]").await;
    assert_eq!(next["state"], "completed", "{next}");
    assert_eq!(
        opencode_session(&kit, &sid).await.0,
        oc1,
        "same opencode session"
    );
    assert_ne!(opencode_server_pid(&data), Some(old));
}

#[tokio::test]
async fn real_opencode_an_unknown_model_fails_once_with_opencodes_message() {
    let bin = require_opencode!();
    let kit = kit(&bin).await;
    let (pid, _) = kit.coding_project("app").await;
    let mut body = task(&pid, None, "[[reply:never]]");
    body["model"] = json!("no-such-model");
    let t = kit.task(body).await;
    let t = kit.wait_task_for(t["id"].as_str().unwrap(), LONG).await;
    assert_eq!(t["state"], "failed", "{t}");
    let error = t["error"].as_str().unwrap();
    assert!(error.contains("no-such-model"), "{error}");
}

#[tokio::test]
async fn a_server_that_dies_before_ready_fails_with_its_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("fake-opencode");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'fatal: config is broken' >&2\nexit 3\n",
    )
    .unwrap();
    let mut perm = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&script, perm).unwrap();
    let providers = json!({"providers": {
        "opencode": {"command": script},
        "ghost": {"command": "/nonexistent/opencode", "backend": "opencode_server", "enabled": true}
    }});
    let kit = Kit::start_with_files(&[("providers.json", providers.to_string())], |_| {}).await;
    let (pid, _) = kit.coding_project("app").await;
    let t = run(&kit, &pid, None, "hi").await;
    assert_eq!(t["state"], "failed", "{t}");
    let error = t["error"].as_str().unwrap();
    assert!(
        error.contains("before it was ready") && error.contains("config is broken"),
        "{error}"
    );
    // Not installed: refused before anything is queued, with the reason.
    let mut ghost = task(&pid, None, "hi");
    ghost["agent"] = json!("ghost");
    let (status, body) = kit.call("POST", "/api/tasks", Some(ghost)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("not installed"), "{body}");
}

const FAKE_SERVE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/fake-opencode-serve.py"
);

/// A kit whose `opencode` is the scripted server in `mode`.
async fn scripted(mode: &str, ready_secs: u64) -> Kit {
    let providers = json!({"providers": {"opencode": {"command": FAKE_SERVE, "env": {"FAKE_OPENCODE_MODE": mode}}}});
    Kit::start_with_files(&[("providers.json", providers.to_string())], |c| {
        c.opencode_ready_secs = ready_secs;
    })
    .await
}

#[tokio::test]
async fn malformed_event_lines_are_skipped_and_the_turn_completes() {
    let kit = scripted("garbage", 30).await;
    let (pid, _) = kit.coding_project("app").await;
    let t = run(&kit, &pid, None, "go").await;
    assert_eq!(t["state"], "completed", "{t}");
    assert_eq!(kit.reply_of(&t).await["content"], "survived the garbage");
}

#[tokio::test]
async fn a_401_from_the_server_fails_the_turn_clearly() {
    let kit = scripted("unauthorized", 30).await;
    let (pid, _) = kit.coding_project("app").await;
    let t = run(&kit, &pid, None, "go").await;
    assert_eq!(t["state"], "failed", "{t}");
    assert!(
        t["error"]
            .as_str()
            .unwrap()
            .contains("refused boocode's credentials (401)"),
        "{t}"
    );
}

#[tokio::test]
async fn a_server_never_ready_times_out_with_its_stderr() {
    let kit = scripted("silent", 1).await;
    let (pid, _) = kit.coding_project("app").await;
    let t = run(&kit, &pid, None, "go").await;
    assert_eq!(t["state"], "failed", "{t}");
    let error = t["error"].as_str().unwrap();
    assert!(
        error.contains("not ready within 1 s") && error.contains("opencode server listening"),
        "{error}"
    );
}

#[tokio::test]
async fn real_opencode_a_question_from_opencode_is_answered_like_a_permission() {
    let bin = require_opencode!();
    let kit = kit(&bin).await;
    let (pid, _) = kit.coding_project("app").await;
    let first = run(&kit, &pid, None, "[[reply:ready]]").await;
    let sid = first["session_id"].as_str().unwrap().to_owned();
    let mut ws = kit.ws(&sid, None).await;
    let input = r#"[[agent_tool:question {"questions":[{"question":"Which colour?","header":"Colour","options":[{"label":"red","description":"warm"},{"label":"blue","description":"cool"}]}]}]] [[reply:Noted.]]"#;
    let t = kit.task(task(&pid, Some(&sid), input)).await;
    let frames = frames_until(&mut ws, |f| f["type"] == "permission_request").await;
    let request = frames.last().unwrap()["request"].clone();
    assert_eq!(request["tool_call"]["title"], "Which colour?", "{request}");
    let names: Vec<&str> = request["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["red", "blue", "Dismiss"]);
    let blue = request["options"][1]["option_id"].clone();
    kit.ok(
        "POST",
        &format!("/api/permissions/{}", request["id"].as_str().unwrap()),
        Some(json!({"option_id": blue})),
    )
    .await;
    let t = kit.wait_task_for(t["id"].as_str().unwrap(), LONG).await;
    assert_eq!(t["state"], "completed", "{t}");
    let reply = kit.reply_of(&t).await;
    assert_eq!(reply["content"], "Noted.", "{reply}");
    let asked = reply["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "completed")
        .unwrap_or_else(|| panic!("{reply}"))
        .clone();
    assert!(asked["raw_output"].to_string().contains("blue"), "{asked}");
}

#[tokio::test]
async fn a_dropped_event_stream_reconnects_and_the_turn_is_reconciled() {
    let kit = scripted("drop", 30).await;
    let (pid, _) = kit.coding_project("app").await;
    let t = run(&kit, &pid, None, "go").await;
    assert_eq!(t["state"], "completed", "{t}");
    // The tail arrived only through the session's messages after the reconnect.
    assert_eq!(kit.reply_of(&t).await["content"], "partial and the rest");
}
