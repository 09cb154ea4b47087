//! Chats on both engines: the list, search (FTS5 / tsvector), branches and settings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use boocode_protocol::*;
use boocode_store::{ChatFilter, MessageFinish, Store};
use chrono::Utc;
use support::engines;

async fn seeded(store: &dyn Store) -> (Project, Session) {
    let id = ProjectId::new();
    let p = Project {
        name: "search demo".into(),
        path: format!("/tmp/repo-{id}"),
        id,
        default_model: None,
        created_at: Utc::now(),
    };
    store.insert_project(&p).await.unwrap();
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
    (p, s)
}

fn message(chat: &Chat, parent: Option<&Message>, role: Role, content: &str) -> Message {
    Message::new(
        chat.session_id.clone(),
        chat.id.clone(),
        parent.map(|p| p.id.clone()),
        role,
        content,
    )
}

fn filter(session: &Session, text: &str) -> ChatFilter {
    ChatFilter {
        text: Some(text.into()),
        session: Some(session.id.clone()),
        limit: 50,
        ..Default::default()
    }
}

#[tokio::test]
async fn search_finds_message_text_and_titles_but_not_deleted_chats() {
    for (store, _dir) in engines().await {
        let (_, s) = seeded(store.as_ref()).await;
        let a = Chat::new(s.id.clone(), "Borrow checker woes", ChatKind::Chat);
        let b = Chat::new(s.id.clone(), "Untitled", ChatKind::Chat);
        store.insert_chat(&a).await.unwrap();
        store.insert_chat(&b).await.unwrap();
        let q = message(
            &b,
            None,
            Role::User,
            "How do I configure the zeppelinflux parser?",
        );
        let r = message(&b, Some(&q), Role::Assistant, "");
        let mut streaming = r.clone();
        streaming.status = MessageStatus::Streaming;
        store.insert_exchange(&q, &streaming).await.unwrap();
        // Streaming text is not searchable; once finished it is.
        store
            .save_message_progress(&r.id, "the quokkaflange option", "")
            .await
            .unwrap();
        let hits = store.find_chats(&filter(&s, "quokkaflange")).await.unwrap();
        assert!(hits.is_empty(), "streaming text was indexed: {hits:?}");
        let finish = MessageFinish {
            status: MessageStatus::Complete,
            content: "Set the quokkaflange option in parser.toml.".into(),
            reasoning: String::new(),
            error: None,
            usage: None,
            ttft_ms: Some(120),
            duration_ms: Some(900),
            finished_at: Utc::now(),
        };
        store.finish_message(&r.id, &finish).await.unwrap();

        let hits = store.find_chats(&filter(&s, "quokkaflange")).await.unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].chat.id, b.id);
        let hit: String = hits[0]
            .snippet
            .iter()
            .filter(|p| p.hit)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(hit.to_lowercase(), "quokkaflange");
        // A prefix finds it too; every word must match.
        assert_eq!(
            store
                .find_chats(&filter(&s, "zeppelin"))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .find_chats(&filter(&s, "zeppelinflux nowhere"))
                .await
                .unwrap()
                .is_empty()
        );
        // Title.
        let hits = store.find_chats(&filter(&s, "checker")).await.unwrap();
        assert_eq!(
            hits.iter().map(|h| &h.chat.id).collect::<Vec<_>>(),
            vec![&a.id]
        );
        assert!(hits[0].snippet.is_empty());
        // FTS syntax is just text.
        for hostile in [
            "\"",
            "*",
            "a:b OR (",
            "NEAR(x y)",
            "'; DROP TABLE chats; --",
            "%",
            "_",
        ] {
            store.find_chats(&filter(&s, hostile)).await.unwrap();
        }
        // Metrics stored.
        let got = store.get_message(&r.id).await.unwrap();
        assert_eq!((got.ttft_ms, got.duration_ms), (Some(120), Some(900)));

        store.delete_chat(&b.id).await.unwrap();
        assert!(
            store
                .find_chats(&filter(&s, "quokkaflange"))
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn list_is_pinned_first_then_newest_and_archive_is_apart() {
    for (store, _dir) in engines().await {
        let (p, s) = seeded(store.as_ref()).await;
        let old = Chat::new(s.id.clone(), "old", ChatKind::Chat);
        store.insert_chat(&old).await.unwrap();
        let newer = Chat::new(s.id.clone(), "newer", ChatKind::Chat);
        store.insert_chat(&newer).await.unwrap();
        let archived = Chat::new(s.id.clone(), "gone", ChatKind::Chat);
        store.insert_chat(&archived).await.unwrap();
        let all = ChatFilter {
            session: Some(s.id.clone()),
            limit: 50,
            ..Default::default()
        };
        let names =
            |items: Vec<ChatListItem>| items.into_iter().map(|i| i.chat.name).collect::<Vec<_>>();
        assert_eq!(
            names(store.find_chats(&all).await.unwrap()),
            ["gone", "newer", "old"]
        );
        let pin = UpdateChatRequest {
            pinned: Some(true),
            ..Default::default()
        };
        store.update_chat(&old.id, &pin).await.unwrap();
        let archive = UpdateChatRequest {
            archived: Some(true),
            ..Default::default()
        };
        store.update_chat(&archived.id, &archive).await.unwrap();
        let listed = store.find_chats(&all).await.unwrap();
        assert_eq!(listed[0].project_id, p.id);
        assert_eq!(listed[0].project_name, "search demo");
        assert_eq!(names(listed), ["old", "newer"]);
        let in_archive = ChatFilter {
            archived: true,
            ..all.clone()
        };
        assert_eq!(
            names(store.find_chats(&in_archive).await.unwrap()),
            ["gone"]
        );
        // A message moves its chat up.
        let m = message(&newer, None, Role::User, "hi");
        store.insert_messages(&[&m]).await.unwrap();
        let unpin = UpdateChatRequest {
            pinned: Some(false),
            ..Default::default()
        };
        store.update_chat(&old.id, &unpin).await.unwrap();
        assert_eq!(
            names(store.find_chats(&all).await.unwrap()),
            ["newer", "old"]
        );
    }
}

#[tokio::test]
async fn branches_keep_parents_and_the_active_leaf() {
    for (store, _dir) in engines().await {
        let (_, s) = seeded(store.as_ref()).await;
        let c = Chat::new(s.id.clone(), "c", ChatKind::Chat);
        store.insert_chat(&c).await.unwrap();
        let u1 = message(&c, None, Role::User, "one");
        let a1 = message(&c, Some(&u1), Role::Assistant, "reply one");
        store.insert_exchange(&u1, &a1).await.unwrap();
        assert_eq!(
            store.get_chat(&c.id).await.unwrap().active_leaf_id,
            Some(a1.id.clone())
        );
        let a2 = message(&c, Some(&u1), Role::Assistant, "reply two");
        store.insert_messages(&[&a2]).await.unwrap();
        assert_eq!(
            store.get_chat(&c.id).await.unwrap().active_leaf_id,
            Some(a2.id.clone())
        );
        let all = store.list_messages(&c.id).await.unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].parent_id, Some(u1.id.clone()));
        // Back to the first branch; a message of another chat is refused.
        let chat = store.set_active_leaf(&c.id, &a1.id).await.unwrap();
        assert_eq!(chat.active_leaf_id, Some(a1.id.clone()));
        let other = Chat::new(s.id.clone(), "other", ChatKind::Chat);
        store.insert_chat(&other).await.unwrap();
        let stray = message(&other, None, Role::User, "x");
        store.insert_messages(&[&stray]).await.unwrap();
        assert!(store.set_active_leaf(&c.id, &stray.id).await.is_err());
        assert_eq!(
            store.get_chat(&c.id).await.unwrap().active_leaf_id,
            Some(a1.id)
        );
    }
}

