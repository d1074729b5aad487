//! The Jumeau application put together: the desktop viewer (window, panel) and the offscreen
//! renderer (`jumeau render`, golden images) share the same plugins and camera.

use crate::buildings::streaming::{BuildingColor, BuildingLayer, Buildings};
use crate::camera::{CameraInput, ViewerCamera};
use crate::pointcloud::PointCloudPlugin;
use crate::pointcloud::layer::Layer;
use crate::pointcloud::render::edl::EyeDomeLighting;
use crate::pointcloud::streaming::{PointCloudSettings, PointClouds};
use crate::spatial::Aabb as CrsAabb;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::prelude::*;
use glam::DVec3;

/// What to show and how.
pub struct ViewerSetup {
    pub layers: Vec<Layer>,
    /// Tilesets and models, placed in the twin's frame.
    pub buildings: Vec<BuildingLayer>,
    pub settings: PointCloudSettings,
    /// Eye and target in the CRS; `None` frames the data.
    pub camera: Option<(DVec3, DVec3)>,
    pub building_color: BuildingColor,
    /// Network layers to load off the main thread (name, loader).
    pub networks: Vec<(String, crate::network::model::LoadLayer)>,
    pub network_style: crate::network::overlay::OverlayStyle,
}

/// Background of the 3D view (sRGB). Alpha 0 marks "no point" for eye-dome lighting, whose
/// pass writes alpha 1 everywhere.
pub const BACKGROUND: Color = Color::srgba(0.08, 0.09, 0.11, 0.0);

impl ViewerSetup {
    /// Bounds of everything to show, in the CRS.
    pub fn bounds(&self) -> Option<CrsAabb> {
        let clouds = crate::pointcloud::layer::layers_bounds(&self.layers);
        let buildings = self.buildings.iter().filter_map(|b| b.bounds);
        clouds
            .into_iter()
            .chain(buildings)
            .reduce(|a, b| a.union(&b))
    }

    /// Adds what [`crate::front::inputs::open_inputs`] opened; returns its warnings.
    pub fn add(&mut self, opened: crate::front::inputs::OpenedInputs) -> Vec<String> {
        self.layers.extend(opened.clouds);
        self.buildings.extend(opened.buildings);
        self.networks.extend(opened.networks);
        opened.warnings
    }

    /// Point-cloud layers only.
    pub fn with_clouds(layers: Vec<Layer>, settings: PointCloudSettings) -> Self {
        Self {
            layers,
            buildings: Vec::new(),
            settings,
            camera: None,
            building_color: BuildingColor::Model,
            networks: Vec::new(),
            network_style: Default::default(),
        }
    }

    /// The initial camera: the one asked for, else framed on the data.
    pub fn initial_camera(&self, aspect: f64) -> ViewerCamera {
        match self.camera {
            Some((eye, target)) => ViewerCamera::look_at(eye, target),
            None => match self.bounds() {
                Some(b) => ViewerCamera::framing(&b, aspect),
                None => ViewerCamera::look_at(DVec3::new(0.0, -100.0, 100.0), DVec3::ZERO),
            },
        }
    }
}

/// Adds what both front ends share: streaming, rendering, the camera controller.
/// Returns the initial camera for the caller to spawn with its own target.
pub fn add_twin(app: &mut App, setup: ViewerSetup, aspect: f64) -> ViewerCamera {
    let camera = setup.initial_camera(aspect);
    if setup.camera.is_none() && setup.bounds().is_none() && !setup.networks.is_empty() {
        // Only networks, known once loaded: the camera frames the first one then.
        app.insert_resource(crate::network::render::FrameOnFirstNetwork);
    }
    let memory = setup.settings.memory_budget_bytes;
    let path = setup.settings.render_path;
    app.insert_resource(ClearColor(BACKGROUND))
        .add_plugins(PointCloudPlugin {
            settings: setup.settings,
        })
        .insert_resource(PointClouds::new(setup.layers, memory, path))
        .add_plugins(crate::buildings::BuildingsPlugin)
        .add_plugins(crate::network::render::NetworkPlugin)
        .insert_resource({
            let mut networks = crate::network::render::Networks::new(setup.networks);
            networks.style = setup.network_style;
            networks
        })
        .insert_resource({
            let mut buildings = Buildings::new(setup.buildings, memory);
            buildings.color = setup.building_color;
            buildings
        })
        // Sun from the south-west, 40° high, and a sky fill: buildings read as volumes. Point
        // clouds are unlit and ignore both.
        .insert_resource(GlobalAmbientLight {
            brightness: 300.0,
            ..default()
        })
        .add_systems(Startup, |mut commands: Commands| {
            commands.spawn((
                DirectionalLight {
                    illuminance: 2_500.0,
                    ..default()
                },
                Transform::from_rotation(sun_rotation()),
            ));
        });
    crate::camera::plugin(app);
    crate::front::opening::plugin(app);
    camera
}

