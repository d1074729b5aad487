//! `jumeau bench`: measurements reported as ratios against baselines run in the same process
//! (raw LAZ decode/encode, a peer converter), plus the default job of a bare `jumeau` run.

pub mod network;
pub mod pick;
pub mod render;
pub mod scenario;
pub mod tiles;
pub mod vpc;

use crate::io::{self, ByteSource};
use crate::pointcloud::CopcReader;
use crate::pointcloud::format::{RecordConverter, RecordLayout, copc_format_for};
use crate::pointcloud::las::{LasFile, encode_laz_chunk};
use crate::pointcloud::lod::{PointBudget, select_nodes};
use crate::pointcloud::octree::{Cube, Hierarchy, NodeData, VoxelKey};
use crate::spatial::View;
use bevy::math::DVec3;
use clap::Subcommand;
use laz::{DecompressionSelection, LazItemRecordBuilder, LazVlrBuilder};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Convert throughput against raw decode+encode and against py3dtiles.
    Convert {
        /// Inputs to measure; default: the IGN tile from ../shared/data and a synthetic LAZ.
        inputs: Vec<PathBuf>,
        /// Points of the synthetic input (generated once into the work folder).
        #[arg(long, default_value_t = 50_000_000)]
        synthetic_points: u64,
        /// Skip the synthetic input.
        #[arg(long)]
        no_synthetic: bool,
        /// py3dtiles executable (default: /opt/py3dtiles-venv/bin/py3dtiles when present).
        #[arg(long)]
        py3dtiles: Option<PathBuf>,
        #[arg(long, default_value = "1GiB")]
        memory_budget: String,
        /// Work folder for generated inputs and outputs (default: the user cache folder).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Repetitions per measurement (median reported).
        #[arg(long, default_value_t = 1)]
        runs: usize,
    },
    /// `select_nodes` on a synthetic hierarchy of about N nodes.
    Select {
        #[arg(long, default_value_t = 100_000)]
        nodes: usize,
        #[arg(long, default_value_t = 2_000_000)]
        budget: u64,
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// Frame times while flying a fixed path over the demo twin: the compute rasterizer against
    /// splats and a PointList baseline, main-thread CPU per frame, points drawn per second.
    Render(RenderBench),
    /// Buildings: tileset traversal per frame, time to resident, frame time with 10⁴ buildings.
    Tiles(crate::bench::tiles::TilesBench),
    /// Network overlay: ingest and drape of 10⁵ spans and 10⁴ sites, main-thread CPU per
    /// frame, frame time with the overlay against without.
    Network(crate::bench::network::NetworkBench),
    /// A commune of tiles as one layer: selection CPU over a 10⁴-tile VPC, bytes fetched for
    /// the overview of a 36-tile VPC over HTTP.
    Vpc(crate::bench::vpc::VpcBench),
    /// Scenarios: flood connection levels against a fill per level, a level change, a day of
    /// sunlight hours against ray marching, the terrain of the IGN tile against decoding it.
    Scenario(crate::bench::scenario::ScenarioBench),
    /// Picking and snapping with 20 M points loaded (target ≤ 2 ms on the main thread),
    /// against reading every point.
    Pick(crate::bench::pick::PickBench),
    /// Bytes fetched over HTTP (local server) to show an overview of a COPC file.
    Stream {
        /// A COPC file.
        input: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        budget: u64,
        #[arg(long, default_value_t = 1920.0)]
        width: f64,
        #[arg(long, default_value_t = 1080.0)]
        height: f64,
    },
}

/// Options of `jumeau bench render`.
#[derive(Debug, Clone, clap::Args)]
pub struct RenderBench {
    /// Points of the demo twin flown over (generated once into the cache folder).
    #[arg(long, default_value_t = crate::demo::DEMO_TWIN_POINTS)]
    pub points: u64,
    #[arg(long, default_value_t = 5_000_000)]
    pub budget: u64,
    #[arg(long, default_value_t = 640)]
    pub width: u32,
    #[arg(long, default_value_t = 360)]
    pub height: u32,
    /// Frames of the camera path (after streaming has settled at its start).
    #[arg(long, default_value_t = 60)]
    pub frames: u32,
    /// Skip the PointList baseline.
    #[arg(long)]
    pub no_baseline: bool,
    /// Fly the compute rasterizer only (no splats, no PointList: for 10⁹ points on a GPU).
    #[arg(long)]
    pub compute_only: bool,
    /// Also fly the compute rasterizer with 32-bit atomics (the WebGPU scheme).
    #[arg(long)]
    pub atomics_32: bool,
    /// Copies of the demo twin laid side by side, each streamed from the same COPC file as its
    /// own source (10⁹ points without generating 10⁹: e.g. --points 20000000 --copies 50).
    #[arg(long, default_value_t = 1)]
    pub copies: u32,
    /// Point size in pixels (1: one pixel a point, as the GPU figures of the compute
    /// rasterizer are usually given, and the only size the PointList baseline draws).
    #[arg(long, default_value_t = 1.0)]
    pub point_size: f32,
    /// Write the first and last frame of each path as PNG into this folder.
    #[arg(long)]
    pub png_dir: Option<PathBuf>,
}

