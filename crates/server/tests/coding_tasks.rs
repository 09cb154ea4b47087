//! Coding tasks end to end: the real server, fakellm scripting tool calls, real git repositories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn write(path: &str, content: &str) -> String {
    format!(
        r#"[[tool:write_file {{"path":"{path}","content":"{content}"}}]] [[reply:Wrote {path}.]]"#
    )
}

fn worktree(kit: &Kit, session: &str) -> PathBuf {
    kit.dir.path().join("data/worktrees").join(session)
}

async fn changes(kit: &Kit, session: &str) -> Vec<Value> {
    kit.ok("GET", &format!("/api/sessions/{session}/changes"), None)
        .await
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn write_review_supersede_accept() {
    let kit = Kit::start().await;
    let (pid, repo) = kit.coding_project("app").await;
    let t1 = kit.task(json!({"project_id": pid, "input": write("a.txt", "hi"), "agent": "native", "model": "fake-model"})).await;
    assert_eq!(t1["state"], "pending");
    let sid = t1["session_id"].as_str().unwrap().to_owned();
    let mut ws = kit.ws(&sid, Some(0)).await;
    let done = kit.wait_task(t1["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert!(
        done["output_summary"]
            .as_str()
            .unwrap()
            .contains("Wrote a.txt")
    );
    assert_eq!(
        std::fs::read_to_string(worktree(&kit, &sid).join("a.txt")).unwrap(),
        "hi"
    );
    assert!(
        !repo.join("a.txt").exists(),
        "the project is untouched before review"
    );
    let list = changes(&kit, &sid).await;
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0]["agent"].as_str(), list[0]["status"].as_str()),
        (Some("native"), Some("pending"))
    );
    assert_eq!(list[0]["files_changed"], 1);
    assert!(list[0]["diff"].as_str().unwrap().contains("+hi"));
    // The turn is a message with its tool call, framed like chat.
    let frames = frames_until(&mut ws, |f| f["type"] == "pending_change").await;
    assert!(
        frames
            .iter()
            .any(|f| f["type"] == "tool_call" && f["tool_call"]["status"] == "completed")
    );
    assert!(
        frames
            .iter()
            .any(|f| f["type"] == "task_updated" && f["task"]["state"] == "running")
    );
    assert!(
        frames.last().unwrap()["change"].get("diff").is_none(),
        "frames carry no diff body"
    );
    let msgs = kit
        .ok(
            "GET",
            &format!("/api/chats/{}/messages", t1["chat_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(msgs[1]["tool_calls"][0]["title"], "Write a.txt");

    let t2 = kit.task(json!({"project_id": pid, "session_id": sid, "input": write("b.txt", "two"), "agent": "native", "model": "fake-model"})).await;
    assert_eq!(
        t2["chat_id"], t1["chat_id"],
        "the session's coder chat is reused"
    );
    kit.wait_task(t2["id"].as_str().unwrap()).await;
    let list = changes(&kit, &sid).await;
    assert_eq!(
        list.iter()
            .map(|c| c["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["pending", "superseded"]
    );
    assert_eq!(
        list[0]["files_changed"], 2,
        "the diff accumulates since the last accepted state"
    );
    let pending = kit
        .ok(
            "GET",
            &format!("/api/sessions/{sid}/changes?status=pending"),
            None,
        )
        .await;
    assert_eq!(pending.as_array().unwrap().len(), 1);
    let (status, v) = kit
        .call(
            "POST",
            &format!("/api/changes/{}/accept", list[1]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("conflict")),
        "a superseded change cannot be accepted"
    );
    let accepted = kit
        .ok(
            "POST",
            &format!("/api/changes/{}/accept", list[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(std::fs::read_to_string(repo.join("a.txt")).unwrap(), "hi");
    assert_eq!(std::fs::read_to_string(repo.join("b.txt")).unwrap(), "two");
    let (status, _) = kit
        .call(
            "POST",
            &format!("/api/changes/{}/accept", list[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 409, "accepted once");
    // After an accept the next diff starts from the accepted state.
    let t3 = kit.task(json!({"project_id": pid, "session_id": sid, "input": write("c.txt", "3"), "agent": "native", "model": "fake-model"})).await;
    kit.wait_task(t3["id"].as_str().unwrap()).await;
    assert_eq!(changes(&kit, &sid).await[0]["files_changed"], 1);
}

#[tokio::test]
async fn reject_restores_and_conflicts_change_nothing() {
    let kit = Kit::start().await;
    let (pid, repo) = kit.coding_project("app").await;
    let t = kit.task(json!({"project_id": pid, "input": write("README.md", "agent version"), "agent": "native", "model": "fake-model"})).await;
    let sid = t["session_id"].as_str().unwrap().to_owned();
    kit.wait_task(t["id"].as_str().unwrap()).await;
    let change = changes(&kit, &sid).await[0].clone();
    let cid = change["id"].as_str().unwrap();
    // The user edits the same file meanwhile: accepting must refuse and touch nothing.
    std::fs::write(repo.join("README.md"), "user version\n").unwrap();
    let (status, v) = kit
        .call("POST", &format!("/api/changes/{cid}/accept"), None)
        .await;
    assert_eq!(status, 409, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was changed")
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("README.md")).unwrap(),
        "user version\n"
    );
    assert_eq!(changes(&kit, &sid).await[0]["status"], "pending");
    let rejected = kit
        .ok("POST", &format!("/api/changes/{cid}/reject"), None)
        .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(
        std::fs::read_to_string(worktree(&kit, &sid).join("README.md")).unwrap(),
        "# demo\n"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("README.md")).unwrap(),
        "user version\n"
    );
}

#[tokio::test]
async fn deleting_the_session_removes_worktree_and_branch() {
    let kit = Kit::start().await;
    let (pid, repo) = kit.coding_project("app").await;
    let t = kit.task(json!({"project_id": pid, "input": write("x.txt", "x"), "agent": "native", "model": "fake-model"})).await;
    let sid = t["session_id"].as_str().unwrap().to_owned();
    kit.wait_task(t["id"].as_str().unwrap()).await;
    assert!(worktree(&kit, &sid).exists());
    assert!(git(&repo, &["branch", "--list", &format!("boocode/{sid}")]).contains(&sid));
    let (status, _) = kit
        .call("DELETE", &format!("/api/sessions/{sid}"), None)
        .await;
    assert_eq!(status, 204);
    assert!(!worktree(&kit, &sid).exists());
    assert!(git(&repo, &["branch", "--list", &format!("boocode/{sid}")]).is_empty());
    assert!(!git(&repo, &["worktree", "list"]).contains(&sid));
    let (status, _) = kit
        .call(
            "GET",
            &format!("/api/tasks/{}", t["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 404, "the session's tasks went with it");
}

#[tokio::test]
async fn one_task_at_a_time_per_session_sessions_in_parallel() {
    let kit = Kit::start().await;
    let (pid, _) = kit.coding_project("app").await;
    let slow = "[[tokens:30]] [[delay_ms:10]]";
    let a1 = kit
        .task(json!({"project_id": pid, "input": slow, "agent": "native", "model": "fake-model"}))
        .await;
    let sa = a1["session_id"].as_str().unwrap();
    let a2 = kit.task(json!({"project_id": pid, "session_id": sa, "input": slow, "agent": "native", "model": "fake-model"})).await;
    let b = kit
        .task(json!({"project_id": pid, "input": slow, "agent": "native", "model": "fake-model"}))
        .await;
    let (a1, a2, b) = (
        kit.wait_task(a1["id"].as_str().unwrap()).await,
        kit.wait_task(a2["id"].as_str().unwrap()).await,
        kit.wait_task(b["id"].as_str().unwrap()).await,
    );
    let at =
        |t: &Value, k: &str| chrono::DateTime::parse_from_rfc3339(t[k].as_str().unwrap()).unwrap();
    assert!(
        at(&a2, "started_at") >= at(&a1, "ended_at"),
        "same session: one after the other"
    );
    assert!(
        at(&b, "started_at") < at(&a1, "ended_at"),
        "other session: overlaps"
    );
    assert!(a1["cost_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn bad_input_is_refused_before_queueing() {
    let kit = Kit::start_with(None, |c| c.disabled_agents = vec!["native".into()]).await;
    let (pid, repo) = kit.coding_project("app").await;
    let cases = [
        (
            json!({"project_id": pid, "input": "x", "agent": "native"}),
            400,
            "disabled",
        ),
        (
            json!({"project_id": pid, "input": "x", "agent": "nope"}),
            400,
            "unknown agent",
        ),
        (
            json!({"project_id": "01a2f000-0000-7000-8000-000000000000", "input": "x", "agent": "native"}),
            404,
            "not found",
        ),
        (
            json!({"project_id": pid, "input": "  ", "agent": "native"}),
            400,
            "input",
        ),
        (json!({"project_id": pid, "agent": "native"}), 400, "input"),
        (
            json!({"project_id": pid, "input": "x", "agent": "native", "bogus": 1}),
            400,
            "bogus",
        ),
    ];
    for (body, status, needle) in cases {
        let (got, v) = kit.call("POST", "/api/tasks", Some(body.clone())).await;
        assert_eq!(got, status, "{body}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{body}: {v}"
        );
    }
    assert_eq!(kit.ok("GET", "/api/tasks", None).await, json!([]));
    let (status, _) = kit.call("GET", "/api/tasks?state=weird", None).await;
    assert_eq!(status, 400);
    let kit2 = Kit::start().await;
    let (pid2, _) = kit2.coding_project("app2").await;
    let other = kit2.task(json!({"project_id": pid2, "input": "[[reply:hi]]", "agent": "native", "model": "fake-model"})).await;
    let (pid3, _) = kit2.coding_project("app3").await;
    let (status, v) = kit2
        .call("POST", "/api/tasks", Some(json!({"project_id": pid3, "session_id": other["session_id"], "input": "x", "agent": "native"})))
        .await;
    assert_eq!(status, 400, "{v}");
    drop(repo);
}

#[tokio::test]
async fn failures_keep_the_reason_and_the_worktree() {
    let kit = Kit::start().await;
    // A repository without commits cannot host a worktree.
    let empty = git_repo(kit.dir.path(), "empty");
    let p = kit
        .ok("POST", "/api/projects", Some(json!({"path": empty})))
        .await;
    let t = kit
        .task(
            json!({"project_id": p["id"], "input": "x", "agent": "native", "model": "fake-model"}),
        )
        .await;
    let t = kit.wait_task(t["id"].as_str().unwrap()).await;
    assert_eq!(t["state"], "failed");
    assert!(t["error"].as_str().unwrap().contains("no commits"), "{t}");

    // The model server dies mid-turn, after a tool already wrote: failed, reason kept, work kept.
    let (pid, _) = kit.coding_project("app").await;
    let first = kit.task(json!({"project_id": pid, "input": write("kept.txt", "k"), "agent": "native", "model": "fake-model"})).await;
    let sid = first["session_id"].as_str().unwrap().to_owned();
    kit.wait_task(first["id"].as_str().unwrap()).await;
    let t = kit.task(json!({"project_id": pid, "session_id": sid, "input": "[[tokens:50]] [[drop_after:5]]", "agent": "native", "model": "fake-model"})).await;
    let t = kit.wait_task(t["id"].as_str().unwrap()).await;
    assert_eq!(t["state"], "failed");
    assert!(t["error"].as_str().unwrap().contains("cut off"), "{t}");
    assert!(worktree(&kit, &sid).join("kept.txt").exists());
    let msgs = kit
        .ok(
            "GET",
            &format!("/api/chats/{}/messages", t["chat_id"].as_str().unwrap()),
            None,
        )
        .await;
    let last = msgs.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["status"], "error");
    assert!(last["content"].as_str().unwrap().starts_with("tok0"));

    // The project directory disappears.
    let (gone_id, gone) = kit.coding_project("gone").await;
    std::fs::remove_dir_all(&gone).unwrap();
    let (status, v) = kit
        .call(
            "POST",
            "/api/tasks",
            Some(json!({"project_id": gone_id, "input": "x", "agent": "native"})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
}

#[tokio::test]
async fn cancel_pending_and_running() {
    let kit = Kit::start().await;
    let (pid, _) = kit.coding_project("app").await;
    let running = kit.task(json!({"project_id": pid, "input": "[[tokens:2000]] [[delay_ms:5]]", "agent": "native", "model": "fake-model"})).await;
    let sid = running["session_id"].as_str().unwrap();
    let queued = kit.task(json!({"project_id": pid, "session_id": sid, "input": "x", "agent": "native", "model": "fake-model"})).await;
    let rid = running["id"].as_str().unwrap();
    for _ in 0..200 {
        if kit.ok("GET", &format!("/api/tasks/{rid}"), None).await["state"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let q = kit
        .ok(
            "POST",
            &format!("/api/tasks/{}/cancel", queued["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(q["state"], "cancelled");
    kit.ok("POST", &format!("/api/tasks/{rid}/cancel"), None)
        .await;
    let r = kit.wait_task(rid).await;
    assert_eq!(r["state"], "cancelled", "{r}");
    let msgs = kit
        .ok(
            "GET",
            &format!("/api/chats/{}/messages", r["chat_id"].as_str().unwrap()),
            None,
        )
        .await;
    let reply = msgs
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == r["message_id"])
        .unwrap()
        .clone();
    assert_eq!(reply["status"], "cancelled");
    assert!(
        reply["content"].as_str().unwrap().starts_with("tok0"),
        "partial text kept"
    );
    let again = kit
        .ok("POST", &format!("/api/tasks/{rid}/cancel"), None)
        .await;
    assert_eq!(
        again["state"], "cancelled",
        "cancelling a finished task changes nothing"
    );
    let (status, _) = kit
        .call(
            "POST",
            "/api/tasks/01a2f000-0000-7000-8000-000000000000/cancel",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn two_workers_on_postgres_run_each_task_once() {
    let Ok(url) = std::env::var("BOOCODE_TEST_DATABASE_URL") else {
        missing("postgres", "the two-worker test");
        return;
    };
    // A database of its own: other tests' queued tasks must not be claimed here.
    let url = fresh_database(&url).await;
    // One task at a time per worker: with four sessions queued, both must take part.
    let a = Kit::start_with(Some(url.clone()), |c| c.max_parallel_tasks = 1).await;
    let b = Kit::start_with(Some(url), |c| c.max_parallel_tasks = 1).await;
    let (pid, _) = a.coding_project("shared").await;
    let mut sessions = Vec::new();
    for _ in 0..4 {
        let t = a.task(json!({"project_id": pid, "input": "[[reply:seed]]", "agent": "native", "model": "fake-model"})).await;
        sessions.push(t["session_id"].as_str().unwrap().to_owned());
    }
    // A client of B follows a session whose tasks either worker may run.
    let mut ws = b.ws(&sessions[0], Some(0)).await;
    let mut ids = Vec::new();
    for n in 0..12 {
        let kit = if n % 2 == 0 { &a } else { &b };
        let body = json!({"project_id": pid, "session_id": sessions[n % 4], "input": format!("[[reply:task {n}]]"), "agent": "native", "model": "fake-model"});
        ids.push(kit.task(body).await["id"].as_str().unwrap().to_owned());
    }
    let mut workers = std::collections::BTreeSet::new();
    for id in &ids {
        let t = a.wait_task(id).await;
        assert_eq!(t["state"], "completed", "{t}");
        workers.insert(t["worker_id"].as_str().unwrap().to_owned());
    }
    // Exactly once: each task wrote one user and one assistant message.
    for s in &sessions {
        let chats = a.ok("GET", &format!("/api/sessions/{s}/chats"), None).await;
        let msgs = a
            .ok(
                "GET",
                &format!("/api/chats/{}/messages", chats[0]["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(
            msgs.as_array().unwrap().len(),
            2 * 4,
            "seed + 3 tasks, each once"
        );
    }
    assert_eq!(workers.len(), 2, "both workers took tasks: {workers:?}");
    let frames = frames_until(&mut ws, |f| {
        f["type"] == "task_updated"
            && f["task"]["id"] == ids[8].as_str()
            && f["task"]["state"] == "completed"
    })
    .await;
    let s = seqs(&frames);
    assert_eq!(
        s,
        (1..=s.len() as u64).collect::<Vec<_>>(),
        "contiguous across workers"
    );
}

async fn fresh_database(url: &str) -> String {
    let name = format!("boocode_w_{}", uuid_like());
    let (base, _) = url.rsplit_once('/').unwrap();
    let status = std::process::Command::new("psql")
        .args([url, "-qc", &format!("CREATE DATABASE {name}")])
        .status()
        .unwrap();
    assert!(status.success());
    format!("{base}/{name}")
}

#[tokio::test]
async fn deleting_the_project_removes_its_worktrees() {
    let kit = Kit::start().await;
    let (pid, repo) = kit.coding_project("app").await;
    let t = kit.task(json!({"project_id": pid, "input": write("y.txt", "y"), "agent": "native", "model": "fake-model"})).await;
    let sid = t["session_id"].as_str().unwrap().to_owned();
    kit.wait_task(t["id"].as_str().unwrap()).await;
    assert!(worktree(&kit, &sid).exists());
    let (status, _) = kit
        .call("DELETE", &format!("/api/projects/{pid}"), None)
        .await;
    assert_eq!(status, 204);
    assert!(!worktree(&kit, &sid).exists());
    assert!(git(&repo, &["branch", "--list", "boocode/*"]).is_empty());
    assert!(
        repo.join("README.md").exists(),
        "the project's own files stay"
    );
}

/// A worker paused past its lease (SIGSTOP, a frozen VM) wakes up after another worker took the task
/// over: every side effect of its turn is fenced by the lease generation — its pending file write is
/// refused, it commits nothing, offers no pending change and does not rewrite the reply.
#[tokio::test]
async fn a_worker_that_lost_its_lease_writes_nothing() {
    let kit = Kit::start().await;
    let (pid, _) = kit.coding_project("fenced").await;
    // The model answers after 3 s with a file write: the takeover happens while it thinks.
    let task = kit
        .task(json!({"project_id": pid, "input": r#"[[first_delay_ms:3000]] [[tool:write_file {"path":"stale.txt","content":"from the old owner"}]] [[reply:done]]"#, "agent": "native", "model": "fake-model"}))
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let sid = task["session_id"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        // Running, with its reply started: the turn is under way.
        if !kit.ok("GET", &format!("/api/tasks/{id}"), None).await["message_id"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Another worker takes the task over: back to the queue under this worker's generation (1), then
    // claimed at once by "the-new-owner" (generation 2).
    let url = format!(
        "sqlite://{}",
        kit.dir.path().join("data/boocode.db").display()
    );
    let other = boocode_store::open(&url).await.unwrap();
    let task_id = boocode_protocol::TaskId(id.clone());
    other
        .requeue_task(&task_id, 1, "taken over")
        .await
        .unwrap()
        .unwrap();
    let until = chrono::Utc::now() + chrono::Duration::minutes(10);
    let taken = other
        .claim_task_id(&task_id, "the-new-owner", until)
        .await
        .unwrap()
        .expect("the new owner claims the task");
    assert_eq!(taken.generation, 2);

    tokio::time::sleep(Duration::from_millis(5000)).await;
    let worktree = kit.dir.path().join(format!("data/worktrees/{sid}"));
    assert!(
        !worktree.join("stale.txt").exists(),
        "the old owner wrote a file after losing its lease"
    );
    let changes = kit
        .ok("GET", &format!("/api/sessions/{sid}/changes"), None)
        .await;
    assert_eq!(changes, json!([]), "the old owner offered a pending change");
    let t = kit.ok("GET", &format!("/api/tasks/{id}"), None).await;
    assert_eq!(
        (t["state"].as_str(), t["worker_id"].as_str()),
        (Some("running"), Some("the-new-owner")),
        "the old owner overwrote the task: {t}"
    );
    let chat = t["chat_id"].as_str().unwrap();
    let msgs = kit
        .ok("GET", &format!("/api/chats/{chat}/messages"), None)
        .await;
    assert!(
        msgs.as_array()
            .unwrap()
            .iter()
            .all(|m| m["role"] != "assistant" || m["status"] != "complete"),
        "the old owner finished the reply: {msgs}"
    );
}

/// A worker claims only tasks whose repository it can reach: with the checkout gone (here its `.git`
/// moved away) the task waits, saying why, instead of failing; once the repository is back it runs.
#[tokio::test]
async fn a_task_waits_with_a_reason_until_its_repository_is_reachable() {
    let kit = Kit::start().await;
    let (pid, repo) = kit.coding_project("elsewhere").await;
    std::fs::rename(repo.join(".git"), repo.join(".git-away")).unwrap();
    let task = kit
        .task(json!({"project_id": pid, "input": "[[reply:ran]]", "agent": "native", "model": "fake-model"}))
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let mut t = Value::Null;
    for _ in 0..200 {
        t = kit.ok("GET", &format!("/api/tasks/{id}"), None).await;
        if t["error"]
            .as_str()
            .is_some_and(|e| e.contains("waiting for a worker that can reach"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(t["state"], "pending", "{t}");
    assert!(
        t["error"]
            .as_str()
            .unwrap()
            .contains(&repo.display().to_string()),
        "{t}"
    );
    std::fs::rename(repo.join(".git-away"), repo.join(".git")).unwrap();
    let done = kit.wait_task(&id).await;
    assert_eq!(done["state"], "completed", "{done}");
}

/// 200 tasks in 20 sessions through two workers sharing PostgreSQL: every one completes, exactly once,
/// and both workers take part.
#[tokio::test]
async fn two_workers_on_postgres_run_200_tasks_with_none_failed() {
    let Ok(url) = std::env::var("BOOCODE_TEST_DATABASE_URL") else {
        missing("postgres", "the 200-task two-worker test");
        return;
    };
    let url = fresh_database(&url).await;
    let a = Kit::start_with(Some(url.clone()), |c| c.max_parallel_tasks = 4).await;
    let b = Kit::start_with(Some(url), |c| c.max_parallel_tasks = 4).await;
    let (pid, _) = a.coding_project("busy").await;
    let mut sessions = Vec::new();
    for n in 0..20 {
        let t = a.task(json!({"project_id": pid, "input": format!("[[reply:seed {n}]]"), "agent": "native", "model": "fake-model"})).await;
        sessions.push(t["session_id"].as_str().unwrap().to_owned());
    }
    let mut ids = Vec::new();
    for n in 0..180 {
        let kit = if n % 2 == 0 { &a } else { &b };
        let body = json!({"project_id": pid, "session_id": sessions[n % 20], "input": format!("[[reply:task {n}]]"), "agent": "native", "model": "fake-model"});
        ids.push(kit.task(body).await["id"].as_str().unwrap().to_owned());
    }
    let mut workers = std::collections::BTreeSet::new();
    for id in &ids {
        let t = a.wait_task_for(id, Duration::from_secs(120)).await;
        assert_eq!(t["state"], "completed", "{t}");
        workers.insert(t["worker_id"].as_str().unwrap().to_owned());
    }
    let all = a.ok("GET", "/api/tasks", None).await;
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 200);
    assert!(
        all.iter()
            .all(|t| t["state"] == "completed" && t["attempts"] == 1),
        "every task completed on its first start"
    );
    assert_eq!(workers.len(), 2, "both workers took tasks: {workers:?}");
}
