//! Radio coverage (pure): the received power of the best server over the terrain, from
//! antennas (sites) at given heights, powers, bands and patterns.
//!
//! # How it works
//!
//! Path loss is free space (ITU-R P.525) plus diffraction over the terrain profile taken from
//! the **DSM**, so the LiDAR's buildings and trees block the signal (ITU-R P.526: Deygout's
//! construction with up to three edges, or Bullington's equivalent edge; both over an
//! effective Earth of k = 4/3), plus the 3GPP TR 36.814 sector pattern, plus an optional
//! building entry loss for indoor receivers.
//!
//! The profiles are shared: from each site, rays fan out one cell apart at the edge of its
//! reach and the DSM is sampled once along each; every cell then reads the profile of its ray
//! up to its own distance. Sectors on one mast share its path loss and differ only by their
//! pattern, and each site keeps its own raster of path loss, so moving one site recomputes
//! only that site ([`Coverage::replace_site`]).

use crate::terrain::{Grid, Raster, TerrainModels};
use bevy::math::{DVec2, DVec3};
use rayon::prelude::*;

/// Speed of light in vacuum, m/s.
pub const SPEED_OF_LIGHT: f64 = 299_792_458.0;
/// Effective Earth radius for the standard atmosphere (k = 4/3), metres.
pub const EFFECTIVE_EARTH_RADIUS_M: f64 = 8_500_000.0;
/// Frequencies P.525 and P.526 are used for here, MHz.
pub const FREQUENCY_RANGE_MHZ: (f64, f64) = (30.0, 100_000.0);
/// 3GPP TR 36.814: front-to-back ratio and vertical side-lobe level, dB.
const MAX_ATTENUATION_DB: f64 = 25.0;
const VERTICAL_SIDE_LOBE_DB: f64 = 20.0;

/// Free-space basic transmission loss (ITU-R P.525): 20 log₁₀(4π d / λ), dB.
pub fn free_space_loss_db(distance_m: f64, frequency_mhz: f64) -> f64 {
    let wavelength = SPEED_OF_LIGHT / (frequency_mhz * 1.0e6);
    20.0 * (4.0 * std::f64::consts::PI * distance_m.max(1.0) / wavelength).log10()
}

/// How far the profile must dip between two high points for Deygout to take them as two
/// obstacles, metres.
pub const DISTINCT_DIP_M: f32 = 1.0;

/// Knife-edge diffraction loss J(ν) of ITU-R P.526 (its approximation, eq. 31), dB; 0 for
/// ν ≤ −0.78.
pub fn knife_edge_loss_db(nu: f64) -> f64 {
    if nu <= -0.78 {
        0.0
    } else {
        6.9 + 20.0 * (((nu - 0.1).powi(2) + 1.0).sqrt() + nu - 0.1).log10()
    }
}

/// How diffraction over the profile is reckoned.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Diffraction {
    /// Deygout: the main edge, then the main edge on each side of it (P.526 §4.5.2, without
    /// the empirical correction, so that one edge gives exactly the knife-edge loss). The
    /// side edges must belong to other obstacles than the main one: the profile dips at least
    /// [`DISTINCT_DIP_M`] between them.
    #[default]
    Deygout,
    /// Bullington: one equivalent edge where the horizons of both ends meet (P.526 §4.5.1).
    Bullington,
}

/// A path from a transmitter to a receiver over a profile: heights above the datum, the
/// profile's points at horizontal distances from the transmitter (strictly between the ends).
#[derive(Clone, Copy, Debug)]
pub struct Path<'a> {
    pub tx_m: f64,
    pub rx_m: f64,
    /// Horizontal distance between the ends, metres.
    pub length_m: f64,
    pub wavelength_m: f64,
    /// Distance of point `i` from the transmitter: `(i + 1) × step_m`.
    pub step_m: f64,
    pub heights: &'a [f32],
}

impl Path<'_> {
    /// Height of point `i` with the Earth's bulge added (effective radius).
    fn height(&self, i: usize) -> (f64, f64) {
        let d = (i + 1) as f64 * self.step_m;
        let bulge = d * (self.length_m - d) / (2.0 * EFFECTIVE_EARTH_RADIUS_M);
        (d, f64::from(self.heights[i]) + bulge)
    }

    /// ν of the highest point (by ν) between points `from` and `to` (exclusive, indices into
    /// the profile; `None` stands for the path's ends) whose own heights are `h_from`, `h_to`.
    /// With `apart_from`, only points of another obstacle count: a point is part of that
    /// edge's obstacle unless the profile dips at least [`DISTINCT_DIP_M`] below both
    /// somewhere between them (a wide roof is one obstacle, not a row of edges).
    fn main_edge(
        &self,
        (from, d_from, h_from): (Option<usize>, f64, f64),
        (to, d_to, h_to): (Option<usize>, f64, f64),
        apart_from: Option<usize>,
    ) -> Option<(usize, f64, f64, f64)> {
        let first = from.map_or(0, |i| i + 1);
        let last = to.unwrap_or(self.heights.len());
        let span = d_to - d_from;
        if span <= 0.0 || first >= last {
            return None;
        }
        // Walking away from the edge it must stand apart from, with the lowest point passed.
        let edge_height = apart_from.map_or(f32::INFINITY, |e| self.heights[e]);
        let backwards = apart_from.is_some_and(|edge| edge >= last);
        let mut low = f32::INFINITY;
        let mut best: Option<(usize, f64, f64, f64)> = None;
        for k in 0..last - first {
            let i = if backwards { last - 1 - k } else { first + k };
            let dip = low;
            low = low.min(self.heights[i]);
            if apart_from.is_some() && dip > self.heights[i].min(edge_height) - DISTINCT_DIP_M {
                continue;
            }
            let (d, h) = self.height(i);
            let (d1, d2) = (d - d_from, d_to - d);
            if d1 <= 0.0 || d2 <= 0.0 {
                continue;
            }
            let line = h_from + (h_to - h_from) * d1 / span;
            let nu = (h - line) * (2.0 * span / (self.wavelength_m * d1 * d2)).sqrt();
            if best.is_none_or(|b| nu > b.1) {
                best = Some((i, nu, d, h));
            }
        }
        best
    }

    /// Diffraction loss over the profile, dB.
    pub fn diffraction_db(&self, method: Diffraction) -> f64 {
        match method {
            Diffraction::Deygout => self.deygout_db(),
            Diffraction::Bullington => self.bullington_db(),
        }
    }

    fn deygout_db(&self) -> f64 {
        let tx = (None, 0.0, self.tx_m);
        let rx = (None, self.length_m, self.rx_m);
        let Some((p, nu, d, h)) = self.main_edge(tx, rx, None) else {
            return 0.0;
        };
        let main = knife_edge_loss_db(nu);
        if main == 0.0 {
            return 0.0;
        }
        let edge = (Some(p), d, h);
        let side = |a, b| {
            self.main_edge(a, b, Some(p))
                .map_or(0.0, |(_, nu, _, _)| knife_edge_loss_db(nu))
        };
        main + side(tx, edge) + side(edge, rx)
    }

    fn bullington_db(&self) -> f64 {
        let d = self.length_m;
        if self.heights.is_empty() || d <= 0.0 {
            return 0.0;
        }
        let (mut stim, mut srr) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        let mut nu_max = f64::NEG_INFINITY;
        let factor = 2.0 * d / self.wavelength_m;
        for i in 0..self.heights.len() {
            let (di, h) = self.height(i);
            if di <= 0.0 || di >= d {
                continue;
            }
            stim = stim.max((h - self.tx_m) / di);
            srr = srr.max((h - self.rx_m) / (d - di));
            let line = (self.tx_m * (d - di) + self.rx_m * di) / d;
            nu_max = nu_max.max((h - line) * (factor / (di * (d - di))).sqrt());
        }
        let srim = (self.rx_m - self.tx_m) / d;
        if !stim.is_finite() {
            return 0.0;
        }
        let nu = if stim < srim {
            nu_max
        } else {
            // The horizons of both ends meet at the equivalent edge.
            let db = ((self.rx_m - self.tx_m + srr * d) / (stim + srr)).clamp(1e-3, d - 1e-3);
            let hb = self.tx_m + stim * db - (self.tx_m * (d - db) + self.rx_m * db) / d;
            hb * (factor / (db * (d - db))).sqrt()
        };
        knife_edge_loss_db(nu)
    }
}

