//! `select_nodes` on a 10⁵-node hierarchy: a framed overview and a street-level camera, against
//! a baseline that visits every visible node (no budget) in the same run.

use criterion::{Criterion, criterion_group, criterion_main};
use jumeau::bench::{select_views, synthetic_hierarchy};
use jumeau::pointcloud::lod::{PointBudget, select_nodes};
use std::hint::black_box;

fn select(c: &mut Criterion) {
    let h = synthetic_hierarchy(100_000);
    let [(_, overview), (_, street)] = select_views(&h);
    let every_visible_node = PointBudget {
        max_points: u64::MAX,
        min_spacing_px: 0.0,
    };
    let cases = [
        (
            "overview_2M_budget",
            overview,
            PointBudget::points(2_000_000),
        ),
        ("street_2M_budget", street, PointBudget::points(2_000_000)),
        ("baseline_every_visible_node", street, every_visible_node),
    ];
    let mut group = c.benchmark_group("select_nodes_100k");
    for (name, view, budget) in cases {
        group.bench_function(name, |b| {
            b.iter(|| select_nodes(black_box(&h), black_box(&view), budget))
        });
    }
    group.finish();
}

criterion_group!(benches, select);
criterion_main!(benches);
