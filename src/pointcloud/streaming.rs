//! Streaming systems: each frame, select the nodes to show for the camera, queue what is
//! missing (pages first, then nodes by screen size), receive decoded nodes from the worker pool,
//! upload a few per frame, evict the least recently used under one memory budget, and place
//! every node camera-relative.

use super::copc::{Attributes, PointChunk};
use super::fetch::{FetchPool, Job, Outcome, Request, SourceId};
use super::layer::*;
use super::lod::{PointBudget, SelectSource, select_across};
use super::render::compute::ComputePoints;
use super::render::edl::EyeDomeLighting;
use super::render::packed::PackedNode;
use super::render::{BYTES_PER_POINT, PointCloudMaterial, point_list_mesh, splat_mesh};
use super::style::{ClassFilter, ColorMode};
use crate::camera::StreamingView;
use crate::georef::{world_from_crs, world_from_crs_f32};
use crate::spatial::LruCache;
use crate::spatial::{Aabb as CrsAabb, Failure, retry_delay};
use bevy::camera::primitives::Aabb;
use bevy::math::DVec3;
use bevy::mesh::MeshTag;
use bevy::platform::time::Instant;
use bevy::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Streaming and style settings the panel edits.
#[derive(Resource, Debug, Clone)]
pub struct PointCloudSettings {
    pub point_budget: u64,
    pub memory_budget_bytes: u64,
    /// Nodes turned into meshes per frame at most (keeps frames smooth while loading).
    pub uploads_per_frame: usize,
    pub point_size_px: f32,
    pub adaptive_size: bool,
    pub color_mode: ColorMode,
    pub classes: ClassFilter,
    /// Stop refining where the spacing is below this many pixels.
    pub min_spacing_px: f64,
    pub render_path: RenderPath,
    /// Eye-dome lighting (outlines shapes by depth differences).
    pub edl: bool,
    /// Let the compute rasterizer use 64-bit atomics where the GPU has them (off: the two-pass
    /// 32-bit scheme that WebGPU uses, for tests and comparisons).
    pub atomics_64: bool,
    /// `point_budget` was chosen by the user: [`RenderPath::Auto`] leaves it alone.
    pub budget_set_by_user: bool,
    /// Choose `color_mode` from the data once the first node arrives (no `--color` given, no
    /// colour picked in the panel yet): see [`choose_color`].
    pub color_from_data: bool,
}

impl PointCloudSettings {
    /// Raises the memory budget to hold the whole point budget on the render path (a quarter
    /// more for the hierarchy's uneven nodes); never lowers it.
    pub fn make_room_for_budget(&mut self) {
        let needed = self.point_budget * self.render_path.bytes_per_point() * 5 / 4;
        self.memory_budget_bytes = self.memory_budget_bytes.max(needed);
    }
}

impl RenderPath {
    fn from_u8(v: u8) -> Self {
        [Self::Auto, Self::Compute, Self::Splats, Self::PointList]
            .into_iter()
            .find(|p| *p as u8 == v)
            .unwrap_or(Self::Splats)
    }

    /// GPU bytes per point of the path.
    pub fn bytes_per_point(self) -> u64 {
        match self {
            RenderPath::Splats | RenderPath::Auto => BYTES_PER_POINT,
            RenderPath::Compute => super::render::packed::BYTES_PER_POINT,
            // f32x3 position + f32x4 colour.
            RenderPath::PointList => 28,
        }
    }
}

/// How nodes are drawn. Chosen when the app starts (nodes are packed for one path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RenderPath {
    /// The compute rasterizer where the GPU runs compute shaders, splats elsewhere (WebGL2).
    #[default]
    Auto,
    /// The compute-shader rasterizer (native Vulkan/Metal/DX12, WebGPU): billions of points.
    Compute,
    /// Screen-space splats with adaptive size (the portable path: WebGL2, WebGPU, native).
    Splats,
    /// One-pixel hardware points through Bevy's standard material: the naive baseline of
    /// `jumeau bench render`, no styling.
    PointList,
}

impl Default for PointCloudSettings {
    fn default() -> Self {
        Self {
            point_budget: 3_000_000,
            memory_budget_bytes: 2 << 30,
            uploads_per_frame: 8,
            point_size_px: 2.0,
            adaptive_size: true,
            color_mode: ColorMode::Rgb,
            classes: ClassFilter::default(),
            min_spacing_px: 1.0,
            render_path: RenderPath::Auto,
            edl: true,
            atomics_64: true,
            budget_set_by_user: false,
            color_from_data: false,
        }
    }
}

/// What a node becomes on the GPU.
pub enum NodeGpu {
    /// A mesh for the splat or `PointList` paths.
    Mesh(Mesh),
    /// Batches for the compute rasterizer.
    Packed(PackedNode),
}

/// A decoded node made ready for the GPU on a worker thread.
pub struct PreparedNode {
    pub gpu: NodeGpu,
    pub points: u64,
    pub classes: Box<[u32; 256]>,
    pub evidence: ColorEvidence,
    pub positions: Arc<Vec<[f32; 3]>>,
    pub origin: DVec3,
    /// The positions' box, relative to `origin` (CRS axes).
    pub bounds: [Vec3; 2],
    pub intensity_max: u16,
}

