//! Messages as a tree (docs/ARCHITECTURE.md §10): each follows its `parent_id`; a chat shows one path,
//! from the first message to its active leaf. Siblings are branches (regenerated replies, edits).

use std::collections::HashMap;

use boocode_protocol::{Message, MessageId};

/// The path from the root to `leaf`, oldest first; empty when `leaf` is none or unknown. A parent
/// cycle (never written by boocode) ends the walk instead of looping.
pub fn active_path(all: &[Message], leaf: Option<&MessageId>) -> Vec<Message> {
    let by_id: HashMap<&MessageId, &Message> = all.iter().map(|m| (&m.id, m)).collect();
    let mut path = Vec::new();
    let mut next = leaf;
    while let Some(id) = next {
        let Some(m) = by_id.get(id) else { break };
        if path.len() > all.len() {
            break;
        }
        path.push((*m).clone());
        next = m.parent_id.as_ref();
    }
    path.reverse();
    path
}

/// The newest leaf reached from `from` by always taking the newest child: where a branch switch
/// lands, so the whole branch shows, not just the chosen message.
pub fn newest_leaf_under(all: &[Message], from: &MessageId) -> MessageId {
    let mut newest_child: HashMap<&MessageId, &MessageId> = HashMap::new();
    // `all` is oldest first, so the last child seen per parent is the newest.
    for m in all {
        if let Some(p) = &m.parent_id {
            newest_child.insert(p, &m.id);
        }
    }
    let mut at = from;
    for _ in 0..all.len() {
        match newest_child.get(at) {
            Some(child) => at = child,
            None => break,
        }
    }
    at.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use boocode_protocol::{ChatId, Role, SessionId};

    fn m(id: &str, parent: Option<&str>) -> Message {
        Message {
            id: MessageId(id.into()),
            ..Message::new(
                SessionId("s".into()),
                ChatId("c".into()),
                parent.map(|p| MessageId(p.into())),
                Role::User,
                id,
            )
        }
    }

    #[test]
    fn path_follows_parents_and_switch_lands_on_newest_leaf() {
        // u1 → a1, u1 → a2 → u2 → a3
        let all = vec![
            m("u1", None),
            m("a1", Some("u1")),
            m("a2", Some("u1")),
            m("u2", Some("a2")),
            m("a3", Some("u2")),
        ];
        let ids = |p: Vec<Message>| p.into_iter().map(|m| m.id.0).collect::<Vec<_>>();
        assert_eq!(
            ids(active_path(&all, Some(&MessageId("a1".into())))),
            ["u1", "a1"]
        );
        assert_eq!(
            ids(active_path(&all, Some(&MessageId("a3".into())))),
            ["u1", "a2", "u2", "a3"]
        );
        assert!(active_path(&all, None).is_empty());
        assert_eq!(newest_leaf_under(&all, &MessageId("a2".into())).0, "a3");
        assert_eq!(newest_leaf_under(&all, &MessageId("u1".into())).0, "a3");
        assert_eq!(newest_leaf_under(&all, &MessageId("a1".into())).0, "a1");
        let cyclic = vec![m("x", Some("y")), m("y", Some("x"))];
        assert!(active_path(&cyclic, Some(&MessageId("x".into()))).len() <= 3);
    }
}
