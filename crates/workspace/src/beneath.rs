//! Files of a worktree opened beneath a directory handle held for its root. Every open resolves the path
//! with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` against that handle, so the kernel refuses any
//! step that leaves the root while it resolves: a parent directory swapped for a symlink between a
//! check and an open cannot lead a read or a write outside (the check and the open are one step).
//! Symlinks that stay inside the worktree keep working. docs/ARCHITECTURE.md §13.

use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::WorkspaceError;
use crate::guard::{lexical_relative, refuse};

/// What a directory entry is (symlinks are reported, never followed by listings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// One entry of a listed directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
}

/// A worktree root held open; every path an agent names is opened beneath it.
#[derive(Debug)]
pub struct WorktreeDir {
    root: PathBuf,
    fd: OwnedFd,
}

const RESOLVE: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_MAGICLINKS);

impl WorktreeDir {
    /// Opens `root` (a directory) and keeps it open.
    pub fn open(root: &Path) -> Result<Self, WorkspaceError> {
        let canonical = root
            .canonicalize()
            .map_err(|e| WorkspaceError::io(format!("worktree root {}", root.display()), e))?;
        let fd = rustix::fs::open(
            &canonical,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| WorkspaceError::io(format!("worktree root {}", root.display()), e.into()))?;
        Ok(Self {
            root: canonical,
            fd,
        })
    }

    /// The root, canonical.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` as a relative path under the root, refused lexically when it names `..` above the root,
    /// `.git`, a NUL byte, an encoded traversal or an absolute path elsewhere.
    pub fn relative(&self, path: &str) -> Result<PathBuf, WorkspaceError> {
        lexical_relative(&self.root, path)
    }

    fn open_beneath(
        &self,
        given: &str,
        relative: &Path,
        flags: OFlags,
        mode: Mode,
    ) -> Result<OwnedFd, WorkspaceError> {
        let target = if relative.as_os_str().is_empty() {
            Path::new(".")
        } else {
            relative
        };
        let fd = rustix::fs::openat2(&self.fd, target, flags | OFlags::CLOEXEC, mode, RESOLVE)
            .map_err(|e| self.open_error(given, e))?;
        self.refuse_git_dir(given, &fd)?;
        Ok(fd)
    }

    fn open_error(&self, given: &str, errno: Errno) -> WorkspaceError {
        match errno {
            Errno::XDEV => refuse(given, "a symlink leads outside the worktree"),
            Errno::LOOP => refuse(given, "a symlink"),
            other => WorkspaceError::io(
                format!(
                    "cannot open {}",
                    given.chars().take(300).collect::<String>()
                ),
                other.into(),
            ),
        }
    }

    /// A symlink inside the worktree may still point into `.git`: refused once the kernel resolved it.
    fn refuse_git_dir(&self, given: &str, fd: &OwnedFd) -> Result<(), WorkspaceError> {
        let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
        if let Ok(real) = std::fs::read_link(link)
            && let Ok(rest) = real.strip_prefix(&self.root)
            && rest
                .components()
                .next()
                .is_some_and(|c| c.as_os_str() == ".git")
        {
            return Err(refuse(given, "inside .git"));
        }
        Ok(())
    }

