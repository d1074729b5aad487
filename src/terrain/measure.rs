//! Measurements (pure): lengths of polylines, areas of polygons (horizontal, and draped on a
//! surface), heights above the ground and volumes between two surfaces inside a polygon.
//!
//! Coordinates are Lambert-93-sized (10⁶ m): every sum is taken relative to the first vertex,
//! so that nothing loses the millimetre. A polygon's cells are weighted by the share of each
//! cell inside it, from four scanlines per row, so that a slanted edge counts its partial cells.

use super::raster::Raster;
use bevy::math::{DVec2, DVec3};

/// Lengths of a polyline: along its segments in 3D, horizontally, and its rise and fall.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Lengths {
    pub length_3d_m: f64,
    pub horizontal_m: f64,
    /// Height of the last vertex over the first.
    pub vertical_m: f64,
}

/// The lengths of the polyline through `points`.
pub fn lengths(points: &[DVec3]) -> Lengths {
    let Some(&first) = points.first() else {
        return Lengths::default();
    };
    let mut out = Lengths::default();
    for w in points.windows(2) {
        let d = (w[1] - first) - (w[0] - first);
        out.length_3d_m += d.length();
        out.horizontal_m += d.truncate().length();
    }
    out.vertical_m = points[points.len() - 1].z - first.z;
    out
}

/// The angle at `b` between `a` and `c`, degrees (0–180).
pub fn angle_deg(a: DVec3, b: DVec3, c: DVec3) -> f64 {
    let (u, v) = (a - b, c - b);
    u.angle_between(v).to_degrees()
}

/// The horizontal area of the polygon through `ring` (closed implicitly), square metres.
pub fn area_m2(ring: &[DVec2]) -> f64 {
    let Some(&o) = ring.first() else {
        return 0.0;
    };
    let mut twice = 0.0;
    for i in 0..ring.len() {
        let (a, b) = (ring[i] - o, ring[(i + 1) % ring.len()] - o);
        twice += a.perp_dot(b);
    }
    twice.abs() / 2.0
}

/// Scanlines per row of cells for the cells' share inside a polygon.
const SCANLINES: usize = 4;

/// The share (0–1) of each cell of `grid` inside the polygon `ring`, as (cell index, share).
pub fn cell_shares(grid: &super::raster::Grid, ring: &[DVec2]) -> Vec<(usize, f64)> {
    if ring.len() < 3 {
        return Vec::new();
    }
    let o = grid.min_xy;
    let local: Vec<DVec2> = ring.iter().map(|p| (*p - o) / grid.cell_m).collect();
    let (lo, hi) = local
        .iter()
        .fold((DVec2::INFINITY, DVec2::NEG_INFINITY), |(l, h), p| {
            (l.min(*p), h.max(*p))
        });
    let rows = (lo.y.floor().max(0.0) as usize)..(hi.y.ceil().min(grid.rows as f64) as usize);
    let mut out = Vec::new();
    let mut share = vec![0.0f64; grid.cols];
    for row in rows {
        share.iter_mut().for_each(|s| *s = 0.0);
        for k in 0..SCANLINES {
            let y = row as f64 + (k as f64 + 0.5) / SCANLINES as f64;
            let mut xs: Vec<f64> = Vec::new();
            for i in 0..local.len() {
                let (a, b) = (local[i], local[(i + 1) % local.len()]);
                if (a.y <= y) != (b.y <= y) {
                    xs.push(a.x + (y - a.y) / (b.y - a.y) * (b.x - a.x));
                }
            }
            xs.sort_by(f64::total_cmp);
            for pair in xs.chunks_exact(2) {
                let (x0, x1) = (pair[0].max(0.0), pair[1].min(grid.cols as f64));
                if x0 >= x1 {
                    continue;
                }
                for (col, s) in share
                    .iter_mut()
                    .enumerate()
                    .take(x1.ceil() as usize)
                    .skip(x0.floor() as usize)
                {
                    let covered = x1.min(col as f64 + 1.0) - x0.max(col as f64);
                    *s += covered.max(0.0) / SCANLINES as f64;
                }
            }
        }
        out.extend(
            share
                .iter()
                .enumerate()
                .filter(|(_, s)| **s > 0.0)
                .map(|(col, s)| (grid.index(col, row), s.min(1.0))),
        );
    }
    out
}

