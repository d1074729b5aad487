//! The portable point path: instanced screen-space splats (WebGL2, WebGPU, native).
//!
//! # How it works
//! A node decoded for this path is one vertex buffer of 20-byte instances (position relative to
//! the node's origin, sRGB colour, class and intensity: [`splat_instances`]). The streaming
//! systems spawn it as an entity with [`SplatPoints`]; the render world takes the bytes into a
//! GPU buffer (the main world keeps no copy). After the opaque meshes, one render pass draws
//! every shown node as `6 × points` vertices: the vertex shader (`shaders/pointcloud/splats.wgsl`)
//! builds each quad from the vertex index, sizes it in pixels (adaptive from the node's level),
//! and styles it from its layer's [`PointStyleUniform`]; the fragment shader cuts it to a disc.
//! Opaque layers write depth and the log-depth alpha of eye-dome lighting; translucent layers
//! are drawn after, far to near, blended. Only instanced vertex attributes and uniforms: it runs
//! on WebGL2.

use super::view::{PointViews, RasterFrame};
use super::{NO_RGB, PointStyleUniform, register_shader, rgb8};
use crate::pointcloud::copc::PointChunk;
use bevy::asset::uuid_handle;
use bevy::core_pipeline::Core3dSystems;
use bevy::core_pipeline::core_3d::{
    CORE_3D_DEPTH_FORMAT, main_opaque_pass_3d, main_transparent_pass_3d,
};
use bevy::core_pipeline::schedule::Core3d;
use bevy::prelude::*;
use bevy::render::extract_resource::{ExtractResource, ExtractResourcePlugin};
use bevy::render::render_resource::binding_types::uniform_buffer;
use bevy::render::render_resource::{
    BindGroup, BindGroupEntries, BindGroupLayoutDescriptor, BindGroupLayoutEntries, BlendState,
    Buffer, BufferInitDescriptor, BufferUsages, CachedRenderPipelineId, ColorTargetState,
    ColorWrites, CompareFunction, DepthStencilState, DynamicUniformBuffer, FragmentState,
    MultisampleState, PipelineCache, PrimitiveState, RenderPassDescriptor,
    RenderPipelineDescriptor, ShaderStages, ShaderType, StoreOp, TextureFormat, VertexAttribute,
    VertexFormat, VertexState, VertexStepMode,
};
use bevy::mesh::VertexBufferLayout;
use bevy::render::renderer::{RenderContext, RenderDevice, RenderQueue, ViewQuery};
use bevy::render::view::{ViewDepthTexture, ViewTarget};
use bevy::render::{Extract, ExtractSchedule, Render, RenderApp, RenderSystems};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The splat shader, embedded.
pub const SPLATS_SHADER: Handle<Shader> = uuid_handle!("5d2e8b41-7c3f-4a96-b0e1-9f6a2c4d8e73");

/// GPU bytes per point: position f32×3, sRGB unorm8×4, class and intensity u32.
pub const BYTES_PER_POINT: u64 = 20;

