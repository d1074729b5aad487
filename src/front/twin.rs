//! The twin put together: [`JumeauPlugin`] streams point clouds, buildings and networks for
//! whatever camera carries a [`ViewerCamera`], and opens data off the main thread ([`open`]).
//! The desktop viewer, the page's canvas, the offscreen renderer (`jumeau render`, golden
//! images) and other Bevy apps all add it; the camera controller and the panel are plugins of
//! their own ([`CameraControllerPlugin`], [`crate::front::ui::PanelPlugin`]).

use crate::buildings::layer::BuildingLayer;
use crate::buildings::streaming::{BuildingColor, Buildings};
pub use crate::camera::CameraControllerPlugin;
use crate::camera::{CameraInput, ViewerCamera};
pub use crate::front::opening::twin_bounds;
use crate::pointcloud::PointCloudPlugin;
use crate::pointcloud::layer::Layer;
use crate::pointcloud::render::edl::EyeDomeLighting;
use crate::pointcloud::streaming::{PointCloudSettings, PointClouds};
use crate::spatial::Aabb as CrsAabb;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::math::DVec3;
use bevy::prelude::*;

/// The twin in any Bevy app: point-cloud, building and network streaming and rendering, the
/// sun, the camera rig ([`ViewerCamera`]: add it to your camera, or spawn [`camera_bundle`]),
/// and the opening of data off the main thread. Open data with [`open`]. Without
/// [`CameraControllerPlugin`] the app moves the camera itself (set the [`ViewerCamera`]).
///
/// ```no_run
/// use bevy::prelude::*;
/// use jumeau::{JumeauPlugin, camera_bundle, open};
///
/// App::new()
///     .add_plugins((DefaultPlugins, JumeauPlugin::default()))
///     .add_plugins(jumeau::CameraControllerPlugin)
///     .add_systems(Startup, |mut commands: Commands| {
///         let eye = Vec3::new(0.0, -300.0, 200.0).as_dvec3();
///         let rig = jumeau::camera::ViewerCamera::look_at(eye, bevy::math::DVec3::ZERO);
///         commands.spawn(camera_bundle(rig));
///         commands.queue(|world: &mut World| open(world, ["lidar/tile.copc.laz"]));
///     })
///     .run();
/// ```
#[derive(Default)]
pub struct JumeauPlugin {
    /// Point budget, point size, colouring, memory budget, render path.
    pub settings: PointCloudSettings,
    /// How buildings are coloured.
    pub building_color: BuildingColor,
    /// Which network features show and how.
    pub network_style: crate::network::overlay::OverlayStyle,
}

impl Plugin for JumeauPlugin {
    fn build(&self, app: &mut App) {
        let setup = ViewerSetup {
            building_color: self.building_color.clone(),
            network_style: self.network_style.clone(),
            ..ViewerSetup::with_clouds(Vec::new(), self.settings.clone())
        };
        add_streaming(app, setup);
    }
}

/// Opens `inputs` (paths or URLs of LAS/LAZ/COPC, `.vpc`, folders, tilesets, glTF models,
/// GeoJSON/CSV networks) into the running twin, off the main thread: they join it when ready,
/// placed in its frame (the first data opened sets the frame and frames the camera). The
/// panel, or [`crate::front::opening::Opening`], tells how it goes; an input that cannot be
/// opened is reported there and in the log, and the twin keeps what it has. From a system:
/// `commands.queue(|world: &mut World| open(world, ["a.copc.laz"]))`.
///
/// Native builds only: in the web build the page opens what its configuration names, and a
/// call here is logged as ignored.
pub fn open<S: Into<String>>(world: &mut World, inputs: impl IntoIterator<Item = S>) {
    let inputs = inputs.into_iter().map(Into::into);
    if cfg!(target_arch = "wasm32") {
        let inputs: Vec<String> = inputs.collect();
        warn!(
            "jumeau::open({inputs:?}) is ignored in the web build: name inputs in the page's configuration"
        );
    } else {
        let mut requests = world.get_resource_or_init::<crate::front::opening::AddRequests>();
        requests.inputs.extend(inputs);
    }
}

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
    /// The project file opened (and where it is): its view is applied, Save writes it back.
    pub project: Option<(crate::scenario::ScenarioFile, std::path::PathBuf)>,
    /// Without a project: the data a project saved from this twin names.
    pub project_data: Vec<String>,
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
            project: None,
            project_data: Vec::new(),
        }
    }

    /// The same setup opening the project `file` (at `path`): its camera unless one was
    /// named, its point style; the rest of its view is applied when the twin starts.
    pub fn with_project(
        mut self,
        file: crate::scenario::ScenarioFile,
        path: std::path::PathBuf,
    ) -> Self {
        let state = file.project();
        if self.camera.is_none() {
            self.camera = state
                .camera
                .map(|c| (DVec3::from_array(c.eye), DVec3::from_array(c.target)));
        }
        crate::front::project::apply_style(&state.style, &mut self.settings);
        self.project = Some((file, path));
        self
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

/// Adds what the front ends share: the twin with `setup`'s layers and the camera controller.
/// Returns the initial camera for the caller to spawn with its own target.
pub fn add_twin(app: &mut App, setup: ViewerSetup, aspect: f64) -> ViewerCamera {
    let camera = setup.initial_camera(aspect);
    add_streaming(app, setup);
    app.add_plugins(CameraControllerPlugin);
    camera
}

/// Streaming, rendering, lights, the camera rig and the opening of data, for `setup`.
fn add_streaming(app: &mut App, setup: ViewerSetup) {
    if let Some((file, path)) = &setup.project {
        let state = file.project();
        app.insert_resource(crate::camera::ClipVolume(state.clip.clone()))
            .insert_resource(crate::front::project::Project::opened(
                file.clone(),
                path.clone(),
            ))
            .insert_resource(crate::front::measure::MeasureTool {
                done: crate::front::project::measurements(&state),
                ..Default::default()
            });
    } else {
        app.insert_resource(crate::front::project::Project {
            data: setup.project_data.clone(),
            ..Default::default()
        });
    }
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
        .add_plugins((
            crate::scenario::view::ScenarioPlugin,
            crate::scenario::tools::RadioToolsPlugin,
            crate::front::profile::ProfilePlugin,
            crate::front::measure::MeasurePlugin,
            crate::front::project::ProjectPlugin,
        ))
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
}

/// The sun's orientation in the render frame: from the south-west (azimuth 225°), 40° high.
fn sun_rotation() -> Quat {
    let (azimuth, elevation) = (225f64.to_radians(), 40f64.to_radians());
    // Direction towards the sun in the CRS (x east, y north, z up).
    let to_sun = bevy::math::DVec3::new(
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
        && world
            .get_resource::<crate::scenario::view::ScenarioView>()
            .is_none_or(crate::scenario::view::ScenarioView::is_settled)
}

/// Turns camera input off (offscreen rendering, scripted tours).
pub fn disable_camera_input(app: &mut App) {
    app.insert_resource(CameraInput {
        enabled: false,
        captured_by_ui: false,
    });
}
