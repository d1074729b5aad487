//! Streaming building layers: each frame, screen-space-error traversal of every tileset for the
//! camera; content requests on the shared worker pool (fetch, parse, decode, bake, build meshes
//! off the main thread); an LRU under the memory budget shared with the point clouds; parents
//! kept on screen until their children are ready.

use super::bake::{BakedContent, ModelPose, Placement, bake};
use super::clip::{BuildingMaterial, building_material};
use super::contents::{content_model, content_up_axis};
pub use super::layer::*;
use super::tiles3d::content::{TileContent, parse_content};
use super::tiles3d::tileset::TileUri;
use super::tiles3d::traverse::{self, ContentKey, RequestKind};
use crate::camera::StreamingView;
use crate::georef::world_from_crs_f32;
use crate::jobs::{Task, WorkerPool};
use crate::pointcloud::render::PointCloudMaterial;
use crate::spatial::Aabb as CrsAabb;
use crate::spatial::Failure;
use crate::spatial::LruCache;
use bevy::asset::RenderAssetUsages;
use bevy::math::DVec3;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::platform::time::Instant;
use bevy::prelude::*;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// Live numbers for the panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildingStats {
    pub contents_shown: usize,
    pub contents_resident: usize,
    pub triangles_shown: usize,
    pub bytes_resident: u64,
    pub bytes_fetched: u64,
    pub queued: usize,
    pub in_flight: usize,
    pub failed: usize,
    pub tiles_visited: usize,
    /// Main-thread time of the traversal this frame, ms.
    pub traversal_ms: f64,
}

/// The building the user clicked.
#[derive(Debug, Clone, PartialEq)]
pub struct PickedBuilding {
    pub content: ContentId,
    pub feature: Option<u32>,
    /// Where the ray hit, CRS.
    pub point: DVec3,
    /// (name, value) pairs from the content's property table.
    pub attributes: Vec<(String, String)>,
}

/// How buildings are coloured.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum BuildingColor {
    /// Materials and textures as authored.
    #[default]
    Model,
    /// By the value of one attribute: a ramp for numbers, a palette for categories.
    Attribute(String),
    /// By the service status a network layer gives each building ([`Buildings::service`]).
    Service,
}

/// Coloured points in plan that colour the buildings holding them (see
/// [`super::style::feature_colors_from_points`]); `generation` changes with the points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServicePoints {
    pub generation: u64,
    pub points: Vec<(bevy::math::DVec2, [f32; 4])>,
}

/// Every building layer and the machinery that streams them.
#[derive(Resource)]
pub struct Buildings {
    pub layers: Vec<BuildingLayer>,
    pool: WorkerPool<TileTask>,
    cache: LruCache<ContentId, ResidentContent>,
    pending_uploads: VecDeque<(ContentId, PreparedContent)>,
    shown: HashSet<ContentId>,
    /// Contents wanted this frame and not yet resident.
    missing: usize,
    pub stats: BuildingStats,
    pub messages: Vec<String>,
    pub picked: Option<PickedBuilding>,
    pub color: BuildingColor,
    /// Per-building colours from network layers, for [`BuildingColor::Service`].
    pub service: ServicePoints,
    /// Largest SSE in pixels before a tile is refined (CesiumJS's default is 16).
    pub max_sse_px: f64,
    /// The style the meshes have: (colour mode, picked content and feature).
    styled: Option<Style>,
    frame: u64,
    /// The material of pnts tiles (created with the first one).
    pub(super) point_material: Option<Handle<PointCloudMaterial>>,
}

type Style = (BuildingColor, Option<(ContentId, Option<u32>)>, u64);

/// A content on the GPU.
pub struct ResidentContent {
    pub entities: Vec<Entity>,
    pub baked: Arc<BakedContent>,
    meshes: Vec<Handle<Mesh>>,
    /// One per model material, then the default material.
    materials: Vec<Handle<BuildingMaterial>>,
    textures: Vec<Handle<Image>>,
    styled: Option<Style>,
}

impl Buildings {
    /// The materials of every resident content.
    pub(super) fn material_handles(&self) -> impl Iterator<Item = &Handle<BuildingMaterial>> {
        self.cache
            .iter_unsorted()
            .flat_map(|(_, r)| r.materials.iter())
    }

