//! Where Jumeau keeps what it makes on this machine.

use std::path::PathBuf;

/// The user's cache folder for Jumeau (generated demo data, converted tiles, bench inputs):
/// `JUMEAU_CACHE_DIR` when set (CI points it at a fresh folder), else `$XDG_CACHE_HOME/jumeau`
/// or `~/.cache/jumeau`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("JUMEAU_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("jumeau")
}
