//! Plugin markup that leaks into opencode's answer text — the `<dcp-message-id>…</dcp-message-id>` tags of
//! the opencode-dcp plugin and its kin (`<dcp-…>`) — removed from streamed text, including when a tag is
//! split across deltas. Only answer text goes through it; reasoning and tool output are left alone.

const OPEN: &str = "<dcp-";

/// Strips `<dcp-NAME …>…</dcp-NAME>` from a stream of text pieces.
#[derive(Debug, Default)]
pub(crate) struct MarkupStripper {
    /// Text held back because it may start a tag.
    pending: String,
    /// The closing tag we are inside of.
    inside: Option<String>,
}

impl MarkupStripper {
    /// Feeds a piece; returns the text that is certainly not markup.
    pub(crate) fn push(&mut self, piece: &str) -> String {
        self.pending.push_str(piece);
        let mut out = String::new();
        loop {
            if let Some(close) = &self.inside {
                match self.pending.find(close.as_str()) {
                    Some(at) => {
                        let end = at + close.len();
                        self.pending.drain(..end);
                        self.inside = None;
                    }
                    None => {
                        // Keep only what could be the start of the closing tag.
                        let keep = partial_suffix(&self.pending, close);
                        let cut = self.pending.len() - keep;
                        self.pending.drain(..cut);
                        return out;
                    }
                }
            }
            match self.pending.find(OPEN) {
                Some(at) => {
                    out.push_str(&self.pending[..at]);
                    self.pending.drain(..at);
                    let Some(gt) = self.pending.find('>') else {
                        return out;
                    };
                    let name: String = self.pending[1..gt]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect();
                    self.inside = Some(format!("</{name}>"));
                    self.pending.drain(..=gt);
                }
                None => {
                    let keep = partial_suffix(&self.pending, OPEN);
                    let cut = self.pending.len() - keep;
                    out.push_str(&self.pending[..cut]);
                    self.pending.drain(..cut);
                    return out;
                }
            }
        }
    }

    /// The end of the text: what was held back as a possible tag start was text after all (an unclosed
    /// tag's content is dropped).
    pub(crate) fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        if self.inside.take().is_some() {
            return String::new();
        }
        rest
    }
}

/// Strips the markup from a whole text.
#[cfg(test)]
fn strip(text: &str) -> String {
    let mut s = MarkupStripper::default();
    let mut out = s.push(text);
    out.push_str(&s.finish());
    out
}

/// The length of the longest suffix of `text` that is a proper prefix of `pattern` (on char boundaries).
fn partial_suffix(text: &str, pattern: &str) -> usize {
    (1..pattern.len().min(text.len() + 1))
        .rev()
        .find(|n| text.is_char_boundary(text.len() - n) && text.ends_with(&pattern[..*n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_tags_are_removed_and_other_markup_kept() {
        assert_eq!(
            strip("Done.<dcp-message-id>m12</dcp-message-id> See <b>this</b>."),
            "Done. See <b>this</b>."
        );
        assert_eq!(strip("a < b and c<d"), "a < b and c<d");
    }

    #[test]
    fn tags_split_across_pieces_at_every_position_are_removed() {
        let text = "Hi <dcp-message-id>msg_42</dcp-message-id>there";
        for split in 1..text.len() {
            let mut s = MarkupStripper::default();
            let mut out = s.push(&text[..split]);
            out.push_str(&s.push(&text[split..]));
            out.push_str(&s.finish());
            assert_eq!(out, "Hi there", "split at {split}");
        }
        // Byte by byte.
        let mut s = MarkupStripper::default();
        let mut out = String::new();
        for ch in text.chars() {
            out.push_str(&s.push(&ch.to_string()));
        }
        out.push_str(&s.finish());
        assert_eq!(out, "Hi there");
    }

    #[test]
    fn whitespace_and_a_trailing_lone_angle_survive() {
        let mut s = MarkupStripper::default();
        assert_eq!(s.push("  "), "  ");
        assert_eq!(s.push("x <"), "x ");
        assert_eq!(s.finish(), "<");
        assert_eq!(strip("héllo <dcp-x>é</dcp-x>wörld"), "héllo wörld");
    }
}
