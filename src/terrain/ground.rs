//! A ground model (DTM) from LiDAR ground points.
//!
//! # How it works
//!
//! [`GroundModel`] is a raster of `cell_m` cells holding the mean z of the ASPRS class 2
//! (ground) points that fall in each; empty cells (under buildings, water, gaps in the scan)
//! take the mean of their filled neighbours for a few passes. [`GroundModel::height_at`]
//! interpolates bilinearly between cell centres. The same raster of class 6 points models roofs.

use crate::io::ByteSource;
use crate::pointcloud::copc::CopcReader;
use crate::pointcloud::las::{self, LasError, LasFile};
use bevy::math::{DVec2, DVec3};
use laz::DecompressionSelection;
use rayon::prelude::*;

/// ASPRS classification code of ground points.
pub const GROUND_CLASS: u8 = 2;

/// How many times empty cells are filled from their neighbours: gaps up to twice this many
/// cells across (a building footprint at 1–2 m cells) are bridged, larger ones stay empty.
const FILL_PASSES: usize = 12;

/// Refuse rasters above this many cells (a stray point kilometres away would otherwise
/// allocate gigabytes).
const MAX_CELLS: usize = 1 << 28;

/// A digital terrain model: ground heights on a regular grid in the twin CRS.
#[derive(Clone, Debug, PartialEq)]
pub struct GroundModel {
    /// South-west corner of cell (0, 0).
    min_xy: DVec2,
    cell_m: f64,
    cols: usize,
    rows: usize,
    /// Row-major (south to north), `NaN` where no ground point fell and filling did not reach.
    heights: Vec<f64>,
}

impl GroundModel {
    /// A model of `cell_m` cells from the class 2 points of `points` (other classes are
    /// ignored). `None` when there is no finite ground point or `cell_m` is not positive.
    pub fn from_points(points: impl Iterator<Item = (DVec3, u8)>, cell_m: f64) -> Option<Self> {
        Self::from_class(points, cell_m, GROUND_CLASS, FILL_PASSES)
    }

    /// A model of the mean height of the `class` points per cell, empty cells filled from
    /// their neighbours `fill_passes` times (e.g. roofs from class 6, barely filled).
    pub fn from_class(
        points: impl Iterator<Item = (DVec3, u8)>,
        cell_m: f64,
        class: u8,
        fill_passes: usize,
    ) -> Option<Self> {
        if !(cell_m.is_finite() && cell_m > 0.0) {
            return None;
        }
        let ground: Vec<DVec3> = points
            .filter(|&(p, c)| c == class && p.is_finite())
            .map(|(p, _)| p)
            .collect();
        let (lo, hi) = ground.iter().fold(None, |acc, p| match acc {
            None => Some((*p, *p)),
            Some((lo, hi)) => Some((p.min(lo), p.max(hi))),
        })?;
        // Snapped to multiples of the cell size, so that models of adjacent tiles line up.
        let min_xy = (lo.truncate() / cell_m).floor() * cell_m;
        let cols = ((hi.x - min_xy.x) / cell_m).floor() as usize + 1;
        let rows = ((hi.y - min_xy.y) / cell_m).floor() as usize + 1;
        if cols.checked_mul(rows).is_none_or(|n| n > MAX_CELLS) {
            return None;
        }
        let mut model = Self {
            min_xy,
            cell_m,
            cols,
            rows,
            heights: vec![f64::NAN; cols * rows],
        };
        let mut sums = vec![(0.0, 0u32); cols * rows];
        for p in &ground {
            let (col, row) = model.cell_of(p.truncate());
            let sum = &mut sums[row * cols + col];
            sum.0 += p.z;
            sum.1 += 1;
        }
        for (height, (sum, count)) in model.heights.iter_mut().zip(sums) {
            if count > 0 {
                *height = sum / f64::from(count);
            }
        }
        model.fill_gaps(fill_passes);
        Some(model)
    }

