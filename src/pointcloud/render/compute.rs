//! The compute-shader point rasterizer: billions of points where compute shaders exist.
//!
//! # How it works
//! - **Data.** A node decoded for this path is a [`PackedNode`]: batches of at most
//!   [`BATCH_POINTS`] spatially coherent points, 12 bytes each (see `packed.rs`). The streaming
//!   systems spawn it as an entity with [`ComputePoints`]; the render world takes the batches
//!   (the main world keeps no copy), puts each into a free slot of a page (`slots.rs`: one
//!   storage buffer set per page of 1024 batches) and gives the node an entry in the node
//!   table, which each frame receives the node's camera-relative offset and whether it is
//!   shown. Evicted nodes give their slots back.
//! - **Projection** (`shaders/pointcloud/raster.wgsl`), per 3D view, after the opaque meshes:
//!   one dispatch per page, one workgroup per batch. A workgroup skips its batch when the
//!   batch's box is outside the frustum or its node is hidden; each thread projects points,
//!   styles them (RGB, intensity, elevation, classification, hidden classes) and keeps the
//!   nearest per pixel with an atomic max on (inverted view depth | sRGB colour): one 64-bit
//!   atomic where the GPU has `SHADER_INT64_ATOMIC_MIN_MAX`, else a depth pass then a colour
//!   pass with 32-bit atomics (WebGPU). Points cover a disc of the splat path's size (adaptive
//!   from the node's spacing), so close-ups stay solid and pictures match the splat path.
//! - **Resolve** (`shaders/pointcloud/resolve.wgsl`): a full-screen triangle in the main pass's
//!   colour and depth targets, depth-tested against the meshes and writing its own depth, so
//!   points and buildings occlude each other; alpha carries the log-depth for eye-dome
//!   lighting as the splat shader does. Transparent meshes and EDL come after, unchanged.

use super::packed::{BATCH_POINTS, PackedNode};
use super::slots::{IndexAllocator, SLOTS_PER_PAGE, Slot, SlotAllocator};
use super::view::{PointViews, RasterFrame};
use super::{PointStyleUniform, register_shader};
use bevy::asset::uuid_handle;
use bevy::core_pipeline::Core3dSystems;
use bevy::core_pipeline::core_3d::{
    CORE_3D_DEPTH_FORMAT, main_opaque_pass_3d, main_transparent_pass_3d,
};
use bevy::core_pipeline::schedule::Core3d;
use bevy::math::{Mat4, UVec2};
use bevy::prelude::*;
use bevy::render::extract_resource::{ExtractResource, ExtractResourcePlugin};
use bevy::render::render_resource::binding_types::{
    storage_buffer_read_only_sized, storage_buffer_sized, uniform_buffer,
};
use bevy::render::render_resource::{
    BindGroup, BindGroupEntries, BindGroupLayoutDescriptor, BindGroupLayoutEntries, Buffer,
    BufferDescriptor, BufferUsages, CachedComputePipelineId, CachedRenderPipelineId,
    ColorTargetState, ColorWrites, CompareFunction, ComputePassDescriptor,
    ComputePipelineDescriptor, DepthStencilState, DownlevelFlags, FragmentState, MultisampleState,
    PipelineCache, PrimitiveState, RenderPassDescriptor, RenderPipelineDescriptor, ShaderStages,
    ShaderType, StoreOp, TextureFormat, UniformBuffer, VertexState, WgpuFeatures,
};
use bevy::render::renderer::{
    RenderAdapter, RenderAdapterInfo, RenderContext, RenderDevice, RenderQueue, ViewQuery,
};
use bevy::render::view::{ViewDepthTexture, ViewTarget};
use bevy::render::{Extract, ExtractSchedule, Render, RenderApp, RenderSystems};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The projection passes, embedded.
pub const RASTER_SHADER: Handle<Shader> = uuid_handle!("b8e1d0c2-6f3a-4d59-9e07-2a4c8f1b3d61");
/// The resolve pass, embedded.
pub const RESOLVE_SHADER: Handle<Shader> = uuid_handle!("c4a7f2e9-0b18-4e6d-a3c5-7d9e2f4b6a18");

