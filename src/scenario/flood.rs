//! Flooding (pure): which cells the water reaches from its seeds at a given level, over the
//! DTM, and how deep.
//!
//! # How it works
//!
//! [`connection_levels`] runs a priority flood once per seed set: from the seeds, cells are
//! taken lowest first and each neighbour joins at the higher of its own ground and the level
//! it was reached at. The result is, for every cell, the lowest water level at which it is
//! connected to a seed through 8-connected cells (the minimax path), so that flooding at any
//! level is a threshold ([`depths`]): a slider moves at 60 fps. Cells at or below the current
//! level are taken from a plain queue before the heap (Barnes et al. 2014), so flat and
//! flooded areas cost no heap operation.

use crate::terrain::{Grid, Raster};
use bevy::math::DVec2;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// How the water spreads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FloodMode {
    /// Only cells connected to a seed below the level (8-connectivity over the DTM).
    #[default]
    Connected,
    /// Every cell below the level (a flat plane), connected or not.
    Plane,
}

/// Seeds whose cells lie outside the terrain.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "flood seed ({x:.1}, {y:.1}) lies outside the terrain ({west:.1}..{east:.1}, {south:.1}..{north:.1})"
)]
pub struct SeedOutside {
    pub x: f64,
    pub y: f64,
    pub west: f64,
    pub east: f64,
    pub south: f64,
    pub north: f64,
}

/// The cells of seed points and polylines (a river's course, each segment walked cell by
/// cell), sorted and without duplicates.
pub fn seed_cells(grid: &Grid, seeds: &[Vec<DVec2>]) -> Result<Vec<usize>, SeedOutside> {
    let outside = |p: DVec2| {
        let (lo, hi) = grid.extent();
        SeedOutside {
            x: p.x,
            y: p.y,
            west: lo.x,
            east: hi.x,
            south: lo.y,
            north: hi.y,
        }
    };
    let mut cells = Vec::new();
    for line in seeds {
        for &p in line {
            let (c, r) = grid.cell_of(p).ok_or_else(|| outside(p))?;
            cells.push(grid.index(c, r));
        }
        for pair in line.windows(2) {
            let steps = ((pair[1] - pair[0]).length() / (grid.cell_m / 2.0)).ceil() as usize;
            for k in 1..steps {
                let p = pair[0].lerp(pair[1], k as f64 / steps as f64);
                if let Some((c, r)) = grid.cell_of(p) {
                    cells.push(grid.index(c, r));
                }
            }
        }
    }
    cells.sort_unstable();
    cells.dedup();
    Ok(cells)
}

/// Maps an `f32` to a `u32` of the same order (negative heights included).
fn ordered(v: f32) -> u32 {
    let bits = v.to_bits();
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    }
}

/// For each cell, the lowest water level at which it joins `seeds` over `dtm` (8-connected);
/// `NaN` where it never does (empty DTM cells are walls).
pub fn connection_levels(dtm: &Raster, seeds: &[usize]) -> Raster {
    let grid = dtm.grid;
    let heights = &dtm.values;
    let mut levels = Raster::filled(grid, f32::NAN);
    let mut done = vec![false; grid.len()];
    let mut heap: BinaryHeap<Reverse<(u32, u32)>> = BinaryHeap::new();
    let mut flat: VecDeque<u32> = VecDeque::new();
    for &s in seeds {
        if heights[s].is_finite() && !done[s] {
            done[s] = true;
            levels.values[s] = heights[s];
            heap.push(Reverse((ordered(heights[s]), s as u32)));
        }
    }
    let (cols, rows) = (grid.cols as i64, grid.rows as i64);
    loop {
        let cell = match flat.pop_front() {
            Some(c) => c as usize,
            None => match heap.pop() {
                Some(Reverse((_, c))) => c as usize,
                None => break,
            },
        };
        let level = levels.values[cell];
        let (col, row) = ((cell as i64) % cols, (cell as i64) / cols);
        for dr in -1..=1i64 {
            let r = row + dr;
            if r < 0 || r >= rows {
                continue;
            }
            for dc in -1..=1i64 {
                let c = col + dc;
                if c < 0 || c >= cols || (dc == 0 && dr == 0) {
                    continue;
                }
                let n = (r * cols + c) as usize;
                if done[n] || !heights[n].is_finite() {
                    continue;
                }
                done[n] = true;
                if heights[n] <= level {
                    levels.values[n] = level;
                    flat.push_back(n as u32);
                } else {
                    levels.values[n] = heights[n];
                    heap.push(Reverse((ordered(heights[n]), n as u32)));
                }
            }
        }
    }
    levels
}

