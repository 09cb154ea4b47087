//! A git diff read as files and hunks, so a review can take part of a change: every hunk gets an id that
//! depends only on its file and its lines (not on where it sits), so the same hunk keeps its id in the
//! change that remains after another hunk was accepted; and any selection of files and hunks can be
//! written back out as a patch git applies (later hunks may sit at an offset, which `git apply` finds).

use std::collections::{BTreeSet, HashMap};

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChangeKind {
    Added,
    Modified,
    Deleted,
    Renamed,
    Copied,
}

/// One line of a hunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

/// A line with its numbers in the old and new file (context lines have both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchLine {
    pub kind: LineKind,
    pub old_line: Option<u32>,
    pub new_line: Option<u32>,
    pub text: String,
    /// Followed by "\ No newline at end of file".
    pub no_newline: bool,
}

/// A hunk: its id, its `@@` header and its lines, plus its raw text for re-emitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchHunk {
    pub id: String,
    pub header: String,
    pub old_start: u32,
    pub old_lines: u32,
    pub new_start: u32,
    pub new_lines: u32,
    pub lines: Vec<PatchLine>,
    raw: String,
}

/// A file of the diff: its names, what happened, mode change, binary or not, and its hunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchFile {
    pub path: String,
    pub old_path: Option<String>,
    pub kind: FileChangeKind,
    pub old_mode: Option<String>,
    pub new_mode: Option<String>,
    pub binary: bool,
    /// The blobs of the `index <old>..<new>` line (abbreviated ids; all zeros for a missing side).
    pub old_blob: Option<String>,
    pub new_blob: Option<String>,
    pub insertions: u64,
    pub deletions: u64,
    pub hunks: Vec<PatchHunk>,
    /// Everything before the first hunk (the `diff --git` line, modes, index, ---/+++).
    header: String,
    /// The whole file's text (for binary patches, the only way to re-emit it).
    raw: String,
}

/// Which part of a change to take: whole files by path and single hunks by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub files: Vec<String>,
    pub hunks: Vec<String>,
}

/// Why a selection cannot be taken from this diff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error(
        "the selection is empty: name files or hunks, or send no body to take the whole change"
    )]
    Empty,
    #[error("no file {0:?} in this change")]
    UnknownFile(String),
    #[error("no hunk {0:?} in this change (it may belong to another or a superseded change)")]
    UnknownHunk(String),
}

/// A parsed diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patch {
    pub files: Vec<PatchFile>,
}

impl Patch {
    /// Reads `git diff` output (as `diff_since` produces it). Text before the first `diff --git` is ignored.
    pub fn parse(diff: &str) -> Self {
        let mut files = Vec::new();
        let mut current: Option<Vec<&str>> = None;
        for line in diff.split_inclusive('\n') {
            if line.starts_with("diff --git ") {
                if let Some(lines) = current.take() {
                    files.push(parse_file(&lines));
                }
                current = Some(Vec::new());
            }
            if let Some(lines) = current.as_mut() {
                lines.push(line);
            }
        }
        if let Some(lines) = current {
            files.push(parse_file(&lines));
        }
        Self { files }
    }

    /// The part of this diff a selection names, as a patch text, or why the selection does not fit.
    /// A file whose every hunk is selected is taken whole (its mode and name changes with it).
    pub fn select(&self, selection: &Selection) -> Result<String, SelectionError> {
        if selection.files.is_empty() && selection.hunks.is_empty() {
            return Err(SelectionError::Empty);
        }
        for path in &selection.files {
            if !self.files.iter().any(|f| &f.path == path) {
                return Err(SelectionError::UnknownFile(path.clone()));
            }
        }
        let wanted: BTreeSet<&str> = selection.hunks.iter().map(String::as_str).collect();
        for id in &wanted {
            if !self
                .files
                .iter()
                .any(|f| f.hunks.iter().any(|h| h.id == *id))
            {
                return Err(SelectionError::UnknownHunk((*id).to_owned()));
            }
        }
        let mut out = String::new();
        for file in &self.files {
            let picked: Vec<&PatchHunk> = file
                .hunks
                .iter()
                .filter(|h| wanted.contains(h.id.as_str()))
                .collect();
            if selection.files.contains(&file.path)
                || (!picked.is_empty() && picked.len() == file.hunks.len())
            {
                out.push_str(&file.raw);
            } else if !picked.is_empty() {
                out.push_str(&file.header);
                for hunk in picked {
                    out.push_str(&hunk.raw);
                }
            }
        }
        Ok(out)
    }

