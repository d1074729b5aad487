//! `jumeau convert`: any LAS/LAZ files (tiles of one area) into one standard COPC file.
//!
//! # How it works
//! 1. **Plan** from the headers: output format 6/7/8, one scale/offset grid, the octree cube, a
//!    partition level `P` chosen so that one partition fits a slice of the memory budget.
//! 2. **Distribute** (pass A): blocks are decoded and converted in parallel; each point then
//!    tries the sampling grids of levels `0..P` (128³ cells per node, first come first kept).
//!    Points no upper level keeps are appended to the spill file of their level-`P` partition.
//! 3. **Build** (pass B): partitions are processed in parallel, each in memory: grid sampling
//!    from level `P` down until a node holds few enough points to be a leaf. A partition too big
//!    for its memory slice is split once more through spill files first.
//! 4. **Write**: each node becomes one independent LAZ chunk as soon as it is built; the chunk
//!    table, then the hierarchy (one page per partition) close the file.
//!
//! Memory stays bounded by the budget whatever the input size; the temporary folder holds at most
//! one uncompressed copy of the points.

use super::copc::{CopcInfo, Entry};
use super::format::{
    RecordConverter, RecordLayout, WAVE_PACKET_LEN, copc_format_for, wave_packet_dims,
};
use super::las::header::HEADER_LEN_1_4;
use super::las::{ExtraBytesDim, LasError, LasFile, LasHeader, Vlr, fixed_str};
use super::octree::{Cube, VoxelKey};
use crate::georef::{Crs, crs_from_vlrs};
use crate::io::ByteSource;
use bevy::math::DVec3;
use byteorder::{ByteOrder, LittleEndian as LE};
use laz::{DecompressionSelection, LazItemRecordBuilder, LazVlrBuilder};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Revision of the COPC writer, bumped with every fix to what it writes: caches of converted
/// files are keyed by it (and it is in the header's generating software), so a file written by
/// a broken writer is rebuilt instead of served again. Revision 2: points in the right
/// partition at depth (revision 1 misplaced them beyond three levels).
pub const COPC_WRITER_REVISION: u32 = 2;

/// The generating-software field of the files this writer makes.
pub fn generating_software() -> String {
    format!(
        "jumeau {} copc-r{COPC_WRITER_REVISION}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Cells per axis of a node's sampling grid.
const GRID: u32 = 128;
/// A node keeps all its points (becomes a leaf) at or below this count.
const LEAF_MAX_POINTS: usize = 100_000;
/// Deepest level; below it, points that still share cells stay together in one node.
const MAX_LEVEL: i32 = 24;
/// Spill buffers are flushed to their file past this size.
const SPILL_FLUSH_BYTES: usize = 1 << 20;

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Las(#[from] LasError),
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("inputs do not go together: {0}")]
    Mismatch(String),
    #[error("CRS: {0}")]
    Crs(String),
    #[error("no input points: {0}")]
    Empty(String),
    #[error("LAZ compression of node {key}: {problem}")]
    Compress { key: VoxelKey, problem: String },
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ConvertError + '_ {
    move |error| ConvertError::Io {
        path: path.display().to_string(),
        error,
    }
}

/// Settings of [`convert`].
#[derive(Debug, Clone)]
pub struct ConvertSettings {
    /// Memory the conversion may use for points, in bytes (spills to disk beyond).
    pub memory_budget_bytes: u64,
    /// CRS written to the output instead of the inputs' one.
    pub assign_crs: Option<Crs>,
    /// Folder for spill files (default: next to the output).
    pub temp_dir: Option<PathBuf>,
    /// Report progress on this bar (`ProgressBar::new` draws on stderr; the viewer's panel
    /// reads its position and message too).
    pub progress: Option<indicatif::ProgressBar>,
}

impl Default for ConvertSettings {
    fn default() -> Self {
        Self {
            memory_budget_bytes: 1 << 30,
            assign_crs: None,
            temp_dir: None,
            progress: None,
        }
    }
}

/// What [`convert`] produced.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConvertReport {
    pub points: u64,
    pub nodes: usize,
    pub max_level: i32,
    pub partition_level: i32,
    pub point_format: u8,
    pub bytes_written: u64,
    pub spilled_bytes: u64,
    pub crs: Option<String>,
    pub warnings: Vec<String>,
}

/// A fast hasher for packed cell indices (no DoS concern: keys come from our own arithmetic).
#[derive(Default)]
struct CellHasher(u64);

impl Hasher for CellHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

type CellSet = HashSet<u64, BuildHasherDefault<CellHasher>>;

/// The output layout and grid, decided from the input headers.
struct Plan {
    format: u8,
    record_len: usize,
    extra_dims: Vec<ExtraBytesDim>,
    scale: [f64; 3],
    offset: [f64; 3],
    cube: Cube,
    partition_level: i32,
    converters: Vec<RecordConverter>,
}

impl Plan {
    fn position(&self, r: &[u8]) -> DVec3 {
        DVec3::new(
            f64::from(LE::read_i32(&r[0..])) * self.scale[0] + self.offset[0],
            f64::from(LE::read_i32(&r[4..])) * self.scale[1] + self.offset[1],
            f64::from(LE::read_i32(&r[8..])) * self.scale[2] + self.offset[2],
        )
    }

    /// Global sampling-cell index of `p` for nodes at `level`.
    fn cell(&self, p: DVec3, level: i32) -> u64 {
        pack_cell(self.cell_coords(p, level))
    }

    /// Sampling-cell coordinates of `p` on the grid of `level` (`GRID << level` cells a side).
    /// The grid of `level - 1` is this one shifted right by one bit: multiplying by a power of
    /// two is exact in floating point, so `floor` commutes with the halving.
    fn cell_coords(&self, p: DVec3, level: i32) -> [u64; 3] {
        let cells = f64::from(GRID) * f64::from(1u32 << level as u32);
        let rel = (p - (self.cube.center - DVec3::splat(self.cube.halfsize)))
            / (2.0 * self.cube.halfsize)
            * cells;
        let max = cells - 1.0;
        let c = |v: f64| v.floor().clamp(0.0, max) as u64;
        [c(rel.x), c(rel.y), c(rel.z)]
    }
}