/// The area of `surface` inside the polygon `ring`, following its slopes, square metres: the
/// horizontal area times the mean slope factor √(1 + |∇z|²) of its cells.
pub fn draped_area_m2(surface: &Raster, ring: &[DVec2]) -> f64 {
    let g = surface.grid;
    let shares = cell_shares(&g, ring);
    let z = |c: usize, r: usize| f64::from(surface.at(c.min(g.cols - 1), r.min(g.rows - 1)));
    let (mut weighted, mut weights) = (0.0, 0.0);
    for &(i, w) in &shares {
        let (c, r) = g.col_row(i);
        let (c0, c1) = (c.saturating_sub(1), (c + 1).min(g.cols - 1));
        let (r0, r1) = (r.saturating_sub(1), (r + 1).min(g.rows - 1));
        let gx = (z(c1, r) - z(c0, r)) / ((c1 - c0).max(1) as f64 * g.cell_m);
        let gy = (z(c, r1) - z(c, r0)) / ((r1 - r0).max(1) as f64 * g.cell_m);
        let factor = (1.0 + gx * gx + gy * gy).sqrt();
        if factor.is_finite() {
            weighted += w * factor;
            weights += w;
        }
    }
    if weights == 0.0 {
        return area_m2(ring);
    }
    area_m2(ring) * weighted / weights
}

/// Volumes between `top` and `base` (same grid) inside the polygon `ring`, cubic metres.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Volumes {
    /// Where `top` stands above `base` (what a cut to `base` removes).
    pub above_m3: f64,
    /// Where `top` lies below `base` (what a fill to `base` adds).
    pub below_m3: f64,
    /// Area of the cells counted (their shares inside the polygon), square metres.
    pub area_m2: f64,
}

/// Volumes between `top` and `base` inside `ring`: `base` a raster on the same grid (the DTM,
/// for what stands on the ground) or a level (a platform to cut or fill to).
pub fn volumes(top: &Raster, base: Base<'_>, ring: &[DVec2]) -> Volumes {
    let g = top.grid;
    let a = g.cell_area_m2();
    let mut out = Volumes::default();
    for (i, w) in cell_shares(&g, ring) {
        let b = match base {
            Base::Raster(r) => f64::from(r.values[i]),
            Base::Level(z) => z,
        };
        let d = f64::from(top.values[i]) - b;
        if !d.is_finite() {
            continue;
        }
        out.area_m2 += w * a;
        if d > 0.0 {
            out.above_m3 += w * a * d;
        } else {
            out.below_m3 -= w * a * d;
        }
    }
    out
}

