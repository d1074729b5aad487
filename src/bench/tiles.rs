//! `jumeau bench tiles`: the building side of the twin, each figure against a baseline measured
//! in the same run:
//! - traversal CPU per frame along a flight over a synthetic tileset of ~10⁵ tiles, against a
//!   walk of every tile of the same tileset;
//! - time from opening the 3DBAG sample to all its tiles resident, against decoding and baking
//!   the same GLB directly on one thread;
//! - frame time with ~10⁴ buildings on screen, against the same frames with the layer hidden.

use crate::bench::median;
use crate::buildings::bake::{ModelPose, Placement, bake, z_up_from_y_up};
use crate::buildings::open::open_buildings;
use crate::buildings::streaming::Buildings;
use crate::buildings::tiles3d::tileset::Refine;
use crate::buildings::tiles3d::traverse::{self, DEFAULT_MAX_SSE_PX, View, synthetic_tileset};
use crate::camera::ViewerCamera;
use crate::front::headless::Offscreen;
use crate::front::twin::ViewerSetup;
use crate::pointcloud::streaming::PointCloudSettings;
use bevy::math::{DMat4, DVec3};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Options of `jumeau bench tiles`.
#[derive(Debug, Clone, clap::Args)]
pub struct TilesBench {
    /// Quadtree levels of the synthetic tileset (9 = 87 381 tiles).
    #[arg(long, default_value_t = 9)]
    pub levels: u32,
    /// Frames of the traversal flight.
    #[arg(long, default_value_t = 300)]
    pub frames: usize,
    /// Buildings of the frame-time measurement (a demo town of that many buildings).
    #[arg(long, default_value_t = 10_000)]
    pub buildings: usize,
    #[arg(long, default_value_t = 640)]
    pub width: u32,
    #[arg(long, default_value_t = 360)]
    pub height: u32,
    /// The shared data folder (for the 3DBAG sample).
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
}

pub fn run(options: &TilesBench) -> Result<(), Box<dyn std::error::Error>> {
    traversal(options)?;
    bag3d_resident(options)?;
    many_buildings(options)?;
    Ok(())
}