impl Plan {
    /// The partition (level-`partition_level` node) of a point whose sampling-cell coordinates
    /// at level `partition_level - 1` are `fine`: those have `GRID_BITS + P - 1` bits a side,
    /// the partition's key `P`, so `GRID_BITS - 1` bits go. (Shifting by `GRID_BITS` once
    /// grouped the eight level-`P` siblings under the first one's key: at depth 6, 74 % of a
    /// 20 M-point file sat in nodes that do not contain them.)
    fn partition_of(&self, fine: [u64; 3]) -> VoxelKey {
        if self.partition_level == 0 {
            return VoxelKey::ROOT;
        }
        let [x, y, z] = fine.map(|c| (c >> (GRID_BITS - 1)) as i32);
        VoxelKey {
            level: self.partition_level,
            x,
            y,
            z,
        }
    }
}

fn pack_cell(c: [u64; 3]) -> u64 {
    (c[0] << 42) | (c[1] << 21) | c[2]
}

/// log2 of [`GRID`]: a node at level `l` is `GRID_BITS + l` bits of cell coordinates.
const GRID_BITS: u32 = GRID.trailing_zeros();

fn same_dims(a: &[ExtraBytesDim], b: &[ExtraBytesDim]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.name == y.name && x.data_type == y.data_type)
}

fn make_plan<S: ByteSource>(
    inputs: &[LasFile<S>],
    bounds: Option<(DVec3, DVec3)>,
    budget: u64,
) -> Result<Plan, ConvertError> {
    let first = &inputs[0];
    let any_nir = inputs
        .iter()
        .any(|f| copc_format_for(f.header.point_format) == 8);
    let any_rgb = inputs
        .iter()
        .any(|f| copc_format_for(f.header.point_format) == 7);
    let format = if any_nir {
        8
    } else if any_rgb {
        7
    } else {
        6
    };
    let any_wave = inputs
        .iter()
        .any(|f| RecordLayout::of(f.header.point_format).is_some_and(|l| l.wave_packet.is_some()));
    for f in inputs {
        let documented: u16 = f.extra_bytes.iter().map(|d| d.data_type.size()).sum();
        if documented != f.header.extra_bytes_len() && !f.extra_bytes.is_empty() {
            return Err(ConvertError::Mismatch(format!(
                "{}: extra-bytes VLRs describe {documented} bytes but records carry {}",
                f.source.name(),
                f.header.extra_bytes_len()
            )));
        }
        if f.header.extra_bytes_len() != first.header.extra_bytes_len()
            || !same_dims(&f.extra_bytes, &first.extra_bytes)
        {
            return Err(ConvertError::Mismatch(format!(
                "{} and {} have different extra-bytes dimensions",
                first.source.name(),
                f.source.name()
            )));
        }
    }
    let mut extra_dims = first.extra_bytes.clone();
    let extra_len = usize::from(first.header.extra_bytes_len());
    if extra_dims.is_empty() && extra_len > 0 {
        // Undocumented extra bytes: declare them so other readers skip them correctly.
        let mut descriptor = vec![0u8; 192];
        descriptor[3] = extra_len as u8;
        descriptor[4..36].copy_from_slice(&fixed_str::<32>("undocumented"));
        extra_dims.push(ExtraBytesDim {
            name: "undocumented".into(),
            description: String::new(),
            data_type: super::las::ExtraBytesType::Undocumented(extra_len as u8),
            descriptor,
        });
    }
    if any_wave {
        extra_dims.extend(wave_packet_dims());
    }
    let dst =
        RecordLayout::of(format).ok_or_else(|| ConvertError::Mismatch("bad format".into()))?;
    let record_len = dst.base_len + extra_len + if any_wave { WAVE_PACKET_LEN } else { 0 };
    let same_grid = inputs
        .iter()
        .all(|f| f.header.scale == first.header.scale && f.header.offset == first.header.offset);
    let scale = if same_grid {
        first.header.scale
    } else {
        let mut s = first.header.scale;
        for f in inputs {
            for (mine, theirs) in s.iter_mut().zip(f.header.scale) {
                *mine = mine.min(theirs);
            }
        }
        s
    };
    let (min, max) = bounds.unwrap_or_else(|| {
        let mut min = DVec3::splat(f64::INFINITY);
        let mut max = DVec3::splat(f64::NEG_INFINITY);
        for f in inputs.iter().filter(|f| f.header.point_count > 0) {
            min = min.min(DVec3::from(f.header.min));
            max = max.max(DVec3::from(f.header.max));
        }
        (min, max)
    });
    if !(min.is_finite() && max.is_finite()) || min.cmpgt(max).any() {
        return Err(ConvertError::Empty(
            "the headers give no usable bounds".into(),
        ));
    }
    let offset = if same_grid {
        first.header.offset
    } else {
        let c = (min + max) * 0.5;
        [0, 1, 2].map(|a| (c[a] / scale[a]).round() * scale[a])
    };
    let extent = (max - min)
        .max_element()
        .max(scale[0].max(scale[1]).max(scale[2]));
    // A margin of one quantum keeps points on the max faces inside the last cells.
    let halfsize = extent * 0.5 * 1.000_001 + scale.iter().copied().fold(0.0, f64::max);
    let cube = Cube {
        center: (min + max) * 0.5,
        halfsize,
    };
    let total: u64 = inputs.iter().map(|f| f.header.point_count).sum();
    // One partition must fit a quarter of the budget with its work copies (about 3×).
    let per_partition = (budget / 4 / (record_len as u64 * 3)).max(10_000);
    let mut partition_level = 0;
    while total / 4u64.pow(partition_level as u32) > per_partition && partition_level < 8 {
        partition_level += 1;
    }
    let converters = inputs
        .iter()
        .map(|f| {
            let src = RecordLayout::of(f.header.point_format)
                .ok_or_else(|| ConvertError::Mismatch("bad format".into()))?;
            let requantize = (!same_grid).then(|| {
                [0, 1, 2].map(|a| (f.header.scale[a], f.header.offset[a], scale[a], offset[a]))
            });
            Ok(RecordConverter {
                src,
                src_len: usize::from(f.header.point_record_len),
                dst,
                dst_len: record_len,
                extra_len,
                requantize,
            })
        })
        .collect::<Result<Vec<_>, ConvertError>>()?;
    Ok(Plan {
        format,
        record_len,
        extra_dims,
        scale,
        offset,
        cube,
        partition_level,
        converters,
    })
}