impl PreparedNode {
    /// Builds the mesh of `path` and the panel's numbers from a decoded chunk.
    pub fn prepare(chunk: PointChunk, path: RenderPath) -> Self {
        let positions_world: Vec<[f32; 3]> = chunk
            .positions
            .iter()
            .map(|p| world_from_crs_f32(*p))
            .collect();
        let gpu = match path {
            RenderPath::Splats | RenderPath::Auto => {
                NodeGpu::Mesh(splat_mesh(&chunk, &positions_world))
            }
            RenderPath::PointList => NodeGpu::Mesh(point_list_mesh(&chunk, positions_world)),
            RenderPath::Compute => NodeGpu::Packed(PackedNode::pack(&chunk, &positions_world)),
        };
        let mut classes = Box::new([0u32; 256]);
        if let Some(c) = &chunk.classification {
            for &code in c {
                classes[usize::from(code)] += 1;
            }
        }
        let bounds = PickNode::bounds_of(&chunk.positions);
        let rgb_varies = chunk
            .rgb
            .as_ref()
            .is_some_and(|c| c.iter().any(|rgb| *rgb != c[0]));
        Self {
            gpu,
            points: chunk.len() as u64,
            evidence: ColorEvidence {
                rgb_varies,
                classes_vary: classes.iter().filter(|&&n| n > 0).count() > 1,
            },
            classes,
            intensity_max: chunk
                .intensity
                .as_ref()
                .and_then(|v| v.iter().max().copied())
                .unwrap_or(0),
            origin: chunk.origin,
            bounds,
            positions: Arc::new(chunk.positions),
        }
    }
}

/// A node on the GPU.
pub struct Resident {
    pub entity: Entity,
    /// None on the compute path (the render world owns the batches).
    pub mesh: Option<Handle<Mesh>>,
    pub points: u64,
    /// Points per classification code.
    pub classes: Box<[u32; 256]>,
    /// Positions relative to `origin` in the CRS axes (for picking).
    pub positions: Arc<Vec<[f32; 3]>>,
    pub origin: DVec3,
    /// The positions' box, relative to `origin` (CRS axes).
    pub bounds: [Vec3; 2],
}

/// Live numbers for the panel and the benchmarks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamStats {
    pub frame: u64,
    pub nodes_wanted: usize,
    pub nodes_shown: usize,
    pub points_shown: u64,
    pub nodes_resident: usize,
    pub bytes_resident: u64,
    pub queued: usize,
    pub in_flight: usize,
    pub pending_uploads: usize,
    pub failed: usize,
    pub bytes_fetched: u64,
    pub nodes_loaded: u64,
    /// Wanted nodes that are shown, 0..1.
    pub progress: f32,
    /// Main-thread time of the streaming systems this frame (select to place), ms.
    pub streaming_ms: f64,
}

/// Every point-cloud layer and the machinery that streams them.
#[derive(Resource)]
pub struct PointClouds {
    pub layers: Vec<Layer>,
    /// Each layer's material (its style), made by the first frame that sees the layer.
    pub materials: Vec<Handle<PointCloudMaterial>>,
    pool: FetchPool<PreparedNode>,
    /// The render path the workers prepare nodes for (set once [`RenderPath::Auto`] is
    /// resolved).
    path: Arc<std::sync::atomic::AtomicU8>,
    cache: LruCache<NodeId, Resident>,
    pending_uploads: Vec<(NodeId, PreparedNode)>,
    /// Nodes of the current selection, in priority order.
    wanted: Vec<NodeId>,
    shown: HashSet<NodeId>,
    pages_wanted: usize,
    pub stats: StreamStats,
    /// Errors to show in the panel (newest last).
    pub messages: Vec<String>,
    /// Largest intensity seen so far (the intensity ramp's white).
    pub intensity_max: u16,
    /// The colouring chosen from the data and why (see [`choose_color`]), for the panel.
    pub color_choice: Option<(ColorMode, &'static str)>,
    /// Opens the lazy tiles the view reaches.
    opener: crate::jobs::WorkerPool<OpenTile>,
    /// Lazy tiles wanted open this frame.
    tiles_wanted: usize,
    frame_started: Option<Instant>,
}

impl PointClouds {
    /// Streams `layers` within `memory_budget_bytes`, building meshes for `path`.
    pub fn new(layers: Vec<Layer>, memory_budget_bytes: u64, path: RenderPath) -> Self {
        let shared = Arc::new(std::sync::atomic::AtomicU8::new(path as u8));
        let workers_path = shared.clone();
        Self {
            layers,
            materials: Vec::new(),
            pool: FetchPool::new(
                crate::io::FETCH_WORKERS,
                Arc::new(move |chunk| {
                    let path = RenderPath::from_u8(
                        workers_path.load(std::sync::atomic::Ordering::Relaxed),
                    );
                    PreparedNode::prepare(chunk, path)
                }),
            ),
            path: shared,
            cache: LruCache::new(memory_budget_bytes),
            pending_uploads: Vec::new(),
            wanted: Vec::new(),
            shown: HashSet::new(),
            pages_wanted: 0,
            stats: StreamStats::default(),
            messages: Vec::new(),
            intensity_max: 0,
            color_choice: None,
            opener: crate::jobs::WorkerPool::new(crate::io::FETCH_WORKERS, "jumeau-open"),
            tiles_wanted: 0,
            frame_started: None,
        }
    }

