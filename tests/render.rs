//! Headless rendering on the GPU (lavapipe in CI): golden images of the IGN tile by
//! classification, autzen in RGB and the demo twin with its buildings tileset; buildings (3DBAG,
//! Cesium 1.1, a model placed on the IGN tile, picking, pnts, broken tiles); camera-relative
//! precision at Lambert-93 magnitudes; a corrupt node that fails while the rest renders.
//!
//! Golden images live in `tests/snapshots/`; `UPDATE_SNAPSHOTS=1 cargo test --release --test
//! render` rewrites them. A mismatch writes `*.actual.png` next to the golden.

mod common;

use common::snapshot::{assert_matches_snapshot, compare, differing, snapshot_dir};

use bevy::math::DVec3;
use image::RgbaImage;
use indicatif::ProgressBar;
use jumeau::front::headless::RenderReport;
use jumeau::front::headless::{Offscreen, RenderOptions, render};
use jumeau::front::opening::OpenJob;
use jumeau::front::twin::ViewerSetup;
use jumeau::pointcloud::layer::{Layer, StreamSource};
use jumeau::pointcloud::open::open_layer;
use jumeau::pointcloud::streaming::{PointCloudSettings, RenderPath};
use jumeau::pointcloud::style::{ClassFilter, ColorMode, class_color};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

const W: u32 = 320;
const H: u32 = 240;

/// One GPU app at a time in this process.
fn gpu() -> MutexGuard<'static, ()> {
    static GPU: Mutex<()> = Mutex::new(());
    GPU.lock().unwrap_or_else(|e| e.into_inner())
}

fn background() -> [u8; 3] {
    let c = jumeau::front::twin::BACKGROUND.to_srgba();
    [c.red, c.green, c.blue].map(|v| (v * 255.0).round() as u8)
}

/// Fraction of pixels that are not the background.
fn coverage(image: &RgbaImage) -> f64 {
    let bg = background();
    let covered = image
        .pixels()
        .filter(|p| (0..3).any(|i| p.0[i].abs_diff(bg[i]) > 6))
        .count();
    covered as f64 / f64::from(image.width() * image.height())
}

/// Pixels within `tol` of an sRGB colour.
fn count_color(image: &RgbaImage, rgb: [u8; 3], tol: u8) -> usize {
    image
        .pixels()
        .filter(|p| (0..3).all(|i| p.0[i].abs_diff(rgb[i]) <= tol))
        .count()
}

/// Eye-dome lighting is on except for classification, whose palette colours the tests count.
fn settings(color: ColorMode) -> PointCloudSettings {
    PointCloudSettings {
        color_mode: color,
        edl: color != ColorMode::Classification,
        point_budget: 2_000_000,
        budget_set_by_user: true,
        point_size_px: 2.0,
        ..PointCloudSettings::default()
    }
}

fn layer(inputs: &[PathBuf], cache: &Path) -> Layer {
    let inputs: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    open_layer("test", &inputs, cache, &ProgressBar::hidden()).unwrap()
}

fn options() -> RenderOptions {
    RenderOptions {
        width: W,
        height: H,
        timeout: Duration::from_secs(120),
        timed_frames: 0,
        decorate: false,
    }
}

#[test]
fn ign_tile_by_classification() {
    let data = require_data!();
    let _gpu = gpu();
    let cache = tempfile::tempdir().unwrap();
    let tile = data.join("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz");
    let setup = ViewerSetup {
        layers: vec![layer(&[tile], cache.path())],
        settings: settings(ColorMode::Classification),
        camera: None,
        ..ViewerSetup::with_clouds(vec![], PointCloudSettings::default())
    };
    let report = render(setup, options()).unwrap();
    assert!(
        report.settled,
        "streaming never settled: {:?}",
        report.stats
    );
    // The whole decimated tile fits the budget: every point is shown.
    assert_eq!(report.stats.points_shown, 289_055);
    let image = &report.image;
    assert!(coverage(image) > 0.3, "coverage {}", coverage(image));
    // Ground (class 2) dominates the tile, buildings (6) are there too: their palette colours
    // must show up (no tonemapping on top of the palette).
    let ground = count_color(image, jumeau::pointcloud::style::class_color(2), 3);
    let building = count_color(image, jumeau::pointcloud::style::class_color(6), 3);
    assert!(ground > 5_000, "ground pixels {ground}");
    assert!(building > 100, "building pixels {building}");
    assert_matches_snapshot("ign_classification", image);
}

#[test]
fn autzen_in_rgb() {
    let data = require_data!();
    let _gpu = gpu();
    let cache = tempfile::tempdir().unwrap();
    let setup = ViewerSetup {
        layers: vec![layer(&[data.join("lidar/autzen_trim.laz")], cache.path())],
        settings: settings(ColorMode::Rgb),
        camera: None,
        ..ViewerSetup::with_clouds(vec![], PointCloudSettings::default())
    };
    let report = render(setup, options()).unwrap();
    assert!(report.settled);
    assert!(report.stats.points_shown > 100_000);
    let image = &report.image;
    // The trimmed autzen strip is long and narrow: a fifth of the frame.
    assert!(coverage(image) > 0.15, "coverage {}", coverage(image));
    // RGB imagery: many distinct colours, not a palette.
    let distinct: std::collections::HashSet<[u8; 3]> = image
        .pixels()
        .map(|p| [p.0[0] & 0xf0, p.0[1] & 0xf0, p.0[2] & 0xf0])
        .collect();
    assert!(distinct.len() > 60, "{} colours", distinct.len());
    assert_matches_snapshot("autzen_rgb", image);
}

/// The demo town of 300 000 points in `dir`: scan, buildings tileset and network.
fn demo_setup(dir: &Path) -> ViewerSetup {
    let copc = jumeau::demo::demo_twin_copc(dir, 300_000, &ProgressBar::hidden()).unwrap();
    let source = StreamSource::open(
        "demo",
        Arc::new(jumeau::io::FileSource::open(&copc).unwrap()),
    )
    .unwrap();
    // Its buildings: the 3D Tiles tileset Jumeau writes for the same town.
    let tileset = jumeau::demo::buildings::demo_buildings_tileset(dir, 300_000).unwrap();
    let opened = jumeau::buildings::open::open_buildings(&tileset.display().to_string()).unwrap();
    let frame = jumeau::demo::demo_frame().unwrap();
    let (buildings, _) = opened.into_layer(Some(&frame), None, None).unwrap();
    // And its network, draped on the scan's ground.
    let network =
        jumeau::front::app::demo_network_layer(dir, 300_000, source.reader.file.source.clone())
            .unwrap();
    ViewerSetup {
        layers: vec![Layer::new("demo", vec![source])],
        buildings: vec![buildings],
        settings: settings(ColorMode::Rgb),
        camera: None,
        networks: vec![network],
        ..ViewerSetup::with_clouds(vec![], PointCloudSettings::default())
    }
}

