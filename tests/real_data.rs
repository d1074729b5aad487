//! Every real file of `../shared/data/lidar` through `info` and (LAS/LAZ) through `convert`,
//! with the output read back by independent readers.

mod common;

use jumeau::io::{ByteSource, FileSource};
use jumeau::pointcloud::check::check;
use jumeau::pointcloud::convert::{ConvertSettings, convert};
use jumeau::pointcloud::info::info;
use jumeau::pointcloud::las::LasFile;
use jumeau::pointcloud::{Attributes, CopcReader, VoxelKey};
use std::sync::Arc;

fn open(path: &std::path::Path) -> Arc<dyn ByteSource> {
    Arc::new(FileSource::open(path).expect("open"))
}

#[test]
fn info_reads_every_file_with_counts_classes_and_crs() {
    let dir = require_data!();
    let expect = [
        ("1.2-with-color.copc.laz", 1065, Some(65), None),
        ("lone-star.copc.laz", 518_862, Some(15), None),
        ("lion_takanawa.copc.laz", 341_989, Some(9), None),
        (
            "test_semis_2023_0292_6833_LA93_IGN69.laz",
            289_055,
            None,
            Some(2154),
        ),
        (
            "las_with_several_extra_byte_bloc.laz",
            697_721,
            None,
            Some(2154),
        ),
        ("32-1-472-150-76.laz", 5658, None, Some(25832)),
        ("fullwave.laz", 10_750, None, Some(32723)),
        (
            "file_with_both_wkt_and_geotiff_vlrs.las",
            25_408,
            None,
            None,
        ),
        ("autzen_trim.las", 110_000, None, None),
        ("autzen_trim.laz", 110_000, None, None),
        ("autzen_trim_7.las", 110_000, None, None),
        ("1.2-with-color.las", 1065, None, None),
    ];
    for (name, points, nodes, epsg) in expect {
        let report =
            info(open(&dir.join("lidar").join(name))).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.point_count, points, "{name}");
        let classified: u64 = report.classes.iter().map(|c| c.count).sum();
        assert_eq!(
            classified, points,
            "{name}: class histogram covers every point"
        );
        assert_eq!(report.hierarchy.as_ref().map(|h| h.nodes), nodes, "{name}");
        if let Some(h) = &report.hierarchy {
            assert_eq!(
                h.levels.iter().map(|l| l.points).sum::<u64>(),
                points,
                "{name}: hierarchy points"
            );
        }
        if let Some(code) = epsg {
            assert_eq!(
                report.crs.as_ref().and_then(|c| c.epsg),
                Some(code),
                "{name}"
            );
        }
    }
    // The IGN tile's classes, IGN codes 64-67 included.
    let ign = info(open(
        &dir.join("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz"),
    ))
    .unwrap();
    let counts: Vec<(u8, u64)> = ign.classes.iter().map(|c| (c.code, c.count)).collect();
    assert_eq!(
        counts,
        vec![
            (1, 11861),
            (2, 152678),
            (3, 3124),
            (4, 5962),
            (5, 71684),
            (6, 43278),
            (17, 267),
            (64, 47),
            (66, 12),
            (67, 142)
        ]
    );
    // Two extra-bytes VLRs are read, not rejected; LAS 1.1 is reported as it is.
    let eb = info(open(
        &dir.join("lidar/las_with_several_extra_byte_bloc.laz"),
    ))
    .unwrap();
    assert!(eb.extra_bytes.len() >= 2, "{:?}", eb.extra_bytes);
    assert_eq!(
        info(open(&dir.join("lidar/32-1-472-150-76.laz")))
            .unwrap()
            .version,
        "1.1"
    );
    // The mislabelled geocentric CRS of lone-star is flagged.
    let lone = info(open(&dir.join("lidar/lone-star.copc.laz"))).unwrap();
    assert!(lone.crs.unwrap().warning.is_some());
    let json = serde_json::to_value(&ign).unwrap();
    assert_eq!(json["point_count"], 289_055);
}