    /// A model of `cell_m` cells from the ground points of a LAS/LAZ file, in the file's CRS.
    /// `Ok(None)` when the file has no ground point.
    pub fn from_las<S: ByteSource>(
        file: &LasFile<S>,
        cell_m: f64,
    ) -> Result<Option<Self>, LasError> {
        Ok(Self::from_points(las_points(file)?.into_iter(), cell_m))
    }

    /// The ground model of a DTM raster (the terrain's, [`super::TerrainModels::dtm`]).
    pub fn from_raster(dtm: &super::Raster) -> Self {
        let g = dtm.grid;
        Self {
            min_xy: g.min_xy,
            cell_m: g.cell_m,
            cols: g.cols,
            rows: g.rows,
            heights: dtm.values.iter().map(|&v| f64::from(v)).collect(),
        }
    }

    /// Edge length of a cell, metres.
    pub fn cell_m(&self) -> f64 {
        self.cell_m
    }

    /// Axis-aligned extent (south-west, north-east corners) where [`GroundModel::height_at`]
    /// may answer.
    pub fn extent(&self) -> (DVec2, DVec2) {
        let size = DVec2::new(self.cols as f64, self.rows as f64) * self.cell_m;
        (self.min_xy, self.min_xy + size)
    }

    /// Ground height at (x, y), interpolated bilinearly between cell centres; `None` outside
    /// the extent or where the cells around are empty.
    pub fn height_at(&self, x: f64, y: f64) -> Option<f64> {
        let (lo, hi) = self.extent();
        if !(x >= lo.x && x <= hi.x && y >= lo.y && y <= hi.y) {
            return None;
        }
        // Grid coordinates of the point relative to cell centres, clamped so the half cell
        // along the border takes the border cell's height.
        let gx = ((x - lo.x) / self.cell_m - 0.5).clamp(0.0, (self.cols - 1) as f64);
        let gy = ((y - lo.y) / self.cell_m - 0.5).clamp(0.0, (self.rows - 1) as f64);
        let (c0, r0) = (gx.floor() as usize, gy.floor() as usize);
        let (c1, r1) = ((c0 + 1).min(self.cols - 1), (r0 + 1).min(self.rows - 1));
        let (tx, ty) = (gx - c0 as f64, gy - r0 as f64);
        let corners = [
            (c0, r0, (1.0 - tx) * (1.0 - ty)),
            (c1, r0, tx * (1.0 - ty)),
            (c0, r1, (1.0 - tx) * ty),
            (c1, r1, tx * ty),
        ];
        // An empty corner drops out and the others share its weight, so a point next to a
        // gap still gets a height from the ground beside it.
        let (sum, weight) = corners
            .iter()
            .map(|&(c, r, w)| (self.heights[r * self.cols + c], w))
            .filter(|(h, w)| h.is_finite() && *w > 0.0)
            .fold((0.0, 0.0), |(s, tw), (h, w)| (s + h * w, tw + w));
        (weight > 0.0).then(|| sum / weight)
    }

    /// Column and row of the cell holding `xy`, clamped to the grid.
    fn cell_of(&self, xy: DVec2) -> (usize, usize) {
        let g = (xy - self.min_xy) / self.cell_m;
        let col = (g.x.max(0.0) as usize).min(self.cols - 1);
        let row = (g.y.max(0.0) as usize).min(self.rows - 1);
        (col, row)
    }

    /// Gives each empty cell with filled 8-neighbours their mean, `passes` times (each pass
    /// reads the previous one, so fills grow one ring per pass from every side).
    fn fill_gaps(&mut self, passes: usize) {
        let (cols, rows) = (self.cols, self.rows);
        for _ in 0..passes {
            let before = self.heights.clone();
            let mut filled_any = false;
            for row in 0..rows {
                for col in 0..cols {
                    if before[row * cols + col].is_finite() {
                        continue;
                    }
                    let (mut sum, mut count) = (0.0, 0u32);
                    for r in row.saturating_sub(1)..=(row + 1).min(rows - 1) {
                        for c in col.saturating_sub(1)..=(col + 1).min(cols - 1) {
                            let h = before[r * cols + c];
                            if h.is_finite() {
                                sum += h;
                                count += 1;
                            }
                        }
                    }
                    if count > 0 {
                        self.heights[row * cols + col] = sum / f64::from(count);
                        filled_any = true;
                    }
                }
            }
            if !filled_any {
                break;
            }
        }
    }
}