    /// Every hunk id, in order.
    pub fn hunk_ids(&self) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .flat_map(|f| f.hunks.iter().map(|h| h.id.as_str()))
    }
}

fn parse_file(lines: &[&str]) -> PatchFile {
    let raw: String = lines.concat();
    let first_hunk = lines
        .iter()
        .position(|l| l.starts_with("@@"))
        .unwrap_or(lines.len());
    let header: String = lines[..first_hunk].concat();
    let mut file = PatchFile {
        path: String::new(),
        old_path: None,
        kind: FileChangeKind::Modified,
        old_mode: None,
        new_mode: None,
        binary: false,
        old_blob: None,
        new_blob: None,
        insertions: 0,
        deletions: 0,
        hunks: Vec::new(),
        header,
        raw,
    };
    let (mut minus, mut plus, mut from, mut to) = (None, None, None, None);
    for line in &lines[..first_hunk] {
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some(m) = line.strip_prefix("new file mode ") {
            file.kind = FileChangeKind::Added;
            file.new_mode = Some(m.to_owned());
        } else if let Some(m) = line.strip_prefix("deleted file mode ") {
            file.kind = FileChangeKind::Deleted;
            file.old_mode = Some(m.to_owned());
        } else if let Some(m) = line.strip_prefix("old mode ") {
            file.old_mode = Some(m.to_owned());
        } else if let Some(m) = line.strip_prefix("new mode ") {
            file.new_mode = Some(m.to_owned());
        } else if let Some(p) = line.strip_prefix("rename from ") {
            file.kind = FileChangeKind::Renamed;
            from = Some(unquote(p));
        } else if let Some(p) = line.strip_prefix("rename to ") {
            to = Some(unquote(p));
        } else if let Some(p) = line.strip_prefix("copy from ") {
            file.kind = FileChangeKind::Copied;
            from = Some(unquote(p));
        } else if let Some(p) = line.strip_prefix("copy to ") {
            to = Some(unquote(p));
        } else if let Some(p) = line.strip_prefix("--- ") {
            minus = side_path(p, "a/");
        } else if let Some(p) = line.strip_prefix("+++ ") {
            plus = side_path(p, "b/");
        } else if let Some(range) = line.strip_prefix("index ") {
            let range = range.split(' ').next().unwrap_or_default();
            if let Some((old, new)) = range.split_once("..") {
                let blob = |b: &str| (!b.bytes().all(|c| c == b'0')).then(|| b.to_owned());
                file.old_blob = blob(old);
                file.new_blob = blob(new);
            }
        } else if line == "GIT binary patch" || line.starts_with("Binary files ") {
            file.binary = true;
        }
    }
    let (git_old, git_new) = git_line_paths(lines.first().copied().unwrap_or_default());
    file.path = to
        .clone()
        .or(plus)
        .or_else(|| minus.clone())
        .or(git_new)
        .unwrap_or_default();
    file.old_path = from.or(if file.kind == FileChangeKind::Deleted {
        None
    } else {
        minus.or(git_old).filter(|old| *old != file.path)
    });
    let mut start = first_hunk;
    while start < lines.len() {
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.starts_with("@@"))
            .map_or(lines.len(), |i| start + 1 + i);
        let hunk = parse_hunk(&file.path, &lines[start..end]);
        for line in &hunk.lines {
            match line.kind {
                LineKind::Added => file.insertions += 1,
                LineKind::Removed => file.deletions += 1,
                LineKind::Context => {}
            }
        }
        file.hunks.push(hunk);
        start = end;
    }
    // The same hunk twice in one file (a line added in two places) still gets two ids.
    let mut seen: HashMap<String, u32> = HashMap::new();
    for hunk in &mut file.hunks {
        let n = seen.entry(hunk.id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            hunk.id = format!("{}-{n}", hunk.id);
        }
    }
    file
}

