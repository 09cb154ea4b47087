//! The broker on a real SQLite journal: numbering, replay from ring and journal, resync after pruning,
//! and a slow client that is cut off without slowing the publisher.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use boocode_protocol::*;
use boocode_server::broker::{Broker, CLIENT_QUEUE, Subscription};
use boocode_store::Store;
use chrono::Utc;
use tokio::sync::broadcast::error::RecvError;

async fn store_with_session() -> (tempfile::TempDir, Arc<dyn Store>, SessionId) {
    let dir = tempfile::tempdir().unwrap();
    let store = boocode_store::open(&format!("sqlite://{}", dir.path().join("b.db").display()))
        .await
        .unwrap();
    let project = Project {
        id: ProjectId::new(),
        name: "p".into(),
        path: "/tmp/p".into(),
        default_model: None,
        created_at: Utc::now(),
    };
    store.insert_project(&project).await.unwrap();
    let session = Session {
        id: SessionId::new(),
        project_id: project.id,
        name: "s".into(),
        model: None,
        status: OpenStatus::Open,
        created_at: Utc::now(),
        last_seq: 0,
    };
    store.insert_session(&session).await.unwrap();
    (dir, store, session.id)
}

fn delta(n: usize) -> FrameBody {
    FrameBody::Delta {
        message_id: MessageId("m".into()),
        chat_id: ChatId("c".into()),
        content: format!("{n}"),
    }
}

fn seqs(sub: &Subscription) -> Vec<u64> {
    match sub {
        Subscription::Stream { backlog, .. } => backlog.iter().map(|f| f.seq).collect(),
        Subscription::Resync => panic!("unexpected resync"),
    }
}

#[tokio::test]
async fn replay_reads_past_the_ring_from_the_journal() {
    let (_dir, store, sid) = store_with_session().await;
    let (broker, _writer) = Broker::start(store.clone());
    for n in 0..3000 {
        broker.publish(&sid, delta(n)).await.unwrap();
    }
    broker.flush().await;
    assert_eq!(store.last_seq(&sid).await.unwrap(), 3000);
    // The ring holds the newest frames only; since=10 needs the journal for the start of the gap.
    let sub = broker.subscribe(&sid, Some(10)).await.unwrap();
    assert_eq!(seqs(&sub), (11..=3000).collect::<Vec<_>>());
    let sub = broker.subscribe(&sid, Some(3000)).await.unwrap();
    assert!(seqs(&sub).is_empty());
    assert!(matches!(
        broker.subscribe(&sid, Some(3001)).await.unwrap(),
        Subscription::Resync
    ));
}

#[tokio::test]
async fn a_fresh_broker_continues_numbering_and_resyncs_pruned_gaps() {
    let (_dir, store, sid) = store_with_session().await;
    {
        let (broker, _writer) = Broker::start(store.clone());
        for n in 0..50 {
            broker.publish(&sid, delta(n)).await.unwrap();
        }
        // A clean stop: journal flushed, unused reserved numbers given back.
        broker.flush().await;
        broker.release_reservations().await;
    }
    store
        .prune_frames(20, Utc::now() + chrono::Duration::minutes(1))
        .await
        .unwrap();
    let (broker, _writer) = Broker::start(store.clone());
    assert_eq!(broker.publish(&sid, delta(50)).await.unwrap(), 51);
    assert!(matches!(
        broker.subscribe(&sid, Some(5)).await.unwrap(),
        Subscription::Resync
    ));
    let sub = broker.subscribe(&sid, Some(40)).await.unwrap();
    assert_eq!(seqs(&sub), (41..=51).collect::<Vec<_>>());
}

/// A process killed before its journal batch landed had sent frames the journal lacks: the next process
/// numbers past everything that was reserved, never reusing a number a client could have seen.
#[tokio::test]
async fn after_an_unclean_stop_numbering_resumes_past_the_reservation() {
    let (_dir, store, sid) = store_with_session().await;
    {
        let (broker, writer) = Broker::start(store.clone());
        for n in 0..10 {
            broker.publish(&sid, delta(n)).await.unwrap();
        }
        // Killed: the journal writer dies with whatever it had not written yet.
        writer.abort();
    }
    let journaled = store.last_seq(&sid).await.unwrap();
    assert!(journaled <= 10);
    let reserved = store.reserved_frame_seq(&sid).await.unwrap();
    assert!(reserved >= 10, "numbers are reserved before they go out");
    let (broker, _writer) = Broker::start(store.clone());
    let next = broker.publish(&sid, delta(10)).await.unwrap();
    assert!(next > reserved, "{next} reuses a number up to {reserved}");
    // A client that saw 1..=10 live reconnects: it resyncs, never gets other frames under its numbers.
    assert!(
        matches!(
            broker.subscribe(&sid, Some(10)).await.unwrap(),
            Subscription::Resync
        ) || seqs(&broker.subscribe(&sid, Some(10)).await.unwrap())
            .iter()
            .all(|s| *s > reserved)
    );
}

#[tokio::test]
async fn a_slow_client_is_cut_off_and_never_blocks_publishing() {
    let (_dir, store, sid) = store_with_session().await;
    let (broker, _writer) = Broker::start(store);
    let Subscription::Stream { mut live, .. } = broker.subscribe(&sid, None).await.unwrap() else {
        panic!("expected a stream");
    };
    let fast = broker.subscribe(&sid, None).await.unwrap();
    // The slow subscriber never reads; publishing far past its queue still completes at once.
    for n in 0..CLIENT_QUEUE * 3 {
        broker.publish(&sid, delta(n)).await.unwrap();
    }
    assert!(matches!(live.recv().await, Err(RecvError::Lagged(_))));
    drop(fast);
}

#[tokio::test]
async fn idle_sessions_release_their_ring_and_resume_numbering() {
    let (_dir, store, sid) = store_with_session().await;
    let (broker, _writer) = Broker::start(store);
    for n in 0..5 {
        broker.publish(&sid, delta(n)).await.unwrap();
    }
    broker.flush().await;
    let followed = broker.subscribe(&sid, None).await.unwrap();
    assert_eq!(
        broker.evict_idle(std::time::Duration::ZERO).await,
        0,
        "a followed session stays"
    );
    drop(followed);
    assert_eq!(
        broker.evict_idle(std::time::Duration::from_secs(60)).await,
        0,
        "recently active stays"
    );
    assert_eq!(broker.evict_idle(std::time::Duration::ZERO).await, 1);
    assert_eq!(broker.publish(&sid, delta(5)).await.unwrap(), 6);
    let sub = broker.subscribe(&sid, Some(2)).await.unwrap();
    assert_eq!(seqs(&sub), vec![3, 4, 5, 6]);
}