#[test]
fn demo_twin() {
    let _gpu = gpu();
    let dir = tempfile::tempdir().unwrap();
    let setup = demo_setup(dir.path());
    let report = render(setup, options()).unwrap();
    assert!(report.settled);
    assert!(
        report.networks.spans > 0 && report.networks.sites > 0,
        "{:?}",
        report.networks
    );
    // Lit fibre (green) and planned (orange) show on top of the town.
    let [lit, planned] = [2, 0].map(|s| {
        count_color(
            &report.image,
            jumeau::network::overlay::STATUS_COLORS[s],
            10,
        )
    });
    assert!(lit > 150, "lit {lit} px, planned {planned} px");
    assert_eq!(report.stats.points_shown, 300_000);
    assert!(
        report.buildings.contents_shown >= 1,
        "{:?}",
        report.buildings
    );
    assert!(report.buildings.triangles_shown > 0);
    assert_eq!(report.buildings.failed, 0, "{:?}", report.messages);
    assert!(coverage(&report.image) > 0.3);
    assert_matches_snapshot("demo_twin", &report.image);
}

/// Camera-relative rendering: close up on the IGN tile (y ≈ 6.83 × 10⁶ m), moving the camera
/// by 1 mm changes the image by at most a one-pixel shift. With raw f32 Lambert-93 coordinates
/// (0.5 m steps) the points would jump by many pixels.
#[test]
fn no_jitter_at_lambert93_magnitudes() {
    let data = require_data!();
    let _gpu = gpu();
    let cache = tempfile::tempdir().unwrap();
    let tile = data.join("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz");
    let make = |offset: DVec3| {
        let target = DVec3::new(292_500.0, 6_832_500.0, 60.0) + offset;
        ViewerSetup {
            layers: vec![layer(std::slice::from_ref(&tile), cache.path())],
            settings: settings(ColorMode::Classification),
            camera: Some((target + DVec3::new(0.0, -25.0, 25.0), target)),
            ..ViewerSetup::with_clouds(vec![], PointCloudSettings::default())
        }
    };
    let a = render(make(DVec3::ZERO), options()).unwrap();
    let b = render(make(DVec3::new(0.001, 0.001, 0.001)), options()).unwrap();
    assert!(coverage(&a.image) > 0.2, "close-up shows points");
    let best = (-1..=1)
        .flat_map(|dx| (-1..=1).map(move |dy| (dx, dy)))
        .map(|(dx, dy)| differing(&a.image, &b.image, 12, dx, dy))
        .fold(f64::INFINITY, f64::min);
    assert!(
        best < 0.01,
        "{:.2}% of pixels changed for a 1 mm move",
        best * 100.0
    );
}

/// One corrupt node: it is reported as failed (named) and the rest of the cloud renders.
/// The demo town of 200 000 points as COPC in `dir`, its root node's LAZ layer table corrupt.
fn copc_with_a_corrupt_root(dir: &Path) -> PathBuf {
    let copc = jumeau::demo::demo_twin_copc(dir, 200_000, &ProgressBar::hidden()).unwrap();
    let mut bytes = std::fs::read(&copc).unwrap();
    let reader =
        jumeau::pointcloud::CopcReader::open(jumeau::io::MemorySource::new("x", bytes.clone()))
            .unwrap();
    let root = reader
        .hierarchy
        .get(jumeau::pointcloud::VoxelKey::ROOT)
        .unwrap()
        .data
        .unwrap();
    // The root's layer table claims more bytes than the chunk holds.
    let at = root.offset as usize + 36 + 4;
    bytes[at..at + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let broken = dir.join("broken.copc.laz");
    std::fs::write(&broken, &bytes).unwrap();
    broken
}

#[test]
fn a_corrupt_node_fails_alone() {
    let _gpu = gpu();
    let dir = tempfile::tempdir().unwrap();
    let broken = copc_with_a_corrupt_root(dir.path());
    let source = StreamSource::open(
        "broken.copc.laz",
        Arc::new(jumeau::io::FileSource::open(&broken).unwrap()),
    )
    .unwrap();
    let setup = ViewerSetup {
        layers: vec![Layer::new("broken", vec![source])],
        settings: settings(ColorMode::Rgb),
        camera: None,
        ..ViewerSetup::with_clouds(vec![], PointCloudSettings::default())
    };
    let mut offscreen = Offscreen::new(setup, W, H).unwrap();
    let (_, settled) = offscreen.settle(Duration::from_secs(60));
    assert!(settled);
    let clouds = offscreen.clouds();
    assert_eq!(clouds.stats.failed, 1, "{:?}", clouds.stats);
    assert!(
        clouds
            .messages
            .iter()
            .any(|m| m.contains("broken.copc.laz") && m.contains("layers declare")),
        "{:?}",
        clouds.messages
    );
    let shown = clouds.stats.points_shown;
    assert!(shown > 0 && shown < 200_000, "{shown}");
    let image = offscreen.capture().unwrap();
    assert!(coverage(&image) > 0.1);
}

/// `jumeau render` writes the frame but exits non-zero when a node failed or streaming did not
/// settle: a script must not take an incomplete frame for a good one.
#[test]
fn render_exits_non_zero_on_an_incomplete_frame_and_still_writes_it() {
    let _gpu = gpu();
    let dir = tempfile::tempdir().unwrap();
    let broken = copc_with_a_corrupt_root(dir.path());
    let render = |input: &Path, output: &Path, extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_jumeau"))
            .arg("render")
            .arg(input)
            .arg("-o")
            .arg(output)
            .args(["--width", "96", "--height", "64"])
            .args(extra)
            .output()
            .unwrap()
    };
    let failed = dir.path().join("failed.png");
    let run = render(&broken, &failed, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("errors while streaming"), "{stderr}");
    assert!(image::open(&failed).is_ok(), "the frame is written anyway");

    let good = copc_dir_copy(dir.path());
    let timed_out = dir.path().join("timed-out.png");
    let run = render(&good, &timed_out, &["--timeout-secs", "0"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("had not settled"), "{stderr}");
    assert!(image::open(&timed_out).is_ok());
}

/// Without `--color`, a tile without colours (IGN's LiDAR HD) is coloured by its classes, and
/// the command says so; the frame shows the class palette, not black points on black.
#[test]
fn the_colouring_is_chosen_from_the_data_when_not_asked_for() {
    let data = require_data!();
    let _gpu = gpu();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("ign.png");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_jumeau"))
        .arg("render")
        .arg(data.join(IGN_TILE))
        .arg("-o")
        .arg(&output)
        .args(["--width", "160", "--height", "120", "--no-edl"])
        .env("JUMEAU_CACHE_DIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("points coloured by Classification (chosen from the data: no colours in the points, several classes)"),
        "{stdout}"
    );
    let image = image::open(&output).unwrap().to_rgba8();
    let ground = count_color(&image, jumeau::pointcloud::style::class_color(2), 3);
    assert!(ground > 500, "ground pixels in the class colour: {ground}");
}

/// The intact demo COPC that [`copc_with_a_corrupt_root`] left in `dir`.
fn copc_dir_copy(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("demo-twin-"))
        .expect("the demo COPC")
}

