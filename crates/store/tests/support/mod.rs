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
