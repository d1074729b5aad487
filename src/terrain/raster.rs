//! Rasters on a regular grid in the twin CRS: heights, water depths, hours of sun.
//!
//! A [`Grid`] places `cols × rows` square cells of `cell_m` metres with cell (0, 0) at the
//! south-west corner; rows run south to north (GeoTIFF's north-up order is applied when
//! writing, [`super::geotiff`]). A [`Raster`] holds one `f32` per cell, `NaN` where there is no
//! value.

use bevy::math::DVec2;

/// Refuse grids above this many cells (a stray point kilometres away would otherwise
/// allocate gigabytes).
pub const MAX_CELLS: usize = 1 << 28;

/// Where the cells of a raster lie.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    /// South-west corner of cell (0, 0), twin CRS.
    pub min_xy: DVec2,
    /// Edge of a cell, metres.
    pub cell_m: f64,
    pub cols: usize,
    pub rows: usize,
}

impl Grid {
    /// The grid of `cell_m` cells covering `lo..=hi`, its corner snapped to a multiple of the
    /// cell size so that grids of adjacent tiles line up. `None` when `cell_m` is not positive,
    /// the extent is not finite or the grid would exceed [`MAX_CELLS`].
    pub fn covering(lo: DVec2, hi: DVec2, cell_m: f64) -> Option<Self> {
        if !(cell_m.is_finite() && cell_m > 0.0 && lo.is_finite() && hi.is_finite()) {
            return None;
        }
        let min_xy = (lo / cell_m).floor() * cell_m;
        let cols = ((hi.x - min_xy.x) / cell_m).floor().max(0.0) as usize + 1;
        let rows = ((hi.y - min_xy.y) / cell_m).floor().max(0.0) as usize + 1;
        let grid = Self {
            min_xy,
            cell_m,
            cols,
            rows,
        };
        cols.checked_mul(rows)
            .is_some_and(|n| n <= MAX_CELLS)
            .then_some(grid)
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cols * self.rows
    }

    /// Whether the grid has no cell.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// South-west and north-east corners.
    pub fn extent(&self) -> (DVec2, DVec2) {
        let size = DVec2::new(self.cols as f64, self.rows as f64) * self.cell_m;
        (self.min_xy, self.min_xy + size)
    }

    /// Area of one cell, square metres.
    pub fn cell_area_m2(&self) -> f64 {
        self.cell_m * self.cell_m
    }

    /// Index of cell (`col`, `row`) in row-major, south-to-north order.
    pub fn index(&self, col: usize, row: usize) -> usize {
        row * self.cols + col
    }

    /// Column and row of cell `index`.
    pub fn col_row(&self, index: usize) -> (usize, usize) {
        (index % self.cols, index / self.cols)
    }

    /// Centre of cell (`col`, `row`).
    pub fn center(&self, col: usize, row: usize) -> DVec2 {
        self.min_xy + (DVec2::new(col as f64, row as f64) + 0.5) * self.cell_m
    }

    /// The cell holding `xy`, `None` outside the grid.
    pub fn cell_of(&self, xy: DVec2) -> Option<(usize, usize)> {
        let g = (xy - self.min_xy) / self.cell_m;
        let inside = g.x >= 0.0 && g.y >= 0.0 && g.x < self.cols as f64 && g.y < self.rows as f64;
        inside.then_some((g.x as usize, g.y as usize))
    }

    /// The cell holding `xy`, clamped to the grid.
    pub fn clamped_cell_of(&self, xy: DVec2) -> (usize, usize) {
        let g = (xy - self.min_xy) / self.cell_m;
        let col = (g.x.max(0.0) as usize).min(self.cols - 1);
        let row = (g.y.max(0.0) as usize).min(self.rows - 1);
        (col, row)
    }

    /// Indices of the up to 8 neighbours of cell `index`.
    pub fn neighbours(&self, index: usize) -> impl Iterator<Item = usize> + use<> {
        let (col, row) = self.col_row(index);
        let (cols, rows) = (self.cols, self.rows);
        (-1i64..=1)
            .flat_map(|dr| (-1i64..=1).map(move |dc| (dc, dr)))
            .filter(|&(dc, dr)| dc != 0 || dr != 0)
            .filter_map(move |(dc, dr)| {
                let c = col as i64 + dc;
                let r = row as i64 + dr;
                (c >= 0 && r >= 0 && c < cols as i64 && r < rows as i64)
                    .then(|| r as usize * cols + c as usize)
            })
    }
}

