//! `jumeau profile` at the scale users bring: a generated survey of 4 M points (3 km × 1 km,
//! steep relief), as LAZ and converted to COPC; the band's points must be exactly those a
//! brute-force selection with the reference reader (laspy) finds, from either file, and the LAS
//! profile must read back in laspy with the same points.

mod common;

use jumeau::io::{ByteSource, FileSource};
use jumeau::pointcloud::convert::{ConvertSettings, convert};
use jumeau::pointcloud::las::LasFile;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

const POINTS: u64 = 4_000_000;

/// Runs `jumeau profile` and returns its report.
fn profile(inputs: &[&Path], ends: [f64; 4], width: f64, output: &Path) -> serde_json::Value {
    let mut args: Vec<std::ffi::OsString> = vec!["profile".into()];
    args.extend(inputs.iter().map(|p| p.as_os_str().to_owned()));
    args.extend([
        format!("--from={},{}", ends[0], ends[1]).into(),
        format!("--to={},{}", ends[2], ends[3]).into(),
        format!("--width={width}").into(),
        "--output".into(),
        output.as_os_str().to_owned(),
        "--json".into(),
    ]);
    common::jumeau_json(&args, None)
}

/// (x, y, z in mm, class) of each CSV row, sorted; checks the header and that the rows run
/// along the line.
fn csv_points(path: &Path) -> Vec<(i64, i64, i64, i64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("x,y,z,distance_m,classification"));
    let mut last = f64::NEG_INFINITY;
    let mut rows: Vec<(i64, i64, i64, i64)> = lines
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let mm = |s: &str| (s.parse::<f64>().unwrap() * 1000.0).round() as i64;
            let along: f64 = c[3].parse().unwrap();
            assert!(along >= last, "rows run along the line");
            last = along;
            (mm(c[0]), mm(c[1]), mm(c[2]), c[4].parse().unwrap())
        })
        .collect();
    rows.sort_unstable();
    rows
}

fn as_rows(v: &serde_json::Value) -> Vec<(i64, i64, i64, i64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let n = |k: usize| p[k].as_i64().unwrap();
            (n(0), n(1), n(2), n(3))
        })
        .collect()
}

#[test]
fn a_profile_holds_every_point_of_its_band_from_laz_and_copc() {
    let dir = tempfile::tempdir().unwrap();
    let laz = dir.path().join("survey.laz");
    jumeau::demo::write_survey_laz(&laz, POINTS, 11, &indicatif::ProgressBar::hidden()).unwrap();
    let copc = dir.path().join("survey.copc.laz");
    let source: Arc<dyn ByteSource> = Arc::new(FileSource::open(&laz).unwrap());
    let file = LasFile::open(source).unwrap();
    let (lo, hi) = (file.header.min, file.header.max);
    convert(&[file], &copc, &ConvertSettings::default()).unwrap();

    // A slanted line across the survey, 4 m wide.
    let (w, h) = (hi[0] - lo[0], hi[1] - lo[1]);
    let ends = [
        lo[0] + 0.1 * w,
        lo[1] + 0.15 * h,
        lo[0] + 0.85 * w,
        lo[1] + 0.8 * h,
    ];
    let width = 4.0;
    let from_laz = dir.path().join("laz.csv");
    let from_copc = dir.path().join("copc.csv");
    let las_out = dir.path().join("copc.las");
    let report = profile(&[&laz], ends, width, &from_laz);
    let copc_report = profile(&[&copc], ends, width, &from_copc);
    profile(&[&copc], ends, width, &las_out);
    let laz_rows = csv_points(&from_laz);
    let copc_rows = csv_points(&from_copc);
    assert!(laz_rows.len() > 5_000, "{report}");
    assert_eq!(report["points"].as_u64(), Some(laz_rows.len() as u64));
    assert_eq!(
        laz_rows, copc_rows,
        "the COPC's band holds the LAZ's points"
    );
    // The COPC is read by its nodes that meet the band, not whole.
    let decoded = copc_report["points_decoded"].as_u64().unwrap();
    assert!(decoded < POINTS / 2, "{copc_report}");

    let Some(python) = common::reference_python() else {
        return;
    };
    let args: Vec<std::ffi::OsString> = [laz.clone().into_os_string()]
        .into_iter()
        .chain(ends.iter().map(|v| v.to_string().into()))
        .chain([width.to_string().into(), las_out.clone().into_os_string()])
        .collect();
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let seen = common::run_reference_script(&python, "laspy_profile.py", &args);
    let brute = as_rows(&seen["band"]);
    assert_eq!(laz_rows.len(), brute.len(), "laspy's brute force");
    assert_eq!(laz_rows, brute);
    let las = &seen["las"];
    assert_eq!(las["count"].as_u64(), Some(brute.len() as u64));
    assert_eq!(las["format"], 6);
    assert!(
        las["crs"]
            .as_str()
            .is_some_and(|c| c.contains("Lambert-93") || c.contains("2154")),
        "{las}"
    );
    assert_eq!(as_rows(&las["points"]), brute);
    // The header's bounds are the profile's.
    let xs: Vec<i64> = brute.iter().map(|p| p.0).collect();
    let min_x = *xs.iter().min().unwrap() as f64 / 1000.0;
    assert!(
        (las["mins"][0].as_f64().unwrap() - min_x).abs() < 0.002,
        "{las}"
    );
}

#[test]
fn a_band_off_the_data_is_empty_and_a_bad_band_is_named() {
    let Some(dir) = jumeau::testdata::shared_data("lidar") else {
        return;
    };
    let input = dir.join("test_semis_2023_0292_6833_LA93_IGN69.laz");
    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("p.csv");
    let report = profile(&[&input], [0.0, 0.0, 10.0, 10.0], 2.0, &csv);
    assert_eq!(report["points"], 0);
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "x,y,z,distance_m,classification\n"
    );
    let run = Command::new(env!("CARGO_BIN_EXE_jumeau"))
        .args(["profile"])
        .arg(&input)
        .args(["--from=1,1", "--to=1,1", "--width=2", "--output"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("has no length"), "{err}");
}
