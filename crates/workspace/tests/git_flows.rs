//! Worktrees, commits, diffs, apply and reset against real git repositories, including hostile ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use boocode_workspace::*;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn repo(parent: &Path) -> PathBuf {
    let p = parent.join("project");
    std::fs::create_dir_all(&p).unwrap();
    git(&p, &["init", "-q", "-b", "main"]);
    std::fs::write(p.join("README.md"), "line one\nline two\nline three\n").unwrap();
    git(&p, &["add", "-A"]);
    git(&p, &["commit", "-q", "-m", "first"]);
    p
}

const SID: &str = "01a2f000-0000-7000-8000-0000000000aa";

#[tokio::test]
async fn worktree_commit_diff_apply_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let project = repo(dir.path());
    let wts = dir.path().join("data/worktrees");
    let wt = create_worktree(&project, &wts, SID).await.unwrap();
    assert_eq!(wt.path, wts.join(SID));
    assert_eq!(wt.branch, format!("boocode/{SID}"));
    assert_eq!(wt.base_commit, git(&project, &["rev-parse", "HEAD"]));
    assert!(wt.path.join("README.md").exists());

    assert_eq!(
        commit_turn(&wt.path, "nothing").await.unwrap(),
        None,
        "nothing to commit"
    );
    std::fs::write(wt.path.join("hello.txt"), "hi\n").unwrap();
    std::fs::write(wt.path.join("blob.bin"), [0u8, 159, 146, 150, 255, 0, 1]).unwrap();
    let head = commit_turn(&wt.path, "turn 1").await.unwrap().unwrap();
    let author = git(&wt.path, &["log", "-1", "--format=%an <%ae>"]);
    assert_eq!(author, "boocode <boocode@localhost>");
    let (diff, stats, diff_head) = diff_since(&wt.path, &wt.base_commit).await.unwrap();
    assert_eq!(diff_head, head);
    assert!(
        diff.contains("hello.txt") && diff.contains("GIT binary patch"),
        "{diff}"
    );
    assert_eq!((stats.files_changed, stats.insertions), (2, 1));
    assert!(
        !project.join("hello.txt").exists(),
        "the project is untouched until accept"
    );

    apply_to_project(&project, &diff).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(project.join("hello.txt")).unwrap(),
        "hi\n"
    );
    assert_eq!(
        std::fs::read(project.join("blob.bin")).unwrap(),
        vec![0u8, 159, 146, 150, 255, 0, 1]
    );

    remove_worktree(&project, &wt.path, &wt.branch)
        .await
        .unwrap();
    assert!(!wt.path.exists());
    assert!(
        git(&project, &["branch", "--list", &wt.branch]).is_empty(),
        "branch removed"
    );
    assert!(!git(&project, &["worktree", "list"]).contains(SID));
}

#[tokio::test]
async fn reject_resets_the_worktree() {
    let dir = tempfile::tempdir().unwrap();
    let project = repo(dir.path());
    let wt = create_worktree(&project, &dir.path().join("wt"), SID)
        .await
        .unwrap();
    std::fs::write(wt.path.join("README.md"), "changed\n").unwrap();
    commit_turn(&wt.path, "turn").await.unwrap();
    std::fs::write(wt.path.join("untracked.txt"), "x").unwrap();
    reset_to(&wt.path, &wt.base_commit).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(wt.path.join("README.md")).unwrap(),
        "line one\nline two\nline three\n"
    );
    assert!(!wt.path.join("untracked.txt").exists());
    assert_eq!(git(&wt.path, &["rev-parse", "HEAD"]), wt.base_commit);
}

