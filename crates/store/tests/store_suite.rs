//! One suite, two engines: runs on a real SQLite file always, and on PostgreSQL when
//! `BOOCODE_TEST_DATABASE_URL` is set (CI sets it). Each PostgreSQL run uses fresh rows, so runs can share
//! a database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use boocode_protocol::*;
use boocode_store::{MessageFinish, Store, StoreError, StoredFrame};
use chrono::Utc;

use support::engines;

fn project() -> Project {
    let id = ProjectId::new();
    Project {
        name: "demo".into(),
        path: format!("/tmp/repo-{id}"),
        id,
        default_model: None,
        created_at: Utc::now(),
    }
}

fn session(project: &ProjectId) -> Session {
    Session {
        id: SessionId::new(),
        project_id: project.clone(),
        name: "s".into(),
        model: Some("m1".into()),
        status: OpenStatus::Open,
        created_at: Utc::now(),
        last_seq: 0,
    }
}

fn chat(session: &SessionId) -> Chat {
    Chat::new(session.clone(), "New chat", ChatKind::Chat)
}

fn message(chat: &Chat, role: Role, status: MessageStatus, content: &str) -> Message {
    Message {
        status,
        model: Some("m1".into()),
        finished_at: None,
        ..Message::new(
            chat.session_id.clone(),
            chat.id.clone(),
            None,
            role,
            content,
        )
    }
}

async fn seeded(store: &dyn Store) -> (Project, Session, Chat) {
    let p = project();
    store.insert_project(&p).await.unwrap();
    let s = session(&p.id);
    store.insert_session(&s).await.unwrap();
    let c = chat(&s.id);
    store.insert_chat(&c).await.unwrap();
    (p, s, c)
}

