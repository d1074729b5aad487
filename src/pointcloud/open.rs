//! Opening what the user names: COPC files and URLs are streamed as they are; plain LAS/LAZ
//! tiles are converted once to COPC in the cache folder (keyed by path, size, date and writer
//! revision), then streamed like any COPC. Many tiles form one layer, named by a virtual point
//! cloud (`.vpc`: its tiles are opened only when the view reaches them), a folder, a glob
//! (`tiles/*.copc.laz`) or a text file of paths or URLs (`.txt`, one a line).

#[cfg(not(target_arch = "wasm32"))]
use super::convert::{ConvertSettings, convert_files_to};
use super::copc::CopcReader;
use super::las::LasFile;
use super::layer::{Layer, LazyTile, StreamSource, TileState};
use crate::io;
#[cfg(not(target_arch = "wasm32"))]
use crate::io::FileSource;
#[cfg(not(target_arch = "wasm32"))]
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
#[cfg(not(target_arch = "wasm32"))]
use std::sync::Arc;

/// Why inputs could not be opened as a point-cloud layer. Its text names the input at fault.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A file, list or URL that cannot be read (missing, 404, unreachable server).
    #[error("{input}: {source}")]
    Unreadable {
        input: String,
        #[source]
        source: io::SourceError,
    },
    /// Not a LAS/LAZ/COPC file, or one whose header or hierarchy lies.
    #[error(transparent)]
    Las(#[from] super::las::LasError),
    #[error(transparent)]
    Vpc(#[from] super::vpc::VpcError),
    #[error(
        "{input}: not a COPC file; only COPC is streamed over HTTP (download it, or convert it with `jumeau convert`)"
    )]
    NotCopcOverHttp { input: String },
    #[error(
        "{input}: its tiles are in several CRSs ({codes:?}): Jumeau does not reproject point clouds"
    )]
    SeveralCrs {
        input: String,
        codes: std::collections::BTreeSet<Option<u32>>,
    },
    #[error("{input}: the list names no file")]
    EmptyList { input: String },
    #[error("{input}: not a usable pattern: {reason}")]
    BadPattern { input: String, reason: String },
    #[error("{input}: no file matches")]
    NoMatch { input: String },
    /// A folder without LAS/LAZ/COPC tiles, or one that cannot be listed.
    #[error("{0}")]
    Folder(String),
    /// Converting plain LAS/LAZ tiles to COPC failed.
    #[error("{0}")]
    Convert(String),
    #[error("no input")]
    NoInput,
}

/// While callers above still speak in strings: `?` turns the error into its text.
impl From<OpenError> for String {
    fn from(error: OpenError) -> Self {
        error.to_string()
    }
}