/// Water depth at `level` in each cell (0 where dry): from the connection levels in
/// [`FloodMode::Connected`], from the ground alone in [`FloodMode::Plane`].
pub fn depths(dtm: &Raster, connection: &Raster, level: f32, mode: FloodMode) -> Raster {
    let mut out = Raster::filled(dtm.grid, 0.0);
    out.values
        .par_chunks_mut(1 << 14)
        .zip(dtm.values.par_chunks(1 << 14))
        .zip(connection.values.par_chunks(1 << 14))
        .for_each(|((out, ground), joins)| {
            for ((d, &g), &j) in out.iter_mut().zip(ground).zip(joins) {
                let wet = match mode {
                    FloodMode::Connected => j <= level,
                    FloodMode::Plane => g < level,
                };
                *d = if wet { (level - g).max(0.0) } else { 0.0 };
            }
        });
    out
}

/// The flood at the 3D view's texture resolution: the ground and the connection levels
/// sampled once per seed set, so that moving the level recolours one small contiguous array.
#[derive(Clone, Debug, PartialEq)]
pub struct WaterDisplay {
    pub width: u32,
    pub height: u32,
    /// North-up, one per texel.
    ground: Vec<f32>,
    joins: Vec<f32>,
}

impl WaterDisplay {
    /// The display of `connection` over `dtm`, at most `max_side` texels a side.
    pub fn new(dtm: &Raster, connection: &Raster, max_side: usize) -> Self {
        let ground = super::map::OverlayImage::sample(&dtm.grid, max_side, |i| dtm.values[i]);
        let joins = super::map::OverlayImage::sample(&dtm.grid, max_side, |i| connection.values[i]);
        Self {
            width: ground.0,
            height: ground.1,
            ground: ground.2,
            joins: joins.2,
        }
    }

    /// The water at `level`: depth coloured by `legend`, transparent where dry.
    pub fn image(&self, level: f32, legend: &super::map::Legend) -> super::map::OverlayImage {
        let mut rgba = vec![0u8; self.ground.len() * 4];
        rgba.par_chunks_mut(1 << 14)
            .zip(self.ground.par_chunks(1 << 12))
            .zip(self.joins.par_chunks(1 << 12))
            .for_each(|((out, ground), joins)| {
                for ((texel, &g), &j) in out.chunks_exact_mut(4).zip(ground).zip(joins) {
                    let depth = if j <= level { level - g } else { 0.0 };
                    texel.copy_from_slice(&legend.color(depth).unwrap_or([0; 4]));
                }
            });
        super::map::OverlayImage {
            width: self.width,
            height: self.height,
            rgba,
        }
    }
}

/// Cells below `level` that the water does not reach (a plane would flood them,
/// connectivity does not): 1 there, 0 elsewhere.
pub fn disconnected_lows(dtm: &Raster, connection: &Raster, level: f32) -> Raster {
    let mut out = Raster::filled(dtm.grid, 0.0);
    for ((o, &g), &j) in out
        .values
        .iter_mut()
        .zip(&dtm.values)
        .zip(&connection.values)
    {
        // NaN (never joins) counts as not joined.
        if g < level && j.partial_cmp(&level).is_none_or(|o| o.is_gt()) {
            *o = 1.0;
        }
    }
    out
}

/// The baseline the connection levels replace: a breadth-first fill from the seeds at one
/// level; `true` for each flooded cell.
pub fn fill_at_level(dtm: &Raster, seeds: &[usize], level: f32) -> Vec<bool> {
    let grid = dtm.grid;
    let mut wet = vec![false; grid.len()];
    let mut queue: VecDeque<usize> = VecDeque::new();
    for &s in seeds {
        if dtm.values[s] <= level && !wet[s] {
            wet[s] = true;
            queue.push_back(s);
        }
    }
    while let Some(cell) = queue.pop_front() {
        for n in grid.neighbours(cell) {
            if !wet[n] && dtm.values[n] <= level {
                wet[n] = true;
                queue.push_back(n);
            }
        }
    }
    wet
}

