//! Sun and shadow (pure): the sun's position by NREL's SPA, the cells of a surface model in
//! its shadow, and hours of direct sun over a day.
//!
//! # How it works
//!
//! The position comes from the `solar-positioning` crate's SPA (checked against SPA's
//! published case, ±0.0003°). Shadows sweep the DSM line by line away from the sun, carrying
//! a *horizon height*: the horizon height reaching a cell is that of the point one step
//! towards the sun (interpolated between the two cells there) lowered by the step times the
//! tangent of the sun's altitude; a cell whose surface lies below it is in shadow, and passes
//! on the higher of the two. A cell above a wall (a roof's edge) casts from its far edge.
//! One sweep is one pass over the raster, and the steps of a day run in parallel.

use crate::terrain::{Grid, Raster};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone};
use rayon::prelude::*;
use solar_positioning::{Location, RefractionCorrection, SolarPositions, delta_t};

/// Where the sun is, seen from a place at a time.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct SunPosition {
    /// Angle from the zenith, degrees (topocentric, refraction included).
    pub zenith_deg: f64,
    /// Clockwise from true north, degrees.
    pub azimuth_deg: f64,
}

impl SunPosition {
    /// Angle above the horizon, degrees.
    pub fn altitude_deg(&self) -> f64 {
        90.0 - self.zenith_deg
    }
}

/// The place and air the sun is seen through.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observer {
    pub longitude_deg: f64,
    pub latitude_deg: f64,
    /// Metres above sea level.
    pub elevation_m: f64,
    /// Air pressure (hPa) and temperature (°C) for refraction; `None`: the standard
    /// atmosphere (1010 hPa, 10 °C).
    pub air: Option<(f64, f64)>,
    /// TT − UT1, seconds; `None`: estimated from the date.
    pub delta_t_s: Option<f64>,
}

impl Observer {
    /// An observer at (`longitude_deg`, `latitude_deg`), `elevation_m` up, in the standard
    /// atmosphere with ΔT estimated.
    pub fn at(longitude_deg: f64, latitude_deg: f64, elevation_m: f64) -> Self {
        Self {
            longitude_deg,
            latitude_deg,
            elevation_m,
            air: None,
            delta_t_s: None,
        }
    }
}

/// Why a sun position could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum SunError {
    #[error("`{text}` is not a date and time with an offset (e.g. 2026-03-20T12:00:00+01:00)")]
    Time { text: String },
    #[error("`{text}` is not a date (e.g. 2026-03-20)")]
    Date { text: String },
    #[error("sun position: {0}")]
    Spa(String),
}

/// Parses an RFC 3339 time with its offset, e.g. `2026-03-20T12:00:00+01:00`.
pub fn parse_time(text: &str) -> Result<DateTime<FixedOffset>, SunError> {
    DateTime::parse_from_rfc3339(text.trim()).map_err(|_| SunError::Time {
        text: text.to_owned(),
    })
}

/// Parses a date, e.g. `2026-03-20`.
pub fn parse_date(text: &str) -> Result<NaiveDate, SunError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| SunError::Date {
        text: text.to_owned(),
    })
}

/// The sun's position at `at` seen by `observer` (SPA).
pub fn position(at: &DateTime<FixedOffset>, observer: &Observer) -> Result<SunPosition, SunError> {
    let spa = |e: solar_positioning::Error| SunError::Spa(e.to_string());
    let delta_t = match observer.delta_t_s {
        Some(d) => d,
        None => delta_t::estimate_from_date_like(at).map_err(spa)?,
    };
    let refraction = match observer.air {
        Some((pressure, temperature)) => {
            RefractionCorrection::new(pressure, temperature).map_err(spa)?
        }
        None => RefractionCorrection::standard(),
    };
    let location = Location {
        latitude: observer.latitude_deg,
        longitude: observer.longitude_deg,
    };
    let p = SolarPositions::new()
        .at(
            at,
            location,
            observer.elevation_m,
            delta_t,
            Some(refraction),
        )
        .map_err(spa)?;
    Ok(SunPosition {
        zenith_deg: p.zenith_angle(),
        azimuth_deg: p.azimuth(),
    })
}

/// Tolerance of the shadow test, metres: a cell is in shadow when the horizon height reaching
/// it is above its surface by more than this (so flat ground never shades itself).
const SHADOW_EPSILON_M: f32 = 0.01;

/// A surface ready for shadow sweeps: its heights in both row-major and column-major order,
/// so that every sweep reads its lines contiguously.
pub struct Surface {
    grid: Grid,
    by_rows: Vec<f32>,
    by_cols: Vec<f32>,
}