    /// The path nodes are prepared for.
    pub fn render_path(&self) -> RenderPath {
        RenderPath::from_u8(self.path.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Bounds of every layer, in the CRS.
    pub fn bounds(&self) -> Option<CrsAabb> {
        layers_bounds(&self.layers)
    }

    /// True once everything the camera wants is shown (or failed) and nothing is moving.
    /// GPU bytes held by resident nodes.
    pub fn used_bytes(&self) -> u64 {
        self.cache.used_bytes()
    }

    /// The bytes the node cache may hold (the rest of the shared budget is the buildings').
    pub fn set_memory_budget(&mut self, bytes: u64) {
        self.cache.set_budget_bytes(bytes);
    }

    pub fn is_settled(&self) -> bool {
        self.stats.frame > 1
            && self.pages_wanted == 0
            && self.tiles_wanted == 0
            && self.pending_uploads.is_empty()
            && self.stats.in_flight == 0
            && self.stats.queued == 0
            && self.wanted.iter().all(|id| {
                self.cache.contains(id)
                    || self
                        .source(id.source)
                        .is_none_or(|s| s.failures.contains_key(&id.key))
            })
    }

    fn source(&self, id: SourceId) -> Option<&StreamSource> {
        self.layers
            .get(usize::from(id.layer))?
            .sources
            .get(usize::from(id.source))
    }

    fn source_mut(&mut self, id: SourceId) -> Option<&mut StreamSource> {
        self.layers
            .get_mut(usize::from(id.layer))?
            .sources
            .get_mut(usize::from(id.source))
    }

    /// The nodes of the current selection, in priority order (what is drawn once resident).
    pub fn selected(&self) -> &[NodeId] {
        &self.wanted
    }

    /// Points of each classification code among the resident nodes.
    pub fn class_counts(&self) -> Box<[u64; 256]> {
        let mut counts = Box::new([0u64; 256]);
        for (_, r) in self.cache.iter_unsorted() {
            for (c, n) in counts.iter_mut().zip(r.classes.iter()) {
                *c += u64::from(*n);
            }
        }
        counts
    }

    /// The shown point nearest to the ray `origin + t * direction` (CRS), within `max_angle`
    /// radians of it as seen from `origin`, among those `clip` keeps ([`pick_points`]).
    pub fn pick(
        &self,
        origin: DVec3,
        direction: DVec3,
        max_angle: f64,
        clip: &crate::spatial::Clipping,
    ) -> Option<DVec3> {
        let nodes = self
            .shown
            .iter()
            .filter_map(|id| self.cache.get(id))
            .map(|r| PickNode {
                origin: r.origin,
                bounds: r.bounds,
                positions: &r.positions,
            });
        pick_points(nodes, origin, direction, max_angle, clip)
    }
}

/// A node as picking reads it: its origin (CRS), its points' box and positions relative to it.
#[derive(Clone, Copy)]
pub struct PickNode<'a> {
    pub origin: DVec3,
    pub bounds: [Vec3; 2],
    pub positions: &'a [[f32; 3]],
}

impl PickNode<'_> {
    /// A node of `positions` (relative to `origin`), its box measured.
    pub fn bounds_of(positions: &[[f32; 3]]) -> [Vec3; 2] {
        positions.iter().fold(
            [Vec3::splat(f32::MAX), Vec3::splat(f32::MIN)],
            |[lo, hi], p| {
                let p = Vec3::from_array(*p);
                [lo.min(p), hi.max(p)]
            },
        )
    }
}

/// The point of `nodes` nearest to `origin` within `max_angle` radians of the ray `origin +
/// t * direction` (CRS), among those `clip` keeps. Nodes whose box the cone misses, or that
/// lie beyond the best hit so far, are not read: a pick reads a few nodes along the ray,
/// nearest first, not every point loaded.
pub fn pick_points<'a>(
    nodes: impl IntoIterator<Item = PickNode<'a>>,
    origin: DVec3,
    direction: DVec3,
    max_angle: f64,
    clip: &crate::spatial::Clipping,
) -> Option<DVec3> {
    let direction = direction.normalize();
    let clipping = clip.is_active();
    let spread = max_angle.tan();
    // Candidate nodes, nearest first: (where the ray enters the box, node).
    let mut candidates: Vec<(f64, PickNode<'a>)> = nodes
        .into_iter()
        .filter_map(|node| {
            let [lo, hi] = node.bounds.map(|v| node.origin + v.as_dvec3());
            if lo.x > hi.x || (clipping && !clip.may_keep(lo, hi)) {
                return None;
            }
            // The cone is within `spread × far` of the ray inside the box: the box grown by
            // that much meets the ray where the cone may meet the box.
            let far = (0.5 * (lo + hi) - origin).length() + 0.5 * (hi - lo).length();
            let margin = DVec3::splat(spread * far);
            let (enter, _) = ray_box(origin, direction, lo - margin, hi + margin)?;
            Some((enter, node))
        })
        .collect();
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Option<(f64, DVec3)> = None;
    for (near, node) in candidates {
        // A point of this node in the cone is at least `near` away: none can be nearer.
        if best.is_some_and(|(d, _)| d < near) {
            break;
        }
        nearest_in(node, origin, direction, max_angle, clip, &mut best);
    }
    best.map(|(_, p)| p)
}

/// [`pick_points`] the plain way, every point of every node read: the baseline of the
/// benchmark and the oracle of the tests.
pub fn pick_points_brute<'a>(
    nodes: impl IntoIterator<Item = PickNode<'a>>,
    origin: DVec3,
    direction: DVec3,
    max_angle: f64,
    clip: &crate::spatial::Clipping,
) -> Option<DVec3> {
    let direction = direction.normalize();
    let mut best = None;
    for node in nodes {
        nearest_in(node, origin, direction, max_angle, clip, &mut best);
    }
    best.map(|(_, p)| p)
}

