//! `jumeau bench render`: fly a fixed camera path over the demo twin offscreen and report, for
//! the compute rasterizer, the splat path and a naive `PointList` baseline measured in the same
//! run on the same frames: main-thread CPU per frame (the main schedule: camera, LOD selection,
//! streaming), frame time and points drawn per second.

use crate::bench::{RenderBench, median};
use crate::camera::ViewerCamera;
use crate::front::headless::Offscreen;
use crate::front::twin::ViewerSetup;
use crate::pointcloud::StreamSource;
use crate::pointcloud::layer::Layer;
use crate::pointcloud::streaming::{PointCloudSettings, RenderPath};
use crate::pointcloud::style::ColorMode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A way of drawing the points, as flown by the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flight {
    /// The compute rasterizer, 64-bit atomics where the GPU has them.
    Compute,
    /// The compute rasterizer with the two-pass 32-bit scheme (as on WebGPU).
    Compute32,
    Splats,
    PointList,
}

impl Flight {
    fn name(self) -> &'static str {
        match self {
            Flight::Compute => "compute",
            Flight::Compute32 => "compute, 32-bit atomics",
            Flight::Splats => "splats",
            Flight::PointList => "PointList",
        }
    }

    fn path(self) -> RenderPath {
        match self {
            Flight::Compute | Flight::Compute32 => RenderPath::Compute,
            Flight::Splats => RenderPath::Splats,
            Flight::PointList => RenderPath::PointList,
        }
    }
}

/// Measurements of one render path over the camera path.
#[derive(Debug, Clone)]
pub struct PathTimes {
    pub path: Flight,
    /// Camera, LOD selection, streaming and placement systems (wall, main path).
    pub streaming_ms: f64,
    pub main_cpu_ms: f64,
    pub main_wall_ms: f64,
    pub frame_ms: f64,
    pub points_drawn: f64,
    pub points_per_second: f64,
    /// Share of the last frame's pixels that are not the background: the frame was drawn.
    pub covered: f64,
}