fn parse_hunk(path: &str, lines: &[&str]) -> PatchHunk {
    let header = lines
        .first()
        .map(|l| l.trim_end_matches(['\n', '\r']).to_owned())
        .unwrap_or_default();
    let (old_start, old_lines, new_start, new_lines) = parse_range(&header);
    let (mut old, mut new) = (old_start, new_start);
    let mut out: Vec<PatchLine> = Vec::new();
    let mut body = String::new();
    for raw in &lines[1..] {
        body.push_str(raw);
        let text = raw.strip_suffix('\n').unwrap_or(raw);
        let (kind, rest) = match text.chars().next() {
            Some('+') => (LineKind::Added, &text[1..]),
            Some('-') => (LineKind::Removed, &text[1..]),
            Some(' ') => (LineKind::Context, &text[1..]),
            Some('\\') => {
                if let Some(last) = out.last_mut() {
                    last.no_newline = true;
                }
                continue;
            }
            // An empty line inside a hunk is an empty context line (some tools strip the space).
            None => (LineKind::Context, ""),
            Some(_) => continue,
        };
        let (old_line, new_line) = match kind {
            LineKind::Context => (Some(old), Some(new)),
            LineKind::Added => (None, Some(new)),
            LineKind::Removed => (Some(old), None),
        };
        if old_line.is_some() {
            old += 1;
        }
        if new_line.is_some() {
            new += 1;
        }
        out.push(PatchLine {
            kind,
            old_line,
            new_line,
            text: rest.to_owned(),
            no_newline: false,
        });
    }
    PatchHunk {
        id: hunk_id(path, &body),
        header,
        old_start,
        old_lines,
        new_start,
        new_lines,
        lines: out,
        raw: lines.concat(),
    }
}

/// `@@ -a,b +c,d @@` → (a, b, c, d); a missing count is 1.
fn parse_range(header: &str) -> (u32, u32, u32, u32) {
    let mut parts = header.split_whitespace().skip(1);
    let side = |s: Option<&str>, sign: char| -> (u32, u32) {
        let s = s.and_then(|s| s.strip_prefix(sign)).unwrap_or("0");
        let (start, count) = s.split_once(',').unwrap_or((s, "1"));
        (start.parse().unwrap_or(0), count.parse().unwrap_or(1))
    };
    let (a, b) = side(parts.next(), '-');
    let (c, d) = side(parts.next(), '+');
    (a, b, c, d)
}

/// A short id from the file's path and the hunk's lines: FNV-1a, 64 bits, stable across versions.
fn hunk_id(path: &str, body: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.bytes().chain([0]).chain(body.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("h{hash:016x}")
}

/// The path of a `---`/`+++` line without its `a/`/`b/` prefix; `None` for /dev/null.
fn side_path(rest: &str, prefix: &str) -> Option<String> {
    let name = unquote(rest.trim_end_matches('\t'));
    if name == "/dev/null" {
        return None;
    }
    Some(name.strip_prefix(prefix).unwrap_or(&name).to_owned())
}

/// Old and new path from `diff --git a/X b/Y` when the names are the same length (the only case a
/// binary or mode-only change leaves no other record of).
fn git_line_paths(line: &str) -> (Option<String>, Option<String>) {
    let rest = line
        .trim_end_matches(['\n', '\r'])
        .strip_prefix("diff --git ")
        .unwrap_or_default();
    if rest.starts_with('"') {
        let mut parts = split_quoted(rest).into_iter();
        let a = parts.next().map(|p| p.trim_start_matches("a/").to_owned());
        let b = parts.next().map(|p| p.trim_start_matches("b/").to_owned());
        return (a, b);
    }
    let half = rest.len() / 2;
    if rest.len() % 2 == 1 && rest.is_char_boundary(half) && rest.as_bytes()[half] == b' ' {
        let (a, b) = (&rest[..half], &rest[half + 1..]);
        if let (Some(a), Some(b)) = (a.strip_prefix("a/"), b.strip_prefix("b/")) {
            return (Some(a.to_owned()), Some(b.to_owned()));
        }
    }
    (None, None)
}

fn split_quoted(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if rest.starts_with('"') {
            let end = rest[1..]
                .char_indices()
                .scan(false, |escaped, (i, c)| {
                    let stop = c == '"' && !*escaped;
                    *escaped = c == '\\' && !*escaped;
                    Some((i, stop))
                })
                .find(|(_, stop)| *stop)
                .map_or(rest.len() - 1, |(i, _)| i + 1);
            out.push(unquote(&rest[..=end.min(rest.len() - 1)]));
            rest = rest[(end + 1).min(rest.len())..].trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(rest[..end].to_owned());
            rest = rest[end..].trim_start();
        }
    }
    out
}

/// Undoes git's C-style quoting of unusual file names (`"a/t\303\251st"`).
fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_owned();
    };
    let mut bytes = Vec::new();
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(d @ b'0'..=b'7') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    match chars.peek() {
                        Some(&n @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(n - b'0');
                            chars.next();
                        }
                        _ => break,
                    }
                }
                bytes.push(u8::try_from(value).unwrap_or(b'?'));
            }
            Some(other) => bytes.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
