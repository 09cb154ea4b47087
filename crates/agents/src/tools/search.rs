//! Search tools: `grep` and `find_files`, walking the tree beneath the worktree's directory handle
//! without following symlinks, skipping `.git`, binary and very large files. Globs are compiled by the
//! `globset` crate into automata that match in linear time, so a model-chosen pattern such as
//! `*a*a*a*…b` cannot backtrack without bound; every directory and file is a point where the tool's
//! budget (deadline, cancel) is checked.

use boocode_workspace::{EntryKind, WorktreeDir};
use globset::{GlobBuilder, GlobMatcher};

use super::{FindFiles, Grep, ToolBudget, bounded};

const MAX_MATCHES: usize = 200;
const MAX_FILES: usize = 500;
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
/// Longest glob accepted: longer is not a file pattern.
const MAX_GLOB: usize = 512;

/// A compiled glob: `*` and `?` stay within one path segment, `**` crosses segments; a pattern without
/// `/` matches file names.
struct Glob {
    matcher: GlobMatcher,
    whole_path: bool,
}

impl Glob {
    fn new(pattern: &str) -> Result<Self, String> {
        if pattern.len() > MAX_GLOB {
            return Err(format!("glob longer than {MAX_GLOB} bytes"));
        }
        let matcher = GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("invalid glob: {e}"))?
            .compile_matcher();
        Ok(Self {
            matcher,
            whole_path: pattern.contains('/'),
        })
    }

    fn hits(&self, rel: &str) -> bool {
        if self.whole_path {
            self.matcher.is_match(rel)
        } else {
            self.matcher.is_match(rel.rsplit('/').next().unwrap_or(rel))
        }
    }
}

/// Files under `start` (root-relative, `.` for the root), sorted.
fn walk(root: &WorktreeDir, start: &str, budget: &ToolBudget) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let first = root.relative(start).map_err(|e| e.to_string())?;
    if root.kind(start).map_err(|e| e.to_string())? == Some(EntryKind::File) {
        return Ok(vec![first.display().to_string()]);
    }
    let mut stack = vec![first.display().to_string()];
    while let Some(dir) = stack.pop() {
        budget.check()?;
        let listed = if dir.is_empty() { "." } else { dir.as_str() };
        let Ok(entries) = root.list(listed) else {
            continue;
        };
        for entry in entries {
            if entry.name == ".git" {
                continue;
            }
            let rel = if dir.is_empty() {
                entry.name
            } else {
                format!("{dir}/{}", entry.name)
            };
            match entry.kind {
                EntryKind::Dir => stack.push(rel),
                EntryKind::File => out.push(rel),
                EntryKind::Symlink | EntryKind::Other => {}
            }
        }
    }
    out.sort();
    Ok(out)
}

pub(super) fn grep(root: &WorktreeDir, args: Grep, budget: &ToolBudget) -> Result<String, String> {
    let regex = regex::RegexBuilder::new(&args.pattern)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| format!("invalid pattern: {e}"))?;
    let glob = args.glob.as_deref().map(Glob::new).transpose()?;
    let mut out = String::new();
    let mut hits = 0;
    for rel in walk(root, args.path.as_deref().unwrap_or("."), budget)? {
        budget.check()?;
        if glob.as_ref().is_some_and(|g| !g.hits(&rel)) {
            continue;
        }
        let Ok(Some(bytes)) = root.read_at_most(&rel, MAX_FILE_BYTES) else {
            continue;
        };
        if bytes.iter().take(8192).any(|b| *b == 0) {
            continue;
        }
        for (n, line) in String::from_utf8_lossy(&bytes).lines().enumerate() {
            if n % 1024 == 0 {
                budget.check()?;
            }
            if regex.is_match(line) {
                let shown: String = line.chars().take(300).collect();
                out.push_str(&format!("{rel}:{}: {shown}\n", n + 1));
                hits += 1;
                if hits == MAX_MATCHES {
                    out.push_str(&format!("… (stopped at {MAX_MATCHES} matches)\n"));
                    return Ok(bounded(out));
                }
            }
        }
    }
    if out.is_empty() {
        out = "no matches".into();
    }
    Ok(bounded(out))
}