#[tokio::test]
async fn conflicting_or_dirty_accept_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let project = repo(dir.path());
    let wt = create_worktree(&project, &dir.path().join("wt"), SID)
        .await
        .unwrap();
    std::fs::write(
        wt.path.join("README.md"),
        "line one\nline TWO by agent\nline three\n",
    )
    .unwrap();
    std::fs::write(wt.path.join("new.txt"), "new\n").unwrap();
    commit_turn(&wt.path, "turn").await.unwrap();
    let (diff, _, _) = diff_since(&wt.path, &wt.base_commit).await.unwrap();

    // The user committed a different edit of the same line.
    std::fs::write(
        project.join("README.md"),
        "line one\nline 2 by user\nline three\n",
    )
    .unwrap();
    git(&project, &["commit", "-q", "-am", "user edit"]);
    let before_status = git(&project, &["status", "--porcelain"]);
    let err = apply_to_project(&project, &diff).await.unwrap_err();
    assert!(matches!(err, WorkspaceError::Conflict(_)), "{err}");
    assert_eq!(
        std::fs::read_to_string(project.join("README.md")).unwrap(),
        "line one\nline 2 by user\nline three\n"
    );
    assert!(!project.join("new.txt").exists());
    assert_eq!(git(&project, &["status", "--porcelain"]), before_status);

    // An uncommitted local edit of the touched file.
    git(&project, &["reset", "-q", "--hard", "HEAD~1"]);
    std::fs::write(project.join("README.md"), "local work in progress\n").unwrap();
    let err = apply_to_project(&project, &diff).await.unwrap_err();
    assert!(matches!(err, WorkspaceError::Conflict(_)), "{err}");
    assert_eq!(
        std::fs::read_to_string(project.join("README.md")).unwrap(),
        "local work in progress\n"
    );
    assert!(!project.join("new.txt").exists());
}

#[tokio::test]
async fn three_way_merges_a_shifted_context() {
    let dir = tempfile::tempdir().unwrap();
    let project = repo(dir.path());
    let body: String = (1..=40).map(|n| format!("line {n}\n")).collect();
    std::fs::write(project.join("long.txt"), &body).unwrap();
    git(&project, &["add", "-A"]);
    git(&project, &["commit", "-q", "-m", "long"]);
    let wt = create_worktree(&project, &dir.path().join("wt"), SID)
        .await
        .unwrap();
    std::fs::write(
        wt.path.join("long.txt"),
        body.replace("line 30\n", "line thirty\n"),
    )
    .unwrap();
    commit_turn(&wt.path, "turn").await.unwrap();
    let (diff, _, _) = diff_since(&wt.path, &wt.base_commit).await.unwrap();
    // The user changed lines next to the hunk's context, so the plain patch no longer applies.
    let user = body
        .replace("line 28\n", "line 28 (user)\n")
        .replace("line 32\n", "line 32 (user)\n");
    std::fs::write(project.join("long.txt"), &user).unwrap();
    git(&project, &["commit", "-q", "-am", "user"]);
    apply_to_project(&project, &diff).await.unwrap();
    let merged = std::fs::read_to_string(project.join("long.txt")).unwrap();
    assert!(
        merged.contains("line thirty")
            && merged.contains("line 28 (user)")
            && merged.contains("line 32 (user)")
    );
}

#[tokio::test]
async fn missing_repo_or_commits_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let err = create_worktree(&plain, &dir.path().join("wt"), SID)
        .await
        .unwrap_err();
    assert!(matches!(err, WorkspaceError::NotARepository(_)), "{err}");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    git(&empty, &["init", "-q"]);
    let err = create_worktree(&empty, &dir.path().join("wt"), SID)
        .await
        .unwrap_err();
    assert!(matches!(err, WorkspaceError::NoCommits(_)), "{err}");
    assert!(err.to_string().contains("first commit"));
    let project = repo(dir.path());
    for bad in ["../../etc", "-rf", "a/b", ""] {
        assert!(
            create_worktree(&project, &dir.path().join("wt"), bad)
                .await
                .is_err(),
            "{bad:?}"
        );
    }
    assert!(!dir.path().join("etc").exists());
}