/// The 3GPP TR 36.814 sector pattern: attenuation (≥ 0 dB) at `azimuth_off_deg` from the
/// boresight and `elevation_deg` below the horizon (positive downward), for a beam
/// `beamwidth_deg` wide (horizontal 3 dB width; `None`: omnidirectional) tilted down by
/// `tilt_deg` with a vertical 3 dB width of `vertical_beamwidth_deg`.
pub fn pattern_loss_db(
    azimuth_off_deg: f64,
    elevation_deg: f64,
    beamwidth_deg: Option<f64>,
    tilt_deg: f64,
    vertical_beamwidth_deg: f64,
) -> f64 {
    let horizontal = beamwidth_deg.map_or(0.0, |w| {
        let phi = (azimuth_off_deg + 180.0).rem_euclid(360.0) - 180.0;
        (12.0 * (phi / w).powi(2)).min(MAX_ATTENUATION_DB)
    });
    let vertical = (12.0 * ((elevation_deg - tilt_deg) / vertical_beamwidth_deg).powi(2))
        .min(VERTICAL_SIDE_LOBE_DB);
    (horizontal + vertical).min(MAX_ATTENUATION_DB)
}

/// One antenna (a sector of a mast, or an omnidirectional one).
#[derive(Clone, Debug, PartialEq)]
pub struct Antenna {
    pub id: String,
    /// Twin CRS.
    pub position: DVec2,
    /// Above the ground (DTM) under it, metres.
    pub height_m: f64,
    pub frequency_mhz: f64,
    /// Effective isotropic radiated power in the boresight, dBm.
    pub eirp_dbm: f64,
    /// Boresight, degrees clockwise from grid north; `None`: omnidirectional.
    pub azimuth_deg: Option<f64>,
    /// Horizontal 3 dB beam width, degrees (65° by default for a sector).
    pub beamwidth_deg: f64,
    /// Down-tilt, degrees (10° by default).
    pub tilt_deg: f64,
    /// Vertical 3 dB beam width, degrees (10° by default).
    pub vertical_beamwidth_deg: f64,
}

impl Antenna {
    /// Defaults of TR 36.814 for what a site does not say.
    pub const DEFAULT_BEAMWIDTH_DEG: f64 = 65.0;
    pub const DEFAULT_TILT_DEG: f64 = 10.0;
    pub const DEFAULT_VERTICAL_BEAMWIDTH_DEG: f64 = 10.0;

    /// Sectors on one mast share their path loss: same place, height and band.
    fn mast_key(&self) -> [u64; 4] {
        [
            self.position.x.to_bits(),
            self.position.y.to_bits(),
            self.height_m.to_bits(),
            self.frequency_mhz.to_bits(),
        ]
    }
}

/// Why coverage cannot be computed for a site.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RadioError {
    #[error(
        "site `{id}` at ({x:.1}, {y:.1}) lies outside the terrain ({west:.1}..{east:.1}, {south:.1}..{north:.1})"
    )]
    OutsideTerrain {
        id: String,
        x: f64,
        y: f64,
        west: f64,
        east: f64,
        south: f64,
        north: f64,
    },
    #[error(
        "site `{id}`: {frequency_mhz} MHz is outside 30 MHz – 100 GHz, where ITU-R P.525 and P.526 are used here"
    )]
    Frequency { id: String, frequency_mhz: f64 },
    #[error("site `{id}`: {what}")]
    Invalid { id: String, what: String },
}

/// What a coverage computation is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct CoverageSpec {
    /// Cell edge of the coverage grid, metres.
    pub resolution_m: f64,
    /// Receiver above the ground, metres.
    pub receiver_height_m: f64,
    pub method: Diffraction,
    /// Building entry loss for receivers inside buildings, dB (0: outdoor everywhere; a
    /// building's receiver then sits on its roof).
    pub indoor_loss_db: f64,
}

/// The terrain as coverage sees it, on the coverage grid: ground (mean of the DTM), surface
/// (the highest DSM cell, so no building vanishes) and building cells.
#[derive(Clone, Debug)]
pub struct RadioTerrain {
    pub ground: Raster,
    pub surface: Raster,
    pub building: Vec<bool>,
}

impl RadioTerrain {
    /// Height above the datum of an antenna `height_m` above the ground at `position`.
    fn mast_top(&self, position: DVec2, height_m: f64) -> f64 {
        let grid = self.grid();
        grid.cell_of(position)
            .map_or(0.0, |(c, r)| f64::from(self.ground.at(c, r)))
            + height_m
    }

    /// `models` brought to cells of `resolution_m` (never finer than the terrain's).
    pub fn new(models: &TerrainModels, resolution_m: f64) -> Self {
        let fine = models.grid();
        let factor = (resolution_m / fine.cell_m).round().max(1.0) as usize;
        let grid = Grid {
            min_xy: fine.min_xy,
            cell_m: fine.cell_m * factor as f64,
            cols: fine.cols.div_ceil(factor),
            rows: fine.rows.div_ceil(factor),
        };
        let mut ground = Raster::filled(grid, 0.0);
        let mut surface = Raster::filled(grid, f32::NEG_INFINITY);
        let mut building = vec![0usize; grid.len()];
        let mut counts = vec![0u32; grid.len()];
        for i in 0..fine.len() {
            let (c, r) = fine.col_row(i);
            let j = grid.index(c / factor, r / factor);
            ground.values[j] += models.dtm.values[i];
            counts[j] += 1;
            surface.values[j] = surface.values[j].max(models.dsm.values[i]);
            if models.top_class[i] == crate::terrain::ground::BUILDING_CLASS {
                building[j] += 1;
            }
        }
        for ((g, n), s) in ground
            .values
            .iter_mut()
            .zip(&counts)
            .zip(&mut surface.values)
        {
            *g /= (*n).max(1) as f32;
            if !s.is_finite() {
                *s = *g;
            }
        }
        // A coarse cell is a building where most of its fine cells are.
        let building = building
            .iter()
            .zip(&counts)
            .map(|(&b, &n)| b * 2 > n as usize)
            .collect();
        Self {
            ground,
            surface,
            building,
        }
    }

