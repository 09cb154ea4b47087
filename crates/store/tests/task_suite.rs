//! The queue, worktree and change half of the store, on SQLite always and PostgreSQL when
//! `BOOCODE_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use boocode_protocol::*;
use boocode_store::*;
use chrono::{Duration, Utc};

async fn engines() -> Vec<(Arc<dyn Store>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = boocode_store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let mut all = vec![(sqlite, Some(dir))];
    match std::env::var("BOOCODE_TEST_DATABASE_URL") {
        Ok(url) => all.push((
            boocode_store::open(&fresh_database(&url).await)
                .await
                .unwrap(),
            None,
        )),
        Err(_) => support::missing_postgres(),
    }
    all
}

/// A new, empty database on the test server: queue tests must not see each other's tasks.
async fn fresh_database(url: &str) -> String {
    use sqlx::Executor as _;
    let name = format!("boocode_q_{}", uuid_now().replace('-', "_"));
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    pool.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    pool.close().await;
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    format!("{base}/{name}")
}

/// A project with `sessions` sessions, each with one chat; tasks are isolated per test by project.
async fn seeded(store: &dyn Store, sessions: usize) -> (ProjectId, Vec<(SessionId, ChatId)>) {
    let p = Project {
        id: ProjectId::new(),
        name: "p".into(),
        path: format!("/tmp/p-{}", uuid_like()),
        default_model: None,
        created_at: Utc::now(),
    };
    store.insert_project(&p).await.unwrap();
    let mut out = Vec::new();
    for _ in 0..sessions {
        let s = Session {
            id: SessionId::new(),
            project_id: p.id.clone(),
            name: "s".into(),
            model: None,
            status: OpenStatus::Open,
            created_at: Utc::now(),
            last_seq: 0,
        };
        store.insert_session(&s).await.unwrap();
        let c = Chat::new(s.id.clone(), "c", ChatKind::Coder);
        store.insert_chat(&c).await.unwrap();
        out.push((s.id, c.id));
    }
    (p.id, out)
}

fn uuid_like() -> String {
    uuid_now()
}

fn uuid_now() -> String {
    TaskId::new().0
}

fn task(project: &ProjectId, session: &SessionId, chat: &ChatId, input: &str, age_ms: i64) -> Task {
    Task {
        id: TaskId::new(),
        project_id: project.clone(),
        session_id: session.clone(),
        chat_id: chat.clone(),
        message_id: None,
        input: input.into(),
        agent: "native".into(),
        model: None,
        mode_id: None,
        thinking_option_id: None,
        feature_values: Some(serde_json::json!({"k": 1})),
        state: TaskState::Pending,
        execution_path: None,
        output_summary: None,
        error: None,
        cost_tokens: None,
        attempts: 0,
        worker_id: None,
        created_at: Utc::now() - Duration::milliseconds(age_ms),
        started_at: None,
        ended_at: None,
    }
}

fn lease() -> chrono::DateTime<Utc> {
    Utc::now() + Duration::seconds(30)
}

async fn claim_in(store: &dyn Store, project: &ProjectId, worker: &str) -> Option<ClaimedTask> {
    let claimed = store.claim_task(worker, lease()).await.unwrap();
    if let Some(c) = &claimed {
        assert_eq!(
            &c.task.project_id, project,
            "each test has its own database"
        );
    }
    claimed
}

fn outcome(state: TaskState) -> TaskOutcome {
    TaskOutcome {
        state,
        output_summary: Some("done".into()),
        error: None,
        cost_tokens: Some(42),
    }
}

