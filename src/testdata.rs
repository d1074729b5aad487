//! The one way unit tests find the shared real data (`../shared/data`, never committed).

use std::path::{Path, PathBuf};

/// Whether a test must fail, not skip, without the shared data: `JUMEAU_REQUIRE_DATA=1`, as
/// `.ci/run` sets it, so that a CI run without the data can never pass for a green one.
pub fn data_required() -> bool {
    std::env::var("JUMEAU_REQUIRE_DATA").is_ok_and(|v| v == "1")
}

/// `relative` under `../shared/data` next to the crate (else `/work/shared/data`); `None`, with
/// a visible "skipped" line, when it is absent, so the test skips instead of failing (fails
/// with `JUMEAU_REQUIRE_DATA=1`).
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let found = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from("/work/shared/data"),
    ]
    .into_iter()
    .map(|root| root.join(relative))
    .find(|path| path.exists());
    if found.is_none() {
        assert!(
            !data_required(),
            "shared data {relative} is absent and JUMEAU_REQUIRE_DATA=1 forbids skipping"
        );
        eprintln!("skipped: shared data {relative} is absent");
    }
    found
}
