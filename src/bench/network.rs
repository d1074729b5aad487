//! `jumeau bench network`: a synthetic network of 10⁵ spans and 10⁴ sites (RFC 7946 GeoJSON in
//! lon/lat over a 20 km square near Rennes), each figure against a baseline of the same run:
//! - ingest (parse + project every vertex into Lambert-93) against `serde_json` parsing alone;
//! - draping on a 2 m ground model and cutting into GPU chunks, against the ingest;
//! - main-thread CPU per frame of the overlay's systems while the camera moves;
//! - frame time with the overlay against the same frames with the layer hidden.

use crate::bench::median;
use crate::camera::ViewerCamera;
use crate::front::headless::Offscreen;
use crate::front::twin::ViewerSetup;
use crate::georef::{GeoFrame, geodetic_from_ecef};
use crate::network::drape::{DrapeSettings, drape};
use crate::network::ingest::read_geojson_in_frame;
use crate::network::model::{LoadLayer, NetworkLayer};
use crate::network::overlay::{OperatorIndex, build_chunks};
use crate::network::render::Networks;
use crate::pointcloud::streaming::PointCloudSettings;
use crate::spatial::Aabb;
use crate::terrain::GroundModel;
use bevy::math::DVec3;
use serde_json::json;
use std::time::{Duration, Instant};

/// Options of `jumeau bench network`.
#[derive(Debug, Clone, clap::Args)]
pub struct NetworkBench {
    #[arg(long, default_value_t = 100_000)]
    pub spans: usize,
    #[arg(long, default_value_t = 10_000)]
    pub sites: usize,
    #[arg(long, default_value_t = 640)]
    pub width: u32,
    #[arg(long, default_value_t = 360)]
    pub height: u32,
    /// Repetitions of the ingest measurements (median reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

/// Lambert-93 south-west corner of the synthetic network.
const ORIGIN: [f64; 2] = [340_000.0, 6_780_000.0];
/// Street spacing of the synthetic grid, metres.
const STREET_M: f64 = 80.0;
/// Fibre counts the synthetic spans cycle through.
const FIBRES: [u32; 4] = [12, 24, 72, 144];

fn terrain(x: f64, y: f64) -> f64 {
    40.0 + 10.0 * (x / 700.0).sin() * (y / 900.0).cos()
}

/// A grid of streets with one span per street segment (4 vertices each) and sites at
/// intersections, every feature with a status, operator, date and (spans) a fibre count.
pub fn synthetic_network_geojson(spans: usize, sites: usize) -> Result<Vec<u8>, String> {
    let frame = GeoFrame::projected(2154)?;
    let lon_lat = |x: f64, y: f64| -> Result<[f64; 2], String> {
        let ecef = frame.ecef_from_crs(DVec3::new(ORIGIN[0] + x, ORIGIN[1] + y, 0.0))?;
        let (lon, lat, _) = geodetic_from_ecef(ecef);
        Ok([
            (lon.to_degrees() * 1e9).round() / 1e9,
            (lat.to_degrees() * 1e9).round() / 1e9,
        ])
    };
    // Each intersection starts two spans (east and north).
    let side = ((spans as f64 / 2.0).sqrt().ceil() as usize).max(1);
    let statuses = ["lit", "built", "planned"];
    let operators = ["Jumeau Fibre", "Orange", "SFR", "Free", "Bouygues Telecom"];
    let mut features = Vec::with_capacity(spans + sites);
    for k in 0..spans {
        let (cell, north) = (k / 2, k % 2 == 1);
        let (i, j) = ((cell % side) as f64, (cell / side) as f64);
        let path = (0..4)
            .map(|s| {
                let t = f64::from(s) / 3.0 * STREET_M;
                let (x, y) = if north {
                    (i * STREET_M, j * STREET_M + t)
                } else {
                    (i * STREET_M + t, j * STREET_M)
                };
                lon_lat(x, y)
            })
            .collect::<Result<Vec<_>, _>>()?;
        features.push(json!({
            "type": "Feature",
            "properties": {
                "id": format!("S{k}"),
                "status": statuses[k % 3],
                "operator": operators[k % 5],
                "in_service": format!("{}-{:02}-01", 2018 + k % 10, 1 + k % 12),
                "fibreCount": FIBRES[k % 4],
            },
            "geometry": {"type": "LineString", "coordinates": path},
        }));
    }
    let kinds = [
        "pbo", "pbo", "pbo", "pm", "nro", "mast", "antenna", "building",
    ];
    for k in 0..sites {
        let cell = (k * 7919) % (side * side);
        let (x, y) = (
            (cell % side) as f64 * STREET_M,
            (cell / side) as f64 * STREET_M,
        );
        let mut properties = json!({
            "id": format!("N{k}"),
            "kind": kinds[k % kinds.len()],
            "status": statuses[k % 3],
            "operator": operators[k % 5],
            "in_service": format!("{}-06-01", 2018 + k % 10),
        });
        if kinds[k % kinds.len()] == "antenna" {
            properties["azimuth_deg"] = json!((k * 120) % 360);
            properties["height_m"] = json!(28.0);
        }
        features.push(json!({
            "type": "Feature",
            "properties": properties,
            "geometry": {"type": "Point", "coordinates": lon_lat(x, y)?},
        }));
    }
    serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features}))
        .map_err(|e| e.to_string())
}

