//! The reference reader, laspy's `CopcReader` (PyPI `laspy[lazrs]`), reads our COPC output:
//! same point count, bounds, classes and extra dimensions. Runs when `JUMEAU_PYTHON` names a
//! Python with laspy (`.ci/run` installs one), else skips with a message.

mod common;

use jumeau::io::{ByteSource, FileSource};
use jumeau::pointcloud::convert::{ConvertSettings, convert};
use jumeau::pointcloud::info::info;
use jumeau::pointcloud::las::LasFile;
use std::sync::Arc;

#[test]
fn laspy_copc_reader_reads_what_we_write() {
    let dir = require_data!();
    let Some(python) = common::reference_python() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    for name in [
        "test_semis_2023_0292_6833_LA93_IGN69.laz",
        "las_with_several_extra_byte_bloc.laz",
        "fullwave.laz",
        "autzen_trim.las",
        "32-1-472-150-76.laz",
    ] {
        let input = dir.join("lidar").join(name);
        let output = out.path().join(format!("{name}.copc.laz"));
        let source: Arc<dyn ByteSource> = Arc::new(FileSource::open(&input).unwrap());
        convert(
            &[LasFile::open(source.clone()).unwrap()],
            &output,
            &ConvertSettings::default(),
        )
        .unwrap();
        let seen = common::run_reference_script(&python, "laspy_check.py", &[output.as_os_str()]);
        let ours = info(source).unwrap();
        assert_eq!(seen["count"], ours.point_count, "{name}");
        assert_eq!(seen["header_count"], ours.point_count, "{name}");
        for (code, count) in ours.classes.iter().map(|c| (c.code.to_string(), c.count)) {
            assert_eq!(seen["classes"][&code], count, "{name}: class {code}");
        }
        for axis in 0..3 {
            let (lo, hi) = (
                seen["min"][axis].as_f64().unwrap(),
                seen["max"][axis].as_f64().unwrap(),
            );
            assert!(
                (lo - ours.min[axis]).abs() < 0.01 && (hi - ours.max[axis]).abs() < 0.01,
                "{name}: axis {axis}: {lo}..{hi} vs {:?}..{:?}",
                ours.min,
                ours.max
            );
        }
        let dims = seen["extra_dims"].as_array().unwrap().len();
        assert!(
            dims >= ours.extra_bytes.len(),
            "{name}: extra dims {:?}",
            seen["extra_dims"]
        );
    }
}
