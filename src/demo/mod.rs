//! The demo territory: a procedural town (terrain, streets, buildings, trees, a river) sampled
//! like an airborne LiDAR scan, written as LAZ. No download, no file to find; also the large
//! synthetic input of the benchmarks.

pub mod buildings;
pub mod network;

use crate::pointcloud::las::write::{CHUNK_POINTS, LazLayout, write_laz};
use byteorder::{ByteOrder, LittleEndian as LE};
use std::path::Path;

/// Points per LAZ chunk of the generated file.
/// The demo town's CRS: Lambert-93.
pub(crate) const DEMO_EPSG: u32 = 2154;
/// Lambert-93 south-west corner of the demo town (near Rennes).
pub const DEMO_ORIGIN_L93: [f64; 2] = [350_000.0, 6_788_000.0];
/// Scan density, points per square metre (IGN LiDAR HD is about 10).
const DENSITY_PER_M2: f64 = 10.0;
pub(crate) const BLOCK_M: f64 = 80.0;
pub(crate) const STREET_M: f64 = 12.0;

pub(crate) use crate::spatial::random::SplitMix64 as Rng;

pub(crate) fn hash2(a: i64, b: i64, salt: u64) -> f64 {
    let mut r = Rng((a as u64).wrapping_mul(0x1234_5678_9ABC_DEF1)
        ^ (b as u64).wrapping_mul(0x0FED_CBA9_8765_4321)
        ^ salt);
    r.unit()
}

/// Ground height at a local position (metres above IGN69).
pub fn terrain_z(x: f64, y: f64) -> f64 {
    40.0 + 8.0 * (x / 150.0).sin() * (y / 210.0).cos() + 3.0 * (x / 37.0 + y / 91.0).sin()
}

/// Centre line of the river: its y at `x` (local metres).
pub(crate) fn river_centre_y(x: f64) -> f64 {
    220.0 + 60.0 * (x / 180.0).sin()
}

/// Half-width of the river.
pub(crate) const RIVER_HALF_WIDTH_M: f64 = 15.0;

pub(crate) fn river_distance(x: f64, y: f64) -> f64 {
    (y - river_centre_y(x)).abs()
}

/// Ridge height above the eaves of a gable roof, and the height under which a house has one.
pub(crate) const GABLE_RISE_M: f64 = 3.0;
pub(crate) const GABLE_BELOW_M: f64 = 12.0;

/// The building on plot (`gx`, `gy`) of the town's plot grid (2 × 2 plots per block), if the
/// plot has one: what the scan sees and the buildings tileset writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PlotBuilding {
    /// Garden between the plot's edge and the walls, metres.
    pub margin_m: f64,
    /// Eaves above the block's base, metres.
    pub height_m: f64,
    /// Red channel of the roof colour (the others follow from it).
    pub shade: f64,
}

pub(crate) fn plot_building(gx: i64, gy: i64) -> Option<PlotBuilding> {
    let plot = |salt| hash2(gx, gy, salt);
    (plot(1) < 0.7).then(|| PlotBuilding {
        margin_m: 3.0 + 5.0 * plot(2),
        height_m: 6.0 + 20.0 * plot(3).powi(2),
        shade: 150.0 + 80.0 * plot(4),
    })
}