#[tokio::test]
async fn planted_programs_never_run_and_hostile_names_are_data() {
    let dir = tempfile::tempdir().unwrap();
    let project = repo(dir.path());
    let marker = dir.path().join("PWNED");
    let script = dir.path().join("evil.sh");
    std::fs::write(&script, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    git(
        &project,
        &["config", "core.fsmonitor", script.to_str().unwrap()],
    );
    git(
        &project,
        &["config", "diff.external", script.to_str().unwrap()],
    );
    for hook in [
        "post-checkout",
        "pre-commit",
        "post-commit",
        "reference-transaction",
    ] {
        let hooks = project.join(".git/hooks");
        std::fs::copy(&script, hooks.join(hook)).unwrap();
    }
    let wt = create_worktree(&project, &dir.path().join("wt"), SID)
        .await
        .unwrap();
    for name in ["-rf", "--output=x", "$(touch PWNED2)", "a b; touch PWNED3"] {
        std::fs::write(wt.path.join(name), "x\n").unwrap();
    }
    commit_turn(&wt.path, "$(touch PWNED4) --amend")
        .await
        .unwrap();
    let (diff, stats, _) = diff_since(&wt.path, &wt.base_commit).await.unwrap();
    assert_eq!(stats.files_changed, 4);
    apply_to_project(&project, &diff).await.unwrap();
    assert!(project.join("-rf").exists() && project.join("$(touch PWNED2)").exists());
    reset_to(&wt.path, &wt.base_commit).await.unwrap();
    remove_worktree(&project, &wt.path, &wt.branch)
        .await
        .unwrap();
    for m in ["PWNED", "PWNED2", "PWNED3", "PWNED4", "x"] {
        assert!(
            !dir.path().join(m).exists() && !project.join(m).exists() && !wt.path.join(m).exists(),
            "{m} was created"
        );
    }
    assert!(!marker.exists(), "a planted program ran");
}

#[tokio::test]
async fn concurrent_creations_and_leftover_branches() {
    let dir = tempfile::tempdir().unwrap();
    let project = repo(dir.path());
    let wts = dir.path().join("wt");
    let ids: Vec<String> = (0..6)
        .map(|n| format!("01a2f000-0000-7000-8000-00000000000{n}"))
        .collect();
    let jobs: Vec<_> = ids
        .iter()
        .map(|id| {
            let (project, wts, id) = (project.clone(), wts.clone(), id.clone());
            tokio::spawn(async move { create_worktree(&project, &wts, &id).await })
        })
        .collect();
    for job in jobs {
        job.await.unwrap().unwrap();
    }
    // A branch left by a crash before the worktree was recorded is reused, with its fork point as base.
    let wt = create_worktree(&project, &wts, &ids[0]).await.unwrap();
    std::fs::write(wt.path.join("work.txt"), "kept").unwrap();
    commit_turn(&wt.path, "turn").await.unwrap();
    std::fs::remove_dir_all(&wt.path).unwrap();
    let again = create_worktree(&project, &wts, &ids[0]).await.unwrap();
    assert_eq!(again.base_commit, git(&project, &["rev-parse", "HEAD"]));
    assert_eq!(
        std::fs::read_to_string(again.path.join("work.txt")).unwrap(),
        "kept"
    );
}

/// A repository's own config names filter, merge and diff drivers, and `.gitattributes` turns them on
/// for every file: none of them may run for boocode's git calls, from worktree creation to reject.
#[tokio::test]
async fn configured_filter_merge_and_diff_drivers_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let project = repo(dir.path());
    let body: String = (1..=40).map(|n| format!("line {n}\n")).collect();
    std::fs::write(project.join("long.txt"), &body).unwrap();
    std::fs::write(
        project.join(".gitattributes"),
        "* filter=evil merge=evil diff=evil\n",
    )
    .unwrap();
    git(&project, &["add", "-A"]);
    git(&project, &["commit", "-q", "-m", "attributes"]);
    let markers = dir.path().join("markers");
    std::fs::create_dir_all(&markers).unwrap();
    let program = |name: &str| format!("touch {}/{name}; cat", markers.display());
    for (key, value) in [
        ("filter.evil.clean", program("clean")),
        ("filter.evil.smudge", program("smudge")),
        ("filter.evil.process", program("process")),
        ("filter.evil.required", "true".to_owned()),
        ("merge.evil.driver", program("merge")),
        ("diff.evil.command", program("diff")),
        ("diff.evil.textconv", program("textconv")),
    ] {
        git(&project, &["config", key, &value]);
    }
    let wt = create_worktree(&project, &dir.path().join("wt"), SID)
        .await
        .unwrap();
    std::fs::write(
        wt.path.join("long.txt"),
        body.replace("line 30\n", "line thirty\n"),
    )
    .unwrap();
    commit_turn(&wt.path, "turn").await.unwrap();
    let (diff, stats, _) = diff_since(&wt.path, &wt.base_commit).await.unwrap();
    assert_eq!(stats.files_changed, 1, "{diff}");
    // A user edit beside the hunk forces the 3-way path, where a merge driver would run.
    let user = body
        .replace("line 28\n", "line 28 (user)\n")
        .replace("line 32\n", "line 32 (user)\n");
    std::fs::write(project.join("long.txt"), &user).unwrap();
    git(
        &project,
        &[
            "-c",
            "filter.evil.required=false",
            "-c",
            "filter.evil.clean=",
            "-c",
            "filter.evil.process=",
            "commit",
            "-q",
            "-am",
            "user",
        ],
    );
    std::fs::remove_dir_all(&markers).unwrap();
    std::fs::create_dir_all(&markers).unwrap();
    apply_to_project(&project, &diff).await.unwrap();
    let merged = std::fs::read_to_string(project.join("long.txt")).unwrap();
    assert!(merged.contains("line thirty") && merged.contains("line 28 (user)"));
    reset_to(&wt.path, &wt.base_commit).await.unwrap();
    let ran: Vec<_> = std::fs::read_dir(&markers)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(ran.is_empty(), "repository drivers ran: {ran:?}");
}