#[tokio::test]
async fn settings_are_stored_and_cleared() {
    for (store, _dir) in engines().await {
        let (p, s) = seeded(store.as_ref()).await;
        let c = Chat::new(s.id.clone(), "c", ChatKind::Chat);
        store.insert_chat(&c).await.unwrap();
        let params = ChatParams {
            temperature: Some(0.2),
            seed: Some(42),
            stop: Some(vec!["END".into()]),
            reasoning_effort: Some(ReasoningEffort::None),
            ..Default::default()
        };
        let set = UpdateChatRequest {
            model: Some("qwen".into()),
            system_prompt: Some("Be brief.".into()),
            params: Some(params.clone()),
            ..Default::default()
        };
        let got = store.update_chat(&c.id, &set).await.unwrap();
        assert_eq!(
            (got.model.as_deref(), got.system_prompt.as_deref()),
            (Some("qwen"), Some("Be brief."))
        );
        assert_eq!(got.params, params);
        let clear = UpdateChatRequest {
            model: Some(String::new()),
            system_prompt: Some(String::new()),
            params: Some(ChatParams::default()),
            ..Default::default()
        };
        let got = store.update_chat(&c.id, &clear).await.unwrap();
        assert_eq!(
            (got.model, got.system_prompt, got.params),
            (None, None, ChatParams::default())
        );

        let preset = Preset {
            id: MessageId::new().to_string(),
            project_id: Some(p.id.clone()),
            name: "terse".into(),
            system_prompt: "One line.".into(),
            params,
            created_at: Utc::now(),
        };
        store.insert_preset(&preset).await.unwrap();
        let listed = store.list_presets(Some(&p.id)).await.unwrap();
        let got = listed.iter().find(|x| x.id == preset.id).unwrap();
        assert_eq!(
            (&got.name, &got.system_prompt, &got.params),
            (&preset.name, &preset.system_prompt, &preset.params)
        );
        assert!(
            !store
                .list_presets(None)
                .await
                .unwrap()
                .iter()
                .any(|x| x.id == preset.id)
        );
        store.delete_preset(&preset.id).await.unwrap();
        assert!(store.delete_preset(&preset.id).await.is_err());
    }
}