/// What lies at a local position: (classification, surface height, colour).
pub(crate) fn surface(x: f64, y: f64, rng: &mut Rng) -> (u8, f64, [u16; 3], u8, u8) {
    let ground = terrain_z(x, y);
    if river_distance(x, y) < RIVER_HALF_WIDTH_M {
        return (9, 36.0, [40, 70, 120], 1, 1);
    }
    let (bx, by) = ((x / BLOCK_M).floor(), (y / BLOCK_M).floor());
    let (lx, ly) = (x - bx * BLOCK_M, y - by * BLOCK_M);
    if lx < STREET_M || ly < STREET_M {
        return (2, ground, [110, 110, 115], 1, 1);
    }
    // Up to four buildings per block, on a 2×2 plot grid.
    let (px, py) = (
        ((lx - STREET_M) / ((BLOCK_M - STREET_M) / 2.0)).floor(),
        ((ly - STREET_M) / ((BLOCK_M - STREET_M) / 2.0)).floor(),
    );
    let plot_m = (BLOCK_M - STREET_M) / 2.0;
    let (ox, oy) = (lx - STREET_M - px * plot_m, ly - STREET_M - py * plot_m);
    if let Some(building) = plot_building((bx * 2.0 + px) as i64, (by * 2.0 + py) as i64) {
        let margin = building.margin_m;
        if ox > margin && oy > margin && ox < plot_m - margin && oy < plot_m - margin {
            let height = building.height_m;
            let base = terrain_z((bx * BLOCK_M) + STREET_M, (by * BLOCK_M) + STREET_M);
            // Gable roofs on low houses, flat roofs on tall ones.
            let roof = if height < GABLE_BELOW_M {
                GABLE_RISE_M * (1.0 - (2.0 * (ox - margin) / (plot_m - 2.0 * margin) - 1.0).abs())
            } else {
                0.0
            };
            let shade = building.shade as u16;
            return (
                6,
                base + height + roof,
                [shade, shade / 2 + 40, shade / 3 + 30],
                1,
                1,
            );
        }
    }
    // Gardens with trees.
    let (tx, ty) = ((x / 9.0).floor(), (y / 9.0).floor());
    let cx = tx * 9.0 + 4.5 + 2.0 * (hash2(tx as i64, ty as i64, 7) - 0.5);
    let cy = ty * 9.0 + 4.5 + 2.0 * (hash2(tx as i64, ty as i64, 8) - 0.5);
    let radius = 2.5 + 2.0 * hash2(tx as i64, ty as i64, 9);
    let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
    if hash2(tx as i64, ty as i64, 10) < 0.45 && d < radius {
        if rng.unit() < 0.3 {
            return (2, ground, [70, 90, 50], 2, 2);
        }
        let crown = 8.0 + 6.0 * hash2(tx as i64, ty as i64, 11);
        let z = ground + crown * (1.0 - (d / radius).powi(2) * 0.4) - 2.0 * rng.unit();
        let class = if crown - (z - ground) > crown * 0.5 {
            4
        } else {
            5
        };
        return (class, z, [40, (110.0 + 60.0 * rng.unit()) as u16, 40], 1, 2);
    }
    (2, ground, [90, 140, 70], 1, 1)
}

/// Side of the square town holding `points` at the demo density, in metres.
pub fn side_m(points: u64) -> f64 {
    (points as f64 / DENSITY_PER_M2).sqrt().max(10.0)
}

/// Point format 7 records (36 bytes) of chunk `index`, scanned along the x axis.
fn chunk_records(index: u64, count: u64, total: u64, seed: u64) -> Vec<u8> {
    let side = side_m(total);
    let mut rng = Rng(seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407));
    let mut out = vec![0u8; (count * 36) as usize];
    // Chunks sweep the town in strips, like flight lines.
    let strip_len = total.div_ceil(CHUNK_POINTS).max(1) as f64;
    let y0 = side * (index as f64 / strip_len);
    let y1 = side * ((index + 1) as f64 / strip_len);
    for (i, r) in out.chunks_exact_mut(36).enumerate() {
        let x = rng.unit() * side;
        let y = y0 + rng.unit() * (y1 - y0);
        let (class, z, rgb, return_number, returns) = surface(x, y, &mut rng);
        let z = z + 0.03 * (rng.unit() - 0.5);
        LE::write_i32(
            &mut r[0..],
            ((x + DEMO_ORIGIN_L93[0]) * 100.0).round() as i32 - 35_000_000,
        );
        LE::write_i32(
            &mut r[4..],
            ((y + DEMO_ORIGIN_L93[1]) * 100.0).round() as i32 - 678_800_000,
        );
        LE::write_i32(&mut r[8..], (z * 100.0).round() as i32);
        let intensity = match class {
            6 => 900,
            9 => 80,
            2 => 600,
            _ => 300,
        } + (rng.unit() * 200.0) as u16;
        LE::write_u16(&mut r[12..], intensity);
        r[14] = return_number | (returns << 4);
        r[16] = class;
        LE::write_u16(&mut r[20..], (index % 7) as u16 + 1);
        LE::write_f64(
            &mut r[22..],
            3.0e8 + (index * CHUNK_POINTS + i as u64) as f64 * 1e-5,
        );
        for (c, v) in rgb.iter().enumerate() {
            let jitter = (rng.unit() * 20.0) as u16;
            LE::write_u16(&mut r[30 + 2 * c..], (v + jitter).min(255) * 256);
        }
    }
    out
}

