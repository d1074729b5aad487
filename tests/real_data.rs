//! Every real file of `../shared/data/lidar` through `info` and (LAS/LAZ) through `convert`,
//! with the output read back by independent readers.

mod common;

use jumeau::io::{ByteSource, FileSource};
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
        // Our own reader: every node decodes and lies inside its node bounds.
        let mut reader = CopcReader::open(open(&output)).unwrap();
        reader.load_all_pages().unwrap();
        let mut total = 0;
        for node in reader.hierarchy.nodes().to_vec() {
            let chunk = reader.read_node(node.key, Attributes::ALL).unwrap();
            let bounds = reader.hierarchy.cube.bounds(node.key);
            let half = bounds.size() * 0.5 + glam::DVec3::splat(1e-6);
            for p in &chunk.positions {
                let p = glam::DVec3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
                assert!(
                    p.abs()
                        .cmple(half * 1.0001 + glam::DVec3::splat(0.01))
                        .all(),
                    "{name}: point {p} outside node {}",
                    node.key
                );
            }
            total += chunk.len();
        }
        assert_eq!(total, before.len(), "{name}");
    }
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
fn a_small_memory_budget_spills_and_still_keeps_every_point() {
    let dir = require_data!();
    let out = tempfile::tempdir().unwrap();
    let input = dir.join("lidar/las_with_several_extra_byte_bloc.laz");
    let output = out.path().join("spilled.copc.laz");
    let settings = ConvertSettings {
        memory_budget_bytes: 4 << 20,
        temp_dir: Some(out.path().to_path_buf()),
        ..Default::default()
    };
    let report = convert(&[LasFile::open(open(&input)).unwrap()], &output, &settings).unwrap();
    assert!(
        report.partition_level >= 2,
        "budget should force partitions: {report:?}"
    );
    assert!(report.spilled_bytes > 0);
    assert!(common::point_keys(&input) == common::point_keys(&output));
    // Spill files are gone.
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".jumeau-spill"))
        .collect();
    assert!(leftovers.is_empty());
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
