//! Arenas through the whole server: the native agent and the scripted ACP agent race one input from the
//! same base commit, each with its own diff and check result; picking applies only the chosen diff; a
//! conflicting pick is a 409 that changes nothing; bad input, a crashing contender and a hanging check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const FAKE: &str = env!("CARGO_BIN_EXE_fake-acp-agent");

async fn kit() -> Kit {
    init_test_log();
    let providers = json!({"providers": {"fake": {"command": FAKE, "label": "Fake agent"}}});
    Kit::start_with_files(&[("providers.json", providers.to_string())], |c| {
        c.default_model = Some("fake-model".into());
    })
    .await
}

/// Both agents answer the same input: fakellm's directives drive the native agent, the fake agent
/// follows its own.
const BOTH_WRITE: &str = r#"[[tool:write_file {"path":"native.txt","content":"by native"}]] [[reply:native done]] [[write:fake.txt by fake]] [[say:fake done]]"#;

async fn wait_arena(kit: &Kit, id: &str, status: &str) -> Value {
    for _ in 0..400 {
        let a = kit.ok("GET", &format!("/api/arenas/{id}"), None).await;
        if a["status"] == status {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("arena {id} never became {status}");
}

#[tokio::test]
async fn contenders_race_from_one_base_and_the_pick_lands_alone() {
    let kit = kit().await;
    let (pid, repo) = kit.coding_project("app").await;
    let (status, arena) = kit
        .call(
            "POST",
            "/api/arenas",
            Some(json!({"project_id": pid, "input": BOTH_WRITE,
                "contenders": [{"agent": "native"}, {"agent": "fake"}],
                "check": "test -f native.txt && echo native-ok"})),
        )
        .await;
    assert_eq!(status, 201, "{arena}");
    let id = arena["id"].as_str().unwrap().to_owned();
    let base = arena["base_commit"].as_str().unwrap().to_owned();
    let mut ws = kit
        .ws(arena["contenders"][0]["session_id"].as_str().unwrap(), None)
        .await;
    let arena = wait_arena(&kit, &id, "finished").await;
    // The race was framed into the lanes' sessions.
    frames_until(&mut ws, |f| {
        f["type"] == "arena_updated" && f["arena"]["status"] == "finished"
    })
    .await;
    let lanes = arena["contenders"].as_array().unwrap();
    for (lane, file) in lanes.iter().zip(["native.txt", "fake.txt"]) {
        assert_eq!(lane["state"], "completed", "{lane}");
        let diff = lane["change"]["diff"].as_str().unwrap();
        assert!(diff.contains(file), "{lane}");
        assert_eq!(lane["change"]["files_changed"], 1);
        assert!(lane["duration_ms"].as_u64().is_some(), "{lane}");
        let wt = kit
            .dir
            .path()
            .join("data/worktrees")
            .join(lane["session_id"].as_str().unwrap());
        let head = git(&wt, &["rev-parse", "HEAD~1"]);
        assert_eq!(head.trim(), base, "every lane starts from the same commit");
    }
    // The check ran in each worktree: only the native lane wrote native.txt.
    assert_eq!(lanes[0]["check"]["status"], "passed", "{}", lanes[0]);
    assert!(
        lanes[0]["check"]["output_tail"]
            .as_str()
            .unwrap()
            .contains("native-ok")
    );
    assert_eq!(lanes[1]["check"]["status"], "failed", "{}", lanes[1]);
    assert_eq!(lanes[1]["check"]["exit_code"], 1);

    let picked = kit
        .ok(
            "POST",
            &format!("/api/arenas/{id}/pick"),
            Some(json!({"contender": 1})),
        )
        .await;
    assert_eq!(
        (picked["status"].as_str(), picked["picked"].as_u64()),
        (Some("picked"), Some(1))
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("fake.txt")).unwrap(),
        "by fake"
    );
    assert!(
        !repo.join("native.txt").exists(),
        "only the picked diff lands"
    );
    assert_eq!(picked["contenders"][1]["change"]["status"], "accepted");
    let other = kit
        .ok(
            "GET",
            &format!("/api/sessions/{}", lanes[0]["session_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(other["status"], "closed");
    let (status, again) = kit
        .call(
            "POST",
            &format!("/api/arenas/{id}/pick"),
            Some(json!({"contender": 0})),
        )
        .await;
    assert_eq!(status, 409, "{again}");

    // Deleting the arena deletes the other lane (and its worktree), not the picked one.
    let (status, _) = kit.call("DELETE", &format!("/api/arenas/{id}"), None).await;
    assert_eq!(status, 204);
    let gone = lanes[0]["session_id"].as_str().unwrap();
    let (status, _) = kit
        .call("GET", &format!("/api/sessions/{gone}"), None)
        .await;
    assert_eq!(status, 404);
    assert!(!kit.dir.path().join("data/worktrees").join(gone).exists());
    let kept = lanes[1]["session_id"].as_str().unwrap();
    assert_eq!(
        kit.call("GET", &format!("/api/sessions/{kept}"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        kit.call("GET", &format!("/api/arenas/{id}"), None).await.0,
        404
    );
}

#[tokio::test]
async fn a_conflicting_pick_is_a_409_and_changes_nothing() {
    let kit = kit().await;
    let (pid, repo) = kit.coding_project("app").await;
    let input = r#"[[tool:write_file {"path":"README.md","content":"native readme\n"}]] [[reply:ok]] [[write:README.md fake readme]] [[say:ok]]"#;
    let arena = kit
        .ok(
            "POST",
            "/api/arenas",
            Some(json!({"project_id": pid, "input": input,
            "contenders": [{"agent": "native"}, {"agent": "fake"}]})),
        )
        .await;
    let id = arena["id"].as_str().unwrap().to_owned();
    wait_arena(&kit, &id, "finished").await;
    // Meanwhile the user changed the same file in the project.
    std::fs::write(repo.join("README.md"), "the user's own edit\n").unwrap();
    let (status, err) = kit
        .call(
            "POST",
            &format!("/api/arenas/{id}/pick"),
            Some(json!({"contender": 0})),
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(
        std::fs::read_to_string(repo.join("README.md")).unwrap(),
        "the user's own edit\n"
    );
    let arena = kit.ok("GET", &format!("/api/arenas/{id}"), None).await;
    assert_eq!(arena["status"], "finished");
    assert_eq!(arena["contenders"][0]["change"]["status"], "pending");
}

#[tokio::test]
async fn bad_arenas_are_refused_and_a_crashing_contender_fails_alone() {
    let kit = kit().await;
    let (pid, _) = kit.coding_project("app").await;
    for (body, needle) in [
        (
            json!({"project_id": pid, "input": "x", "contenders": [{"agent": "native"}]}),
            "2 to 6",
        ),
        (
            json!({"project_id": pid, "input": "x", "contenders": [{"agent": "native"}, {"agent": "nobody"}]}),
            "nobody",
        ),
        (
            json!({"project_id": pid, "input": " ", "contenders": [{"agent": "native"}, {"agent": "fake"}]}),
            "input",
        ),
    ] {
        let (status, err) = kit.call("POST", "/api/arenas", Some(body)).await;
        assert_eq!(status, 400, "{err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(needle),
            "{err}"
        );
    }
    let (status, _) = kit
        .call(
            "POST",
            "/api/arenas",
            Some(json!({"project_id": "nope", "input": "x",
            "contenders": [{"agent": "native"}, {"agent": "fake"}]})),
        )
        .await;
    assert_eq!(status, 404);
    // Nothing half made was left behind.
    assert_eq!(
        kit.ok("GET", &format!("/api/projects/{pid}/sessions"), None)
            .await,
        json!([])
    );

    let arena = kit
        .ok(
            "POST",
            "/api/arenas",
            Some(
                json!({"project_id": pid, "input": "[[crash]] [[reply:still here]]",
            "contenders": [{"agent": "fake"}, {"agent": "native"}],
            "check": "sleep 30", "check_timeout_secs": 1}),
            ),
        )
        .await;
    let arena = wait_arena(&kit, arena["id"].as_str().unwrap(), "finished").await;
    let lanes = arena["contenders"].as_array().unwrap();
    assert_eq!(lanes[0]["state"], "failed", "{}", lanes[0]);
    assert_eq!(lanes[1]["state"], "completed", "{}", lanes[1]);
    for lane in lanes {
        assert_eq!(lane["check"]["status"], "timed_out", "{lane}");
        assert!(
            lane["check"]["output_tail"]
                .as_str()
                .unwrap()
                .contains("killed after 1 s")
        );
    }
}

#[tokio::test]
async fn two_models_on_the_native_agent_race_and_the_leaderboard_counts_the_pick() {
    let kit = kit().await;
    let (pid, repo) = kit.coding_project("models").await;
    // One prompt, a different answer per model: fakellm reads the part after `[[model:NAME]]`.
    let input = r#"[[model:fake-model]] [[tool:write_file {"path":"a.txt","content":"one"}]] [[reply:one done]] [[model:fake-model-2]] [[tool:write_file {"path":"a.txt","content":"two"}]] [[reply:two done]]"#;
    for (bad, needle) in [
        (
            json!([{"agent": "native", "model": "fake-model"}]),
            "2 to 6",
        ),
        (
            json!([{"agent": "native", "model": "fake-model"}, {"agent": "native", "model": "nope"}]),
            "nope",
        ),
        (
            json!([{"agent": "native", "model": "fake-model"}, {"agent": "ghost"}]),
            "ghost",
        ),
    ] {
        let (status, body) = kit
            .call(
                "POST",
                "/api/arenas",
                Some(json!({"project_id": pid, "input": input, "contenders": bad})),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains(needle), "{needle}: {body}");
    }
    let arena = kit
        .ok(
            "POST",
            "/api/arenas",
            Some(
                json!({"project_id": pid, "input": input, "check": "grep -q two a.txt",
                "contenders": [{"agent": "native", "model": "fake-model"},
                               {"agent": "native", "model": "fake-model-2"}]}),
            ),
        )
        .await;
    let id = arena["id"].as_str().unwrap().to_owned();
    let arena = wait_arena(&kit, &id, "finished").await;
    let lanes = arena["contenders"].as_array().unwrap();
    assert_eq!(lanes[0]["model"], "fake-model");
    assert_eq!(lanes[1]["model"], "fake-model-2");
    for lane in lanes {
        assert_eq!(lane["state"], "completed", "{lane}");
        assert!(lane["ttft_ms"].is_u64(), "time to first token: {lane}");
        assert!(lane["duration_ms"].is_u64());
    }
    assert!(
        lanes[0]["change"]["diff"]
            .as_str()
            .unwrap()
            .contains("+one")
    );
    assert!(
        lanes[1]["change"]["diff"]
            .as_str()
            .unwrap()
            .contains("+two")
    );
    assert_eq!(lanes[0]["check"]["status"], "failed");
    assert_eq!(lanes[1]["check"]["status"], "passed");

    // A lane's change lands only through the pick.
    let lane_change = lanes[0]["change"]["id"].as_str().unwrap();
    let (status, body) = kit
        .call("POST", &format!("/api/changes/{lane_change}/accept"), None)
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(!repo.join("a.txt").exists());
    let picked = kit
        .ok(
            "POST",
            &format!("/api/arenas/{id}/pick"),
            Some(json!({"contender": 1})),
        )
        .await;
    assert_eq!(picked["picked"], 1);
    assert_eq!(std::fs::read_to_string(repo.join("a.txt")).unwrap(), "two");
    assert_eq!(
        picked["contenders"][0]["change"]["status"], "rejected",
        "the losing lane cannot be accepted any more"
    );

    let listed = kit
        .ok("GET", &format!("/api/arenas?project_id={pid}"), None)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], arena["id"]);
    let (status, _) = kit.call("GET", "/api/arenas", None).await;
    assert_eq!(status, 400, "the project is required");
    let board = kit
        .ok("GET", &format!("/api/projects/{pid}/leaderboard"), None)
        .await;
    let board = board.as_array().unwrap();
    assert_eq!(board.len(), 2);
    assert_eq!(
        (
            board[0]["model"].as_str(),
            board[0]["wins"].as_u64(),
            board[0]["checks_passed"].as_u64()
        ),
        (Some("fake-model-2"), Some(1), Some(1))
    );
    assert_eq!(
        (board[1]["wins"].as_u64(), board[1]["checks_run"].as_u64()),
        (Some(0), Some(1))
    );
}
