//! The broker (docs/ARCHITECTURE.md §6): numbers frames per session, keeps a ring of recent ones, fans them out to
//! live clients, and journals them to the store in batches (one transaction per ≤ 50 ms tick for all
//! sessions). A frame is serialized once, when it is numbered, so live and replayed copies are identical.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boocode_protocol::{Frame, FrameBody, SessionId};
use boocode_store::{FrameNotice, Store, StoredFrame};
use chrono::Utc;
use tokio::sync::{broadcast, mpsc, oneshot};

/// How long the journal collects frames before one write.
const JOURNAL_TICK: Duration = Duration::from_millis(50);
/// Recent frames kept in memory per session; older ones are read back from the journal.
const RING_CAPACITY: usize = 2048;
/// Frames a live client may fall behind before it is disconnected (and reconnects with `since`).
pub const CLIENT_QUEUE: usize = 1024;
/// Frame numbers reserved in the store at a time. A frame goes out before its journal batch lands; the
/// reservation is stored first, so after a kill -9 numbering resumes past every number a client saw.
const RESERVE_BLOCK: u64 = 256;

/// One numbered frame as sent on the wire.
#[derive(Debug, Clone)]
pub struct NumberedFrame {
    pub seq: u64,
    pub text: Arc<str>,
}

struct Channel {
    state: Mutex<ChannelState>,
    live: broadcast::Sender<NumberedFrame>,
}

struct ChannelState {
    next_seq: u64,
    /// Numbers up to this one are reserved in the store and may be handed out.
    reserved: u64,
    ring: VecDeque<NumberedFrame>,
    last_active: std::time::Instant,
}

enum JournalMsg {
    Frame(StoredFrame),
    Flush(oneshot::Sender<()>),
}

/// What a connecting client gets: the frames it missed, then the live feed.
pub enum Subscription {
    /// Frames after `since` are no longer retained (or `since` is in the future): reload over REST.
    Resync,
    Stream {
        backlog: Vec<NumberedFrame>,
        live: broadcast::Receiver<NumberedFrame>,
    },
}

/// A failure to publish or subscribe.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Store(#[from] boocode_store::StoreError),
    #[error("frame could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("broker state poisoned")]
    Poisoned,
}

/// Cheap to clone; all clones share the sessions and the journal writer.
#[derive(Clone)]
pub struct Broker {
    store: Arc<dyn Store>,
    channels: Arc<Mutex<HashMap<SessionId, Arc<Channel>>>>,
    journal: mpsc::UnboundedSender<JournalMsg>,
    /// Other processes may publish to the same sessions (PostgreSQL): catch up before numbering.
    shared: Arc<std::sync::atomic::AtomicBool>,
}

/// A channel quiet for this long may have missed other processes' frames: catch up before numbering.
const QUIET_BEFORE_CATCH_UP: Duration = Duration::from_millis(100);