/// Where the ray `origin + t * direction` (t ≥ 0) is inside the box `lo..hi`: (enter, exit).
fn ray_box(origin: DVec3, direction: DVec3, lo: DVec3, hi: DVec3) -> Option<(f64, f64)> {
    let (mut enter, mut exit) = (0.0f64, f64::INFINITY);
    for k in 0..3 {
        let (o, d) = (origin[k], direction[k]);
        if d.abs() < 1e-12 {
            if o < lo[k] || o > hi[k] {
                return None;
            }
            continue;
        }
        let (a, b) = ((lo[k] - o) / d, (hi[k] - o) / d);
        enter = enter.max(a.min(b));
        exit = exit.min(a.max(b));
    }
    (enter <= exit).then_some((enter, exit))
}

/// Updates `best` (distance, point) with the points of `node` in the cone. The test runs in
/// f32 relative to the node (metres from the eye: sub-millimetre), the hit is rebuilt in f64.
fn nearest_in(
    node: PickNode<'_>,
    origin: DVec3,
    direction: DVec3,
    max_angle: f64,
    clip: &crate::spatial::Clipping,
    best: &mut Option<(f64, DVec3)>,
) {
    let cos2 = (max_angle.cos() * max_angle.cos()) as f32;
    let clipping = clip.is_active();
    let eye = (origin - node.origin).as_vec3();
    let d = direction.as_vec3();
    let mut best2 = best.map_or(f32::INFINITY, |(b, _)| (b * b) as f32);
    for p in node.positions {
        let to = Vec3::from_array(*p) - eye;
        let along = to.dot(d);
        let length2 = to.length_squared();
        // In the cone: along ≥ cos · |to|, squared on both sides (along > 0).
        if along <= 0.0 || along * along < cos2 * length2 || length2 >= best2 {
            continue;
        }
        let point = node.origin + Vec3::from_array(*p).as_dvec3();
        if clipping && !clip.keeps(point) {
            continue;
        }
        let distance = (point - origin).length();
        if best.is_none_or(|(b, _)| distance < b) {
            *best = Some((distance, point));
            best2 = length2;
        }
    }
}

/// Order of the streaming systems within a frame.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum PointCloudSystems {
    Select,
    Receive,
    Upload,
    Place,
}

pub(crate) fn plugin(app: &mut App) {
    app.configure_sets(
        PostUpdate,
        (
            PointCloudSystems::Select,
            PointCloudSystems::Receive,
            PointCloudSystems::Upload,
            PointCloudSystems::Place,
        )
            .chain()
            .after(crate::camera::CameraSystems::Apply)
            .before(TransformSystems::Propagate),
    )
    .add_systems(Startup, resolve_render_path)
    .add_systems(
        PostUpdate,
        (
            (create_layer_materials, select_visible_nodes)
                .chain()
                .in_set(PointCloudSystems::Select),
            receive_loaded_nodes.in_set(PointCloudSystems::Receive),
            upload_resident_nodes.in_set(PointCloudSystems::Upload),
            (
                place_nodes_relative_to_camera,
                update_layer_styles,
                switch_eye_dome_lighting,
            )
                .in_set(PointCloudSystems::Place),
        ),
    );
}

/// Turns [`RenderPath::Auto`] into the compute rasterizer where the GPU runs compute shaders
/// (and the point budget into what its memory holds, unless the user set one); the splat path
/// elsewhere (WebGL2, or no GPU at all).
fn resolve_render_path(
    mut settings: ResMut<PointCloudSettings>,
    clouds: Res<PointClouds>,
    device: Option<Res<bevy::render::renderer::RenderDevice>>,
    adapter: Option<Res<bevy::render::renderer::RenderAdapter>>,
    info: Option<Res<bevy::render::renderer::RenderAdapterInfo>>,
) {
    let support = match (&device, &adapter) {
        (Some(device), Some(adapter)) => {
            super::render::compute::Support::of(device, adapter, info.as_deref())
        }
        _ => super::render::compute::Support::none(),
    };
    let path = match settings.render_path {
        RenderPath::Auto if support.compute => RenderPath::Compute,
        RenderPath::Auto => RenderPath::Splats,
        RenderPath::Compute if !support.compute => {
            warn!("this GPU has no compute shaders: drawing splats instead");
            RenderPath::Splats
        }
        other => other,
    };
    if path == RenderPath::Compute {
        // No mesh to build: a node is a few buffer writes, so more of them fit a frame.
        settings.uploads_per_frame = settings.uploads_per_frame.max(32);
    }
    settings.render_path = path;
    settings.atomics_64 &= support.atomics_64;
    if path == RenderPath::Compute && !settings.budget_set_by_user {
        settings.point_budget = support.point_budget;
        settings.make_room_for_budget();
    }
    info!(
        "point render path: {path:?}, budget {} points{}",
        settings.point_budget,
        if path == RenderPath::Compute {
            format!(
                ", {}-bit atomics",
                if settings.atomics_64 { 64 } else { 32 }
            )
        } else {
            String::new()
        }
    );
    clouds
        .path
        .store(path as u8, std::sync::atomic::Ordering::Relaxed);
}

