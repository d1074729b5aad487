//! A ground model (DTM) from LiDAR ground points.
//!
//! # How it works
//!
//! [`GroundModel`] is a raster of `cell_m` cells holding the mean z of the ASPRS class 2
//! (ground) points that fall in each; empty cells (under buildings, water, gaps in the scan)
//! take the mean of their filled neighbours for a few passes. [`GroundModel::height_at`]
//! interpolates bilinearly between cell centres. The same raster of class 6 points models roofs.

use super::raster::{Grid, Raster};
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

/// A digital terrain model: ground heights on a regular grid in the twin CRS.
#[derive(Clone, Debug, PartialEq)]
pub struct GroundModel {
    /// Heights, `NaN` where no ground point fell and filling did not reach.
    raster: Raster,
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
        let ground: Vec<DVec3> = points
            .filter(|&(p, c)| c == class && p.is_finite())
            .map(|(p, _)| p)
            .collect();
        let (lo, hi) = ground.iter().fold(None, |acc, p| match acc {
            None => Some((*p, *p)),
            Some((lo, hi)) => Some((p.min(lo), p.max(hi))),
        })?;
        // Snapped to multiples of the cell size, so that models of adjacent tiles line up.
        let grid = Grid::covering(lo.truncate(), hi.truncate(), cell_m)?;
        let mut sums = vec![(0.0, 0u32); grid.len()];
        for p in &ground {
            let (col, row) = grid.clamped_cell_of(p.truncate());
            let sum = &mut sums[grid.index(col, row)];
            sum.0 += p.z;
            sum.1 += 1;
        }
        let mut raster = Raster::filled(grid, f32::NAN);
        for (height, (sum, count)) in raster.values.iter_mut().zip(sums) {
            if count > 0 {
                *height = (sum / f64::from(count)) as f32;
            }
        }
        let mut model = Self { raster };
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
    pub fn from_raster(dtm: &Raster) -> Self {
        Self {
            raster: dtm.clone(),
        }
    }

    /// Edge length of a cell, metres.
    pub fn cell_m(&self) -> f64 {
        self.raster.grid.cell_m
    }

    /// Axis-aligned extent (south-west, north-east corners) where [`GroundModel::height_at`]
    /// may answer.
    pub fn extent(&self) -> (DVec2, DVec2) {
        self.raster.grid.extent()
    }

    /// Ground height at (x, y), interpolated bilinearly between cell centres; `None` outside
    /// the extent or where the cells around are empty.
    pub fn height_at(&self, x: f64, y: f64) -> Option<f64> {
        self.raster.sample(DVec2::new(x, y))
    }

    /// Gives each empty cell with filled 8-neighbours their mean, `passes` times (each pass
    /// reads the previous one, so fills grow one ring per pass from every side).
    fn fill_gaps(&mut self, passes: usize) {
        let grid = self.raster.grid;
        for _ in 0..passes {
            let before = self.raster.values.clone();
            let mut filled_any = false;
            for (i, height) in self.raster.values.iter_mut().enumerate() {
                if before[i].is_finite() {
                    continue;
                }
                let (mut sum, mut count) = (0.0f64, 0u32);
                for n in grid.neighbours(i) {
                    if before[n].is_finite() {
                        sum += f64::from(before[n]);
                        count += 1;
                    }
                }
                if count > 0 {
                    *height = (sum / f64::from(count)) as f32;
                    filled_any = true;
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