/// Running statistics of the points written.
#[derive(Debug, Clone)]
struct Stats {
    count: u64,
    min: DVec3,
    max: DVec3,
    by_return: [u64; 15],
    gps: (f64, f64),
}

impl Stats {
    fn new() -> Self {
        Self {
            count: 0,
            min: DVec3::splat(f64::INFINITY),
            max: DVec3::splat(f64::NEG_INFINITY),
            by_return: [0; 15],
            gps: (f64::INFINITY, f64::NEG_INFINITY),
        }
    }
}

/// Points kept by the upper levels during pass A, and the partition spill files.
struct Distributor<'a> {
    plan: &'a Plan,
    upper_cells: Vec<CellSet>,
    upper_nodes: HashMap<VoxelKey, Vec<u8>>,
    spill_dir: PathBuf,
    /// Partition (packed level-`partition_level` coordinates) -> index in `partitions`.
    partition_index: HashMap<u64, usize, BuildHasherDefault<CellHasher>>,
    /// Per partition: its key, the records not yet written, how many it received.
    partitions: Vec<(VoxelKey, Vec<u8>, u64)>,
    /// The partition of the previous point (neighbouring points share one).
    last_partition: Option<(u64, usize)>,
    spilled_bytes: u64,
    stats: Stats,
    out_of_bounds: u64,
}

fn spill_path(dir: &Path, key: VoxelKey) -> PathBuf {
    dir.join(format!("{key}.bin"))
}

fn append(path: &Path, bytes: &[u8]) -> Result<(), ConvertError> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_error(path))?;
    f.write_all(bytes).map_err(io_error(path))
}

impl<'a> Distributor<'a> {
    fn new(plan: &'a Plan, spill_dir: PathBuf) -> Self {
        Self {
            plan,
            upper_cells: (0..plan.partition_level)
                .map(|_| CellSet::default())
                .collect(),
            upper_nodes: HashMap::new(),
            spill_dir,
            partition_index: HashMap::default(),
            partitions: Vec::new(),
            last_partition: None,
            spilled_bytes: 0,
            stats: Stats::new(),
            out_of_bounds: 0,
        }
    }

