//! The one way tests and benchmarks find the shared real data (`../shared/data`: files made by
//! others, never committed): unit tests, `tests/` and `benches/` all ask here.

use std::path::{Path, PathBuf};

/// Whether a test must fail, not skip, without the shared data: `JUMEAU_REQUIRE_DATA=1`, as
/// `.ci/run` sets it, so that a CI run without the data can never pass for a green one.
pub fn data_required() -> bool {
    std::env::var("JUMEAU_REQUIRE_DATA").is_ok_and(|v| v == "1")
}

/// The shared data folder: `JUMEAU_SHARED_DATA` when set, else `../shared/data` next to the
/// crate, else `/work/shared/data`.
pub fn shared_root() -> Option<PathBuf> {
    [
        std::env::var_os("JUMEAU_SHARED_DATA").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")),
        Some(PathBuf::from("/work/shared/data")),
    ]
    .into_iter()
    .flatten()
    .find(|root| root.join("lidar").is_dir())
}

/// `relative` under the shared data folder; `None`, with a visible "SKIPPED" line, when it is
/// absent, so the test skips instead of failing (it fails with `JUMEAU_REQUIRE_DATA=1`).
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let found = shared_root()
        .map(|root| root.join(relative))
        .filter(|path| path.exists());
    if found.is_none() {
        assert!(
            !data_required(),
            "shared data {relative:?} is absent (set JUMEAU_SHARED_DATA) and JUMEAU_REQUIRE_DATA=1 forbids skipping"
        );
        eprintln!("SKIPPED: shared data {relative:?} is absent (set JUMEAU_SHARED_DATA)");
    }
    found
}