/// Gives each layer that has none (the first frame's, and those opened later) its material.
fn create_layer_materials(
    mut clouds: ResMut<PointClouds>,
    mut materials: ResMut<Assets<PointCloudMaterial>>,
) {
    let clouds = &mut *clouds;
    while clouds.materials.len() < clouds.layers.len() {
        clouds
            .materials
            .push(materials.add(PointCloudMaterial::default()));
    }
}

fn select_visible_nodes(
    mut clouds: ResMut<PointClouds>,
    settings: Res<PointCloudSettings>,
    view: Option<Res<StreamingView>>,
) {
    let clouds = &mut *clouds;
    clouds.frame_started = Some(Instant::now());
    clouds.stats.frame += 1;
    let Some(view) = view else { return };
    let budget = PointBudget {
        max_points: settings.point_budget,
        min_spacing_px: settings.min_spacing_px,
    };
    let now = Instant::now();
    let attributes = Attributes {
        intensity: true,
        classification: true,
        returns: false,
        rgb: true,
        gps_time: false,
    };
    // Every open source and every lazy tile of the visible layers in one walk, one budget.
    enum Slot {
        Source(SourceId),
        Tile(usize, usize),
    }
    let mut slots = Vec::new();
    let mut inputs = Vec::new();
    for (li, layer) in clouds.layers.iter().enumerate().filter(|(_, l)| l.visible) {
        for (si, source) in layer.sources.iter().enumerate() {
            slots.push(Slot::Source(SourceId {
                layer: li as u16,
                source: si as u16,
            }));
            inputs.push(SelectSource::Open(&source.reader.hierarchy));
        }
        for (ti, tile) in layer.tiles.iter().enumerate() {
            match &tile.state {
                TileState::Open(_) => continue,
                TileState::Failed(f) if f.retry_at > now => continue,
                _ => {}
            }
            slots.push(Slot::Tile(li, ti));
            inputs.push(SelectSource::Lazy(tile.bounds));
        }
    }
    let selection = select_across(&inputs, &view.view, budget);
    drop(inputs);
    let mut page_jobs = Vec::new();
    for (slot, key) in selection.pages_wanted {
        let Slot::Source(id) = slots[slot] else {
            continue;
        };
        let Some(source) = clouds.source(id) else {
            continue;
        };
        // A page that failed waits for its back-off like a node (it used to be asked for
        // again every frame).
        if source.failures.get(&key).is_some_and(|f| f.retry_at > now) {
            continue;
        }
        if let Some(page) = source.reader.hierarchy.get(key).and_then(|n| n.page) {
            page_jobs.push(Job {
                id,
                request: Request::Page { key, page },
                source: source.bytes.clone(),
                decoder: source.decoder.clone(),
                attributes,
            });
        }
    }
    clouds.pages_wanted = page_jobs.len();
    // Lazy tiles the walk reached, biggest on screen first.
    let opens: Vec<OpenTile> = selection
        .tiles_wanted
        .iter()
        .filter_map(|&slot| match slots[slot] {
            Slot::Tile(layer, tile) => {
                let t = &clouds.layers[layer].tiles[tile];
                Some(OpenTile {
                    layer,
                    tile,
                    name: t.name.clone(),
                    href: t.href.clone(),
                })
            }
            Slot::Source(_) => None,
        })
        .collect();
    clouds.tiles_wanted = opens.len();
    clouds.opener.replace_queue(opens);
    let wanted: Vec<NodeId> = selection
        .nodes
        .iter()
        .filter_map(|(slot, node)| match slots[*slot] {
            Slot::Source(source) => Some(NodeId {
                source,
                key: node.key,
            }),
            Slot::Tile(..) => None,
        })
        .collect();
    let frame = clouds.stats.frame;
    let mut node_jobs = Vec::new();
    for id in &wanted {
        if clouds.cache.contains(id) {
            clouds.cache.touch(id, frame);
            continue;
        }
        if clouds.pending_uploads.iter().any(|(p, _)| p == id) {
            continue;
        }
        let Some(source) = clouds.source(id.source) else {
            continue;
        };
        if source
            .failures
            .get(&id.key)
            .is_some_and(|f| f.retry_at > now)
        {
            continue;
        }
        let Some(data) = source.reader.hierarchy.get(id.key).and_then(|n| n.data) else {
            continue;
        };
        node_jobs.push(Job {
            id: id.source,
            request: Request::Node { key: id.key, data },
            source: source.bytes.clone(),
            decoder: source.decoder.clone(),
            attributes,
        });
    }
    clouds
        .pool
        .replace_queue(page_jobs.into_iter().chain(node_jobs).collect());
    let (queued, in_flight) = clouds.pool.load();
    clouds.stats.queued = queued;
    clouds.stats.in_flight = in_flight;
    clouds.shown = wanted.iter().copied().collect();
    clouds.wanted = wanted;
}