pub fn run(options: &NetworkBench) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let bytes = synthetic_network_geojson(options.spans, options.sites)?;
    println!(
        "synthetic network: {} spans, {} sites, {:.1} MB of GeoJSON (generated in {:.1} s)",
        options.spans,
        options.sites,
        bytes.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let frame = GeoFrame::projected(2154)?;
    let (mut parse, mut ingest, mut draping, mut chunking) = (vec![], vec![], vec![], vec![]);
    let mut network = None;
    for _ in 0..options.runs.max(1) {
        let t = Instant::now();
        let value: serde_json::Value = serde_json::from_slice(&bytes)?;
        parse.push(t.elapsed().as_secs_f64() * 1e3);
        drop(value);
        let t = Instant::now();
        let mut read = read_geojson_in_frame(&bytes, "synthetic", &frame)?;
        ingest.push(t.elapsed().as_secs_f64() * 1e3);
        let (lo, hi) = read.bounds().ok_or("empty network")?;
        let ground_points = ground_grid(lo, hi, 2.0);
        let ground =
            GroundModel::from_points(ground_points.into_iter(), 2.0).ok_or("no ground model")?;
        let t = Instant::now();
        drape(&mut read, &ground, &DrapeSettings::default());
        draping.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let chunks = build_chunks(&read, &OperatorIndex::of([&read]));
        chunking.push(t.elapsed().as_secs_f64() * 1e3);
        drop(chunks);
        network = Some(read);
    }
    let network = network.ok_or("no run")?;
    let (p, i, d, c) = (
        median(parse),
        median(ingest),
        median(draping),
        median(chunking),
    );
    println!(
        "ingest {i:.0} ms (parse + {} vertices projected lon/lat → Lambert-93); serde_json parse alone {p:.0} ms; ingest / parse {:.2}",
        network.span_vertex_count() + network.sites.len(),
        i / p
    );
    println!(
        "drape on a 2 m ground model {d:.0} ms ({} span vertices after draping and thinning), GPU chunks {c:.0} ms; drape / ingest {:.2}, chunks / ingest {:.2} (both on the loading thread)",
        network.span_vertex_count(),
        d / i,
        c / i
    );
    frames(options, network)
}

/// Ground points on a regular grid (class 2) over the network, for the draping measurement.
fn ground_grid(lo: DVec3, hi: DVec3, step: f64) -> Vec<(DVec3, u8)> {
    let (nx, ny) = (
        ((hi.x - lo.x) / step).ceil() as usize + 1,
        ((hi.y - lo.y) / step).ceil() as usize + 1,
    );
    let mut points = Vec::with_capacity(nx * ny);
    for j in 0..ny {
        for i in 0..nx {
            let (x, y) = (lo.x + i as f64 * step, lo.y + j as f64 * step);
            points.push((DVec3::new(x, y, terrain(x - ORIGIN[0], y - ORIGIN[1])), 2));
        }
    }
    points
}

/// Main-thread time of the overlay and frame time, with and without it on screen.
fn frames(
    options: &NetworkBench,
    network: crate::network::model::Network,
) -> Result<(), Box<dyn std::error::Error>> {
    let (lo, hi) = network.bounds().ok_or("empty network")?;
    let load: LoadLayer = Box::new(move || {
        Ok(NetworkLayer {
            name: "synthetic".into(),
            network,
            visible: true,
            notes: Vec::new(),
        })
    });
    let mut setup = ViewerSetup::with_clouds(vec![], PointCloudSettings::default());
    setup.networks = vec![("synthetic".into(), load)];
    let mut offscreen = Offscreen::new(setup, options.width, options.height)?;
    let aspect = f64::from(options.width) / f64::from(options.height.max(1));
    *offscreen.camera_mut() = ViewerCamera::framing(&Aabb { min: lo, max: hi }, aspect);
    let (_, settled) = offscreen.settle(Duration::from_secs(300));
    let stats = offscreen.networks().stats.clone();
    let measure = |visible: bool, offscreen: &mut Offscreen| {
        if let Some(layer) = offscreen
            .app
            .world_mut()
            .resource_mut::<Networks>()
            .layers
            .first_mut()
        {
            layer.layer.visible = visible;
        }
        for _ in 0..3 {
            offscreen.update();
        }
        let (mut frame, mut main) = (vec![], vec![]);
        for i in 0..30 {
            // The camera turns and the filter moves: the systems' real per-frame work.
            offscreen.camera_mut().rotate(0.002 * f64::from(i % 2), 0.0);
            {
                let world = offscreen.app.world_mut();
                let mut networks = world.resource_mut::<Networks>();
                networks.style.line_width_px = if i % 2 == 0 { 4.0 } else { 4.5 };
            }
            let t = Instant::now();
            offscreen.update();
            frame.push(t.elapsed().as_secs_f64() * 1e3);
            main.push(offscreen.networks().stats.main_thread_ms);
        }
        (median(frame), median(main))
    };
    let (with, main_with) = measure(true, &mut offscreen);
    let (without, _) = measure(false, &mut offscreen);
    println!(
        "overlay on screen: {} sites, {} spans in {} meshes ({:.0} MiB GPU) at {}x{}{}",
        stats.sites,
        stats.spans,
        stats.chunks,
        stats.gpu_bytes as f64 / 1048576.0,
        options.width,
        options.height,
        if settled { "" } else { " (not settled)" }
    );
    println!(
        "main-thread CPU of the overlay per frame (camera moving, style changing every frame): {main_with:.3} ms (target ≤ 1 ms)"
    );
    println!(
        "frame {with:.1} ms with the overlay; same frames with it hidden {without:.1} ms; ratio {:.2}",
        with / without
    );
    Ok(())
}
