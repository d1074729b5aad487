//! Terrain models from classified LiDAR points: the DTM (bare ground) and the DSM (the top of
//! everything standing on it), on one grid, with the class of each DSM cell's top.
//!
//! # How it works
//!
//! Each point falls in one cell. The DTM cell takes the mean height of its ground (2) and
//! water (9) points; cells with none (under buildings, in dense woods) are filled by
//! [`Raster::fill_gaps`], an inverse-distance push–pull over the whole raster. The DSM cell
//! takes the highest ground, vegetation (3–5), building (6), water, bridge (17) or IGN
//! above-ground structure (64) point; empty DSM cells take the DTM's height. Bridges stay out
//! of the DTM, so water flows under them.

use super::raster::{Grid, Raster};
use bevy::math::{DVec2, DVec3};

/// ASPRS classes that make the bare ground.
pub const DTM_CLASSES: [u8; 2] = [2, 9];
/// ASPRS (and IGN) classes whose top makes the surface.
pub const DSM_CLASSES: [u8; 8] = [2, 3, 4, 5, 6, 9, 17, 64];
/// ASPRS classification code of bridge decks.
pub const BRIDGE_CLASS: u8 = 17;

/// Default cell edge: 0.5 m (IGN's MNT) up to 4 km², coarser beyond so that a model holds
/// about 16 million cells.
pub fn default_resolution_m(area_m2: f64) -> f64 {
    if area_m2 <= 4.0e6 {
        0.5
    } else {
        (area_m2 / 16.0e6).sqrt()
    }
}

/// The height models of a territory, on one grid.
#[derive(Clone, Debug, PartialEq)]
pub struct TerrainModels {
    /// Bare ground (classes 2 and 9), gaps filled.
    pub dtm: Raster,
    /// Top of the surface (ground, vegetation, buildings, bridges), no gaps.
    pub dsm: Raster,
    /// ASPRS class of each DSM cell's top, 0 where no point fell.
    pub top_class: Vec<u8>,
}

impl TerrainModels {
    /// Models of `cell_m` cells from (position, class) points, over the extent of their
    /// ground points. `None` when there is no ground point or the grid would be absurd.
    pub fn from_points(points: &[(DVec3, u8)], cell_m: f64) -> Option<Self> {
        let (lo, hi) = points
            .iter()
            .filter(|(p, c)| DTM_CLASSES.contains(c) && p.is_finite())
            .fold(None, |acc: Option<(DVec2, DVec2)>, (p, _)| {
                let xy = p.truncate();
                Some(acc.map_or((xy, xy), |(lo, hi)| (lo.min(xy), hi.max(xy))))
            })?;
        let grid = Grid::covering(lo, hi, cell_m)?;
        Some(Self::on_grid(points, grid))
    }

    /// Models on `grid` from (position, class) points; points outside it are ignored.
    pub fn on_grid(points: &[(DVec3, u8)], grid: Grid) -> Self {
        let n = grid.len();
        let mut sums = vec![(0.0f64, 0u32); n];
        let mut dsm = Raster::filled(grid, f32::NAN);
        let mut top_class = vec![0u8; n];
        for &(p, class) in points {
            let Some((col, row)) = grid.cell_of(p.truncate()) else {
                continue;
            };
            if !p.z.is_finite() {
                continue;
            }
            let i = grid.index(col, row);
            if DTM_CLASSES.contains(&class) {
                sums[i].0 += p.z;
                sums[i].1 += 1;
            }
            if DSM_CLASSES.contains(&class) {
                let z = p.z as f32;
                let top = &mut dsm.values[i];
                if top.is_nan() || z > *top {
                    *top = z;
                    top_class[i] = class;
                }
            }
        }
        let mut dtm = Raster::filled(grid, f32::NAN);
        for (v, (sum, count)) in dtm.values.iter_mut().zip(sums) {
            if count > 0 {
                *v = (sum / f64::from(count)) as f32;
            }
        }
        dtm.fill_gaps();
        for (top, ground) in dsm.values.iter_mut().zip(&dtm.values) {
            if top.is_nan() || *top < *ground {
                *top = *ground;
            }
        }
        Self {
            dtm,
            dsm,
            top_class,
        }
    }

