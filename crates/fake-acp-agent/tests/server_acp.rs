//! ACP agents through the whole server: a custom provider running the fake agent, tasks, pending changes,
//! permission requests answered over REST, warm reuse across turns, crashes and missing binaries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

mod fake_kit;

use fake_kit::*;

#[tokio::test]
async fn agent_writes_land_in_a_pending_change_and_the_process_stays_warm() {
    let kit = kit_with_fake(|_| {}).await;
    let (pid, repo) = kit.coding_project("app").await;
    let t1 = kit
        .task(task_body(
            &pid,
            None,
            "[[pid]] [[write:hello.txt hi from the agent]] [[write:../escape.txt x]]",
        ))
        .await;
    assert_eq!(t1["execution_path"], "acp");
    let sid = t1["session_id"].as_str().unwrap().to_owned();
    let t1 = kit.wait_task(t1["id"].as_str().unwrap()).await;
    assert_eq!(t1["state"], "completed", "{t1}");
    let reply = kit.reply_of(&t1).await;
    let text = reply["content"].as_str().unwrap().to_owned();
    assert!(
        text.contains("wrote hello.txt") && text.contains("write failed"),
        "{text}"
    );
    assert_eq!(reply["agent"], "fake");
    assert!(
        reply["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["title"] == "Write hello.txt" && c["status"] == "completed")
    );
    assert!(!kit.dir.path().join("data/worktrees/escape.txt").exists());
    let changes = kit
        .ok("GET", &format!("/api/sessions/{sid}/changes"), None)
        .await;
    assert_eq!(changes[0]["agent"], "fake");
    assert!(
        changes[0]["diff"]
            .as_str()
            .unwrap()
            .contains("+hi from the agent")
    );
    assert!(!repo.join("hello.txt").exists());
    // The second turn reuses the same process and agent session.
    let t2 = kit.task(task_body(&pid, Some(&sid), "[[pid]]")).await;
    let t2 = kit.wait_task(t2["id"].as_str().unwrap()).await;
    let second = kit.reply_of(&t2).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        second.starts_with("pid ") && text.starts_with(&second),
        "same pid and agent session: {text} vs {second}"
    );
    let first_pid = second.clone();
    // Deleting the session stops its agent.
    let pid_num: u32 = first_pid
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let (status, _) = kit
        .call("DELETE", &format!("/api/sessions/{sid}"), None)
        .await;
    assert_eq!(status, 204);
    for _ in 0..100 {
        if !std::path::Path::new(&format!("/proc/{pid_num}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid_num}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("agent process {pid_num} outlived its session");
}

#[tokio::test]
async fn permission_requests_are_answered_over_rest() {
    let kit = kit_with_fake(|_| {}).await;
    let (pid, _) = kit.coding_project("app").await;
    let t = kit
        .task(task_body(&pid, None, "[[permission:granted.txt yes]]"))
        .await;
    let sid = t["session_id"].as_str().unwrap().to_owned();
    let mut ws = kit.ws(&sid, Some(0)).await;
    let frames = frames_until(&mut ws, |f| f["type"] == "permission_request").await;
    let request = frames.last().unwrap()["request"].clone();
    let rid = request["id"].as_str().unwrap().to_owned();
    assert_eq!(request["options"].as_array().unwrap().len(), 3);
    assert_eq!(request["task_id"], t["id"]);
    let (status, v) = kit
        .call(
            "POST",
            &format!("/api/permissions/{rid}"),
            Some(json!({"option_id": "nope"})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let answered = kit
        .ok(
            "POST",
            &format!("/api/permissions/{rid}"),
            Some(json!({"option_id": "yes-once"})),
        )
        .await;
    assert_eq!(answered["decision"], "yes-once");
    let (status, _) = kit
        .call(
            "POST",
            &format!("/api/permissions/{rid}"),
            Some(json!({"option_id": "yes-once"})),
        )
        .await;
    assert_eq!(status, 409, "answered once");
    let (status, _) = kit
        .call(
            "POST",
            "/api/permissions/01a2f000-0000-7000-8000-000000000000",
            Some(json!({"option_id": "x"})),
        )
        .await;
    assert_eq!(status, 404);
    frames_until(&mut ws, |f| f["type"] == "permission_resolved").await;
    let t = kit.wait_task(t["id"].as_str().unwrap()).await;
    assert_eq!(t["state"], "completed");
    assert!(
        kit.reply_of(&t).await["content"]
            .as_str()
            .unwrap()
            .contains("permission selected yes-once")
    );
    assert!(
        kit.dir
            .path()
            .join("data/worktrees")
            .join(&sid)
            .join("granted.txt")
            .exists()
    );
}

#[tokio::test]
async fn unanswered_permissions_are_denied_after_the_timeout() {
    let kit = kit_with_fake(|c| c.permission_timeout_secs = 1).await;
    let (pid, _) = kit.coding_project("app").await;
    let t = kit
        .task(task_body(&pid, None, "[[permission:denied.txt x]]"))
        .await;
    let t = kit.wait_task(t["id"].as_str().unwrap()).await;
    assert_eq!(t["state"], "completed");
    assert!(
        kit.reply_of(&t).await["content"]
            .as_str()
            .unwrap()
            .contains("permission selected no-once")
    );
    assert!(
        !kit.dir
            .path()
            .join("data/worktrees")
            .join(t["session_id"].as_str().unwrap())
            .join("denied.txt")
            .exists()
    );
}

#[tokio::test]
async fn crashes_and_missing_agents_fail_the_task_with_the_reason() {
    let kit = kit_with_fake(|_| {}).await;
    let (pid, _) = kit.coding_project("app").await;
    let t = kit
        .task(task_body(&pid, None, "[[say:partial]] [[crash]]"))
        .await;
    let sid = t["session_id"].as_str().unwrap().to_owned();
    let t = kit.wait_task(t["id"].as_str().unwrap()).await;
    assert_eq!(t["state"], "failed");
    let err = t["error"].as_str().unwrap();
    assert!(
        err.contains("exited mid-turn") && err.contains("last words before exit 17"),
        "{err}"
    );
    assert!(
        kit.reply_of(&t).await["content"]
            .as_str()
            .unwrap()
            .contains("partial")
    );
    let next = kit
        .task(task_body(&pid, Some(&sid), "[[say:fresh start]]"))
        .await;
    let next = kit.wait_task(next["id"].as_str().unwrap()).await;
    assert_eq!(
        next["state"], "completed",
        "the next turn starts a fresh agent"
    );

    // An agent that is not installed is refused before anything is queued, with the reason.
    let (status, body) = kit
        .call(
            "POST",
            "/api/tasks",
            Some(json!({"project_id": pid, "input": "hi", "agent": "ghost"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not installed"),
        "{body}"
    );
}

#[tokio::test]
async fn providers_snapshot_and_config() {
    let kit = kit_with_fake(|_| {}).await;
    // A GET never starts an agent (any page could fire one with an <img>): nothing is probed yet.
    let cached = kit.ok("GET", "/api/providers/snapshot", None).await;
    let fake_cached = cached["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "fake")
        .cloned()
        .unwrap();
    assert!(fake_cached["last_probed_at"].is_null(), "{fake_cached}");
    let (status, body) = kit
        .call("GET", "/api/providers/snapshot?force=1", None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("POST"), "{body}");
    let snap = kit
        .ok(
            "POST",
            "/api/providers/snapshot",
            Some(json!({"force": true})),
        )
        .await;
    let find = |id: &str| {
        snap["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(find("native")["models"][0], "fake-model");
    let fake = find("fake");
    assert_eq!(
        (
            fake["backend"].as_str(),
            fake["enabled"].as_bool(),
            fake["installed"].as_bool()
        ),
        (Some("acp"), Some(true), Some(true))
    );
    assert!(fake["last_probed_at"].is_string());
    assert_eq!(fake["version"], "fake-acp-agent 0.1.0");
    assert_eq!(
        fake["models"],
        json!(["fake-a", "fake-b"]),
        "tier 2 read the agent's models"
    );
    assert_eq!(fake["modes"], json!(["default", "plan"]));
    assert_eq!(fake["commands"][0]["name"], "review");
    let ghost = find("ghost");
    assert_eq!(ghost["installed"], false);
    assert!(ghost["error"].as_str().unwrap().contains("not installed"));
    assert!(
        find("qwen")["error"]
            .as_str()
            .unwrap_or_default()
            .contains("npm install")
            || find("qwen")["installed"] == true
    );
    // PATCH replaces an id's override wholesale; null removes it.
    let patched = kit
        .ok(
            "PATCH",
            "/api/providers/config",
            Some(
                json!({"providers": {"fake": {"command": FAKE, "enabled": false}, "ghost": null}}),
            ),
        )
        .await;
    assert_eq!(
        patched["providers"]["fake"],
        json!({"command": FAKE, "enabled": false})
    );
    assert!(patched["providers"].get("ghost").is_none());
    let (status, v) = kit.call("POST", "/api/tasks", Some(json!({"project_id": kit.coding_project("p2").await.0, "input": "x", "agent": "fake"}))).await;
    assert_eq!(status, 400, "a disabled agent is refused: {v}");
    let (status, _) = kit
        .call(
            "PATCH",
            "/api/providers/config",
            Some(json!({"providers": {"custom": {"label": "no command"}}})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = kit
        .call(
            "PATCH",
            "/api/providers/config",
            Some(json!({"providers": {"../x": {"command": "sh"}}})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(kit.ok("GET", "/api/providers/config", None).await, patched);
}

#[tokio::test]
async fn a_broken_providers_file_keeps_the_builtins() {
    let kit = Kit::start_with_files(&[("providers.json", "{not json".into())], |_| {}).await;
    let snap = kit.ok("GET", "/api/providers/snapshot", None).await;
    assert!(snap["config_error"].as_str().unwrap().contains("invalid"));
    assert!(
        snap["providers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "native" && p["enabled"] == true)
    );
    let (status, _) = kit.call("GET", "/api/providers/config", None).await;
    assert_eq!(status, 409);
}

fn pid_and_session(text: &str) -> (String, String) {
    let mut words = text.split_whitespace();
    let pid = words
        .by_ref()
        .skip_while(|w| *w != "pid")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let session = words
        .skip_while(|w| *w != "session")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (pid, session)
}

async fn run(
    kit: &Kit,
    pid: &str,
    session: Option<&str>,
    input: &str,
    agent: &str,
) -> (Value, String) {
    let t = kit
        .task(json!({"project_id": pid, "session_id": session, "input": input, "agent": agent}))
        .await;
    let t = kit.wait_task(t["id"].as_str().unwrap()).await;
    let text = kit.reply_of(&t).await["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (t, text)
}

#[tokio::test]
async fn agent_sessions_resume_after_a_restart_unless_they_crashed() {
    let files = [(
        "providers.json",
        json!({"providers": {
            "fake": {"command": FAKE},
            "noload": {"command": FAKE, "env": {"FAKE_ACP_NO_LOAD": "1"}}
        }})
        .to_string(),
    )];
    let mut kit = Kit::start_with_files(&files, |_| {}).await;
    let (pid, _) = kit.coding_project("app").await;
    let (t, before) = run(&kit, &pid, None, "[[pid]]", "fake").await;
    let sid = t["session_id"].as_str().unwrap().to_owned();
    let (_, noload_before) = run(&kit, &pid, Some(&sid), "[[pid]]", "noload").await;
    kit.restart().await;
    let (_, after) = run(&kit, &pid, Some(&sid), "[[pid]]", "fake").await;
    let (p0, s0) = pid_and_session(&before);
    let (p1, s1) = pid_and_session(&after);
    assert_ne!(p0, p1, "a new process after the restart");
    assert_eq!(
        s0, s1,
        "the agent's own session was loaded: {before} / {after}"
    );
    // An agent that cannot load sessions starts fresh and says so.
    let (_, noload_after) = run(&kit, &pid, Some(&sid), "[[pid]]", "noload").await;
    assert!(
        noload_after.contains("cannot resume sessions"),
        "{noload_after}"
    );
    assert_ne!(
        pid_and_session(&noload_before).1,
        pid_and_session(&noload_after).1
    );
    // A crashed session is never resumed, also not after a restart.
    let (crashed, _) = run(&kit, &pid, Some(&sid), "[[crash]]", "fake").await;
    assert_eq!(crashed["state"], "failed");
    kit.restart().await;
    let (_, fresh) = run(&kit, &pid, Some(&sid), "[[pid]]", "fake").await;
    assert_ne!(
        pid_and_session(&fresh).1,
        s1,
        "crashed sessions start fresh: {fresh}"
    );
}

/// Runs `[[mcp_new_task:…]]` on `agent`: the agent reaches boocode's MCP server, and the task it queues
/// lands in the calling session (named by its token) and runs like any other.
async fn agent_queues_over_mcp(kit: &Kit, agent: &str) {
    let (pid, _) = kit.coding_project(&format!("app-{agent}")).await;
    let t = kit
        .task(json!({"project_id": pid, "input": "[[mcp_new_task:[[reply:queued by the agent]]]]", "agent": agent}))
        .await;
    let sid = t["session_id"].as_str().unwrap().to_owned();
    let t = kit.wait_task(t["id"].as_str().unwrap()).await;
    assert_eq!(t["state"], "completed", "{t}");
    let text = kit.reply_of(&t).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.starts_with("mcp queued "), "{text}");
    assert!(text.ends_with(&format!("in {sid}")), "{text}");
    let queued = text.split_whitespace().nth(2).unwrap().to_owned();
    let q = kit.wait_task(&queued).await;
    assert_eq!(
        (q["state"].as_str(), q["session_id"].as_str()),
        (Some("completed"), Some(sid.as_str()))
    );
}

/// A kit whose `stdio-only` agent says it cannot take MCP over HTTP, with `bridge` as `boocode mcp`.
async fn stdio_only_kit(bridge: Option<std::path::PathBuf>) -> Kit {
    let files = [(
        "providers.json",
        json!({"providers": {"stdio-only": {"command": FAKE, "env": {"FAKE_ACP_NO_HTTP_MCP": "1"}}}})
            .to_string(),
    )];
    Kit::start_with_files(&files, |c| c.mcp_bridge = bridge).await
}

#[tokio::test]
async fn an_agent_queues_a_task_through_boocodes_mcp_server() {
    let kit = kit_with_fake(|_| {}).await;
    agent_queues_over_mcp(&kit, "fake").await;
}

#[tokio::test]
async fn an_agent_without_http_mcp_queues_a_task_through_the_stdio_bridge() {
    let kit = stdio_only_kit(Some(boocode_binary_beside(FAKE))).await;
    agent_queues_over_mcp(&kit, "stdio-only").await;
}

#[tokio::test]
async fn an_agent_without_http_mcp_gets_no_server_when_there_is_no_bridge() {
    let kit = stdio_only_kit(None).await;
    let (pid, _) = kit.coding_project("app").await;
    let t = kit
        .task(json!({"project_id": pid, "input": "[[mcp_new_task:x]]", "agent": "stdio-only"}))
        .await;
    let t = kit.wait_task(t["id"].as_str().unwrap()).await;
    assert_eq!(t["state"], "completed", "{t}");
    let text = kit.reply_of(&t).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(text, "no MCP server");
}

const MASTER: &str = "master-token-never-for-agents";

/// A token-protected server whose agents record what boocode hands them (`FAKE_ACP_RECORD`): `fake`
/// takes MCP over HTTP, `stdio-only` gets the `boocode mcp` bridge.
async fn recording_kit(record: &std::path::Path) -> Kit {
    let files = [(
        "providers.json",
        json!({"providers": {
            "fake": {"command": FAKE, "env": {"FAKE_ACP_RECORD": record}},
            "stdio-only": {"command": FAKE, "env": {"FAKE_ACP_NO_HTTP_MCP": "1", "FAKE_ACP_RECORD": record}}
        }})
        .to_string(),
    )];
    let bridge = boocode_binary_beside(FAKE);
    let mut kit = Kit::start_with_files(&files, |c| {
        c.token = Some(MASTER.into());
        c.mcp_bridge = Some(bridge);
    })
    .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {MASTER}").parse().unwrap());
    kit.http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    kit
}

/// Agents reach boocode's MCP server with their per-session token alone: the master token is in no
/// `session/new` request, no MCP server entry and no agent environment, yet the call goes through.
#[tokio::test]
async fn agents_never_hold_the_master_token() {
    let record_dir = tempfile::tempdir().unwrap();
    let record = record_dir.path().join("record.jsonl");
    let kit = recording_kit(&record).await;
    for agent in ["fake", "stdio-only"] {
        agent_queues_over_mcp(&kit, agent).await;
    }
    let recorded = std::fs::read_to_string(&record).unwrap();
    assert_eq!(recorded.lines().count(), 2, "{recorded}");
    assert!(
        !recorded.contains(MASTER),
        "an agent was handed the master token: {recorded}"
    );
    assert!(
        recorded.contains("x-boocode-session") && recorded.contains("BOOCODE_MCP_SESSION_TOKEN")
    );
}

/// What an agent's call says, run as one task in `session` (or a new session of `project`).
async fn agent_says(kit: &Kit, project: &str, session: Option<&str>, script: &str) -> String {
    let mut body = json!({"project_id": project, "input": script, "agent": "fake"});
    if let Some(s) = session {
        body["session_id"] = json!(s);
    }
    let t = kit.task(body).await;
    let t = kit.wait_task(t["id"].as_str().unwrap()).await;
    assert_eq!(t["state"], "completed", "{t}");
    kit.reply_of(&t).await["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A session's MCP token acts on its own session and project only: queuing into or reading the
/// changes of another session, or another project's task, is refused; `list_tasks` shows only its
/// project. The operator (master token) still sees everything.
#[tokio::test]
async fn an_agents_mcp_token_is_confined_to_its_session() {
    let record_dir = tempfile::tempdir().unwrap();
    let kit = recording_kit(&record_dir.path().join("r.jsonl")).await;
    let (p1, _) = kit.coding_project("one").await;
    let (p2, _) = kit.coding_project("two").await;
    let other_task = kit
        .task(json!({"project_id": p1, "input": "[[say:other]]", "agent": "fake"}))
        .await;
    let other_session = other_task["session_id"].as_str().unwrap().to_owned();
    kit.wait_task(other_task["id"].as_str().unwrap()).await;
    let foreign = kit
        .task(json!({"project_id": p2, "input": "[[say:foreign]]", "agent": "fake"}))
        .await;
    let foreign_id = foreign["id"].as_str().unwrap().to_owned();
    kit.wait_task(&foreign_id).await;

    let mine = kit
        .task(json!({"project_id": p1, "input": "[[say:mine]]", "agent": "fake"}))
        .await;
    let my_session = mine["session_id"].as_str().unwrap().to_owned();
    kit.wait_task(mine["id"].as_str().unwrap()).await;
    let say = |script: String| {
        let (p1, my_session) = (p1.clone(), my_session.clone());
        let kit = &kit;
        async move { agent_says(kit, &p1, Some(&my_session), &script).await }
    };

    let queued = say(format!(
        r#"[[mcp_call:new_task|{{"input":"x","session_id":"{other_session}"}}]]"#
    ))
    .await;
    assert!(
        queued.starts_with("mcp error") && queued.contains("not yours"),
        "{queued}"
    );
    let queued = say(format!(
        r#"[[mcp_call:new_task|{{"input":"x","project_id":"{p2}"}}]]"#
    ))
    .await;
    assert!(
        queued.starts_with("mcp error") && queued.contains("not yours"),
        "{queued}"
    );
    let changes = say(format!(
        r#"[[mcp_call:get_changes|{{"session_id":"{other_session}"}}]]"#
    ))
    .await;
    assert!(
        changes.starts_with("mcp error") && changes.contains("not yours"),
        "{changes}"
    );
    let task = say(format!(
        r#"[[mcp_call:get_task|{{"task_id":"{foreign_id}"}}]]"#
    ))
    .await;
    assert!(
        task.starts_with("mcp error") && task.contains("not found"),
        "{task}"
    );
    let listed = say("[[mcp_call:list_tasks|{}]]".into()).await;
    assert!(listed.starts_with("mcp ok"), "{listed}");
    let listed: Vec<Value> = serde_json::from_str(listed.trim_start_matches("mcp ok ")).unwrap();
    assert!(
        listed.iter().all(|t| t["project_id"] == json!(p1)),
        "{listed:?}"
    );
    assert!(
        listed
            .iter()
            .any(|t| t["session_id"] == json!(other_session))
    );
    assert!(!listed.iter().any(|t| t["id"] == json!(foreign_id)));
    let own = say("[[mcp_call:get_changes|{}]]".into()).await;
    assert!(own.starts_with("mcp ok"), "{own}");

    // Nothing was queued anywhere by the refused calls: the other session has its one task only.
    let others = kit
        .ok(
            "GET",
            &format!("/api/tasks?session_id={other_session}"),
            None,
        )
        .await;
    assert_eq!(others.as_array().unwrap().len(), 1, "{others}");
}