const IGN_TILE: &str = "lidar/test_semis_2023_0292_6833_LA93_IGN69.laz";

/// What opens `input` off the main thread as `jumeau view` does (converting LAZ into `cache`),
/// once `gate` (when given) lets it start.
fn open_job(input: &Path, cache: &Path, gate: Option<Receiver<()>>) -> OpenJob {
    let (input, cache) = (input.display().to_string(), cache.to_path_buf());
    Box::new(move |progress| {
        if let Some(gate) = gate {
            let _ = gate.recv();
        }
        jumeau::front::inputs::open_inputs(&[input], &cache, None, &Default::default(), progress)
    })
}

/// The viewer's window comes up before its inputs are open: the IGN tile, converted from LAZ
/// to COPC off the main thread, joins the running twin, and the camera frames it as if it had
/// been opened first.
#[test]
fn inputs_opened_while_the_twin_runs_join_it_framed() {
    let data = require_data!();
    let _gpu = gpu();
    let cache = tempfile::tempdir().unwrap();
    let setup = ViewerSetup::with_clouds(vec![], settings(ColorMode::Classification));
    let mut offscreen = Offscreen::new(setup, W, H).unwrap();
    // The opening is held until the test has seen the twin run without it.
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let job = open_job(&data.join(IGN_TILE), cache.path(), Some(gate));
    jumeau::front::opening::start(&mut offscreen.app, "the IGN tile", true, job);
    for _ in 0..3 {
        offscreen.update();
    }
    assert!(offscreen.clouds().layers.is_empty());
    assert!(!jumeau::front::twin::twin_settled(offscreen.app.world()));
    let progress = offscreen
        .app
        .world()
        .resource::<jumeau::front::opening::Opening>()
        .progress
        .clone();
    release.send(()).unwrap();
    let (_, settled) = offscreen.settle(Duration::from_secs(120));
    assert!(settled, "{:?}", offscreen.clouds().messages);
    assert!(
        !offscreen
            .app
            .world()
            .contains_resource::<jumeau::front::opening::Opening>()
    );
    // What the panel showed while the tile was converted.
    assert_eq!(progress.prefix(), "converting to COPC");
    assert_eq!(Some(progress.position()), progress.length());
    assert_eq!(offscreen.clouds().stats.points_shown, 289_055);
    let image = offscreen.capture().unwrap();
    assert_matches_snapshot("ign_classification", &image);

    // Inputs opened later join what is there (here a network file); the user's view stays.
    let framed = *offscreen.camera_mut();
    let lines = data.join("vector/ign_Lignes_3d_0292_6833.geojson");
    let job = open_job(&lines, cache.path(), None);
    jumeau::front::opening::start(&mut offscreen.app, "the IGN lines", false, job);
    assert!(offscreen.settle(Duration::from_secs(60)).1);
    assert_eq!(offscreen.networks().stats.spans, 48);
    assert_eq!(offscreen.clouds().stats.points_shown, 289_055);
    assert_eq!(*offscreen.camera_mut(), framed);
}

/// Files dropped on the window join the twin in its frame: IGN's lines drape on the tile the
/// twin already shows (the picture of the two opened together), and a point cloud in another
/// CRS is refused with both named, the twin left as it was.
#[test]
fn dropped_files_join_the_twin_in_its_frame() {
    let data = require_data!();
    let _gpu = gpu();
    let cache = tempfile::tempdir().unwrap();
    let setup = ViewerSetup::with_clouds(vec![], settings(ColorMode::Classification));
    let mut offscreen = Offscreen::new(setup, W, H).unwrap();
    // As `jumeau view TILE` opens it: the twin takes the tile's frame (Lambert-93).
    let job = open_job(&data.join(IGN_TILE), cache.path(), None);
    jumeau::front::opening::start(&mut offscreen.app, "the IGN tile", true, job);
    assert!(offscreen.settle(Duration::from_secs(120)).1);
    let drop_file = |offscreen: &mut Offscreen, path_buf: PathBuf| {
        offscreen
            .app
            .world_mut()
            .write_message(bevy::window::FileDragAndDrop::DroppedFile {
                window: bevy::prelude::Entity::PLACEHOLDER,
                path_buf,
            });
        offscreen.update();
    };

    drop_file(
        &mut offscreen,
        data.join("vector/ign_Lignes_3d_0292_6833.geojson"),
    );
    assert!(offscreen.settle(Duration::from_secs(120)).1);
    assert_eq!(offscreen.networks().stats.spans, 48);
    *offscreen.camera_mut() = jumeau::camera::ViewerCamera::look_at(
        DVec3::new(292_450.0, 6_832_700.0, 400.0),
        DVec3::new(292_450.0, 6_832_701.0, 50.0),
    );
    assert!(offscreen.settle(Duration::from_secs(120)).1);
    let image = offscreen.capture().unwrap();
    assert_matches_snapshot("ign_with_lines", &image);

    // A small scan in UTM 31N.
    let laz = cache.path().join("town.laz");
    jumeau::demo::write_demo_laz(&laz, 20_000, 3, &ProgressBar::hidden()).unwrap();
    let utm = cache.path().join("town-utm31.copc.laz");
    jumeau::pointcloud::convert::convert_files_to(
        &[laz],
        &utm,
        &jumeau::pointcloud::convert::ConvertSettings {
            assign_crs: Some(jumeau::georef::Crs::from_epsg_str("EPSG:32631").unwrap()),
            ..Default::default()
        },
    )
    .unwrap();
    drop_file(&mut offscreen, utm);
    assert!(offscreen.settle(Duration::from_secs(60)).1);
    let messages = offscreen.clouds().messages.join("\n");
    assert!(
        messages.contains(
            "could not open town-utm31.copc.laz: the point clouds are in EPSG:32631, the twin in \
             EPSG:2154"
        ),
        "{messages}"
    );
    assert_eq!(offscreen.clouds().layers.len(), 1);
    let after = offscreen.capture().unwrap();
    compare(&image, &after, 0, 0.0).unwrap();
}