    pub fn new(layers: Vec<BuildingLayer>, memory_budget_bytes: u64) -> Self {
        Self {
            layers,
            pool: WorkerPool::new(crate::io::FETCH_WORKERS, "jumeau-tiles"),
            cache: LruCache::new(memory_budget_bytes),
            pending_uploads: VecDeque::new(),
            shown: HashSet::new(),
            missing: 0,
            stats: BuildingStats::default(),
            messages: Vec::new(),
            picked: None,
            color: BuildingColor::Model,
            service: ServicePoints::default(),
            max_sse_px: 16.0,
            styled: None,
            frame: 0,
            point_material: None,
        }
    }

    /// Bounds of every layer, CRS.
    pub fn bounds(&self) -> Option<CrsAabb> {
        self.layers
            .iter()
            .filter_map(|l| l.bounds)
            .reduce(|a, b| a.union(&b))
    }

    /// Nothing wanted is missing and nothing is on its way.
    pub fn is_settled(&self) -> bool {
        let (queued, in_flight) = self.pool.load();
        let traversed = self.frame > 0 || self.layers.is_empty();
        traversed
            && self.missing == 0
            && queued == 0
            && in_flight == 0
            && self.pending_uploads.is_empty()
    }

    /// GPU bytes held by building contents.
    pub fn used_bytes(&self) -> u64 {
        self.cache.used_bytes()
    }

    pub fn set_memory_budget(&mut self, bytes: u64) {
        self.cache.set_budget_bytes(bytes);
    }

    /// Contents on screen.
    pub fn shown(&self) -> impl Iterator<Item = (&ContentId, &ResidentContent)> {
        self.shown
            .iter()
            .filter_map(|id| self.cache.get(id).map(|r| (id, r)))
    }

