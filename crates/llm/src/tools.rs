//! Accumulates streamed tool-call deltas into whole calls, tolerating the server bugs listed in
//! docs/ARCHITECTURE.md §15: a missing `index`, a missing `id`, every call sent as index 0, a whole call at once.

use crate::wire::ToolCallDelta;

/// A complete tool call, once the stream finished cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCallRequest {
    pub id: String,
    pub name: String,
    /// The raw JSON arguments text; parsed by whoever runs the tool.
    pub arguments: String,
}

#[derive(Debug, Default)]
struct Slot {
    index: Option<u32>,
    id: Option<String>,
    name: String,
    arguments: String,
}

/// Per-stream accumulator.
#[derive(Debug, Default)]
pub struct ToolCallAccumulator {
    slots: Vec<Slot>,
}

impl ToolCallAccumulator {
    /// Applies one delta.
    pub fn push(&mut self, delta: ToolCallDelta) {
        let name = delta
            .function
            .as_ref()
            .and_then(|f| f.name.clone())
            .filter(|n| !n.is_empty());
        let args = delta.function.and_then(|f| f.arguments).unwrap_or_default();
        let slot = self.slot_for(delta.index, delta.id.as_deref(), name.as_deref());
        if slot.id.is_none() {
            slot.id = delta.id.filter(|id| !id.is_empty());
        }
        if let Some(name) = name.filter(|_| slot.name.is_empty()) {
            slot.name = name;
        }
        slot.arguments.push_str(&args);
    }

    /// Whether any call has started.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The accumulated calls, in arrival order.
    pub fn finish(self) -> Vec<ToolCallRequest> {
        self.slots
            .into_iter()
            .enumerate()
            .filter(|(_, s)| !s.name.is_empty())
            .map(|(n, s)| ToolCallRequest {
                id: s
                    .id
                    .unwrap_or_else(|| format!("call_{}", s.index.unwrap_or(n as u32))),
                name: s.name,
                arguments: if s.arguments.trim().is_empty() {
                    "{}".into()
                } else {
                    s.arguments
                },
            })
            .collect()
    }

    fn slot_for(&mut self, index: Option<u32>, id: Option<&str>, name: Option<&str>) -> &mut Slot {
        let found = match index {
            Some(i) => self.slots.iter().rposition(|s| s.index == Some(i)),
            None => self.slots.len().checked_sub(1),
        };
        let starts_new = match found.map(|at| &self.slots[at]) {
            None => true,
            // A different id, or a second name, on an open slot means a new call (litellm's all-zero index).
            Some(open) => {
                let other_id = matches!((id, &open.id), (Some(new), Some(old)) if !new.is_empty() && new != old);
                let second_name = name.is_some()
                    && !open.name.is_empty()
                    && id.is_none_or(|i| open.id.as_deref() != Some(i));
                other_id || second_name
            }
        };
        if starts_new {
            self.slots.push(Slot {
                index,
                ..Slot::default()
            });
        }
        let at = if starts_new {
            self.slots.len() - 1
        } else {
            found.unwrap_or(0)
        };
        &mut self.slots[at]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{FunctionDelta, ToolCallDelta};

    fn d(index: Option<u32>, id: Option<&str>, name: Option<&str>, args: &str) -> ToolCallDelta {
        ToolCallDelta {
            index,
            id: id.map(Into::into),
            function: Some(FunctionDelta {
                name: name.map(Into::into),
                arguments: Some(args.into()),
            }),
        }
    }

    fn calls(deltas: Vec<ToolCallDelta>) -> Vec<(String, String, String)> {
        let mut acc = ToolCallAccumulator::default();
        for delta in deltas {
            acc.push(delta);
        }
        acc.finish()
            .into_iter()
            .map(|c| (c.id, c.name, c.arguments))
            .collect()
    }

    #[test]
    fn standard_fragments_by_index() {
        let got = calls(vec![
            d(Some(0), Some("a"), Some("view_file"), ""),
            d(Some(1), Some("b"), Some("list_dir"), ""),
            d(Some(0), None, None, "{\"path\":"),
            d(Some(1), None, None, "{}"),
            d(Some(0), None, None, "\"x\"}"),
        ]);
        assert_eq!(
            got,
            vec![
                ("a".into(), "view_file".into(), "{\"path\":\"x\"}".into()),
                ("b".into(), "list_dir".into(), "{}".into())
            ]
        );
    }

    #[test]
    fn missing_index_appends_to_the_open_call() {
        let got = calls(vec![
            d(None, Some("a"), Some("grep"), "{\"pat"),
            d(None, None, None, "tern\":\"x\"}"),
        ]);
        assert_eq!(
            got,
            vec![("a".into(), "grep".into(), "{\"pattern\":\"x\"}".into())]
        );
    }

    #[test]
    fn missing_id_is_synthesised() {
        let got = calls(vec![d(Some(3), None, Some("grep"), "{}")]);
        assert_eq!(got, vec![("call_3".into(), "grep".into(), "{}".into())]);
    }

    #[test]
    fn every_call_at_index_zero_is_split_by_id() {
        let got = calls(vec![
            d(Some(0), Some("a"), Some("one"), "{}"),
            d(Some(0), Some("b"), Some("two"), "{\"k\":1}"),
        ]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], ("b".into(), "two".into(), "{\"k\":1}".into()));
    }

    #[test]
    fn name_is_never_concatenated() {
        let got = calls(vec![
            d(Some(0), Some("a"), Some("grep"), ""),
            d(Some(0), Some("a"), Some("grep"), "{}"),
        ]);
        assert_eq!(got, vec![("a".into(), "grep".into(), "{}".into())]);
    }
}