/// The median of `v` (NaN when empty).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// What [`run_measured`] saw of a child process.
struct Measured {
    elapsed: Duration,
    peak_rss_bytes: u64,
    ok: bool,
    /// The end of what it wrote (stdout, then stderr), to say why it failed.
    output_tail: String,
}

/// Reads a child's pipe to its end on a thread of its own; gives its last lines.
fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = pipe.read_to_end(&mut text);
        let text = String::from_utf8_lossy(&text).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    })
}

/// A child process's wall time and peak resident memory (Linux `wait4`). Its output is read
/// while it runs (a chatty child would otherwise block on a full pipe).
fn run_measured(
    command: &mut std::process::Command,
) -> Result<Measured, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let stdout = drain(child.stdout.take().ok_or("no stdout pipe")?);
    let stderr = drain(child.stderr.take().ok_or("no stderr pipe")?);
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain FFI call with valid out-pointers; `child` is ours and not waited on elsewhere.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    if waited != pid {
        return Err(format!("wait4 failed for {command:?}").into());
    }
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok(Measured {
        elapsed,
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
        ok,
        output_tail: [stdout, stderr]
            .map(|d| d.join().unwrap_or_default())
            .join("\n")
            .trim()
            .to_owned(),
    })
}

/// Decodes every block (in parallel) and, with `encode`, re-encodes it as COPC LAZ chunks.
fn decode_encode_floor(
    file: &LasFile<Arc<dyn ByteSource>>,
    encode: bool,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let format = copc_format_for(file.header.point_format);
    let dst = RecordLayout::of(format).ok_or("format")?;
    let src = RecordLayout::of(file.header.point_format).ok_or("format")?;
    let extra = usize::from(file.header.extra_bytes_len()) + src.wave_packet.map_or(0, |_| 29);
    let converter = RecordConverter {
        src,
        src_len: usize::from(file.header.point_record_len),
        dst,
        dst_len: dst.base_len + extra,
        extra_len: usize::from(file.header.extra_bytes_len()),
        requantize: None,
    };
    let items = LazItemRecordBuilder::default_for_point_format_id(format, extra as u16)?;
    let vlr = LazVlrBuilder::new(items).with_variable_chunk_size().build();
    let started = Instant::now();
    let group = rayon::current_num_threads() * 2;
    for blocks in file.blocks.chunks(group) {
        blocks.par_iter().try_for_each(|b| -> Result<(), String> {
            let raw = file
                .decode_block(b, DecompressionSelection::all())
                .map_err(|e| e.to_string())?;
            if encode {
                encode_laz_chunk(&vlr, &converter.convert_all(&raw))?;
            }
            Ok(())
        })?;
    }
    Ok(started.elapsed())
}

fn shared_data_dir() -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        manifest.join("../shared/data"),
        PathBuf::from("../shared/data"),
    ]
    .into_iter()
    .find(|p| p.join("lidar").is_dir())
}