/// The sun's orientation in the render frame: from the south-west (azimuth 225°), 40° high.
fn sun_rotation() -> Quat {
    let (azimuth, elevation) = (225f64.to_radians(), 40f64.to_radians());
    // Direction towards the sun in the CRS (x east, y north, z up).
    let to_sun = glam::DVec3::new(
        azimuth.sin() * elevation.cos(),
        azimuth.cos() * elevation.cos(),
        elevation.sin(),
    );
    let [x, y, z] = crate::georef::world_from_crs(to_sun);
    // A directional light shines along its −Z.
    Transform::IDENTITY
        .looking_to(-Vec3::new(x, y, z), Vec3::Y)
        .rotation
}

/// The components of the 3D camera (the caller adds the render target).
pub fn camera_bundle(camera: ViewerCamera) -> impl Bundle {
    (
        Camera3d::default(),
        camera,
        Projection::Perspective(PerspectiveProjection {
            fov: camera.fov_y as f32,
            ..default()
        }),
        // Colours are what the file says: no tonemapping curve on top.
        Tonemapping::None,
        // Float target: its alpha carries the log-depth for eye-dome lighting.
        bevy::camera::Hdr,
        // No multisampling: resolving would average that log-depth along every edge, and
        // eye-dome lighting would outline each building against the sky (the window and the
        // page then showed what `jumeau render` did not).
        Msaa::Off,
        EyeDomeLighting::default(),
        Transform::from_rotation(camera.rotation()),
    )
}

/// Opens the desktop viewer window, its panel in `lang`, and runs until it is closed. The
/// window is up at once: `opening` (what, job) opens the inputs meanwhile, and they join the
/// twin when ready.
pub fn run_viewer(
    setup: ViewerSetup,
    lang: crate::front::embed::Lang,
    opening: Option<(String, crate::front::opening::OpenJob)>,
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
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(window),
        ..default()
    }));
    let camera = add_twin(&mut app, setup, aspect);
    if let Some(lang) = panel {
        crate::front::ui::plugin(&mut app, lang);
    }
    app.add_systems(Startup, move |mut commands: Commands| {
        commands.spawn(camera_bundle(camera));
    });
    app
}

/// Whether everything streamed has arrived for the current view: no input is still being
/// opened, nothing wanted is missing, nothing is on its way (resources that are absent count
/// as settled).
pub fn twin_settled(world: &World) -> bool {
    !world.contains_resource::<crate::front::opening::Opening>()
        && world
            .get_resource::<PointClouds>()
            .is_none_or(PointClouds::is_settled)
        && world
            .get_resource::<Buildings>()
            .is_none_or(Buildings::is_settled)
        && world
            .get_resource::<crate::network::render::Networks>()
            .is_none_or(crate::network::render::Networks::is_settled)
}

/// Bounds of everything the running twin holds (point clouds and buildings), in the CRS.
pub fn twin_bounds(world: &World) -> Option<CrsAabb> {
    let clouds = world
        .get_resource::<PointClouds>()
        .and_then(PointClouds::bounds);
    let buildings = world
        .get_resource::<Buildings>()
        .and_then(Buildings::bounds);
    clouds
        .into_iter()
        .chain(buildings)
        .reduce(|a, b| a.union(&b))
}

/// Whether a window can be opened here (a display server is named).
pub fn display_available() -> bool {
    if cfg!(target_os = "linux") {
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    } else {
        true
    }
}

/// Turns camera input off (offscreen rendering, scripted tours).
pub fn disable_camera_input(app: &mut App) {
    app.insert_resource(CameraInput {
        enabled: false,
        captured_by_ui: false,
    });
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
) -> Result<crate::front::inputs::OpenedInputs, String> {
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
