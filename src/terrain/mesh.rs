//! Building meshes in the surface model: their triangles rasterised on the terrain's grid
//! (the highest face over each cell centre, with the feature it belongs to), then raised into
//! the DSM as building cells.
//!
//! # How it works
//!
//! Each triangle covers the cell centres inside its ground projection, edges included, so
//! that two triangles sharing an edge leave no gap. The height at a centre comes from the
//! triangle's plane, and the highest face wins: a roof over its floor, a tower over its
//! podium. Walls project to lines and cover nothing; roofs and floors cover the footprint.

use super::dem::TerrainModels;
use super::ground::BUILDING_CLASS;
use super::raster::Grid;
use bevy::math::DVec3;

/// The label of a cell no face covers.
pub const NO_FEATURE: u32 = u32::MAX;

/// The top of a set of meshes over each cell of a grid.
#[derive(Clone, Debug, PartialEq)]
pub struct MeshSurface {
    pub grid: Grid,
    /// Highest face over each cell centre, `NaN` where there is none.
    pub top: Vec<f32>,
    /// The feature of that face, [`NO_FEATURE`] where there is none.
    pub feature: Vec<u32>,
}

impl MeshSurface {
    pub fn new(grid: Grid) -> Self {
        Self {
            grid,
            top: vec![f32::NAN; grid.len()],
            feature: vec![NO_FEATURE; grid.len()],
        }
    }

    /// Rasterises one triangle (twin CRS) of `feature`. Triangles seen edge-on from above
    /// (walls) cover nothing.
    pub fn add_triangle(&mut self, [a, b, c]: [DVec3; 3], feature: u32) {
        let (pa, pb, pc) = (a.truncate(), b.truncate(), c.truncate());
        let area = (pb - pa).perp_dot(pc - pa);
        if area.abs() < 1e-9 || !area.is_finite() {
            return;
        }
        let g = self.grid;
        let lo = pa.min(pb).min(pc);
        let hi = pa.max(pb).max(pc);
        // Columns and rows whose centres may fall inside the triangle's box.
        let span = |lo: f64, hi: f64, origin: f64, count: usize| {
            let first = ((lo - origin) / g.cell_m - 0.5).ceil().max(0.0);
            let last = ((hi - origin) / g.cell_m - 0.5).floor();
            if last < 0.0 || first >= count as f64 {
                return None;
            }
            Some((first as usize, (last as usize).min(count - 1)))
        };
        let Some((c0, c1)) = span(lo.x, hi.x, g.min_xy.x, g.cols) else {
            return;
        };
        let Some((r0, r1)) = span(lo.y, hi.y, g.min_xy.y, g.rows) else {
            return;
        };
        // Barycentric weights from signed areas; a small tolerance keeps shared edges tight.
        let eps = -1e-9 * area.abs();
        for row in r0..=r1 {
            for col in c0..=c1 {
                let p = g.center(col, row);
                let wa = (pc - pb).perp_dot(p - pb) * area.signum();
                let wb = (pa - pc).perp_dot(p - pc) * area.signum();
                let wc = (pb - pa).perp_dot(p - pa) * area.signum();
                if wa < eps || wb < eps || wc < eps {
                    continue;
                }
                let z = (wa * a.z + wb * b.z + wc * c.z) / area.abs();
                let i = g.index(col, row);
                let top = &mut self.top[i];
                if top.is_nan() || z as f32 > *top {
                    *top = z as f32;
                    self.feature[i] = feature;
                }
            }
        }
    }

    /// Cells some face covers.
    pub fn covered(&self) -> usize {
        self.top.iter().filter(|t| !t.is_nan()).count()
    }
}

