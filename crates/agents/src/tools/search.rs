//! Search tools: `grep` and `find_files`, walking the tree without following symlinks and skipping
//! `.git`, binary and very large files.

use std::path::{Path, PathBuf};

use boocode_workspace::resolve_in_worktree;

use super::glob::glob_match;
use super::{FindFiles, Grep, bounded};

const MAX_MATCHES: usize = 200;
const MAX_FILES: usize = 500;
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// Files under `start`, as (absolute, root-relative) paths, sorted.
fn walk(root: &Path, start: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![start.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if dir.is_file() {
            out.push(dir.clone());
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            if entry.file_name() == ".git" {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    let mut rel: Vec<(PathBuf, String)> = out
        .into_iter()
        .map(|p| {
            let r = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            (p, r)
        })
        .collect();
    rel.sort_by(|a, b| a.1.cmp(&b.1));
    rel
}

fn glob_hits(glob: &str, rel: &str) -> bool {
    if glob.contains('/') {
        glob_match(glob, rel)
    } else {
        glob_match(glob, rel.rsplit('/').next().unwrap_or(rel))
    }
}

pub(super) fn grep(root: &Path, args: Grep) -> Result<String, String> {
    let regex = regex::Regex::new(&args.pattern).map_err(|e| format!("invalid pattern: {e}"))?;
    let root = root.canonicalize().map_err(|e| e.to_string())?;
    let start = resolve_in_worktree(&root, args.path.as_deref().unwrap_or("."))
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    let mut hits = 0;
    for (path, rel) in walk(&root, &start) {
        if args.glob.as_deref().is_some_and(|g| !glob_hits(g, &rel)) {
            continue;
        }
        if std::fs::metadata(&path)
            .map(|m| m.len() > MAX_FILE_BYTES)
            .unwrap_or(true)
        {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if bytes.iter().take(8192).any(|b| *b == 0) {
            continue;
        }
        for (n, line) in String::from_utf8_lossy(&bytes).lines().enumerate() {
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

pub(super) fn find_files(root: &Path, args: FindFiles) -> Result<String, String> {
    if args.pattern.contains('\0') || args.pattern.split('/').any(|s| s == "..") {
        return Err("pattern must stay inside the project".into());
    }
    let root = root.canonicalize().map_err(|e| e.to_string())?;
    let found: Vec<String> = walk(&root, &root)
        .into_iter()
        .map(|(_, rel)| rel)
        .filter(|rel| glob_hits(&args.pattern, rel))
        .collect();
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
    use super::super::{ToolAccess, execute};

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
            execute("grep", &args.to_string(), ToolAccess::ReadOnly, root).unwrap()
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
            execute("grep", r#"{"pattern":"("}"#, ToolAccess::ReadOnly, root)
                .unwrap_err()
                .contains("invalid pattern")
        );
        assert!(
            execute(
                "grep",
                r#"{"pattern":"x","path":"../"}"#,
                ToolAccess::ReadOnly,
                root
            )
            .is_err()
        );
        let find = |p: &str| {
            execute(
                "find_files",
                &serde_json::json!({"pattern": p}).to_string(),
                ToolAccess::ReadOnly,
                root,
            )
            .unwrap()
        };
        assert_eq!(find("**/*.rs"), "src/deep/lib.rs\nsrc/main.rs");
        assert_eq!(find("*.rs"), "src/deep/lib.rs\nsrc/main.rs");
        assert_eq!(find("src/*.rs"), "src/main.rs");
        assert_eq!(find("nothing"), "no files match");
    }
}
