//! The network overlay in the engine: [`Networks`] (the layers, filter and style), loading off
//! the main thread, chunk meshes placed camera-relative, the overlay material, and picking.
//!
//! Loading (read + ingest + drape + [`build_chunks`]) runs on a worker thread; the main thread
//! only turns the finished vertex arrays into meshes, once. Each frame it moves the chunk
//! entities to the camera-relative frame (one transform per chunk, not per feature) and, when
//! the filter or style changed, rewrites one small uniform per layer. Its time is measured in
//! [`NetworkStats::main_thread_ms`].

use super::model::{LoadLayer, NetworkLayer};
use super::overlay::{
    Feature, NetworkFilter, OperatorIndex, OverlayChunk, OverlayMesh, OverlayStyle, STATUS_COLORS,
    Screen, build_chunks, pick,
};
use crate::camera::StreamingView;
use crate::jobs::{Task, WorkerPool};
use crate::pointcloud::render::register_shader;
use bevy::asset::{RenderAssetUsages, uuid_handle};
use bevy::math::Vec4;
use bevy::math::{DVec2, DVec3};
use bevy::mesh::{Indices, MeshVertexAttribute, MeshVertexBufferLayoutRef};
use bevy::pbr::{MaterialPipeline, MaterialPipelineKey};
use bevy::platform::time::Instant;
use bevy::prelude::*;
use bevy::render::render_resource::{
    AsBindGroup, BlendComponent, BlendFactor, BlendOperation, PrimitiveTopology,
    RenderPipelineDescriptor, ShaderType, SpecializedMeshPipelineError, VertexFormat,
};
use bevy::shader::ShaderRef;
use bevy::transform::TransformSystems;
use std::collections::BTreeSet;

pub const OVERLAY_SHADER: Handle<Shader> = uuid_handle!("0d6e8b1a-7c39-4f52-a1d4-93e2b5c7f861");

pub const ATTRIBUTE_OTHER_END: MeshVertexAttribute =
    MeshVertexAttribute::new("NetworkOtherEnd", 0x4a75_6e01, VertexFormat::Float32x3);
pub const ATTRIBUTE_NETWORK_INFO: MeshVertexAttribute =
    MeshVertexAttribute::new("NetworkInfo", 0x4a75_6e02, VertexFormat::Uint32);
pub const ATTRIBUTE_NETWORK_VALUES: MeshVertexAttribute =
    MeshVertexAttribute::new("NetworkValues", 0x4a75_6e03, VertexFormat::Float32x2);
pub const ATTRIBUTE_NETWORK_FEATURE: MeshVertexAttribute =
    MeshVertexAttribute::new("NetworkFeature", 0x4a75_6e04, VertexFormat::Uint32);

/// Opacity of antenna sectors.
const SECTOR_OPACITY: f32 = 0.3;
/// How far a click may land from a feature and still pick it, pixels.
const PICK_RADIUS_PX: f64 = 8.0;

/// Operator colours (sRGB), by operator index modulo 8.
const OPERATOR_COLORS: [[u8; 3]; 8] = [
    [230, 120, 30],
    [220, 40, 60],
    [40, 120, 220],
    [150, 80, 200],
    [30, 170, 160],
    [200, 180, 40],
    [120, 200, 60],
    [240, 110, 180],
];

/// A layer ready for the GPU.
struct Loaded {
    layer: NetworkLayer,
    operators: OperatorIndex,
    chunks: Vec<OverlayChunk>,
    capacity_max: f32,
}

struct LoadTask {
    index: usize,
    name: String,
    load: LoadLayer,
}

impl Task for LoadTask {
    type Key = usize;
    type Output = (String, Result<Loaded, String>);

    fn key(&self) -> usize {
        self.index
    }

    fn run(self) -> Self::Output {
        let result = (self.load)().map(|layer| {
            let operators = OperatorIndex::of([&layer.network]);
            let chunks = build_chunks(&layer.network, &operators);
            let capacity_max = layer
                .network
                .spans
                .iter()
                .filter_map(|s| s.capacity_fibres)
                .max()
                .unwrap_or(1) as f32;
            Loaded {
                layer,
                operators,
                chunks,
                capacity_max,
            }
        });
        (self.name, result)
    }
}