fn receive_loaded_nodes(mut clouds: ResMut<PointClouds>, mut settings: ResMut<PointCloudSettings>) {
    let clouds = &mut *clouds;
    clouds.pool.run_inline_if_single_threaded();
    clouds.opener.run_inline_if_single_threaded();
    for (li, ti, opened) in clouds.opener.try_results() {
        let Some(layer) = clouds.layers.get_mut(li) else {
            continue;
        };
        let Some(tile) = layer.tiles.get_mut(ti) else {
            continue;
        };
        match opened {
            Ok(source) => {
                tile.state = TileState::Open(layer.sources.len());
                layer.sources.push(source);
            }
            // The web build's bytes are still on their way: ask again, nothing failed.
            Err(error) if error.contains("are still on their way") => {
                tile.state = TileState::Waiting;
            }
            Err(error) => {
                let previous = match &tile.state {
                    TileState::Failed(f) => Some(f),
                    _ => None,
                };
                let failure = Failure::after(previous, error);
                let message = format!(
                    "{}: tile {} could not be opened (attempt {}, retried in {} s): {}",
                    layer.name,
                    tile.name,
                    failure.attempts,
                    retry_delay(failure.attempts).as_secs(),
                    failure.error
                );
                warn!("{message}");
                clouds.messages.push(message);
                tile.state = TileState::Failed(failure);
            }
        }
    }
    for outcome in clouds.pool.try_results() {
        match outcome {
            Outcome::Page {
                id,
                key,
                page,
                result,
            } => {
                let Some(source) = clouds.source_mut(id) else {
                    continue;
                };
                let inserted = result.and_then(|bytes| {
                    source
                        .reader
                        .insert_page_for(key, page, &bytes)
                        .map_err(|e| e.to_string())
                });
                if let Err(error) = inserted {
                    // The page stays pending: its subtree is not shown, the rest is.
                    let message = source.record_failure(key, format!("hierarchy page: {error}"));
                    warn!("{message}");
                    clouds.messages.push(message);
                }
            }
            Outcome::Node {
                id,
                key,
                fetched_bytes,
                result,
            } => {
                clouds.stats.bytes_fetched += fetched_bytes;
                match result {
                    Ok(node) => {
                        if let Some(source) = clouds.source_mut(id) {
                            source.failures.remove(&key);
                        }
                        clouds.intensity_max = clouds.intensity_max.max(node.intensity_max);
                        // The first node to arrive is a root (parents come first): its points
                        // sample the whole source.
                        if settings.color_from_data && clouds.color_choice.is_none() {
                            let choice = choose_color(node.evidence);
                            info!("colour by {:?}: {}", choice.0, choice.1);
                            settings.color_mode = choice.0;
                            clouds.color_choice = Some(choice);
                        }
                        clouds.stats.nodes_loaded += 1;
                        clouds
                            .pending_uploads
                            .push((NodeId { source: id, key }, node));
                    }
                    Err(error) => {
                        let Some(source) = clouds.source_mut(id) else {
                            continue;
                        };
                        let message = source.record_failure(key, error);
                        warn!("{message}");
                        clouds.messages.push(message);
                    }
                }
            }
        }
    }
    if clouds.messages.len() > 200 {
        let excess = clouds.messages.len() - 200;
        clouds.messages.drain(..excess);
    }
}

/// Turns a few received nodes into meshes, and evicts what no longer fits the budget.
fn upload_resident_nodes(
    mut commands: Commands,
    mut clouds: ResMut<PointClouds>,
    settings: Res<PointCloudSettings>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut standard: ResMut<Assets<StandardMaterial>>,
    mut point_list_material: Local<Handle<StandardMaterial>>,
) {
    if settings.render_path == RenderPath::PointList && *point_list_material == Handle::default() {
        *point_list_material = standard.add(StandardMaterial {
            unlit: true,
            ..default()
        });
    }
    let point_list_material = point_list_material.clone();
    let bytes_per_point = settings.render_path.bytes_per_point();
    let clouds = &mut *clouds;
    clouds.cache.set_budget_bytes(settings.memory_budget_bytes);
    let frame = clouds.stats.frame;
    // Wanted nodes first, in priority order; the others wait (and are dropped if unwanted).
    let rank: HashMap<NodeId, usize> = clouds
        .wanted
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    clouds
        .pending_uploads
        .sort_by_key(|(id, _)| rank.get(id).copied().unwrap_or(usize::MAX));
    let ready = settings.uploads_per_frame.min(clouds.pending_uploads.len());
    let batch: Vec<(NodeId, PreparedNode)> = clouds.pending_uploads.drain(..ready).collect();
    clouds
        .pending_uploads
        .retain(|(id, _)| rank.contains_key(id));
    for (id, node) in batch {
        let Some(layer) = clouds.layers.get(usize::from(id.source.layer)) else {
            continue;
        };
        let Some(source) = layer.sources.get(usize::from(id.source.source)) else {
            continue;
        };
        let cube = source.reader.hierarchy.cube.bounds(id.key);
        let half = Vec3::from_array(world_from_crs(cube.size() * 0.5)).abs();
        let points = node.points;
        let spacing = source.reader.hierarchy.point_spacing(id.key, points);
        let (mut entity, mesh) = match node.gpu {
            NodeGpu::Mesh(mesh) => {
                let mesh = meshes.add(mesh);
                let mut entity = commands.spawn((
                    Mesh3d(mesh.clone()),
                    // The vertex shader sizes the node's splats from its spacing (f32 bits).
                    MeshTag((spacing as f32).to_bits()),
                    Aabb::from_min_max(-half, half),
                ));
                if settings.render_path == RenderPath::PointList {
                    entity.insert(MeshMaterial3d(point_list_material.clone()));
                } else {
                    entity.insert(MeshMaterial3d(
                        clouds
                            .materials
                            .get(usize::from(id.source.layer))
                            .cloned()
                            .unwrap_or_default(),
                    ));
                }
                (entity, Some(mesh))
            }
            NodeGpu::Packed(packed) => (
                commands.spawn(ComputePoints::new(packed, spacing as f32)),
                None,
            ),
        };
        let entity = entity
            .insert((
                Transform::default(),
                Visibility::Hidden,
                PointNode {
                    id,
                    origin: node.origin,
                },
                bevy::light::NotShadowCaster,
                Name::new(format!("{} {}", source.name, id.key)),
            ))
            .id();
        let resident = Resident {
            entity,
            mesh,
            points,
            classes: node.classes,
            positions: node.positions,
            origin: node.origin,
            bounds: node.bounds,
        };
        if let Some(old) = clouds
            .cache
            .insert(id, resident, points * bytes_per_point, frame)
        {
            commands.entity(old.entity).despawn();
            if let Some(mesh) = &old.mesh {
                meshes.remove(mesh);
            }
        }
    }
    for (_, old) in clouds.cache.evict(frame) {
        commands.entity(old.entity).despawn();
        if let Some(mesh) = &old.mesh {
            meshes.remove(mesh);
        }
    }
    let stats = &mut clouds.stats;
    stats.nodes_wanted = clouds.wanted.len();
    stats.nodes_resident = clouds.cache.len();
    stats.bytes_resident = clouds.cache.used_bytes();
    stats.pending_uploads = clouds.pending_uploads.len();
    let shown: Vec<&Resident> = clouds
        .wanted
        .iter()
        .filter_map(|id| clouds.cache.get(id))
        .collect();
    stats.nodes_shown = shown.len();
    stats.points_shown = shown.iter().map(|r| r.points).sum();
    stats.progress = if clouds.wanted.is_empty() {
        1.0
    } else {
        shown.len() as f32 / clouds.wanted.len() as f32
    };
    stats.failed = clouds
        .layers
        .iter()
        .flat_map(|l| &l.sources)
        .map(|s| s.failures.len())
        .sum();
}