/// What a volume is measured from.
#[derive(Clone, Copy, Debug)]
pub enum Base<'a> {
    Raster(&'a Raster),
    Level(f64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terrain::Grid;

    /// Lambert-93-sized origin: every result must keep the millimetre.
    const O: DVec2 = DVec2::new(651_000.0, 6_861_000.0);

    fn grid(cell_m: f64, side_m: f64) -> Grid {
        let n = (side_m / cell_m) as usize;
        Grid {
            min_xy: O,
            cell_m,
            cols: n,
            rows: n,
        }
    }

    #[test]
    fn lengths_and_angles_keep_the_millimetre_at_lambert93() {
        let p = |x: f64, y: f64, z: f64| O.extend(100.0) + DVec3::new(x, y, z);
        let l = lengths(&[p(0.0, 0.0, 0.0), p(3.0, 4.0, 12.0), p(3.0, 4.001, 12.0)]);
        assert!((l.length_3d_m - 13.001).abs() < 1e-9, "{l:?}");
        assert!((l.horizontal_m - 5.001).abs() < 1e-9);
        assert!((l.vertical_m - 12.0).abs() < 1e-9);
        let right = angle_deg(p(1.0, 0.0, 0.0), p(0.0, 0.0, 0.0), p(0.0, 1.0, 0.0));
        assert!((right - 90.0).abs() < 1e-9);
    }

    #[test]
    fn areas_of_analytic_polygons() {
        // A 123.456 m square turned by 30°, and a triangle: shoelace exact to the mm².
        let (s, c) = 30f64.to_radians().sin_cos();
        let side = 123.456;
        let square: Vec<DVec2> = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
            .iter()
            .map(|&(x, y)| O + DVec2::new(c * x - s * y, s * x + c * y) * side)
            .collect();
        assert!((area_m2(&square) - side * side).abs() < 1e-6);
        // The cells' shares add up to the area within 0.1 %.
        let g = grid(0.5, 400.0);
        let shifted: Vec<DVec2> = square.iter().map(|p| *p + DVec2::splat(150.0)).collect();
        let counted: f64 = cell_shares(&g, &shifted)
            .iter()
            .map(|(_, w)| w)
            .sum::<f64>()
            * g.cell_area_m2();
        assert!((counted / (side * side) - 1.0).abs() < 1e-3, "{counted}");
    }

    #[test]
    fn a_slope_drapes_and_a_box_and_a_cone_have_their_volumes() {
        let g = grid(0.5, 400.0);
        // A plane rising 1 m in 2 m along x: draped area = horizontal × √1.25.
        let mut plane = Raster::filled(g, 0.0);
        for (i, v) in plane.values.iter_mut().enumerate() {
            let (col, _) = g.col_row(i);
            *v = (g.center(col, 0).x - O.x) as f32 * 0.5;
        }
        let ring: Vec<DVec2> = [(50.0, 60.0), (300.0, 80.0), (260.0, 330.0), (70.0, 290.0)]
            .iter()
            .map(|&(x, y)| O + DVec2::new(x, y))
            .collect();
        let draped = draped_area_m2(&plane, &ring);
        let expected = area_m2(&ring) * 1.25f64.sqrt();
        assert!(
            (draped / expected - 1.0).abs() < 1e-3,
            "{draped} vs {expected}"
        );

        // A cone of radius 80 m and height 30 m on flat ground at 10 m: π r² h / 3.
        let ground = Raster::filled(g, 10.0);
        let mut top = ground.clone();
        let centre = O + DVec2::splat(200.0);
        for (i, v) in top.values.iter_mut().enumerate() {
            let (col, row) = g.col_row(i);
            let d = g.center(col, row).distance(centre);
            *v += (30.0 * (1.0 - d / 80.0)).max(0.0) as f32;
        }
        let around: Vec<DVec2> = (0..64)
            .map(|k| {
                let a = k as f64 / 64.0 * std::f64::consts::TAU;
                centre + DVec2::new(a.cos(), a.sin()) * 100.0
            })
            .collect();
        let v = volumes(&top, Base::Raster(&ground), &around);
        let cone = std::f64::consts::PI * 80.0 * 80.0 * 30.0 / 3.0;
        assert!((v.above_m3 / cone - 1.0).abs() < 5e-3, "{v:?} vs {cone}");
        assert_eq!(v.below_m3, 0.0);
        // Against a platform at 25 m (15 m up): the cone's tip above it (radius 40 m, height
        // 15 m), the rest of the polygon below.
        let v = volumes(&top, Base::Level(25.0), &around);
        let tip = std::f64::consts::PI * 40.0 * 40.0 * 15.0 / 3.0;
        assert!((v.above_m3 / tip - 1.0).abs() < 0.02, "{v:?} vs {tip}");
        let below = area_m2(&around) * 15.0 - (cone - tip);
        assert!((v.below_m3 / below - 1.0).abs() < 5e-3, "{v:?} vs {below}");
    }
}