impl TerrainModels {
    /// Raises the DSM to the meshes' top where it stands at least `min_height_m` above the
    /// ground, marking those cells as building (class 6). Returns, per cell, the feature of
    /// the mesh that makes the building there ([`NO_FEATURE`] elsewhere, and where something
    /// else stands higher than the mesh, such as a tree over a roof).
    pub fn raise_to(&mut self, surface: &MeshSurface, min_height_m: f32) -> Vec<u32> {
        assert_eq!(
            surface.grid,
            self.grid(),
            "the meshes' grid is the terrain's"
        );
        let mut features = vec![NO_FEATURE; surface.top.len()];
        for (i, &top) in surface.top.iter().enumerate() {
            if top.is_nan() || top < self.dtm.values[i] + min_height_m {
                continue;
            }
            if top >= self.dsm.values[i] {
                self.dsm.values[i] = top;
                self.top_class[i] = BUILDING_CLASS;
            }
            if self.top_class[i] == BUILDING_CLASS && top >= self.dsm.values[i] - min_height_m {
                features[i] = surface.feature[i];
            }
        }
        features
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terrain::Raster;
    use bevy::math::DVec2;

    fn grid() -> Grid {
        Grid {
            min_xy: DVec2::ZERO,
            cell_m: 1.0,
            cols: 20,
            rows: 10,
        }
    }

    /// The faces of an axis-aligned box from `lo` to `hi`, as a mesh exporter writes them.
    fn box_triangles(lo: DVec3, hi: DVec3) -> Vec<[DVec3; 3]> {
        let corner = |i: usize| {
            DVec3::new(
                if i & 1 == 0 { lo.x } else { hi.x },
                if i & 2 == 0 { lo.y } else { hi.y },
                if i & 4 == 0 { lo.z } else { hi.z },
            )
        };
        let quads = [
            [0, 1, 3, 2],
            [4, 5, 7, 6],
            [0, 1, 5, 4],
            [2, 3, 7, 6],
            [0, 2, 6, 4],
            [1, 3, 7, 5],
        ];
        quads
            .iter()
            .flat_map(|q| {
                [
                    [corner(q[0]), corner(q[1]), corner(q[2])],
                    [corner(q[0]), corner(q[2]), corner(q[3])],
                ]
            })
            .collect()
    }

    #[test]
    fn a_box_covers_its_footprint_at_its_roof_height() {
        let mut surface = MeshSurface::new(grid());
        for t in box_triangles(DVec3::new(2.0, 2.0, 10.0), DVec3::new(8.0, 6.0, 22.0)) {
            surface.add_triangle(t, 7);
        }
        // Cell centres x = 2.5..7.5, y = 2.5..5.5: 6 × 4 cells, none outside.
        assert_eq!(surface.covered(), 24);
        for row in 0..10 {
            for col in 0..20 {
                let i = grid().index(col, row);
                let inside = (2..8).contains(&col) && (2..6).contains(&row);
                assert_eq!(!surface.top[i].is_nan(), inside, "cell {col},{row}");
                if inside {
                    assert_eq!(surface.top[i], 22.0);
                    assert_eq!(surface.feature[i], 7);
                }
            }
        }
        // The roof goes into the DSM as building; the ground stays where it was.
        let mut models = TerrainModels {
            dtm: Raster::filled(grid(), 10.0),
            dsm: Raster::filled(grid(), 10.0),
            top_class: vec![2; grid().len()],
        };
        let features = models.raise_to(&surface, 0.5);
        let inside = grid().index(3, 3);
        assert_eq!(models.dsm.values[inside], 22.0);
        assert_eq!(models.top_class[inside], BUILDING_CLASS);
        assert_eq!(features[inside], 7);
        assert_eq!(models.dtm.values[inside], 10.0);
        assert_eq!(features.iter().filter(|&&f| f == 7).count(), 24);
        assert_eq!(models.top_class[grid().index(10, 3)], 2);
    }

    #[test]
    fn a_sloped_roof_interpolates_and_shared_edges_leave_no_gap() {
        // A shed roof from z = 10 at x = 0 to z = 20 at x = 20, as two triangles.
        let mut surface = MeshSurface::new(grid());
        let (a, b, c, d) = (
            DVec3::new(0.0, 0.0, 10.0),
            DVec3::new(20.0, 0.0, 20.0),
            DVec3::new(20.0, 10.0, 20.0),
            DVec3::new(0.0, 10.0, 10.0),
        );
        surface.add_triangle([a, b, c], 1);
        surface.add_triangle([a, c, d], 2);
        assert_eq!(surface.covered(), grid().len());
        let i = grid().index(5, 7);
        assert!((surface.top[i] - 12.75).abs() < 1e-5, "{}", surface.top[i]);
        // A wall (vertical) covers nothing; a triangle off the grid neither.
        let mut walls = MeshSurface::new(grid());
        walls.add_triangle([a, b, DVec3::new(0.0, 0.0, 30.0)], 1);
        walls.add_triangle([a + 100.0, b + 100.0, c + 100.0], 1);
        assert_eq!(walls.covered(), 0);
    }

    #[test]
    fn meshes_lower_than_what_stands_there_do_not_lower_it() {
        let mut surface = MeshSurface::new(grid());
        for t in box_triangles(DVec3::new(0.0, 0.0, 10.0), DVec3::new(20.0, 10.0, 15.0)) {
            surface.add_triangle(t, 3);
        }
        let mut models = TerrainModels {
            dtm: Raster::filled(grid(), 10.0),
            dsm: Raster::filled(grid(), 10.0),
            top_class: vec![2; grid().len()],
        };
        // A tree (class 5) at 25 m over one cell, a low mesh below the threshold elsewhere.
        let tree = grid().index(4, 4);
        models.dsm.values[tree] = 25.0;
        models.top_class[tree] = 5;
        let features = models.raise_to(&surface, 0.5);
        assert_eq!(models.dsm.values[tree], 25.0);
        assert_eq!(models.top_class[tree], 5);
        assert_eq!(features[tree], NO_FEATURE);
        let mut low = MeshSurface::new(grid());
        for t in box_triangles(DVec3::new(0.0, 0.0, 10.0), DVec3::new(20.0, 10.0, 10.2)) {
            low.add_triangle(t, 4);
        }
        let before = models.clone();
        assert!(models.raise_to(&low, 0.5).iter().all(|&f| f == NO_FEATURE));
        assert_eq!(models, before);
    }
}