    fn push(&mut self, records: &[u8]) -> Result<(), ConvertError> {
        let plan = self.plan;
        let bounds = plan.cube.bounds(VoxelKey::ROOT);
        for r in records.chunks_exact(plan.record_len) {
            let p = plan.position(r);
            let s = &mut self.stats;
            s.count += 1;
            s.min = s.min.min(p);
            s.max = s.max.max(p);
            let return_number = r[14] & 0x0f;
            if (1..=15).contains(&return_number) {
                s.by_return[usize::from(return_number - 1)] += 1;
            }
            let t = LE::read_f64(&r[22..]);
            s.gps = (s.gps.0.min(t), s.gps.1.max(t));
            if !bounds.contains(p) {
                self.out_of_bounds += 1;
            }
            // The cell coordinates at the deepest upper level give every coarser level's cell
            // and the partition by shifts: one floating-point conversion per point.
            let deepest = plan.partition_level - 1;
            let fine = plan.cell_coords(p, deepest.max(0));
            let mut kept = false;
            for level in 0..plan.partition_level {
                let shift = (deepest - level) as u32;
                let cell = pack_cell(fine.map(|c| c >> shift));
                if self.upper_cells[level as usize].insert(cell) {
                    self.upper_nodes
                        .entry(plan.cube.key_at(p, level))
                        .or_default()
                        .extend_from_slice(r);
                    kept = true;
                    break;
                }
            }
            if !kept {
                let partition = plan.partition_of(fine);
                let packed = pack_cell([partition.x, partition.y, partition.z].map(|c| c as u64));
                let index = match self.last_partition {
                    Some((last, index)) if last == packed => index,
                    _ => {
                        let next = self.partitions.len();
                        let index = *self.partition_index.entry(packed).or_insert(next);
                        if index == next {
                            self.partitions.push((partition, Vec::new(), 0));
                        }
                        self.last_partition = Some((packed, index));
                        index
                    }
                };
                let (key, buffer, count) = &mut self.partitions[index];
                buffer.extend_from_slice(r);
                *count += 1;
                if buffer.len() >= SPILL_FLUSH_BYTES {
                    let bytes = std::mem::take(buffer);
                    self.spilled_bytes += bytes.len() as u64;
                    append(&spill_path(&self.spill_dir, *key), &bytes)?;
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ConvertError> {
        for (key, buffer, _) in &mut self.partitions {
            let bytes = std::mem::take(buffer);
            if !bytes.is_empty() {
                self.spilled_bytes += bytes.len() as u64;
                append(&spill_path(&self.spill_dir, *key), &bytes)?;
            }
        }
        Ok(())
    }
}

/// Splits `records` of node `key`: one point per grid cell stays, the rest go to the children.
fn sample(plan: &Plan, key: VoxelKey, records: &[u8]) -> (Vec<u8>, [Vec<u8>; 8]) {
    let mut cells = CellSet::default();
    let mut kept = Vec::new();
    let mut children: [Vec<u8>; 8] = Default::default();
    for r in records.chunks_exact(plan.record_len) {
        let p = plan.position(r);
        if cells.insert(plan.cell(p, key.level)) {
            kept.extend_from_slice(r);
        } else {
            let child = plan.cube.key_at(p, key.level + 1);
            children[child.child_index()].extend_from_slice(r);
        }
    }
    (kept, children)
}

/// Builds the subtree of `key` from its points in memory, emitting each finished node.
fn build_in_memory(
    plan: &Plan,
    key: VoxelKey,
    records: Vec<u8>,
    emit: &(dyn Fn(VoxelKey, Vec<u8>) -> Result<(), ConvertError> + Sync),
) -> Result<(), ConvertError> {
    let count = records.len() / plan.record_len;
    if count <= LEAF_MAX_POINTS || key.level >= MAX_LEVEL {
        return emit(key, records);
    }
    let (kept, children) = sample(plan, key, &records);
    drop(records);
    emit(key, kept)?;
    for (i, child) in children.into_iter().enumerate() {
        if !child.is_empty() {
            build_in_memory(plan, key.child(i), child, emit)?;
        }
    }
    Ok(())
}

/// Builds the subtree of a spilled partition, splitting it through more spill files while it
/// is larger than `max_bytes`.
fn build_partition(
    plan: &Plan,
    key: VoxelKey,
    path: &Path,
    max_bytes: u64,
    emit: &(dyn Fn(VoxelKey, Vec<u8>) -> Result<(), ConvertError> + Sync),
) -> Result<(), ConvertError> {
    let len = std::fs::metadata(path).map_err(io_error(path))?.len();
    if len <= max_bytes || key.level >= MAX_LEVEL {
        let mut records = Vec::with_capacity(len as usize);
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut records))
            .map_err(io_error(path))?;
        std::fs::remove_file(path).map_err(io_error(path))?;
        return build_in_memory(plan, key, records, emit);
    }
    // Too big for memory: stream it, sampling this node and spilling its children.
    let mut cells = CellSet::default();
    let mut kept = Vec::new();
    let mut children: [Vec<u8>; 8] = Default::default();
    let child_paths: Vec<PathBuf> = (0..8)
        .map(|i| spill_path(path.parent().unwrap_or(Path::new(".")), key.child(i)))
        .collect();
    let mut file = File::open(path).map_err(io_error(path))?;
    let mut block = vec![0u8; plan.record_len * 65_536];
    loop {
        let n = read_full(&mut file, &mut block).map_err(io_error(path))?;
        if n == 0 {
            break;
        }
        for r in block[..n].chunks_exact(plan.record_len) {
            let p = plan.position(r);
            if cells.insert(plan.cell(p, key.level)) {
                kept.extend_from_slice(r);
            } else {
                let c = plan.cube.key_at(p, key.level + 1).child_index();
                children[c].extend_from_slice(r);
                if children[c].len() >= SPILL_FLUSH_BYTES {
                    append(&child_paths[c], &std::mem::take(&mut children[c]))?;
                }
            }
        }
    }
    // Close before removing (Windows refuses to remove an open file). On wasm `File` is a
    // stub without `Drop`, hence the allow.
    #[allow(clippy::drop_non_drop, reason = "File has no Drop on wasm32 only")]
    drop(file);
    std::fs::remove_file(path).map_err(io_error(path))?;
    for (c, rest) in children.iter().enumerate() {
        if !rest.is_empty() {
            append(&child_paths[c], rest)?;
        }
    }
    drop(children);
    emit(key, kept)?;
    for (i, child_path) in child_paths.iter().enumerate() {
        if child_path.exists() {
            build_partition(plan, key.child(i), child_path, max_bytes, emit)?;
        }
    }
    Ok(())
}

fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Compresses one node's records into an independent LAZ chunk.
fn compress_chunk(
    vlr: &laz::LazVlr,
    records: &[u8],
    key: VoxelKey,
) -> Result<Vec<u8>, ConvertError> {
    super::las::encode_laz_chunk(vlr, records)
        .map_err(|problem| ConvertError::Compress { key, problem })
}

/// The output file while nodes are appended.
struct ChunkWriter {
    file: BufWriter<File>,
    position: u64,
    entries: Vec<(Entry, u64)>,
    chunk_table: Vec<(u64, u64)>,
    gps: (f64, f64),
}

#[cfg(not(target_arch = "wasm32"))]
/// Converts local LAS/LAZ files into one COPC at `output`, written beside it as `.partial`
/// and renamed once complete, so an interrupted run never leaves a truncated file to reuse.
pub fn convert_files_to(
    paths: &[PathBuf],
    output: &Path,
    settings: &ConvertSettings,
) -> Result<ConvertReport, String> {
    let files = paths
        .iter()
        .map(|p| {
            crate::io::FileSource::open(p)
                .map_err(|e| e.to_string())
                .and_then(|s| LasFile::open(s).map_err(|e| e.to_string()))
        })
        .collect::<Result<Vec<_>, String>>()?;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let partial = output.with_extension("partial");
    let report = convert(&files, &partial, settings).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, output).map_err(|e| format!("{}: {e}", output.display()))?;
    Ok(report)
}

/// Converts `inputs` into one COPC file at `output`: points distributed into the octree's
/// upper levels and spilled partitions, partitions built in parallel into LAZ chunks appended as
/// they finish, then the chunk table, the hierarchy and the header.
pub fn convert<S: ByteSource>(
    inputs: &[LasFile<S>],
    output: &Path,
    settings: &ConvertSettings,
) -> Result<ConvertReport, ConvertError> {
    if inputs.is_empty() {
        return Err(ConvertError::Empty("no input file".into()));
    }
    let total: u64 = inputs.iter().map(|f| f.header.point_count).sum();
    if total == 0 {
        return Err(ConvertError::Empty("the inputs hold no point".into()));
    }
    let mut warnings = Vec::new();
    let (crs, crs_wkt) = output_crs(inputs, settings, &mut warnings)?;
    let progress = conversion_progress(settings, total);
    let (plan, distributed, spill_dir) =
        distribute_into_plan(inputs, output, settings, &progress, &mut warnings)?;

    // Output: header and VLRs first, chunks appended as nodes finish.
    let laz_items = LazItemRecordBuilder::default_for_point_format_id(
        plan.format,
        (plan.record_len - RecordLayout::of(plan.format).map_or(0, |l| l.base_len)) as u16,
    )
    .map_err(|e| ConvertError::Mismatch(e.to_string()))?;
    let laz_vlr = LazVlrBuilder::new(laz_items)
        .with_variable_chunk_size()
        .build();
    let mut vlrs = output_vlrs(inputs, &plan, &laz_vlr, crs_wkt.as_deref(), output)?;
    let offset_to_point_data = u64::from(HEADER_LEN_1_4) + vlrs_len(&vlrs);
    let writer = Mutex::new(ChunkWriter::create(output, offset_to_point_data)?);

    progress.set_message("build");
    let sink = ChunkSink {
        laz_vlr: &laz_vlr,
        writer: &writer,
        output,
        progress: &progress,
    };
    build_nodes(
        &plan,
        distributed.upper_nodes,
        &distributed.spill_counts,
        spill_dir.path(),
        settings,
        &sink,
    )?;
    progress.finish_and_clear();

    let w = writer
        .into_inner()
        .map_err(|_| ConvertError::Mismatch("writer lock poisoned".into()))?;
    let stats = distributed.stats;
    let vlr_count = vlrs.len() as u32;
    let finished = finish_file(w, &plan, &laz_vlr, &mut vlrs, output, |evlr_start| {
        header_bytes(
            &plan,
            &stats,
            inputs,
            offset_to_point_data,
            vlr_count,
            evlr_start,
            crs_wkt.is_some(),
        )
    })?;
    if finished.points != stats.count {
        return Err(ConvertError::Mismatch(format!(
            "internal: {} points read but {} written",
            stats.count, finished.points
        )));
    }
    Ok(ConvertReport {
        points: finished.points,
        nodes: finished.nodes,
        max_level: finished.max_level,
        partition_level: plan.partition_level,
        point_format: plan.format,
        bytes_written: finished.file_len,
        spilled_bytes: distributed.spilled_bytes,
        crs: crs.map(|c| c.label()),
        warnings,
    })
}

/// The output's CRS: the one assigned, else the one the inputs agree on; and its WKT, without
/// which the output carries no CRS record (a warning says so).
fn output_crs<S: ByteSource>(
    inputs: &[LasFile<S>],
    settings: &ConvertSettings,
    warnings: &mut Vec<String>,
) -> Result<(Option<Crs>, Option<String>), ConvertError> {
    let crs = match &settings.assign_crs {
        Some(crs) => Some(crs.clone()),
        None => {
            let crss: Vec<Option<Crs>> =
                inputs.iter().map(|f| crs_from_vlrs(f.all_vlrs())).collect();
            let first = crss[0].clone();
            // Inputs agree when their horizontal EPSG codes agree. Compared as one string per
            // input: comparing the nested options directly read uninitialised memory in a
            // debug build (see the issue note).
            let identity = |c: &Option<Crs>| match c {
                None => "none".to_owned(),
                Some(c) => c
                    .horizontal_code()
                    .map_or_else(|| "no code".to_owned(), |code| code.to_string()),
            };
            let first_identity = identity(&first);
            if crss.iter().any(|c| identity(c) != first_identity) {
                return Err(ConvertError::Crs(
                    "the inputs declare different CRSs; pick one with --assign-crs".into(),
                ));
            }
            first
        }
    };
    let crs_wkt = match &crs {
        Some(c) => match &c.wkt {
            Some(wkt) => Some(wkt.clone()),
            None => {
                warnings.push(format!("CRS {} has no WKT form here; the output has no CRS VLR (use --assign-crs EPSG:nnnn)", c.label()));
                None
            }
        },
        None => None,
    };
    Ok((crs, crs_wkt))
}

/// The caller's progress bar, set for `total` points read twice (distribute, then build).
fn conversion_progress(settings: &ConvertSettings, total: u64) -> indicatif::ProgressBar {
    let Some(bar) = settings.progress.clone() else {
        return indicatif::ProgressBar::hidden();
    };
    bar.set_length(total * 2);
    bar.set_position(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {prefix} {msg:12} [{bar:40}] {human_pos}/{human_len} points ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// What distributing the points left: the upper levels in memory, the spilled partitions and
/// their point counts, the statistics of all points.
struct Distributed {
    upper_nodes: HashMap<VoxelKey, Vec<u8>>,
    spill_counts: HashMap<VoxelKey, u64>,
    spilled_bytes: u64,
    stats: Stats,
}

/// Plans the octree and distributes every point into it; when points lie outside the header
/// bounds, plans again on the real bounds and starts over (a warning says so).
fn distribute_into_plan<S: ByteSource>(
    inputs: &[LasFile<S>],
    output: &Path,
    settings: &ConvertSettings,
    progress: &indicatif::ProgressBar,
    warnings: &mut Vec<String>,
) -> Result<(Plan, Distributed, tempfile::TempDir), ConvertError> {
    let spill_parent = match &settings.temp_dir {
        Some(dir) => dir.clone(),
        None => output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let mut plan = make_plan(inputs, None, settings.memory_budget_bytes)?;
    loop {
        let spill_dir = tempfile::Builder::new()
            .prefix(".jumeau-spill-")
            .tempdir_in(&spill_parent)
            .map_err(io_error(&spill_parent))?;
        progress.set_message("distribute");
        let mut d = Distributor::new(&plan, spill_dir.path().to_path_buf());
        distribute(inputs, &plan, &mut d, progress)?;
        d.flush()?;
        if d.out_of_bounds == 0 {
            let spill_counts = d
                .partitions
                .iter()
                .map(|(key, _, count)| (*key, *count))
                .collect();
            let distributed = Distributed {
                upper_nodes: d.upper_nodes,
                spill_counts,
                spilled_bytes: d.spilled_bytes,
                stats: d.stats,
            };
            return Ok((plan, distributed, spill_dir));
        }
        // Header bounds lied: redo with the real ones.
        warnings.push(format!(
            "{} points lie outside the header bounds; the octree was rebuilt on the real bounds",
            d.out_of_bounds
        ));
        let bounds = (d.stats.min, d.stats.max);
        drop(d);
        progress.set_position(0);
        plan = make_plan(inputs, Some(bounds), settings.memory_budget_bytes)?;
    }
}

/// The output's VLRs: COPC info (filled in at the end), LAZ, the CRS as WKT, extra bytes, then
/// the first input's other VLRs that fit a VLR.
fn output_vlrs<S: ByteSource>(
    inputs: &[LasFile<S>],
    plan: &Plan,
    laz_vlr: &laz::LazVlr,
    crs_wkt: Option<&str>,
    output: &Path,
) -> Result<Vec<Vlr>, ConvertError> {
    let mut vlrs = vec![Vlr {
        user_id: "copc".into(),
        record_id: 1,
        description: "COPC info VLR".into(),
        data: vec![0; 160],
        extended: false,
    }];
    let mut laz_data = Vec::new();
    laz_vlr.write_to(&mut laz_data).map_err(io_error(output))?;
    vlrs.push(Vlr {
        user_id: "laszip encoded".into(),
        record_id: 22204,
        description: "https://laszip.org".into(),
        data: laz_data,
        extended: false,
    });
    if let Some(wkt) = crs_wkt {
        let mut data = wkt.as_bytes().to_vec();
        data.push(0);
        vlrs.push(Vlr {
            user_id: "LASF_Projection".into(),
            record_id: 2112,
            description: "OGC WKT".into(),
            data,
            extended: false,
        });
    }
    if !plan.extra_dims.is_empty() {
        let data = plan
            .extra_dims
            .iter()
            .flat_map(|d| d.descriptor.iter().copied())
            .collect();
        vlrs.push(Vlr {
            user_id: "LASF_Spec".into(),
            record_id: 4,
            description: "Extra Bytes".into(),
            data,
            extended: false,
        });
    }
    for v in inputs[0].vlrs.iter().filter(|v| {
        !(v.user_id == "LASF_Projection"
            || v.is("LASF_Spec", 4)
            || v.user_id == "laszip encoded"
            || v.user_id == "copc")
    }) {
        if v.data.len() <= usize::from(u16::MAX) {
            vlrs.push(Vlr {
                extended: false,
                ..v.clone()
            });
        }
    }
    Ok(vlrs)
}

fn vlrs_bytes(vlrs: &[Vlr]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for v in vlrs {
        v.write_to(&mut bytes);
    }
    bytes
}

fn vlrs_len(vlrs: &[Vlr]) -> u64 {
    vlrs_bytes(vlrs).len() as u64
}

impl ChunkWriter {
    /// The output file, with room for the header, the VLRs and the chunk table offset.
    fn create(output: &Path, offset_to_point_data: u64) -> Result<Self, ConvertError> {
        let file = File::create(output).map_err(io_error(output))?;
        let mut writer = ChunkWriter {
            file: BufWriter::with_capacity(1 << 20, file),
            position: 0,
            entries: Vec::new(),
            chunk_table: Vec::new(),
            gps: (f64::INFINITY, f64::NEG_INFINITY),
        };
        writer
            .file
            .write_all(&vec![0u8; offset_to_point_data as usize + 8])
            .map_err(io_error(output))?;
        writer.position = offset_to_point_data + 8;
        Ok(writer)
    }
}

/// Where built nodes go: compressed with `laz_vlr`, appended by `writer` to `output`.
struct ChunkSink<'a> {
    laz_vlr: &'a laz::LazVlr,
    writer: &'a Mutex<ChunkWriter>,
    output: &'a Path,
    progress: &'a indicatif::ProgressBar,
}

/// Compresses every node into one LAZ chunk appended to the file: the upper levels (in memory)
/// first, then the partitions in parallel, largest first.
fn build_nodes(
    plan: &Plan,
    upper_nodes: HashMap<VoxelKey, Vec<u8>>,
    spill_counts: &HashMap<VoxelKey, u64>,
    spill_dir: &Path,
    settings: &ConvertSettings,
    sink: &ChunkSink<'_>,
) -> Result<(), ConvertError> {
    let ChunkSink {
        laz_vlr,
        writer,
        output,
        progress,
    } = *sink;
    let emit = |key: VoxelKey, records: Vec<u8>| -> Result<(), ConvertError> {
        if records.is_empty() {
            return Ok(());
        }
        let count = records.len() / plan.record_len;
        let mut gps = (f64::INFINITY, f64::NEG_INFINITY);
        for r in records.chunks_exact(plan.record_len) {
            let t = LE::read_f64(&r[22..]);
            gps = (gps.0.min(t), gps.1.max(t));
        }
        let chunk = compress_chunk(laz_vlr, &records, key)?;
        drop(records);
        let mut w = writer
            .lock()
            .map_err(|_| ConvertError::Mismatch("writer lock poisoned".into()))?;
        w.file.write_all(&chunk).map_err(io_error(output))?;
        let entry = Entry {
            key,
            offset: w.position,
            byte_size: chunk.len() as i32,
            point_count: count as i32,
        };
        w.entries.push((entry, count as u64));
        w.chunk_table.push((count as u64, chunk.len() as u64));
        w.position += chunk.len() as u64;
        w.gps = (w.gps.0.min(gps.0), w.gps.1.max(gps.1));
        progress.inc(count as u64);
        Ok(())
    };
    let mut upper: Vec<(VoxelKey, Vec<u8>)> = upper_nodes.into_iter().collect();
    upper.sort_by_key(|(k, _)| *k);
    for (key, records) in upper {
        emit(key, records)?;
    }
    let threads = rayon::current_num_threads().max(1) as u64;
    let max_partition_bytes = (settings.memory_budget_bytes / 2 / threads / 3).max(1 << 20);
    let mut partitions: Vec<VoxelKey> = spill_counts.keys().copied().collect();
    partitions.sort_by_key(|k| std::cmp::Reverse(spill_counts[k]));
    partitions.par_iter().try_for_each(|&key| {
        build_partition(
            plan,
            key,
            &spill_path(spill_dir, key),
            max_partition_bytes,
            &emit,
        )
    })
}

/// What the finished file holds.
struct Finished {
    points: u64,
    nodes: usize,
    max_level: i32,
    file_len: u64,
}

/// Appends the LAZ chunk table and the hierarchy EVLR, then writes the header (made by
/// `header` for the EVLR's offset), the VLRs with the COPC info filled in, and the chunk table
/// offset at the start of the file.
fn finish_file(
    mut w: ChunkWriter,
    plan: &Plan,
    laz_vlr: &laz::LazVlr,
    vlrs: &mut [Vlr],
    output: &Path,
    header: impl FnOnce(u64) -> Vec<u8>,
) -> Result<Finished, ConvertError> {
    // LAZ chunk table (variable-size chunks: point and byte counts).
    let chunk_table_offset = w.position;
    let mut table = laz::laszip::ChunkTable::with_capacity(w.chunk_table.len());
    for &(point_count, byte_count) in &w.chunk_table {
        table.push(laz::laszip::ChunkTableEntry {
            point_count,
            byte_count,
        });
    }
    let mut table_bytes = Vec::new();
    table
        .write_to(&mut table_bytes, laz_vlr)
        .map_err(io_error(output))?;
    w.file.write_all(&table_bytes).map_err(io_error(output))?;
    w.position += table_bytes.len() as u64;

    // Hierarchy EVLR: a root page with the upper levels, one page per partition subtree.
    let evlr_start = w.position;
    let hierarchy_start = evlr_start + 60;
    let (pages, root_page_size) =
        hierarchy_pages(&w.entries, plan.partition_level, hierarchy_start);
    let mut evlr = Vec::new();
    Vlr {
        user_id: "copc".into(),
        record_id: 1000,
        description: "EPT hierarchy".into(),
        data: pages,
        extended: true,
    }
    .write_to(&mut evlr);
    w.file.write_all(&evlr).map_err(io_error(output))?;
    w.position += evlr.len() as u64;
    let file_len = w.position;

    let max_level = w
        .entries
        .iter()
        .map(|(e, _)| e.key.level)
        .max()
        .unwrap_or(0);
    let info = CopcInfo {
        cube: plan.cube,
        spacing: 2.0 * plan.cube.halfsize / f64::from(GRID),
        root_hier_offset: hierarchy_start,
        root_hier_size: root_page_size,
        gpstime_minimum: if w.gps.0.is_finite() { w.gps.0 } else { 0.0 },
        gpstime_maximum: if w.gps.1.is_finite() { w.gps.1 } else { 0.0 },
    };
    vlrs[0].data = info.to_bytes();
    let header = header(evlr_start);
    let mut file = w.file.into_inner().map_err(|e| ConvertError::Io {
        path: output.display().to_string(),
        error: e.into_error(),
    })?;
    file.seek(SeekFrom::Start(0)).map_err(io_error(output))?;
    file.write_all(&header).map_err(io_error(output))?;
    file.write_all(&vlrs_bytes(vlrs))
        .map_err(io_error(output))?;
    file.write_all(&(chunk_table_offset as i64).to_le_bytes())
        .map_err(io_error(output))?;
    file.sync_all().map_err(io_error(output))?;
    Ok(Finished {
        points: w.entries.iter().map(|(_, n)| n).sum(),
        nodes: w.entries.len(),
        max_level,
        file_len,
    })
}

/// Decodes all inputs block by block (in parallel) and feeds the distributor.
fn distribute<S: ByteSource>(
    inputs: &[LasFile<S>],
    plan: &Plan,
    d: &mut Distributor<'_>,
    progress: &indicatif::ProgressBar,
) -> Result<(), ConvertError> {
    // Decoding group n+1 overlaps with distributing group n (the distributor is sequential).
    let group = rayon::current_num_threads().max(1) * 2;
    let groups = inputs
        .iter()
        .zip(&plan.converters)
        .flat_map(|(file, converter)| file.blocks.chunks(group).map(move |b| (file, converter, b)));
    let decode = |(file, converter, blocks): (&LasFile<S>, &RecordConverter, &[_])| {
        blocks
            .par_iter()
            .map(|block| {
                let raw = file.decode_block(block, DecompressionSelection::all())?;
                Ok(converter.convert_all(&raw))
            })
            .collect::<Result<Vec<Vec<u8>>, LasError>>()
    };
    let mut pending: Vec<Vec<u8>> = Vec::new();
    for next in groups {
        let (pushed, decoded) = rayon::join(
            || -> Result<(), ConvertError> {
                for records in &pending {
                    progress.inc((records.len() / plan.record_len) as u64);
                    d.push(records)?;
                }
                Ok(())
            },
            || decode(next),
        );
        pushed?;
        pending = decoded?;
    }
    for records in &pending {
        progress.inc((records.len() / plan.record_len) as u64);
        d.push(records)?;
    }
    Ok(())
}

/// Serialises hierarchy pages; returns the bytes and the root page size.
fn hierarchy_pages(entries: &[(Entry, u64)], partition_level: i32, start: u64) -> (Vec<u8>, u64) {
    let mut root_entries: Vec<Entry> = Vec::new();
    let mut subtrees: HashMap<VoxelKey, Vec<Entry>> = HashMap::new();
    for (e, _) in entries {
        if e.key.level < partition_level || partition_level == 0 {
            root_entries.push(*e);
        } else {
            let shift = e.key.level - partition_level;
            let top = VoxelKey {
                level: partition_level,
                x: e.key.x >> shift,
                y: e.key.y >> shift,
                z: e.key.z >> shift,
            };
            subtrees.entry(top).or_default().push(*e);
        }
    }
    root_entries.sort_by_key(|e| e.key);
    let mut tops: Vec<VoxelKey> = subtrees.keys().copied().collect();
    tops.sort();
    let root_size = 32 * (root_entries.len() + tops.len()) as u64;
    let mut page_offset = start + root_size;
    let mut root = Vec::new();
    let mut rest = Vec::new();
    for e in &root_entries {
        e.write_to(&mut root);
    }
    for top in tops {
        let mut page = subtrees.remove(&top).unwrap_or_default();
        page.sort_by_key(|e| e.key);
        let size = 32 * page.len() as u64;
        Entry {
            key: top,
            offset: page_offset,
            byte_size: size as i32,
            point_count: -1,
        }
        .write_to(&mut root);
        for e in &page {
            e.write_to(&mut rest);
        }
        page_offset += size;
    }
    root.extend_from_slice(&rest);
    (root, root_size)
}

fn header_bytes<S: ByteSource>(
    plan: &Plan,
    stats: &Stats,
    inputs: &[LasFile<S>],
    offset_to_point_data: u64,
    number_of_vlrs: u32,
    evlr_start: u64,
    wkt: bool,
) -> Vec<u8> {
    let first = &inputs[0].header;
    let header = LasHeader {
        file_source_id: first.file_source_id,
        // GPS time type from the input, WKT bit when a WKT CRS is written.
        global_encoding: (first.global_encoding & 0x1) | if wkt { 0x10 } else { 0 },
        guid: first.guid,
        system_identifier: "Jumeau".into(),
        generating_software: generating_software(),
        creation_day: first.creation_day,
        creation_year: first.creation_year,
        offset_to_point_data: offset_to_point_data as u32,
        number_of_vlrs,
        point_count: stats.count,
        points_by_return: stats.by_return,
        scale: plan.scale,
        offset: plan.offset,
        min: stats.min.into(),
        max: stats.max.into(),
        start_of_first_evlr: evlr_start,
        number_of_evlrs: 1,
        ..LasHeader::new_1_4(plan.format, plan.record_len as u16, true)
    };
    header.to_bytes()
}

/// [`write_test_laz`](crate::pointcloud::las::write::write_test_laz) converted to COPC by Jumeau's writer: `dir/test.copc.laz`.
#[cfg(test)]
pub(crate) fn write_test_copc(dir: &Path, points: u64) -> std::path::PathBuf {
    let laz = dir.join("test.laz");
    crate::pointcloud::las::write::write_test_laz(&laz, points).unwrap();
    let copc = dir.join("test.copc.laz");
    let file =
        crate::pointcloud::las::LasFile::open(crate::io::FileSource::open(&laz).unwrap()).unwrap();
    convert(&[file], &copc, &Default::default()).unwrap();
    copc
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A plan over `cube` with nothing but what point placement reads.
    fn plan_over(cube: Cube, partition_level: i32) -> Plan {
        Plan {
            format: 6,
            record_len: 30,
            extra_dims: Vec::new(),
            scale: [0.01; 3],
            offset: [0.0; 3],
            cube,
            partition_level,
            converters: Vec::new(),
        }
    }

    proptest! {
        /// Over random cubes, depths and points: the partition, every upper level's node and
        /// every sampling cell of a point are the node whose bounds contain it.
        #[test]
        fn every_point_goes_to_a_node_that_contains_it(
            center in prop::array::uniform3(-1e7f64..1e7),
            halfsize in 0.5f64..1e5,
            partition_level in 1i32..9,
            unit in prop::array::uniform3(0.0f64..1.0),
        ) {
            let cube = Cube { center: DVec3::from(center), halfsize };
            let plan = plan_over(cube, partition_level);
            let root = cube.bounds(VoxelKey::ROOT);
            let p = root.min + DVec3::from(unit) * (root.max - root.min);
            let fine = plan.cell_coords(p, partition_level - 1);
            let partition = plan.partition_of(fine);
            prop_assert_eq!(partition, cube.key_at(p, partition_level));
            let tolerance = DVec3::splat(halfsize * 1e-12);
            for level in 0..=partition_level + 2 {
                let key = cube.key_at(p, level);
                let b = cube.bounds(key);
                prop_assert!(
                    (p + tolerance).cmpge(b.min).all() && (p - tolerance).cmple(b.max).all(),
                    "{} at level {} goes to {}, bounds {:?}", p, level, key, b
                );
                let cell = plan.cell_coords(p, level);
                prop_assert_eq!(
                    cell.map(|c| (c >> GRID_BITS) as i32),
                    [key.x, key.y, key.z],
                    "the sampling cell of level {} lies in another node", level
                );
                if level < partition_level {
                    let shift = (partition_level - 1 - level) as u32;
                    prop_assert_eq!(fine.map(|c| c >> shift), cell);
                } else {
                    prop_assert_eq!(
                        cube.key_at(p, partition_level),
                        VoxelKey {
                            level: partition_level,
                            x: key.x >> (level - partition_level),
                            y: key.y >> (level - partition_level),
                            z: key.z >> (level - partition_level),
                        },
                        "a node below the partition is not in its subtree"
                    );
                }
            }
        }
    }
}
