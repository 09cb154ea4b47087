use super::*;

const DIFF: &str = "\
diff --git a/src/a.rs b/src/a.rs
index 1111111..2222222 100644
--- a/src/a.rs
+++ b/src/a.rs
@@ -1,3 +1,3 @@ fn main() {
 one
-two
+TWO
 three
@@ -10,2 +10,3 @@
 ten
+ten and a half
 eleven
\\ No newline at end of file
diff --git a/new file.txt b/new file.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new file.txt
@@ -0,0 +1 @@
+hello
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git a/old.txt b/renamed.txt
similarity index 90%
rename from old.txt
rename to renamed.txt
index 4444444..5555555 100644
--- a/old.txt
+++ b/renamed.txt
@@ -1 +1 @@
-x
+y
diff --git a/img.png b/img.png
new file mode 100644
index 0000000..6666666
GIT binary patch
literal 3
KcmZ>Y%J2XH7y$tS

literal 0
HcmV?d00001

";

#[test]
fn files_hunks_and_line_numbers_are_read() {
    let patch = Patch::parse(DIFF);
    let names: Vec<_> = patch.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        names,
        [
            "src/a.rs",
            "new file.txt",
            "run.sh",
            "renamed.txt",
            "img.png"
        ]
    );
    let a = &patch.files[0];
    assert_eq!(
        (a.kind, a.insertions, a.deletions),
        (FileChangeKind::Modified, 2, 1)
    );
    assert_eq!(a.hunks.len(), 2);
    assert_eq!(a.hunks[0].header, "@@ -1,3 +1,3 @@ fn main() {");
    let two = &a.hunks[0].lines[1];
    assert_eq!(
        (two.kind, two.old_line, two.new_line, two.text.as_str()),
        (LineKind::Removed, Some(2), None, "two")
    );
    let added = &a.hunks[1].lines[1];
    assert_eq!((added.kind, added.new_line), (LineKind::Added, Some(11)));
    assert!(a.hunks[1].lines[2].no_newline);
    assert_eq!(
        (a.old_blob.as_deref(), a.new_blob.as_deref()),
        (Some("1111111"), Some("2222222"))
    );
    assert_eq!(patch.files[1].kind, FileChangeKind::Added);
    assert_eq!(patch.files[1].old_blob, None);
    let mode = &patch.files[2];
    assert_eq!(
        (
            mode.old_mode.as_deref(),
            mode.new_mode.as_deref(),
            mode.hunks.len()
        ),
        (Some("100644"), Some("100755"), 0)
    );
    let renamed = &patch.files[3];
    assert_eq!(
        (renamed.kind, renamed.old_path.as_deref()),
        (FileChangeKind::Renamed, Some("old.txt"))
    );
    assert!(patch.files[4].binary);
    assert_eq!(patch.hunk_ids().count(), 4);
}

#[test]
fn hunk_ids_depend_on_content_not_position() {
    let moved = DIFF.replace("@@ -10,2 +10,3 @@", "@@ -12,2 +12,3 @@");
    let (a, b) = (Patch::parse(DIFF), Patch::parse(&moved));
    assert_eq!(a.files[0].hunks[1].id, b.files[0].hunks[1].id);
    assert_ne!(a.files[0].hunks[0].id, a.files[0].hunks[1].id);
}

#[test]
fn a_selection_emits_headers_with_the_chosen_hunks_only() {
    let patch = Patch::parse(DIFF);
    let second = patch.files[0].hunks[1].id.clone();
    let out = patch
        .select(&Selection {
            files: vec!["run.sh".into()],
            hunks: vec![second],
        })
        .unwrap();
    assert!(out.starts_with("diff --git a/src/a.rs b/src/a.rs\nindex"));
    assert!(out.contains("+ten and a half\n"));
    assert!(!out.contains("+TWO"));
    assert!(out.contains("new mode 100755\n"));
    assert!(!out.contains("hello"));
    // Every hunk of a file selected one by one takes the file whole.
    let all: Vec<String> = patch.files[0].hunks.iter().map(|h| h.id.clone()).collect();
    let whole = patch
        .select(&Selection {
            files: vec![],
            hunks: all,
        })
        .unwrap();
    assert_eq!(whole, patch.files[0].raw);
}

#[test]
fn bad_selections_are_named() {
    let patch = Patch::parse(DIFF);
    assert_eq!(
        patch.select(&Selection::default()),
        Err(SelectionError::Empty)
    );
    assert_eq!(
        patch.select(&Selection {
            files: vec!["nope".into()],
            hunks: vec![]
        }),
        Err(SelectionError::UnknownFile("nope".into()))
    );
    assert_eq!(
        patch.select(&Selection {
            files: vec![],
            hunks: vec!["h0".into()]
        }),
        Err(SelectionError::UnknownHunk("h0".into()))
    );
}

#[test]
fn quoted_names_are_unquoted() {
    assert_eq!(unquote(r#""a/t\303\251st\tx""#), "a/tést\tx");
    let (a, b) = git_line_paths("diff --git \"a/x\\\"y\" \"b/x\\\"y\"\n");
    assert_eq!((a.as_deref(), b.as_deref()), (Some("x\"y"), Some("x\"y")));
}