/// A node's instances: `positions` are in Bevy's axes relative to the node's origin.
pub fn splat_instances(chunk: &PointChunk, positions: &[[f32; 3]]) -> Vec<u8> {
    let rgb = rgb8(chunk);
    let mut bytes = Vec::with_capacity(positions.len() * BYTES_PER_POINT as usize);
    for (i, p) in positions.iter().enumerate() {
        let [r, g, b] = rgb.as_ref().map_or(NO_RGB, |c| c[i]);
        let class = chunk.classification.as_ref().map_or(1, |c| c[i]);
        let intensity = chunk.intensity.as_ref().map_or(0, |v| v[i]);
        for v in p {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.extend_from_slice(&[r, g, b, 255]);
        let info = (u32::from(class) << 8) | (u32::from(intensity) << 16);
        bytes.extend_from_slice(&info.to_le_bytes());
    }
    bytes
}

/// A node drawn as splats. The render world takes the instances on upload.
#[derive(Component, Clone)]
pub struct SplatPoints {
    instances: Arc<Mutex<Option<Vec<u8>>>>,
    /// The node's layer (its style) and octree level (adaptive size).
    pub layer: u32,
    pub level: u32,
}

impl SplatPoints {
    pub fn new(instances: Vec<u8>, layer: u32, level: u32) -> Self {
        Self {
            instances: Arc::new(Mutex::new(Some(instances))),
            layer,
            level,
        }
    }
}

/// The style of each layer, by layer index.
#[derive(Resource, Clone, ExtractResource, Default)]
pub struct SplatStyles(pub Vec<PointStyleUniform>);

pub(crate) fn plugin(app: &mut App) {
    register_shader(
        app,
        &SPLATS_SHADER,
        include_str!("../../../shaders/pointcloud/splats.wgsl"),
        "shaders/pointcloud/splats.wgsl",
    );
    app.init_resource::<SplatStyles>()
        .add_plugins(ExtractResourcePlugin::<SplatStyles>::default());
    let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
        return;
    };
    render_app
        .init_resource::<SplatStore>()
        .add_systems(ExtractSchedule, extract_splats)
        .add_systems(
            Render,
            prepare_splats.in_set(RenderSystems::PrepareBindGroups),
        )
        .add_systems(
            Core3d,
            draw_splats
                .after(main_opaque_pass_3d)
                .before(main_transparent_pass_3d)
                .in_set(Core3dSystems::MainPass),
        );
}

/// Per node. Must match `SplatNode` in `splats.wgsl`.
#[derive(Clone, ShaderType)]
struct SplatNodeUniform {
    offset: Vec3,
    level: u32,
}

struct GpuSplats {
    buffer: Buffer,
    count: u32,
    offset: Vec3,
    layer: u32,
    level: u32,
    visible: bool,
    seen: u64,
}

struct NewSplats {
    entity: Entity,
    instances: Vec<u8>,
    offset: Vec3,
    layer: u32,
    level: u32,
    visible: bool,
}

/// One node to draw this frame.
struct Draw {
    entity: Entity,
    style_offset: u32,
    node_offset: u32,
    translucent: bool,
    distance: f32,
}

struct Pipelines {
    view_layout: BindGroupLayoutDescriptor,
    node_layout: BindGroupLayoutDescriptor,
    /// By target format and translucency.
    by_target: HashMap<(TextureFormat, bool), CachedRenderPipelineId>,
}

#[derive(Resource, Default)]
struct SplatStore {
    nodes: HashMap<Entity, GpuSplats>,
    new_nodes: Vec<NewSplats>,
    frame: u64,
    pipelines: Option<Pipelines>,
    styles: DynamicUniformBuffer<PointStyleUniform>,
    node_uniforms: DynamicUniformBuffer<SplatNodeUniform>,
    draws: Vec<Draw>,
    node_group: Option<BindGroup>,
    /// Per view: its bind group and pipelines (opaque, translucent).
    views: HashMap<Entity, (BindGroup, CachedRenderPipelineId, CachedRenderPipelineId)>,
}

fn extract_splats(
    mut store: ResMut<SplatStore>,
    nodes: Extract<Query<(Entity, &SplatPoints, &Transform, &Visibility)>>,
) {
    store.frame += 1;
    let frame = store.frame;
    for (entity, points, transform, visibility) in &nodes {
        let visible = *visibility != Visibility::Hidden;
        if let Some(node) = store.nodes.get_mut(&entity) {
            node.offset = transform.translation;
            node.visible = visible;
            node.seen = frame;
        } else if let Some(instances) = points.instances.lock().ok().and_then(|mut i| i.take()) {
            store.new_nodes.push(NewSplats {
                entity,
                instances,
                offset: transform.translation,
                layer: points.layer,
                level: points.level,
                visible,
            });
        }
    }
}