/// Opens `inputs` as one layer. Plain LAS/LAZ inputs are converted together (they are tiles of
/// one area) into `cache_dir`, reporting on `progress`; each COPC input is one source.
pub fn open_layer(
    name: &str,
    inputs: &[String],
    cache_dir: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<Layer, OpenError> {
    let mut sources = Vec::new();
    let mut plain = Vec::new();
    let mut tiles = Vec::new();
    let mut expanded = Vec::new();
    for input in inputs {
        let lower = input
            .split(['?', '#'])
            .next()
            .unwrap_or(input)
            .to_ascii_lowercase();
        if lower.ends_with(".vpc") {
            tiles.extend(vpc_tiles(input)?);
        } else {
            expanded.extend(expand_input(input, &lower)?);
        }
    }
    for input in &expanded {
        let bytes = io::open(input).map_err(unreadable(input))?;
        let file = LasFile::open_lazy(bytes)?;
        if file.vlrs.iter().any(|v| v.is("copc", 1)) {
            let reader = CopcReader::from_file(file)?;
            sources.push(StreamSource::from_reader(input, reader)?);
        } else if cfg!(target_arch = "wasm32")
            || input.starts_with("http://")
            || input.starts_with("https://")
        {
            return Err(OpenError::NotCopcOverHttp {
                input: input.clone(),
            });
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
    if sources.is_empty() && tiles.is_empty() {
        return Err(OpenError::NoInput);
    }
    Ok(Layer::with_tiles(name, sources, tiles))
}

/// The tiles a VPC lists, to open when the view reaches them.
fn vpc_tiles(input: &str) -> Result<Vec<LazyTile>, OpenError> {
    let bytes = io::open(input)
        .and_then(|s| s.read_all())
        .map_err(unreadable(input))?;
    let tiles = super::vpc::read_vpc(&bytes, input)?;
    let codes: std::collections::BTreeSet<Option<u32>> = tiles.iter().map(|t| t.epsg).collect();
    if codes.len() > 1 {
        return Err(OpenError::SeveralCrs {
            input: input.to_owned(),
            codes,
        });
    }
    Ok(tiles
        .into_iter()
        .map(|t| LazyTile {
            crs: t
                .wkt
                .as_deref()
                .and_then(crate::georef::crs_from_wkt)
                .or_else(|| {
                    t.epsg
                        .and_then(|c| crate::georef::Crs::from_epsg_str(&c.to_string()).ok())
                }),
            name: t.id,
            href: t.href,
            bounds: t.bounds,
            point_count: t.point_count,
            state: TileState::Waiting,
        })
        .collect())
}

/// The files one input names: itself, the LAS/LAZ/COPC files of a folder, the matches of a
/// glob, or the lines of a `.txt` list (relative ones against the list's folder).
fn expand_input(input: &str, lower: &str) -> Result<Vec<String>, OpenError> {
    if lower.ends_with(".txt") {
        let bytes = io::open(input)
            .and_then(|s| s.read_all())
            .map_err(unreadable(input))?;
        let base = input.rfind('/').map_or("", |slash| &input[..=slash]);
        let listed: Vec<String> = String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                if l.contains("://") || l.starts_with('/') {
                    l.to_owned()
                } else {
                    format!("{base}{l}")
                }
            })
            .collect();
        if listed.is_empty() {
            return Err(OpenError::EmptyList {
                input: input.to_owned(),
            });
        }
        return Ok(listed);
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        if Path::new(input).is_dir() {
            return super::tiles::tile_inputs(Path::new(input))
                .map(|t| t.iter().map(|p| p.display().to_string()).collect())
                .map_err(OpenError::Folder);
        }
        if !input.contains("://") && input.contains(['*', '?', '[']) {
            let mut matches: Vec<String> = glob::glob(input)
                .map_err(|e| OpenError::BadPattern {
                    input: input.to_owned(),
                    reason: e.to_string(),
                })?
                .flatten()
                .map(|p| p.display().to_string())
                .collect();
            matches.sort();
            if matches.is_empty() {
                return Err(OpenError::NoMatch {
                    input: input.to_owned(),
                });
            }
            return Ok(matches);
        }
    }
    Ok(vec![input.to_owned()])
}

/// Converts plain LAS/LAZ tiles once into one COPC in `cache_dir` and opens it.
#[cfg(not(target_arch = "wasm32"))]
fn open_converted(
    plain: &[PathBuf],
    cache_dir: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<StreamSource, OpenError> {
    let copc = converted_path(plain, cache_dir).map_err(OpenError::Convert)?;
    if !copc.exists() {
        remove_stale_conversions(&copc, cache_dir);
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
        )
        .map_err(OpenError::Convert)?;
    }
    let bytes: Arc<dyn io::ByteSource> =
        Arc::new(FileSource::open(&copc).map_err(|e| OpenError::Convert(e.to_string()))?);
    Ok(StreamSource::open(&file_names(plain), bytes)?)
}

/// How a source error becomes the error of `input`.
fn unreadable(input: &str) -> impl FnOnce(io::SourceError) -> OpenError + '_ {
    move |source| OpenError::Unreadable {
        input: input.to_owned(),
        source,
    }
}