impl Surface {
    /// The surface of `dsm` (empty cells are treated as very low).
    pub fn new(dsm: &Raster) -> Self {
        let g = dsm.grid;
        let by_rows: Vec<f32> = dsm
            .values
            .iter()
            .map(|&v| if v.is_finite() { v } else { -1.0e6 })
            .collect();
        let mut by_cols = vec![0.0; g.len()];
        for r in 0..g.rows {
            for c in 0..g.cols {
                by_cols[c * g.rows + r] = by_rows[r * g.cols + c];
            }
        }
        Self {
            grid: g,
            by_rows,
            by_cols,
        }
    }

    /// Which cells are in shadow with the sun at `azimuth_deg` (clockwise from the grid's
    /// north) and `altitude_deg`: `true` in shadow, row-major. Everything is in shadow with
    /// the sun below the horizon.
    pub fn shadow(&self, azimuth_deg: f64, altitude_deg: f64) -> Vec<bool> {
        let g = self.grid;
        if altitude_deg <= 0.0 {
            return vec![true; g.len()];
        }
        let (sin, cos) = azimuth_deg.to_radians().sin_cos();
        let tan_alt = altitude_deg.to_radians().tan();
        if cos.abs() >= sin.abs() {
            // Lines are rows; the sun is north (cos > 0) or south of them.
            let shift = sin / cos.abs();
            let drop = step_drop(g, shift, tan_alt);
            sweep(&self.by_rows, g.rows, g.cols, cos > 0.0, shift, drop)
        } else {
            let shift = cos / sin.abs();
            let drop = step_drop(g, shift, tan_alt);
            let by_cols = sweep(&self.by_cols, g.cols, g.rows, sin > 0.0, shift, drop);
            let mut by_rows = vec![false; g.len()];
            for c in 0..g.cols {
                for r in 0..g.rows {
                    by_rows[r * g.cols + c] = by_cols[c * g.rows + r];
                }
            }
            by_rows
        }
    }
}

/// How much the horizon height drops over one step between lines.
fn step_drop(g: Grid, shift: f64, tan_alt: f64) -> f32 {
    (g.cell_m * (1.0 + shift * shift).sqrt() * tan_alt) as f32
}