/// A shown layer with its GPU side.
pub struct ShownLayer {
    pub layer: NetworkLayer,
    pub operators: OperatorIndex,
    capacity_max: f32,
    opaque: Handle<NetworkMaterial>,
    sectors: Handle<NetworkMaterial>,
    /// The uniform last written (rewritten only when it changes).
    written: Option<NetworkStyleUniform>,
}

impl ShownLayer {
    /// The layer's filter: the shared one with the hidden operator names turned into this
    /// layer's operator bits.
    pub fn filter(&self, networks: &Networks) -> NetworkFilter {
        let mut filter = networks.filter.clone();
        filter.hidden_operators = 0;
        for i in 0..=OperatorIndex::MAX as u32 {
            if networks.hidden_operators.contains(self.operators.label(i)) {
                filter.hidden_operators |= 1 << i;
            }
        }
        filter
    }
}

/// What the overlay costs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkStats {
    pub sites: usize,
    pub spans: usize,
    pub chunks: usize,
    pub vertices: usize,
    pub gpu_bytes: u64,
    /// Time the overlay's systems took on the main thread in the last frame.
    pub main_thread_ms: f64,
    /// Layers still loading.
    pub loading: usize,
}

/// The picked feature.
#[derive(Debug, Clone, PartialEq)]
pub struct PickedFeature {
    pub layer: usize,
    pub feature: Feature,
}

/// The network layers and how they are shown.
#[derive(Resource)]
pub struct Networks {
    pub layers: Vec<ShownLayer>,
    pub filter: NetworkFilter,
    /// Operator names hidden by the filter (across layers).
    pub hidden_operators: BTreeSet<String>,
    pub style: OverlayStyle,
    pub picked: Option<PickedFeature>,
    pub stats: NetworkStats,
    /// Errors of layers that could not be loaded.
    pub messages: Vec<String>,
    /// The view of the last frame, for labels and picking.
    pub screen: Option<Screen>,
    pub eye: DVec3,
    pool: WorkerPool<LoadTask>,
    queued: usize,
    /// Layers ever given to load (the next one's task key).
    added: usize,
    /// Layers whose building sites the buildings have been given.
    service_layers: usize,
}

impl Networks {
    /// Starts loading `sources` (name, loader) off the main thread.
    pub fn new(sources: Vec<(String, LoadLayer)>) -> Self {
        let workers = if cfg!(target_arch = "wasm32") { 0 } else { 1 };
        let mut networks = Self {
            layers: Vec::new(),
            filter: NetworkFilter::default(),
            hidden_operators: BTreeSet::new(),
            style: OverlayStyle::default(),
            picked: None,
            stats: NetworkStats::default(),
            messages: Vec::new(),
            screen: None,
            eye: DVec3::ZERO,
            pool: WorkerPool::new(workers, "network-load"),
            queued: 0,
            added: 0,
            service_layers: 0,
        };
        networks.add(sources);
        networks
    }

    /// Loads more layers (e.g. inputs opened once the twin already runs), after those queued.
    pub fn add(&mut self, sources: Vec<(String, LoadLayer)>) {
        let first = self.added;
        self.added += sources.len();
        self.queued += sources.len();
        self.stats.loading += sources.len();
        self.pool.push(
            sources
                .into_iter()
                .enumerate()
                .map(|(i, (name, load))| LoadTask {
                    index: first + i,
                    name,
                    load,
                })
                .collect(),
        );
    }

    /// Whether every layer has loaded (or failed).
    pub fn is_settled(&self) -> bool {
        self.queued == 0
    }

    /// Every operator name of the shown layers, sorted.
    pub fn operator_names(&self) -> BTreeSet<String> {
        self.layers
            .iter()
            .flat_map(|l| (0..=l.operators.names.len() as u32).map(|i| l.operators.label(i)))
            .map(str::to_owned)
            .collect()
    }
}