/// Inputs that fail to open once the twin runs (a truncated tile, a job that panics) are
/// reported in the panel's messages; what was already shown stays, camera included.
#[test]
fn an_input_that_fails_to_open_leaves_the_running_twin_as_it_was() {
    let data = require_data!();
    let _gpu = gpu();
    let cache = tempfile::tempdir().unwrap();
    let setup = ViewerSetup {
        layers: vec![layer(&[data.join(IGN_TILE)], cache.path())],
        ..ViewerSetup::with_clouds(vec![], settings(ColorMode::Classification))
    };
    let mut offscreen = Offscreen::new(setup, W, H).unwrap();
    assert!(offscreen.settle(Duration::from_secs(60)).1);
    let before = offscreen.capture().unwrap();

    let bytes = std::fs::read(data.join(IGN_TILE)).unwrap();
    let truncated = cache.path().join("truncated.laz");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let job = open_job(&truncated, cache.path(), None);
    jumeau::front::opening::start(&mut offscreen.app, "truncated.laz", true, job);
    assert!(offscreen.settle(Duration::from_secs(60)).1);
    jumeau::front::opening::start(
        &mut offscreen.app,
        "a faulty job",
        true,
        Box::new(|_| panic!("lost its footing")),
    );
    assert!(offscreen.settle(Duration::from_secs(60)).1);

    let clouds = offscreen.clouds();
    let messages = clouds.messages.join("\n");
    eprintln!("{messages}");
    assert!(
        messages.contains("could not open truncated.laz: ")
            && messages.contains("truncated.laz: LAZ data: chunk table offset"),
        "{messages}"
    );
    assert!(
        messages.contains("could not open a faulty job: ") && messages.contains("lost its footing"),
        "{messages}"
    );
    assert_eq!(clouds.layers.len(), 1);
    assert_eq!(clouds.stats.points_shown, 289_055);
    let after = offscreen.capture().unwrap();
    compare(&before, &after, 0, 0.0).unwrap();
}

/// IGN's 3D lines over their LiDAR tile: read from Lambert-93 GeoJSON, draped on the tile's
/// ground, drawn as grey (no status) lines of constant width on top of the classified points.
#[test]
fn ign_tile_with_its_lines() {
    let data = require_data!();
    let _gpu = gpu();
    let tile = data.join("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz");
    let lines = data.join("vector/ign_Lignes_3d_0292_6833.geojson");
    // Straight down on the village centre, where most of the tile's segments are.
    let camera = Some((
        DVec3::new(292_450.0, 6_832_700.0, 400.0),
        DVec3::new(292_450.0, 6_832_701.0, 50.0),
    ));
    let mut with_lines = opened(&[tile.clone(), lines], None, ColorMode::Classification);
    with_lines.camera = camera;
    let report = render(with_lines, options()).unwrap();
    assert!(report.settled);
    assert_eq!(report.networks.spans, 48, "{:?}", report.messages);
    let mut bare = opened(&[tile], None, ColorMode::Classification);
    bare.camera = camera;
    let without = render(bare, options()).unwrap();
    let grey = jumeau::network::overlay::STATUS_COLORS[3];
    let (on, off) = (
        count_color(&report.image, grey, 8),
        count_color(&without.image, grey, 8),
    );
    assert!(
        on > off + 150,
        "{on} grey pixels with the lines, {off} without"
    );
    assert_matches_snapshot("ign_with_lines", &report.image);
}

/// A twin of nothing but an Open Fibre Data Standard network (Accra–Kumasi, lon/lat): the twin
/// takes its UTM zone, the camera frames the network once loaded, the operational span and
/// nodes show lit green.
#[test]
fn an_ofds_network_alone_is_framed_and_coloured_by_status() {
    let data = require_data!();
    let _gpu = gpu();
    let setup = opened(
        &[
            data.join("vector/ofds_example_spans.geojson"),
            data.join("vector/ofds_example_nodes.geojson"),
        ],
        None,
        ColorMode::Rgb,
    );
    let report = render(setup, options()).unwrap();
    assert_eq!((report.networks.sites, report.networks.spans), (2, 1));
    let lit = count_color(
        &report.image,
        jumeau::network::overlay::STATUS_COLORS[2],
        10,
    );
    assert!(lit > 300, "{lit} lit-green pixels");
}

/// The demo network's per-building service status colours the demo buildings: the colour mode
/// switches to it by itself and every building of the town gets a point.
#[test]
fn demo_buildings_take_the_networks_service_status() {
    let _gpu = gpu();
    let dir = tempfile::tempdir().unwrap();
    let mut offscreen = Offscreen::new(demo_setup(dir.path()), W, H).unwrap();
    let (_, settled) = offscreen.settle(Duration::from_secs(120));
    assert!(settled);
    let buildings = offscreen.buildings();
    assert_eq!(
        buildings.color,
        jumeau::buildings::streaming::BuildingColor::Service
    );
    assert_eq!(
        buildings.service.points.len(),
        jumeau::demo::buildings::demo_buildings(300_000).len()
    );
}

/// Where the tests convert LAS/LAZ: a folder of this run, never the user's cache (a COPC left
/// there by an older writer would be served to the tests).
fn test_cache() -> &'static Path {
    static CACHE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    CACHE
        .get_or_init(|| tempfile::tempdir().expect("temporary cache"))
        .path()
}

/// The twin described by command-line inputs, with point settings for the tests.
fn opened(inputs: &[PathBuf], place: Option<&str>, color: ColorMode) -> ViewerSetup {
    let inputs: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let place: Option<jumeau::buildings::open::Place> = place.map(|p| p.parse().unwrap());
    let opened = jumeau::front::inputs::open_inputs(
        &inputs,
        test_cache(),
        place.as_ref(),
        &Default::default(),
        &ProgressBar::hidden(),
    )
    .unwrap();
    ViewerSetup {
        layers: opened.clouds,
        buildings: opened.buildings,
        networks: opened.networks,
        ..ViewerSetup::with_clouds(vec![], settings(color))
    }
}

#[test]
fn bag3d_tile_meshopt_buildings() {
    let data = require_data!();
    let _gpu = gpu();
    let mut setup = opened(
        &[data.join("3dtiles/3dbag_tile_128/tileset.json")],
        None,
        ColorMode::Rgb,
    );
    // Over the village centre, looking north (local east-north-up frame of the tile).
    setup.camera = Some((
        DVec3::new(-2500.0, 8600.0, 300.0),
        DVec3::new(-2500.0, 9300.0, 0.0),
    ));
    let report = render(setup, options()).unwrap();
    assert!(report.settled, "{:?}", report.buildings);
    assert_eq!(report.buildings.contents_shown, 1);
    assert_eq!(report.buildings.triangles_shown, 51_062);
    assert_eq!(report.buildings.failed, 0, "{:?}", report.messages);
    let cover = coverage(&report.image);
    assert!(cover > 0.03, "coverage {cover}");
    assert_matches_snapshot("3dbag_tile", &report.image);
}