/// One value per cell of a [`Grid`], `NaN` where there is none.
#[derive(Clone, Debug, PartialEq)]
pub struct Raster {
    pub grid: Grid,
    /// Row-major, south to north.
    pub values: Vec<f32>,
}

impl Raster {
    /// A raster of `grid` with every cell set to `value`.
    pub fn filled(grid: Grid, value: f32) -> Self {
        Self {
            grid,
            values: vec![value; grid.len()],
        }
    }

    /// Value of cell (`col`, `row`).
    pub fn at(&self, col: usize, row: usize) -> f32 {
        self.values[self.grid.index(col, row)]
    }

    /// Value at `xy` interpolated bilinearly between cell centres; `None` outside the grid
    /// or where the cells around are empty. An empty corner drops out and the others share
    /// its weight, so a point next to a gap still gets a value from the cells beside it.
    pub fn sample(&self, xy: DVec2) -> Option<f64> {
        let g = &self.grid;
        let (lo, hi) = g.extent();
        if !(xy.x >= lo.x && xy.x <= hi.x && xy.y >= lo.y && xy.y <= hi.y) {
            return None;
        }
        // Grid coordinates relative to cell centres, clamped so the half cell along the
        // border takes the border cell's value.
        let gx = ((xy.x - lo.x) / g.cell_m - 0.5).clamp(0.0, (g.cols - 1) as f64);
        let gy = ((xy.y - lo.y) / g.cell_m - 0.5).clamp(0.0, (g.rows - 1) as f64);
        let (c0, r0) = (gx.floor() as usize, gy.floor() as usize);
        let (c1, r1) = ((c0 + 1).min(g.cols - 1), (r0 + 1).min(g.rows - 1));
        let (tx, ty) = (gx - c0 as f64, gy - r0 as f64);
        let corners = [
            (c0, r0, (1.0 - tx) * (1.0 - ty)),
            (c1, r0, tx * (1.0 - ty)),
            (c0, r1, (1.0 - tx) * ty),
            (c1, r1, tx * ty),
        ];
        let (sum, weight) = corners
            .iter()
            .map(|&(c, r, w)| (f64::from(self.at(c, r)), w))
            .filter(|(v, w)| v.is_finite() && *w > 0.0)
            .fold((0.0, 0.0), |(s, tw), (v, w)| (s + v * w, tw + w));
        (weight > 0.0).then(|| sum / weight)
    }

    /// Lowest and highest finite value, `None` when every cell is empty.
    pub fn range(&self) -> Option<(f32, f32)> {
        self.values
            .iter()
            .filter(|v| v.is_finite())
            .fold(None, |acc, &v| match acc {
                None => Some((v, v)),
                Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
            })
    }

    /// Number of empty cells.
    pub fn empty_cells(&self) -> usize {
        self.values.iter().filter(|v| !v.is_finite()).count()
    }

    /// Fills every empty cell from the filled ones around it, weighted by inverse distance
    /// at every scale (a push–pull pyramid: averages of 2×2 blocks up to one cell, then
    /// back down, each empty cell taking the coarser level's value interpolated). Large gaps
    /// (a lake, a building footprint) take a smooth surface leaning on their whole border;
    /// filled cells keep their values. Does nothing when every cell is empty.
    pub fn fill_gaps(&mut self) {
        if self.empty_cells() == 0 || self.range().is_none() {
            return;
        }
        let (cols, rows) = (self.grid.cols, self.grid.rows);
        let filled = fill_level(&self.values, cols, rows);
        self.values = filled;
    }
}

