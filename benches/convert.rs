//! Convert throughput on the IGN tile (from ../shared/data) against its own floor measured in
//! the same run: decoding the input, and decoding + re-encoding it as COPC chunks.
//! The 50 M-point comparison with py3dtiles is `jumeau bench convert` (too long for criterion).
//! The timed output is validated afterwards (`info --check --full`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jumeau::io::{ByteSource, FileSource};
use jumeau::pointcloud::convert::{ConvertSettings, convert};
use jumeau::pointcloud::las::LasFile;
use laz::DecompressionSelection;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

fn ign_tile() -> Option<PathBuf> {
    jumeau::testdata::shared_data("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz")
}

fn convert_bench(c: &mut Criterion) {
    let Some(input) = ign_tile() else { return };
    let open = || {
        LasFile::open(Arc::new(FileSource::open(&input).unwrap()) as Arc<dyn ByteSource>).unwrap()
    };
    let file = open();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("ign.copc.laz");
    let mut group = c.benchmark_group("convert_ign_tile");
    group.throughput(Throughput::Elements(file.header.point_count));
    group.sample_size(10);
    group.bench_function("baseline_decode", |b| {
        b.iter(|| {
            file.blocks
                .par_iter()
                .map(|blk| {
                    file.decode_block(blk, DecompressionSelection::all())
                        .unwrap()
                        .len()
                })
                .sum::<usize>()
        })
    });
    group.bench_function("jumeau_convert", |b| {
        b.iter(|| convert(&[open()], &output, &ConvertSettings::default()).unwrap())
    });
    group.finish();
    // What was timed must be right: every point inside its node, every attribute decoded.
    let checked = jumeau::pointcloud::check::check(
        Arc::new(FileSource::open(&output).unwrap()) as Arc<dyn ByteSource>,
        true,
    )
    .unwrap();
    assert!(
        checked.is_valid(),
        "the timed conversion is not valid COPC: {checked}"
    );
    eprintln!("output checked (info --check --full): {checked}");
}

criterion_group!(benches, convert_bench);
criterion_main!(benches);
