//! File tools: view, list, write, edit. Every path is opened beneath the worktree's directory handle
//! (`WorktreeDir`), so a directory swapped for a symlink while a tool runs cannot lead it outside.

use boocode_workspace::{EntryKind, WorktreeDir};

pub(crate) use super::WriteFile;
use super::{EditFile, ListDir, ToolBudget, ViewFile, bounded};

pub(super) fn view_file(root: &WorktreeDir, args: ViewFile) -> Result<String, String> {
    let bytes = root.read(&args.path).map_err(|e| e.to_string())?;
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return Ok(format!(
            "{} is a binary file of {} bytes",
            args.path,
            bytes.len()
        ));
    }
    let text = String::from_utf8_lossy(&bytes);
    let start = args.offset.unwrap_or(1).max(1);
    let limit = args.limit.unwrap_or(500).clamp(1, 2000);
    let total = text.lines().count();
    let mut out = String::new();
    for (n, line) in text.lines().enumerate().skip(start - 1).take(limit) {
        out.push_str(&format!("{:>6}\t{line}\n", n + 1));
    }
    if start - 1 + limit < total {
        out.push_str(&format!(
            "… ({} more lines; use offset to read on)\n",
            total - (start - 1 + limit)
        ));
    }
    if out.is_empty() {
        out = format!("{} has {total} lines; nothing at offset {start}", args.path);
    }
    Ok(bounded(out))
}

pub(super) fn list_dir(
    root: &WorktreeDir,
    args: ListDir,
    budget: &ToolBudget,
) -> Result<String, String> {
    budget.check()?;
    let entries = root.list(&args.path).map_err(|e| e.to_string())?;
    let mut names: Vec<String> = entries
        .into_iter()
        .filter(|e| e.name != ".git")
        .map(|e| {
            if e.kind == EntryKind::Dir {
                format!("{}/", e.name)
            } else {
                e.name
            }
        })
        .collect();
    names.sort();
    let shown = names.len().min(1000);
    let mut out = names[..shown].join("\n");
    if names.len() > shown {
        out.push_str(&format!("\n… ({} more entries)", names.len() - shown));
    }
    if out.is_empty() {
        out = format!("{} is empty", args.path);
    }
    Ok(bounded(out))
}

pub(crate) fn write_file(root: &WorktreeDir, args: WriteFile) -> Result<String, String> {
    let relative = root.relative(&args.path).map_err(|e| e.to_string())?;
    if root.kind(&args.path).map_err(|e| e.to_string())? == Some(EntryKind::Dir) {
        return Err(format!("{} is a directory", args.path));
    }
    root.write(&args.path, args.content.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "wrote {} ({} bytes)",
        relative.display(),
        args.content.len()
    ))
}

pub(super) fn edit_file(root: &WorktreeDir, args: EditFile) -> Result<String, String> {
    if args.old_text.is_empty() {
        return Err("old_text must not be empty".into());
    }
    let relative = root.relative(&args.path).map_err(|e| e.to_string())?;
    let bytes = root.read(&args.path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", args.path))?;
    match text.matches(&args.old_text).count() {
        0 => Err(format!("old_text was not found in {}", args.path)),
        1 => {
            let updated = text.replacen(&args.old_text, &args.new_text, 1);
            root.write(&args.path, updated.as_bytes())
                .map_err(|e| e.to_string())?;
            Ok(format!("edited {}", relative.display()))
        }
        n => Err(format!(
            "old_text occurs {n} times in {}; include more context",
            args.path
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::super::{ToolAccess, ToolBudget, execute};

    fn run(root: &std::path::Path, name: &str, args: serde_json::Value) -> Result<String, String> {
        execute(
            name,
            &args.to_string(),
            ToolAccess::ReadWrite,
            root,
            &ToolBudget::default(),
        )
    }

    #[test]
    fn write_view_edit_list() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        run(
            root,
            "write_file",
            serde_json::json!({"path": "src/a.txt", "content": "one\ntwo\nthree\n"}),
        )
        .unwrap();
        let view = run(
            root,
            "view_file",
            serde_json::json!({"path": "src/a.txt", "offset": 2, "limit": 1}),
        )
        .unwrap();
        assert!(
            view.contains("     2\ttwo") && !view.contains("one") && view.contains("1 more lines"),
            "{view}"
        );
        run(
            root,
            "edit_file",
            serde_json::json!({"path": "src/a.txt", "old_text": "two", "new_text": "TWO"}),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("src/a.txt")).unwrap(),
            "one\nTWO\nthree\n"
        );
        let missing = run(
            root,
            "edit_file",
            serde_json::json!({"path": "src/a.txt", "old_text": "zzz", "new_text": "y"}),
        );
        assert!(missing.unwrap_err().contains("not found"));
        std::fs::write(root.join("dup.txt"), "x x").unwrap();
        let twice = run(
            root,
            "edit_file",
            serde_json::json!({"path": "dup.txt", "old_text": "x", "new_text": "y"}),
        );
        assert!(twice.unwrap_err().contains("2 times"));
        let list = run(root, "list_dir", serde_json::json!({})).unwrap();
        assert_eq!(list, "dup.txt\nsrc/");
        assert!(
            run(
                root,
                "write_file",
                serde_json::json!({"path": "src", "content": "x"})
            )
            .unwrap_err()
            .contains("directory")
        );
    }

    #[test]
    fn escapes_are_refused_and_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        symlink(&outside, root.join("link-dir")).unwrap();
        symlink(outside.join("target.txt"), root.join("link-file")).unwrap();
        for path in [
            "../escape.txt",
            "link-dir/x.txt",
            "link-file",
            "/etc/passwd",
            ".git/config",
            "a\u{0}b",
            "%2e%2e/x",
        ] {
            let got = run(
                &root,
                "write_file",
                serde_json::json!({"path": path, "content": "pwned"}),
            );
            assert!(got.is_err(), "{path:?} was written");
        }
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        assert!(!dir.path().join("escape.txt").exists());
        assert!(
            run(
                &root,
                "view_file",
                serde_json::json!({"path": "/etc/passwd"})
            )
            .is_err()
        );
    }
}