    pub fn grid(&self) -> Grid {
        self.ground.grid
    }
}

/// Profile points, one every `step_m` from the transmitter, that lie at least half a step
/// short of a receiver `d` away (nearer ones are the receiver's own cell).
fn profile_points(d: f64, step_m: f64) -> usize {
    ((d / step_m) - 0.5).floor().max(0.0) as usize
}

/// The profiles of one mast: rays fanning out from it, the DSM sampled along each.
struct Fan {
    origin: DVec2,
    /// Rays per side of the square they aim at (four sides).
    per_side: usize,
    step_m: f64,
    /// `rays × samples`, sample `k` at `(k + 1) × step_m`.
    heights: Vec<f32>,
    samples: usize,
}

impl Fan {
    fn new(terrain: &RadioTerrain, origin: DVec2) -> Self {
        Self::new_with(terrain, origin, |_| {})
    }

    /// The fan, each ray passed to `then` as soon as it is sampled (while it is in cache).
    fn new_with(terrain: &RadioTerrain, origin: DVec2, then: impl Fn(&mut [f32]) + Sync) -> Self {
        let grid = terrain.grid();
        let (lo, hi) = grid.extent();
        let reach = [lo, DVec2::new(hi.x, lo.y), hi, DVec2::new(lo.x, hi.y)]
            .iter()
            .map(|c| c.distance(origin))
            .fold(0.0, f64::max);
        let step_m = grid.cell_m;
        let samples = (reach / step_m).ceil() as usize + 1;
        // Rays aim at points one step apart on the smallest square around the origin that
        // holds the grid (closer in, they are closer together): a cell finds its ray by a
        // division, no trigonometry.
        let half = (origin - lo).max(hi - origin).max_element();
        let per_side = ((2.0 * half / step_m).ceil() as usize).max(2);
        let rays = 4 * per_side;
        let mut heights = vec![f32::NEG_INFINITY; rays * samples];
        heights
            .par_chunks_mut(samples)
            .enumerate()
            .for_each(|(r, ray)| {
                let t = -1.0 + 2.0 * (r % per_side) as f64 / per_side as f64;
                let dir = match r / per_side {
                    0 => DVec2::new(1.0, t),
                    1 => DVec2::new(-t, 1.0),
                    2 => DVec2::new(-1.0, -t),
                    _ => DVec2::new(t, -1.0),
                }
                .normalize();
                for (k, h) in ray.iter_mut().enumerate() {
                    let p = origin + dir * ((k + 1) as f64 * step_m);
                    // The origin is inside the grid: once out, the ray stays out.
                    let Some((c, row)) = grid.cell_of(p) else {
                        break;
                    };
                    *h = terrain.surface.at(c, row);
                }
                then(ray);
            });
        Self {
            origin,
            per_side,
            step_m,
            heights,
            samples,
        }
    }

    /// The ray towards `to`, how many of its samples lie before it, and its distance.
    fn profile_to(&self, to: DVec2) -> (usize, usize, f64) {
        let v = to - self.origin;
        let d = v.length();
        let (ax, ay) = (v.x.abs(), v.y.abs());
        // The side of the square the direction meets, and where along it (−1 to 1).
        let (side, t) = if v.x >= ay {
            (0, v.y / ax.max(1e-12))
        } else if v.y >= ax {
            (1, -v.x / ay)
        } else if -v.x >= ay {
            (2, -v.y / ax)
        } else {
            (3, v.x / ay.max(1e-12))
        };
        let along = ((t + 1.0) * 0.5 * self.per_side as f64).round() as usize;
        let ray = (side * self.per_side + along) % (4 * self.per_side);
        (ray, profile_points(d, self.step_m).min(self.samples), d)
    }

    fn ray(&self, ray: usize) -> &[f32] {
        &self.heights[ray * self.samples..(ray + 1) * self.samples]
    }
}

/// Path loss (free space + diffraction) from one mast to every cell of the coverage grid, dB;
/// the elevation angle of each cell seen from the mast, degrees below the horizon.
#[derive(Clone, Debug)]
pub struct MastLoss {
    pub loss_db: Vec<f32>,
    pub elevation_deg: Vec<f32>,
}

/// The receiver height (above the datum) in cell `i`, and the entry loss there: a building's
/// receiver is on its roof, less the building entry loss when one is set (indoor).
fn receiver(terrain: &RadioTerrain, spec: &CoverageSpec, i: usize) -> (f64, f64) {
    if terrain.building[i] {
        (
            f64::from(terrain.surface.values[i]) + spec.receiver_height_m,
            spec.indoor_loss_db,
        )
    } else {
        (
            f64::from(terrain.ground.values[i]) + spec.receiver_height_m,
            0.0,
        )
    }
}

/// The path loss of a mast at `position`, `height_m` above the ground, over `terrain`.
pub fn mast_loss(
    terrain: &RadioTerrain,
    spec: &CoverageSpec,
    position: DVec2,
    height_m: f64,
    frequency_mhz: f64,
) -> MastLoss {
    let grid = terrain.grid();
    let fan = Fan::new(terrain, position);
    let tx = terrain.mast_top(position, height_m);
    let wavelength_m = SPEED_OF_LIGHT / (frequency_mhz * 1.0e6);
    let mut loss_db = vec![0.0f32; grid.len()];
    let mut elevation_deg = vec![0.0f32; grid.len()];
    loss_db
        .par_chunks_mut(grid.cols)
        .zip(elevation_deg.par_chunks_mut(grid.cols))
        .enumerate()
        .for_each(|(row, (loss, elevation))| {
            for col in 0..grid.cols {
                let i = grid.index(col, row);
                let to = grid.center(col, row);
                let (rx, entry_db) = receiver(terrain, spec, i);
                let (ray, n, d) = fan.profile_to(to);
                let heights = &fan.ray(ray)[..n];
                let path = Path {
                    tx_m: tx,
                    rx_m: rx,
                    length_m: d,
                    wavelength_m,
                    step_m: fan.step_m,
                    heights,
                };
                let slant = (d * d + (tx - rx).powi(2)).sqrt();
                let l = free_space_loss_db(slant, frequency_mhz)
                    + path.diffraction_db(spec.method)
                    + entry_db;
                loss[col] = l as f32;
                elevation[col] = (tx - rx).atan2(d.max(1e-3)).to_degrees() as f32;
            }
        });
    MastLoss {
        loss_db,
        elevation_deg,
    }
}