#[test]
fn cesium_1_1_multiple_contents() {
    let data = require_data!();
    let _gpu = gpu();
    let setup = opened(
        &[data.join("3dtiles/cesium_MetadataGranularities/tileset.json")],
        None,
        ColorMode::Rgb,
    );
    let report = render(setup, options()).unwrap();
    assert!(report.settled, "{:?}", report.buildings);
    // 4 tiles × 5 contents, all drawn.
    assert_eq!(report.buildings.contents_shown, 20, "{:?}", report.messages);
    assert_eq!(report.buildings.failed, 0);
    assert!(coverage(&report.image) > 0.05);
    assert_matches_snapshot("cesium_metadata_granularities", &report.image);
}

#[test]
fn points_and_a_placed_building_in_one_frame() {
    let data = require_data!();
    let _gpu = gpu();
    // Both render paths: the compute rasterizer's resolve is depth-tested against the
    // building and writes the points' depth, so each hides the other as the splats do.
    for path in [RenderPath::Compute, RenderPath::Splats] {
        let mut setup = opened(
            &[
                data.join("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz"),
                data.join("gltf/building_blendswap_45211.glb"),
            ],
            Some("292500,6832500,55"),
            ColorMode::Classification,
        );
        let target = DVec3::new(292_500.0, 6_832_500.0, 62.0);
        setup.camera = Some((target + DVec3::new(-25.0, -60.0, 30.0), target));
        setup.settings.render_path = path;
        let report = render(setup, options()).unwrap();
        assert!(report.settled);
        assert_eq!(report.render_path, path);
        assert_eq!(report.buildings.contents_shown, 1);
        assert_eq!(report.buildings.triangles_shown, 66_094);
        assert!(report.stats.points_shown > 100_000);
        let ground = count_color(&report.image, class_color(2), 3);
        assert!(ground > 1_000, "{path:?}: ground pixels {ground}");
        assert_matches_snapshot("ign_with_building", &report.image);
    }
}

/// The camera straight down on the IGN tile (TOML of a project's `[camera]` table).
const DOWN_ON_THE_TILE: &str =
    "eye = [292450.0, 6832700.0, 700.0]\ntarget = [292450.0, 6832701.0, 50.0]";

/// `setup` opening a project with `camera` and `clip` (TOML of its `[camera]` and `[clip]`).
fn clipped(setup: ViewerSetup, camera: &str, clip: &str) -> ViewerSetup {
    let text = format!("version = 1\nname = \"clip\"\n[camera]\n{camera}\n[clip]\n{clip}\n");
    let file = jumeau::scenario::ScenarioFile::parse("clip.toml", &text).unwrap();
    setup.with_project(file, PathBuf::from("clip.toml"))
}

/// Share of the pixels of columns `from..to` (fractions of the width) that are not background.
fn column_coverage(image: &RgbaImage, from: f64, to: f64) -> f64 {
    let bg = background();
    let columns = (f64::from(image.width()) * from) as u32..(f64::from(image.width()) * to) as u32;
    let (mut covered, mut all) = (0usize, 0usize);
    for (x, _, p) in image.enumerate_pixels() {
        if columns.contains(&x) {
            all += 1;
            covered += usize::from((0..3).any(|i| p.0[i].abs_diff(bg[i]) > 6));
        }
    }
    covered as f64 / all.max(1) as f64
}

/// A clip box keeps its inside, or its outside, on both point render paths (done on the GPU:
/// every point is still streamed), and cuts buildings; a project file sets it with the camera.
#[test]
fn a_clip_box_cuts_points_on_both_paths_and_buildings() {
    let data = require_data!();
    let _gpu = gpu();
    let tile = data.join("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz");
    // x < 292 500 m: the columns left of 55 % of the width (the camera is over x = 292 450 m).
    let west = "box = { min = [292000.0, 6832000.0, -100.0], max = [292500.0, 6833000.0, 500.0] }";
    for path in [RenderPath::Compute, RenderPath::Splats] {
        for keep in ["inside", "outside"] {
            let mut setup = opened(std::slice::from_ref(&tile), None, ColorMode::Classification);
            setup.settings.render_path = path;
            let report = render(
                clipped(
                    setup,
                    DOWN_ON_THE_TILE,
                    &format!("keep = \"{keep}\"\n{west}"),
                ),
                options(),
            )
            .unwrap();
            assert!(report.settled);
            assert_eq!(
                report.stats.points_shown, 289_055,
                "{path:?}: all still streamed"
            );
            let (left, right) = (
                column_coverage(&report.image, 0.05, 0.45),
                column_coverage(&report.image, 0.65, 0.95),
            );
            let (kept, cut) = if keep == "inside" {
                (left, right)
            } else {
                (right, left)
            };
            assert!(kept > 0.9, "{path:?} keep {keep}: kept side covered {kept}");
            assert!(cut < 0.002, "{path:?} keep {keep}: cut side covered {cut}");
            if path == RenderPath::Compute && keep == "inside" {
                assert_matches_snapshot("ign_clip_box", &report.image);
            }
        }
    }
    // The placed building (at 292 500, 6 832 500, a few metres wide) alone: a box around it
    // keeps all of it, a box beside it cuts it away whole.
    let building = data.join("gltf/building_blendswap_45211.glb");
    let mut covered = Vec::new();
    for x in [292_500.0, 292_700.0, f64::NAN] {
        let setup = opened(
            std::slice::from_ref(&building),
            Some("292500,6832500,55"),
            ColorMode::Rgb,
        );
        // NaN: no clip at all.
        let clip = if x.is_nan() {
            String::new()
        } else {
            format!(
                "box = {{ min = [{}, 6832450.0, 0.0], max = [{}, 6832550.0, 200.0] }}",
                x - 50.0,
                x + 50.0
            )
        };
        let camera = "eye = [292500.0, 6832420.0, 140.0]\ntarget = [292500.0, 6832500.0, 60.0]";
        let report = render(clipped(setup, camera, &clip), options()).unwrap();
        assert_eq!(report.buildings.contents_shown, 1);
        covered.push(coverage(&report.image));
    }
    assert!(
        covered[2] > 0.001 && (covered[0] - covered[2]).abs() < covered[2] * 0.02,
        "the building inside its box: {covered:?}"
    );
    assert_eq!(covered[1], 0.0, "the building outside the box: {covered:?}");
}

