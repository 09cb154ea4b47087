//! Splits `<think>…</think>` out of streamed content, for servers that send reasoning inline
//! (llama.cpp `--reasoning-format none`). Tags may straddle chunk boundaries.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

/// One piece of split text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Content(String),
    Reasoning(String),
}

/// Streaming splitter: feed chunks, get content and reasoning pieces; `finish` flushes what it held back.
#[derive(Debug, Default)]
pub struct ThinkSplitter {
    in_think: bool,
    held: String,
}

impl ThinkSplitter {
    /// Feeds one chunk of content.
    pub fn push(&mut self, chunk: &str) -> Vec<Piece> {
        self.held.push_str(chunk);
        let mut out = Vec::new();
        loop {
            let tag = if self.in_think { CLOSE } else { OPEN };
            if let Some(at) = self.held.find(tag) {
                let before: String = self.held[..at].to_owned();
                self.emit(&mut out, before);
                self.held.drain(..at + tag.len());
                self.in_think = !self.in_think;
                continue;
            }
            // Hold back a suffix that could be the start of the tag.
            let keep = partial_suffix(&self.held, tag);
            let cut = self.held.len() - keep;
            let ready: String = self.held[..cut].to_owned();
            self.held.drain(..cut);
            self.emit(&mut out, ready);
            return out;
        }
    }

    /// Flushes held-back text at the end of the stream.
    pub fn finish(&mut self) -> Vec<Piece> {
        let mut out = Vec::new();
        let rest = std::mem::take(&mut self.held);
        self.emit(&mut out, rest);
        out
    }

    fn emit(&self, out: &mut Vec<Piece>, text: String) {
        if text.is_empty() {
            return;
        }
        out.push(if self.in_think {
            Piece::Reasoning(text)
        } else {
            Piece::Content(text)
        });
    }
}

/// Length of the longest suffix of `text` that is a proper prefix of `tag`.
fn partial_suffix(text: &str, tag: &str) -> usize {
    (1..tag.len())
        .rev()
        .find(|&n| {
            text.len() >= n
                && text.is_char_boundary(text.len() - n)
                && tag.starts_with(&text[text.len() - n..])
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&str]) -> (String, String) {
        let mut s = ThinkSplitter::default();
        let mut pieces = Vec::new();
        for c in chunks {
            pieces.extend(s.push(c));
        }
        pieces.extend(s.finish());
        let (mut content, mut reasoning) = (String::new(), String::new());
        for p in pieces {
            match p {
                Piece::Content(t) => content.push_str(&t),
                Piece::Reasoning(t) => reasoning.push_str(&t),
            }
        }
        (content, reasoning)
    }

    #[test]
    fn splits_whole_tags() {
        assert_eq!(
            run(&["<think>hmm</think>Hello"]),
            ("Hello".into(), "hmm".into())
        );
    }

    #[test]
    fn splits_tags_across_chunks() {
        assert_eq!(
            run(&["<thi", "nk>deep", " thought</th", "ink>An", "swer <b>"]),
            ("Answer <b>".into(), "deep thought".into())
        );
    }

    #[test]
    fn plain_text_and_lone_angle_bracket_pass_through() {
        assert_eq!(
            run(&["a < b", " and <t"]),
            ("a < b and <t".into(), String::new())
        );
    }

    #[test]
    fn multibyte_text_is_safe() {
        assert_eq!(
            run(&["héllo ✓", "<think>🤔</think>"]),
            ("héllo ✓".into(), "🤔".into())
        );
    }
}
