//! Jumeau's georeferencing against PROJ (through pyproj, the reference): projected CRSs users
//! bring (Lambert-93, UTM 31N on WGS 84, UTM 32N on ETRS89, a US-feet state plane) to their
//! geographic CRS, and Lambert-93 with NGF-IGN69 altitudes to WGS 84 ellipsoidal heights
//! through the RAF20 grid, each within a centimetre, and the `crs transform` command.

mod common;

use bevy::math::DVec3;
use jumeau::georef::transform::{CrsSpec, transform};

/// Metres per degree of latitude (and of longitude at the equator): enough to turn a difference
/// of degrees into a distance on the ground, bounded above.
const METRES_PER_DEGREE: f64 = 111_320.0;

/// `count` positions spread over `min..max` (x, y), at heights 0..500 m, deterministic.
fn positions(min: [f64; 2], max: [f64; 2], count: usize) -> Vec<DVec3> {
    (0..count)
        .map(|i| {
            let t = (i as f64 + 0.5) / count as f64;
            let u = (i as f64 * 0.618_033_988_75).fract();
            DVec3::new(
                min[0] + t * (max[0] - min[0]),
                min[1] + u * (max[1] - min[1]),
                (i * 37 % 500) as f64,
            )
        })
        .collect()
}

/// What PROJ gives for `points` from `from` to `to`.
fn proj(python: &std::ffi::OsStr, from: &str, to: &str, points: &[DVec3]) -> Vec<DVec3> {
    let grids = tempfile::tempdir().unwrap();
    let data = common::shared_data().unwrap();
    std::fs::copy(
        data.join("geoid/fr_ign_RAF20.tif"),
        grids.path().join("fr_ign_RAF20.tif"),
    )
    .unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/pyproj_transform.py");
    let mut child = std::process::Command::new(python)
        .arg(&script)
        .args([from, to])
        .arg(grids.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = points
        .iter()
        .map(|p| format!("{} {} {}\n", p.x, p.y, p.z))
        .collect();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "pyproj: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Vec<f64> = l.split(' ').map(|x| x.parse().unwrap()).collect();
            DVec3::new(v[0], v[1], v[2])
        })
        .collect()
}

/// The distance in metres between two geographic positions (degrees) that are close.
fn geographic_distance_m(a: DVec3, b: DVec3) -> f64 {
    let lat = a.y.to_radians();
    let dx = (a.x - b.x) * METRES_PER_DEGREE * lat.cos();
    let dy = (a.y - b.y) * METRES_PER_DEGREE;
    (dx * dx + dy * dy + (a.z - b.z) * (a.z - b.z)).sqrt()
}

#[test]
fn projections_match_proj_within_a_centimetre() {
    let _data = require_data!();
    let Some(python) = common::reference_python() else {
        return;
    };
    for (from, to, min, max) in [
        // Lambert-93 over continental France, to RGF93.
        (
            "EPSG:2154",
            "EPSG:4171",
            [100_000.0, 6_100_000.0],
            [1_200_000.0, 7_100_000.0],
        ),
        // UTM 31N (WGS 84) and 32N (ETRS89).
        (
            "EPSG:32631",
            "EPSG:4326",
            [300_000.0, 4_500_000.0],
            [700_000.0, 6_500_000.0],
        ),
        (
            "EPSG:25832",
            "EPSG:4258",
            [300_000.0, 5_200_000.0],
            [700_000.0, 7_500_000.0],
        ),
        // Nebraska state plane in US survey feet (the shared LAS file with both CRS VLRs).
        (
            "EPSG:6880",
            "EPSG:6318",
            [1_000_000.0, 200_000.0],
            [3_000_000.0, 800_000.0],
        ),
    ] {
        let points = positions(min, max, 50);
        let reference = proj(&python, from, to, &points);
        let (a, b): (CrsSpec, CrsSpec) = (from.parse().unwrap(), to.parse().unwrap());
        for (p, expected) in points.iter().zip(&reference) {
            let ours = transform(&a, &b, *p).unwrap();
            let off = geographic_distance_m(ours, *expected);
            assert!(
                off < 0.01,
                "{from} → {to} of {p}: {ours} against PROJ's {expected} ({off:.4} m apart)"
            );
        }
    }
}

#[test]
fn ign69_altitudes_match_proj_with_raf20_within_a_centimetre() {
    let _data = require_data!();
    let Some(python) = common::reference_python() else {
        return;
    };
    // Continental France, inside the grid.
    let points = positions([150_000.0, 6_250_000.0], [1_050_000.0, 7_050_000.0], 60);
    let reference = proj(&python, "EPSG:2154+5720", "EPSG:4979", &points);
    let from: CrsSpec = "EPSG:2154+5720".parse().unwrap();
    let to: CrsSpec = "EPSG:4979".parse().unwrap();
    for (p, expected) in points.iter().zip(&reference) {
        let ours = transform(&from, &to, *p).unwrap();
        assert!(
            (ours.z - expected.z).abs() < 0.01,
            "{p}: ellipsoidal height {} against PROJ's {}",
            ours.z,
            expected.z
        );
        let off = geographic_distance_m(ours, *expected);
        assert!(off < 0.01, "{p}: {ours} against PROJ's {expected}");
    }

    // The command prints the same.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_jumeau"))
        .args([
            "crs",
            "transform",
            "--from",
            "EPSG:2154+5720",
            "--to",
            "EPSG:4979",
            "292500",
            "6832500",
            "60",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed: Vec<f64> = String::from_utf8_lossy(&run.stdout)
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let expected = proj(
        &python,
        "EPSG:2154+5720",
        "EPSG:4979",
        &[DVec3::new(292_500.0, 6_832_500.0, 60.0)],
    )[0];
    assert!(
        geographic_distance_m(DVec3::new(printed[0], printed[1], printed[2]), expected) < 0.01,
        "{printed:?} against {expected}"
    );
}