/// Every point of a LAS/LAZ file as (position in the file's CRS, classification).
pub fn las_points<S: ByteSource>(file: &LasFile<S>) -> Result<Vec<(DVec3, u8)>, LasError> {
    let record_len = usize::from(file.header.point_record_len);
    let format = file.header.point_format;
    // `base()` is x, y and returns only: z has to be asked for.
    let selection = DecompressionSelection::base()
        .decompress_z()
        .decompress_classification();
    let blocks = file
        .blocks
        .par_iter()
        .map(|block| {
            let records = file.decode_block(block, selection)?;
            Ok(records
                .chunks_exact(record_len)
                .map(|r| {
                    let p = DVec3::from_array(las::position(r, &file.header));
                    (p, las::classification(r, format))
                })
                .collect::<Vec<_>>())
        })
        .collect::<Result<Vec<_>, LasError>>()?;
    Ok(blocks.concat())
}

/// Ground-model input from a COPC file without reading all of it: the (position,
/// classification) of every point in the coarsest levels of its octree whose points add up to
/// at most `max_points` (at least the root). COPC levels are spatially even samples, so a
/// few million points make a ground model as good as the whole file at 1–2 m cells.
pub fn copc_points<S: ByteSource>(
    reader: &mut CopcReader<S>,
    max_points: u64,
) -> Result<Vec<(DVec3, u8)>, LasError> {
    reader.load_all_pages()?;
    let mut by_level: Vec<(i32, crate::pointcloud::VoxelKey, u64)> = reader
        .hierarchy
        .nodes()
        .iter()
        .filter_map(|n| n.data.map(|d| (n.key.level, n.key, d.point_count)))
        .collect();
    by_level.sort_by_key(|(level, _, _)| *level);
    let mut keys = Vec::new();
    let mut total = 0;
    for level in by_level
        .iter()
        .map(|n| n.0)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let nodes: Vec<_> = by_level.iter().filter(|n| n.0 == level).collect();
        let points: u64 = nodes.iter().map(|n| n.2).sum();
        if !keys.is_empty() && total + points > max_points {
            break;
        }
        total += points;
        keys.extend(nodes.iter().map(|n| n.1));
    }
    // A source that cannot block (the browser's fetch) brings every node at once, then the
    // caller runs this again; the others are always ready.
    let waiting: Vec<_> = keys
        .iter()
        .filter_map(|key| reader.hierarchy.get(*key).and_then(|n| n.data))
        .filter(|d| !reader.file.source.ready(d.offset, d.byte_size))
        .collect();
    if let Some(first) = waiting.first() {
        return Err(crate::io::SourceError::NotYet {
            source_name: reader.file.source.name().to_owned(),
            offset: first.offset,
            end: first.offset + first.byte_size,
        }
        .into());
    }
    let attributes = crate::pointcloud::Attributes {
        classification: true,
        ..Default::default()
    };
    let chunks = keys
        .par_iter()
        .map(|key| reader.read_node(*key, attributes))
        .collect::<Result<Vec<_>, LasError>>()?;
    Ok(chunks
        .iter()
        .flat_map(|chunk| {
            let classes = chunk.classification.as_deref().unwrap_or(&[]);
            chunk.positions.iter().enumerate().map(move |(i, p)| {
                (
                    chunk.origin + DVec3::from_array(p.map(f64::from)),
                    classes.get(i).copied().unwrap_or(0),
                )
            })
        })
        .collect())
}

/// ASPRS classification code of building points.
pub const BUILDING_CLASS: u8 = 6;