/// The same loss by a per-cell profile walk, the DSM read afresh along every line:
/// the baseline [`mast_loss`] is measured against, and its check.
pub fn mast_loss_per_cell(
    terrain: &RadioTerrain,
    spec: &CoverageSpec,
    position: DVec2,
    height_m: f64,
    frequency_mhz: f64,
) -> Vec<f32> {
    let grid = terrain.grid();
    let tx = terrain.mast_top(position, height_m);
    let wavelength_m = SPEED_OF_LIGHT / (frequency_mhz * 1.0e6);
    (0..grid.len())
        .into_par_iter()
        .map(|i| {
            let (col, row) = grid.col_row(i);
            let to = grid.center(col, row);
            let (rx, entry_db) = receiver(terrain, spec, i);
            let d = to.distance(position);
            let n = profile_points(d, grid.cell_m);
            let dir = (to - position) / d.max(1e-9);
            let heights: Vec<f32> = (0..n)
                .map(|k| {
                    let p = position + dir * ((k + 1) as f64 * grid.cell_m);
                    grid.cell_of(p)
                        .map_or(f32::NEG_INFINITY, |(c, r)| terrain.surface.at(c, r))
                })
                .collect();
            let path = Path {
                tx_m: tx,
                rx_m: rx,
                length_m: d,
                wavelength_m,
                step_m: grid.cell_m,
                heights: &heights,
            };
            let slant = (d * d + (tx - rx).powi(2)).sqrt();
            let l = free_space_loss_db(slant, frequency_mhz)
                + path.diffraction_db(spec.method)
                + entry_db;
            l as f32
        })
        .collect()
}

/// Coverage of a set of antennas: each mast's path loss kept, the best server's received
/// power over the grid.
#[derive(Clone)]
pub struct Coverage {
    pub terrain: RadioTerrain,
    pub spec: CoverageSpec,
    pub antennas: Vec<Antenna>,
    /// Per antenna: index into `masts`.
    mast_of: Vec<usize>,
    masts: Vec<([u64; 4], MastLoss)>,
    /// Best received power, dBm.
    pub best_dbm: Raster,
    /// Index of the best server per cell.
    pub best_server: Vec<u16>,
    /// Masts whose path loss was computed since [`Coverage::new`] began (shared ones once).
    pub masts_computed: usize,
}

impl std::fmt::Debug for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coverage")
            .field("grid", &self.terrain.grid())
            .field("antennas", &self.antennas.len())
            .field("masts", &self.masts.len())
            .finish_non_exhaustive()
    }
}

impl Coverage {
    /// Checks the antennas against the terrain and computes every mast once.
    pub fn new(
        terrain: RadioTerrain,
        spec: CoverageSpec,
        antennas: Vec<Antenna>,
    ) -> Result<Self, RadioError> {
        for a in &antennas {
            check(&terrain, a)?;
        }
        let mut coverage = Self {
            best_dbm: Raster::filled(terrain.grid(), f32::NEG_INFINITY),
            best_server: vec![0; terrain.grid().len()],
            terrain,
            spec,
            antennas: Vec::new(),
            mast_of: Vec::new(),
            masts: Vec::new(),
            masts_computed: 0,
        };
        for a in antennas {
            coverage.push(a);
        }
        coverage.combine();
        Ok(coverage)
    }

    fn push(&mut self, antenna: Antenna) {
        let mast = self.mast_for(&antenna);
        self.mast_of.push(mast);
        self.antennas.push(antenna);
    }

    /// The mast (path loss) of `antenna`, computed if no other antenna shares it.
    fn mast_for(&mut self, antenna: &Antenna) -> usize {
        let key = antenna.mast_key();
        if let Some(i) = self.masts.iter().position(|(k, _)| *k == key) {
            return i;
        }
        let loss = mast_loss(
            &self.terrain,
            &self.spec,
            antenna.position,
            antenna.height_m,
            antenna.frequency_mhz,
        );
        self.masts.push((key, loss));
        self.masts_computed += 1;
        self.masts.len() - 1
    }

    /// Adds `antenna`: its mast is computed unless another antenna shares it.
    pub fn add_site(&mut self, antenna: Antenna) -> Result<(), RadioError> {
        check(&self.terrain, &antenna)?;
        self.push(antenna);
        self.combine();
        Ok(())
    }

    /// Moves, turns or changes antenna `index`: only its mast is recomputed (and only when
    /// its place, height or band changed), then the best server.
    pub fn replace_site(&mut self, index: usize, antenna: Antenna) -> Result<(), RadioError> {
        check(&self.terrain, &antenna)?;
        let mast = self.mast_for(&antenna);
        self.mast_of[index] = mast;
        self.antennas[index] = antenna;
        self.drop_unused_masts();
        self.combine();
        Ok(())
    }

    /// Removes antenna `index`.
    pub fn remove_site(&mut self, index: usize) {
        self.antennas.remove(index);
        self.mast_of.remove(index);
        self.drop_unused_masts();
        self.combine();
    }

    /// Masts computed so far (one per distinct place, height and band).
    pub fn masts(&self) -> usize {
        self.masts.len()
    }

    fn drop_unused_masts(&mut self) {
        let mut keep = vec![false; self.masts.len()];
        for &m in &self.mast_of {
            keep[m] = true;
        }
        let mut new_index = vec![usize::MAX; self.masts.len()];
        let mut next = 0;
        for (i, k) in keep.iter().enumerate() {
            if *k {
                new_index[i] = next;
                next += 1;
            }
        }
        let mut i = 0;
        self.masts.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        for m in &mut self.mast_of {
            *m = new_index[*m];
        }
    }

    /// Received power of antenna `index` in cell `i`, dBm.
    pub fn received_dbm(&self, index: usize, i: usize) -> f32 {
        let a = &self.antennas[index];
        let mast = &self.masts[self.mast_of[index]].1;
        let grid = self.terrain.grid();
        let (c, r) = grid.col_row(i);
        let v = grid.center(c, r) - a.position;
        let bearing = v.x.atan2(v.y).to_degrees();
        let pattern = pattern_loss_db(
            a.azimuth_deg.map_or(0.0, |az| bearing - az),
            f64::from(mast.elevation_deg[i]),
            a.azimuth_deg.map(|_| a.beamwidth_deg),
            a.tilt_deg,
            a.vertical_beamwidth_deg,
        );
        (a.eirp_dbm - pattern) as f32 - mast.loss_db[i]
    }

    /// The best server of every cell.
    fn combine(&mut self) {
        let n = self.antennas.len();
        let values: Vec<(f32, u16)> = (0..self.terrain.grid().len())
            .into_par_iter()
            .map(|i| {
                (0..n)
                    .map(|a| (self.received_dbm(a, i), a as u16))
                    .fold((f32::NEG_INFINITY, 0), |b, x| if x.0 > b.0 { x } else { b })
            })
            .collect();
        for (i, (v, s)) in values.into_iter().enumerate() {
            self.best_dbm.values[i] = v;
            self.best_server[i] = s;
        }
    }
}