/// A project's screenshot (`jumeau render --decorate`): the clip box, the saved measurement
/// with its label, a note, the legend of the classes shown, a scale bar and the north arrow.
#[test]
fn a_decorated_screenshot_shows_the_clip_the_measurement_and_the_legend() {
    let data = require_data!();
    let _gpu = gpu();
    let tile = data.join("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz");
    let setup = opened(std::slice::from_ref(&tile), None, ColorMode::Classification);
    let text = format!(
        "version = 1\nname = \"screenshot\"\n[camera]\n{DOWN_ON_THE_TILE}\n\
         [[measurements]]\nkind = \"distance\"\n\
         points = [[292150.0, 6832500.0, 60.0], [292450.0, 6832500.0, 60.0]]\n\
         [[annotations]]\ntext = \"Place du marché\"\nat = [292380.0, 6832820.0, 60.0]\n\
         [clip]\nbox = {{ min = [292000.0, 6832000.0, -100.0], max = [292500.0, 6833000.0, 500.0] }}\n"
    );
    let file = jumeau::scenario::ScenarioFile::parse("shot.toml", &text).unwrap();
    let setup = setup.with_project(file, PathBuf::from("shot.toml"));
    let report = render(
        setup,
        RenderOptions {
            decorate: true,
            ..options()
        },
    )
    .unwrap();
    let image = &report.image;
    // The measurement's line: 300 m at about 3 m a pixel, 2 px wide.
    let line = count_color(image, [120, 220, 255], 2);
    assert!(line > 150, "measurement line pixels {line}");
    // The legend's first swatch is a class shown, the most common first (ground or vegetation).
    let swatch = image.get_pixel(20, 36).0;
    assert!(
        [2u8, 3, 4, 5, 6]
            .iter()
            .any(|&c| class_color(c) == [swatch[0], swatch[1], swatch[2]]),
        "legend swatch {swatch:?}"
    );
    // North is up (the camera looks down from the south): the arrow's red tip above its centre.
    let tip = image.get_pixel(W - 28, 38).0;
    assert!(tip[0] > 200 && tip[1] < 100, "north arrow tip {tip:?}");
    // The note's yellow background.
    assert!(count_color(image, [255, 236, 160], 30) > 50);
    // The clipped half stays empty between the note and the measurement's label.
    let band = image::imageops::crop_imm(image, W * 65 / 100, 80, W * 20 / 100, 80).to_image();
    assert!(
        coverage(&band) < 0.01,
        "clipped side covered {}",
        coverage(&band)
    );
    assert_matches_snapshot("ign_clip_decorated", image);
}

/// The IGN tile drawn with `path` (and 32-bit atomics when `atomics_64` is false).
fn ign_tile(
    data: &Path,
    cache: &Path,
    path: RenderPath,
    atomics_64: bool,
    color: ColorMode,
    classes: ClassFilter,
) -> RenderReport {
    let tile = data.join("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz");
    let setup = ViewerSetup {
        layers: vec![layer(&[tile], cache)],
        settings: PointCloudSettings {
            render_path: path,
            atomics_64,
            classes,
            ..settings(color)
        },
        camera: None,
        ..ViewerSetup::with_clouds(vec![], PointCloudSettings::default())
    };
    let report = render(setup, options()).unwrap();
    assert!(report.settled, "{path:?} {color:?}: not settled");
    report
}

/// The compute rasterizer, with 64-bit atomics (lavapipe has them) and with the two-pass
/// 32-bit scheme of WebGPU, draws what the splat path draws in every colour mode.
#[test]
fn the_compute_rasterizer_draws_what_the_splat_path_draws() {
    let data = require_data!();
    let _gpu = gpu();
    let cache = tempfile::tempdir().unwrap();
    for color in [
        ColorMode::Classification,
        ColorMode::Rgb,
        ColorMode::Intensity,
        ColorMode::Elevation,
    ] {
        let draw = |path, atomics_64| {
            ign_tile(
                &data,
                cache.path(),
                path,
                atomics_64,
                color,
                ClassFilter::default(),
            )
        };
        let splats = draw(RenderPath::Splats, true);
        let compute = draw(RenderPath::Compute, true);
        let compute32 = draw(RenderPath::Compute, false);
        assert_eq!(
            (splats.render_path, splats.atomics_64),
            (RenderPath::Splats, false)
        );
        assert_eq!(
            (compute.render_path, compute.atomics_64),
            (RenderPath::Compute, true)
        );
        assert_eq!(
            (compute32.render_path, compute32.atomics_64),
            (RenderPath::Compute, false)
        );
        for report in [&splats, &compute, &compute32] {
            assert_eq!(report.stats.points_shown, 289_055);
        }
        assert!(
            coverage(&compute.image) > 0.3,
            "{color:?}: coverage {}",
            coverage(&compute.image)
        );
        let vs_splats = compare(&splats.image, &compute.image, 12, 0.005);
        let vs_64 = compare(&compute.image, &compute32.image, 2, 0.001);
        eprintln!("{color:?}: compute vs splats {vs_splats:?}, 32-bit vs 64-bit {vs_64:?}");
        if vs_splats.is_err() || vs_64.is_err() {
            for (name, report) in [
                ("splats", &splats),
                ("compute", &compute),
                ("compute32", &compute32),
            ] {
                let file = snapshot_dir().join(format!("paths_{color:?}_{name}.actual.png"));
                report.image.save(&file).unwrap();
            }
        }
        vs_splats.unwrap();
        vs_64.unwrap();
        if color == ColorMode::Classification {
            assert_matches_snapshot("ign_classification", &compute.image);
            assert_matches_snapshot("ign_classification", &splats.image);
        }
    }
}

/// Hiding a class in the panel hides its points in the compute rasterizer too.
#[test]
fn hidden_classes_vanish_from_the_compute_rasterizer() {
    let data = require_data!();
    let _gpu = gpu();
    let cache = tempfile::tempdir().unwrap();
    let mut classes = ClassFilter::default();
    classes.set_visible(2, false);
    for atomics_64 in [true, false] {
        let report = ign_tile(
            &data,
            cache.path(),
            RenderPath::Compute,
            atomics_64,
            ColorMode::Classification,
            classes,
        );
        assert_eq!(report.render_path, RenderPath::Compute);
        let ground = count_color(&report.image, class_color(2), 3);
        let building = count_color(&report.image, class_color(6), 3);
        assert_eq!(ground, 0, "atomics_64 {atomics_64}: ground pixels");
        assert!(
            building > 100,
            "atomics_64 {atomics_64}: building pixels {building}"
        );
    }
}

