//! What the store suites share.

/// PostgreSQL is missing: allowed only where `scripts/test` could not install it and said so
/// (`BOOCODE_TEST_ALLOW_MISSING=postgres`); otherwise this suite fails rather than pass on half.
pub fn missing_postgres() {
    let allowed = std::env::var("BOOCODE_TEST_ALLOW_MISSING").unwrap_or_default();
    assert!(
        allowed.split(',').any(|k| k.trim() == "postgres"),
        "the PostgreSQL half of this suite needs BOOCODE_TEST_DATABASE_URL: run scripts/test (it starts \
         a private cluster), or set BOOCODE_TEST_ALLOW_MISSING=postgres to skip knowingly"
    );
    eprintln!("SKIPPED (postgres missing): the PostgreSQL half of the suite");
}

/// A real SQLite file always, and the PostgreSQL of `BOOCODE_TEST_DATABASE_URL` when set (shared by
/// runs: tests use fresh rows and look only at their own).
#[allow(dead_code)]
pub async fn engines() -> Vec<(
    std::sync::Arc<dyn boocode_store::Store>,
    Option<tempfile::TempDir>,
)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = boocode_store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let mut all = vec![(sqlite, Some(dir))];
    match std::env::var("BOOCODE_TEST_DATABASE_URL") {
        Ok(url) => all.push((boocode_store::open(&url).await.unwrap(), None)),
        Err(_) => missing_postgres(),
    }
    all
}