#[test]
fn convert_keeps_every_point_and_attribute_of_every_file() {
    let dir = require_data!();
    let out = tempfile::tempdir().unwrap();
    for input in common::las_and_laz(&dir) {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let output = out.path().join(format!("{name}.copc.laz"));
        eprintln!("converting {name}");
        let file = LasFile::open(open(&input)).unwrap();
        let report = convert(&[file], &output, &ConvertSettings::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let before = common::point_keys(&input);
        assert_eq!(report.points, before.len() as u64, "{name}");
        // The las crate reads the output as LAZ (all chunks) and as COPC (node by node).
        let after = common::point_keys(&output);
        assert!(
            before == after,
            "{name}: points differ after conversion: {:?}",
            common::first_difference(&before, &after)
        );
        let mut copc = las::CopcReader::from_path(&output)
            .unwrap_or_else(|e| panic!("{name}: las CopcReader: {e}"));
        let all = copc
            .query(las::LodSelection::All, las::BoundsSelection::All)
            .unwrap();
        assert_eq!(all.len(), before.len(), "{name}: COPC query");
        assert!(
            matches!(copc.header().point_format().to_u8().unwrap(), 6..=8),
            "{name}"
        );
        assert_valid_copc(&output, before.len() as u64);
    }
}

/// The invariants of a COPC file, whatever its size: every point inside its node (checked by
/// `info --check`'s validator with every attribute decoded), and every hierarchy page walked by
/// our reader, node counts = decoded points.
fn assert_valid_copc(path: &std::path::Path, points: u64) {
    let report = check(open(path), true).unwrap();
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.points_checked, points, "{report}");
    let mut reader = CopcReader::open(open(path)).unwrap();
    reader.load_all_pages().unwrap();
    let mut total = 0;
    for node in reader.hierarchy.nodes().to_vec() {
        let data = node.data.expect("every node is read once all pages are");
        let chunk = reader.read_node(node.key, Attributes::ALL).unwrap();
        assert_eq!(chunk.len() as u64, data.point_count, "node {}", node.key);
        total += chunk.len() as u64;
    }
    assert_eq!(total, points, "{}", path.display());
    assert_eq!(reader.hierarchy.nodes().len(), report.nodes);
}

#[test]
fn tiles_of_one_area_merge_into_one_copc() {
    let dir = require_data!();
    let out = tempfile::tempdir().unwrap();
    // autzen_trim.las and autzen_trim_7.las: same area, formats 3 and 7, same grid.
    let a = dir.join("lidar/autzen_trim.las");
    let b = dir.join("lidar/autzen_trim_7.las");
    let output = out.path().join("merged.copc.laz");
    let files = vec![
        LasFile::open(open(&a)).unwrap(),
        LasFile::open(open(&b)).unwrap(),
    ];
    let report = convert(&files, &output, &ConvertSettings::default()).unwrap();
    assert_eq!(report.points, 220_000);
    let mut expected = common::point_keys(&a);
    expected.extend(common::point_keys(&b));
    expected.sort();
    assert!(expected == common::point_keys(&output));
    assert_valid_copc(&output, 220_000);
}

#[test]
fn the_copc_files_of_other_writers_pass_the_check() {
    let dir = require_data!();
    for (name, points) in [
        ("1.2-with-color.copc.laz", 1065),
        ("lone-star.copc.laz", 518_862),
        ("lion_takanawa.copc.laz", 341_989),
    ] {
        let report = check(open(&dir.join("lidar").join(name)), true).unwrap();
        assert!(report.is_valid(), "{name}: {report}");
        assert_eq!(report.points_checked, points, "{name}");
    }
}

/// The IGN tile converted, then its hierarchy altered as a broken writer would leave it: two
/// sibling nodes' keys swapped, so each holds the other's points.
fn copc_with_swapped_siblings(dir: &std::path::Path, out: &std::path::Path) -> std::path::PathBuf {
    let output = out.join("ign.copc.laz");
    let file = LasFile::open(open(
        &dir.join("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz"),
    ))
    .unwrap();
    convert(&[file], &output, &ConvertSettings::default()).unwrap();
    let mut bytes = std::fs::read(&output).unwrap();
    let reader = CopcReader::open(open(&output)).unwrap();
    let (start, size) = (
        reader.info.root_hier_offset as usize,
        reader.info.root_hier_size as usize,
    );
    let level_one: Vec<usize> = (start..start + size)
        .step_by(32)
        .filter(|&at| bytes[at..at + 4] == 1i32.to_le_bytes())
        .collect();
    assert!(level_one.len() >= 2, "the tile has two level-1 nodes");
    let (a, b) = (level_one[0], level_one[1]);
    for i in 4..16 {
        bytes.swap(a + i, b + i);
    }
    let broken = out.join("broken.copc.laz");
    std::fs::write(&broken, bytes).unwrap();
    broken
}