    /// Models read from GeoTIFF rasters: the DTM alone (the DSM is then the ground), or both.
    /// The DSM is resampled onto the DTM's grid when they differ.
    pub fn from_rasters(dtm: Raster, dsm: Option<Raster>) -> Self {
        let mut dtm = dtm;
        dtm.fill_gaps();
        let grid = dtm.grid;
        let dsm = match dsm {
            Some(dsm) if dsm.grid == grid => dsm,
            Some(dsm) => {
                let mut on_grid = Raster::filled(grid, f32::NAN);
                for (i, v) in on_grid.values.iter_mut().enumerate() {
                    let (c, r) = grid.col_row(i);
                    *v = dsm.sample(grid.center(c, r)).map_or(f32::NAN, |h| h as f32);
                }
                on_grid
            }
            None => dtm.clone(),
        };
        let mut dsm = dsm;
        for (top, ground) in dsm.values.iter_mut().zip(&dtm.values) {
            if top.is_nan() {
                *top = *ground;
            }
        }
        Self {
            top_class: vec![0; grid.len()],
            dtm,
            dsm,
        }
    }

    /// The grid of both models.
    pub fn grid(&self) -> Grid {
        self.dtm.grid
    }

    /// Raises the DSM to `height` over the cells of `footprint` and marks them as building
    /// (class 6): how building meshes and planned buildings join the surface.
    pub fn add_building(&mut self, footprint: &[usize], height: f32) {
        for &i in footprint {
            if height > self.dsm.values[i] {
                self.dsm.values[i] = height;
                self.top_class[i] = super::ground::BUILDING_CLASS;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ground_and_surface_come_from_their_classes() {
        // A 20 m square of ground at 10 m, a 4 m square roof at 25 m in its middle (no
        // ground point under it) and a bridge deck at 18 m.
        let mut points = Vec::new();
        for i in 0..40 {
            for j in 0..40 {
                let (x, y) = (i as f64 * 0.5 + 0.25, j as f64 * 0.5 + 0.25);
                let roof = (8.0..12.0).contains(&x) && (8.0..12.0).contains(&y);
                let bridge = (2.0..3.0).contains(&x);
                if roof {
                    points.push((DVec3::new(x, y, 25.0), 6));
                } else {
                    points.push((DVec3::new(x, y, 10.0), 2));
                }
                if bridge {
                    points.push((DVec3::new(x, y, 18.0), BRIDGE_CLASS));
                }
            }
        }
        let models = TerrainModels::from_points(&points, 1.0).unwrap();
        let g = models.grid();
        let under_roof = g.cell_of(DVec2::new(10.0, 10.0)).unwrap();
        let on_bridge = g.cell_of(DVec2::new(2.5, 10.0)).unwrap();
        assert_eq!(models.dtm.empty_cells(), 0);
        assert!((models.dtm.at(under_roof.0, under_roof.1) - 10.0).abs() < 1e-3);
        assert_eq!(models.dsm.at(under_roof.0, under_roof.1), 25.0);
        assert_eq!(models.top_class[g.index(under_roof.0, under_roof.1)], 6);
        assert_eq!(models.dtm.at(on_bridge.0, on_bridge.1), 10.0);
        assert_eq!(models.dsm.at(on_bridge.0, on_bridge.1), 18.0);
        assert!(TerrainModels::from_points(&[(DVec3::ZERO, 6)], 1.0).is_none());
    }

    #[test]
    fn resolution_is_half_a_metre_up_to_four_square_kilometres() {
        assert_eq!(default_resolution_m(1.0e6), 0.5);
        assert_eq!(default_resolution_m(4.0e6), 0.5);
        assert!((default_resolution_m(100.0e6) - 2.5).abs() < 1e-9);
    }
}