fn splat_pipeline(
    cache: &PipelineCache,
    layout: Vec<BindGroupLayoutDescriptor>,
    format: TextureFormat,
    translucent: bool,
) -> CachedRenderPipelineId {
    let stride = BYTES_PER_POINT;
    cache.queue_render_pipeline(RenderPipelineDescriptor {
        label: Some("jumeau_splats".into()),
        layout,
        vertex: VertexState {
            shader: SPLATS_SHADER,
            entry_point: Some("vertex".into()),
            buffers: vec![VertexBufferLayout {
                array_stride: stride,
                step_mode: VertexStepMode::Instance,
                attributes: vec![
                    VertexAttribute {
                        format: VertexFormat::Float32x3,
                        offset: 0,
                        shader_location: 0,
                    },
                    VertexAttribute {
                        format: VertexFormat::Unorm8x4,
                        offset: 12,
                        shader_location: 1,
                    },
                    VertexAttribute {
                        format: VertexFormat::Uint32,
                        offset: 16,
                        shader_location: 2,
                    },
                ],
            }],
            ..default()
        },
        fragment: Some(FragmentState {
            shader: SPLATS_SHADER,
            entry_point: Some("fragment".into()),
            targets: vec![Some(ColorTargetState {
                format,
                blend: translucent.then_some(BlendState::ALPHA_BLENDING),
                write_mask: ColorWrites::ALL,
            })],
            ..default()
        }),
        primitive: PrimitiveState::default(),
        // Reverse-Z as Bevy's main pass; translucent layers test but do not write depth.
        depth_stencil: Some(DepthStencilState {
            format: CORE_3D_DEPTH_FORMAT,
            depth_write_enabled: Some(!translucent),
            depth_compare: Some(CompareFunction::GreaterEqual),
            stencil: default(),
            bias: default(),
        }),
        multisample: MultisampleState::default(),
        ..default()
    })
}

/// Uploads new nodes, frees evicted ones, and lays out this frame's uniforms and draws.
fn prepare_splats(
    mut store: ResMut<SplatStore>,
    styles: Option<Res<SplatStyles>>,
    views: Res<PointViews>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    cache: Res<PipelineCache>,
) {
    let store = &mut *store;
    let frame = store.frame;
    store.nodes.retain(|_, n| n.seen == frame);
    for new in std::mem::take(&mut store.new_nodes) {
        let count = (new.instances.len() / BYTES_PER_POINT as usize) as u32;
        if count == 0 {
            continue;
        }
        let buffer = device.create_buffer_with_data(&BufferInitDescriptor {
            label: Some("jumeau_splats"),
            contents: &new.instances,
            usage: BufferUsages::VERTEX,
        });
        store.nodes.insert(
            new.entity,
            GpuSplats {
                buffer,
                count,
                offset: new.offset,
                layer: new.layer,
                level: new.level,
                visible: new.visible,
                seen: frame,
            },
        );
    }
    store.draws.clear();
    store.views.clear();
    let styles = styles.map(|s| s.0.clone()).unwrap_or_default();
    if store.nodes.is_empty() || styles.is_empty() {
        return;
    }
    let pipelines = store.pipelines.get_or_insert_with(|| Pipelines {
        view_layout: BindGroupLayoutDescriptor::new(
            "jumeau_splats_view",
            &BindGroupLayoutEntries::single(
                ShaderStages::VERTEX,
                uniform_buffer::<RasterFrame>(false),
            ),
        ),
        node_layout: BindGroupLayoutDescriptor::new(
            "jumeau_splats_node",
            &BindGroupLayoutEntries::sequential(
                ShaderStages::VERTEX_FRAGMENT,
                (
                    uniform_buffer::<PointStyleUniform>(true),
                    uniform_buffer::<SplatNodeUniform>(true),
                ),
            ),
        ),
        by_target: HashMap::new(),
    });
    store.styles.clear();
    let style_offsets: Vec<u32> = styles.iter().map(|s| store.styles.push(s)).collect();
    store.node_uniforms.clear();
    for (entity, node) in &store.nodes {
        let Some(&style_offset) = style_offsets.get(node.layer as usize) else {
            continue;
        };
        if !node.visible {
            continue;
        }
        let node_offset = store.node_uniforms.push(&SplatNodeUniform {
            offset: node.offset,
            level: node.level,
        });
        store.draws.push(Draw {
            entity: *entity,
            style_offset,
            node_offset,
            translucent: styles[node.layer as usize].opacity < 1.0,
            distance: node.offset.length(),
        });
    }
    // Opaque first (any order), then translucent far to near.
    store.draws.sort_by(|a, b| {
        a.translucent
            .cmp(&b.translucent)
            .then(b.distance.total_cmp(&a.distance))
    });
    store.styles.write_buffer(&device, &queue);
    store.node_uniforms.write_buffer(&device, &queue);
    let (Some(style_binding), Some(node_binding)) =
        (store.styles.binding(), store.node_uniforms.binding())
    else {
        return;
    };
    store.node_group = Some(device.create_bind_group(
        "jumeau_splats_node",
        &cache.get_bind_group_layout(&pipelines.node_layout),
        &BindGroupEntries::sequential((style_binding, node_binding)),
    ));
    for (entity, view) in &views.0 {
        let group = device.create_bind_group(
            "jumeau_splats_view",
            &cache.get_bind_group_layout(&pipelines.view_layout),
            &BindGroupEntries::single(&view.frame),
        );
        let layout = vec![pipelines.view_layout.clone(), pipelines.node_layout.clone()];
        let [opaque, translucent] = [false, true].map(|t| {
            *pipelines
                .by_target
                .entry((view.format, t))
                .or_insert_with(|| splat_pipeline(&cache, layout.clone(), view.format, t))
        });
        store.views.insert(*entity, (group, opaque, translucent));
    }
}