/// Flooded area at `level`, square metres.
pub fn flooded_area_m2(depths: &Raster) -> f64 {
    depths.values.iter().filter(|&&d| d > 0.0).count() as f64 * depths.grid.cell_area_m2()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two round bowls (centres 100 m apart, 40 m radius, z = r²/80) separated by a ridge
    /// rising to 20 m where they meet, at 0.5 m cells.
    pub(crate) fn two_bowls() -> (Raster, DVec2, DVec2) {
        let grid = Grid {
            min_xy: DVec2::ZERO,
            cell_m: 0.5,
            cols: 400,
            rows: 200,
        };
        let (a, b) = (DVec2::new(50.0, 50.0), DVec2::new(150.0, 50.0));
        let mut dtm = Raster::filled(grid, 0.0);
        for (i, v) in dtm.values.iter_mut().enumerate() {
            let (c, r) = grid.col_row(i);
            let p = grid.center(c, r);
            let d = p.distance(a).min(p.distance(b));
            *v = (d * d / 80.0) as f32;
        }
        (dtm, a, b)
    }

    #[test]
    fn a_seed_in_one_bowl_leaves_the_other_dry_below_the_ridge() {
        let (dtm, a, b) = two_bowls();
        let grid = dtm.grid;
        let seeds = seed_cells(&grid, &[vec![a]]).unwrap();
        let levels = connection_levels(&dtm, &seeds);
        // The ridge between the bowls is at x = 100, where z = 50²/80 = 31.25 m.
        let level = 10.0;
        let water = depths(&dtm, &levels, level, FloodMode::Connected);
        let (bc, br) = grid.cell_of(b).unwrap();
        assert_eq!(water.at(bc, br), 0.0, "the other bowl stays dry");
        let (ac, ar) = grid.cell_of(a).unwrap();
        assert!((water.at(ac, ar) - 10.0).abs() < 0.01);
        // Analytic flooded area: a disc where r²/80 < 10, r < √800.
        let analytic = std::f64::consts::PI * 800.0;
        let area = flooded_area_m2(&water);
        assert!(
            (area - analytic).abs() / analytic < 0.02,
            "{area} m² against {analytic}"
        );
        // The plane floods both bowls; the other one is the disconnected low area.
        let plane = depths(&dtm, &levels, level, FloodMode::Plane);
        assert!((flooded_area_m2(&plane) - 2.0 * analytic).abs() / analytic < 0.04);
        let lows = disconnected_lows(&dtm, &levels, level);
        assert_eq!(lows.at(bc, br), 1.0);
        assert_eq!(lows.at(ac, ar), 0.0);
        // Above the ridge the water crosses: the other bowl joins at the ridge's level.
        // Its cells next to x = 100 have centres 0.25 m short of the ridge line.
        let ridge = levels.at(bc, br);
        assert!((ridge - 31.25).abs() < 0.4, "{ridge}");
    }

    #[test]
    fn the_display_shows_water_where_the_raster_does() {
        let (dtm, a, b) = two_bowls();
        let seeds = seed_cells(&dtm.grid, &[vec![a]]).unwrap();
        let levels = connection_levels(&dtm, &seeds);
        // 400 × 200 cells shown on at most 100 texels a side: 4 cells a texel.
        let display = WaterDisplay::new(&dtm, &levels, 100);
        assert_eq!((display.width, display.height), (100, 50));
        let image = display.image(10.0, &crate::scenario::map::depth_legend(10.0));
        // North-up: texel (x, y) covers cells x*4.., rows counted from the north.
        let texel = |p: DVec2| {
            let (c, r) = dtm.grid.cell_of(p).unwrap();
            let (tx, ty) = (c / 4, (dtm.grid.rows - 1 - r) / 4);
            let i = (ty * 100 + tx) * 4;
            image.rgba[i + 3]
        };
        assert!(texel(a) > 200, "water over bowl A");
        assert_eq!(texel(b), 0, "bowl B stays clear");
    }

    #[test]
    fn connection_levels_agree_with_a_fill_at_each_level() {
        let (dtm, a, _) = two_bowls();
        let seeds = seed_cells(&dtm.grid, &[vec![a]]).unwrap();
        let levels = connection_levels(&dtm, &seeds);
        for level in [0.5f32, 5.0, 20.0, 31.0, 32.0, 45.0] {
            let wet = fill_at_level(&dtm, &seeds, level);
            let by_threshold: Vec<bool> = levels.values.iter().map(|&j| j <= level).collect();
            assert_eq!(wet, by_threshold, "level {level}");
        }
    }

    #[test]
    fn seeds_outside_the_terrain_are_refused_and_polylines_walk_their_cells() {
        let (dtm, a, b) = two_bowls();
        let err = seed_cells(&dtm.grid, &[vec![DVec2::new(-5.0, 10.0)]]).unwrap_err();
        assert!(
            err.to_string()
                .contains("(-5.0, 10.0) lies outside the terrain"),
            "{err}"
        );
        let (a, b) = (a + 0.25, b + 0.25);
        let cells = seed_cells(&dtm.grid, &[vec![a, b]]).unwrap();
        // 100 m along a row of 0.5 m cells, both ends included.
        assert_eq!(cells.len(), 201);
    }
}