/// The cell of `p` on `grid`, or the error naming `id`, its place and the grid's extent.
fn cell_of(grid: &Grid, id: &str, p: DVec2) -> Result<(usize, usize), RadioError> {
    grid.cell_of(p).ok_or_else(|| {
        let (lo, hi) = grid.extent();
        RadioError::OutsideTerrain {
            id: id.into(),
            x: p.x,
            y: p.y,
            west: lo.x,
            east: hi.x,
            south: lo.y,
            north: hi.y,
        }
    })
}

fn check(terrain: &RadioTerrain, a: &Antenna) -> Result<(), RadioError> {
    cell_of(&terrain.grid(), &a.id, a.position)?;
    let (lo, hi) = FREQUENCY_RANGE_MHZ;
    if !(lo..=hi).contains(&a.frequency_mhz) {
        return Err(RadioError::Frequency {
            id: a.id.clone(),
            frequency_mhz: a.frequency_mhz,
        });
    }
    let invalid = |what: &str| {
        Err(RadioError::Invalid {
            id: a.id.clone(),
            what: what.into(),
        })
    };
    if !(a.height_m.is_finite() && a.height_m >= 0.0) {
        return invalid("height_m must be 0 or more");
    }
    if !a.eirp_dbm.is_finite() {
        return invalid("eirp_dbm must be a number");
    }
    if !(a.beamwidth_deg > 0.0 && a.beamwidth_deg <= 360.0) {
        return invalid("beamwidth_deg must be in 0..360");
    }
    if !(a.vertical_beamwidth_deg > 0.0 && a.vertical_beamwidth_deg <= 180.0) {
        return invalid("vertical_beamwidth_deg must be in 0..180");
    }
    Ok(())
}

/// Cells in line of sight of a point `height_m` above the ground at `position` (receiver
/// `receiver_height_m` above the ground, the DSM in between): one sweep along each ray
/// carrying the steepest slope seen so far.
pub fn line_of_sight(
    terrain: &RadioTerrain,
    position: DVec2,
    height_m: f64,
    receiver_height_m: f64,
) -> Vec<bool> {
    let grid = terrain.grid();
    let tx = terrain.mast_top(position, height_m);
    // Each ray becomes its horizon: the steepest slope from the mast up to each sample.
    let step_m = grid.cell_m;
    let fan = Fan::new_with(terrain, position, |ray| {
        let mut steepest = f32::NEG_INFINITY;
        for (k, h) in ray.iter_mut().enumerate() {
            let d = (k + 1) as f64 * step_m;
            steepest = steepest.max(((f64::from(*h) - tx) / d) as f32);
            *h = steepest;
        }
    });
    let horizon = &fan.heights;
    let mut seen = vec![false; grid.len()];
    seen.par_chunks_mut(grid.cols)
        .enumerate()
        .for_each(|(row, out)| {
            for (col, o) in out.iter_mut().enumerate() {
                let i = grid.index(col, row);
                let to = grid.center(col, row);
                let (ray, n, d) = fan.profile_to(to);
                let rx = f64::from(terrain.ground.values[i]) + receiver_height_m;
                let slope = (rx - tx) / d.max(1e-9);
                *o = n == 0 || f64::from(horizon[ray * fan.samples + n - 1]) <= slope;
            }
        });
    seen
}

/// One point of a link's profile.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ProfilePoint {
    /// From the transmitter, metres.
    pub distance_m: f64,
    pub ground_m: f64,
    /// Top of the surface (DSM): what blocks the signal.
    pub surface_m: f64,
    /// The straight line between the antennas, with the Earth's bulge taken off (k = 4/3).
    pub line_m: f64,
    /// Radius of the first Fresnel zone.
    pub fresnel_m: f64,
}

/// A point-to-point link over the terrain: the profile and the loss broken down.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Link {
    pub distance_m: f64,
    pub frequency_mhz: f64,
    /// Antenna heights above the datum.
    pub tx_m: f64,
    pub rx_m: f64,
    pub free_space_db: f64,
    pub diffraction_db: f64,
    pub method: Diffraction,
    /// Nothing of the surface crosses the straight line.
    pub line_of_sight: bool,
    /// Smallest clearance of the surface under the line, in first-Fresnel-zone radii (below 0:
    /// the line is cut; 0.6 or more is the usual planning margin).
    pub fresnel_clearance: f64,
    /// Where that smallest clearance is: distance from the transmitter and surface height.
    pub worst_point: Option<(f64, f64)>,
    pub profile: Vec<ProfilePoint>,
}

/// The link from `from` (`from_height_m` above the ground) to `to` (`to_height_m` above it)
/// over `models`' surface, sampled every `step_m`.
pub fn link(
    models: &TerrainModels,
    (from, from_height_m): (DVec2, f64),
    (to, to_height_m): (DVec2, f64),
    frequency_mhz: f64,
    method: Diffraction,
    step_m: f64,
) -> Result<Link, RadioError> {
    let grid = models.grid();
    let (fc, fr) = cell_of(&grid, "from", from)?;
    let (tc, tr) = cell_of(&grid, "to", to)?;
    let (lo, hi) = FREQUENCY_RANGE_MHZ;
    if !(lo..=hi).contains(&frequency_mhz) {
        return Err(RadioError::Frequency {
            id: "link".into(),
            frequency_mhz,
        });
    }
    let tx = f64::from(models.dtm.at(fc, fr)) + from_height_m;
    let rx = f64::from(models.dtm.at(tc, tr)) + to_height_m;
    let d = from.distance(to);
    let step = step_m.max(grid.cell_m / 4.0);
    let wavelength = SPEED_OF_LIGHT / (frequency_mhz * 1.0e6);
    let n = ((d / step).ceil() as usize).saturating_sub(1);
    let mut heights = Vec::with_capacity(n);
    let mut profile = Vec::with_capacity(n);
    let (mut clearance, mut worst) = (f64::INFINITY, None);
    for k in 1..=n {
        let di = k as f64 * step;
        let p = from + (to - from) * (di / d);
        let (c, r) = grid.cell_of(p).unwrap_or((fc, fr));
        let (ground, surface) = (
            f64::from(models.dtm.at(c, r)),
            f64::from(models.dsm.at(c, r)),
        );
        heights.push(surface as f32);
        let bulge = di * (d - di) / (2.0 * EFFECTIVE_EARTH_RADIUS_M);
        let line = tx + (rx - tx) * di / d - bulge;
        let fresnel = (wavelength * di * (d - di) / d).sqrt();
        let c = (line - surface) / fresnel.max(1e-9);
        if c < clearance {
            clearance = c;
            worst = Some((di, surface));
        }
        profile.push(ProfilePoint {
            distance_m: di,
            ground_m: ground,
            surface_m: surface,
            line_m: line,
            fresnel_m: fresnel,
        });
    }
    let path = Path {
        tx_m: tx,
        rx_m: rx,
        length_m: d,
        wavelength_m: wavelength,
        step_m: step,
        heights: &heights,
    };
    let slant = (d * d + (tx - rx).powi(2)).sqrt();
    Ok(Link {
        distance_m: d,
        frequency_mhz,
        tx_m: tx,
        rx_m: rx,
        free_space_db: free_space_loss_db(slant, frequency_mhz),
        diffraction_db: path.diffraction_db(method),
        method,
        line_of_sight: clearance >= 0.0,
        fresnel_clearance: if clearance.is_finite() {
            clearance
        } else {
            f64::INFINITY
        },
        worst_point: worst,
        profile,
    })
}

