//! `select_nodes` on a 10⁵-node hierarchy: a framed overview and a street-level camera, against
//! a baseline that visits every visible node (no budget) in the same run.

use criterion::{Criterion, criterion_group, criterion_main};
use glam::DVec3;
use jumeau::bench::synthetic_hierarchy;
use jumeau::pointcloud::lod::{PointBudget, View, select_nodes};
use jumeau::pointcloud::octree::VoxelKey;
use std::hint::black_box;

fn select(c: &mut Criterion) {
    let h = synthetic_hierarchy(100_000);
    let bounds = h.cube.bounds(VoxelKey::ROOT);
    let overview = View::framing(&bounds, 1.0, 16.0 / 9.0, 1080.0);
    let street = View::look_at(
        DVec3::new(652_400.0, 6_862_300.0, 30.0),
        DVec3::new(652_600.0, 6_862_700.0, 0.0),
        DVec3::Z,
        1.0,
        16.0 / 9.0,
        1080.0,
    );
    let mut group = c.benchmark_group("select_nodes_100k");
    group.bench_function("overview_2M_budget", |b| {
        b.iter(|| {
            select_nodes(
                black_box(&h),
                black_box(&overview),
                PointBudget::points(2_000_000),
            )
        })
    });
    group.bench_function("street_2M_budget", |b| {
        b.iter(|| {
            select_nodes(
                black_box(&h),
                black_box(&street),
                PointBudget::points(2_000_000),
            )
        })
    });
    group.bench_function("baseline_every_visible_node", |b| {
        b.iter(|| {
            select_nodes(
                black_box(&h),
                black_box(&street),
                PointBudget {
                    max_points: u64::MAX,
                    min_spacing_px: 0.0,
                },
            )
        })
    });
    group.finish();
}

criterion_group!(benches, select);
criterion_main!(benches);