#[test]
fn clicking_a_b3dm_building_shows_its_batch_table_row() {
    let data = require_data!();
    let _gpu = gpu();
    let setup = opened(
        &[data.join("3dtiles/cesium_TilesetWithRequestVolume/tileset.json")],
        None,
        ColorMode::Rgb,
    );
    let mut offscreen = Offscreen::new(setup, W, H).unwrap();
    // Close over the city block so its external tileset and b3dm tiles load.
    let layer = &offscreen.buildings().layers[0];
    let (lon, lat) = (-1.319_703_606_585_205_5_f64, 0.698_862_112_819_117_6_f64);
    let roof = jumeau::georef::ecef_from_geodetic(lon, lat, 200.0);
    let above = layer.placement.crs_from_frame(roof).unwrap();
    {
        let mut camera = offscreen.camera_mut();
        *camera = jumeau::camera::ViewerCamera::look_at(
            above + DVec3::new(0.0, -150.0, 100.0),
            above - DVec3::new(0.0, 0.0, 200.0),
        );
    }
    let (_, settled) = offscreen.settle(Duration::from_secs(120));
    assert!(settled);
    let buildings = offscreen.buildings();
    assert!(buildings.stats.contents_shown >= 4, "{:?}", buildings.stats);
    // Straight down onto building 1 of `city/ll.b3dm` (its batch table gives lon/lat).
    let picked = buildings
        .pick(above, DVec3::NEG_Z, &Default::default())
        .expect("a building under the ray");
    let row: std::collections::HashMap<_, _> = picked.attributes.iter().cloned().collect();
    assert_eq!(row.get("id").map(String::as_str), Some("1"), "{row:?}");
    assert_eq!(row.get("Height").map(|h| &h[..5]), Some("12.77"), "{row:?}");
    // The roof is at the building's height above the ellipsoid (ground at 0 m).
    assert!(
        (picked.point.z - above.z + 200.0 - 12.778).abs() < 0.5,
        "{}",
        picked.point
    );
}

#[test]
fn a_broken_and_a_missing_tile_are_reported_and_the_rest_streams() {
    let data = require_data!();
    let _gpu = gpu();
    let dir = tempfile::tempdir().unwrap();
    let source = data.join("3dtiles/cesium_MetadataGranularities");
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.path().join("house-3-0.glb"), b"glTF\x02\0\0\0garbage").unwrap();
    std::fs::remove_file(dir.path().join("tree-lime-2-0.glb")).unwrap();
    let setup = opened(&[dir.path().join("tileset.json")], None, ColorMode::Rgb);
    let mut offscreen = Offscreen::new(setup, W, H).unwrap();
    offscreen.settle(Duration::from_secs(60));
    let buildings = offscreen.buildings();
    assert_eq!(buildings.stats.failed, 2, "{:?}", buildings.messages);
    assert_eq!(buildings.stats.contents_resident, 18);
    let joined = buildings.messages.join("\n");
    assert!(joined.contains("house-3-0.glb"), "{joined}");
    assert!(joined.contains("tree-lime-2-0.glb"), "{joined}");
}

#[test]
fn a_pnts_tile_is_drawn_inside_its_request_volume() {
    let data = require_data!();
    let _gpu = gpu();
    let setup = opened(
        &[data.join("3dtiles/cesium_TilesetWithRequestVolume/tileset.json")],
        None,
        ColorMode::Rgb,
    );
    let mut offscreen = Offscreen::new(setup, W, H).unwrap();
    // `points.pnts` sits at this ECEF position; it is only wanted within 15 m of it.
    let centre = DVec3::new(
        1_215_012.207_563_128_8,
        -4_736_310.418_677_337_5,
        4_081_602.937_346_383,
    );
    let at = offscreen.buildings().layers[0]
        .placement
        .crs_from_frame(centre)
        .unwrap();
    *offscreen.camera_mut() =
        jumeau::camera::ViewerCamera::look_at(at + DVec3::new(0.0, -6.0, 3.0), at);
    let (_, settled) = offscreen.settle(Duration::from_secs(60));
    assert!(settled);
    let buildings = offscreen.buildings();
    assert_eq!(buildings.stats.failed, 0, "{:?}", buildings.messages);
    // The point tile is on screen: a content without triangles, a 2.5 m cube of points.
    let points_tile = buildings
        .shown()
        .find(|(_, r)| r.baked.parts.is_empty())
        .map(|(_, r)| r.baked.radius);
    assert!(points_tile.is_some_and(|r| r < 2.5), "{points_tile:?}");
    let image = offscreen.capture().unwrap();
    let cover = coverage(&image);
    assert!(cover > 0.1, "coverage {cover}");
    // From 2 km away the request volume keeps it out: nothing at the tile's place.
    *offscreen.camera_mut() =
        jumeau::camera::ViewerCamera::look_at(at + DVec3::new(0.0, -2000.0, 1000.0), at);
    offscreen.settle(Duration::from_secs(60));
    let far = offscreen.buildings().stats.contents_shown;
    assert!(far < 6, "{far} contents shown from afar");
}

/// Street level over a full-density cloud (the demo town at 10 points/m², 2 M points, a binding
/// budget of 400 000): the eye 2 m above a street looking along it. The lower half of the frame
/// is covered, and the nodes nearest the eye are the deepest the octree has there. (The
/// converter once put the fine nodes' points elsewhere: the ground ahead was a few coarse disks
/// on black.)
#[test]
fn street_level_is_covered_and_drawn_from_the_deepest_nodes() {
    let _gpu = gpu();
    let dir = tempfile::tempdir().unwrap();
    let copc = jumeau::demo::demo_twin_copc(dir.path(), 2_000_000, &ProgressBar::hidden()).unwrap();
    let origin = jumeau::demo::DEMO_ORIGIN_L93;
    // A street runs along x at local y 80..92 (blocks of 80 m, streets of 12 m).
    let (x, y) = (20.0, 86.0);
    let ground = jumeau::demo::terrain_z(x, y);
    let eye = DVec3::new(origin[0] + x, origin[1] + y, ground + 2.0);
    let target = DVec3::new(origin[0] + x + 200.0, origin[1] + y, ground);
    let source = StreamSource::open(
        "street",
        Arc::new(jumeau::io::FileSource::open(&copc).unwrap()),
    )
    .unwrap();
    let setup = ViewerSetup {
        layers: vec![Layer::new("street", vec![source])],
        settings: PointCloudSettings {
            point_budget: 400_000,
            ..settings(ColorMode::Rgb)
        },
        camera: Some((eye, target)),
        ..ViewerSetup::with_clouds(vec![], PointCloudSettings::default())
    };
    let mut offscreen = Offscreen::new(setup, W, H).unwrap();
    assert!(offscreen.settle(Duration::from_secs(120)).1, "not settled");
    let image = offscreen.capture().unwrap();
    let clouds = offscreen.clouds();
    assert!(clouds.stats.points_shown <= 400_000, "{:?}", clouds.stats);
    // The deepest node of the octree under the eye is drawn.
    let hierarchy = &clouds.layers[0].sources[0].reader.hierarchy;
    let under_eye = DVec3::new(eye.x, eye.y, ground);
    let deepest = hierarchy
        .nodes()
        .iter()
        .filter(|n| n.data.is_some() && hierarchy.cube.bounds(n.key).contains(under_eye))
        .map(|n| n.key)
        .max_by_key(|k| k.level)
        .unwrap();
    assert!(
        deepest.level >= 3,
        "the octree is {} levels deep there",
        deepest.level
    );
    let drawn: Vec<_> = clouds.selected().iter().map(|id| id.key).collect();
    assert!(
        drawn.contains(&deepest),
        "the deepest node under the eye ({deepest}) is not drawn: {drawn:?}"
    );
    // The lower half of the frame (the street ahead) is covered.
    let bg = background();
    let lower: Vec<_> = image.rows().skip(H as usize / 2).flatten().collect();
    let covered = lower
        .iter()
        .filter(|p| (0..3).any(|i| p.0[i].abs_diff(bg[i]) > 6))
        .count() as f64
        / lower.len() as f64;
    assert!(covered > 0.97, "lower half covered: {covered}");
    assert_matches_snapshot("street_level", &image);
}

