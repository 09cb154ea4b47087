//! docs/ARCHITECTURE.md stays true: its table of the server crate's modules names exactly the modules
//! in `crates/server/src`, and no source comment points at notes outside the repository.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn docs_match_the_tree() {
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let table = doc
        .split("<!-- server-modules:")
        .nth(1)
        .expect("the server-modules marker")
        .split("\n\n")
        .next()
        .expect("the table right after the marker");
    let documented: BTreeSet<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect();
    let src = root().join("crates/server/src");
    let actual: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_owned();
            (p.is_dir() || p.extension().is_some_and(|e| e == "rs")).then_some(name)
        })
        .filter(|n| n != "lib")
        .collect();
    assert_eq!(
        documented, actual,
        "docs/ARCHITECTURE.md's module table and crates/server/src differ"
    );
}

#[test]
fn nothing_points_outside_the_repository() {
    let mut offenders = Vec::new();
    let mut stack = vec![
        root().join("crates"),
        root().join("web/src"),
        root().join("scripts"),
    ];
    let mut files = vec![root().join("README.md"), root().join("BENCHMARKS.md")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for needle in [
            "DESIGN.md",
            "../shared",
            "security.md",
            "llm-protocol.md",
            "real-agents.md",
        ] {
            // This test names them to look for them.
            if text.contains(needle) && !path.ends_with("architecture.rs") {
                offenders.push(format!("{} mentions {needle}", path.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}
