//! Conversion at the scale users bring: a generated survey of 20 M points (an IGN LiDAR HD tile
//! holds 10–40 M), unlike the demo town (3 km × 1 km, steep relief, flight-line order, point
//! format 6), converted, then validated as a whole — every point inside its node — and queried
//! box by box with the reference reader, laspy, against brute force.
//!
//! `JUMEAU_SCALE_POINTS` changes the size (default 20 000 000).

mod common;

use jumeau::io::{ByteSource, FileSource};
use jumeau::pointcloud::check::check;
use jumeau::pointcloud::convert::{ConvertSettings, convert};
use jumeau::pointcloud::las::LasFile;
use std::sync::Arc;

fn scale_points() -> u64 {
    std::env::var("JUMEAU_SCALE_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000_000)
}

#[test]
fn a_survey_of_twenty_million_points_converts_into_valid_copc() {
    let points = scale_points();
    let dir = tempfile::tempdir().unwrap();
    let laz = dir.path().join("survey.laz");
    jumeau::demo::write_survey_laz(&laz, points, 7, &indicatif::ProgressBar::hidden()).unwrap();
    let output = dir.path().join("survey.copc.laz");
    let source: Arc<dyn ByteSource> = Arc::new(FileSource::open(&laz).unwrap());
    let report = convert(
        &[LasFile::open(source).unwrap()],
        &output,
        &ConvertSettings::default(),
    )
    .unwrap();
    std::fs::remove_file(&laz).unwrap();
    assert_eq!(report.points, points);
    assert_eq!(report.point_format, 6);
    eprintln!("{report:?}");
    if points >= 20_000_000 {
        // What broke before: a partitioned build several levels deep.
        assert!(report.partition_level >= 1, "{report:?}");
        assert!(report.max_level >= 5, "{report:?}");
    }

    let checked = check(
        Arc::new(FileSource::open(&output).unwrap()) as Arc<dyn ByteSource>,
        true,
    )
    .unwrap();
    assert!(checked.is_valid(), "{checked}");
    assert_eq!(checked.points_checked, points);
    assert_eq!(checked.nodes, report.nodes);

    let Some(python) = common::reference_python() else {
        return;
    };
    let seen = common::run_reference_script(
        &python,
        "laspy_box_queries.py",
        &[output.as_os_str(), "20".as_ref(), "16".as_ref()],
    );
    assert_eq!(seen["header_count"], points);
    assert_eq!(seen["read_count"], points);
    assert_eq!(
        seen["query_all"], points,
        "the hierarchy reaches every point"
    );
    let boxes = seen["boxes"].as_array().unwrap();
    assert_eq!(boxes.len(), 20);
    let mut non_empty = 0;
    for b in boxes {
        assert_eq!(
            b["query"], b["brute"],
            "laspy's box query finds another count than brute force: {b}"
        );
        non_empty += usize::from(b["brute"].as_u64().unwrap() > 0);
    }
    assert!(non_empty >= 10, "too few boxes hold points: {boxes:?}");
}