/// Draws every shown node into the main pass's colour and depth.
fn draw_splats(
    view: ViewQuery<(&ViewTarget, &ViewDepthTexture)>,
    store: Res<SplatStore>,
    cache: Res<PipelineCache>,
    mut ctx: RenderContext,
) {
    let entity = view.entity();
    let (target, depth) = view.into_inner();
    let (Some((view_group, opaque, translucent)), Some(node_group)) =
        (store.views.get(&entity), &store.node_group)
    else {
        return;
    };
    if store.draws.is_empty() {
        return;
    }
    let (Some(opaque), Some(translucent)) = (
        cache.get_render_pipeline(*opaque),
        cache.get_render_pipeline(*translucent),
    ) else {
        return;
    };
    let color_attachments = [Some(target.get_color_attachment())];
    let mut pass = ctx.begin_tracked_render_pass(RenderPassDescriptor {
        label: Some("jumeau_splats"),
        color_attachments: &color_attachments,
        depth_stencil_attachment: Some(depth.get_attachment(StoreOp::Store)),
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    });
    pass.set_bind_group(0, view_group, &[]);
    let mut current = None;
    for draw in &store.draws {
        let Some(node) = store.nodes.get(&draw.entity) else {
            continue;
        };
        if current != Some(draw.translucent) {
            pass.set_render_pipeline(if draw.translucent { translucent } else { opaque });
            current = Some(draw.translucent);
        }
        pass.set_bind_group(1, node_group, &[draw.style_offset, draw.node_offset]);
        pass.set_vertex_buffer(0, node.buffer.slice(..));
        pass.draw(0..6, 0..node.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;

    #[test]
    fn instances_hold_position_colour_class_and_intensity_in_20_bytes() {
        let chunk = PointChunk {
            key: None,
            origin: DVec3::ZERO,
            positions: vec![[0.0; 3]; 2],
            intensity: Some(vec![7, 65535]),
            classification: Some(vec![2, 6]),
            returns: None,
            rgb: Some(vec![[10, 20, 30], [40, 50, 60]]),
            gps_time: None,
        };
        let bytes = splat_instances(&chunk, &[[1.0, 2.0, 3.0], [-4.0, 5.5, 6.0]]);
        assert_eq!(bytes.len(), 40);
        let f = |at: usize| f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let u = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!([f(20), f(24), f(28)], [-4.0, 5.5, 6.0]);
        assert_eq!(&bytes[32..36], &[40, 50, 60, 255]);
        assert_eq!(u(36), (6 << 8) | (65535 << 16));
        assert_eq!(u(16), (2 << 8) | (7 << 16));
    }
}
