//! A concurrent symlink swapper: while one thread keeps replacing a directory of the worktree with a
//! symlink to a directory outside it (and back), reads and writes through `WorktreeDir` never reach the
//! outside. Resolving a path and then reopening it by name let 5 of 25 writes and 1 of 25 reads escape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::symlink;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use boocode_workspace::WorktreeDir;

#[test]
fn swapped_parent_directories_never_lead_outside() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "SECRET").unwrap();
    std::fs::write(root.join("sub/secret.txt"), "inside").unwrap();
    let wt = WorktreeDir::open(&root).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, root, outside) = (stop.clone(), root.clone(), outside.clone());
        std::thread::spawn(move || {
            let real = root.join("sub-real");
            let link = root.join("sub-link");
            let sub = root.join("sub");
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Atomic replacements by rename, as an attacker racing the guard would do.
                let _ = std::fs::rename(&sub, &real);
                let _ = symlink(&outside, &link);
                let _ = std::fs::rename(&link, &sub);
                let _ = std::fs::remove_file(&sub);
                let _ = std::fs::rename(&real, &sub);
                swaps += 1;
                // Leave the real directory in place a moment, so some reads and writes land.
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            swaps
        })
    };

    let mut read_ok = 0;
    for i in 0..1500 {
        if let Ok(bytes) = wt.read("sub/secret.txt") {
            assert_ne!(bytes, b"SECRET", "a read escaped the worktree on try {i}");
            read_ok += 1;
        }
        let _ = wt.write(&format!("sub/new-{i}.txt"), b"pwned");
        let _ = wt.write(&format!("sub/deep-{i}/x.txt"), b"pwned");
        let _ = wt.list("sub");
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 100, "the swapper barely ran ({swaps} swaps)");
    let escaped: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "secret.txt")
        .collect();
    assert!(escaped.is_empty(), "writes escaped: {escaped:?}");
    assert!(
        read_ok > 0,
        "no read ever succeeded; the race was not exercised"
    );
}