/// A compressed chunk with its point count, raw bounds (min xyz, max xyz) and return counts.
/// The demo town's files: point format 7, centimetres from its south-west corner.
const DEMO_LAYOUT: LazLayout = LazLayout {
    point_format: 7,
    record_len: 36,
    system: "Jumeau synthetic scan",
    offset: [DEMO_ORIGIN_L93[0], DEMO_ORIGIN_L93[1], 0.0],
    epsg: DEMO_EPSG,
};

/// Writes the demo town as a LAS 1.4 point format 7 LAZ file in Lambert-93 (EPSG:2154).
pub fn write_demo_laz(
    path: &Path,
    points: u64,
    seed: u64,
    progress: &indicatif::ProgressBar,
) -> std::io::Result<()> {
    write_laz(path, &DEMO_LAYOUT, points, progress, |index, count| {
        chunk_records(index, count, points, seed)
    })
}

/// The demo twin's frame: Lambert-93 with NGF-IGN69 altitudes. The scan declares Lambert-93
/// alone, as IGN's LiDAR HD tiles do, so a twin opened on it takes IGN69 heights: the demo's
/// Earth-centred buildings are written through the same frame (RAF20) to line up.
pub fn demo_frame() -> Result<crate::georef::GeoFrame, String> {
    let frame = crate::georef::GeoFrame::projected(DEMO_EPSG)?;
    Ok(frame.with_vertical(crate::georef::VerticalDatum::Ign69))
}

/// Points of the demo twin opened by a bare `jumeau`.
pub const DEMO_TWIN_POINTS: u64 = 20_000_000;