/// Workgroup size of the projection (threads per batch).
const GROUP: u32 = 256;

/// What the GPU offers the compute rasterizer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Support {
    /// Compute shaders with enough storage buffers (not WebGL2).
    pub compute: bool,
    /// `SHADER_INT64_ATOMIC_MIN_MAX`: one projection pass instead of two.
    pub atomics_64: bool,
    /// Points to keep resident by default.
    pub point_budget: u64,
}

impl Support {
    /// No GPU at all.
    pub fn none() -> Self {
        Self {
            compute: false,
            atomics_64: false,
            point_budget: 3_000_000,
        }
    }

    pub fn of(
        device: &RenderDevice,
        adapter: &RenderAdapter,
        info: Option<&RenderAdapterInfo>,
    ) -> Self {
        let limits = device.limits();
        let compute = adapter
            .get_downlevel_capabilities()
            .flags
            .contains(DownlevelFlags::COMPUTE_SHADERS)
            && limits.max_storage_buffers_per_shader_stage >= 5
            && limits.max_compute_invocations_per_workgroup >= GROUP
            && limits.max_compute_workgroup_size_x >= GROUP
            && limits.max_storage_buffer_binding_size >= page_hot_bytes();
        let atomics_64 = has_int64_atomics(device);
        let kind = info
            .map(|i| format!("{:?}", i.device_type))
            .unwrap_or_default();
        let gpu_memory = info.and_then(|i| gpu_memory_bytes(i.vendor));
        Self {
            compute,
            atomics_64,
            point_budget: default_point_budget(&kind, gpu_memory, host_memory_bytes()),
        }
    }
}

/// Whether the device runs the one-pass scheme (u64 `atomicMax` in storage buffers).
fn has_int64_atomics(device: &RenderDevice) -> bool {
    device
        .features()
        .contains(WgpuFeatures::SHADER_INT64 | WgpuFeatures::SHADER_INT64_ATOMIC_MIN_MAX)
}

/// Most points the budget goes to by default.
pub const MAX_DEFAULT_BUDGET: u64 = 2_000_000_000;

/// The default budget: 60 % of the GPU's memory at 12 bytes a point where its size is known,
/// else by kind of GPU; within half the host's memory at 16 bytes a point (each resident point
/// keeps its position on the host for picking, and decoding needs room).
pub fn default_point_budget(
    device_type: &str,
    gpu_memory: Option<u64>,
    host_memory: Option<u64>,
) -> u64 {
    let by_kind: u64 = match device_type {
        // 6 GB of point words: fits any discrete GPU of 8 GB.
        "DiscreteGpu" => 500_000_000,
        "IntegratedGpu" => 50_000_000,
        // lavapipe / SwiftShader: the CPU draws.
        "Cpu" => 20_000_000,
        _ => 30_000_000,
    };
    let gpu = gpu_memory.map_or(by_kind, |bytes| {
        bytes / 10 * 6 / super::packed::BYTES_PER_POINT
    });
    let host = host_memory.map_or(u64::MAX, |bytes| bytes / 2 / 16);
    gpu.min(host).clamp(1_000_000, MAX_DEFAULT_BUDGET)
}

/// The dedicated memory of the largest GPU of `vendor`, where the driver tells (wgpu does
/// not): `nvidia-smi` for NVIDIA, sysfs for AMD, on Linux.
#[cfg(all(target_os = "linux", not(target_arch = "wasm32")))]
fn gpu_memory_bytes(vendor: u32) -> Option<u64> {
    match vendor {
        0x10de => {
            let out = std::process::Command::new("nvidia-smi")
                .args(["--query-gpu=memory.total", "--format=csv,noheader,nounits"])
                .output()
                .ok()?;
            parse_largest(&String::from_utf8_lossy(&out.stdout), 1 << 20)
        }
        0x1002 => {
            let mut text = String::new();
            for entry in std::fs::read_dir("/sys/class/drm").ok()?.flatten() {
                let file = entry.path().join("device/mem_info_vram_total");
                if let Ok(t) = std::fs::read_to_string(file) {
                    text.push_str(&t);
                    text.push('\n');
                }
            }
            parse_largest(&text, 1)
        }
        _ => None,
    }
}