/// The overlay's style uniform. Must match `NetworkStyle` in `shaders/network/overlay.wgsl`.
#[derive(Debug, Clone, PartialEq, ShaderType)]
pub struct NetworkStyleUniform {
    pub status_colors: [Vec4; 4],
    pub operator_colors: [Vec4; 8],
    pub highlight: Vec4,
    pub status_visible: u32,
    pub kind_visible: u32,
    pub hidden_operators: u32,
    pub color_mode: u32,
    pub until_day: f32,
    pub line_width_px: f32,
    pub symbol_scale: f32,
    pub capacity_max: f32,
    pub picked: u32,
    pub opacity: f32,
    pub depth_bias_m: f32,
    pub xray: u32,
}

fn linear(rgb: [u8; 3]) -> Vec4 {
    let l = Color::srgb_u8(rgb[0], rgb[1], rgb[2]).to_linear();
    Vec4::new(l.red, l.green, l.blue, 1.0)
}

impl NetworkStyleUniform {
    fn new(
        filter: &NetworkFilter,
        style: &OverlayStyle,
        capacity_max: f32,
        picked: Option<u32>,
        opacity: f32,
    ) -> Self {
        let bits = |flags: &[bool]| {
            flags
                .iter()
                .enumerate()
                .fold(0u32, |m, (i, on)| m | (u32::from(*on) << i))
        };
        Self {
            status_colors: STATUS_COLORS.map(linear),
            operator_colors: OPERATOR_COLORS.map(linear),
            highlight: linear([255, 40, 220]),
            status_visible: bits(&filter.statuses),
            kind_visible: bits(&filter.kinds),
            hidden_operators: filter.hidden_operators,
            color_mode: style.color.shader_index(),
            until_day: filter.until.map_or(1.0e9, |d| d.0 as f32),
            line_width_px: style.line_width_px,
            symbol_scale: style.symbol_scale,
            capacity_max,
            picked: picked.map_or(0, |p| p + 1),
            opacity,
            depth_bias_m: 2.0,
            xray: u32::from(style.xray),
        }
    }
}

/// One material per layer and pass (lines and symbols opaque, sectors blended).
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct NetworkMaterial {
    #[uniform(0)]
    pub style: NetworkStyleUniform,
}

impl Material for NetworkMaterial {
    fn vertex_shader() -> ShaderRef {
        ShaderRef::Handle(OVERLAY_SHADER)
    }

    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(OVERLAY_SHADER)
    }

    fn alpha_mode(&self) -> AlphaMode {
        if self.style.opacity < 1.0 {
            AlphaMode::Blend
        } else {
            AlphaMode::Opaque
        }
    }

    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }

    fn specialize(
        _pipeline: &MaterialPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        layout: &MeshVertexBufferLayoutRef,
        _key: MaterialPipelineKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        crate::pointcloud::render::screen_quad_pipeline(
            descriptor,
            layout,
            &[
                Mesh::ATTRIBUTE_POSITION.at_shader_location(0),
                ATTRIBUTE_OTHER_END.at_shader_location(1),
                ATTRIBUTE_NETWORK_INFO.at_shader_location(2),
                ATTRIBUTE_NETWORK_VALUES.at_shader_location(3),
                ATTRIBUTE_NETWORK_FEATURE.at_shader_location(4),
            ],
        )?;
        // Blended sectors keep the target's alpha: it carries the log-depth of the points
        // below for eye-dome lighting, which would otherwise outline every sector.
        if let Some(fragment) = descriptor.fragment.as_mut() {
            for target in fragment.targets.iter_mut().flatten() {
                if let Some(blend) = target.blend.as_mut() {
                    blend.alpha = BlendComponent {
                        src_factor: BlendFactor::Zero,
                        dst_factor: BlendFactor::One,
                        operation: BlendOperation::Add,
                    };
                }
            }
        }
        Ok(())
    }
}

