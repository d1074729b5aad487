//! The one way unit tests find the shared real data (`../shared/data`, never committed).

use std::path::{Path, PathBuf};

/// `relative` under `../shared/data` next to the crate (else `/work/shared/data`); `None`, with
/// a visible "skipped" line, when it is absent, so the test skips instead of failing.
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let found = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from("/work/shared/data"),
    ]
    .into_iter()
    .map(|root| root.join(relative))
    .find(|path| path.exists());
    if found.is_none() {
        eprintln!("skipped: shared data {relative} is absent");
    }
    found
}
