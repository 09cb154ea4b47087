//! The `[[name:arg]]` directives that script a reply.

/// Everything a prompt can ask of the fake model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directives {
    pub reply: Option<String>,
    pub title: Option<String>,
    pub reasoning: Option<String>,
    pub think_tags: bool,
    pub tools: Vec<(String, String)>,
    /// `[[agent_write:PATH CONTENT]]`: write a file with whatever write tool the request offers.
    pub agent_write: Option<(String, String)>,
    /// `[[agent_tool:NAME ARGS]]`: call the offered tool named NAME or ending in `_NAME` (agents prefix
    /// MCP tools with their server's name: `boocode_new_task`, `mcp__boocode__new_task`).
    pub agent_tools: Vec<(String, String)>,
    pub delay_ms: u64,
    pub first_delay_ms: u64,
    pub tokens: Option<usize>,
    /// With `tokens`: a paragraph break after every this many tokens (prose as models write it).
    pub paragraph: Option<usize>,
    pub fail: Option<u16>,
    /// Fails only non-streamed requests (titles), with this status.
    pub title_fail: Option<u16>,
    pub drop_after: Option<usize>,
    pub stream_error: bool,
    pub garbage: bool,
    pub invalid_utf8: bool,
    /// The first token carries a U+0000 (models do emit it).
    pub nul: bool,
    pub stamp: bool,
    pub no_usage: bool,
    /// Whether any directive was present.
    pub any: bool,
}

impl Directives {
    /// Parses every `[[…]]` in `text`; unknown directives are ignored.
    pub fn parse(text: &str) -> Self {
        let mut d = Self::default();
        let mut rest = text;
        while let Some(start) = rest.find("[[") {
            let Some(len) = rest[start..].find("]]") else {
                break;
            };
            let inner = &rest[start + 2..start + len];
            rest = &rest[start + len + 2..];
            let (name, arg) = inner.split_once(':').unwrap_or((inner, ""));
            let num = || arg.trim().parse::<u64>().ok();
            d.any = true;
            match name.trim() {
                "reply" => d.reply = Some(arg.to_owned()),
                "title" => d.title = Some(arg.to_owned()),
                "reasoning" => d.reasoning = Some(arg.to_owned()),
                "think_tags" => d.think_tags = true,
                "tool" => {
                    let (tool, args) = arg.trim().split_once(' ').unwrap_or((arg.trim(), "{}"));
                    d.tools.push((tool.to_owned(), args.trim().to_owned()));
                }
                "agent_tool" => {
                    let (tool, args) = arg.trim().split_once(' ').unwrap_or((arg.trim(), "{}"));
                    d.agent_tools
                        .push((tool.to_owned(), args.trim().to_owned()));
                }
                "agent_write" => {
                    let (path, content) = arg.trim().split_once(' ').unwrap_or((arg.trim(), ""));
                    d.agent_write = Some((path.to_owned(), content.to_owned()));
                }
                "delay_ms" => d.delay_ms = num().unwrap_or(0),
                "first_delay_ms" => d.first_delay_ms = num().unwrap_or(0),
                "rate" => d.delay_ms = num().filter(|r| *r > 0).map_or(0, |r| 1000 / r),
                "tokens" => d.tokens = num().map(|n| n as usize),
                "para" => d.paragraph = num().map(|n| n as usize).filter(|n| *n > 0),
                "fail" => d.fail = num().and_then(|n| u16::try_from(n).ok()),
                "title_fail" => d.title_fail = num().and_then(|n| u16::try_from(n).ok()),
                "drop_after" => d.drop_after = num().map(|n| n as usize),
                "stream_error" => d.stream_error = true,
                "garbage" => d.garbage = true,
                "invalid_utf8" => d.invalid_utf8 = true,
                "nul" => d.nul = true,
                "stamp" => d.stamp = true,
                "no_usage" => d.no_usage = true,
                _ => {}
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directives_with_arguments() {
        let d = Directives::parse(
            "hi [[reasoning:thinking…]] [[tool:write_file {\"path\":\"a.txt\",\"content\":\"hi\"}]] [[delay_ms:50]] [[tokens:500]] [[fail:500]] [[drop_after:10]]",
        );
        assert_eq!(d.reasoning.as_deref(), Some("thinking…"));
        assert_eq!(
            d.tools,
            vec![(
                "write_file".into(),
                "{\"path\":\"a.txt\",\"content\":\"hi\"}".into()
            )]
        );
        assert_eq!(
            (d.delay_ms, d.tokens, d.fail, d.drop_after),
            (50, Some(500), Some(500), Some(10))
        );
        assert!(!Directives::parse("plain text").any);
    }
}
