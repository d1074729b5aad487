//! `jumeau convert --tiles IN_DIR --output OUT_DIR`: each LAS/LAZ tile of a folder into its
//! own COPC, and the `.vpc` that lists them (PDAL, QGIS and Jumeau open it as one cloud).
//!
//! Resumable: a tile whose COPC is there, written by this writer revision with the tile's point
//! count, is skipped (conversions are written aside and renamed whole, so a killed run leaves
//! none half-written). Shardable: `--shard I/N` converts the tiles whose rank (in name order) is
//! `I` modulo `N`, so N machines or a batch scheduler's array share the work; the VPC lists the
//! conversions present when a run ends (the last shard to end, or one more run, completes it).

use super::convert::{ConvertSettings, convert_files_to, generating_software};
use super::las::LasFile;
use super::vpc::{TileEntry, write_vpc};
use crate::spatial::Aabb;
use bevy::math::DVec3;
use std::path::{Path, PathBuf};

/// Which share of the tiles a run converts: `index` in `0..count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Self { index: 0, count: 1 }
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N`, `I` counted from 0 (a Kubernetes indexed Job's `JOB_COMPLETION_INDEX`, a Slurm
    /// array's `SLURM_ARRAY_TASK_ID` from 0).
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a shard I/N with 0 ≤ I < N (e.g. 0/4)");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

/// What [`convert_tiles`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TilesReport {
    /// Tiles converted by this run.
    pub converted: Vec<String>,
    /// Tiles of this shard already converted by this writer (left as they were).
    pub skipped: Vec<String>,
    /// Tiles of the other shards.
    pub other_shards: usize,
    /// The VPC written, and how many of all the tiles it lists.
    pub vpc: PathBuf,
    pub listed: usize,
    pub tiles: usize,
    pub points_listed: u64,
}

/// The LAS/LAZ/COPC files of `dir`, in name order.
pub fn tile_inputs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut tiles: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.to_string_lossy().to_ascii_lowercase();
            p.is_file() && (name.ends_with(".las") || name.ends_with(".laz"))
        })
        .collect();
    tiles.sort();
    if tiles.is_empty() {
        return Err(format!("{}: no LAS/LAZ tile in this folder", dir.display()));
    }
    Ok(tiles)
}

/// Where the COPC of `tile` goes in `output_dir`.
fn output_of(tile: &Path, output_dir: &Path) -> PathBuf {
    let name = tile
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let stem = [".copc.laz", ".laz", ".las"]
        .into_iter()
        .find_map(|ext| {
            lower
                .ends_with(ext)
                .then(|| &name[..name.len() - ext.len()])
        })
        .unwrap_or(&name);
    output_dir.join(format!("{stem}.copc.laz"))
}

/// The header of `copc` when it is this writer's conversion of a tile of `points` points.
fn current_conversion(copc: &Path, points: u64) -> Option<LasFile<crate::io::FileSource>> {
    let file = LasFile::open_lazy(crate::io::FileSource::open(copc).ok()?).ok()?;
    (file.header.generating_software == generating_software()
        && file.header.point_count == points
        && file.vlrs.iter().any(|v| v.is("copc", 1)))
    .then_some(file)
}

/// Converts this shard's tiles of `input_dir` into `output_dir` and writes `output_dir/
/// tiles.vpc` listing every tile converted so far.
pub fn convert_tiles(
    input_dir: &Path,
    output_dir: &Path,
    shard: Shard,
    settings: &ConvertSettings,
) -> Result<TilesReport, String> {
    let tiles = tile_inputs(input_dir)?;
    std::fs::create_dir_all(output_dir).map_err(|e| format!("{}: {e}", output_dir.display()))?;
    let mut report = TilesReport {
        tiles: tiles.len(),
        ..Default::default()
    };
    let mut entries = Vec::new();
    for (rank, tile) in tiles.iter().enumerate() {
        let name = tile
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let points = LasFile::open_lazy(
            crate::io::FileSource::open(tile).map_err(|e| format!("{}: {e}", tile.display()))?,
        )
        .map_err(|e| e.to_string())?
        .header
        .point_count;
        let output = output_of(tile, output_dir);
        let mine = rank as u32 % shard.count == shard.index;
        if mine && current_conversion(&output, points).is_none() {
            if let Some(bar) = &settings.progress {
                bar.set_prefix(format!("tile {}/{} {name}", rank + 1, tiles.len()));
            }
            convert_files_to(std::slice::from_ref(tile), &output, settings)
                .map_err(|e| format!("{name}: {e}"))?;
            report.converted.push(name);
        } else if mine {
            report.skipped.push(name);
        } else {
            report.other_shards += 1;
        }
        if let Some(file) = current_conversion(&output, points) {
            let h = &file.header;
            let crs = crate::georef::crs_from_vlrs(file.all_vlrs());
            let copc_name = output
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            entries.push(TileEntry {
                href: format!("./{copc_name}"),
                id: copc_name.trim_end_matches(".copc.laz").to_owned(),
                point_count: h.point_count,
                bounds: Aabb {
                    min: DVec3::from(h.min),
                    max: DVec3::from(h.max),
                },
                epsg: crs.as_ref().and_then(|c| c.horizontal_code()),
                wkt: crs.and_then(|c| c.wkt),
            });
        }
    }
    report.listed = entries.len();
    report.points_listed = entries.iter().map(|e| e.point_count).sum();
    report.vpc = output_dir.join("tiles.vpc");
    let text = write_vpc(&entries)?;
    // Written aside and renamed: shards that end together never leave a half-written VPC.
    let partial = output_dir.join(format!("tiles.vpc.{}.partial", std::process::id()));
    std::fs::write(&partial, text).map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, &report.vpc).map_err(|e| format!("{}: {e}", report.vpc.display()))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_read_from_zero() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("a/b".parse::<Shard>().unwrap_err().contains("a/b"));
    }

    #[test]
    fn outputs_are_named_after_their_tile() {
        let out = Path::new("/o");
        assert_eq!(
            output_of(Path::new("/i/A_1.LAZ"), out),
            out.join("A_1.copc.laz")
        );
        assert_eq!(
            output_of(Path::new("/i/b.copc.laz"), out),
            out.join("b.copc.laz")
        );
        assert_eq!(
            output_of(Path::new("/i/c.las"), out),
            out.join("c.copc.laz")
        );
    }
}