/// One level of the push–pull fill: `values` with every `NaN` replaced from the coarser
/// level (2×2 averages of the finite values).
fn fill_level(values: &[f32], cols: usize, rows: usize) -> Vec<f32> {
    if values.iter().all(|v| v.is_finite()) {
        return values.to_vec();
    }
    if cols <= 1 && rows <= 1 {
        // One empty cell with nothing below: the caller guaranteed a finite value somewhere,
        // so this only happens for a fully empty raster.
        return values.to_vec();
    }
    let (ccols, crows) = (cols.div_ceil(2), rows.div_ceil(2));
    let mut coarse = vec![f32::NAN; ccols * crows];
    for r in 0..crows {
        for c in 0..ccols {
            let (mut sum, mut n) = (0.0f64, 0u32);
            for (cc, rr) in [
                (2 * c, 2 * r),
                (2 * c + 1, 2 * r),
                (2 * c, 2 * r + 1),
                (2 * c + 1, 2 * r + 1),
            ] {
                if cc < cols && rr < rows {
                    let v = values[rr * cols + cc];
                    if v.is_finite() {
                        sum += f64::from(v);
                        n += 1;
                    }
                }
            }
            if n > 0 {
                coarse[r * ccols + c] = (sum / f64::from(n)) as f32;
            }
        }
    }
    let coarse = fill_level(&coarse, ccols, crows);
    let mut out = values.to_vec();
    for r in 0..rows {
        for c in 0..cols {
            if out[r * cols + c].is_finite() {
                continue;
            }
            // Bilinear between the coarse cell centres around this fine cell's centre.
            let gx = ((c as f64 + 0.5) / 2.0 - 0.5).clamp(0.0, (ccols - 1) as f64);
            let gy = ((r as f64 + 0.5) / 2.0 - 0.5).clamp(0.0, (crows - 1) as f64);
            let (c0, r0) = (gx.floor() as usize, gy.floor() as usize);
            let (c1, r1) = ((c0 + 1).min(ccols - 1), (r0 + 1).min(crows - 1));
            let (tx, ty) = (gx - c0 as f64, gy - r0 as f64);
            let at = |c: usize, r: usize| f64::from(coarse[r * ccols + c]);
            let v = at(c0, r0) * (1.0 - tx) * (1.0 - ty)
                + at(c1, r0) * tx * (1.0 - ty)
                + at(c0, r1) * (1.0 - tx) * ty
                + at(c1, r1) * tx * ty;
            out[r * cols + c] = v as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(cols: usize, rows: usize) -> Grid {
        Grid {
            min_xy: DVec2::new(1000.0, 2000.0),
            cell_m: 2.0,
            cols,
            rows,
        }
    }

    #[test]
    fn cells_and_centres_agree() {
        let g = grid(10, 5);
        for index in [0, 7, 23, 49] {
            let (c, r) = g.col_row(index);
            assert_eq!(g.index(c, r), index);
            assert_eq!(g.cell_of(g.center(c, r)), Some((c, r)));
        }
        assert_eq!(g.cell_of(DVec2::new(999.9, 2001.0)), None);
        assert_eq!(g.cell_of(DVec2::new(1020.0, 2001.0)), None);
        assert_eq!(g.neighbours(0).count(), 3);
        assert_eq!(g.neighbours(g.index(4, 2)).count(), 8);
    }

    #[test]
    fn covering_snaps_to_the_cell_size_and_refuses_absurd_grids() {
        let g = Grid::covering(DVec2::new(10.3, 20.7), DVec2::new(19.9, 29.9), 1.0).unwrap();
        assert_eq!(g.min_xy, DVec2::new(10.0, 20.0));
        assert_eq!((g.cols, g.rows), (10, 10));
        assert!(Grid::covering(DVec2::ZERO, DVec2::splat(1e9), 0.5).is_none());
        assert!(Grid::covering(DVec2::ZERO, DVec2::ONE, 0.0).is_none());
    }

    #[test]
    fn gaps_fill_from_their_borders_and_filled_cells_keep_their_values() {
        // A plane z = x + 2y with a 20 × 20 hole: the fill of a plane is close to the plane.
        let g = grid(64, 64);
        let plane = |c: usize, r: usize| (c + 2 * r) as f32;
        let mut raster = Raster::filled(g, 0.0);
        for r in 0..64 {
            for c in 0..64 {
                let hole = (20..40).contains(&c) && (20..40).contains(&r);
                raster.values[g.index(c, r)] = if hole { f32::NAN } else { plane(c, r) };
            }
        }
        raster.fill_gaps();
        assert_eq!(raster.empty_cells(), 0);
        for r in 0..64 {
            for c in 0..64 {
                let v = raster.at(c, r);
                let hole = (20..40).contains(&c) && (20..40).contains(&r);
                if hole {
                    assert!((v - plane(c, r)).abs() < 8.0, "({c}, {r}): {v}");
                } else {
                    assert_eq!(v, plane(c, r));
                }
            }
        }
        let mut empty = Raster::filled(g, f32::NAN);
        empty.fill_gaps();
        assert_eq!(empty.empty_cells(), g.len());
    }

    #[test]
    fn samples_interpolate_between_centres() {
        let g = grid(2, 1);
        let raster = Raster {
            grid: g,
            values: vec![10.0, 20.0],
        };
        let mid = (g.center(0, 0) + g.center(1, 0)) / 2.0;
        assert_eq!(raster.sample(mid), Some(15.0));
        assert_eq!(raster.sample(g.center(0, 0)), Some(10.0));
        assert_eq!(raster.sample(DVec2::ZERO), None);
    }
}