    /// What `path` is, or `None` when nothing is there.
    pub fn kind(&self, path: &str) -> Result<Option<EntryKind>, WorkspaceError> {
        let relative = self.relative(path)?;
        match self.open_beneath(path, &relative, OFlags::PATH, Mode::empty()) {
            Ok(fd) => {
                let stat = rustix::fs::fstat(&fd)
                    .map_err(|e| WorkspaceError::io(format!("cannot stat {path}"), e.into()))?;
                Ok(Some(kind_of(FileType::from_raw_mode(stat.st_mode))))
            }
            Err(WorkspaceError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The bytes of the file at `path`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, WorkspaceError> {
        let relative = self.relative(path)?;
        let fd = self.open_beneath(path, &relative, OFlags::RDONLY, Mode::empty())?;
        let mut file = std::fs::File::from(fd);
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| WorkspaceError::io(format!("cannot read {path}"), e))?;
        Ok(bytes)
    }

    /// The bytes of the file at `path` when it holds at most `max` bytes, `None` when larger: one open,
    /// the size from the open file, for searches that skip big files.
    pub fn read_at_most(&self, path: &str, max: u64) -> Result<Option<Vec<u8>>, WorkspaceError> {
        let relative = self.relative(path)?;
        let fd = self.open_beneath(path, &relative, OFlags::RDONLY, Mode::empty())?;
        let mut file = std::fs::File::from(fd);
        let size = file
            .metadata()
            .map_err(|e| WorkspaceError::io(format!("cannot stat {path}"), e))?
            .len();
        if size > max {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| WorkspaceError::io(format!("cannot read {path}"), e))?;
        Ok(Some(bytes))
    }

    /// Creates or replaces the file at `path`, creating missing parent directories beneath the root.
    /// The file itself is never a symlink (`O_NOFOLLOW`).
    pub fn write(&self, path: &str, content: &[u8]) -> Result<(), WorkspaceError> {
        let relative = self.relative(path)?;
        let Some(name) = relative.file_name() else {
            return Err(refuse(path, "not a file name"));
        };
        let parent = relative.parent().unwrap_or(Path::new(""));
        let dir = self.make_dirs(path, parent)?;
        let fd = rustix::fs::openat2(
            &dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
            RESOLVE,
        )
        .map_err(|e| match e {
            Errno::ISDIR => refuse(path, "a directory"),
            other => self.open_error(path, other),
        })?;
        let mut file = std::fs::File::from(fd);
        file.write_all(content)
            .map_err(|e| WorkspaceError::io(format!("cannot write {path}"), e))
    }

    /// Opens the directory `relative` beneath the root, creating each missing part with `mkdirat`
    /// relative to its already-opened parent (never a path resolved afresh).
    fn make_dirs(&self, given: &str, relative: &Path) -> Result<OwnedFd, WorkspaceError> {
        let mut sofar = PathBuf::new();
        let mut dir = self.open_beneath(given, Path::new(""), dir_flags(), Mode::empty())?;
        for part in relative.components() {
            sofar.push(part);
            match self.open_beneath(given, &sofar, dir_flags(), Mode::empty()) {
                Ok(next) => dir = next,
                Err(WorkspaceError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    match rustix::fs::mkdirat(&dir, part.as_os_str(), Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => {
                            return Err(WorkspaceError::io(
                                format!("cannot create {}", sofar.display()),
                                e.into(),
                            ));
                        }
                    }
                    dir = self.open_beneath(given, &sofar, dir_flags(), Mode::empty())?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(dir)
    }

    /// The entries of the directory at `path` (without `.` and `..`), unsorted.
    pub fn list(&self, path: &str) -> Result<Vec<DirEntry>, WorkspaceError> {
        let relative = self.relative(path)?;
        let fd = self.open_beneath(path, &relative, dir_flags(), Mode::empty())?;
        let mut dir = rustix::fs::Dir::read_from(fd.as_fd())
            .map_err(|e| WorkspaceError::io(format!("cannot list {path}"), e.into()))?;
        let mut out = Vec::new();
        while let Some(entry) = dir.read() {
            let entry =
                entry.map_err(|e| WorkspaceError::io(format!("cannot list {path}"), e.into()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "." || name == ".." {
                continue;
            }
            out.push(DirEntry {
                name,
                kind: kind_of(entry.file_type()),
            });
        }
        Ok(out)
    }
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY
}

fn kind_of(t: FileType) -> EntryKind {
    match t {
        FileType::RegularFile => EntryKind::File,
        FileType::Directory => EntryKind::Dir,
        FileType::Symlink => EntryKind::Symlink,
        _ => EntryKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn setup() -> (tempfile::TempDir, PathBuf, WorktreeDir) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join("src/a.txt"), "a").unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        let wt = WorktreeDir::open(&root).unwrap();
        (dir, root, wt)
    }

    #[test]
    fn reads_writes_and_lists_inside() {
        let (_d, root, wt) = setup();
        assert_eq!(wt.read("src/a.txt").unwrap(), b"a");
        wt.write("new/deep/b.txt", b"b").unwrap();
        assert_eq!(std::fs::read(root.join("new/deep/b.txt")).unwrap(), b"b");
        symlink("src", root.join("inner")).unwrap();
        assert_eq!(wt.read("inner/a.txt").unwrap(), b"a", "a symlink inside");
        let mut names: Vec<_> = wt.list(".").unwrap().into_iter().map(|e| e.name).collect();
        names.sort();
        assert_eq!(names, [".git", "inner", "new", "src"]);
        assert_eq!(wt.kind("src").unwrap(), Some(EntryKind::Dir));
        assert_eq!(wt.kind("nope").unwrap(), None);
        assert_eq!(
            wt.read_at_most("src/a.txt", 1).unwrap(),
            Some(b"a".to_vec())
        );
        assert_eq!(wt.read_at_most("src/a.txt", 0).unwrap(), None);
    }

    #[test]
    fn refuses_every_way_out() {
        let (dir, root, wt) = setup();
        symlink(dir.path(), root.join("up")).unwrap();
        symlink(dir.path().join("secret"), root.join("secret-link")).unwrap();
        symlink(".git", root.join("git-link")).unwrap();
        symlink("/nonexistent/x", root.join("dangling")).unwrap();
        for bad in [
            "up/secret",
            "secret-link",
            "../secret",
            "/etc/passwd",
            "git-link/config",
        ] {
            assert!(wt.read(bad).is_err(), "read {bad}");
        }
        for bad in [
            "up/new",
            "secret-link",
            "up/sub/new",
            "dangling",
            "git-link/config",
        ] {
            assert!(wt.write(bad, b"pwned").is_err(), "write {bad}");
        }
        assert_eq!(std::fs::read(dir.path().join("secret")).unwrap(), b"s");
        assert!(!dir.path().join("new").exists() && !dir.path().join("sub").exists());
        assert!(wt.list("up").is_err());
    }
}