/// Another local user may create any name in a shared temp dir first. Hooks planted where the old
/// predictable hooks directory lived never run, and boocode leaves nothing of its own in the temp dir.
#[tokio::test]
async fn hooks_planted_in_the_temp_dir_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let project = repo(dir.path());
    let marker = dir.path().join("HOOK-RAN");
    let planted = std::env::temp_dir().join(format!("boocode-no-hooks-{}", std::process::id()));
    std::fs::create_dir_all(&planted).unwrap();
    for hook in [
        "post-checkout",
        "pre-commit",
        "post-commit",
        "reference-transaction",
    ] {
        let path = planted.join(hook);
        std::fs::write(&path, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
        Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    }
    let wt = create_worktree(&project, &dir.path().join("wt"), SID)
        .await
        .unwrap();
    std::fs::write(wt.path.join("a.txt"), "a\n").unwrap();
    commit_turn(&wt.path, "turn").await.unwrap();
    assert!(!marker.exists(), "a hook planted in the temp dir ran");
    // Gone again, it stays gone: boocode's own calls create nothing there.
    std::fs::remove_dir_all(&planted).unwrap();
    std::fs::write(wt.path.join("b.txt"), "b\n").unwrap();
    commit_turn(&wt.path, "turn 2").await.unwrap();
    diff_since(&wt.path, &wt.base_commit).await.unwrap();
    assert!(
        !planted.exists(),
        "boocode created a hooks directory in the temp dir"
    );
}

/// Another process creating a worktree of the same repository holds `.git/boocode-worktree.lock`: a
/// creation here waits for it instead of racing git over `.git/worktrees/`, then succeeds. (`flock` locks
/// belong to an open file, so a second open in this process stands in for the other process.)
#[tokio::test]
async fn worktree_creation_waits_for_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let project = repo(dir.path());
    create_worktree(&project, &dir.path().join("wt"), SID)
        .await
        .unwrap();
    let other = std::fs::File::open(project.join(".git").join(WORKTREE_LOCK_FILE)).unwrap();
    rustix::fs::flock(&other, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let creating = tokio::spawn({
        let (project, wts) = (project.clone(), dir.path().join("wt"));
        async move { create_worktree(&project, &wts, "01a2f000-0000-7000-8000-0000000000bb").await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !creating.is_finished(),
        "it did not wait for the other process"
    );
    drop(other);
    let made = tokio::time::timeout(std::time::Duration::from_secs(10), creating)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(made.path.join("README.md").exists());
}
