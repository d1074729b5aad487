//! The desktop viewer and the page's canvas: the twin ([`super::twin`]) in a window, with the
//! panel and the camera controller; the demo twin opened on first run.

#[cfg(not(target_arch = "wasm32"))]
use crate::buildings::layer::BuildingLayer;
use crate::front::twin::{ViewerSetup, add_twin, camera_bundle};
#[cfg(not(target_arch = "wasm32"))]
use crate::pointcloud::layer::Layer;
#[cfg(not(target_arch = "wasm32"))]
use crate::pointcloud::streaming::PointCloudSettings;
use bevy::prelude::*;

/// Opens the desktop viewer window, its panel in `lang`, and runs until it is closed. The
/// window is up at once: `opening` (what, job) opens the inputs meanwhile, and they join the
/// twin when ready.
pub fn run_viewer(
    setup: ViewerSetup,
    lang: crate::front::embed::Lang,
    opening: Option<(String, crate::front::opening::OpenJob)>,
    scenarios: Option<crate::scenario::view::ScenarioView>,
) -> AppExit {
    let window = Window {
        title: "Jumeau — territorial digital twin".into(),
        resolution: (1600, 900).into(),
        ..default()
    };
    let frame_camera = setup.camera.is_none();
    // Framed for the part of the 1600×900 window the panel (300 px) leaves free.
    let mut app = viewer_app(setup, window, (1600.0 - 300.0) / 900.0, Some(lang));
    if let Some((what, job)) = opening {
        crate::front::opening::start(&mut app, what, frame_camera, job);
    }
    if let Some(view) = scenarios {
        app.insert_resource(view);
    }
    app.run()
}

#[cfg(not(target_arch = "wasm32"))]
/// The consultation kiosk full screen until the staff's PIN: no panel, no close by the window
/// manager's shortcut, the kiosk's own screen.
pub fn run_kiosk(
    setup: ViewerSetup,
    scenarios: Option<crate::scenario::view::ScenarioView>,
    kiosk: crate::front::kiosk::Kiosk,
) -> AppExit {
    let window = Window {
        title: "Jumeau — consultation".into(),
        mode: bevy::window::WindowMode::BorderlessFullscreen(
            bevy::window::MonitorSelection::Primary,
        ),
        ..default()
    };
    let plugin = WindowPlugin {
        primary_window: Some(window),
        // Alt+F4 and the like do nothing: the staff leave with the PIN.
        close_when_requested: false,
        ..default()
    };
    let mut app = viewer_app_with(setup, plugin, 16.0 / 9.0, None);
    if let Some(view) = scenarios {
        app.insert_resource(view);
    }
    app.add_plugins((
        crate::front::kiosk::KioskPlugin,
        crate::front::ui::kiosk::KioskUiPlugin,
    ))
    .insert_resource(kiosk);
    app.run()
}

/// The interactive twin in `window` (a desktop window or a page's canvas), with the side panel
/// in a language or without it; the camera is framed for `aspect` unless the setup names one.
pub fn viewer_app(
    setup: ViewerSetup,
    window: Window,
    aspect: f64,
    panel: Option<crate::front::embed::Lang>,
) -> App {
    let plugin = WindowPlugin {
        primary_window: Some(window),
        ..default()
    };
    viewer_app_with(setup, plugin, aspect, panel)
}

/// [`viewer_app`] with its window plugin.
fn viewer_app_with(
    setup: ViewerSetup,
    window: WindowPlugin,
    aspect: f64,
    panel: Option<crate::front::embed::Lang>,
) -> App {
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(window));
    let camera = add_twin(&mut app, setup, aspect);
    if let Some(lang) = panel {
        crate::front::ui::plugin(&mut app, lang);
    }
    app.add_systems(Startup, move |mut commands: Commands| {
        commands.spawn(camera_bundle(camera));
    });
    app
}