#[cfg(not(all(target_os = "linux", not(target_arch = "wasm32"))))]
fn gpu_memory_bytes(_vendor: u32) -> Option<u64> {
    None
}

/// The largest number on any line, times `unit`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_largest(text: &str, unit: u64) -> Option<u64> {
    text.lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .max()
        .map(|v| v * unit)
}

#[cfg(all(unix, not(target_arch = "wasm32")))]
fn host_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(not(all(unix, not(target_arch = "wasm32"))))]
fn host_memory_bytes() -> Option<u64> {
    None
}

fn page_hot_bytes() -> u64 {
    u64::from(SLOTS_PER_PAGE) * BATCH_POINTS as u64 * 8
}

/// A node drawn by the compute rasterizer. The render world takes the batches on upload.
#[derive(Component, Clone)]
pub struct ComputePoints {
    packed: Arc<Mutex<Option<PackedNode>>>,
    /// The node's point spacing, metres (adaptive point size).
    pub spacing_m: f32,
}

impl ComputePoints {
    pub fn new(packed: PackedNode, spacing_m: f32) -> Self {
        Self {
            packed: Arc::new(Mutex::new(Some(packed))),
            spacing_m,
        }
    }

    fn take(&self) -> Option<PackedNode> {
        self.packed.lock().ok()?.take()
    }
}

/// The style the rasterizer applies (the layers' common style; see `update_layer_styles`).
#[derive(Resource, Clone, ExtractResource, Default)]
pub struct RasterStyle {
    pub style: PointStyleUniform,
    /// Use 64-bit atomics where the GPU has them.
    pub atomics_64: bool,
}

pub(crate) fn plugin(app: &mut App) {
    register_shader(
        app,
        &RASTER_SHADER,
        include_str!("../../../shaders/pointcloud/raster.wgsl"),
        "shaders/pointcloud/raster.wgsl",
    );
    register_shader(
        app,
        &RESOLVE_SHADER,
        include_str!("../../../shaders/pointcloud/resolve.wgsl"),
        "shaders/pointcloud/resolve.wgsl",
    );
    app.init_resource::<RasterStyle>()
        .add_plugins(ExtractResourcePlugin::<RasterStyle>::default());
    let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
        return;
    };
    render_app
        .init_resource::<RasterStore>()
        .init_resource::<RasterViews>()
        .init_resource::<PointViews>()
        .add_systems(ExtractSchedule, extract_compute_points)
        .add_systems(
            Render,
            (
                prepare_raster_store.in_set(RenderSystems::PrepareResources),
                super::view::prepare_point_views.in_set(RenderSystems::PrepareResources),
                prepare_raster_views.in_set(RenderSystems::PrepareBindGroups),
            ),
        )
        .add_systems(
            Core3d,
            rasterize_points
                .after(main_opaque_pass_3d)
                .before(main_transparent_pass_3d)
                .in_set(Core3dSystems::MainPass),
        );
}

/// One page of batch slots on the GPU.
struct Page {
    batches: Buffer,
    hot: Buffer,
    cold: Buffer,
    bind_group: BindGroup,
}

/// A resident node on the GPU.
struct GpuNode {
    slots: Vec<Slot>,
    index: u32,
    offset: Vec3,
    spacing_m: f32,
    visible: bool,
    seen: u64,
}

/// A node extracted this frame that is not on the GPU yet.
struct NewNode {
    entity: Entity,
    packed: PackedNode,
    offset: Vec3,
    spacing_m: f32,
    visible: bool,
}

/// The pipelines, created once the first node arrives.
struct Pipelines {
    view_layout: BindGroupLayoutDescriptor,
    page_layout: BindGroupLayoutDescriptor,
    resolve_layout: BindGroupLayoutDescriptor,
    project: CachedComputePipelineId,
    /// The 32-bit scheme's colour pass.
    shade: Option<CachedComputePipelineId>,
    resolve: HashMap<TextureFormat, CachedRenderPipelineId>,
}