/// A point node on screen: which node, and its f64 origin in the CRS.
#[derive(Component, Debug, Clone, Copy)]
pub struct PointNode {
    pub id: NodeId,
    pub origin: DVec3,
}

/// Shows the selected nodes of visible layers, each placed relative to the camera (f64 maths,
/// then one f32 cast of a small offset).
fn place_nodes_relative_to_camera(
    mut clouds: ResMut<PointClouds>,
    view: Option<Res<StreamingView>>,
    mut nodes: Query<(&PointNode, &mut Transform, &mut Visibility)>,
) {
    let Some(view) = view else { return };
    let clouds = &mut *clouds;
    for (node, mut transform, mut visibility) in &mut nodes {
        let layer_visible = clouds
            .layers
            .get(usize::from(node.id.source.layer))
            .is_some_and(|l| l.visible);
        let show = layer_visible && clouds.shown.contains(&node.id);
        let wanted = if show {
            Visibility::Visible
        } else {
            Visibility::Hidden
        };
        visibility.set_if_neq(wanted);
        if show {
            let translation = Vec3::from_array(world_from_crs(node.origin - view.eye));
            if transform.translation != translation {
                transform.translation = translation;
            }
        }
    }
    if let Some(started) = clouds.frame_started.take() {
        clouds.stats.streaming_ms = started.elapsed().as_secs_f64() * 1e3;
    }
}

/// Pushes the panel's style into each layer's material.
fn update_layer_styles(
    clouds: Res<PointClouds>,
    settings: Res<PointCloudSettings>,
    view: Option<Res<StreamingView>>,
    mut materials: ResMut<Assets<PointCloudMaterial>>,
    mut raster: ResMut<super::render::compute::RasterStyle>,
    clip: Option<Res<crate::camera::ClipVolume>>,
) {
    let eye_z = view.as_ref().map_or(0.0, |v| v.eye.z);
    let clip = match (&clip, &view) {
        (Some(c), Some(v)) if c.0.is_active() => super::render::clip::ClipUniform::new(&c.0, v.eye),
        _ => Default::default(),
    };
    let log2_reference = view
        .as_ref()
        .map_or(0.0, |v| v.focus_distance.max(1e-3).log2()) as f32;
    let bounds = clouds.bounds();
    for (layer, handle) in clouds.layers.iter().zip(&clouds.materials) {
        let Some(material) = materials.get(handle) else {
            continue;
        };
        let mut style = material.style.clone();
        style.color_mode = settings.color_mode.shader_index();
        style.point_size_px = settings.point_size_px;
        style.adaptive = u32::from(settings.adaptive_size);
        style.set_class_filter(&settings.classes);
        style.opacity = layer.opacity;
        style.edl = u32::from(settings.edl);
        style.edl_log2_reference = log2_reference;
        style.intensity_max = f32::from(clouds.intensity_max.max(1));
        style.clip = clip;
        if let Some(b) = &bounds {
            style.elevation_min = (b.min.z - eye_z) as f32;
            style.elevation_max = (b.max.z - eye_z) as f32;
        }
        if raster.style.looks_different(&style) || raster.atomics_64 != settings.atomics_64 {
            raster.style = style.clone();
            raster.atomics_64 = settings.atomics_64;
        }
        let changed =
            style.looks_different(&material.style) || style.opacity != material.style.opacity;
        if changed && let Some(mut material) = materials.get_mut(handle) {
            material.style = style;
        }
    }
}

