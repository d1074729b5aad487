//! Shared helpers of the integration tests: where the real data lives, and equality of points.
#![allow(dead_code)]

use std::path::PathBuf;

pub mod scene;
pub mod snapshot;

/// `../shared/data` (real files made by others, never committed): see
/// [`jumeau::testdata::shared_data`].
pub fn shared_data() -> Option<PathBuf> {
    jumeau::testdata::shared_data("")
}

pub use jumeau::testdata::data_required;

/// The Python with laspy (`JUMEAU_PYTHON`, as `.ci/run` sets it) that runs the reference-reader
/// checks; `None` with a visible message where it is not set, a failure under
/// `JUMEAU_REQUIRE_DATA=1`.
pub fn reference_python() -> Option<std::ffi::OsString> {
    let python = std::env::var_os("JUMEAU_PYTHON");
    if python.is_none() {
        assert!(
            !data_required(),
            "JUMEAU_PYTHON is not set and JUMEAU_REQUIRE_DATA=1 forbids skipping the reference-reader checks"
        );
        eprintln!(
            "SKIPPED: set JUMEAU_PYTHON to a python with laspy[lazrs] for the reference-reader checks"
        );
    }
    python
}

/// Runs `tests/scripts/SCRIPT` with the reference Python and returns what it printed as JSON.
pub fn run_reference_script(
    python: &std::ffi::OsStr,
    script: &str,
    args: &[&std::ffi::OsStr],
) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts")
        .join(script);
    let run = std::process::Command::new(python)
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        run.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&run.stdout)
        )
    })
}

/// Runs the `jumeau` binary with `args` (and `JUMEAU_CACHE_DIR` when given); fails the test
/// with its stderr unless it succeeds; returns what it printed as JSON.
pub fn jumeau_json(
    args: &[std::ffi::OsString],
    cache: Option<&std::path::Path>,
) -> serde_json::Value {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_jumeau"));
    if let Some(cache) = cache {
        command.env("JUMEAU_CACHE_DIR", cache);
    }
    let out = command.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Returns the shared data folder or ends the test early (skipping, with a message).
#[macro_export]
macro_rules! require_data {
    () => {
        match common::shared_data() {
            Some(dir) => dir,
            None => return,
        }
    };
}

/// Every LAS/LAZ file (not COPC) of the shared data.
pub fn las_and_laz(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("lidar"))
        .expect("lidar folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.to_string_lossy();
            (name.ends_with(".las") || name.ends_with(".laz")) && !name.ends_with(".copc.laz")
        })
        .collect();
    files.sort();
    files
}

/// A point reduced to what must survive conversion, comparable across point formats.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PointKey {
    pub xyz: [i64; 3],
    pub intensity: u16,
    /// return number, number of returns, classification
    pub returns_class: [u8; 3],
    /// synthetic, key-point, withheld, edge of flight line, scan direction
    pub flags: [bool; 5],
    pub scan_angle_tenths: i32,
    pub user_data: u8,
    pub point_source_id: u16,
    pub gps_time_bits: u64,
    pub rgb_nir: [u16; 4],
    pub extra: Vec<u8>,
}

/// Canonical keys of every point of a file, read with the `las` crate (an independent reader),
/// sorted so files with the same points in another order compare equal.
pub fn point_keys(path: &std::path::Path) -> Vec<PointKey> {
    let mut reader = las::Reader::from_path(path)
        .unwrap_or_else(|e| panic!("las crate cannot read {}: {e}", path.display()));
    let t = *reader.header().transforms();
    let data = reader.read_all().unwrap_or_else(|e| {
        panic!(
            "las crate cannot read the points of {}: {e}",
            path.display()
        )
    });
    let mut keys: Vec<PointKey> = data
        .points()
        .map(|p| {
            let p = p.expect("point");
            let mut extra = p.extra_bytes.clone();
            if let Some(w) = &p.waveform {
                // Wave packets become extra bytes in COPC: same bytes, same order.
                extra.push(w.wave_packet_descriptor_index);
                extra.extend_from_slice(&w.byte_offset_to_waveform_data.to_le_bytes());
                extra.extend_from_slice(&w.waveform_packet_size_in_bytes.to_le_bytes());
                for v in [w.return_point_waveform_location, w.x_t, w.y_t, w.z_t] {
                    extra.extend_from_slice(&v.to_le_bytes());
                }
            }
            let color = p.color.map_or([0; 3], |c| [c.red, c.green, c.blue]);
            PointKey {
                xyz: [
                    ((p.x - t.x.offset) / t.x.scale).round() as i64,
                    ((p.y - t.y.offset) / t.y.scale).round() as i64,
                    ((p.z - t.z.offset) / t.z.scale).round() as i64,
                ],
                intensity: p.intensity,
                returns_class: [
                    p.return_number,
                    p.number_of_returns,
                    u8::from(p.classification),
                ],
                flags: [
                    p.is_synthetic,
                    p.is_key_point,
                    p.is_withheld,
                    p.is_edge_of_flight_line,
                    p.scan_direction == las::point::ScanDirection::LeftToRight,
                ],
                scan_angle_tenths: (p.scan_angle * 10.0).round() as i32,
                user_data: p.user_data,
                point_source_id: p.point_source_id,
                gps_time_bits: p.gps_time.unwrap_or(0.0).to_bits(),
                rgb_nir: [color[0], color[1], color[2], p.nir.unwrap_or(0)],
                extra,
            }
        })
        .collect();
    keys.sort();
    keys
}

/// First differing point of two sorted key lists, for readable failures.
pub fn first_difference(
    a: &[PointKey],
    b: &[PointKey],
) -> Option<(usize, Option<PointKey>, Option<PointKey>)> {
    (0..a.len().max(b.len()))
        .find(|&i| a.get(i) != b.get(i))
        .map(|i| (i, a.get(i).cloned(), b.get(i).cloned()))
}