/// `jumeau bench convert`.
#[allow(clippy::too_many_arguments)]
fn bench_convert(
    mut inputs: Vec<PathBuf>,
    synthetic_points: u64,
    no_synthetic: bool,
    py3dtiles: Option<PathBuf>,
    memory_budget: &str,
    work_dir: Option<PathBuf>,
    runs: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let work = work_dir.unwrap_or_else(|| crate::front::paths::cache_dir().join("bench"));
    std::fs::create_dir_all(&work)?;
    if inputs.is_empty() {
        if let Some(data) = shared_data_dir() {
            inputs.push(data.join("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz"));
        }
        if !no_synthetic {
            let path = work.join(format!("survey-{synthetic_points}.laz"));
            if !path.exists() {
                eprintln!(
                    "generating {} ({synthetic_points} points)...",
                    path.display()
                );
                let bar = indicatif::ProgressBar::new(synthetic_points);
                crate::demo::write_survey_laz(&path, synthetic_points, 7, &bar)?;
                bar.finish_and_clear();
            }
            inputs.push(path);
        }
    }
    let py3dtiles = py3dtiles.or_else(|| {
        Some(PathBuf::from("/opt/py3dtiles-venv/bin/py3dtiles")).filter(|p| p.exists())
    });
    let exe = std::env::current_exe()?;
    println!(
        "| input | points | decode M pts/s | decode+encode M pts/s | jumeau convert M pts/s | convert / (decode+encode) | peak RSS MiB | py3dtiles M pts/s | jumeau / py3dtiles | output (info --check --full) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for input in inputs {
        let file = LasFile::open(io::open(&input.display().to_string())?)?;
        let points = file.header.point_count as f64;
        let runs = runs.max(1);
        let decode = median(
            (0..runs)
                .map(|_| decode_encode_floor(&file, false).map(|d| d.as_secs_f64()))
                .collect::<Result<_, _>>()?,
        );
        let decode_encode = median(
            (0..runs)
                .map(|_| decode_encode_floor(&file, true).map(|d| d.as_secs_f64()))
                .collect::<Result<_, _>>()?,
        );
        let output = work.join("bench-out.copc.laz");
        let mut convert_secs = Vec::new();
        let mut peak = 0;
        for _ in 0..runs {
            let run = run_measured(
                std::process::Command::new(&exe)
                    .arg("convert")
                    .arg(&input)
                    .arg("--output")
                    .arg(&output)
                    .arg("--memory-budget")
                    .arg(memory_budget),
            )?;
            if !run.ok {
                return Err(format!(
                    "jumeau convert failed on {}: {}",
                    input.display(),
                    run.output_tail
                )
                .into());
            }
            convert_secs.push(run.elapsed.as_secs_f64());
            peak = peak.max(run.peak_rss_bytes);
        }
        let convert_secs = median(convert_secs);
        // A fast conversion into a wrong file is worth nothing: the output must pass the check
        // that every point lies inside its node, all attributes decoded.
        let checked =
            crate::pointcloud::check::check(io::open(&output.display().to_string())?, true)?;
        if !checked.is_valid() {
            return Err(format!(
                "the output of {} is not valid COPC:\n{checked}",
                input.display()
            )
            .into());
        }
        let validity = format!("valid ({} points checked)", checked.points_checked);
        let peer = match &py3dtiles {
            Some(py) => {
                let out = std::fs::canonicalize(&work)?.join("py3dtiles-out");
                let mut secs = Vec::new();
                let mut failure = None;
                for _ in 0..runs {
                    let _ = std::fs::remove_dir_all(&out);
                    // Flags found to work with py3dtiles 12: no reprojection, classification and
                    // intensity kept; `--color_scale 1` avoids a hang in its colour probe on LAZ.
                    let mut command = std::process::Command::new(py);
                    command
                        .current_dir(std::env::temp_dir())
                        .arg("convert")
                        .arg(std::fs::canonicalize(&input)?)
                        .arg("--out")
                        .arg(&out)
                        .arg("--overwrite");
                    command
                        .arg("--jobs")
                        .arg(rayon::current_num_threads().to_string())
                        .arg("--no-rgb")
                        .arg("--color_scale")
                        .arg("1");
                    command.args([
                        "--extra-fields",
                        "classification",
                        "--extra-fields",
                        "intensity",
                    ]);
                    let run = run_measured(&mut command)?;
                    if run.ok {
                        secs.push(run.elapsed.as_secs_f64());
                    } else {
                        failure = Some(run.output_tail);
                    }
                }
                let _ = std::fs::remove_dir_all(&out);
                if let Some(why) = failure {
                    eprintln!("py3dtiles failed on {}: {why}", input.display());
                }
                (!secs.is_empty()).then(|| median(secs))
            }
            None => None,
        };
        let _ = std::fs::remove_file(&output);
        let mps = |secs: f64| points / secs / 1e6;
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {} | {} | {validity} |",
            input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            points,
            mps(decode),
            mps(decode_encode),
            mps(convert_secs),
            decode_encode / convert_secs,
            peak as f64 / (1024.0 * 1024.0),
            peer.map_or("n/a".into(), |s| format!("{:.2}", mps(s))),
            peer.map_or("n/a".into(), |s| format!("{:.2}", s / convert_secs)),
        );
    }
    Ok(())
}

/// A synthetic hierarchy of about `nodes` nodes: a quadtree-like terrain octree (2.5D data).
pub fn synthetic_hierarchy(nodes: usize) -> Hierarchy {
    let cube = Cube {
        center: DVec3::new(652_500.0, 6_862_500.0, 500.0),
        halfsize: 2500.0,
    };
    let mut h = Hierarchy::new(cube, 2.0 * cube.halfsize / 128.0);
    let mut level = vec![VoxelKey::ROOT];
    let mut count = 0;
    'outer: loop {
        let mut next = Vec::new();
        for key in level {
            if count >= nodes {
                break 'outer;
            }
            let points = 20_000 + (key.x as u64 * 31 + key.y as u64 * 17) % 40_000;
            h.insert(
                key,
                Some(NodeData {
                    offset: 0,
                    byte_size: points * 4,
                    point_count: points,
                }),
                None,
            );
            count += 1;
            // Terrain: children in the lower half of z only (4 of 8).
            next.extend([0, 1, 2, 3].map(|i| key.child(i)));
        }
        level = next;
    }
    h
}