impl Broker {
    /// Starts the broker and its journal writer.
    pub fn start(store: Arc<dyn Store>) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(journal_writer(store.clone(), rx));
        // A database other processes can share numbers frames from the journal each process follows.
        let shared = store.backend() != boocode_protocol::DatabaseEngine::Sqlite;
        (
            Self {
                store,
                channels: Arc::default(),
                journal: tx,
                shared: Arc::new(std::sync::atomic::AtomicBool::new(shared)),
            },
            writer,
        )
    }

    async fn channel(&self, session: &SessionId) -> Result<Arc<Channel>, BrokerError> {
        if let Some(c) = self
            .channels
            .lock()
            .map_err(|_| BrokerError::Poisoned)?
            .get(session)
        {
            return Ok(c.clone());
        }
        // First use since start: continue numbering after the journal and after anything reserved (a
        // process killed before its journal batch landed may have sent frames up to its reservation).
        let journaled = self.store.last_seq(session).await?;
        // Reservations guard one process's numbering across its own crash (SQLite). Processes sharing a
        // database number from the journal they all follow, so another's reservation is not ours to skip.
        let reserved = if self.is_shared() {
            0
        } else {
            self.store.reserved_frame_seq(session).await?
        };
        let last = journaled.max(reserved);
        let mut map = self.channels.lock().map_err(|_| BrokerError::Poisoned)?;
        let channel = map.entry(session.clone()).or_insert_with(|| {
            Arc::new(Channel {
                state: Mutex::new(ChannelState {
                    next_seq: last + 1,
                    reserved: last,
                    ring: VecDeque::new(),
                    last_active: std::time::Instant::now(),
                }),
                live: broadcast::channel(CLIENT_QUEUE).0,
            })
        });
        Ok(channel.clone())
    }

    fn is_shared(&self) -> bool {
        self.shared.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Marks the journal as shared with other processes (PostgreSQL), so a session quiet here first
    /// takes in what others journaled before numbering its next frame.
    pub fn set_shared(&self) {
        self.shared
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Numbers, fans out and journals one frame; returns its `seq`.
    pub async fn publish(&self, session: &SessionId, body: FrameBody) -> Result<u64, BrokerError> {
        let channel = self.channel(session).await?;
        let shared = self.is_shared();
        if shared {
            let quiet = channel
                .state
                .lock()
                .map(|s| s.last_active.elapsed() >= QUIET_BEFORE_CATCH_UP)
                .unwrap_or(false);
            if quiet {
                self.catch_up(session, &channel, u64::MAX).await?;
            }
        }
        let mut state = loop {
            let want = {
                let state = channel.state.lock().map_err(|_| BrokerError::Poisoned)?;
                if shared || state.next_seq <= state.reserved {
                    break state;
                }
                state.next_seq + RESERVE_BLOCK
            };
            let stored = self.store.reserve_frame_seqs(session, want).await?;
            let mut state = channel.state.lock().map_err(|_| BrokerError::Poisoned)?;
            state.reserved = state.reserved.max(stored);
        };
        let seq = state.next_seq;
        let frame = Frame {
            seq,
            session_id: session.clone(),
            body,
        };
        let text: Arc<str> = serde_json::to_string(&frame)?.into();
        state.next_seq += 1;
        let numbered = NumberedFrame {
            seq,
            text: text.clone(),
        };
        if state.ring.len() == RING_CAPACITY {
            state.ring.pop_front();
        }
        state.ring.push_back(numbered.clone());
        // Sent under the lock so every subscriber sees frames in seq order.
        let _ = channel.live.send(numbered);
        drop(state);
        let stored = StoredFrame {
            session_id: session.clone(),
            seq,
            body: text,
            created_at: Utc::now(),
        };
        let _ = self.journal.send(JournalMsg::Frame(stored));
        Ok(seq)
    }

    /// Returns the reserved numbers after `last` to the store (nothing more is numbered from them).
    async fn give_back(&self, session: &SessionId, reserved: u64, last: u64) {
        if reserved > last
            && let Err(e) = self.store.release_frame_seqs(session, reserved, last).await
        {
            tracing::warn!(error = %e, %session, "frame numbers not given back");
        }
    }

    /// On a clean stop, after `flush`: gives back the unused numbers of every reservation, so the next
    /// start continues right after the journal and reconnecting clients replay without a gap.
    pub async fn release_reservations(&self) {
        let channels: Vec<(SessionId, Arc<Channel>)> = match self.channels.lock() {
            Ok(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(_) => return,
        };
        for (session, channel) in channels {
            let (reserved, last) = match channel.state.lock() {
                Ok(s) => (s.reserved, s.next_seq - 1),
                Err(_) => continue,
            };
            self.give_back(&session, reserved, last).await;
        }
    }

    /// The last `seq` handed out for a session (journaled or not).
    pub async fn last_seq(&self, session: &SessionId) -> Result<u64, BrokerError> {
        let channel = self.channel(session).await?;
        let state = channel.state.lock().map_err(|_| BrokerError::Poisoned)?;
        Ok(state.next_seq - 1)
    }

    /// Subscribes to a session. `since: None` means live frames only.
    pub async fn subscribe(
        &self,
        session: &SessionId,
        since: Option<u64>,
    ) -> Result<Subscription, BrokerError> {
        let channel = self.channel(session).await?;
        let (live, current, ring) = {
            let state = channel.state.lock().map_err(|_| BrokerError::Poisoned)?;
            let ring: Vec<NumberedFrame> = match since {
                Some(since) => state
                    .ring
                    .iter()
                    .filter(|f| f.seq > since)
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            (channel.live.subscribe(), state.next_seq - 1, ring)
        };
        let Some(since) = since else {
            return Ok(Subscription::Stream {
                backlog: Vec::new(),
                live,
            });
        };
        if since > current {
            return Ok(Subscription::Resync);
        }
        let ring_start = ring.first().map_or(current + 1, |f| f.seq);
        let mut backlog = Vec::new();
        if ring_start > since + 1 {
            // The ring does not reach back far enough: read the gap from the journal.
            let gap = self
                .store
                .frames_after(session, since, ring_start - since - 1)
                .await?;
            backlog.extend(gap.into_iter().map(|f| NumberedFrame {
                seq: f.seq,
                text: f.body,
            }));
        }
        backlog.extend(ring);
        let contiguous = backlog
            .iter()
            .zip(since + 1..)
            .all(|(f, want)| f.seq == want)
            && backlog.last().map_or(since, |f| f.seq) == current;
        if !contiguous {
            return Ok(Subscription::Resync);
        }
        Ok(Subscription::Stream { backlog, live })
    }

    /// Fans out frames other processes journaled (PostgreSQL `NOTIFY frames`) to this process's clients,
    /// and keeps local numbering after them. Sessions nobody here follows are skipped.
    pub async fn follow_remote(self, mut notices: mpsc::UnboundedReceiver<FrameNotice>) {
        while let Some(notice) = notices.recv().await {
            let known = self
                .channels
                .lock()
                .ok()
                .and_then(|m| m.get(&notice.session_id).cloned());
            let Some(channel) = known else { continue };
            if let Err(e) = self
                .catch_up(&notice.session_id, &channel, notice.seq)
                .await
            {
                tracing::warn!(error = %e, session = %notice.session_id, "remote frames not fanned out");
            }
        }
    }

    async fn catch_up(
        &self,
        session: &SessionId,
        channel: &Channel,
        upto: u64,
    ) -> Result<(), BrokerError> {
        let have = channel
            .state
            .lock()
            .map_err(|_| BrokerError::Poisoned)?
            .next_seq
            - 1;
        if upto <= have {
            return Ok(());
        }
        let frames = self
            .store
            .frames_after(session, have, (upto - have).min(10_000))
            .await?;
        let mut state = channel.state.lock().map_err(|_| BrokerError::Poisoned)?;
        for f in frames {
            // Frames published here meanwhile already advanced the counter; take only the next one.
            if f.seq != state.next_seq {
                continue;
            }
            state.next_seq += 1;
            let numbered = NumberedFrame {
                seq: f.seq,
                text: f.body,
            };
            if state.ring.len() == RING_CAPACITY {
                state.ring.pop_front();
            }
            state.ring.push_back(numbered.clone());
            let _ = channel.live.send(numbered);
        }
        Ok(())
    }

    /// Drops the in-memory state of sessions nobody follows and nothing published to for `idle`; their
    /// frames stay in the journal. `idle` must exceed the journal tick so no unwritten seq is forgotten.
    pub async fn evict_idle(&self, idle: Duration) -> usize {
        let mut evicted = Vec::new();
        {
            let Ok(mut map) = self.channels.lock() else {
                return 0;
            };
            map.retain(|session, c| {
                let Ok(mut state) = c.state.lock() else {
                    return true;
                };
                let keep = state.last_active.elapsed() < idle || c.live.receiver_count() > 0;
                if !keep {
                    // Nothing more is numbered from this channel: its unused numbers can go back.
                    evicted.push((session.clone(), state.reserved, state.next_seq - 1));
                    state.reserved = state.next_seq - 1;
                }
                keep
            });
        }
        for (session, reserved, last) in &evicted {
            self.give_back(session, *reserved, *last).await;
        }
        evicted.len()
    }

    /// Forgets a deleted session's in-memory state.
    pub fn forget(&self, session: &SessionId) {
        if let Ok(mut map) = self.channels.lock() {
            map.remove(session);
        }
    }

    /// Waits until every frame published so far is in the store.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.journal.send(JournalMsg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn journal_writer(store: Arc<dyn Store>, mut rx: mpsc::UnboundedReceiver<JournalMsg>) {
    let mut batch: Vec<StoredFrame> = Vec::new();
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + JOURNAL_TICK;
        let mut msg = Some(first);
        loop {
            match msg.take() {
                Some(JournalMsg::Frame(f)) => batch.push(f),
                Some(JournalMsg::Flush(w)) => {
                    waiters.push(w);
                    break;
                }
                None => {}
            }
            if batch.len() >= 4096 {
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(next)) => msg = Some(next),
                Ok(None) | Err(_) => break,
            }
        }
        write_batch(store.as_ref(), &mut batch).await;
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
    write_batch(store.as_ref(), &mut batch).await;
}

async fn write_batch(store: &dyn Store, batch: &mut Vec<StoredFrame>) {
    if batch.is_empty() {
        return;
    }
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=5 {
        match store.append_frames(batch).await {
            Ok(()) => {
                batch.clear();
                return;
            }
            Err(e) => {
                tracing::warn!(attempt, error = %e, frames = batch.len(), "journal write failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    tracing::error!(
        frames = batch.len(),
        "journal write failed; frames are live-only until resync"
    );
    batch.clear();
}

/// Once a minute: drops journaled frames beyond retention (≥ 10,000 per session or 10 minutes) and the
/// in-memory rings of sessions idle for 10 minutes.
pub async fn prune_loop(
    store: Arc<dyn Store>,
    broker: Broker,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        let evicted = broker.evict_idle(Duration::from_secs(600)).await;
        if evicted > 0 {
            tracing::debug!(evicted, "idle session rings released");
        }
        let horizon = Utc::now() - chrono::Duration::minutes(10);
        match store.prune_frames(10_000, horizon).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "frame journal pruned"),
            Err(e) => tracing::warn!(error = %e, "frame journal prune failed"),
        }
    }
}