pub(super) fn find_files(
    root: &WorktreeDir,
    args: FindFiles,
    budget: &ToolBudget,
) -> Result<String, String> {
    if args.pattern.contains('\0') || args.pattern.split('/').any(|s| s == "..") {
        return Err("pattern must stay inside the project".into());
    }
    let glob = Glob::new(&args.pattern)?;
    let mut found = Vec::new();
    for rel in walk(root, ".", budget)? {
        budget.check()?;
        if glob.hits(&rel) {
            found.push(rel);
        }
    }
    let shown = found.len().min(MAX_FILES);
    let mut out = found[..shown].join("\n");
    if found.len() > shown {
        out.push_str(&format!("\n… ({} more files)", found.len() - shown));
    }
    if out.is_empty() {
        out = "no files match".into();
    }
    Ok(bounded(out))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::{ToolAccess, ToolBudget, execute};

    fn budget() -> ToolBudget {
        ToolBudget::default()
    }

    #[test]
    fn grep_and_find() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join("src/main.rs"), "fn main() {\n    helper();\n}\n").unwrap();
        std::fs::write(root.join("src/deep/lib.rs"), "pub fn helper() {}\n").unwrap();
        std::fs::write(root.join("README.md"), "helper docs\n").unwrap();
        std::fs::write(root.join(".git/config"), "helper in git\n").unwrap();
        std::fs::write(
            root.join("bin.dat"),
            [0u8, b'h', b'e', b'l', b'p', b'e', b'r'],
        )
        .unwrap();
        let grep = |args: serde_json::Value| {
            execute(
                "grep",
                &args.to_string(),
                ToolAccess::ReadOnly,
                root,
                &budget(),
            )
            .unwrap()
        };
        assert_eq!(
            grep(serde_json::json!({"pattern": "helper"})),
            "README.md:1: helper docs\nsrc/deep/lib.rs:1: pub fn helper() {}\nsrc/main.rs:2:     helper();\n"
        );
        assert_eq!(
            grep(serde_json::json!({"pattern": "helper", "glob": "*.md"})),
            "README.md:1: helper docs\n"
        );
        assert_eq!(
            grep(serde_json::json!({"pattern": "fn \\w+", "path": "src/deep"})),
            "src/deep/lib.rs:1: pub fn helper() {}\n"
        );
        assert!(
            execute(
                "grep",
                r#"{"pattern":"("}"#,
                ToolAccess::ReadOnly,
                root,
                &budget()
            )
            .unwrap_err()
            .contains("invalid pattern")
        );
        assert!(
            execute(
                "grep",
                r#"{"pattern":"x","path":"../"}"#,
                ToolAccess::ReadOnly,
                root,
                &budget()
            )
            .is_err()
        );
        let find = |p: &str| {
            execute(
                "find_files",
                &serde_json::json!({"pattern": p}).to_string(),
                ToolAccess::ReadOnly,
                root,
                &budget(),
            )
            .unwrap()
        };
        assert_eq!(find("**/*.rs"), "src/deep/lib.rs\nsrc/main.rs");
        assert_eq!(find("*.rs"), "src/deep/lib.rs\nsrc/main.rs");
        assert_eq!(find("src/*.rs"), "src/main.rs");
        assert_eq!(find("nothing"), "no files match");
        assert_eq!(find("src/**/mod.rs"), "no files match");
        assert_eq!(find("src/*.r?"), "src/main.rs");
    }

    /// A pattern that makes a backtracking matcher explode answers at once, and a cancelled budget stops a
    /// walk at its next check.
    #[test]
    fn hostile_globs_are_linear_and_cancel_wins() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let name = "a".repeat(60);
        for i in 0..50 {
            std::fs::write(root.join(format!("{name}{i}")), "x").unwrap();
        }
        let pattern = format!("{}b", "*a".repeat(40));
        let started = Instant::now();
        let out = execute(
            "find_files",
            &serde_json::json!({"pattern": pattern}).to_string(),
            ToolAccess::ReadOnly,
            root,
            &budget(),
        )
        .unwrap();
        assert_eq!(out, "no files match");
        // Not a timing test of speed: the old matcher needed hours here, far past any machine's noise.
        assert!(started.elapsed() < Duration::from_secs(20));
        let cancelled = budget();
        cancelled.cancel();
        let err = execute(
            "find_files",
            r#"{"pattern":"*.rs"}"#,
            ToolAccess::ReadOnly,
            root,
            &cancelled,
        )
        .unwrap_err();
        assert!(err.contains("cancelled"), "{err}");
        let late = ToolBudget::with_deadline(Instant::now());
        let err = execute(
            "grep",
            r#"{"pattern":"x"}"#,
            ToolAccess::ReadOnly,
            root,
            &late,
        )
        .unwrap_err();
        assert!(err.contains("time limit"), "{err}");
    }
}
