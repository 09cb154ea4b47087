//! A parsed diff (`boocode_workspace::Patch`) as the review API shows it, and a request's selection as
//! the workspace takes it.

use boocode_protocol::{ChangeFile, DiffHunk, DiffLine, DiffLineKind, FileStatus, HunkId};
use boocode_workspace::{FileChangeKind, LineKind, Patch, Selection};

/// The files and hunks of `patch`, for `GET /api/changes/{id}`.
pub fn files_of(patch: &Patch) -> Vec<ChangeFile> {
    patch
        .files
        .iter()
        .map(|f| ChangeFile {
            path: f.path.clone(),
            old_path: f.old_path.clone(),
            status: match f.kind {
                FileChangeKind::Added => FileStatus::Added,
                FileChangeKind::Modified => FileStatus::Modified,
                FileChangeKind::Deleted => FileStatus::Deleted,
                FileChangeKind::Renamed => FileStatus::Renamed,
                FileChangeKind::Copied => FileStatus::Copied,
            },
            binary: f.binary,
            old_mode: f.old_mode.clone(),
            new_mode: f.new_mode.clone(),
            insertions: u32::try_from(f.insertions).unwrap_or(u32::MAX),
            deletions: u32::try_from(f.deletions).unwrap_or(u32::MAX),
            hunks: f
                .hunks
                .iter()
                .map(|h| DiffHunk {
                    id: HunkId(h.id.clone()),
                    header: h.header.clone(),
                    old_start: h.old_start,
                    old_lines: h.old_lines,
                    new_start: h.new_start,
                    new_lines: h.new_lines,
                    lines: h
                        .lines
                        .iter()
                        .map(|l| DiffLine {
                            kind: match l.kind {
                                LineKind::Context => DiffLineKind::Context,
                                LineKind::Added => DiffLineKind::Added,
                                LineKind::Removed => DiffLineKind::Removed,
                            },
                            old_line: l.old_line,
                            new_line: l.new_line,
                            text: l.text.clone(),
                            no_newline: l.no_newline,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// The selection a request names, or `None` for "the whole change".
pub fn selection_of(files: Option<Vec<String>>, hunks: Option<Vec<HunkId>>) -> Option<Selection> {
    if files.is_none() && hunks.is_none() {
        return None;
    }
    Some(Selection {
        files: files.unwrap_or_default(),
        hunks: hunks.unwrap_or_default().into_iter().map(|h| h.0).collect(),
    })
}