    /// Names of the attributes of the resident contents (for the colour-by menu), sorted.
    pub fn attribute_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .cache
            .iter_unsorted()
            .filter_map(|(_, r)| r.baked.properties.as_ref())
            .flat_map(|t| t.columns.iter().map(|c| c.name.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The nearest building hit by a ray (CRS) where `clip` keeps it, with its attributes.
    pub fn pick(
        &self,
        origin: DVec3,
        direction: DVec3,
        clip: &crate::spatial::Clipping,
    ) -> Option<PickedBuilding> {
        let mut best: Option<(f64, ContentId, Option<u32>)> = None;
        for (id, resident) in self.shown() {
            if let Some((t, feature)) = resident.baked.ray_hit_kept(origin, direction, clip)
                && best.is_none_or(|(d, _, _)| t < d)
            {
                best = Some((t, *id, feature));
            }
        }
        let (t, content, feature) = best?;
        let attributes = feature
            .and_then(|f| {
                let resident = self.cache.get(&content)?;
                let table = resident.baked.properties.as_ref()?;
                Some(
                    table
                        .row(f as usize)
                        .into_iter()
                        .map(|(name, value)| (name.to_owned(), super::style::display_value(value)))
                        .collect(),
                )
            })
            .unwrap_or_default();
        Some(PickedBuilding {
            content,
            feature,
            point: origin + direction.normalize() * t,
            attributes,
        })
    }
}

/// What a worker fetches for the traversal.
struct TileTask {
    id: ContentId,
    kind: RequestKind,
    uri: TileUri,
    placement: Placement,
    pose: ModelPose,
}

/// A baked content with its meshes, built on the worker.
pub struct PreparedContent {
    baked: Arc<BakedContent>,
    /// (mesh, material index) per part.
    meshes: Vec<(Mesh, Option<usize>)>,
    /// The splat mesh of a pnts tile (drawn by the point-cloud renderer), and its point count.
    points: Option<(Mesh, usize)>,
}

impl PreparedContent {
    /// GPU bytes of its meshes (vertex buffers and indices) and textures.
    fn gpu_bytes(&self) -> u64 {
        let mesh_bytes = |mesh: &Mesh| {
            let vertices = mesh.count_vertices() * mesh.get_vertex_size() as usize;
            let indices = mesh.indices().map_or(0, |i| i.len() * 4);
            (vertices + indices) as u64
        };
        let textures: usize = self.baked.textures.iter().map(|t| t.rgba8.len()).sum();
        self.meshes.iter().map(|(m, _)| mesh_bytes(m)).sum::<u64>()
            + self.points.as_ref().map_or(0, |(m, _)| mesh_bytes(m))
            + textures as u64
    }
}

enum Loaded {
    Content(Box<PreparedContent>),
    /// An external tileset or a subtree, attached on the main thread.
    Json(Vec<u8>),
}

struct TileOutcome {
    id: ContentId,
    kind: RequestKind,
    uri: TileUri,
    fetched_bytes: u64,
    result: Result<Loaded, String>,
}

impl Task for TileTask {
    type Key = (ContentId, u8);
    type Output = TileOutcome;

    fn key(&self) -> Self::Key {
        (self.id, self.kind as u8)
    }

    fn run(self) -> TileOutcome {
        let fetched = fetch(&self.uri);
        let fetched_bytes = fetched.as_ref().map_or(0, |b| b.len() as u64);
        let result = fetched.and_then(|bytes| match self.kind {
            RequestKind::Content => prepare_content(&bytes, self.pose, &self.placement, &self.uri)
                .map(|c| Loaded::Content(Box::new(c))),
            RequestKind::ExternalTileset | RequestKind::Subtree => Ok(Loaded::Json(bytes)),
        });
        TileOutcome {
            id: self.id,
            kind: self.kind,
            uri: self.uri,
            fetched_bytes,
            result,
        }
    }

    fn ready(&self) -> bool {
        crate::io::open(self.uri.as_str()).is_ok_and(|source| source.ready_all())
    }
}

/// Parses, decodes and bakes one content, then builds its meshes.
fn prepare_content(
    bytes: &[u8],
    pose: ModelPose,
    placement: &Placement,
    uri: &TileUri,
) -> Result<PreparedContent, String> {
    let content = parse_content(bytes).map_err(|e| e.to_string())?;
    if let TileContent::Points {
        positions, colors, ..
    } = content
    {
        return prepare_points(&positions, colors.as_deref(), pose, placement);
    }
    let (model, pose) = content_model(content, pose, uri, 0)?;
    let baked = bake(model, pose, placement)?;
    let meshes = baked
        .parts
        .iter()
        .map(|part| (part_mesh(part), part.material))
        .collect();
    Ok(PreparedContent {
        baked: Arc::new(baked),
        meshes,
        points: None,
    })
}

/// A pnts tile as a point-cloud splat mesh: each point through the exact map into the twin,
/// then rebased on the tile's centre like an octree node.
fn prepare_points(
    positions: &[[f64; 3]],
    colors: Option<&[[u8; 4]]>,
    pose: ModelPose,
    placement: &Placement,
) -> Result<PreparedContent, String> {
    let crs = positions
        .iter()
        .map(|p| {
            placement.crs_from_frame(pose.frame_from_tile.transform_point3(DVec3::from_array(*p)))
        })
        .collect::<Result<Vec<DVec3>, String>>()?;
    let (lo, hi) = crs
        .iter()
        .fold((DVec3::INFINITY, DVec3::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(*p), hi.max(*p))
        });
    if !lo.is_finite() {
        return Err("the pnts tile has no points".into());
    }
    let origin = (lo + hi) * 0.5;
    let chunk = crate::pointcloud::PointChunk {
        key: None,
        origin,
        positions: crs
            .iter()
            .map(|p| (*p - origin).as_vec3().to_array())
            .collect(),
        intensity: None,
        classification: None,
        returns: None,
        rgb: colors.map(|c| {
            c.iter()
                .map(|c| [c[0], c[1], c[2]].map(u16::from))
                .collect()
        }),
        gps_time: None,
    };
    let world: Vec<[f32; 3]> = chunk
        .positions
        .iter()
        .map(|p| world_from_crs_f32(*p))
        .collect();
    let mesh = crate::pointcloud::render::splat_mesh(&chunk, &world);
    let baked = BakedContent {
        origin,
        radius: (hi - lo).length() * 0.5,
        ..BakedContent::default()
    };
    Ok(PreparedContent {
        baked: Arc::new(baked),
        meshes: Vec::new(),
        points: Some((mesh, positions.len())),
    })
}

/// The Bevy mesh of a baked part (render axes). Parts without normals get flat ones.
fn part_mesh(part: &super::bake::BakedPart) -> Mesh {
    let positions: Vec<[f32; 3]> = part
        .positions
        .iter()
        .map(|p| world_from_crs_f32(*p))
        .collect();
    let n = positions.len();
    let mut mesh = Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::default(),
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_indices(Indices::U32(part.indices.clone()));
    if let Some(uvs) = &part.uvs {
        mesh.insert_attribute(Mesh::ATTRIBUTE_UV_0, uvs.clone());
    }
    let colors = part.colors.clone().unwrap_or_else(|| vec![[1.0; 4]; n]);
    mesh.insert_attribute(Mesh::ATTRIBUTE_COLOR, colors);
    match &part.normals {
        Some(normals) => {
            let normals: Vec<[f32; 3]> = normals.iter().map(|v| world_from_crs_f32(*v)).collect();
            mesh.insert_attribute(Mesh::ATTRIBUTE_NORMAL, normals);
        }
        None => {
            mesh.duplicate_vertices();
            mesh.compute_flat_normals();
        }
    }
    mesh
}

/// Order of the building systems within a frame (after the camera, beside the point clouds).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum BuildingSystems {
    Select,
    Receive,
    Place,
}