/// A mesh of one chunk of one layer.
#[derive(Component, Debug, Clone, Copy)]
pub struct NetworkChunk {
    pub layer: usize,
    pub origin: DVec3,
}

fn overlay_mesh(mesh: OverlayMesh) -> Mesh {
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::RENDER_WORLD,
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, mesh.positions)
    .with_inserted_attribute(ATTRIBUTE_OTHER_END, mesh.others)
    .with_inserted_attribute(ATTRIBUTE_NETWORK_INFO, mesh.info)
    .with_inserted_attribute(ATTRIBUTE_NETWORK_VALUES, mesh.values)
    .with_inserted_attribute(ATTRIBUTE_NETWORK_FEATURE, mesh.features)
    .with_inserted_indices(Indices::U32(mesh.indices))
}

/// Order of the overlay's systems in `PostUpdate`.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetworkSystems;

/// Shows the [`Networks`] resource (insert it before or after adding the plugin).
pub struct NetworkPlugin;

impl Plugin for NetworkPlugin {
    fn build(&self, app: &mut App) {
        register_shader(
            app,
            &OVERLAY_SHADER,
            include_str!("../../shaders/network/overlay.wgsl"),
            "shaders/network/overlay.wgsl",
        );
        app.add_plugins(MaterialPlugin::<NetworkMaterial>::default())
            .configure_sets(
                PostUpdate,
                NetworkSystems
                    .after(crate::camera::CameraSystems::Apply)
                    .before(TransformSystems::Propagate),
            )
            .add_systems(
                PostUpdate,
                (receive_layers, place_chunks, style_layers)
                    .chain()
                    .in_set(NetworkSystems),
            )
            .add_systems(
                PostUpdate,
                frame_first_network.before(crate::camera::CameraSystems::Apply),
            )
            .add_systems(Update, pick_on_click.after(crate::buildings::pick_on_click));
    }
}

/// Present when the twin has nothing but networks: the camera is framed on the first layer
/// once it has loaded.
#[derive(Resource, Debug, Clone, Copy)]
pub struct FrameOnFirstNetwork;

fn frame_first_network(
    mut commands: Commands,
    wanted: Option<Res<FrameOnFirstNetwork>>,
    networks: Option<Res<Networks>>,
) {
    let (Some(_), Some(networks)) = (wanted, networks) else {
        return;
    };
    let Some((lo, hi)) = networks
        .layers
        .first()
        .and_then(|l| l.layer.network.bounds())
    else {
        return;
    };
    let bounds = crate::spatial::Aabb { min: lo, max: hi };
    commands.queue(move |world: &mut World| {
        crate::camera::frame_cameras(world, &bounds);
        world.remove_resource::<FrameOnFirstNetwork>();
    });
}

/// Turns loaded layers into chunk entities (the vertex arrays were built on the worker).
fn receive_layers(
    mut commands: Commands,
    networks: Option<ResMut<Networks>>,
    buildings: Option<ResMut<crate::buildings::streaming::Buildings>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<NetworkMaterial>>,
) {
    let started = Instant::now();
    let Some(mut networks) = networks else { return };
    networks.pool.run_inline_if_single_threaded();
    for (name, result) in networks.pool.try_results() {
        networks.queued = networks.queued.saturating_sub(1);
        let loaded = match result {
            Ok(loaded) => loaded,
            Err(error) => {
                networks.messages.push(format!("{name}: {error}"));
                continue;
            }
        };
        let index = networks.layers.len();
        let filter = networks.filter.clone();
        let material = |opacity| NetworkMaterial {
            style: NetworkStyleUniform::new(
                &filter,
                &networks.style,
                loaded.capacity_max,
                None,
                opacity,
            ),
        };
        let opaque = materials.add(material(1.0));
        let sectors = materials.add(material(SECTOR_OPACITY));
        let stats = &mut networks.stats;
        stats.sites += loaded.layer.network.sites.len();
        stats.spans += loaded.layer.network.spans.len();
        for chunk in loaded.chunks {
            let origin = chunk.origin;
            for (mesh, material) in [(chunk.opaque, &opaque), (chunk.sectors, &sectors)] {
                if mesh.is_empty() {
                    continue;
                }
                stats.chunks += 1;
                stats.vertices += mesh.positions.len();
                stats.gpu_bytes += mesh.gpu_bytes();
                commands.spawn((
                    Mesh3d(meshes.add(overlay_mesh(mesh))),
                    MeshMaterial3d(material.clone()),
                    Transform::default(),
                    Visibility::Hidden,
                    NetworkChunk {
                        layer: index,
                        origin,
                    },
                ));
            }
        }
        networks.layers.push(ShownLayer {
            layer: loaded.layer,
            operators: loaded.operators,
            capacity_max: loaded.capacity_max,
            opaque,
            sectors,
            written: None,
        });
    }
    if networks.layers.len() != networks.service_layers
        && let Some(mut buildings) = buildings
    {
        networks.service_layers = networks.layers.len();
        share_service_status(&networks, &mut buildings);
    }
    networks.stats.loading = networks.queued;
    networks.stats.main_thread_ms = started.elapsed().as_secs_f64() * 1e3;
}