/// The two cameras of the `select_nodes` benchmarks over [`synthetic_hierarchy`].
pub fn select_views(h: &Hierarchy) -> [(&'static str, View); 2] {
    let bounds = h.cube.bounds(VoxelKey::ROOT);
    let street_eye = DVec3::new(652_400.0, 6_862_300.0, 30.0);
    let street_target = DVec3::new(652_600.0, 6_862_700.0, 0.0);
    [
        ("overview", View::framing(&bounds, 1.0, 16.0 / 9.0, 1080.0)),
        (
            "street level",
            View::look_at(street_eye, street_target, DVec3::Z, 1.0, 16.0 / 9.0, 1080.0),
        ),
    ]
}

fn bench_select(nodes: usize, budget: u64, runs: usize) {
    let h = synthetic_hierarchy(nodes);
    let views = select_views(&h);
    println!("hierarchy: {} nodes", h.nodes().len());
    for (name, view) in views {
        let mut times = Vec::new();
        let mut selected = 0;
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            let s = select_nodes(&h, &view, PointBudget::points(budget));
            times.push(started.elapsed().as_secs_f64() * 1e3);
            selected = s.nodes.len();
        }
        let unlimited = select_nodes(
            &h,
            &view,
            PointBudget {
                max_points: u64::MAX,
                min_spacing_px: 0.0,
            },
        );
        let mut all_times = Vec::new();
        for _ in 0..runs.clamp(1, 20) {
            let started = Instant::now();
            let _ = select_nodes(
                &h,
                &view,
                PointBudget {
                    max_points: u64::MAX,
                    min_spacing_px: 0.0,
                },
            );
            all_times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "{name:>12}: budget {budget}: {selected} nodes in {:.3} ms (median of {runs}); every visible node ({}): {:.3} ms",
            median(times),
            unlimited.nodes.len(),
            median(all_times)
        );
    }
}

/// Serves `path` on loopback and fetches what an overview camera needs.
pub fn overview_bytes(
    path: &Path,
    budget: u64,
    width: f64,
    height: f64,
) -> Result<(u64, u64, usize, u64), Box<dyn std::error::Error>> {
    let bytes: Arc<[u8]> = std::fs::read(path)?.into();
    let total = bytes.len() as u64;
    let server = io::test_server::serve(bytes, io::test_server::Behaviour::Ranges)?;
    let source: Arc<dyn ByteSource> = Arc::new(io::http::HttpSource::new(
        &server.url,
        io::http::HttpSettings::default(),
    )?);
    let mut reader = CopcReader::open(source.clone())?;
    let header = &reader.file.header;
    let data_box = crate::spatial::Aabb {
        min: DVec3::from(header.min),
        max: DVec3::from(header.max),
    };
    let view = View::framing(&data_box, 1.0, width / height, height);
    let (selection, _) = reader.fetch_view(&view, PointBudget::points(budget))?;
    Ok((
        source.bytes_fetched(),
        total,
        selection.nodes.len(),
        selection.total_points,
    ))
}

/// Runs a bench command.
pub fn run(command: BenchCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        BenchCommand::Convert {
            inputs,
            synthetic_points,
            no_synthetic,
            py3dtiles,
            memory_budget,
            work_dir,
            runs,
        } => bench_convert(
            inputs,
            synthetic_points,
            no_synthetic,
            py3dtiles,
            &memory_budget,
            work_dir,
            runs,
        ),
        BenchCommand::Select {
            nodes,
            budget,
            runs,
        } => {
            bench_select(nodes, budget, runs);
            Ok(())
        }
        BenchCommand::Render(options) => crate::bench::render::run(&options),
        BenchCommand::Tiles(options) => crate::bench::tiles::run(&options),
        BenchCommand::Network(options) => crate::bench::network::run(&options),
        BenchCommand::Vpc(options) => crate::bench::vpc::run(options),
        BenchCommand::Scenario(options) => crate::bench::scenario::run(&options),
        BenchCommand::Pick(options) => crate::bench::pick::run(&options),
        BenchCommand::Stream {
            input,
            budget,
            width,
            height,
        } => {
            let (fetched, total, nodes, shown) = overview_bytes(&input, budget, width, height)?;
            println!(
                "{}: overview {width}x{height} at budget {budget}: {nodes} nodes, {shown} points; fetched {fetched} of {total} bytes ({:.2} %)",
                input.display(),
                100.0 * fetched as f64 / total as f64
            );
            Ok(())
        }
    }
}