#[cfg(not(target_arch = "wasm32"))]
/// The demo town as COPC in `dir` (generated and converted with Jumeau's own writer the first
/// time, then reused). The intermediate LAZ is removed once converted. Progress goes to
/// `progress` (its prefix says the stage: scanning, then writing COPC).
pub fn demo_twin_copc(
    dir: &Path,
    points: u64,
    progress: &indicatif::ProgressBar,
) -> Result<std::path::PathBuf, String> {
    let revision = crate::pointcloud::convert::COPC_WRITER_REVISION;
    let copc = dir.join(format!("demo-twin-{points}-r{revision}.copc.laz"));
    if copc.exists() {
        return Ok(copc);
    }
    // A demo written by an older writer revision is stale (revision 1 misplaced points in deep
    // octrees): it goes, and is rebuilt below.
    for stale in (0..revision)
        .map(|r| dir.join(format!("demo-twin-{points}-r{r}.copc.laz")))
        .chain([dir.join(format!("demo-twin-{points}.copc.laz"))])
    {
        let _ = std::fs::remove_file(stale);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let laz = dir.join(format!("demo-twin-{points}.laz"));
    eprintln!(
        "first run: scanning the demo town ({points} points) into {}",
        dir.display()
    );
    progress.set_prefix("scanning the demo town");
    progress.set_message("");
    progress.set_length(points);
    progress.set_position(0);
    write_demo_laz(&laz, points, 1, progress).map_err(|e| format!("{}: {e}", laz.display()))?;
    progress.set_prefix("writing the demo town as COPC");
    crate::pointcloud::convert::convert_files_to(
        std::slice::from_ref(&laz),
        &copc,
        &crate::pointcloud::convert::ConvertSettings {
            progress: Some(progress.clone()),
            ..Default::default()
        },
    )?;
    let _ = std::fs::remove_file(&laz);
    Ok(copc)
}

/// Extent of [`write_survey_laz`]'s survey: 3 km east–west, 1 km north–south.
pub const SURVEY_SIZE_M: [f64; 2] = [3000.0, 1000.0];
/// Lambert-93 south-west corner of the survey (a steep valley side, as in the Alps).
pub const SURVEY_ORIGIN_L93: [f64; 2] = [915_000.0, 6_455_000.0];
/// Flight lines of the survey: east–west strips that overlap by a fifth.
const SURVEY_STRIPS: u64 = 4;

/// Ground height of the survey at local `(x, y)`: a 700 m rise over 3 km, ridges with 50°
/// slopes and a 60 m cliff along a line.
pub fn survey_ground_z(x: f64, y: f64) -> f64 {
    let cliff = 60.0 / (1.0 + (-(y - 400.0 - 0.1 * x) / 2.0).exp());
    600.0 + 700.0 * (x / SURVEY_SIZE_M[0]) + 120.0 * (x / 95.0).sin() * (y / 140.0).cos() + cliff
}

/// Point format 6 records (30 bytes) of survey chunk `index`: points in acquisition order, strip
/// after strip (alternating direction), each strip a zigzag scan across track, with GPS time,
/// scan angle, two returns under trees.
fn survey_records(index: u64, count: u64, total: u64, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let per_strip = total.div_ceil(SURVEY_STRIPS).max(1);
    let half_width = SURVEY_SIZE_M[1] / SURVEY_STRIPS as f64 * 0.6;
    // Scan lines so that along-track and across-track spacings match.
    let spacing = (SURVEY_SIZE_M[0] * 2.0 * half_width / per_strip as f64).sqrt();
    let per_line = ((2.0 * half_width / spacing).round() as u64).max(2);
    let mut out = vec![0u8; (count * 30) as usize];
    for (i, r) in out.chunks_exact_mut(30).enumerate() {
        let k = index * CHUNK_POINTS + i as u64;
        let strip = k / per_strip;
        let along = (k % per_strip) as f64 / per_strip as f64;
        let x = if strip.is_multiple_of(2) {
            along * SURVEY_SIZE_M[0]
        } else {
            (1.0 - along) * SURVEY_SIZE_M[0]
        };
        let phase = (k % per_line) as f64 / per_line as f64;
        let across = if (k / per_line).is_multiple_of(2) {
            phase
        } else {
            1.0 - phase
        } * 2.0
            - 1.0;
        let centre = SURVEY_SIZE_M[1] * (strip as f64 + 0.5) / SURVEY_STRIPS as f64;
        let x = (x + spacing * (rng.unit() - 0.5)).clamp(0.0, SURVEY_SIZE_M[0]);
        let y = (centre + across * half_width).clamp(0.0, SURVEY_SIZE_M[1]);
        let ground = survey_ground_z(x, y);
        let forest = hash2((x / 25.0) as i64, (y / 25.0) as i64, seed) < 0.45;
        let (class, z, return_number, returns) = if forest && rng.unit() < 0.5 {
            (5, ground + 8.0 + 17.0 * rng.unit(), 1, 2)
        } else if forest {
            (2, ground, 2, 2)
        } else if rng.unit() < 0.1 {
            (3, ground + 0.5 * rng.unit(), 1, 1)
        } else {
            (2, ground, 1, 1)
        };
        let z = z + 0.05 * (rng.unit() - 0.5);
        LE::write_i32(&mut r[0..], (x * 100.0).round() as i32);
        LE::write_i32(&mut r[4..], (y * 100.0).round() as i32);
        LE::write_i32(&mut r[8..], (z * 100.0).round() as i32);
        LE::write_u16(&mut r[12..], 200 + (rng.unit() * 1500.0) as u16);
        r[14] = return_number | (returns << 4);
        // Scan direction flag, edge of flight line at the ends of a scan line.
        let edge = phase == 0.0 || k % per_line == per_line - 1;
        r[15] = (u8::from((k / per_line).is_multiple_of(2)) << 6) | (u8::from(edge) << 7);
        r[16] = class;
        // Scan angle in 0.006° units: ±20° across the swath.
        LE::write_i16(&mut r[18..], (across * 20.0 / 0.006) as i16);
        LE::write_u16(&mut r[20..], strip as u16 + 1);
        // One pulse every 4 µs; a 90 s turn between strips.
        LE::write_f64(&mut r[22..], 4.0e8 + k as f64 * 4e-6 + strip as f64 * 90.0);
    }
    out
}

/// Writes a survey unlike the demo town, as users bring them: `points` in a 3 km × 1 km
/// Lambert-93 area of steep relief, in flight-line (acquisition) order, LAS 1.4 point format 6
/// with GPS time, as LAZ.
pub fn write_survey_laz(
    path: &Path,
    points: u64,
    seed: u64,
    progress: &indicatif::ProgressBar,
) -> std::io::Result<()> {
    let layout = LazLayout {
        point_format: 6,
        record_len: 30,
        system: "Jumeau synthetic survey",
        offset: [SURVEY_ORIGIN_L93[0], SURVEY_ORIGIN_L93[1], 0.0],
        epsg: DEMO_EPSG,
    };
    write_laz(path, &layout, points, progress, |index, count| {
        survey_records(index, count, points, seed)
    })
}

/// Writes the demo town of `points` points as `side × side` LAZ tiles in `dir` (named
/// `town_{col}_{row}.laz`, as a commune's LiDAR tiles come), for the many-tiles workflows:
/// `jumeau convert --tiles`, a `.vpc`, a folder opened as one layer. Returns the tiles written
/// (a tile the town does not reach is not written).
pub fn write_demo_tiles(
    dir: &Path,
    points: u64,
    side: u32,
    seed: u64,
    progress: &indicatif::ProgressBar,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    let town = side_m(points);
    let tile_m = town / f64::from(side);
    let side = side.max(1) as usize;
    let mut buckets: Vec<Vec<u8>> = vec![Vec::new(); side * side];
    let chunks = points.div_ceil(CHUNK_POINTS);
    for i in 0..chunks {
        let count = CHUNK_POINTS.min(points - i * CHUNK_POINTS);
        for r in chunk_records(i, count, points, seed).chunks_exact(36) {
            // Local metres from the town's south-west corner (centimetres in the records).
            let x = f64::from(LE::read_i32(&r[0..])) / 100.0;
            let y = f64::from(LE::read_i32(&r[4..])) / 100.0;
            let col = ((x / tile_m) as usize).min(side - 1);
            let row = ((y / tile_m) as usize).min(side - 1);
            buckets[row * side + col].extend_from_slice(r);
        }
        progress.inc(count);
    }
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (index, records) in buckets.iter().enumerate() {
        let count = (records.len() / 36) as u64;
        if count == 0 {
            continue;
        }
        let path = dir.join(format!("town_{}_{}.laz", index % side, index / side));
        let hidden = indicatif::ProgressBar::hidden();
        write_laz(&path, &DEMO_LAYOUT, count, &hidden, |chunk, n| {
            let start = (chunk * CHUNK_POINTS * 36) as usize;
            records[start..start + (n * 36) as usize].to_vec()
        })?;
        written.push(path);
    }
    Ok(written)
}
