//! A small glob matcher for `find_files` and `grep`'s filter: `*` and `?` stay within one path segment,
//! `**` crosses segments. Enough for what models write; no dependency.

/// Whether `text` (a `/`-separated relative path) matches `pattern`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    matches(pattern.as_bytes(), text.as_bytes())
}

fn matches(p: &[u8], t: &[u8]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some((b'*', rest)) if rest.first() == Some(&b'*') => {
            // `**/` also matches zero directories.
            let after = &rest[1..];
            let after = after.strip_prefix(b"/").unwrap_or(after);
            (0..=t.len()).any(|i| matches(after, &t[i..]))
        }
        Some((b'*', rest)) => {
            for i in 0..=t.len() {
                if matches(rest, &t[i..]) {
                    return true;
                }
                if i < t.len() && t[i] == b'/' {
                    break;
                }
            }
            false
        }
        Some((b'?', rest)) => t.first().is_some_and(|c| *c != b'/') && matches(rest, &t[1..]),
        Some((c, rest)) => t.first() == Some(c) && matches(rest, &t[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("*.rs", "main.rs"));
        assert!(!glob_match("*.rs", "src/main.rs"));
        assert!(glob_match("**/*.rs", "src/main.rs"));
        assert!(glob_match("**/*.rs", "main.rs"));
        assert!(glob_match("src/**/mod.rs", "src/a/b/mod.rs"));
        assert!(glob_match("src/*.t?", "src/x.ts"));
        assert!(!glob_match("src/*.ts", "src/a/x.ts"));
        assert!(glob_match("Cargo.toml", "Cargo.toml"));
    }
}
