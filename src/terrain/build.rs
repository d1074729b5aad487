//! Terrain models from point-cloud files: the grid chosen from their headers, the points read
//! from the COPC level whose spacing fits the cells (every point of plain LAS/LAZ), then
//! [`TerrainModels::on_grid`].

use super::dem::{TerrainModels, default_resolution_m};
use super::ground::{copc_points, las_points};
use super::raster::Grid;
use crate::georef::Crs;
use crate::io::ByteSource;
use crate::pointcloud::copc::CopcReader;
use crate::pointcloud::las::{LasError, LasFile};
use bevy::math::DVec2;
use std::sync::Arc;

/// COPC points read per DTM cell: enough for each cell to hold a few, whatever its level.
const POINTS_PER_CELL: f64 = 4.0;

/// Why terrain could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TerrainError {
    #[error(transparent)]
    Las(#[from] LasError),
    #[error("{name}: {source}")]
    GeoTiff {
        name: String,
        #[source]
        source: super::geotiff::GeoTiffError,
    },
    #[error("no point cloud to build the terrain from")]
    NoSource,
    #[error("{names}: no ground point (class 2 or 9) to build the terrain from")]
    NoGround { names: String },
    #[error("a {cols} × {rows} grid of {cell_m} m cells is too large: choose coarser cells")]
    TooLarge { cols: u64, rows: u64, cell_m: f64 },
}

/// An opened point-cloud file, COPC or plain.
pub(crate) enum Cloud {
    Copc(Box<CopcReader<Arc<dyn ByteSource>>>),
    Plain(Box<LasFile<Arc<dyn ByteSource>>>),
}

impl Cloud {
    pub(crate) fn open(source: Arc<dyn ByteSource>) -> Result<Self, LasError> {
        match CopcReader::open(source.clone()) {
            Ok(reader) => Ok(Self::Copc(Box::new(reader))),
            Err(_) => Ok(Self::Plain(Box::new(LasFile::open(source)?))),
        }
    }

    pub(crate) fn header(&self) -> &crate::pointcloud::las::LasHeader {
        match self {
            Self::Copc(r) => &r.file.header,
            Self::Plain(f) => &f.header,
        }
    }

    pub(crate) fn vlrs(&self) -> &[crate::pointcloud::las::Vlr] {
        match self {
            Self::Copc(r) => &r.file.vlrs,
            Self::Plain(f) => &f.vlrs,
        }
    }

    fn crs(&self) -> Option<Crs> {
        crate::georef::crs_from_vlrs(self.vlrs())
    }
}

/// What [`from_sources`] built.
pub struct BuiltTerrain {
    pub models: TerrainModels,
    /// The CRS the first cloud declares.
    pub crs: Option<Crs>,
    /// Points read.
    pub points: usize,
}

/// Terrain models of `cell_m` cells (default: [`default_resolution_m`] of the clouds' extent,
/// coarser for clouds sparser than a point per cell) from point-cloud sources, over the
/// extent of their headers.
pub fn from_sources(
    sources: &[Arc<dyn ByteSource>],
    cell_m: Option<f64>,
) -> Result<BuiltTerrain, TerrainError> {
    if sources.is_empty() {
        return Err(TerrainError::NoSource);
    }
    let mut clouds = sources
        .iter()
        .map(|s| Cloud::open(s.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let (lo, hi) = clouds
        .iter()
        .fold((DVec2::INFINITY, DVec2::NEG_INFINITY), |(lo, hi), c| {
            let h = c.header();
            (
                lo.min(DVec2::new(h.min[0], h.min[1])),
                hi.max(DVec2::new(h.max[0], h.max[1])),
            )
        });
    let size = (hi - lo).max(DVec2::ONE);
    let area = size.x * size.y;
    // Sparse clouds (a decimated tile) get cells that hold about one point each, so that a
    // roof is a surface and not scattered cells; IGN LiDAR HD's 10–40 points/m² keep 0.5 m.
    let total: u64 = clouds.iter().map(|c| c.header().point_count).sum();
    let sparse = (area / total.max(1) as f64).sqrt();
    let cell_m = cell_m.unwrap_or_else(|| {
        let cell = default_resolution_m(area).max(sparse);
        (cell * 2.0).ceil() / 2.0
    });
    let grid = Grid::covering(lo, hi, cell_m).ok_or(TerrainError::TooLarge {
        cols: (size.x / cell_m) as u64,
        rows: (size.y / cell_m) as u64,
        cell_m,
    })?;
    let crs = clouds.iter().find_map(Cloud::crs);
    let mut points = Vec::new();
    for cloud in &mut clouds {
        let h = cloud.header();
        let area = ((h.max[0] - h.min[0]) * (h.max[1] - h.min[1])).max(1.0);
        let budget = (area / grid.cell_area_m2() * POINTS_PER_CELL) as u64;
        points.extend(match cloud {
            Cloud::Copc(reader) => copc_points(reader, budget.max(1))?,
            Cloud::Plain(file) => las_points(file)?,
        });
    }
    let models = TerrainModels::on_grid(&points, grid);
    if models.dtm.range().is_none() {
        return Err(TerrainError::NoGround {
            names: sources
                .iter()
                .map(|s| s.name().to_owned())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(BuiltTerrain {
        models,
        crs,
        points: points.len(),
    })
}