/// Removes what older writer revisions converted from inputs of the same name as `copc` (their
/// cache names carry no revision, or another one): they may be broken, and are never reused.
#[cfg(not(target_arch = "wasm32"))]
fn remove_stale_conversions(copc: &Path, cache_dir: &Path) {
    let Some(name) = copc.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let current = format!("-r{}.copc.laz", super::convert::COPC_WRITER_REVISION);
    // `{stem}-{hash:016x}-r{revision}.copc.laz`: `{stem}-` is what precedes the hash.
    let Some(stem) = name.get(..name.len().saturating_sub(16 + current.len())) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(cache_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let other = entry.file_name().to_string_lossy().into_owned();
        if other.starts_with(stem) && other.ends_with(".copc.laz") && !other.ends_with(&current) {
            log::info!("removing a conversion by an older writer: {other}");
            let _ = std::fs::remove_file(entry.path());
        }
    }
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

/// Where the COPC version of `inputs` is kept: a name from their paths, sizes and dates and the
/// writer's revision, so a file written by an older (perhaps broken) writer is never reused.
#[cfg(not(target_arch = "wasm32"))]
fn converted_path(inputs: &[PathBuf], cache_dir: &Path) -> Result<PathBuf, String> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    super::convert::COPC_WRITER_REVISION.hash(&mut hasher);
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
    Ok(cache_dir.join(format!(
        "{stem}-{:016x}-r{}.copc.laz",
        hasher.finish(),
        super::convert::COPC_WRITER_REVISION
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder, a glob and a list name the same tiles; a pattern that matches nothing says so.
    #[test]
    fn a_folder_a_glob_and_a_list_name_the_same_tiles() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.copc.laz", "a.laz", "c.LAS", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let path = |n: &str| dir.path().join(n).display().to_string();
        let folder = dir.path().display().to_string();
        let tiles = vec![path("a.laz"), path("b.copc.laz"), path("c.LAS")];
        assert_eq!(
            expand_input(&folder, &folder.to_lowercase()).unwrap(),
            tiles
        );
        let glob = path("*.*a*");
        assert_eq!(
            expand_input(&glob, &glob.to_lowercase()).unwrap(),
            vec![path("a.laz"), path("b.copc.laz")]
        );
        let list = dir.path().join("tiles.txt");
        std::fs::write(
            &list,
            "# the commune\na.laz\n\nhttps://data.example/t.copc.laz\n",
        )
        .unwrap();
        let list = list.display().to_string();
        assert_eq!(
            expand_input(&list, &list).unwrap(),
            vec![path("a.laz"), "https://data.example/t.copc.laz".to_owned()]
        );
        let none = path("*.xyz");
        let error = expand_input(&none, &none).unwrap_err();
        assert!(matches!(error, OpenError::NoMatch { .. }), "{error:?}");
        assert!(error.to_string().ends_with("no file matches"), "{error}");
    }

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
        assert!(matches!(error, OpenError::Unreadable { .. }), "{error:?}");
        assert!(error.to_string().contains("nowhere.laz"), "{error}");

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
        assert!(matches!(error, OpenError::Las(_)), "{error:?}");
        assert!(error.to_string().contains("notes.las"), "{error}");
    }

    #[test]
    fn plain_laz_is_converted_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let laz = dir.path().join("town.laz");
        crate::pointcloud::las::write::write_test_laz(&laz, 20_000).unwrap();
        let cache = dir.path().join("cache");
        // What an older writer left for the same file: never served, removed.
        std::fs::create_dir_all(&cache).unwrap();
        let stale = cache.join("town-0123456789abcdef.copc.laz");
        std::fs::write(&stale, b"written by a broken writer").unwrap();
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
        assert!(!stale.exists(), "the stale conversion is removed");
        let name = converted[0].file_name().to_string_lossy().into_owned();
        assert!(
            name.starts_with("town-")
                && name.ends_with(&format!(
                    "-r{}.copc.laz",
                    super::super::convert::COPC_WRITER_REVISION
                )),
            "{name}"
        );
        let modified = converted[0].metadata().unwrap().modified().unwrap();
        let again = open_layer("town", &inputs, &cache, &indicatif::ProgressBar::hidden()).unwrap();
        assert_eq!(again.total_points(), 20_000);
        let entry = std::fs::read_dir(&cache).unwrap().flatten().next().unwrap();
        assert_eq!(entry.metadata().unwrap().modified().unwrap(), modified);
    }
}