#[tokio::test]
async fn oldest_first_one_running_per_session_and_fenced_by_generation() {
    for (store, _dir) in engines().await {
        let (p, s) = seeded(store.as_ref(), 2).await;
        let (s1, c1) = &s[0];
        let (s2, c2) = &s[1];
        let a = task(&p, s1, c1, "a", 3000);
        let b = task(&p, s1, c1, "b", 2000);
        let c = task(&p, s2, c2, "c", 1000);
        for t in [&b, &c, &a] {
            store.insert_task(t).await.unwrap();
        }
        let got = store.get_task(&a.id).await.unwrap();
        assert_eq!(
            (got.state, got.feature_values.clone()),
            (TaskState::Pending, a.feature_values.clone())
        );
        let first = claim_in(store.as_ref(), &p, "w1").await.unwrap();
        assert_eq!(first.task.id, a.id, "oldest first");
        assert_eq!(first.task.state, TaskState::Running);
        assert_eq!(first.task.worker_id.as_deref(), Some("w1"));
        // b shares a's session: c runs next, b waits.
        let second = claim_in(store.as_ref(), &p, "w2").await.unwrap();
        assert_eq!(second.task.id, c.id);
        assert!(claim_in(store.as_ref(), &p, "w3").await.is_none());
        assert_eq!(
            store
                .renew_lease(&a.id, first.generation, lease())
                .await
                .unwrap(),
            LeaseState::Held {
                cancel_requested: false
            }
        );
        // A stale generation can neither renew nor finish.
        assert_eq!(
            store
                .renew_lease(&a.id, first.generation + 1, lease())
                .await
                .unwrap(),
            LeaseState::Lost
        );
        assert!(
            store
                .finish_task(&a.id, first.generation + 1, &outcome(TaskState::Completed))
                .await
                .unwrap()
                .is_none()
        );
        let msg = MessageId::new();
        assert!(
            store
                .set_task_message(&a.id, first.generation, &msg, ExecutionPath::Native)
                .await
                .unwrap()
        );
        let done = store
            .finish_task(&a.id, first.generation, &outcome(TaskState::Completed))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (done.state, done.cost_tokens, done.message_id),
            (TaskState::Completed, Some(42), Some(msg))
        );
        assert!(done.ended_at.is_some());
        assert!(
            store
                .finish_task(&a.id, first.generation, &outcome(TaskState::Failed))
                .await
                .unwrap()
                .is_none(),
            "finished once"
        );
        assert_eq!(
            claim_in(store.as_ref(), &p, "w1").await.unwrap().task.id,
            b.id
        );
        let listed = store
            .list_tasks(&TaskFilter {
                session_id: Some(s1.clone()),
                state: Some(TaskState::Completed),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            listed.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
            vec![a.id.clone()]
        );
        let every = store
            .list_tasks(&TaskFilter::default())
            .await
            .unwrap()
            .len();
        let (other, _) = seeded(store.as_ref(), 1).await;
        let of_project = |project: ProjectId| TaskFilter {
            project_id: Some(project),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_tasks(&of_project(p.clone()))
                .await
                .unwrap()
                .len(),
            every,
            "every task so far is in the first project"
        );
        assert!(
            store
                .list_tasks(&of_project(other))
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn cancel_and_recovery() {
    for (store, _dir) in engines().await {
        let (p, s) = seeded(store.as_ref(), 2).await;
        let pending = task(&p, &s[0].0, &s[0].1, "p", 2000);
        let running = task(&p, &s[1].0, &s[1].1, "r", 1000);
        store.insert_task(&pending).await.unwrap();
        store.insert_task(&running).await.unwrap();
        let cancelled = store.request_cancel(&pending.id).await.unwrap();
        assert_eq!(cancelled.state, TaskState::Cancelled);
        let claimed = claim_in(store.as_ref(), &p, "w").await.unwrap();
        assert_eq!(claimed.task.id, running.id);
        let flagged = store.request_cancel(&running.id).await.unwrap();
        assert_eq!(
            flagged.state,
            TaskState::Running,
            "a running task is flagged, its worker stops it"
        );
        assert_eq!(
            store
                .renew_lease(&running.id, claimed.generation, lease())
                .await
                .unwrap(),
            LeaseState::Held {
                cancel_requested: true
            }
        );
        // The worker dies: its lease runs out and recovery fails the task.
        store
            .renew_lease(
                &running.id,
                claimed.generation,
                Utc::now() - Duration::seconds(1),
            )
            .await
            .unwrap();
        // A horizon far ahead (SQLite's start-up) takes the task, but it ended now, not at the horizon.
        let recovered = store
            .recover_expired_tasks(Utc::now() + Duration::days(365))
            .await
            .unwrap();
        let ours = recovered.iter().find(|t| t.id == running.id).unwrap();
        let ended = ours.ended_at.unwrap();
        assert!(
            (Utc::now() - ended).num_seconds().abs() < 60,
            "ended_at {ended} is not now"
        );
        assert_eq!(
            (ours.state, ours.error.as_deref()),
            (TaskState::Failed, Some("interrupted by restart"))
        );
        assert!(
            store
                .finish_task(
                    &running.id,
                    claimed.generation,
                    &outcome(TaskState::Completed)
                )
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            store.request_cancel(&TaskId::new()).await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn changes_supersede_and_resolve_once() {
    for (store, _dir) in engines().await {
        let (_, s) = seeded(store.as_ref(), 1).await;
        let sid = &s[0].0;
        let wt = SessionWorktree {
            session_id: sid.clone(),
            worktree_path: "/tmp/wt".into(),
            branch: format!("boocode/{sid}"),
            base_commit: "aaa".into(),
            created_at: Utc::now(),
        };
        store.insert_worktree(&wt).await.unwrap();
        store.set_worktree_base(sid, "bbb").await.unwrap();
        assert_eq!(
            store.get_worktree(sid).await.unwrap().unwrap().base_commit,
            "bbb"
        );
        assert!(
            store
                .list_worktrees()
                .await
                .unwrap()
                .iter()
                .any(|(w, _)| &w.session_id == sid)
        );
        let new = |n: u64| NewChange {
            id: ChangeId::new(),
            session_id: sid.clone(),
            task_id: None,
            agent: Some("native".into()),
            diff: format!("diff {n}"),
            files_changed: n,
            insertions: n,
            deletions: 0,
            head_commit: format!("head{n}"),
            created_at: Utc::now() + Duration::milliseconds(n as i64),
        };
        let first = store.insert_change(&new(1)).await.unwrap();
        let second = store.insert_change(&new(2)).await.unwrap();
        let all = store.list_changes(sid, None).await.unwrap();
        assert_eq!(
            all.iter().map(|c| c.status).collect::<Vec<_>>(),
            vec![ChangeStatus::Pending, ChangeStatus::Superseded]
        );
        assert_eq!(all[0].id, second.id);
        assert_eq!(
            store
                .list_changes(sid, Some(ChangeStatus::Pending))
                .await
                .unwrap()
                .len(),
            1
        );
        let (got, head) = store.get_change(&second.id).await.unwrap();
        assert_eq!(
            (got.diff.as_deref(), head.as_deref()),
            (Some("diff 2"), Some("head2"))
        );
        assert!(matches!(
            store
                .resolve_change(&first.id, ChangeStatus::Accepted)
                .await,
            Err(StoreError::Conflict(_))
        ));
        // A partial decision keeps only the taken part and stores the rest as the new pending change.
        let part = ChangePart {
            diff: "part".into(),
            files_changed: 1,
            insertions: 1,
            deletions: 0,
        };
        let split = store
            .split_change(&second.id, ChangeStatus::Rejected, &part, Some(&new(3)))
            .await
            .unwrap();
        assert_eq!(
            (
                split.0.status,
                split.0.diff.as_deref(),
                split.0.files_changed
            ),
            (ChangeStatus::Rejected, Some("part"), 1)
        );
        let rest = split.1.unwrap();
        assert_eq!(rest.status, ChangeStatus::Pending);
        assert!(matches!(
            store
                .split_change(&second.id, ChangeStatus::Accepted, &part, None)
                .await,
            Err(StoreError::Conflict(_))
        ));
        let second = rest;
        let accepted = store
            .resolve_change(&second.id, ChangeStatus::Accepted)
            .await
            .unwrap();
        assert_eq!(accepted.status, ChangeStatus::Accepted);
        assert!(accepted.resolved_at.is_some());
        assert!(matches!(
            store
                .resolve_change(&second.id, ChangeStatus::Rejected)
                .await,
            Err(StoreError::Conflict(_))
        ));
        store.delete_session(sid).await.unwrap();
        assert!(store.get_worktree(sid).await.unwrap().is_none());
        assert!(matches!(
            store.get_change(&second.id).await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn concurrent_claimers_run_each_task_once() {
    for (store, _dir) in engines().await {
        let (p, sessions) = seeded(store.as_ref(), 8).await;
        let mut ids = HashSet::new();
        for (i, (s, c)) in sessions.iter().enumerate() {
            for n in 0..10 {
                let t = task(&p, s, c, "x", 10_000 - (i * 10 + n) as i64);
                ids.insert(t.id.clone());
                store.insert_task(&t).await.unwrap();
            }
        }
        let mut workers = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            let p = p.clone();
            workers.push(tokio::spawn(async move {
                let mut done = Vec::new();
                let mut idle = 0;
                while idle < 20 {
                    match claim_in(store.as_ref(), &p, &format!("w{w}")).await {
                        Some(c) => {
                            idle = 0;
                            store
                                .finish_task(
                                    &c.task.id,
                                    c.generation,
                                    &outcome(TaskState::Completed),
                                )
                                .await
                                .unwrap()
                                .unwrap();
                            done.push(c.task.id);
                        }
                        None => {
                            idle += 1;
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        }
                    }
                }
                done
            }));
        }
        let mut seen = Vec::new();
        for w in workers {
            seen.extend(w.await.unwrap());
        }
        assert_eq!(seen.len(), ids.len(), "each task exactly once");
        assert_eq!(seen.into_iter().collect::<HashSet<_>>(), ids);
    }
}

#[tokio::test]
async fn permission_requests_are_decided_once() {
    for (store, _dir) in engines().await {
        let (_, s) = seeded(store.as_ref(), 1).await;
        let request = PermissionRequest {
            id: PermissionId::new(),
            session_id: s[0].0.clone(),
            task_id: None,
            tool_call: serde_json::json!({"toolCallId": "t1", "title": "Write a.txt"}),
            options: vec![PermissionOption {
                option_id: "yes".into(),
                name: "Allow".into(),
                kind: PermissionKind::AllowOnce,
            }],
            decision: None,
            created_at: Utc::now(),
            decided_at: None,
        };
        store.insert_permission(&request).await.unwrap();
        let got = store.get_permission(&request.id).await.unwrap();
        assert_eq!(
            (got.tool_call, got.options, got.decision),
            (request.tool_call.clone(), request.options.clone(), None)
        );
        let decided = store.decide_permission(&request.id, "yes").await.unwrap();
        assert_eq!(decided.decision.as_deref(), Some("yes"));
        assert!(matches!(
            store.decide_permission(&request.id, "no").await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.get_permission(&PermissionId::new()).await,
            Err(StoreError::NotFound { .. })
        ));
        let open = PermissionRequest {
            id: PermissionId::new(),
            ..request
        };
        store.insert_permission(&open).await.unwrap();
        let sid = &s[0].0;
        let pending = store.list_permissions(sid, true).await.unwrap();
        assert_eq!(
            pending.iter().map(|p| &p.id).collect::<Vec<_>>(),
            [&open.id]
        );
        assert_eq!(store.list_permissions(sid, false).await.unwrap().len(), 2);
        // Rules: one per (session, kind); adding it again returns the first.
        let rule = PermissionRule {
            id: PermissionRuleId::new(),
            session_id: sid.clone(),
            kind: ToolKind::Edit,
            created_at: Utc::now(),
        };
        let first = store.insert_permission_rule(&rule).await.unwrap();
        let again = store
            .insert_permission_rule(&PermissionRule {
                id: PermissionRuleId::new(),
                ..rule.clone()
            })
            .await
            .unwrap();
        assert_eq!(
            (first.id.clone(), first.kind),
            (rule.id.clone(), ToolKind::Edit)
        );
        assert_eq!(again.id, rule.id);
        assert_eq!(store.list_permission_rules(sid).await.unwrap().len(), 1);
        store.delete_permission_rule(&rule.id).await.unwrap();
        assert!(matches!(
            store.delete_permission_rule(&rule.id).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(store.expire_permissions().await.unwrap() >= 1);
        assert_eq!(
            store
                .get_permission(&open.id)
                .await
                .unwrap()
                .decision
                .as_deref(),
            Some("expired")
        );
    }
}

#[tokio::test]
async fn arenas_keep_their_lanes_checks_and_pick() {
    for (store, _dir) in engines().await {
        let (project, lanes) = seeded(store.as_ref(), 2).await;
        let arena = ArenaRow {
            id: ArenaId::new(),
            project_id: project.clone(),
            input: "race".into(),
            check_command: Some("make test".into()),
            check_timeout_secs: 30,
            base_commit: "abc123".into(),
            status: ArenaStatus::Running,
            picked: None,
            picked_change: None,
            created_at: Utc::now(),
        };
        let rows: Vec<ContenderRow> = lanes
            .iter()
            .enumerate()
            .map(|(i, (s, _))| ContenderRow {
                index: u32::try_from(i).unwrap(),
                agent: if i == 0 {
                    "native".into()
                } else {
                    "fake".into()
                },
                model: Some("m".into()),
                mode_id: None,
                session_id: s.clone(),
                task_id: TaskId::new(),
                check: None,
            })
            .collect();
        store.insert_arena(&arena, &rows).await.unwrap();
        let (got, got_lanes) = store.get_arena(&arena.id).await.unwrap();
        assert_eq!(got.input, "race");
        assert_eq!(got_lanes, rows);
        assert!(
            store
                .list_running_arenas()
                .await
                .unwrap()
                .contains(&arena.id)
        );
        assert_eq!(
            store.arena_of_session(&lanes[1].0).await.unwrap(),
            Some(arena.id.clone())
        );
        let check = CheckResult {
            status: CheckStatus::Passed,
            exit_code: Some(0),
            output_tail: "ok".into(),
            duration_ms: 12,
        };
        store
            .set_contender_check(&arena.id, 1, &check)
            .await
            .unwrap();
        let change = ChangeId::new();
        store
            .set_arena_status(&arena.id, ArenaStatus::Picked, Some((1, change.clone())))
            .await
            .unwrap();
        let (got, got_lanes) = store.get_arena(&arena.id).await.unwrap();
        assert_eq!(got_lanes[1].check.as_ref(), Some(&check));
        assert_eq!(got_lanes[0].check, None);
        assert_eq!(
            (got.status, got.picked, got.picked_change),
            (ArenaStatus::Picked, Some(1), Some(change))
        );
        assert!(
            !store
                .list_running_arenas()
                .await
                .unwrap()
                .contains(&arena.id)
        );
        store.delete_arena(&arena.id).await.unwrap();
        assert!(matches!(
            store.get_arena(&arena.id).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.delete_arena(&arena.id).await,
            Err(StoreError::NotFound { .. })
        ));
    }
}