/// A budget that binds (50 000 of the IGN tile's 289 055 points): the coarse levels, whole.
#[test]
fn a_binding_budget_shows_the_coarse_levels_of_the_ign_tile() {
    let data = require_data!();
    let _gpu = gpu();
    let cache = tempfile::tempdir().unwrap();
    let setup = ViewerSetup {
        layers: vec![layer(&[data.join(IGN_TILE)], cache.path())],
        settings: PointCloudSettings {
            point_budget: 50_000,
            ..settings(ColorMode::Classification)
        },
        camera: None,
        ..ViewerSetup::with_clouds(vec![], PointCloudSettings::default())
    };
    let report = render(setup, options()).unwrap();
    assert!(report.settled);
    let shown = report.stats.points_shown;
    assert!((10_000..=50_000).contains(&shown), "points shown: {shown}");
    assert!(
        coverage(&report.image) > 0.2,
        "coverage {}",
        coverage(&report.image)
    );
    assert_matches_snapshot("ign_budget_50k", &report.image);
}

/// 36 tiles made by `jumeau convert --tiles` open as one layer from their `.vpc` (each tile's
/// header fetched only when the view reaches it) and from their folder, and draw the same frame.
#[test]
fn thirty_six_tiles_open_as_one_layer_from_a_vpc_and_from_a_folder() {
    let _gpu = gpu();
    let dir = tempfile::tempdir().unwrap();
    let laz = dir.path().join("laz");
    let tiles =
        jumeau::demo::write_demo_tiles(&laz, 360_000, 6, 1, &ProgressBar::hidden()).unwrap();
    assert_eq!(tiles.len(), 36);
    let copc = dir.path().join("copc");
    let report = jumeau::pointcloud::tiles::convert_tiles(
        &laz,
        &copc,
        Default::default(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!((report.converted.len(), report.listed), (36, 36));
    assert_eq!(report.points_listed, 360_000);
    let open = |input: &Path| {
        jumeau::front::inputs::open_inputs(
            &[input.display().to_string()],
            dir.path(),
            None,
            &Default::default(),
            &ProgressBar::hidden(),
        )
        .unwrap()
    };
    let frame = |opened: jumeau::front::inputs::OpenedInputs, camera: Option<(DVec3, DVec3)>| {
        let setup = ViewerSetup {
            layers: opened.clouds,
            settings: settings(ColorMode::Rgb),
            camera,
            ..ViewerSetup::with_clouds(vec![], PointCloudSettings::default())
        };
        let mut offscreen = Offscreen::new(setup, W, H).unwrap();
        assert!(offscreen.settle(Duration::from_secs(120)).1, "not settled");
        let image = offscreen.capture().unwrap();
        let clouds = offscreen.clouds();
        let opened_tiles = clouds.layers[0].sources.len();
        (
            image,
            clouds.stats.points_shown,
            clouds.stats.bytes_fetched,
            opened_tiles,
        )
    };
    let vpc = open(&copc.join("tiles.vpc"));
    assert_eq!(vpc.clouds.len(), 1);
    assert_eq!(
        (vpc.clouds[0].sources.len(), vpc.clouds[0].tiles.len()),
        (0, 36)
    );
    assert_eq!(vpc.clouds[0].total_points(), 360_000);
    let (from_vpc, shown, _, opened) = frame(vpc, None);
    assert_eq!((shown, opened), (360_000, 36), "the whole commune in view");
    let folder = open(&copc);
    assert_eq!(folder.clouds[0].sources.len(), 36);
    let (from_folder, shown, _, _) = frame(folder, None);
    assert_eq!(shown, 360_000);
    compare(&from_folder, &from_vpc, 12, 0.01).unwrap();
    assert!(coverage(&from_vpc) > 0.2);

    // Looking straight down on a tile near the south-west corner (tiles of 31.6 m): only the
    // tiles in view are opened.
    let [x0, y0] = jumeau::demo::DEMO_ORIGIN_L93;
    let ground = jumeau::demo::terrain_z(45.0, 45.0);
    let camera = (
        DVec3::new(x0 + 45.0, y0 + 45.0, ground + 40.0),
        DVec3::new(x0 + 45.0, y0 + 45.1, ground),
    );
    let (close, _, _, opened) = frame(open(&copc.join("tiles.vpc")), Some(camera));
    assert!(
        (1..=9).contains(&opened),
        "{opened} tiles opened for one corner"
    );
    assert!(coverage(&close) > 0.5, "coverage {}", coverage(&close));
}

/// What an app that embeds the twin does: an empty twin, then one `jumeau::open` call with a
/// COPC file; it joins the twin, the camera frames it, and the frame shows its points.
#[test]
fn jumeau_open_brings_data_into_an_embedded_twin() {
    let data = require_data!();
    let _gpu = gpu();
    let setup = ViewerSetup::with_clouds(vec![], settings(ColorMode::Rgb));
    let mut offscreen = Offscreen::new(setup, W, H).unwrap();
    offscreen.update();
    let empty = offscreen.capture().unwrap();
    assert!(coverage(&empty) < 0.001, "coverage {}", coverage(&empty));

    let copc = data.join("lidar/1.2-with-color.copc.laz");
    jumeau::open(offscreen.app.world_mut(), [copc.display().to_string()]);
    assert!(offscreen.settle(Duration::from_secs(120)).1);
    let clouds = offscreen.clouds();
    assert!(clouds.messages.is_empty(), "{:?}", clouds.messages);
    assert_eq!(clouds.layers.len(), 1);
    let file = jumeau::pointcloud::las::LasFile::open(jumeau::io::FileSource::open(&copc).unwrap())
        .unwrap();
    assert_eq!(clouds.layers[0].total_points(), file.header.point_count);
    assert!(clouds.stats.points_shown > 0);
    let image = offscreen.capture().unwrap();
    // Its 1 065 points at one pixel each cover about 2 % of the frame (none before).
    assert!(coverage(&image) > 0.01, "coverage {}", coverage(&image));
}