/// EDL stays a pass on every 3D camera; off means strength 0 (no pipeline change).
fn switch_eye_dome_lighting(
    settings: Res<PointCloudSettings>,
    mut cameras: Query<&mut EyeDomeLighting>,
) {
    let strength = if settings.edl { 1.0 } else { 0.0 };
    for mut edl in &mut cameras {
        if edl.strength != strength {
            edl.strength = strength;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointcloud::VoxelKey;

    /// The culled pick finds what reading every point finds, with and without a clip, at
    /// Lambert-93 magnitudes: 64 nodes of a wavy surface, rays from above at a slant.
    #[test]
    fn picking_near_the_ray_finds_what_reading_every_point_finds() {
        let base = DVec3::new(652_000.0, 6_862_000.0, 40.0);
        let nodes: Vec<(DVec3, Vec<[f32; 3]>)> = (0..64)
            .map(|n| {
                let origin =
                    base + DVec3::new(f64::from(n % 8) * 50.0, f64::from(n / 8) * 50.0, 0.0);
                let positions = (0..2500)
                    .map(|i| {
                        let (x, y) = ((i % 50) as f32, (i / 50) as f32);
                        [
                            x,
                            y,
                            3.0 * ((x + origin.x as f32 % 7.0) * 0.3).sin() + y * 0.05,
                        ]
                    })
                    .collect();
                (origin, positions)
            })
            .collect();
        let view = || {
            nodes.iter().map(|(origin, positions)| PickNode {
                origin: *origin,
                bounds: PickNode::bounds_of(positions),
                positions,
            })
        };
        let clip = crate::spatial::Clipping {
            section: Some(crate::spatial::clip::Section {
                point: (base + DVec3::Z).to_array(),
                normal: [0.0, 0.0, 1.0],
            }),
            ..Default::default()
        };
        let eye = base + DVec3::new(-100.0, -150.0, 250.0);
        let mut hits = 0;
        for i in 0..60 {
            let target = base + DVec3::new(f64::from(i * 7 % 400), f64::from(i * 13 % 400), 0.0);
            let direction = (target - eye).normalize();
            for clip in [&crate::spatial::Clipping::default(), &clip] {
                let fast = pick_points(view(), eye, direction, 0.004, clip);
                assert_eq!(fast, pick_points_brute(view(), eye, direction, 0.004, clip));
                hits += usize::from(fast.is_some());
                if let Some(p) = fast {
                    assert!(clip.keeps(p));
                }
            }
        }
        assert!(hits >= 90, "{hits} hits of 120 rays");
    }

    /// A file whose RGB is all zero is not drawn black: its classes, else its heights, colour it.
    #[test]
    fn the_colouring_follows_what_the_points_carry() {
        let chunk = |rgb: Option<Vec<[u16; 3]>>, classes: Vec<u8>| PointChunk {
            positions: vec![[0.0; 3]; classes.len()],
            rgb,
            classification: Some(classes),
            ..Default::default()
        };
        let choose =
            |c: PointChunk| choose_color(PreparedNode::prepare(c, RenderPath::Splats).evidence).0;
        let black = Some(vec![[0, 0, 0]; 3]);
        assert_eq!(
            choose(chunk(black.clone(), vec![2, 6, 2])),
            ColorMode::Classification
        );
        assert_eq!(choose(chunk(black, vec![2, 2, 2])), ColorMode::Elevation);
        assert_eq!(choose(chunk(None, vec![1, 1, 1])), ColorMode::Elevation);
        let coloured = Some(vec![[0, 0, 0], [300, 200, 100], [0, 0, 0]]);
        assert_eq!(choose(chunk(coloured, vec![2, 2, 2])), ColorMode::Rgb);
    }

    #[test]
    fn a_translated_source_decodes_the_same_points_moved() {
        let dir = tempfile::tempdir().unwrap();
        let copc = crate::pointcloud::convert::write_test_copc(dir.path(), 20_000);
        let open = || {
            let file = crate::io::FileSource::open(&copc).unwrap();
            StreamSource::open("demo", Arc::new(file)).unwrap()
        };
        let d = DVec3::new(1234.5, -600.0, 10.0);
        let (a, b) = (open(), open().translated(d).unwrap());
        assert_eq!(b.bounds().min, a.bounds().min + d);
        assert_eq!(b.bounds().max, a.bounds().max + d);
        let root = VoxelKey::ROOT;
        assert_eq!(
            b.reader.hierarchy.cube.bounds(root).center(),
            a.reader.hierarchy.cube.bounds(root).center() + d
        );
        let decode = |s: &StreamSource| {
            let (data, bytes) = s.reader.fetch_node(root).unwrap();
            s.decoder
                .decode(root, data, &bytes, Attributes::ALL)
                .unwrap()
        };
        let (pa, pb) = (decode(&a), decode(&b));
        assert!(!pa.positions.is_empty());
        assert_eq!(pb.origin, pa.origin + d);
        // Same points, each `d` away in absolute terms (relative offsets within 1 mm).
        for (p, q) in pa.positions.iter().zip(&pb.positions) {
            for k in 0..3 {
                assert!((p[k] - q[k]).abs() < 1e-3, "{p:?} vs {q:?}");
            }
        }
        assert_eq!(pa.classification, pb.classification);
    }
}
