//! Reviewing a change in parts and landing it the way the user works: the real server, fakellm writing
//! files through the native agent, real git repositories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};

/// Thirty numbered lines, so edits at line 2 and line 25 are two hunks.
fn lines() -> Vec<String> {
    (1..=30).map(|n| format!("line {n}")).collect()
}

fn text(lines: &[String]) -> String {
    lines.join("\n") + "\n"
}

/// A fakellm script writing each (path, content) with the native agent's write tool.
fn writes(files: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (path, content) in files {
        let args = json!({"path": path, "content": content});
        out.push_str(&format!("[[tool:write_file {args}]] "));
    }
    out + "[[reply:Done.]]"
}

struct Setup {
    kit: Kit,
    project: String,
    repo: PathBuf,
    session: String,
}

/// A project with a.txt and b.txt committed, and a finished turn that changed a.txt at lines 2 and 25
/// and b.txt at line 10: two files, three hunks.
async fn three_hunks() -> Setup {
    let kit = Kit::start().await;
    let repo = committed_repo(kit.dir.path(), "app");
    std::fs::write(repo.join("a.txt"), text(&lines())).unwrap();
    std::fs::write(repo.join("b.txt"), text(&lines())).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "files"]);
    let p = kit
        .ok("POST", "/api/projects", Some(json!({"path": repo})))
        .await;
    let project = p["id"].as_str().unwrap().to_owned();
    let mut a = lines();
    a[1] = "line 2 changed".into();
    a[24] = "line 25 changed".into();
    let mut b = lines();
    b[9] = "line 10 changed".into();
    let task = kit
        .task(
            json!({"project_id": project, "agent": "native", "model": "fake-model",
            "input": writes(&[("a.txt", text(&a)), ("b.txt", text(&b))])}),
        )
        .await;
    let done = kit.wait_task(task["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "completed", "{done}");
    Setup {
        kit,
        project,
        repo,
        session: task["session_id"].as_str().unwrap().to_owned(),
    }
}

impl Setup {
    async fn pending(&self) -> Value {
        let list = self
            .kit
            .ok(
                "GET",
                &format!("/api/sessions/{}/changes?status=pending", self.session),
                None,
            )
            .await;
        let id = list[0]["id"].as_str().expect("a pending change").to_owned();
        self.kit
            .ok("GET", &format!("/api/changes/{id}"), None)
            .await
    }

    fn worktree(&self) -> PathBuf {
        self.kit
            .dir
            .path()
            .join("data/worktrees")
            .join(&self.session)
    }
}

/// Every hunk of a detail as (path, id, its changed lines).
fn hunks(detail: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for file in detail["files"].as_array().unwrap() {
        for hunk in file["hunks"].as_array().unwrap() {
            let changed = hunk["lines"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["kind"] != "context")
                .map(|l| {
                    format!(
                        "{}{}",
                        if l["kind"] == "added" { "+" } else { "-" },
                        l["text"].as_str().unwrap()
                    )
                })
                .collect();
            out.push((
                file["path"].as_str().unwrap().to_owned(),
                hunk["id"].as_str().unwrap().to_owned(),
                changed,
            ));
        }
    }
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn accept_one_hunk_then_reject_one_the_rest_stays_pending() {
    let s = three_hunks().await;
    let detail = s.pending().await;
    let all = hunks(&detail);
    assert_eq!(all.len(), 3, "{detail}");
    assert_eq!(
        all.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(),
        ["a.txt", "a.txt", "b.txt"]
    );
    assert_eq!(all[0].2, ["-line 2", "+line 2 changed"]);
    let first = &detail["files"][0]["hunks"][0];
    assert_eq!(first["header"], "@@ -1,5 +1,5 @@");
    assert_eq!(first["lines"][1]["old_line"], 2);
    assert_eq!(detail["files"][0]["status"], "modified");

    // Accept a.txt's first hunk: the project has exactly that hunk.
    let id = detail["id"].as_str().unwrap();
    let decision = s
        .kit
        .ok(
            "POST",
            &format!("/api/changes/{id}/accept"),
            Some(json!({"hunks": [all[0].1]})),
        )
        .await;
    assert_eq!(decision["status"], "accepted");
    assert!(
        decision["diff"]
            .as_str()
            .unwrap()
            .contains("+line 2 changed")
    );
    assert!(
        !decision["diff"]
            .as_str()
            .unwrap()
            .contains("line 25 changed")
    );
    let mut expected = lines();
    expected[1] = "line 2 changed".into();
    assert_eq!(read(&s.repo.join("a.txt")), text(&expected));
    assert_eq!(read(&s.repo.join("b.txt")), text(&lines()));

    // The other two hunks are the session's pending change, with the same ids.
    let rest = s.pending().await;
    assert_eq!(rest["id"], decision["remaining"]["id"]);
    let left = hunks(&rest);
    assert_eq!(
        left.iter().map(|h| h.1.clone()).collect::<Vec<_>>(),
        [all[1].1.clone(), all[2].1.clone()]
    );
    assert_eq!(
        (rest["files_changed"].as_u64(), rest["insertions"].as_u64()),
        (Some(2), Some(2))
    );

    // Hunk ids of the accepted change, or of no change, are refused and nothing moves.
    let (status, body) = s
        .kit
        .call(
            "POST",
            &format!("/api/changes/{id}/accept"),
            Some(json!({"hunks": [all[1].1]})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let rid = rest["id"].as_str().unwrap();
    let (status, body) = s
        .kit
        .call(
            "POST",
            &format!("/api/changes/{rid}/accept"),
            Some(json!({"hunks": [all[0].1]})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&all[0].1),
        "{body}"
    );
    let (status, body) = s
        .kit
        .call(
            "POST",
            &format!("/api/changes/{rid}/reject"),
            Some(json!({"files": ["nope.txt"]})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = s
        .kit
        .call(
            "POST",
            &format!("/api/changes/{rid}/reject"),
            Some(json!({"hunks": []})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = s
        .kit
        .call(
            "POST",
            &format!("/api/changes/{rid}/accept"),
            Some(json!({"hunk": []})),
        )
        .await;
    assert_eq!(status, 400, "unknown fields are refused");
    assert_eq!(s.pending().await["id"], rest["id"], "nothing was decided");

    // Reject b.txt's hunk: the worktree loses it; a.txt's second hunk stays pending.
    let decision = s
        .kit
        .ok(
            "POST",
            &format!("/api/changes/{rid}/reject"),
            Some(json!({"hunks": [all[2].1]})),
        )
        .await;
    assert_eq!(decision["status"], "rejected");
    assert_eq!(read(&s.worktree().join("b.txt")), text(&lines()));
    assert_eq!(read(&s.repo.join("b.txt")), text(&lines()));
    let last = s.pending().await;
    assert_eq!(
        hunks(&last).iter().map(|h| h.1.clone()).collect::<Vec<_>>(),
        [all[1].1.clone()]
    );

    // The next turn's diff agrees: b.txt's rejected hunk and a.txt's accepted one are not in it.
    let task = s
        .kit
        .task(
            json!({"project_id": s.project, "session_id": s.session, "agent": "native",
            "model": "fake-model", "input": writes(&[("c.txt", "new\n".into())])}),
        )
        .await;
    s.kit.wait_task(task["id"].as_str().unwrap()).await;
    let next = s.pending().await;
    let diff = next["diff"].as_str().unwrap();
    assert!(
        diff.contains("+line 25 changed") && diff.contains("+new"),
        "{diff}"
    );
    assert!(
        !diff.contains("line 10 changed") && !diff.contains("line 2 changed"),
        "{diff}"
    );
    assert_eq!(
        next["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["a.txt", "c.txt"]
    );
    assert_eq!(next["files"][1]["status"], "added");
}

#[tokio::test]
async fn a_conflicting_hunk_is_a_409_naming_the_file_and_changes_nothing() {
    let s = three_hunks().await;
    let detail = s.pending().await;
    let all = hunks(&detail);
    let mut mine = lines();
    mine[1] = "line 2, the user's own edit".into();
    std::fs::write(s.repo.join("a.txt"), text(&mine)).unwrap();
    let id = detail["id"].as_str().unwrap();
    let (status, body) = s
        .kit
        .call(
            "POST",
            &format!("/api/changes/{id}/accept"),
            Some(json!({"hunks": [all[0].1, all[2].1]})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("a.txt"),
        "{body}"
    );
    assert_eq!(read(&s.repo.join("a.txt")), text(&mine));
    assert_eq!(
        read(&s.repo.join("b.txt")),
        text(&lines()),
        "b.txt's hunk was not applied either"
    );
    let again = s.pending().await;
    assert_eq!(again["id"], detail["id"], "still pending, whole");
    assert_eq!(hunks(&again).len(), 3);
}

#[tokio::test]
async fn commit_mode_makes_one_commit_with_only_the_changed_paths() {
    let s = three_hunks().await;
    let head_before = git(&s.repo, &["rev-parse", "HEAD"]);
    // An unrelated local edit stays the user's: not committed, not lost.
    std::fs::write(s.repo.join("README.md"), "# mine\n").unwrap();
    let detail = s.pending().await;
    let id = detail["id"].as_str().unwrap();

    // Unrelated staged work would ride along in the commit: refused, nothing changes.
    std::fs::write(s.repo.join("staged.txt"), "staged\n").unwrap();
    git(&s.repo, &["add", "staged.txt"]);
    let (status, body) = s
        .kit
        .call(
            "POST",
            &format!("/api/changes/{id}/accept"),
            Some(json!({"mode": "commit", "message": "x"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("staged"),
        "{body}"
    );
    assert_eq!(git(&s.repo, &["rev-parse", "HEAD"]), head_before);
    git(&s.repo, &["rm", "-q", "--cached", "staged.txt"]);

    let decision = s
        .kit
        .ok(
            "POST",
            &format!("/api/changes/{id}/accept"),
            Some(json!({"mode": "commit", "message": "Change lines 2, 25 and 10"})),
        )
        .await;
    let commit = decision["commit"].as_str().unwrap();
    assert_eq!(git(&s.repo, &["rev-parse", "HEAD"]), commit);
    assert_eq!(
        git(&s.repo, &["rev-parse", "HEAD~1"]),
        head_before,
        "exactly one commit"
    );
    assert_eq!(
        git(&s.repo, &["log", "-1", "--format=%s"]),
        "Change lines 2, 25 and 10"
    );
    assert_eq!(
        git(&s.repo, &["show", "--name-only", "--format=", "HEAD"]),
        "a.txt\nb.txt"
    );
    let status = git(&s.repo, &["status", "--porcelain"]);
    assert_eq!(status, "M README.md\n?? staged.txt", "{status}");
    assert!(read(&s.repo.join("a.txt")).contains("line 25 changed"));
}

#[tokio::test]
async fn branch_mode_lands_on_a_new_branch_and_leaves_the_working_tree() {
    let s = three_hunks().await;
    let head_before = git(&s.repo, &["rev-parse", "HEAD"]);
    let detail = s.pending().await;
    let id = detail["id"].as_str().unwrap();
    let all = hunks(&detail);
    for (bad, code) in [("", 400), ("no..dots", 400), ("-x", 400), ("master", 409)] {
        let current = git(&s.repo, &["branch", "--show-current"]);
        let name = if bad == "master" {
            current.as_str()
        } else {
            bad
        };
        let (status, body) = s
            .kit
            .call(
                "POST",
                &format!("/api/changes/{id}/accept"),
                Some(json!({"mode": "branch", "branch": name})),
            )
            .await;
        assert_eq!(status, code, "{name:?}: {body}");
    }
    let decision = s
        .kit
        .ok(
            "POST",
            &format!("/api/changes/{id}/accept"),
            Some(json!({"mode": "branch", "branch": "review/b-only", "hunks": [all[2].1]})),
        )
        .await;
    assert_eq!(decision["branch"], "review/b-only");
    assert_eq!(git(&s.repo, &["rev-parse", "review/b-only~1"]), head_before);
    assert_eq!(
        git(
            &s.repo,
            &["show", "--name-only", "--format=", "review/b-only"]
        ),
        "b.txt"
    );
    assert!(git(&s.repo, &["show", "review/b-only:b.txt"]).contains("line 10 changed"));
    assert_eq!(
        git(&s.repo, &["rev-parse", "HEAD"]),
        head_before,
        "the current branch did not move"
    );
    assert_eq!(
        git(&s.repo, &["status", "--porcelain"]),
        "",
        "the working tree is untouched"
    );
    assert_eq!(
        hunks(&s.pending().await).len(),
        2,
        "a.txt's hunks stay pending"
    );
}

#[tokio::test]
async fn the_old_text_of_a_file_can_be_read_to_expand_context() {
    let s = three_hunks().await;
    let detail = s.pending().await;
    let id = detail["id"].as_str().unwrap();
    let resp = s
        .kit
        .http
        .get(format!("{}/api/changes/{id}/source?path=a.txt", s.kit.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), text(&lines()));
    let (status, body) = s
        .kit
        .call(
            "GET",
            &format!("/api/changes/{id}/source?path=../etc/passwd"),
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = s
        .kit
        .call("GET", &format!("/api/changes/{id}/source"), None)
        .await;
    assert_eq!(status, 400, "the path is required");
}

#[tokio::test]
async fn comments_reach_the_agent_and_follow_their_line_into_later_diffs() {
    let s = three_hunks().await;
    let detail = s.pending().await;
    let id = detail["id"].as_str().unwrap();
    let url = format!("/api/changes/{id}/comments");
    let comment = s
        .kit
        .ok(
            "POST",
            &url,
            Some(json!({"path": "a.txt", "line": 25, "text": "Say why line 25 changed"})),
        )
        .await;
    assert_eq!(comment["quoted"], "line 25 changed");
    assert_eq!(comment["side"], "new");
    let old = s
        .kit
        .ok(
            "POST",
            &url,
            Some(
                json!({"path": "b.txt", "line": 10, "side": "old", "text": "Keep the old wording"}),
            ),
        )
        .await;
    assert_eq!(old["quoted"], "line 10");
    for (bad, code) in [
        (json!({"path": "a.txt", "line": 999, "text": "x"}), 400),
        (json!({"path": "a.txt", "line": 0, "text": "x"}), 400),
        (json!({"path": "nope.txt", "line": 1, "text": "x"}), 400),
        (json!({"path": "a.txt", "line": 1, "text": "  "}), 400),
        (
            json!({"path": "a.txt", "line": 1, "text": "x", "colour": "red"}),
            400,
        ),
    ] {
        let (status, body) = s.kit.call("POST", &url, Some(bad.clone())).await;
        assert_eq!(status, code, "{bad}: {body}");
    }
    let listed = s.kit.ok("GET", &url, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["anchor_line"], 25);

    // Request changes: the agent's next turn carries each comment with its file, line and quoted code.
    let task = s
        .kit
        .ok(
            "POST",
            &format!("/api/changes/{id}/request-changes"),
            Some(json!({"message": "Two things before I accept."})),
        )
        .await;
    assert_eq!(task["agent"], "native");
    assert_eq!(task["session_id"].as_str(), Some(s.session.as_str()));
    s.kit.wait_task(task["id"].as_str().unwrap()).await;
    let requests = s.kit.fake.requests();
    let sent = requests
        .iter()
        .rev()
        .find(|r| r.body.to_string().contains("Say why line 25 changed"))
        .expect("the comments reached the model");
    let body = sent.body.to_string();
    for needle in [
        "Two things before I accept.",
        "a.txt, line 25:",
        "> line 25 changed",
        "b.txt, removed line 10",
        "Keep the old wording",
    ] {
        assert!(body.contains(needle), "{needle:?} missing from {body}");
    }
    let listed = s.kit.ok("GET", &url, None).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["sent_at"].is_string())
    );
    let (status, _) = s
        .kit
        .call("POST", &format!("/api/changes/{id}/request-changes"), None)
        .await;
    assert_eq!(status, 400, "nothing left to send");
    let (status, _) = s
        .kit
        .call(
            "DELETE",
            &format!("/api/comments/{}", comment["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 409, "a sent comment is history");

    // A later turn's change still has line 25: the comment is shown there.
    let t = s
        .kit
        .task(
            json!({"project_id": s.project, "session_id": s.session, "agent": "native",
            "model": "fake-model", "input": writes(&[("c.txt", "more\n".into())])}),
        )
        .await;
    s.kit.wait_task(t["id"].as_str().unwrap()).await;
    let later = s.pending().await;
    assert_ne!(later["id"], detail["id"]);
    let anchored = s
        .kit
        .ok(
            "GET",
            &format!("/api/changes/{}/comments", later["id"].as_str().unwrap()),
            None,
        )
        .await;
    let on_a = anchored
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "a.txt")
        .unwrap();
    assert_eq!(on_a["anchor_line"], 25);
    let draft = s
        .kit
        .ok(
            "POST",
            &format!("/api/changes/{}/comments", later["id"].as_str().unwrap()),
            Some(json!({"path": "c.txt", "line": 1, "text": "temporary"})),
        )
        .await;
    let (status, _) = s
        .kit
        .call(
            "DELETE",
            &format!("/api/comments/{}", draft["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn the_model_drafts_a_commit_message_from_the_request_and_the_diff() {
    let s = three_hunks().await;
    let t = s
        .kit
        .task(json!({"project_id": s.project, "session_id": s.session, "agent": "native",
            "model": "fake-model", "input": "[[agent_write:notes.txt hello]] [[reply:Add notes about the review]]"}))
        .await;
    s.kit.wait_task(t["id"].as_str().unwrap()).await;
    let id = s.pending().await["id"].as_str().unwrap().to_owned();
    let draft = s
        .kit
        .ok("POST", &format!("/api/changes/{id}/commit-message"), None)
        .await;
    assert_eq!(draft["message"], "Add notes about the review");
    assert_eq!(draft["model"], "fake-model");
    let sent = s.kit.fake.requests();
    let asked = sent.last().unwrap().body.to_string();
    assert!(
        asked.contains("commit message") && asked.contains("+hello"),
        "{asked}"
    );
}