/// Traversal time along a flight at 300 m over a 10 km synthetic tileset.
fn traversal(options: &TilesBench) -> Result<(), Box<dyn std::error::Error>> {
    let tileset = synthetic_tileset(options.levels, 10_000.0, Refine::Replace)?;
    let viewport = [1920.0, 1080.0];
    let ready = |_| true;
    let (mut times, mut visited, mut drawn) = (vec![], vec![], vec![]);
    for frame in 0..options.frames {
        let t = frame as f64 / options.frames.max(1) as f64;
        let eye = DVec3::new(-4_000.0 + 8_000.0 * t, -3_000.0 + 2_000.0 * t, 300.0);
        let target = eye + DVec3::new(600.0, 800.0, -250.0);
        let view = View::look_at_infinite(eye, target, DVec3::Z, 1.0, viewport);
        let started = Instant::now();
        let selection = traverse::select(&tileset, &view, DEFAULT_MAX_SSE_PX, &ready);
        times.push(started.elapsed().as_secs_f64() * 1e3);
        visited.push(selection.visited as f64);
        drawn.push(selection.render.len() as f64);
    }
    // Baseline: every tile in view and refined (SSE threshold 0, the whole square below).
    let everything = View::look_at_infinite(
        DVec3::new(0.0, 0.0, 15_000.0),
        DVec3::ZERO,
        DVec3::Y,
        1.2,
        viewport,
    );
    let mut walk = vec![];
    let mut walked = 0;
    for _ in 0..20 {
        let started = Instant::now();
        walked = traverse::select(&tileset, &everything, 0.0, &ready).visited;
        walk.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let (t, w) = (median(times), median(walk));
    println!(
        "traversal: {} tiles, flight of {} frames at 1920x1080: median {t:.4} ms/frame ({:.0} tiles visited, {:.0} contents drawn); walk of all {walked} tiles {w:.2} ms; flight / walk {:.4}",
        tileset.len(),
        options.frames,
        median(visited),
        median(drawn),
        t / w
    );
    Ok(())
}

/// Time to all tiles of the 3DBAG sample resident through the streaming pipeline.
fn bag3d_resident(options: &TilesBench) -> Result<(), Box<dyn std::error::Error>> {
    let tileset = options.data.join("3dtiles/3dbag_tile_128/tileset.json");
    if !tileset.exists() {
        println!("3dbag: {} not found, skipped", tileset.display());
        return Ok(());
    }
    let glb = std::fs::read(options.data.join("3dtiles/3dbag_tile_128/128.glb"))?;
    // Baseline: decode + bake on this thread, no streaming.
    let mut direct = vec![];
    for _ in 0..5 {
        let started = Instant::now();
        let model = crate::buildings::gltf::decode_glb(&glb)?;
        let pose = ModelPose {
            frame_from_tile: DMat4::IDENTITY,
            tile_from_gltf: z_up_from_y_up(),
        };
        bake(model, pose, &Placement::Local(DMat4::IDENTITY))?;
        direct.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let (mut streamed, mut startup, mut resident_at) = (vec![], vec![], vec![]);
    for _ in 0..3 {
        let started = Instant::now();
        let opened = crate::front::inputs::open_inputs(
            &[tileset.display().to_string()],
            &crate::front::paths::cache_dir().join("converted"),
            None,
            &Default::default(),
            &indicatif::ProgressBar::hidden(),
        )?;
        let mut setup = ViewerSetup::with_clouds(vec![], PointCloudSettings::default());
        setup.buildings = opened.buildings;
        setup.camera = Some((
            DVec3::new(-2500.0, 8600.0, 300.0),
            DVec3::new(-2500.0, 9300.0, 0.0),
        ));
        let mut offscreen = Offscreen::new(setup, options.width, options.height)?;
        startup.push(started.elapsed().as_secs_f64() * 1e3);
        let ready = Instant::now();
        while offscreen.buildings().stats.contents_resident == 0
            && ready.elapsed() < Duration::from_secs(120)
        {
            offscreen.update();
        }
        resident_at.push(ready.elapsed().as_secs_f64() * 1e3);
        let (frames, settled) = offscreen.settle(Duration::from_secs(120));
        let resident = offscreen.buildings().stats.contents_resident;
        if !settled || resident != 1 {
            return Err(
                format!("3dbag did not settle ({frames} frames, {resident} resident)").into(),
            );
        }
        streamed.push(ready.elapsed().as_secs_f64() * 1e3);
    }
    let (s, d, r) = (median(streamed), median(direct), median(resident_at));
    println!(
        "3dbag: app start (open the tileset, GPU device) {:.0} ms; all tiles resident (traverse, fetch, decode, bake, upload) after {r:.0} ms, settled on screen (incl. first-use shader compilation) after {s:.0} ms; decode + bake alone {d:.0} ms; resident / decode+bake {:.1}",
        median(startup),
        r / d
    );
    Ok(())
}

/// Frame time with a town of `options.buildings` buildings on screen, against the same frames
/// with the layer hidden.
fn many_buildings(options: &TilesBench) -> Result<(), Box<dyn std::error::Error>> {
    // The demo town holds ~824 buildings per 20 M points of its scan.
    let points = (options.buildings as f64 / 824.0 * 20e6) as u64;
    let dir = crate::front::paths::cache_dir().join("bench-tiles");
    let path = crate::demo::buildings::demo_buildings_tileset(&dir, points)?;
    let opened = open_buildings(&path.display().to_string())?;
    let frame = crate::georef::GeoFrame::projected(2154)?;
    let (layer, _) = opened.into_layer(Some(&frame), None, None)?;
    let bounds = layer.bounds.ok_or("the town has no bounds")?;
    let mut setup = ViewerSetup::with_clouds(vec![], PointCloudSettings::default());
    setup.buildings = vec![layer];
    let mut offscreen = Offscreen::new(setup, options.width, options.height)?;
    {
        let world = offscreen.app.world_mut();
        // Load every content whatever the distance: the point is to draw them all.
        world.resource_mut::<Buildings>().max_sse_px = 1e-6;
    }
    let aspect = f64::from(options.width) / f64::from(options.height.max(1));
    *offscreen.camera_mut() = ViewerCamera::framing(&bounds, aspect);
    let (_, settled) = offscreen.settle(Duration::from_secs(300));
    let buildings_shown: usize = offscreen
        .buildings()
        .shown()
        .filter_map(|(_, r)| r.baked.properties.as_ref().map(|p| p.count))
        .sum();
    let triangles = offscreen.buildings().stats.triangles_shown;
    let measure = |visible: bool, offscreen: &mut Offscreen| {
        offscreen.app.world_mut().resource_mut::<Buildings>().layers[0].visible = visible;
        for _ in 0..3 {
            offscreen.update();
        }
        let mut times = vec![];
        for i in 0..30 {
            offscreen.camera_mut().rotate(0.002 * f64::from(i % 2), 0.0);
            let started = Instant::now();
            offscreen.update();
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        median(times)
    };
    let with = measure(true, &mut offscreen);
    let without = measure(false, &mut offscreen);
    println!(
        "{buildings_shown} buildings ({triangles} triangles) on screen at {}x{}{}: frame {with:.1} ms; same frames without them {without:.1} ms; ratio {:.2}",
        options.width,
        options.height,
        if settled { "" } else { " (not settled)" },
        with / without
    );
    Ok(())
}