/// One shadow sweep over `lines` lines of `len` cells, from the sun's side (`from_end`: the
/// last line is nearest the sun). `shift`: cells along a line between a cell and the point one
/// line towards the sun.
fn sweep(
    heights: &[f32],
    lines: usize,
    len: usize,
    from_end: bool,
    shift: f64,
    drop: f32,
) -> Vec<bool> {
    const FAR_BELOW: f32 = -1.0e30;
    let mut shadow = vec![false; heights.len()];
    let mut prev = vec![FAR_BELOW; len];
    let mut cur = vec![0.0f32; len];
    let half_drop = drop / 2.0;
    // A shift within rounding of a whole number of cells is that number (sin 180° is not 0).
    let rounded = shift.round();
    let shift = if (shift - rounded).abs() < 1.0e-9 {
        rounded
    } else {
        shift
    };
    let whole = shift.floor() as i64;
    let t = (shift - whole as f64) as f32;
    for k in 0..lines {
        let line = if from_end { lines - 1 - k } else { k };
        let h = &heights[line * len..(line + 1) * len];
        let next_line = if from_end {
            line.checked_sub(1)
        } else {
            Some(line + 1).filter(|&l| l < lines)
        };
        let next = next_line.map(|l| &heights[l * len..(l + 1) * len]);
        let out = &mut shadow[line * len..(line + 1) * len];
        for i in 0..len {
            let j = i as i64 + whole;
            // Beyond the raster's side the nearest cell stands in.
            let at = |j: i64| prev[j.clamp(0, len as i64 - 1) as usize];
            let incoming = if t == 0.0 {
                at(j)
            } else {
                (1.0 - t) * at(j) + t * at(j + 1)
            } - drop;
            out[i] = incoming > h[i] + SHADOW_EPSILON_M;
            // A cell above a wall (the next cell away from the sun lower by more than the
            // sun drops over a step) casts from its far edge, half a step on: a roof's shadow
            // starts at the wall, not at its last cell's centre. Slopes gentler than the sun
            // do not pass this test, so they never shade themselves.
            let below = next.map_or(f32::NEG_INFINITY, |n| {
                let j = (i as f64 - shift).round().clamp(0.0, (len - 1) as f64) as usize;
                n[j]
            });
            let edge = if h[i] - below > drop { half_drop } else { 0.0 };
            cur[i] = (h[i] + edge).max(incoming);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    shadow
}

/// The grid azimuth of true north at the twin, degrees clockwise from the grid's north (the
/// meridian convergence: up to a few degrees in Lambert-93): a sun azimuth plus this is its
/// direction on the grid.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GridNorth(pub f64);

/// The sun over a day.
#[derive(Clone, Debug, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    pub offset: FixedOffset,
    pub step_minutes: u32,
}

impl Day {
    /// The middles of the day's steps, as times with the day's offset.
    pub fn steps(&self) -> Vec<DateTime<FixedOffset>> {
        let Some(midnight) = self
            .date
            .and_hms_opt(0, 0, 0)
            .and_then(|t| self.offset.from_local_datetime(&t).single())
        else {
            return Vec::new();
        };
        let step = i64::from(self.step_minutes.max(1));
        (0..(24 * 60) / step)
            .map(|k| midnight + Duration::seconds(k * step * 60 + step * 30))
            .collect()
    }
}

/// Hours of direct sun on each cell of `surface` over `day`, seen by `observer`; `None` when
/// `cancelled` turned true before the end.
pub fn sunlight_hours(
    surface: &Surface,
    day: &Day,
    observer: &Observer,
    north: GridNorth,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Option<Raster>, SunError> {
    let lit = sun_steps(day, observer)?;
    let hours_per_step = f64::from(day.step_minutes.max(1)) / 60.0;
    let n = surface.grid.len();
    let counts = lit
        .par_iter()
        .fold(
            || Some(vec![0u16; n]),
            |counts, p| {
                let mut counts = counts?;
                if cancelled() {
                    return None;
                }
                let shadow = surface.shadow(p.azimuth_deg + north.0, p.altitude_deg());
                for (c, s) in counts.iter_mut().zip(shadow) {
                    *c += u16::from(!s);
                }
                Some(counts)
            },
        )
        .reduce(
            || Some(vec![0u16; n]),
            |a, b| {
                let (mut a, b) = (a?, b?);
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                Some(a)
            },
        );
    let Some(counts) = counts else {
        return Ok(None);
    };
    let mut hours = Raster::filled(surface.grid, 0.0);
    for (h, c) in hours.values.iter_mut().zip(counts) {
        *h = (f64::from(c) * hours_per_step) as f32;
    }
    Ok(Some(hours))
}

/// The sun's positions at the day's steps when it is above the horizon.
fn sun_steps(day: &Day, observer: &Observer) -> Result<Vec<SunPosition>, SunError> {
    let positions = day
        .steps()
        .iter()
        .map(|t| position(t, observer))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(positions
        .into_iter()
        .filter(|p| p.altitude_deg() > 0.0)
        .collect())
}

/// Hours the sun is up over `day`, counted in its steps (what open ground receives).
pub fn day_length_h(day: &Day, observer: &Observer) -> Result<f64, SunError> {
    Ok(sun_steps(day, observer)?.len() as f64 * f64::from(day.step_minutes.max(1)) / 60.0)
}

/// EN 17037's daylight-exposure thresholds, hours of direct sun on 21 March or after:
/// minimum, medium, high.
pub const EN17037_HOURS: [f32; 3] = [1.5, 3.0, 4.0];

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::math::DVec2;

    #[test]
    fn spa_published_case() {
        let at = parse_time("2003-10-17T12:30:30-07:00").unwrap();
        let observer = Observer {
            longitude_deg: -105.1786,
            latitude_deg: 39.742476,
            elevation_m: 1830.14,
            air: Some((820.0, 11.0)),
            delta_t_s: Some(67.0),
        };
        let p = position(&at, &observer).unwrap();
        assert!((p.zenith_deg - 50.11162).abs() < 1e-4, "{}", p.zenith_deg);
        assert!(
            (p.azimuth_deg - 194.34024).abs() < 1e-4,
            "{}",
            p.azimuth_deg
        );
    }

    #[test]
    fn bad_times_are_named() {
        let err = parse_time("2026-03-20 noon").unwrap_err().to_string();
        assert!(
            err.contains("`2026-03-20 noon` is not a date and time"),
            "{err}"
        );
        assert!(parse_date("2026-02-30").is_err());
    }

    /// Flat ground at 0 with a box `height` high, 20 m × 20 m, centred at (100, 100).
    fn box_scene(height: f32) -> Raster {
        let grid = Grid {
            min_xy: DVec2::ZERO,
            cell_m: 0.5,
            cols: 400,
            rows: 400,
        };
        let mut dsm = Raster::filled(grid, 0.0);
        for (i, v) in dsm.values.iter_mut().enumerate() {
            let (c, r) = grid.col_row(i);
            let p = grid.center(c, r);
            if (p.x - 100.0).abs() < 10.0 && (p.y - 100.0).abs() < 10.0 {
                *v = height;
            }
        }
        dsm
    }

    /// Length of the shadow behind the box along `away` (a unit vector from the sun), metres,
    /// walked from the box's edge along its centre line.
    fn shadow_length(dsm: &Raster, shadow: &[bool], away: DVec2) -> f64 {
        let g = dsm.grid;
        let mut p = DVec2::splat(100.0);
        // Leave the box.
        while g.cell_of(p).is_some_and(|(c, r)| dsm.at(c, r) > 0.0) {
            p += away * 0.01;
        }
        let edge = p;
        while g.cell_of(p).is_some_and(|(c, r)| shadow[g.index(c, r)]) {
            p += away * 0.01;
        }
        p.distance(edge)
    }

    #[test]
    fn a_box_casts_a_shadow_of_height_over_tan_altitude() {
        let height = 15.0f32;
        let dsm = box_scene(height);
        let surface = Surface::new(&dsm);
        for (azimuth, altitude) in [
            (180.0f64, 30.0f64),
            (90.0, 45.0),
            (0.0, 40.0),
            (225.0, 35.0),
            (300.0, 20.0),
        ] {
            let shadow = surface.shadow(azimuth, altitude);
            let (sin, cos) = azimuth.to_radians().sin_cos();
            let away = -DVec2::new(sin, cos);
            let measured = shadow_length(&dsm, &shadow, away);
            let analytic = f64::from(height) / altitude.to_radians().tan();
            // Along a diagonal, a cell spans up to √2 of its edge.
            let cell = dsm.grid.cell_m * if (azimuth % 90.0) == 0.0 { 1.0 } else { 1.5 };
            assert!(
                (measured - analytic).abs() <= cell,
                "sun at {azimuth}°/{altitude}°: {measured:.2} m against {analytic:.2} m"
            );
            // Nothing on the sun's side of the box is shaded, nor the roof.
            let before = DVec2::splat(100.0) - away * 14.0;
            let (c, r) = dsm.grid.cell_of(before).unwrap();
            assert!(!shadow[dsm.grid.index(c, r)]);
            let (c, r) = dsm.grid.cell_of(DVec2::splat(100.0)).unwrap();
            assert!(!shadow[dsm.grid.index(c, r)]);
        }
        assert!(surface.shadow(180.0, -2.0).iter().all(|&s| s));
    }

    #[test]
    fn slopes_facing_away_stay_lit_until_steeper_than_the_sun() {
        let grid = Grid {
            min_xy: DVec2::ZERO,
            cell_m: 0.5,
            cols: 60,
            rows: 60,
        };
        // Sun due south at 30°: ground falling northwards is lit while its slope is under
        // tan 30° = 0.577, whatever the azimuth's sweep order.
        for (slope, lit) in [(0.1f32, true), (0.4, true), (0.55, true), (0.65, false)] {
            let mut dsm = Raster::filled(grid, 0.0);
            for (i, v) in dsm.values.iter_mut().enumerate() {
                *v = -slope * grid.center(0, grid.col_row(i).1).y as f32;
            }
            let shadow = Surface::new(&dsm).shadow(180.0, 30.0);
            let shaded = shadow.iter().filter(|&&s| s).count();
            if lit {
                assert_eq!(shaded, 0, "slope {slope}");
            } else {
                assert!(shaded >= grid.len() - grid.cols, "slope {slope}: {shaded}");
            }
        }
    }

    #[test]
    fn open_ground_gets_the_day_length_and_the_north_side_less() {
        let dsm = box_scene(30.0);
        let surface = Surface::new(&dsm);
        let day = Day {
            date: parse_date("2026-03-20").unwrap(),
            offset: FixedOffset::east_opt(3600).unwrap(),
            step_minutes: 15,
        };
        let paris = Observer::at(2.35, 48.85, 35.0);
        let hours = sunlight_hours(&surface, &day, &paris, GridNorth(0.0), &|| false)
            .unwrap()
            .unwrap();
        assert!((day_length_h(&day, &paris).unwrap() - f64::from(hours.at(10, 10))).abs() < 1e-3);
        let g = dsm.grid;
        let open = hours.at(10, 10);
        // Equinox: about 12 h 10 min of day with refraction.
        assert!((open - 12.1).abs() < 0.3, "{open}");
        let (c, r) = g.cell_of(DVec2::new(100.0, 112.0)).unwrap();
        let north_side = hours.at(c, r);
        let (c, r) = g.cell_of(DVec2::new(100.0, 88.0)).unwrap();
        let south_side = hours.at(c, r);
        assert!(north_side < open - 4.0, "north of the box: {north_side} h");
        assert!(
            (south_side - open).abs() < 0.01,
            "south of the box: {south_side} h"
        );
    }
}