pub(crate) fn plugin(app: &mut App) {
    app.configure_sets(
        PostUpdate,
        (
            BuildingSystems::Select,
            BuildingSystems::Receive,
            BuildingSystems::Place,
        )
            .chain()
            .after(crate::camera::CameraSystems::Apply)
            .before(TransformSystems::Propagate),
    )
    .add_systems(
        PostUpdate,
        (
            (share_memory_budget, select_building_tiles)
                .chain()
                .in_set(BuildingSystems::Select),
            receive_building_contents.in_set(BuildingSystems::Receive),
            (
                place_building_contents,
                style_buildings,
                clip_building_materials,
            )
                .in_set(BuildingSystems::Place),
        ),
    );
}

/// Pushes the clip volume, in the frame of the current eye, into every resident content's
/// materials (and the pnts splats') when it changed. Nothing is written while no clip is set
/// and none was.
fn clip_building_materials(
    buildings: Option<Res<Buildings>>,
    clip: Option<Res<crate::camera::ClipVolume>>,
    view: Option<Res<StreamingView>>,
    mut materials: ResMut<Assets<BuildingMaterial>>,
    mut points: ResMut<Assets<PointCloudMaterial>>,
) {
    let (Some(buildings), Some(view)) = (buildings, view) else {
        return;
    };
    let uniform = match &clip {
        Some(c) if c.0.is_active() => {
            crate::pointcloud::render::clip::ClipUniform::new(&c.0, view.eye)
        }
        _ => Default::default(),
    };
    for handle in buildings.material_handles() {
        let stale = materials
            .get(handle)
            .is_some_and(|m| m.extension.clip != uniform);
        if stale && let Some(mut material) = materials.get_mut(handle) {
            material.extension.clip = uniform;
        }
    }
    if let Some(handle) = &buildings.point_material {
        let stale = points.get(handle).is_some_and(|m| m.style.clip != uniform);
        if stale && let Some(mut material) = points.get_mut(handle) {
            material.style.clip = uniform;
        }
    }
}

/// One memory budget for points and buildings: each cache may use what the other leaves.
fn share_memory_budget(
    settings: Res<crate::pointcloud::streaming::PointCloudSettings>,
    clouds: Option<ResMut<crate::pointcloud::streaming::PointClouds>>,
    mut buildings: ResMut<Buildings>,
) {
    let total = settings.memory_budget_bytes;
    let Some(mut clouds) = clouds else {
        buildings.set_memory_budget(total);
        return;
    };
    let (points, tiles) = (clouds.used_bytes(), buildings.used_bytes());
    clouds.set_memory_budget(total.saturating_sub(tiles));
    buildings.set_memory_budget(total.saturating_sub(points));
}

