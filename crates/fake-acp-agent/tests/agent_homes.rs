//! Agents as their users set them up: an agent with `"home": "user"` runs in the user's home (its
//! config applies), one with `"private"` in boocode's; neither sees boocode's secrets; a provider entry
//! with a bad field is left out with the field named while the rest loads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use common::*;
use serde_json::json;

const FAKE: &str = env!("CARGO_BIN_EXE_fake-acp-agent");

#[tokio::test]
async fn user_and_private_homes_and_a_bad_entry_named_by_its_field() {
    init_test_log();
    let user_home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(user_home.path().join(".config/fake")).unwrap();
    std::fs::write(
        user_home.path().join(".config/fake/config.toml"),
        "model = \"from the user's home\"\n",
    )
    .unwrap();
    let providers = json!({"providers": {
        "mine": {"command": FAKE, "label": "Mine", "home": "user"},
        "sealed": {"command": FAKE, "label": "Sealed", "home": "private",
                   "env": {"SEALED_API_KEY": "sk-123", "SEALED_MODE": "fast"}},
        "broken": {"command": FAKE, "home": "elsewhere"},
        "badenv": {"command": FAKE, "env": {"N": 3}},
        "ghost": {"command": "/nonexistent/ghost-agent"}
    }});
    let home = user_home.path().to_path_buf();
    let kit = Kit::start_with_files(&[("providers.json", providers.to_string())], move |c| {
        c.agent_user_home = Some(home);
    })
    .await;
    let (pid, _) = kit.coding_project("app").await;
    let ask = "[[home_file:.config/fake/config.toml]] [[env:HOME]] [[env:BOOCODE_TOKEN]] [[env:BOOCODE_DATABASE_URL]]";
    let run = |agent: &'static str| {
        let kit = &kit;
        let pid = pid.clone();
        async move {
            let t = kit
                .task(json!({"project_id": pid, "agent": agent, "input": ask}))
                .await;
            let t = kit.wait_task(t["id"].as_str().unwrap()).await;
            assert_eq!(t["state"], "completed", "{t}");
            kit.reply_of(&t).await["content"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let mine = run("mine").await;
    assert!(
        mine.contains("home_file .config/fake/config.toml: model = \"from the user's home\""),
        "{mine}"
    );
    assert!(
        mine.contains(&format!("env HOME={}", user_home.path().display())),
        "{mine}"
    );
    let sealed = run("sealed").await;
    assert!(
        sealed.contains("home_file .config/fake/config.toml: missing"),
        "{sealed}"
    );
    assert!(sealed.contains("/agents/sealed/home"), "{sealed}");
    for reply in [&mine, &sealed] {
        assert!(reply.contains("env BOOCODE_TOKEN=unset"), "{reply}");
        assert!(reply.contains("env BOOCODE_DATABASE_URL=unset"), "{reply}");
    }

    // Settings see each agent's home, command line and environment (secret-looking values masked).
    let snap = kit
        .ok(
            "POST",
            "/api/providers/snapshot",
            Some(json!({"force": false})),
        )
        .await;
    let find = |id: &str| {
        snap["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
    };
    let m = find("mine").unwrap();
    assert_eq!(m["home"], "user");
    assert_eq!(m["home_dir"], user_home.path().display().to_string());
    let s = find("sealed").unwrap();
    assert_eq!(s["home"], "private");
    assert_eq!(s["env"]["SEALED_MODE"], "fast");
    assert_ne!(s["env"]["SEALED_API_KEY"], "sk-123", "masked");
    assert_eq!(
        find("opencode").unwrap()["home"],
        "private",
        "wired agents default to private"
    );
    assert_eq!(
        find("gemini").unwrap()["home"],
        "user",
        "others default to the user's home"
    );
    // The bad entries are left out, each named with its field; the good ones loaded.
    assert!(find("broken").is_none() && find("badenv").is_none());
    let why = snap["config_error"].as_str().unwrap();
    assert!(
        why.contains("\"broken\"") && why.contains("\"home\""),
        "{why}"
    );
    assert!(
        why.contains("\"badenv\"") && why.contains("\"env\""),
        "{why}"
    );
    let (status, body) = kit
        .call(
            "POST",
            "/api/tasks",
            Some(json!({"project_id": pid, "agent": "broken", "input": "x"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // An agent that cannot start here is refused with the reason, before anything is queued.
    let (status, body) = kit
        .call(
            "POST",
            "/api/tasks",
            Some(json!({"project_id": pid, "agent": "ghost", "input": "x"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let why = body["error"]["message"].as_str().unwrap();
    assert!(
        why.contains("unavailable")
            && why.contains("not installed")
            && why.contains("/nonexistent/ghost-agent"),
        "{why}"
    );
}