/// Gives the buildings the service status of the network's building sites (status colours);
/// the first time there are some, buildings left in their authored colours switch to them.
fn share_service_status(
    networks: &Networks,
    buildings: &mut crate::buildings::streaming::Buildings,
) {
    use crate::buildings::streaming::BuildingColor;
    let points: Vec<(DVec2, [f32; 4])> = networks
        .layers
        .iter()
        .flat_map(|l| &l.layer.network.sites)
        .filter(|s| s.kind == super::model::SiteKind::Building)
        .map(|s| {
            let c = linear(STATUS_COLORS[super::overlay::status_index(&s.status) as usize]);
            (s.position.truncate(), c.to_array())
        })
        .collect();
    if points.is_empty() {
        return;
    }
    let first = buildings.service.points.is_empty();
    buildings.service.generation += 1;
    buildings.service.points = points;
    if first && buildings.color == BuildingColor::Model {
        buildings.color = BuildingColor::Service;
    }
}

/// Where CRS points fall on the screen this frame (physical pixels of the virtual image that
/// the panel's inset widens), for labels, picking and the tools' markers.
pub fn screen_now<'a>(
    view: &StreamingView,
    cameras: impl Iterator<Item = &'a Camera>,
    inset: Option<&crate::camera::ViewInset>,
) -> Screen {
    let size = cameras
        .filter_map(Camera::physical_viewport_size)
        .next()
        .unwrap_or(UVec2::new(800, 600));
    let inset_px = inset.map_or(0.0, |i| f64::from(i.left_px.max(0.0)));
    Screen {
        clip_from_world: view.view.clip_from_world,
        size_px: DVec2::new(f64::from(size.x) + inset_px, f64::from(size.y)),
    }
}

/// Where CRS points fall on the screen this frame ([`screen_now`] of the viewer's camera), for
/// the tools that draw over the view.
#[derive(bevy::ecs::system::SystemParam)]
pub struct ScreenNow<'w, 's> {
    view: Option<Res<'w, StreamingView>>,
    inset: Option<Res<'w, crate::camera::ViewInset>>,
    cameras: Query<'w, 's, &'static Camera, With<crate::camera::ViewerCamera>>,
}

impl ScreenNow<'_, '_> {
    /// The screen, once the camera has been placed.
    pub fn get(&self) -> Option<Screen> {
        let view = self.view.as_ref()?;
        Some(screen_now(view, self.cameras.iter(), self.inset.as_deref()))
    }
}

