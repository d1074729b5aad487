//! Opening what the user names: COPC files and URLs are streamed as they are; plain LAS/LAZ
//! tiles are converted once to COPC in the cache folder (keyed by path, size and date), then
//! streamed like any COPC.

#[cfg(not(target_arch = "wasm32"))]
use super::convert::{ConvertSettings, convert_files_to};
use super::copc::CopcReader;
use super::las::LasFile;
use super::streaming::{Layer, StreamSource};
use crate::io;
#[cfg(not(target_arch = "wasm32"))]
use crate::io::FileSource;
#[cfg(not(target_arch = "wasm32"))]
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
#[cfg(not(target_arch = "wasm32"))]
use std::sync::Arc;

/// Opens `inputs` as one layer. Plain LAS/LAZ inputs are converted together (they are tiles of
/// one area) into `cache_dir`, reporting on `progress`; each COPC input is one source.
pub fn open_layer(
    name: &str,
    inputs: &[String],
    cache_dir: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<Layer, String> {
    let mut sources = Vec::new();
    let mut plain = Vec::new();
    for input in inputs {
        let bytes = io::open(input).map_err(|e| format!("{input}: {e}"))?;
        let file = LasFile::open_lazy(bytes).map_err(|e| e.to_string())?;
        if file.vlrs.iter().any(|v| v.is("copc", 1)) {
            let reader = CopcReader::from_file(file).map_err(|e| e.to_string())?;
            sources.push(StreamSource::from_reader(input, reader)?);
        } else if cfg!(target_arch = "wasm32")
            || input.starts_with("http://")
            || input.starts_with("https://")
        {
            return Err(format!(
                "{input}: not a COPC file; only COPC is streamed over HTTP (download it, or convert it with `jumeau convert`)"
            ));
        } else {
            plain.push(PathBuf::from(input));
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    if !plain.is_empty() {
        sources.push(open_converted(&plain, cache_dir, progress)?);
    }
    #[cfg(target_arch = "wasm32")]
    let _ = (plain, cache_dir, progress);
    if sources.is_empty() {
        return Err("no input".into());
    }
    Ok(Layer::new(name, sources))
}

/// Converts plain LAS/LAZ tiles once into one COPC in `cache_dir` and opens it.
#[cfg(not(target_arch = "wasm32"))]
fn open_converted(
    plain: &[PathBuf],
    cache_dir: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<StreamSource, String> {
    let copc = converted_path(plain, cache_dir)?;
    if !copc.exists() {
        log::info!(
            "converting {} file(s) to COPC for streaming: {}",
            plain.len(),
            copc.display()
        );
        progress.set_prefix("converting to COPC");
        convert_files_to(
            plain,
            &copc,
            &ConvertSettings {
                progress: Some(progress.clone()),
                ..ConvertSettings::default()
            },
        )?;
    }
    let bytes: Arc<dyn io::ByteSource> =
        Arc::new(FileSource::open(&copc).map_err(|e| e.to_string())?);
    StreamSource::open(&file_names(plain), bytes)
}

/// `a.laz, b.laz`: how the panel and the log name converted tiles.
#[cfg(not(target_arch = "wasm32"))]
fn file_names(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| {
            p.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the COPC version of `inputs` is kept: a name from their paths, sizes and dates.
#[cfg(not(target_arch = "wasm32"))]
fn converted_path(inputs: &[PathBuf], cache_dir: &Path) -> Result<PathBuf, String> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for p in inputs {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.clone())
            .hash(&mut hasher);
        meta.len().hash(&mut hasher);
        meta.modified().ok().hash(&mut hasher);
    }
    let stem = inputs[0]
        .file_stem()
        .map_or_else(|| "input".into(), |s| s.to_string_lossy().into_owned());
    Ok(cache_dir.join(format!("{stem}-{:016x}.copc.laz", hasher.finish())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_inputs_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nowhere.laz").display().to_string();
        let error = open_layer(
            "x",
            std::slice::from_ref(&missing),
            dir.path(),
            &indicatif::ProgressBar::hidden(),
        )
        .err()
        .unwrap();
        assert!(error.contains("nowhere.laz"), "{error}");

        let text = dir.path().join("notes.las");
        std::fs::write(&text, b"this is not a point cloud at all, just some words").unwrap();
        let error = open_layer(
            "x",
            &[text.display().to_string()],
            dir.path(),
            &indicatif::ProgressBar::hidden(),
        )
        .err()
        .unwrap();
        assert!(error.contains("notes.las"), "{error}");
    }

    #[test]
    fn plain_laz_is_converted_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let laz = dir.path().join("town.laz");
        crate::demo::write_demo_laz(&laz, 20_000, 5, &indicatif::ProgressBar::hidden()).unwrap();
        let cache = dir.path().join("cache");
        let inputs = [laz.display().to_string()];
        let progress = indicatif::ProgressBar::hidden();
        let layer = open_layer("town", &inputs, &cache, &progress).unwrap();
        assert_eq!(layer.total_points(), 20_000);
        // What the viewer's panel shows while it waits: the stage, then a full bar.
        assert_eq!(progress.prefix(), "converting to COPC");
        assert_eq!(Some(progress.position()), progress.length());
        assert_eq!(progress.length(), Some(40_000), "distribute, then build");
        let converted: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().collect();
        assert_eq!(converted.len(), 1);
        let modified = converted[0].metadata().unwrap().modified().unwrap();
        let again = open_layer("town", &inputs, &cache, &indicatif::ProgressBar::hidden()).unwrap();
        assert_eq!(again.total_points(), 20_000);
        let entry = std::fs::read_dir(&cache).unwrap().flatten().next().unwrap();
        assert_eq!(entry.metadata().unwrap().modified().unwrap(), modified);
    }
}