#[tokio::test]
async fn projects_round_trip_and_conflict_on_duplicate_path() {
    for (store, _dir) in engines().await {
        let p = project();
        store.insert_project(&p).await.unwrap();
        let got = store.get_project(&p.id).await.unwrap();
        assert_eq!(got.path, p.path);
        assert!(
            store
                .list_projects()
                .await
                .unwrap()
                .iter()
                .any(|x| x.id == p.id)
        );
        let dup = Project {
            id: ProjectId::new(),
            ..p.clone()
        };
        assert!(matches!(
            store.insert_project(&dup).await,
            Err(StoreError::Conflict(_))
        ));
        let patch = UpdateProjectRequest {
            name: Some("renamed".into()),
            default_model: None,
        };
        assert_eq!(
            store.update_project(&p.id, &patch).await.unwrap().name,
            "renamed"
        );
        store.delete_project(&p.id).await.unwrap();
        assert!(matches!(
            store.get_project(&p.id).await,
            Err(StoreError::NotFound {
                entity: "project",
                ..
            })
        ));
        assert!(matches!(
            store.delete_project(&p.id).await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn messages_progress_finish_and_tool_calls() {
    for (store, _dir) in engines().await {
        let (_, _, c) = seeded(store.as_ref()).await;
        let user = message(&c, Role::User, MessageStatus::Complete, "hello");
        let asst = message(&c, Role::Assistant, MessageStatus::Streaming, "");
        store.insert_exchange(&user, &asst).await.unwrap();
        store
            .save_message_progress(&asst.id, "partial", "think")
            .await
            .unwrap();
        let call = ToolCall {
            call_id: "call_0".into(),
            title: "view_file".into(),
            kind: ToolKind::Read,
            status: ToolStatus::Pending,
            raw_input: Some(serde_json::json!({"path": "a.txt"})),
            raw_output: None,
        };
        store.upsert_tool_call(&asst.id, &call).await.unwrap();
        let done = ToolCall {
            status: ToolStatus::Completed,
            raw_output: Some("hi".into()),
            ..call
        };
        store.upsert_tool_call(&asst.id, &done).await.unwrap();
        let listed = store.list_messages(&c.id).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].id, user.id);
        assert_eq!(listed[1].content, "partial");
        assert_eq!(listed[1].reasoning, "think");
        assert_eq!(listed[1].tool_calls, vec![done.clone()]);
        let finish = MessageFinish {
            status: MessageStatus::Complete,
            content: "partial and more".into(),
            reasoning: "think".into(),
            error: None,
            usage: Some(Usage {
                prompt_tokens: 10,
                completion_tokens: 5,
                context_limit: None,
            }),
            ttft_ms: None,
            duration_ms: None,
            finished_at: Utc::now(),
        };
        store.finish_message(&asst.id, &finish).await.unwrap();
        // A late progress checkpoint must not overwrite a finished message.
        store
            .save_message_progress(&asst.id, "stale", "")
            .await
            .unwrap();
        let got = store.get_message(&asst.id).await.unwrap();
        assert_eq!(got.content, "partial and more");
        assert_eq!(got.status, MessageStatus::Complete);
        assert_eq!(got.tokens_prompt, Some(10));
        assert_eq!(got.tool_calls, vec![done]);
    }
}

#[tokio::test]
async fn streaming_messages_are_interrupted_at_start_up() {
    for (store, _dir) in engines().await {
        let (_, _, c) = seeded(store.as_ref()).await;
        let user = message(&c, Role::User, MessageStatus::Complete, "q");
        let asst = message(&c, Role::Assistant, MessageStatus::Streaming, "half");
        store.insert_exchange(&user, &asst).await.unwrap();
        let closed = store
            .interrupt_streaming_messages("interrupted by restart")
            .await
            .unwrap();
        assert!(
            closed
                .iter()
                .any(|m| m.id == asst.id && m.chat_id == c.id && m.session_id == asst.session_id),
            "{closed:?}"
        );
        let got = store.get_message(&asst.id).await.unwrap();
        assert_eq!(got.status, MessageStatus::Error);
        assert_eq!(got.content, "half");
        assert_eq!(got.error.as_deref(), Some("interrupted by restart"));
    }
}

#[tokio::test]
async fn frames_append_replay_and_prune() {
    for (store, _dir) in engines().await {
        let (_, s, _) = seeded(store.as_ref()).await;
        let old = Utc::now() - chrono::Duration::minutes(20);
        let frames: Vec<StoredFrame> = (1..=30)
            .map(|seq| StoredFrame {
                session_id: s.id.clone(),
                seq,
                body: format!("{{\"seq\":{seq}}}").into(),
                created_at: if seq <= 20 { old } else { Utc::now() },
            })
            .collect();
        store.append_frames(&frames[..10]).await.unwrap();
        // Re-appending is idempotent.
        store.append_frames(&frames).await.unwrap();
        assert_eq!(store.last_seq(&s.id).await.unwrap(), 30);
        assert_eq!(store.get_session(&s.id).await.unwrap().last_seq, 30);
        let after = store.frames_after(&s.id, 25, 100).await.unwrap();
        assert_eq!(
            after.iter().map(|f| f.seq).collect::<Vec<_>>(),
            vec![26, 27, 28, 29, 30]
        );
        assert_eq!(&*after[0].body, "{\"seq\":26}");
        // Keep the newest 15, or anything younger than 10 minutes.
        store
            .prune_frames(15, Utc::now() - chrono::Duration::minutes(10))
            .await
            .unwrap();
        assert_eq!(store.first_seq(&s.id).await.unwrap(), Some(16));
        // Frames for an unknown session are dropped, not an error (the session was deleted).
        let orphan = StoredFrame {
            session_id: SessionId::new(),
            ..frames[0].clone()
        };
        store.append_frames(&[orphan]).await.unwrap();
    }
}

#[tokio::test]
async fn deleting_a_session_cascades() {
    for (store, _dir) in engines().await {
        let (_, s, c) = seeded(store.as_ref()).await;
        let user = message(&c, Role::User, MessageStatus::Complete, "q");
        let asst = message(&c, Role::Assistant, MessageStatus::Complete, "a");
        store.insert_exchange(&user, &asst).await.unwrap();
        let frame = StoredFrame {
            session_id: s.id.clone(),
            seq: 1,
            body: "{}".into(),
            created_at: Utc::now(),
        };
        store.append_frames(&[frame]).await.unwrap();
        store.delete_session(&s.id).await.unwrap();
        assert!(matches!(
            store.get_chat(&c.id).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.get_message(&asst.id).await,
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(store.last_seq(&s.id).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn sessions_and_chats_update() {
    for (store, _dir) in engines().await {
        let (p, s, c) = seeded(store.as_ref()).await;
        let patch = UpdateSessionRequest {
            name: Some("renamed".into()),
            model: None,
            status: Some(OpenStatus::Closed),
        };
        let got = store.update_session(&s.id, &patch).await.unwrap();
        assert_eq!(
            (got.name.as_str(), got.status, got.model.as_deref()),
            ("renamed", OpenStatus::Closed, Some("m1"))
        );
        assert_eq!(store.list_sessions(&p.id).await.unwrap().len(), 1);
        let chat = store
            .update_chat(
                &c.id,
                &UpdateChatRequest {
                    name: Some("Title".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(chat.name, "Title");
        assert_eq!(store.list_chats(&s.id).await.unwrap(), vec![chat]);
        store.delete_chat(&c.id).await.unwrap();
        assert!(store.list_chats(&s.id).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn sqlite_survives_concurrent_writers_without_busy_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("busy.db").display());
    // Two stores on one file = two processes' worth of writers competing for the lock.
    let a = boocode_store::open(&url).await.unwrap();
    let b = boocode_store::open(&url).await.unwrap();
    let (_, s, _) = seeded(a.as_ref()).await;
    let mut tasks = Vec::new();
    for (i, store) in [a.clone(), b.clone(), a, b].into_iter().enumerate() {
        let sid = s.id.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..50u64 {
                let frame = StoredFrame {
                    session_id: sid.clone(),
                    seq: n * 4 + i as u64 + 1,
                    body: "{}".into(),
                    created_at: Utc::now(),
                };
                store.append_frames(&[frame]).await?;
            }
            Ok::<_, StoreError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
}

/// A chat reply records the worker streaming it; when that worker stops sending heartbeats (killed),
/// any other worker's sweep closes the reply, and a live worker's replies are left alone.
#[tokio::test]
async fn replies_of_a_dead_worker_are_swept_and_a_live_ones_are_not() {
    for (store, _dir) in engines().await {
        let (_, _, c) = seeded(store.as_ref()).await;
        let exchange = |text: &str| {
            (
                message(&c, Role::User, MessageStatus::Complete, text),
                message(&c, Role::Assistant, MessageStatus::Streaming, "half"),
            )
        };
        let (u1, dead) = exchange("one");
        store.insert_exchange(&u1, &dead).await.unwrap();
        store.set_message_worker(&dead.id, "w-dead").await.unwrap();
        let (u2, live) = exchange("two");
        store.insert_exchange(&u2, &live).await.unwrap();
        store.set_message_worker(&live.id, "w-live").await.unwrap();
        store.heartbeat("w-dead").await.unwrap();
        // Much later: only w-live still says it is alive.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let cutoff = Utc::now();
        store.heartbeat("w-live").await.unwrap();
        let closed = store
            .interrupt_orphaned_messages(cutoff, "worker gone")
            .await
            .unwrap();
        assert_eq!(
            closed.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
            vec![dead.id.clone()]
        );
        let got = store.get_message(&dead.id).await.unwrap();
        assert_eq!(
            (got.status, got.error.as_deref(), got.content.as_str()),
            (MessageStatus::Error, Some("worker gone"), "half")
        );
        assert_eq!(
            store.get_message(&live.id).await.unwrap().status,
            MessageStatus::Streaming
        );
    }
}