#[test]
fn the_check_names_the_nodes_that_hold_points_outside_their_bounds() {
    let dir = require_data!();
    let out = tempfile::tempdir().unwrap();
    let broken = copc_with_swapped_siblings(&dir, out.path());
    let report = check(open(&broken), false).unwrap();
    assert!(!report.is_valid());
    assert!(report.points_outside_their_node > 0);
    let outside: Vec<String> = report
        .violations
        .iter()
        .filter(|v| v.problem.contains("outside its bounds"))
        .map(|v| v.to_string())
        .collect();
    assert!(
        outside.len() >= 2 && outside.iter().all(|v| v.starts_with("node 1-")),
        "{report}"
    );

    // The command: the report on stdout, exit code 1, the same over HTTP with range requests.
    let jumeau = env!("CARGO_BIN_EXE_jumeau");
    let run = std::process::Command::new(jumeau)
        .args(["info", "--check"])
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("INVALID") && stdout.contains("node 1-"),
        "{stdout}"
    );
    let served = jumeau::io::test_server::serve(
        std::fs::read(&broken).unwrap().into(),
        jumeau::io::test_server::Behaviour::Ranges,
    )
    .unwrap();
    let run = std::process::Command::new(jumeau)
        .args(["info", "--check", "--json", &served.url])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        json["points_outside_their_node"],
        report.points_outside_their_node
    );
    let valid = out.path().join("ign.copc.laz");
    let run = std::process::Command::new(jumeau)
        .args(["info", "--check", "--full"])
        .arg(&valid)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("valid: every point"));
}

#[test]
fn assign_crs_overrides_the_label() {
    let dir = require_data!();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("lone.copc.laz");
    // The las crate can read lone-star as a plain LAZ; our LasFile too.
    let file = LasFile::open(open(&dir.join("lidar/lone-star.copc.laz"))).unwrap();
    let settings = ConvertSettings {
        assign_crs: Some(jumeau::georef::Crs::from_epsg_str("EPSG:32612").unwrap()),
        ..Default::default()
    };
    convert(&[file], &output, &settings).unwrap();
    let report = info(open(&output)).unwrap();
    let crs = report.crs.unwrap();
    assert_eq!(crs.epsg, Some(32612));
    assert!(crs.warning.is_none(), "{:?}", crs.warning);
    assert_eq!(report.point_count, 518_862);
}

#[test]
fn memory_budgets_that_force_partition_levels_one_to_four_keep_every_point_in_its_node() {
    let dir = require_data!();
    let out = tempfile::tempdir().unwrap();
    let input = dir.join("lidar/las_with_several_extra_byte_bloc.laz");
    let before = common::point_keys(&input);
    let python = common::reference_python();
    let mut levels = Vec::new();
    for budget_mib in [200, 50, 12, 4] {
        let output = out.path().join(format!("spilled-{budget_mib}.copc.laz"));
        let settings = ConvertSettings {
            memory_budget_bytes: budget_mib << 20,
            temp_dir: Some(out.path().to_path_buf()),
            ..Default::default()
        };
        let report = convert(&[LasFile::open(open(&input)).unwrap()], &output, &settings).unwrap();
        assert!(report.spilled_bytes > 0, "{report:?}");
        levels.push(report.partition_level);
        assert!(
            before == common::point_keys(&output),
            "{budget_mib} MiB: points differ"
        );
        assert_valid_copc(&output, before.len() as u64);
        // The reference reader's box queries find exactly the points inside each box.
        if let Some(python) = &python {
            let seen = common::run_reference_script(
                python,
                "laspy_box_queries.py",
                &[output.as_os_str(), "20".as_ref(), "3".as_ref()],
            );
            assert_eq!(seen["query_all"], before.len());
            for b in seen["boxes"].as_array().unwrap() {
                assert_eq!(b["query"], b["brute"], "{budget_mib} MiB: {b}");
            }
        }
        // Spill files are gone.
        let leftovers: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".jumeau-spill"))
            .collect();
        assert!(leftovers.is_empty());
    }
    assert_eq!(levels, [1, 2, 3, 4], "partition level of each budget");
}

#[test]
fn copc_nodes_decode_only_what_is_asked() {
    let dir = require_data!();
    let reader = CopcReader::open(open(&dir.join("lidar/1.2-with-color.copc.laz"))).unwrap();
    let root = reader
        .read_node(
            VoxelKey::ROOT,
            Attributes {
                classification: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(root.rgb.is_none() && root.intensity.is_none());
    assert_eq!(root.classification.as_ref().map(Vec::len), Some(root.len()));
    let full = reader.read_node(VoxelKey::ROOT, Attributes::ALL).unwrap();
    assert!(
        full.rgb
            .as_ref()
            .is_some_and(|c| c.iter().any(|c| c[0] > 0))
    );
    // Positions are relative to the node centre: small numbers, not Oregon feet.
    assert!(
        full.positions
            .iter()
            .all(|p| p.iter().all(|v| v.abs() < 5000.0))
    );
    assert!(full.origin.x > 600_000.0);
}
