//! `jumeau bench pick`: picking and snapping with the demo twin's 20 M points all loaded, as
//! the measure, profile and note tools do on each click (main thread, target ≤ 2 ms), against
//! reading every point (the baseline, measured in the same run).

use crate::bench::median;
use crate::pointcloud::copc::{Attributes, CopcReader};
use crate::pointcloud::streaming::{PickNode, pick_points, pick_points_brute};
use bevy::math::DVec3;
use rayon::prelude::*;
use serde_json::json;
use std::time::Instant;

/// Options of `jumeau bench pick`.
#[derive(Debug, Clone, clap::Args)]
pub struct PickBench {
    /// Points of the demo twin (generated once into the cache folder).
    #[arg(long, default_value_t = crate::demo::DEMO_TWIN_POINTS)]
    pub points: u64,
    /// Clicks timed (the baseline times a tenth of them, at least 3).
    #[arg(long, default_value_t = 200)]
    pub clicks: usize,
}

pub fn run(options: &PickBench) -> Result<(), Box<dyn std::error::Error>> {
    let dir = crate::front::paths::cache_dir().join("demo");
    let copc = crate::demo::demo_twin_copc(&dir, options.points, &indicatif::ProgressBar::new(0))?;
    let started = Instant::now();
    let mut reader = CopcReader::open(crate::io::FileSource::open(&copc)?)?;
    reader.load_all_pages()?;
    let keys: Vec<_> = reader.hierarchy.keys_with_points().collect();
    let attributes = Attributes {
        intensity: false,
        classification: false,
        returns: false,
        rgb: false,
        gps_time: false,
    };
    let chunks = keys
        .par_iter()
        .map(|key| reader.read_node(*key, attributes))
        .collect::<Result<Vec<_>, _>>()?;
    let loaded: u64 = chunks.iter().map(|c| c.positions.len() as u64).sum();
    let bounds: Vec<_> = chunks
        .iter()
        .map(|c| PickNode::bounds_of(&c.positions))
        .collect();
    let nodes = || {
        chunks.iter().zip(&bounds).map(|(c, b)| PickNode {
            origin: c.origin,
            bounds: *b,
            positions: &c.positions,
        })
    };
    let load_s = started.elapsed().as_secs_f64();
    // Clicks over the town from a planner's view: 45° down from the south, rays through
    // places spread over the data (the same seeded places for both methods).
    let lo = reader.file.header.min;
    let hi = reader.file.header.max;
    let (lo, hi) = (DVec3::from_array(lo), DVec3::from_array(hi));
    let centre = (lo + hi) * 0.5;
    let eye = centre + DVec3::new(0.0, -(hi.y - lo.y), (hi.x - lo.x).max(hi.y - lo.y));
    let place = |i: usize| {
        let h = |salt: u64| {
            let x = (i as u64 ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        DVec3::new(
            lo.x + (hi.x - lo.x) * h(1),
            lo.y + (hi.y - lo.y) * h(2),
            lo.z,
        )
    };
    let none = crate::spatial::Clipping::default();
    let mut fast_ms = Vec::new();
    let mut hits = Vec::new();
    for i in 0..options.clicks {
        let direction = (place(i) - eye).normalize();
        let t = Instant::now();
        let hit = pick_points(nodes(), eye, direction, 0.004, &none);
        fast_ms.push(t.elapsed().as_secs_f64() * 1e3);
        hits.push(hit);
    }
    let baseline_clicks = (options.clicks / 10).max(3).min(options.clicks);
    let mut brute_ms = Vec::new();
    let mut agree = 0;
    for (i, hit) in hits.iter().enumerate().take(baseline_clicks) {
        let direction = (place(i) - eye).normalize();
        let t = Instant::now();
        let brute = pick_points_brute(nodes(), eye, direction, 0.004, &none);
        brute_ms.push(t.elapsed().as_secs_f64() * 1e3);
        agree += usize::from(brute == *hit);
    }
    let p95 = {
        let mut v = fast_ms.clone();
        v.sort_by(f64::total_cmp);
        v[(v.len() * 95 / 100).min(v.len() - 1)]
    };
    let (fast, brute) = (median(fast_ms.clone()), median(brute_ms));
    let report = json!({
        "points_loaded": loaded,
        "nodes_loaded": chunks.len(),
        "load_s": load_s,
        "clicks": options.clicks,
        "hits": hits.iter().filter(|h| h.is_some()).count(),
        "pick_median_ms": fast,
        "pick_p95_ms": p95,
        "pick_max_ms": fast_ms.iter().copied().fold(0.0, f64::max),
        "baseline_every_point_median_ms": brute,
        "speedup": brute / fast,
        "baseline_agrees": format!("{agree}/{baseline_clicks}"),
        "target_ms": 2.0,
        "within_target": p95 <= 2.0,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