/// Share of `image`'s pixels that differ from the background.
fn covered(image: &image::RgbaImage) -> f64 {
    let c = crate::front::twin::BACKGROUND.to_srgba();
    let bg = [c.red, c.green, c.blue].map(|v| (v * 255.0).round() as u8);
    let drawn = image
        .pixels()
        .filter(|p| (0..3).any(|i| p.0[i].abs_diff(bg[i]) > 6))
        .count();
    drawn as f64 / f64::from((image.width() * image.height()).max(1))
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec to a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One frame, timing the main schedule apart from rendering. Returns (main CPU, main wall,
/// whole frame wall).
fn timed_update(offscreen: &mut Offscreen) -> (Duration, Duration, Duration) {
    let frame = Instant::now();
    let cpu = thread_cpu_time();
    let sub_apps = offscreen.app.sub_apps_mut();
    sub_apps.main.run_default_schedule();
    let main_cpu = thread_cpu_time().saturating_sub(cpu);
    let main_wall = frame.elapsed();
    let main_world = sub_apps.main.world_mut();
    for sub_app in sub_apps.sub_apps.values_mut() {
        sub_app.extract(main_world);
        sub_app.update();
    }
    main_world.clear_trackers();
    offscreen.wait_for_gpu();
    (main_cpu, main_wall, frame.elapsed())
}

/// `copies` sources of the demo twin's COPC laid side by side on a square grid (each streams
/// and decodes its own points through the whole pipeline, as tiles of one area would).
fn demo_copies(
    copc: &std::path::Path,
    points: u64,
    copies: u32,
) -> Result<Vec<StreamSource>, String> {
    let step = crate::demo::side_m(points) * 1.05;
    let columns = f64::from(copies.max(1)).sqrt().ceil() as u32;
    (0..copies.max(1))
        .map(|i| {
            let file = crate::io::FileSource::open(copc).map_err(|e| e.to_string())?;
            let source = StreamSource::open(&format!("demo twin {i}"), Arc::new(file))
                .map_err(|e| e.to_string())?;
            let d = bevy::math::DVec3::new(
                f64::from(i % columns) * step,
                f64::from(i / columns) * step,
                0.0,
            );
            source.translated(d).map_err(|e| e.to_string())
        })
        .collect()
}

/// The camera path: a quarter orbit around the town while descending, then a pass over it.
fn camera_at(start: &ViewerCamera, t: f64) -> ViewerCamera {
    let mut camera = *start;
    camera.yaw = start.yaw + t * std::f64::consts::FRAC_PI_2;
    camera.pitch = start.pitch + t * 0.35;
    camera.distance = start.distance * (1.0 - 0.5 * t);
    camera
}

fn fly(copc: &std::path::Path, options: &RenderBench, path: Flight) -> Result<PathTimes, String> {
    let sources = demo_copies(copc, options.points, options.copies)?;
    let mut settings = PointCloudSettings {
        point_budget: options.budget,
        color_mode: ColorMode::Rgb,
        render_path: path.path(),
        point_size_px: options.point_size,
        atomics_64: path != Flight::Compute32,
        budget_set_by_user: true,
        // Draw the budget, not what the resolution needs: the point is to load the GPU.
        min_spacing_px: 0.0,
        ..PointCloudSettings::default()
    };
    // Room for the whole budget (the default 2 GiB holds 178 M points of the rasterizer).
    settings.make_room_for_budget();
    let setup = ViewerSetup {
        layers: vec![Layer::new("demo", sources)],
        settings,
        camera: None,
        ..ViewerSetup::with_clouds(vec![], PointCloudSettings::default())
    };
    let mut offscreen = Offscreen::new(setup, options.width, options.height)?;
    let (_, settled) = offscreen.settle(Duration::from_secs(600));
    if !settled {
        return Err("streaming did not settle at the start of the path".into());
    }
    let start = *offscreen.camera_mut();
    let save = |offscreen: &mut Offscreen, name: &str| -> Result<(), String> {
        if let Some(dir) = &options.png_dir {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            let image = offscreen.capture()?;
            image
                .save(dir.join(format!("{name}-{path:?}.png")))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    save(&mut offscreen, "start")?;
    let (mut cpu, mut wall, mut frame, mut points) = (vec![], vec![], vec![], vec![]);
    let mut streaming = vec![];
    for i in 0..options.frames {
        let t = f64::from(i) / f64::from(options.frames.max(2) - 1);
        *offscreen.camera_mut() = camera_at(&start, t);
        let (c, w, f) = timed_update(&mut offscreen);
        cpu.push(c.as_secs_f64() * 1e3);
        wall.push(w.as_secs_f64() * 1e3);
        frame.push(f.as_secs_f64() * 1e3);
        points.push(offscreen.clouds().stats.points_shown as f64);
        streaming.push(offscreen.clouds().stats.streaming_ms);
    }
    save(&mut offscreen, "end")?;
    // What was timed must have been drawn: the last frame, read back.
    let covered = covered(&offscreen.capture()?);
    if covered < 0.01 {
        return Err(format!(
            "{}: the last frame is empty ({:.2} % of pixels drawn): its timings mean nothing",
            path.name(),
            covered * 100.0
        ));
    }
    let frame_ms = median(frame);
    let points_drawn = median(points);
    Ok(PathTimes {
        path,
        streaming_ms: median(streaming),
        main_cpu_ms: median(cpu),
        main_wall_ms: median(wall),
        frame_ms,
        points_drawn,
        points_per_second: points_drawn / (frame_ms / 1e3),
        covered,
    })
}

/// Runs the benchmark and prints a table.
pub fn run(options: &RenderBench) -> Result<(), Box<dyn std::error::Error>> {
    let copc = crate::demo::demo_twin_copc(
        &crate::front::paths::cache_dir().join("demo"),
        options.points,
        &indicatif::ProgressBar::new(0),
    )?;
    let mut paths = vec![Flight::Compute];
    if options.atomics_32 {
        paths.push(Flight::Compute32);
    }
    if !options.compute_only {
        paths.push(Flight::Splats);
        // Hardware points are one pixel: the baseline is only fair against 1-px points.
        if !options.no_baseline && options.point_size == 1.0 {
            paths.push(Flight::PointList);
        } else if !options.no_baseline {
            println!(
                "PointList baseline skipped: it draws 1-px points, the others {} px (use --point-size 1)",
                options.point_size
            );
        }
    }
    let adapter = std::env::var("WGPU_ADAPTER_NAME").unwrap_or_default();
    println!(
        "demo twin {} points × {} copies, budget {}, {}x{}, {} px points, {} frames per path{}",
        options.points,
        options.copies,
        options.budget,
        options.width,
        options.height,
        options.point_size,
        options.frames,
        if adapter.is_empty() {
            String::new()
        } else {
            format!(", adapter {adapter}")
        }
    );
    println!(
        "| path | streaming systems ms | main-thread CPU ms/frame | main schedule ms | frame ms | points drawn | M points/s | last frame drawn |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut results = Vec::new();
    for path in paths {
        let r = fly(&copc, options, path)?;
        println!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.1} | {:.0} | {:.1} | {:.1} % of pixels |",
            r.path.name(),
            r.streaming_ms,
            r.main_cpu_ms,
            r.main_wall_ms,
            r.frame_ms,
            r.points_drawn,
            r.points_per_second / 1e6,
            r.covered * 100.0
        );
        results.push(r);
    }
    let ratio = |a: &PathTimes, b: &PathTimes| {
        println!(
            "{} / {}: frame time {:.2}x, points per second {:.2}x",
            a.path.name(),
            b.path.name(),
            a.frame_ms / b.frame_ms,
            a.points_per_second / b.points_per_second
        );
    };
    let find = |p: Flight| results.iter().find(|r| r.path == p);
    for (a, b) in [
        (Flight::Compute, Flight::Splats),
        (Flight::Compute32, Flight::Compute),
        (Flight::Splats, Flight::PointList),
    ] {
        if let (Some(a), Some(b)) = (find(a), find(b)) {
            ratio(a, b);
        }
    }
    Ok(())
}