/// Traverses every visible tileset for the camera: what to draw, what to fetch.
fn select_building_tiles(mut buildings: ResMut<Buildings>, view: Option<Res<StreamingView>>) {
    let Some(view) = view else { return };
    let started = Instant::now();
    let buildings = &mut *buildings;
    let frame = buildings.stats_frame();
    let now = Instant::now();
    let mut tasks = Vec::new();
    let mut shown = HashSet::new();
    let mut missing = 0;
    let mut visited = 0;
    let waiting: HashSet<ContentId> = buildings
        .pending_uploads
        .iter()
        .map(|(id, _)| *id)
        .collect();
    for (index, layer) in buildings.layers.iter().enumerate() {
        if !layer.visible {
            continue;
        }
        let frame_view = layer.frame_view(&view.view);
        let cache = &buildings.cache;
        let ready = |key: ContentKey| cache.contains(&ContentId::new(index, key));
        let selection = traverse::select(&layer.tileset, &frame_view, buildings.max_sse_px, &ready);
        visited += selection.visited;
        for key in selection.render {
            shown.insert(ContentId::new(index, key));
        }
        for request in selection.requests {
            let id = ContentId::new(index, request.key);
            if request.kind == RequestKind::Content {
                missing += 1;
            }
            if layer.failures.get(&id).is_some_and(|f| f.retry_at > now) || waiting.contains(&id) {
                continue;
            }
            let Some(tile) = layer.tileset.tile(request.key.tile) else {
                continue;
            };
            let up = content_up_axis(&layer.tileset, tile, request.key.content);
            tasks.push(TileTask {
                id,
                kind: request.kind,
                uri: request.uri,
                placement: layer.placement.clone(),
                pose: ModelPose {
                    frame_from_tile: tile.world_from_tile,
                    tile_from_gltf: up,
                },
            });
        }
    }
    for id in &shown {
        buildings.cache.touch(id, frame);
    }
    buildings.pool.replace_queue(tasks);
    buildings.stats.contents_shown = shown.len();
    buildings.stats.triangles_shown = shown
        .iter()
        .filter_map(|id| buildings.cache.get(id))
        .map(|r| r.baked.triangle_count())
        .sum();
    buildings.shown = shown;
    buildings.missing = missing;
    let (queued, in_flight) = buildings.pool.load();
    buildings.stats.queued = queued;
    buildings.stats.in_flight = in_flight;
    buildings.stats.tiles_visited = visited;
    buildings.stats.traversal_ms = started.elapsed().as_secs_f64() * 1e3;
}

impl Buildings {
    /// A frame counter for the LRU (one step per traversal).
    fn stats_frame(&mut self) -> u64 {
        self.frame = self.frame.wrapping_add(1);
        self.frame
    }
}

/// Most contents turned into entities per frame, so a burst of arrivals never stalls a frame.
const UPLOADS_PER_FRAME: usize = 4;

/// Takes finished work: contents become entities (hidden until placed), external tilesets and
/// subtrees are grafted, failures are reported and retried later.
fn receive_building_contents(
    mut commands: Commands,
    mut buildings: ResMut<Buildings>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<BuildingMaterial>>,
    mut images: ResMut<Assets<Image>>,
    mut point_materials: ResMut<Assets<PointCloudMaterial>>,
) {
    let buildings = &mut *buildings;
    let point_material = buildings
        .point_material
        .get_or_insert_with(|| {
            // pnts tiles: RGB splats of a fixed size (their nodes have no octree level).
            let mut material = PointCloudMaterial::default();
            material.style.adaptive = 0;
            material.style.edl = 0;
            material.style.point_size_px = 3.0;
            point_materials.add(material)
        })
        .clone();
    buildings.pool.run_inline_if_single_threaded();
    for outcome in buildings.pool.try_results() {
        buildings.stats.bytes_fetched += outcome.fetched_bytes;
        let Some(layer) = buildings.layers.get_mut(usize::from(outcome.id.layer)) else {
            continue;
        };
        let grafted = match outcome.result {
            Ok(Loaded::Content(prepared)) => {
                layer.failures.remove(&outcome.id);
                buildings.pending_uploads.push_back((outcome.id, *prepared));
                Ok(())
            }
            Ok(Loaded::Json(bytes)) => {
                let tile = outcome.id.key().tile;
                let attached = match outcome.kind {
                    RequestKind::Subtree => layer.tileset.attach_subtree(tile, &bytes),
                    _ => layer.tileset.attach_external(tile, &bytes, &outcome.uri),
                };
                attached.map_err(|e| e.to_string())
            }
            Err(error) => Err(error),
        };
        if let Err(error) = grafted {
            Failure::record(&mut layer.failures, outcome.id, error.clone());
            let message = format!("{}: {}: {error}", layer.name, outcome.uri.as_str());
            log::warn!("{message}");
            buildings.messages.push(message);
            if buildings.messages.len() > 50 {
                buildings.messages.remove(0);
            }
        }
    }
    let frame = buildings.frame;
    for _ in 0..UPLOADS_PER_FRAME {
        let Some((id, prepared)) = buildings.pending_uploads.pop_front() else {
            break;
        };
        let bytes = prepared.gpu_bytes();
        let resident = spawn_content(
            &mut commands,
            &mut meshes,
            &mut materials,
            &mut images,
            &point_material,
            id,
            prepared,
        );
        if let Some(old) = buildings.cache.insert(id, resident, bytes, frame) {
            despawn(&mut commands, old);
        }
    }
    for (_, evicted) in buildings.cache.evict(frame) {
        despawn(&mut commands, evicted);
    }
    buildings.stats.failed = buildings.layers.iter().map(|l| l.failures.len()).sum();
    buildings.stats.contents_resident = buildings.cache.len();
    buildings.stats.bytes_resident = buildings.cache.used_bytes();
}