impl Link {
    /// The attenuation of `antenna`'s pattern (standing at the link's start) towards `to`,
    /// the link's end, dB: its bearing off the boresight and its angle below the horizon.
    pub fn pattern_db(&self, antenna: &Antenna, to: DVec2) -> f64 {
        let v = to - antenna.position;
        let bearing = v.x.atan2(v.y).to_degrees();
        let below = (self.tx_m - self.rx_m)
            .atan2(self.distance_m.max(1e-9))
            .to_degrees();
        pattern_loss_db(
            antenna.azimuth_deg.map_or(0.0, |az| bearing - az),
            below,
            antenna.azimuth_deg.map(|_| antenna.beamwidth_deg),
            antenna.tilt_deg,
            antenna.vertical_beamwidth_deg,
        )
    }
}

/// The received power at `to` over flat open ground (free space and the pattern, nothing in
/// between), the receiver `rx_height_m` above it: what a flat terrain's raster must equal.
pub fn free_space_received_dbm(a: &Antenna, rx_height_m: f64, to: DVec2) -> f64 {
    let v = to - a.position;
    let d = v.length();
    let dz = a.height_m - rx_height_m;
    let slant = DVec3::new(v.x, v.y, dz).length();
    let bearing = v.x.atan2(v.y).to_degrees();
    let pattern = pattern_loss_db(
        a.azimuth_deg.map_or(0.0, |az| bearing - az),
        dz.atan2(d.max(1e-3)).to_degrees(),
        a.azimuth_deg.map(|_| a.beamwidth_deg),
        a.tilt_deg,
        a.vertical_beamwidth_deg,
    );
    a.eirp_dbm - pattern - free_space_loss_db(slant, a.frequency_mhz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_loss_is_p525() {
        // ITU-R P.525: 1 km at 3 500 MHz.
        assert!((free_space_loss_db(1000.0, 3500.0) - 103.3).abs() < 0.1);
        // Doubling the distance adds 6.02 dB.
        let step = free_space_loss_db(2000.0, 900.0) - free_space_loss_db(1000.0, 900.0);
        assert!((step - 6.0206).abs() < 1e-3);
    }

    #[test]
    fn knife_edge_loss_is_p526() {
        for (nu, j) in [(0.0, 6.03), (1.0, 13.93), (2.4, 20.54)] {
            let got = knife_edge_loss_db(nu);
            assert!((got - j).abs() < 0.01, "J({nu}) = {got}");
        }
        assert_eq!(knife_edge_loss_db(-0.78), 0.0);
        assert_eq!(knife_edge_loss_db(-2.0), 0.0);
        assert!(knife_edge_loss_db(-0.77) > 0.0);
    }

    #[test]
    fn one_wall_gives_the_knife_edge_loss_by_both_methods() {
        // Flat ground at 0 m, a 20 m wall 400 m from a 30 m mast, a receiver 600 m beyond
        // at 1.5 m; profile every metre.
        let step = 1.0;
        let length = 1000.0;
        let mut heights = vec![0.0f32; 999];
        heights[399] = 25.0;
        let path = Path {
            tx_m: 30.0,
            rx_m: 1.5,
            length_m: length,
            wavelength_m: SPEED_OF_LIGHT / 3.5e9,
            step_m: step,
            heights: &heights,
        };
        let (d1, d2) = (400.0, 600.0);
        let bulge = d1 * d2 / (2.0 * EFFECTIVE_EARTH_RADIUS_M);
        let line = 30.0 + (1.5 - 30.0) * d1 / length;
        let h = f64::from(heights[399]) + bulge - line;
        let nu = h * (2.0 * length / (path.wavelength_m * d1 * d2)).sqrt();
        let expected = knife_edge_loss_db(nu);
        assert!(expected > 10.0, "J = {expected}, ν = {nu}");
        for method in [Diffraction::Deygout, Diffraction::Bullington] {
            let got = path.diffraction_db(method);
            assert!(
                (got - expected).abs() < 1e-6,
                "{method:?}: {got} vs {expected}"
            );
        }
        // No wall, high ends: no loss.
        let flat = vec![0.0f32; 999];
        let clear = Path {
            heights: &flat,
            ..path
        };
        assert_eq!(clear.diffraction_db(Diffraction::Deygout), 0.0);
        assert_eq!(clear.diffraction_db(Diffraction::Bullington), 0.0);
    }

    #[test]
    fn deygout_adds_the_edges_on_each_side() {
        let mut heights = vec![0.0f32; 999];
        heights[299] = 25.0;
        heights[699] = 22.0;
        let path = Path {
            tx_m: 10.0,
            rx_m: 1.5,
            length_m: 1000.0,
            wavelength_m: SPEED_OF_LIGHT / 9.0e8,
            step_m: 1.0,
            heights: &heights,
        };
        let two = path.diffraction_db(Diffraction::Deygout);
        let mut one = heights.clone();
        one[699] = 0.0;
        let single = Path {
            heights: &one,
            ..path
        }
        .diffraction_db(Diffraction::Deygout);
        assert!(two > single + 3.0, "{two} vs {single}");
        // A 20 m wide flat roof is one obstacle: its other points add nothing to its main
        // edge, whichever that is.
        let mut roof = vec![0.0f32; 999];
        for h in &mut roof[300..320] {
            *h = 25.0;
        }
        let wide = Path {
            heights: &roof,
            ..path
        };
        let main = wide
            .main_edge((None, 0.0, 10.0), (None, 1000.0, 1.5), None)
            .map(|(_, nu, _, _)| knife_edge_loss_db(nu))
            .unwrap();
        assert!(main > 10.0);
        assert!((wide.diffraction_db(Diffraction::Deygout) - main).abs() < 1e-9);
    }

    /// Flat ground at 100 m, 800 m square at 2 m, with `walls` (cells raised, class 5).
    fn flat(walls: &[(usize, usize, f32)]) -> TerrainModels {
        let grid = Grid {
            min_xy: DVec2::new(600_000.0, 6_800_000.0),
            cell_m: 2.0,
            cols: 400,
            rows: 400,
        };
        let mut models = TerrainModels {
            dtm: Raster::filled(grid, 100.0),
            dsm: Raster::filled(grid, 100.0),
            top_class: vec![2; grid.len()],
        };
        for &(c, r, h) in walls {
            let i = grid.index(c, r);
            models.dsm.values[i] = 100.0 + h;
            models.top_class[i] = 5;
        }
        models
    }

    fn sector(position: DVec2) -> Antenna {
        Antenna {
            id: "s1".into(),
            position,
            height_m: 30.0,
            frequency_mhz: 3500.0,
            eirp_dbm: 60.0,
            azimuth_deg: Some(90.0),
            beamwidth_deg: 65.0,
            tilt_deg: 2.0,
            vertical_beamwidth_deg: 10.0,
        }
    }

    fn spec(method: Diffraction) -> CoverageSpec {
        CoverageSpec {
            resolution_m: 2.0,
            receiver_height_m: 1.5,
            method,
            indoor_loss_db: 0.0,
        }
    }

    #[test]
    fn over_flat_ground_coverage_is_free_space_and_pattern() {
        let models = flat(&[]);
        let centre = models.grid().center(200, 200);
        let a = sector(centre);
        let cov = Coverage::new(
            RadioTerrain::new(&models, 2.0),
            spec(Diffraction::Deygout),
            vec![a.clone()],
        )
        .unwrap();
        let g = cov.terrain.grid();
        let mut checked = 0;
        for i in 0..g.len() {
            let (c, r) = g.col_row(i);
            let to = g.center(c, r);
            if to.distance(centre) < 20.0 {
                continue;
            }
            let expected = free_space_received_dbm(&a, 1.5, to);
            let got = f64::from(cov.best_dbm.values[i]);
            assert!(
                (got - expected).abs() < 0.5,
                "cell {c},{r}: {got} vs {expected}"
            );
            checked += 1;
        }
        assert!(checked > 150_000);
    }

    #[test]
    fn behind_a_wall_coverage_is_the_knife_edge_value() {
        // A 20 m wall across the boresight (east), 100 m from the mast.
        let walls: Vec<_> = (0..400).map(|r| (250usize, r, 20.0f32)).collect();
        let models = flat(&walls);
        let g = models.grid();
        let centre = g.center(200, 200);
        let a = sector(centre);
        for method in [Diffraction::Deygout, Diffraction::Bullington] {
            let cov = Coverage::new(
                RadioTerrain::new(&models, 2.0),
                spec(method),
                vec![a.clone()],
            )
            .unwrap();
            for col in [300, 350, 390] {
                let to = g.center(col, 200);
                let wall = g.center(250, 200);
                let (d1, d2) = (wall.distance(centre), to.distance(wall));
                let d = d1 + d2;
                let line = 130.0 + (101.5 - 130.0) * d1 / d;
                let h = 120.0 + d1 * d2 / (2.0 * EFFECTIVE_EARTH_RADIUS_M) - line;
                let wavelength = SPEED_OF_LIGHT / 3.5e9;
                let nu = h * (2.0 * d / (wavelength * d1 * d2)).sqrt();
                let expected = free_space_received_dbm(&a, 1.5, to) - knife_edge_loss_db(nu);
                let got = f64::from(cov.best_dbm.values[g.index(col, 200)]);
                assert!(
                    (got - expected).abs() < 1.0,
                    "{method:?} at {col}: {got} vs {expected} (J = {})",
                    knife_edge_loss_db(nu)
                );
            }
        }
    }

    #[test]
    fn an_obstacle_never_improves_coverage() {
        // Blocks of pseudo-random heights added one set at a time.
        let mut walls = Vec::new();
        let mut seed = 12345u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for _ in 0..40 {
            let (c, r, h) = (
                next(400) as usize,
                next(400) as usize,
                3.0 + next(30) as f32,
            );
            for dc in 0..6 {
                for dr in 0..6 {
                    walls.push(((c + dc).min(399), (r + dr).min(399), h));
                }
            }
        }
        let centre = flat(&[]).grid().center(180, 210);
        let mut omni = sector(centre);
        omni.azimuth_deg = None;
        omni.frequency_mhz = 800.0;
        for method in [Diffraction::Deygout, Diffraction::Bullington] {
            let run = |walls: &[(usize, usize, f32)]| {
                Coverage::new(
                    RadioTerrain::new(&flat(walls), 2.0),
                    spec(method),
                    vec![omni.clone()],
                )
                .unwrap()
                .best_dbm
            };
            let (half, all) = (run(&walls[..walls.len() / 2]), run(&walls));
            let worse = half
                .values
                .iter()
                .zip(&all.values)
                .filter(|(a, b)| **b > **a + 1e-3)
                .count();
            assert_eq!(
                worse, 0,
                "{method:?}: {worse} cells better with more obstacles"
            );
            assert!(
                all.values
                    .iter()
                    .zip(&half.values)
                    .any(|(a, b)| *a < *b - 3.0)
            );
        }
    }

    #[test]
    fn the_shared_profiles_agree_with_a_walk_per_cell() {
        let walls: Vec<_> = (0..200)
            .flat_map(|k| [(120 + k / 4, 60 + k, 15.0f32), (300, 100 + k, 25.0)])
            .collect();
        let models = flat(&walls);
        let terrain = RadioTerrain::new(&models, 2.0);
        let centre = models.grid().center(200, 200);
        let s = spec(Diffraction::Deygout);
        let fast = mast_loss(&terrain, &s, centre, 30.0, 2600.0).loss_db;
        let slow = mast_loss_per_cell(&terrain, &s, centre, 30.0, 2600.0);
        let mut diffs: Vec<f32> = fast.iter().zip(&slow).map(|(a, b)| (a - b).abs()).collect();
        diffs.sort_by(f32::total_cmp);
        let median = diffs[diffs.len() / 2];
        let p95 = diffs[diffs.len() * 95 / 100];
        assert!(
            median < 0.1 && p95 < 3.0,
            "median {median} dB, 95th {p95} dB"
        );
    }

    #[test]
    fn moving_a_site_recomputes_only_its_mast_and_matches_a_fresh_run() {
        let models = flat(&[(250, 200, 20.0), (251, 200, 20.0)]);
        let g = models.grid();
        let terrain = RadioTerrain::new(&models, 2.0);
        let (p, q) = (g.center(100, 100), g.center(300, 300));
        let mut a = sector(p);
        let b = Antenna {
            id: "s2".into(),
            azimuth_deg: Some(210.0),
            ..sector(p)
        };
        let mut cov = Coverage::new(
            terrain.clone(),
            spec(Diffraction::Deygout),
            vec![a.clone(), b.clone()],
        )
        .unwrap();
        assert_eq!(cov.masts(), 1, "two sectors on one mast");
        assert_eq!(cov.masts_computed, 1);
        a.position = q;
        cov.replace_site(0, a.clone()).unwrap();
        assert_eq!(cov.masts(), 2);
        assert_eq!(cov.masts_computed, 2, "only the moved site's mast");
        // Turning a sector recomputes no mast.
        let mut turned = b.clone();
        turned.azimuth_deg = Some(30.0);
        cov.replace_site(1, turned).unwrap();
        cov.replace_site(1, b.clone()).unwrap();
        assert_eq!(cov.masts_computed, 2);
        let fresh = Coverage::new(terrain.clone(), spec(Diffraction::Deygout), vec![a, b]).unwrap();
        assert_eq!(cov.best_dbm, fresh.best_dbm);
        // Adding a site computes its mast alone; the best server never gets worse.
        let before = cov.best_dbm.clone();
        cov.add_site(sector(g.center(300, 100))).unwrap();
        assert_eq!(cov.masts_computed, 3);
        assert!(
            cov.best_dbm
                .values
                .iter()
                .zip(&before.values)
                .all(|(after, before)| after >= before)
        );
        cov.remove_site(2);
        assert_eq!(cov.best_dbm, before);
        cov.remove_site(1);
        assert_eq!(cov.masts(), 1);
    }

    #[test]
    fn a_links_pattern_is_the_sectors_towards_its_end() {
        let models = flat(&[]);
        let g = models.grid();
        let (from, to) = (g.center(100, 100), g.center(100, 300));
        let l = link(
            &models,
            (from, 30.0),
            (to, 1.5),
            3500.0,
            Diffraction::Deygout,
            1.0,
        )
        .unwrap();
        let below = (28.5f64).atan2(l.distance_m).to_degrees();
        // Facing the receiver (north), tilted at it: nothing; facing east: 90° off the beam.
        let mut a = sector(from);
        a.azimuth_deg = Some(0.0);
        a.tilt_deg = below;
        assert!(l.pattern_db(&a, to).abs() < 1e-9);
        a.azimuth_deg = Some(90.0);
        let expected = pattern_loss_db(-90.0, below, Some(a.beamwidth_deg), below, 10.0);
        assert!((l.pattern_db(&a, to) - expected).abs() < 1e-9);
        assert!(expected > 20.0);
        a.azimuth_deg = None;
        assert!(l.pattern_db(&a, to).abs() < 1e-9);
    }

    #[test]
    fn bad_sites_are_named() {
        let terrain = RadioTerrain::new(&flat(&[]), 2.0);
        let mut a = sector(DVec2::new(0.0, 0.0));
        let err = Coverage::new(terrain.clone(), spec(Diffraction::Deygout), vec![a.clone()])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("site `s1` at (0.0, 0.0) lies outside the terrain"),
            "{err}"
        );
        a.position = terrain.grid().center(5, 5);
        a.frequency_mhz = 10.0;
        let err = Coverage::new(terrain, spec(Diffraction::Deygout), vec![a])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("10 MHz is outside"), "{err}");
    }

    #[test]
    fn line_of_sight_stops_behind_a_wall() {
        let walls: Vec<_> = (0..400).map(|r| (250usize, r, 40.0f32)).collect();
        let models = flat(&walls);
        let terrain = RadioTerrain::new(&models, 2.0);
        let g = terrain.grid();
        let seen = line_of_sight(&terrain, g.center(200, 200), 30.0, 1.5);
        assert!(seen[g.index(240, 200)] && seen[g.index(100, 300)]);
        assert!(!seen[g.index(260, 200)] && !seen[g.index(390, 10)]);
        // Exactly the cells east of the wall are hidden (the wall's own cells, under it,
        // either way).
        for (i, s) in seen.iter().enumerate() {
            let (c, r) = g.col_row(i);
            if c != 250 {
                assert_eq!(*s, c < 250, "cell {c},{r}");
            }
        }
    }

    #[test]
    fn a_link_over_a_wall_breaks_its_loss_down() {
        // The wall of `behind_a_wall_…` between a 30 m mast and a receiver 1.5 m up.
        let walls: Vec<_> = (0..400).map(|r| (250usize, r, 25.0f32)).collect();
        let models = flat(&walls);
        let g = models.grid();
        let (from, to) = (g.center(200, 200), g.center(350, 200));
        let l = link(
            &models,
            (from, 30.0),
            (to, 1.5),
            3500.0,
            Diffraction::Deygout,
            0.5,
        )
        .unwrap();
        assert_eq!(l.distance_m, 300.0);
        assert!(
            (l.free_space_db
                - free_space_loss_db((300.0f64.powi(2) + 28.5f64.powi(2)).sqrt(), 3500.0))
            .abs()
                < 1e-9
        );
        assert!(!l.line_of_sight && l.fresnel_clearance < 0.0);
        let (at, top) = l.worst_point.unwrap();
        assert!((at - 100.0).abs() <= 1.0 && top == 125.0, "{at} {top}");
        // The single edge: the loss is the knife edge's.
        let (d1, d2) = (99.0 + 1.0, 200.0);
        let line = 130.0 + (101.5 - 130.0) * d1 / 300.0;
        let h = 125.0 + d1 * d2 / (2.0 * EFFECTIVE_EARTH_RADIUS_M) - line;
        let nu = h * (2.0 * 300.0 / (SPEED_OF_LIGHT / 3.5e9 * d1 * d2)).sqrt();
        assert!(
            (l.diffraction_db - knife_edge_loss_db(nu)).abs() < 1.0,
            "{} vs {}",
            l.diffraction_db,
            knife_edge_loss_db(nu)
        );
        assert_eq!(l.profile.len(), 599);
        // Over open ground the same link is clear, with no diffraction.
        let open = link(
            &flat(&[]),
            (from, 30.0),
            (to, 1.5),
            3500.0,
            Diffraction::Deygout,
            0.5,
        )
        .unwrap();
        assert!(open.line_of_sight && open.fresnel_clearance > 0.6);
        assert_eq!(open.diffraction_db, 0.0);
        let err = link(
            &models,
            (from, 30.0),
            (DVec2::ZERO, 1.5),
            3500.0,
            Diffraction::Deygout,
            1.0,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("site `to` at (0.0, 0.0) lies outside"),
            "{err}"
        );
    }

    #[test]
    fn the_sector_pattern_is_tr_36_814() {
        // Boresight and tilt: no loss; 3 dB at half the beam width; 25 dB at most.
        assert_eq!(pattern_loss_db(0.0, 10.0, Some(65.0), 10.0, 10.0), 0.0);
        assert!((pattern_loss_db(32.5, 10.0, Some(65.0), 10.0, 10.0) - 3.0).abs() < 1e-9);
        assert!((pattern_loss_db(0.0, 15.0, Some(65.0), 10.0, 10.0) - 3.0).abs() < 1e-9);
        assert_eq!(pattern_loss_db(180.0, 10.0, Some(65.0), 10.0, 10.0), 25.0);
        let wrapped = pattern_loss_db(-300.0, 10.0, Some(65.0), 10.0, 10.0);
        assert!((wrapped - 12.0 * (60.0f64 / 65.0).powi(2)).abs() < 1e-9);
        // Omnidirectional: only the vertical pattern.
        assert!((pattern_loss_db(123.0, 5.0, None, 10.0, 10.0) - 3.0).abs() < 1e-9);
    }
}