/// Chunks follow the camera-relative frame; hidden layers hide their chunks.
fn place_chunks(
    networks: Option<ResMut<Networks>>,
    view: Option<Res<StreamingView>>,
    cameras: Query<&Camera, With<crate::camera::ViewerCamera>>,
    inset: Option<Res<crate::camera::ViewInset>>,
    mut chunks: Query<(&NetworkChunk, &mut Transform, &mut Visibility)>,
) {
    let started = Instant::now();
    let (Some(mut networks), Some(view)) = (networks, view) else {
        return;
    };
    for (chunk, mut transform, mut visibility) in &mut chunks {
        let show = networks
            .layers
            .get(chunk.layer)
            .is_some_and(|l| l.layer.visible);
        visibility.set_if_neq(if show {
            Visibility::Visible
        } else {
            Visibility::Hidden
        });
        let translation = Vec3::from_array(crate::georef::world_from_crs(chunk.origin - view.eye));
        if transform.translation != translation {
            transform.translation = translation;
        }
    }
    networks.screen = Some(screen_now(&view, cameras.iter(), inset.as_deref()));
    networks.eye = view.eye;
    networks.stats.main_thread_ms += started.elapsed().as_secs_f64() * 1e3;
}

/// Rewrites a layer's uniforms when the filter, style or picked feature changed.
fn style_layers(
    networks: Option<ResMut<Networks>>,
    mut materials: ResMut<Assets<NetworkMaterial>>,
) {
    let started = Instant::now();
    let Some(mut networks) = networks else { return };
    let networks = &mut *networks;
    for index in 0..networks.layers.len() {
        let layer = &networks.layers[index];
        let picked = networks
            .picked
            .as_ref()
            .filter(|p| p.layer == index)
            .map(|p| match p.feature {
                Feature::Site(i) => i as u32,
                Feature::Span(i) => (layer.layer.network.sites.len() + i) as u32,
            });
        let filter = layer.filter(networks);
        let mut wanted =
            NetworkStyleUniform::new(&filter, &networks.style, layer.capacity_max, picked, 1.0);
        if !networks.style.sectors {
            wanted.kind_visible &=
                !(1 << super::overlay::kind_index(&super::model::SiteKind::Antenna));
        }
        if layer.written.as_ref() == Some(&wanted) {
            continue;
        }
        let mut sectors_style = wanted.clone();
        sectors_style.opacity = SECTOR_OPACITY;
        if !networks.style.sectors {
            sectors_style.kind_visible = 0;
        }
        if let Some(mut m) = materials.get_mut(&layer.opaque) {
            m.style = wanted.clone();
        }
        if let Some(mut m) = materials.get_mut(&layer.sectors) {
            m.style = sectors_style;
        }
        networks.layers[index].written = Some(wanted);
    }
    networks.stats.main_thread_ms += started.elapsed().as_secs_f64() * 1e3;
}

/// A click near a shown site or span picks it (and clears a picked building); a click on
/// nothing of the network leaves the building picking alone.
fn pick_on_click(
    buttons: Res<ButtonInput<MouseButton>>,
    input: Option<Res<crate::camera::CameraInput>>,
    windows: Query<&Window>,
    mut pressed_at: Local<Option<Vec2>>,
    networks: Option<ResMut<Networks>>,
    buildings: Option<ResMut<crate::buildings::streaming::Buildings>>,
) {
    let Some(mut networks) = networks else { return };
    let cursor = windows.iter().find_map(Window::physical_cursor_position);
    let Some(cursor) =
        crate::camera::left_click(&buttons, cursor, &mut pressed_at, input.as_deref())
    else {
        return;
    };
    let Some(screen) = networks.screen else {
        return;
    };
    let cursor = DVec2::new(f64::from(cursor.x), f64::from(cursor.y));
    let best = networks
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| l.layer.visible)
        .filter_map(|(index, l)| {
            let filter = l.filter(&networks);
            pick(
                &l.layer.network,
                &filter,
                &l.operators,
                &screen,
                cursor,
                PICK_RADIUS_PX,
            )
            .map(|(feature, d)| {
                (
                    PickedFeature {
                        layer: index,
                        feature,
                    },
                    d,
                )
            })
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(p, _)| p);
    if best.is_some()
        && let Some(mut buildings) = buildings
    {
        buildings.picked = None;
    }
    if best.is_some() || networks.picked.is_some() {
        networks.picked = best;
    }
}