fn despawn(commands: &mut Commands, resident: ResidentContent) {
    for entity in resident.entities {
        commands.entity(entity).despawn();
    }
}

/// A part of a building content on screen.
#[derive(Component, Debug, Clone, Copy)]
pub struct BuildingPart {
    pub id: ContentId,
    pub origin: DVec3,
    /// Index into the content's parts.
    pub part: usize,
}

fn spawn_content(
    commands: &mut Commands,
    meshes: &mut Assets<Mesh>,
    materials: &mut Assets<BuildingMaterial>,
    images: &mut Assets<Image>,
    point_material: &Handle<PointCloudMaterial>,
    id: ContentId,
    prepared: PreparedContent,
) -> ResidentContent {
    let baked = prepared.baked;
    let mut point_entities = Vec::new();
    let mut point_meshes = Vec::new();
    if let Some((mesh, _)) = prepared.points {
        let mesh = meshes.add(mesh);
        point_entities.push(
            commands
                .spawn((
                    Mesh3d(mesh.clone()),
                    MeshMaterial3d(point_material.clone()),
                    bevy::mesh::MeshTag(0),
                    Transform::default(),
                    Visibility::Hidden,
                    BuildingPart {
                        id,
                        origin: baked.origin,
                        part: 0,
                    },
                ))
                .id(),
        );
        point_meshes.push(mesh);
    }
    let textures: Vec<Handle<Image>> = baked
        .textures
        .iter()
        .map(|t| {
            images.add(Image::new(
                bevy::render::render_resource::Extent3d {
                    width: t.width,
                    height: t.height,
                    depth_or_array_layers: 1,
                },
                bevy::render::render_resource::TextureDimension::D2,
                t.rgba8.clone(),
                bevy::render::render_resource::TextureFormat::Rgba8UnormSrgb,
                RenderAssetUsages::RENDER_WORLD,
            ))
        })
        .collect();
    // The clip is set by `clip::clip_building_materials` before the first frame shows them.
    let clip = Default::default();
    let material_handles: Vec<Handle<BuildingMaterial>> = baked
        .materials
        .iter()
        .map(|m| materials.add(building_material(standard_material(m, &textures), clip)))
        .collect();
    let default_material = materials.add(building_material(
        standard_material(&Default::default(), &textures),
        clip,
    ));
    let mut entities = Vec::new();
    let mut mesh_handles = Vec::new();
    let mut used_materials = material_handles.clone();
    used_materials.push(default_material.clone());
    for (part, (mesh, material)) in prepared.meshes.into_iter().enumerate() {
        let mesh = meshes.add(mesh);
        let material = material
            .and_then(|m| material_handles.get(m).cloned())
            .unwrap_or_else(|| default_material.clone());
        let entity = commands
            .spawn((
                Mesh3d(mesh.clone()),
                MeshMaterial3d(material),
                Transform::default(),
                Visibility::Hidden,
                BuildingPart {
                    id,
                    origin: baked.origin,
                    part,
                },
            ))
            .id();
        entities.push(entity);
        mesh_handles.push(mesh);
    }
    entities.extend(point_entities);
    mesh_handles.extend(point_meshes);
    ResidentContent {
        entities,
        baked,
        meshes: mesh_handles,
        materials: used_materials,
        textures,
        styled: None,
    }
}