/// Everything the rasterizer keeps on the GPU.
#[derive(Resource, Default)]
pub struct RasterStore {
    nodes: HashMap<Entity, GpuNode>,
    new_nodes: Vec<NewNode>,
    slots: SlotAllocator,
    indices: IndexAllocator,
    pages: Vec<Page>,
    node_table: Option<(Buffer, u64)>,
    style: Option<UniformBuffer<PointStyleUniform>>,
    pipelines: Option<Pipelines>,
    frame: u64,
}

fn extract_compute_points(
    mut store: ResMut<RasterStore>,
    nodes: Extract<Query<(Entity, &ComputePoints, &Transform, &Visibility)>>,
) {
    store.frame += 1;
    let frame = store.frame;
    for (entity, points, transform, visibility) in &nodes {
        let visible = *visibility != Visibility::Hidden;
        if let Some(node) = store.nodes.get_mut(&entity) {
            node.offset = transform.translation;
            node.visible = visible;
            node.seen = frame;
        } else if let Some(packed) = points.take() {
            store.new_nodes.push(NewNode {
                entity,
                packed,
                offset: transform.translation,
                spacing_m: points.spacing_m,
                visible,
            });
        }
    }
}

fn storage_buffer(device: &RenderDevice, label: &'static str, size: u64) -> Buffer {
    device.create_buffer(&BufferDescriptor {
        label: Some(label),
        size,
        usage: BufferUsages::STORAGE | BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

fn create_pipelines(cache: &PipelineCache, atomics_64: bool) -> Pipelines {
    let view_layout = BindGroupLayoutDescriptor::new(
        "jumeau_raster_view",
        &BindGroupLayoutEntries::sequential(
            ShaderStages::COMPUTE,
            (
                uniform_buffer::<RasterFrame>(false),
                uniform_buffer::<PointStyleUniform>(false),
                storage_buffer_read_only_sized(false, None),
                storage_buffer_sized(false, None),
            ),
        ),
    );
    let page_layout = BindGroupLayoutDescriptor::new(
        "jumeau_raster_page",
        &BindGroupLayoutEntries::sequential(
            ShaderStages::COMPUTE,
            (
                storage_buffer_read_only_sized(false, None),
                storage_buffer_read_only_sized(false, None),
                storage_buffer_read_only_sized(false, None),
            ),
        ),
    );
    let resolve_layout = BindGroupLayoutDescriptor::new(
        "jumeau_raster_resolve",
        &BindGroupLayoutEntries::sequential(
            ShaderStages::FRAGMENT,
            (
                uniform_buffer::<ResolveUniform>(false),
                storage_buffer_read_only_sized(false, None),
            ),
        ),
    );
    let defs = if atomics_64 {
        vec!["INT64".into()]
    } else {
        vec![]
    };
    let compute = |entry: &'static str| {
        cache.queue_compute_pipeline(ComputePipelineDescriptor {
            label: Some(format!("jumeau_raster_{entry}").into()),
            layout: vec![view_layout.clone(), page_layout.clone()],
            shader: RASTER_SHADER,
            shader_defs: defs.clone(),
            entry_point: Some(entry.into()),
            ..default()
        })
    };
    Pipelines {
        project: compute("project"),
        shade: (!atomics_64).then(|| compute("shade")),
        view_layout,
        page_layout,
        resolve_layout,
        resolve: HashMap::new(),
    }
}

fn resolve_pipeline(
    cache: &PipelineCache,
    layout: &BindGroupLayoutDescriptor,
    format: TextureFormat,
) -> CachedRenderPipelineId {
    cache.queue_render_pipeline(RenderPipelineDescriptor {
        label: Some("jumeau_raster_resolve".into()),
        layout: vec![layout.clone()],
        vertex: VertexState {
            shader: RESOLVE_SHADER,
            entry_point: Some("vertex".into()),
            ..default()
        },
        fragment: Some(FragmentState {
            shader: RESOLVE_SHADER,
            entry_point: Some("fragment".into()),
            targets: vec![Some(ColorTargetState {
                format,
                blend: None,
                write_mask: ColorWrites::ALL,
            })],
            ..default()
        }),
        primitive: PrimitiveState::default(),
        // Reverse-Z, as Bevy's main pass: nearer is greater.
        depth_stencil: Some(DepthStencilState {
            format: CORE_3D_DEPTH_FORMAT,
            depth_write_enabled: Some(true),
            depth_compare: Some(CompareFunction::GreaterEqual),
            stencil: default(),
            bias: default(),
        }),
        multisample: MultisampleState::default(),
        ..default()
    })
}

/// Frees evicted nodes, uploads new ones, writes the node table and the style.
fn prepare_raster_store(
    mut store: ResMut<RasterStore>,
    style: Option<Res<RasterStyle>>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    cache: Res<PipelineCache>,
) {
    let store = &mut *store;
    let frame = store.frame;
    // Nodes gone from the main world: their slots and table entry become free.
    let gone: Vec<Entity> = store
        .nodes
        .iter()
        .filter(|(_, n)| n.seen != frame)
        .map(|(e, _)| *e)
        .collect();
    for entity in gone {
        if let Some(node) = store.nodes.remove(&entity) {
            for slot in &node.slots {
                if let Some(page) = store.pages.get(slot.page as usize) {
                    queue.write_buffer(&page.batches, u64::from(slot.slot) * 32, &[0u8; 32]);
                }
            }
            store.slots.release(&node.slots);
            store.indices.release(node.index);
        }
    }
    let new_nodes = std::mem::take(&mut store.new_nodes);
    if store.nodes.is_empty() && new_nodes.is_empty() {
        return;
    }
    let atomics_64 = style.as_ref().is_some_and(|s| s.atomics_64) && has_int64_atomics(&device);
    if store.pipelines.is_none() {
        store.pipelines = Some(create_pipelines(&cache, atomics_64));
    }
    let Some(pipelines) = &store.pipelines else {
        return;
    };
    for new in new_nodes {
        let slots = store.slots.allocate(new.packed.batches.len());
        while store.pages.len() < store.slots.pages() {
            let batches = storage_buffer(
                &device,
                "jumeau_raster_batches",
                u64::from(SLOTS_PER_PAGE) * 32,
            );
            let hot = storage_buffer(&device, "jumeau_raster_hot", page_hot_bytes());
            let cold = storage_buffer(&device, "jumeau_raster_cold", page_hot_bytes() / 2);
            let bind_group = device.create_bind_group(
                "jumeau_raster_page",
                &cache.get_bind_group_layout(&pipelines.page_layout),
                &BindGroupEntries::sequential((
                    batches.as_entire_binding(),
                    hot.as_entire_binding(),
                    cold.as_entire_binding(),
                )),
            );
            store.pages.push(Page {
                batches,
                hot,
                cold,
                bind_group,
            });
        }
        let index = store.indices.allocate();
        for (b, (batch, slot)) in new.packed.batches.iter().zip(&slots).enumerate() {
            let page = &store.pages[slot.page as usize];
            let mut words = batch.words();
            words[3] = index;
            let slot_index = u64::from(slot.slot);
            let points = b * BATCH_POINTS..(b + 1) * BATCH_POINTS;
            queue.write_buffer(
                &page.hot,
                slot_index * BATCH_POINTS as u64 * 8,
                bytemuck::cast_slice(&new.packed.hot[2 * points.start..2 * points.end]),
            );
            queue.write_buffer(
                &page.cold,
                slot_index * BATCH_POINTS as u64 * 4,
                bytemuck::cast_slice(&new.packed.cold[points]),
            );
            queue.write_buffer(&page.batches, slot_index * 32, bytemuck::cast_slice(&words));
        }
        store.nodes.insert(
            new.entity,
            GpuNode {
                slots,
                index,
                offset: new.offset,
                spacing_m: new.spacing_m,
                visible: new.visible,
                seen: frame,
            },
        );
    }
    // The node table: every entry each frame (offsets follow the camera).
    let entries = store.indices.len() as usize;
    let mut table = vec![0u32; entries.max(1) * 8];
    for node in store.nodes.values() {
        let at = node.index as usize * 8;
        table[at] = node.offset.x.to_bits();
        table[at + 1] = node.offset.y.to_bits();
        table[at + 2] = node.offset.z.to_bits();
        table[at + 3] = node.spacing_m.to_bits();
        table[at + 4] = u32::from(node.visible);
    }
    let bytes = (table.len() * 4) as u64;
    if store
        .node_table
        .as_ref()
        .is_none_or(|(_, size)| *size < bytes)
    {
        let size = bytes.next_power_of_two().max(1024);
        store.node_table = Some((storage_buffer(&device, "jumeau_raster_nodes", size), size));
    }
    if let Some((buffer, _)) = &store.node_table {
        queue.write_buffer(buffer, 0, bytemuck::cast_slice(&table));
    }
    let mut uniform = UniformBuffer::from(style.map(|s| s.style.clone()).unwrap_or_default());
    uniform.write_buffer(&device, &queue);
    store.style = Some(uniform);
}

/// Must match `Resolve` in `resolve.wgsl`.
#[derive(Clone, ShaderType)]
struct ResolveUniform {
    clip_from_view: Mat4,
    width: u32,
    edl: u32,
    edl_log2_reference: f32,
}

/// A view's pixel buffer and bind groups for this frame.
struct ViewBuffers {
    size: UVec2,
    pixels: Buffer,
    project: Option<BindGroup>,
    resolve: Option<BindGroup>,
    resolve_pipeline: Option<CachedRenderPipelineId>,
}

/// Per view (render-world view entity).
#[derive(Resource, Default)]
struct RasterViews(HashMap<Entity, ViewBuffers>);

fn prepare_raster_views(
    mut raster_views: ResMut<RasterViews>,
    mut store: ResMut<RasterStore>,
    views: Res<PointViews>,
    style: Option<Res<RasterStyle>>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    cache: Res<PipelineCache>,
) {
    let store = &mut *store;
    raster_views.0.retain(|e, _| views.0.contains_key(e));
    let (Some(pipelines), Some(style_buffer), Some((node_table, _))) =
        (&mut store.pipelines, &store.style, &store.node_table)
    else {
        return;
    };
    let (edl, edl_log2_reference) = style
        .as_ref()
        .map_or((0, 0.0), |s| (s.style.edl, s.style.edl_log2_reference));
    for (entity, view) in &views.0 {
        let size = view.size;
        let buffers = raster_views
            .0
            .entry(*entity)
            .or_insert_with(|| ViewBuffers {
                size: UVec2::ZERO,
                pixels: storage_buffer(&device, "jumeau_raster_pixels", 8),
                project: None,
                resolve: None,
                resolve_pipeline: None,
            });
        if buffers.size != size {
            buffers.size = size;
            buffers.pixels = storage_buffer(
                &device,
                "jumeau_raster_pixels",
                u64::from(size.x) * u64::from(size.y) * 8,
            );
        }
        let mut resolve = UniformBuffer::from(ResolveUniform {
            clip_from_view: view.clip_from_view,
            width: size.x,
            edl,
            edl_log2_reference,
        });
        resolve.write_buffer(&device, &queue);
        buffers.project = Some(device.create_bind_group(
            "jumeau_raster_view",
            &cache.get_bind_group_layout(&pipelines.view_layout),
            &BindGroupEntries::sequential((
                &view.frame,
                style_buffer,
                node_table.as_entire_binding(),
                buffers.pixels.as_entire_binding(),
            )),
        ));
        buffers.resolve = Some(device.create_bind_group(
            "jumeau_raster_resolve",
            &cache.get_bind_group_layout(&pipelines.resolve_layout),
            &BindGroupEntries::sequential((&resolve, buffers.pixels.as_entire_binding())),
        ));
        let layout = pipelines.resolve_layout.clone();
        buffers.resolve_pipeline = Some(
            *pipelines
                .resolve
                .entry(view.format)
                .or_insert_with(|| resolve_pipeline(&cache, &layout, view.format)),
        );
    }
}

/// Projects every resident batch into the view's pixel buffer and resolves it into the main
/// pass's colour and depth.
fn rasterize_points(
    view: ViewQuery<(&ViewTarget, &ViewDepthTexture)>,
    views: Res<RasterViews>,
    store: Res<RasterStore>,
    cache: Res<PipelineCache>,
    mut ctx: RenderContext,
) {
    let entity = view.entity();
    let (target, depth) = view.into_inner();
    let Some(buffers) = views.0.get(&entity) else {
        return;
    };
    let (Some(pipelines), Some(project_group), Some(resolve_group), Some(resolve_id)) = (
        &store.pipelines,
        &buffers.project,
        &buffers.resolve,
        buffers.resolve_pipeline,
    ) else {
        return;
    };
    if store.nodes.is_empty() {
        return;
    }
    let Some(project) = cache.get_compute_pipeline(pipelines.project) else {
        return;
    };
    let shade = match pipelines.shade {
        Some(id) => match cache.get_compute_pipeline(id) {
            Some(p) => Some(p),
            None => return,
        },
        None => None,
    };
    let Some(resolve) = cache.get_render_pipeline(resolve_id) else {
        return;
    };
    let encoder = ctx.command_encoder();
    encoder.clear_buffer(&buffers.pixels, 0, None);
    {
        let mut pass = encoder.begin_compute_pass(&ComputePassDescriptor {
            label: Some("jumeau_raster_project"),
            timestamp_writes: None,
        });
        pass.set_bind_group(0, project_group, &[]);
        for pipeline in std::iter::once(project).chain(shade) {
            pass.set_pipeline(pipeline);
            for (p, page) in store.pages.iter().enumerate() {
                let groups = store.slots.high_water(p);
                if groups > 0 {
                    pass.set_bind_group(1, &page.bind_group, &[]);
                    pass.dispatch_workgroups(groups, 1, 1);
                }
            }
        }
    }
    let color_attachments = [Some(target.get_color_attachment())];
    let mut pass = ctx.begin_tracked_render_pass(RenderPassDescriptor {
        label: Some("jumeau_raster_resolve"),
        color_attachments: &color_attachments,
        depth_stencil_attachment: Some(depth.get_attachment(StoreOp::Store)),
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    });
    pass.set_render_pipeline(resolve);
    pass.set_bind_group(0, resolve_group, &[]);
    pass.draw(0..3, 0..1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_follows_the_gpu_memory_its_kind_and_the_host_memory() {
        let gib = 1u64 << 30;
        // Memory unknown: by kind.
        assert_eq!(default_point_budget("DiscreteGpu", None, None), 500_000_000);
        assert_eq!(
            default_point_budget("Cpu", None, Some(24 * gib)),
            20_000_000
        );
        // An 8 GiB card: 60 % at 12 bytes a point.
        assert_eq!(
            default_point_budget("DiscreteGpu", Some(8 * gib), Some(64 * gib)),
            8 * gib / 10 * 6 / 12
        );
        // An H200 (141 GB) on a 128 GiB host: the 2 × 10⁹ ceiling.
        assert_eq!(
            default_point_budget("DiscreteGpu", Some(143_771 << 20), Some(128 * gib)),
            2_000_000_000
        );
        // The same GPU on a 16 GiB host: half of it at 16 bytes a point.
        assert_eq!(
            default_point_budget("DiscreteGpu", Some(143_771 << 20), Some(16 * gib)),
            16 * gib / 32
        );
        assert_eq!(
            default_point_budget("IntegratedGpu", None, Some(1 << 20)),
            1_000_000
        );
    }

    #[test]
    fn gpu_memory_is_read_from_the_drivers_text() {
        assert_eq!(
            parse_largest("81559\n143771\n", 1 << 20),
            Some(143_771 << 20)
        );
        assert_eq!(parse_largest("17163091968\n", 1), Some(17_163_091_968));
        assert_eq!(parse_largest("No devices were found\n", 1), None);
    }
}