/// Whether a window can be opened here (a display server is named).
pub fn display_available() -> bool {
    if cfg!(target_os = "linux") {
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    } else {
        true
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// The demo town's buildings: a 3D Tiles tileset Jumeau writes itself (one GLB per group of
/// blocks, per-building id / height / use / year / storeys), streamed like any other tileset.
pub fn demo_buildings_layer(dir: &std::path::Path) -> Result<BuildingLayer, String> {
    let tileset =
        crate::demo::buildings::demo_buildings_tileset(dir, crate::demo::DEMO_TWIN_POINTS)?;
    let opened = crate::buildings::open::open_buildings(&tileset.display().to_string())?;
    let frame = crate::demo::demo_frame()?;
    let (mut layer, _) = opened.into_layer(Some(&frame), None, None)?;
    layer.name = "Demo twin buildings (3D Tiles)".into();
    Ok(layer)
}

#[cfg(not(target_arch = "wasm32"))]
/// The fibre and radio network of the demo town of `points` points (a GeoJSON file Jumeau
/// writes itself), to load and drape on the demo scan's ground like any network file.
pub fn demo_network_layer(
    dir: &std::path::Path,
    points: u64,
    ground: std::sync::Arc<dyn crate::io::ByteSource>,
) -> Result<(String, crate::network::model::LoadLayer), String> {
    let file = crate::demo::network::demo_network_file(dir, points)?;
    let target = crate::network::open::NetworkTarget {
        frame: crate::demo::demo_frame()?,
        ground: crate::network::open::Ground::new(vec![ground]),
        extent: None,
        drape: Default::default(),
    };
    let name = "Demo fibre and radio network".to_owned();
    let load: crate::network::model::LoadLayer = Box::new(move || {
        let mut layer =
            crate::network::open::open_network(&file.display().to_string(), &target, None)?;
        layer.name = "Demo fibre and radio network (GeoJSON)".into();
        Ok(layer)
    });
    Ok((name, load))
}

#[cfg(not(target_arch = "wasm32"))]
/// The demo twin's layers: its scan, buildings and network, made on first run in the cache
/// folder (about a minute) and reused after; the stages report on `progress`.
pub fn open_demo_twin(
    progress: &indicatif::ProgressBar,
) -> Result<crate::front::inputs::OpenedInputs, crate::Error> {
    let dir = crate::front::paths::cache_dir().join("demo");
    let copc = crate::demo::demo_twin_copc(&dir, crate::demo::DEMO_TWIN_POINTS, progress)?;
    let source = crate::pointcloud::StreamSource::open(
        "demo twin",
        std::sync::Arc::new(
            crate::io::FileSource::open(&copc).map_err(|e| format!("{}: {e}", copc.display()))?,
        ),
    )?;
    let ground = source.reader.file.source.clone();
    progress.set_message("");
    progress.set_prefix("writing the demo town's buildings");
    let buildings = demo_buildings_layer(&dir)?;
    progress.set_prefix("writing the demo town's network");
    let network = demo_network_layer(&dir, crate::demo::DEMO_TWIN_POINTS, ground)?;
    Ok(crate::front::inputs::OpenedInputs {
        clouds: vec![Layer::new("Demo twin (synthetic town)", vec![source])],
        buildings: vec![buildings],
        networks: vec![network],
        warnings: Vec::new(),
        frame: Some(crate::demo::demo_frame()?),
    })
}

#[cfg(not(target_arch = "wasm32"))]
/// A bare `jumeau`: the demo twin (generated on first run, while the window already shows how
/// far it has got) in the viewer; without a display, one frame of it rendered to a PNG in the
/// cache folder.
pub fn run_demo_twin() -> Result<(), Box<dyn std::error::Error>> {
    let mut setup = ViewerSetup::with_clouds(Vec::new(), PointCloudSettings::default());
    if display_available() {
        let job: crate::front::opening::OpenJob = Box::new(open_demo_twin);
        run_viewer(
            setup,
            crate::front::embed::Lang::En,
            Some(("the demo twin".into(), job)),
            None,
        );
        return Ok(());
    }
    setup.add(open_demo_twin(&indicatif::ProgressBar::new(0))?);
    let dir = crate::front::paths::cache_dir().join("demo");
    let png = dir.join("demo-twin.png");
    eprintln!("no display: rendering one frame of the demo twin offscreen instead");
    let report =
        crate::front::headless::render(setup, crate::front::headless::RenderOptions::default())?;
    report.image.save(&png)?;
    println!(
        "{}: {} points in {} nodes, {} bytes fetched, {:.1} s",
        png.display(),
        report.stats.points_shown,
        report.stats.nodes_shown,
        report.stats.bytes_fetched,
        report.seconds
    );
    println!(
        "buildings: {} tile contents shown, {} triangles",
        report.buildings.contents_shown, report.buildings.triangles_shown
    );
    Ok(())
}
