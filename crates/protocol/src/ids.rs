//! Newtype ids: UUID v7 strings (time-ordered), distinct types so a chat id is never passed as a session id.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, TS)]
        #[ts(type = "string")]
        pub struct $name(pub String);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }
            /// The id as text, for SQL binds and log fields.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(Self)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    )*};
}

id_type!(
    /// A project: one git repository on disk.
    ProjectId,
    /// A session: the unit of frames, worktrees and agent sessions.
    SessionId,
    /// A chat inside a session.
    ChatId,
    /// A message inside a chat.
    MessageId,
    /// A queued coding turn.
    TaskId,
    /// A reviewed diff.
    ChangeId,
    /// A permission request relayed from an agent.
    PermissionId,
    /// A session's standing "always allow" answer for one tool kind.
    PermissionRuleId,
    /// An arena: several contenders on one task, compared side by side.
    ArenaId,
    /// An uploaded file, attached to messages.
    UploadId,
    /// A reviewer's comment on a line of a change.
    CommentId,
);
