//! The path guard: every path an agent names is resolved inside its worktree root. Separator-bounded
//! (`<root>-evil` is outside), `..` normalised and refused above the root, symlinks resolved (for a file
//! that does not exist yet, its deepest existing parent), absolute paths outside the root, NUL bytes,
//! percent-encoded traversal and anything inside `.git` refused. docs/ARCHITECTURE.md §13.

use std::path::{Component, Path, PathBuf};

use crate::error::WorkspaceError;

pub(crate) fn refuse(path: &str, reason: &'static str) -> WorkspaceError {
    WorkspaceError::OutsideWorktree {
        path: path.chars().take(300).collect(),
        reason,
    }
}

/// `path` relative to `root` (canonical), checked lexically: NUL bytes, empty paths, `..` above the root,
/// `.git`, percent-encoded traversal and absolute paths elsewhere are refused. Symlinks are the opener's
/// business (`WorktreeDir` resolves beneath a handle).
pub(crate) fn lexical_relative(root: &Path, path: &str) -> Result<PathBuf, WorkspaceError> {
    if path.contains('\0') {
        return Err(refuse(path, "NUL byte"));
    }
    if path.trim().is_empty() {
        return Err(refuse(path, "empty path"));
    }
    let given = Path::new(path);
    let relative = if given.is_absolute() {
        match given.strip_prefix(root) {
            Ok(rest) => rest.to_path_buf(),
            Err(_) => return Err(refuse(path, "absolute path outside the worktree")),
        }
    } else {
        given.to_path_buf()
    };
    let mut parts = PathBuf::new();
    for component in relative.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !parts.pop() {
                    return Err(refuse(path, "`..` leaves the worktree"));
                }
            }
            Component::Normal(name) => {
                let text = name.to_string_lossy();
                if is_encoded_traversal(&text) {
                    return Err(refuse(path, "percent-encoded traversal"));
                }
                if text == ".git" {
                    return Err(refuse(path, "inside .git"));
                }
                parts.push(name);
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(path, "absolute path outside the worktree"));
            }
        }
    }
    Ok(parts)
}

/// Resolves `path` (relative to `root`, or absolute inside it) to a real path inside `root`.
///
/// The result may not exist yet; everything of it that does exist is inside the root after symlinks are
/// followed. This names a place (a terminal's working directory); to read or write a file use
/// `WorktreeDir`, which resolves and opens in one step so nothing can be swapped in between.
pub fn resolve_in_worktree(root: &Path, path: &str) -> Result<PathBuf, WorkspaceError> {
    let root = root
        .canonicalize()
        .map_err(|e| WorkspaceError::io(format!("worktree root {}", root.display()), e))?;
    let parts = lexical_relative(&root, path)?;
    let mut resolved = root.clone();
    let mut exists = true;
    for part in parts.components() {
        resolved.push(part);
        if exists {
            match resolved.canonicalize() {
                Ok(real) => {
                    if !real.starts_with(&root) {
                        return Err(refuse(path, "a symlink leads outside the worktree"));
                    }
                    resolved = real;
                }
                Err(_) => {
                    // A dangling symlink is not a missing file: it would be followed on write.
                    if std::fs::symlink_metadata(&resolved).is_ok() {
                        return Err(refuse(path, "a dangling symlink"));
                    }
                    exists = false;
                }
            }
        }
    }
    if !resolved.starts_with(&root) {
        return Err(refuse(path, "outside the worktree"));
    }
    Ok(resolved)
}

/// `%2e`, `%2f` or `%5c` in a name: a path someone tried to smuggle past a decoder.
fn is_encoded_traversal(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["%2e", "%2f", "%5c", "%00"]
        .iter()
        .any(|p| lower.contains(p))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn setup() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/main.rs"), "fn main() {}").unwrap();
        std::fs::create_dir_all(dir.path().join("root-evil")).unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        (dir, root)
    }

    #[test]
    fn accepts_paths_inside() {
        let (_d, root) = setup();
        let real = root.canonicalize().unwrap();
        assert_eq!(
            resolve_in_worktree(&root, "src/main.rs").unwrap(),
            real.join("src/main.rs")
        );
        assert_eq!(
            resolve_in_worktree(&root, "./src/../src/new.rs").unwrap(),
            real.join("src/new.rs")
        );
        assert_eq!(
            resolve_in_worktree(&root, "a/b/c.txt").unwrap(),
            real.join("a/b/c.txt")
        );
        let abs = real.join("src/main.rs");
        assert_eq!(
            resolve_in_worktree(&root, abs.to_str().unwrap()).unwrap(),
            abs
        );
        assert_eq!(resolve_in_worktree(&root, ".").unwrap(), real);
    }

    #[test]
    fn refuses_escapes() {
        let (dir, root) = setup();
        symlink(dir.path(), root.join("up")).unwrap();
        symlink(dir.path().join("secret"), root.join("secret-link")).unwrap();
        symlink("/nonexistent/target", root.join("dangling")).unwrap();
        let evil = dir
            .path()
            .join("root-evil/x")
            .canonicalize()
            .unwrap_or(dir.path().join("root-evil/x"));
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            evil.to_str().unwrap(),
            "up/secret",
            "up/new-file",
            "secret-link",
            "dangling",
            "%2e%2e/x",
            "..%2fx",
            "a\0b",
            ".git/config",
            "src/../.git/hooks/pre-commit",
            "",
        ] {
            let got = resolve_in_worktree(&root, bad);
            assert!(
                matches!(got, Err(WorkspaceError::OutsideWorktree { .. })),
                "{bad:?} → {got:?}"
            );
        }
    }

    #[test]
    fn sibling_with_root_prefix_is_outside() {
        let (dir, root) = setup();
        let sibling = format!("{}-evil/x", root.canonicalize().unwrap().display());
        assert!(resolve_in_worktree(&root, &sibling).is_err());
        let _ = dir;
    }
}