fn standard_material(m: &super::model::Material, textures: &[Handle<Image>]) -> StandardMaterial {
    let [r, g, b, a] = m.base_color;
    StandardMaterial {
        base_color: Color::linear_rgba(r, g, b, a),
        base_color_texture: m.base_color_texture.and_then(|t| textures.get(t).cloned()),
        metallic: m.metallic,
        perceptual_roughness: m.roughness,
        double_sided: m.double_sided,
        cull_mode: if m.double_sided {
            None
        } else {
            Some(bevy::render::render_resource::Face::Back)
        },
        unlit: m.unlit,
        alpha_mode: match m.alpha_mode {
            super::model::AlphaMode::Opaque => AlphaMode::Opaque,
            super::model::AlphaMode::Mask(cutoff) => AlphaMode::Mask(cutoff),
            super::model::AlphaMode::Blend => AlphaMode::Blend,
        },
        ..default()
    }
}

/// Shows the selected contents of visible layers, placed relative to the camera.
fn place_building_contents(
    buildings: Res<Buildings>,
    view: Option<Res<StreamingView>>,
    mut parts: Query<(&BuildingPart, &mut Transform, &mut Visibility)>,
) {
    let Some(view) = view else { return };
    for (part, mut transform, mut visibility) in &mut parts {
        let layer_visible = buildings
            .layers
            .get(usize::from(part.id.layer))
            .is_some_and(|l| l.visible);
        let show = layer_visible && buildings.shown.contains(&part.id);
        visibility.set_if_neq(if show {
            Visibility::Visible
        } else {
            Visibility::Hidden
        });
        if show {
            let translation =
                Vec3::from_array(crate::georef::world_from_crs(part.origin - view.eye));
            if transform.translation != translation {
                transform.translation = translation;
            }
        }
    }
}

/// Vertex colours from the colour mode and the picked building: attribute ramps (on white,
/// untextured materials), and the highlight of the picked feature.
fn style_buildings(
    mut buildings: ResMut<Buildings>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<BuildingMaterial>>,
) {
    let picked = buildings.picked.as_ref().map(|p| (p.content, p.feature));
    let wanted: Style = (
        buildings.color.clone(),
        picked,
        buildings.service.generation,
    );
    let all_styled = buildings
        .cache
        .iter_unsorted()
        .all(|(_, r)| r.styled.as_ref() == Some(&wanted));
    if buildings.styled.as_ref() == Some(&wanted) && all_styled {
        return;
    }
    let scale = match &buildings.color {
        BuildingColor::Attribute(name) => Some(super::style::AttributeScale::of(
            name,
            buildings
                .cache
                .iter_unsorted()
                .filter_map(|(_, r)| r.baked.properties.as_ref()),
        )),
        BuildingColor::Model | BuildingColor::Service => None,
    };
    let by_service = buildings.color == BuildingColor::Service;
    let plain = scale.is_some() || by_service;
    let service = std::mem::take(&mut buildings.service);
    let restyle_all = buildings.styled.as_ref() != Some(&wanted);
    for (id, resident) in buildings.cache.iter_mut_unsorted() {
        if !restyle_all && resident.styled.as_ref() == Some(&wanted) {
            continue;
        }
        let given = by_service
            .then(|| super::style::feature_colors_from_points(&resident.baked, &service.points));
        for (part, handle) in resident.baked.parts.iter().zip(&resident.meshes) {
            let Some(mut mesh) = meshes.get_mut(handle) else {
                continue;
            };
            let colors = super::style::vertex_colors(
                part,
                resident.baked.properties.as_ref(),
                scale.as_ref(),
                given.as_ref(),
                picked.filter(|(c, _)| c == id).and_then(|(_, f)| f),
            );
            mesh.insert_attribute(Mesh::ATTRIBUTE_COLOR, colors);
        }
        let defaults = std::iter::once(super::model::Material::default());
        for (handle, authored) in resident
            .materials
            .iter()
            .zip(resident.baked.materials.iter().cloned().chain(defaults))
        {
            if let Some(mut material) = materials.get_mut(handle) {
                material.base = if plain {
                    standard_material(&super::model::Material::default(), &[])
                } else {
                    standard_material(&authored, &resident.textures)
                };
            }
        }
        resident.styled = Some(wanted.clone());
    }
    buildings.service = service;
    buildings.styled = Some(wanted);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildings::bake::z_up_from_y_up;
    use crate::buildings::model::{Model, Primitive};
    use crate::buildings::tiles3d::content::InstanceModel;
    use crate::buildings::tiles3d::content::{
        BinaryValues, FeatureTableWriter, write_cmpt, write_i3dm,
    };
    use bevy::math::DMat4;

    /// A 2 m Y-up box as a GLB.
    fn box_glb() -> Vec<u8> {
        let corners: Vec<[f32; 3]> = (0..8)
            .map(|i| {
                [
                    (i & 1) as f32 * 2.0,
                    ((i >> 1) & 1) as f32 * 2.0,
                    ((i >> 2) & 1) as f32 * 2.0,
                ]
            })
            .collect();
        // Two side faces and the roof (glTF y = 2).
        let indices = vec![0, 1, 3, 0, 3, 2, 4, 6, 7, 4, 7, 5, 2, 6, 7, 2, 7, 3];
        let model = Model {
            primitives: vec![Primitive {
                positions: corners,
                indices,
                ..Default::default()
            }],
            ..Default::default()
        };
        crate::buildings::gltf::write::write_glb(&model).unwrap()
    }

    #[test]
    fn i3dm_instances_are_drawn_where_the_feature_table_says() {
        let mut table = FeatureTableWriter::new();
        table
            .global("INSTANCES_LENGTH", serde_json::json!(3))
            .binary(
                "POSITION",
                BinaryValues::F32(&[0.0, 0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 50.0, 0.0]),
            )
            .binary("BATCH_ID", BinaryValues::U16(&[2, 0, 1]));
        let tile = write_i3dm(&table, None, &InstanceModel::Embedded(box_glb()));
        let pose = ModelPose {
            frame_from_tile: DMat4::IDENTITY,
            tile_from_gltf: z_up_from_y_up(),
        };
        let uri = TileUri::local(std::env::temp_dir());
        let prepared =
            prepare_content(&tile, pose, &Placement::Local(DMat4::IDENTITY), &uri).unwrap();
        let baked = &prepared.baked;
        assert_eq!(baked.parts.len(), 3);
        // Boxes at x 0..2 and 100..102, y −2..0 and 48..50 (glTF z became −y), z 0..2.
        let lo = baked.origin - DVec3::splat(baked.radius);
        assert!(
            baked.radius > 57.0 && baked.radius < 57.5,
            "{}",
            baked.radius
        );
        assert!(lo.x < 1.0);
        let features: Vec<u32> = baked
            .parts
            .iter()
            .map(|p| p.feature_ids.as_ref().unwrap()[0])
            .collect();
        assert_eq!(features, vec![2, 0, 1]);
        // The instance at y = 50 is hit by a ray straight down there.
        let (t, feature) = baked
            .ray_hit(DVec3::new(1.0, 49.0, 10.0), DVec3::NEG_Z)
            .expect("the third box");
        assert!((t - 8.0).abs() < 1e-6, "{t}");
        assert_eq!(feature, Some(1));
        // Inside a composite, a b3dm's RTC centre is a tile-frame offset, as on its own.
        let rtc = [1000.0, 2000.0, 3000.0];
        let b3dm = crate::buildings::tiles3d::content::write_b3dm(&box_glb(), None, Some(rtc));
        let alone = prepare_content(&b3dm, pose, &Placement::Local(DMat4::IDENTITY), &uri).unwrap();
        let nested = prepare_content(
            &write_cmpt(&[&b3dm]),
            pose,
            &Placement::Local(DMat4::IDENTITY),
            &uri,
        )
        .unwrap();
        assert!((alone.baked.origin - DVec3::new(1001.0, 1999.0, 3001.0)).length() < 1e-9);
        assert!((nested.baked.origin - alone.baked.origin).length() < 1e-9);
        // A composite of the same tile twice draws both.
        let composite = write_cmpt(&[&tile, &tile]);
        let prepared =
            prepare_content(&composite, pose, &Placement::Local(DMat4::IDENTITY), &uri).unwrap();
        assert_eq!(prepared.baked.parts.len(), 6);
    }
}
