//! Drawing points. Two paths share one style ([`PointStyleUniform`]: colour by RGB, intensity,
//! elevation or classification, per-class visibility, adaptive size, eye-dome lighting):
//! - [`compute`]: the compute-shader rasterizer (nodes packed by [`packed`] into pages of batch
//!   slots, [`slots`]; per-view uniform in [`view`]), the default wherever compute shaders exist;
//! - the portable splats here, the path of WebGL2.
//!
//! # The portable splats
//! Each decoded node becomes one mesh whose points are expanded into quads (4 vertices, 6
//! indices per point); the vertex shader (`shaders/pointcloud/points.wgsl`) moves each corner in
//! clip space so the quad covers `size` pixels whatever the distance, and the fragment shader
//! cuts it to a disc. Colour and per-class visibility are chosen in the shader from a per-layer
//! uniform, so restyling never re-uploads points. Adaptive size uses the node's level, passed as
//! the mesh tag. Plain vertex attributes and one uniform block: it runs on WebGL2. (Instanced
//! splats, 20 bytes a point instead of 104, were measured slower on software rasterizers:
//! 1.3–1.5× on lavapipe, about 20× in Chromium's SwiftShader WebGL2; not kept without a
//! measurement on real GPUs.)
//!
//! Both paths take nodes placed camera-relative by the streaming systems (f32 offsets from
//! each node's f64 centre), so Lambert-93 magnitudes never reach the GPU.

pub mod clip;
pub mod compute;
pub mod edl;
pub mod packed;
pub mod slots;
pub mod view;

use super::copc::PointChunk;
use super::style::{ClassFilter, ColorMode, class_color};
use bevy::asset::{RenderAssetUsages, uuid_handle};
use bevy::math::{UVec4, Vec4};
use bevy::mesh::{
    Indices, MeshVertexAttribute, MeshVertexBufferLayoutRef, VertexAttributeDescriptor,
};
use bevy::pbr::{MaterialPipeline, MaterialPipelineKey};
use bevy::prelude::*;
use bevy::render::render_resource::{
    AsBindGroup, PrimitiveTopology, RenderPipelineDescriptor, ShaderType,
    SpecializedMeshPipelineError, VertexFormat,
};
use bevy::shader::ShaderRef;
pub(crate) use packed::{NO_RGB, point_attributes, rgb8};

/// The splat shader, embedded so that the binary needs no asset folder.
pub const POINTS_SHADER: Handle<Shader> = uuid_handle!("6a3c0f4e-2a51-4b8e-9d3e-5f1c7a9b2d40");

/// sRGB colour of the point as stored in the file (8 bits per channel).
pub const ATTRIBUTE_POINT_COLOR: MeshVertexAttribute =
    MeshVertexAttribute::new("PointColor", 0x4a75_6d01, VertexFormat::Unorm8x4);
/// Quad corner (bits 0–1), classification (8–15) and intensity (16–31).
pub const ATTRIBUTE_POINT_INFO: MeshVertexAttribute =
    MeshVertexAttribute::new("PointInfo", 0x4a75_6d02, VertexFormat::Uint32);

/// GPU bytes per point of the splat path (4 vertices of 20 bytes, 6 u32 indices).
pub const BYTES_PER_POINT: u64 = 4 * 20 + 6 * 4;

/// The layer style struct the shaders import as `jumeau::point_style`.
pub const STYLE_SHADER: Handle<Shader> = uuid_handle!("9b4c2e17-3d8a-4f60-b5e2-7a1c9d3f0e84");

/// The clip volume the shaders import as `jumeau::clip`.
pub const CLIP_SHADER: Handle<Shader> = uuid_handle!("c4e1a9d2-58b3-4f7e-a061-2d9b7e3f5a18");

/// Colour helpers the shaders import as `jumeau::colour`.
pub const COLOUR_SHADER: Handle<Shader> = uuid_handle!("3f1b7a52-96c4-4d0e-8b27-c5e9a4d61f03");

/// Registers the shaders and the material.
pub(crate) fn plugin(app: &mut App) {
    register_shader(
        app,
        &COLOUR_SHADER,
        include_str!("../../../shaders/common/colour.wgsl"),
        "shaders/common/colour.wgsl",
    );
    register_shader(
        app,
        &CLIP_SHADER,
        include_str!("../../../shaders/common/clip.wgsl"),
        "shaders/common/clip.wgsl",
    );
    register_shader(
        app,
        &STYLE_SHADER,
        include_str!("../../../shaders/pointcloud/style.wgsl"),
        "shaders/pointcloud/style.wgsl",
    );
    register_shader(
        app,
        &POINTS_SHADER,
        include_str!("../../../shaders/pointcloud/points.wgsl"),
        "shaders/pointcloud/points.wgsl",
    );
    app.add_plugins(MaterialPlugin::<PointCloudMaterial>::default());
    edl::plugin(app);
    compute::plugin(app);
}

/// Puts an embedded WGSL source under a fixed handle (no asset folder needed at run time).
pub(crate) fn register_shader(
    app: &mut App,
    handle: &Handle<Shader>,
    source: &'static str,
    path: &str,
) {
    let shader = Shader::from_wgsl(source, path.to_owned());
    if let Err(error) = app
        .world_mut()
        .resource_mut::<Assets<Shader>>()
        .insert(handle.id(), shader)
    {
        error!("shader {path} not registered: {error}");
    }
}

/// The style uniform. Must match `PointStyle` in `shaders/pointcloud/points.wgsl`.
#[derive(Debug, Clone, ShaderType)]
pub struct PointStyleUniform {
    /// Linear RGB of each classification code.
    pub palette: [Vec4; 256],
    /// Visible classes, bit `c % 32` of word `c / 32`.
    pub class_visible: [UVec4; 2],
    pub color_mode: u32,
    pub point_size_px: f32,
    pub adaptive: u32,
    /// Elevation ramp ends, in the camera-relative frame (world y).
    pub elevation_min: f32,
    pub elevation_max: f32,
    pub intensity_max: f32,
    pub opacity: f32,
    /// 1: alpha carries the log-depth for [`edl`] (opaque layers only).
    pub edl: u32,
    /// log2 of the camera's focus distance (see `points.wgsl`).
    pub edl_log2_reference: f32,
    /// What the view clips away, in the render frame.
    pub clip: clip::ClipUniform,
}

impl Default for PointStyleUniform {
    fn default() -> Self {
        let palette = std::array::from_fn(|code| {
            let [r, g, b] = class_color(code as u8);
            let linear = Color::srgb_u8(r, g, b).to_linear();
            Vec4::new(linear.red, linear.green, linear.blue, 1.0)
        });
        let mut style = Self {
            palette,
            class_visible: [UVec4::MAX; 2],
            color_mode: ColorMode::Rgb.shader_index(),
            point_size_px: 2.0,
            adaptive: 1,
            elevation_min: 0.0,
            elevation_max: 1.0,
            intensity_max: 65535.0,
            opacity: 1.0,
            edl: 1,
            edl_log2_reference: 0.0,
            clip: clip::ClipUniform::default(),
        };
        style.set_class_filter(&ClassFilter::default());
        style
    }
}

impl PointStyleUniform {
    /// Whether the styling shared by every layer differs (not the per-layer spacing and
    /// opacity).
    pub fn looks_different(&self, other: &Self) -> bool {
        self.color_mode != other.color_mode
            || self.point_size_px != other.point_size_px
            || self.adaptive != other.adaptive
            || self.class_visible != other.class_visible
            || self.edl != other.edl
            || self.edl_log2_reference != other.edl_log2_reference
            || self.intensity_max != other.intensity_max
            || self.elevation_min != other.elevation_min
            || self.elevation_max != other.elevation_max
            || self.clip != other.clip
    }

    pub fn set_class_filter(&mut self, filter: &ClassFilter) {
        let w = filter.words();
        self.class_visible = [
            UVec4::new(w[0], w[1], w[2], w[3]),
            UVec4::new(w[4], w[5], w[6], w[7]),
        ];
    }
}

/// One material per layer: the layer's style.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone, Default)]
pub struct PointCloudMaterial {
    #[uniform(0)]
    pub style: PointStyleUniform,
}

impl Material for PointCloudMaterial {
    fn vertex_shader() -> ShaderRef {
        ShaderRef::Handle(POINTS_SHADER)
    }

    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(POINTS_SHADER)
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
        screen_quad_pipeline(
            descriptor,
            layout,
            &[
                Mesh::ATTRIBUTE_POSITION.at_shader_location(0),
                ATTRIBUTE_POINT_COLOR.at_shader_location(1),
                ATTRIBUTE_POINT_INFO.at_shader_location(2),
            ],
        )
    }
}

/// The pipeline of quads that a vertex shader expands on screen (splats, overlay lines and
/// symbols): the material's own vertex attributes at their locations, and no face culling
/// (a quad's winding depends on how it was expanded).
pub(crate) fn screen_quad_pipeline(
    descriptor: &mut RenderPipelineDescriptor,
    layout: &MeshVertexBufferLayoutRef,
    attributes: &[VertexAttributeDescriptor],
) -> Result<(), SpecializedMeshPipelineError> {
    descriptor.vertex.buffers = vec![layout.0.get_layout(attributes)?];
    descriptor.primitive.cull_mode = None;
    Ok(())
}

/// The splat mesh of a node: `positions` are already in Bevy's axes (x east, y up, z south),
/// relative to the node's origin.
pub fn splat_mesh(chunk: &PointChunk, positions: &[[f32; 3]]) -> Mesh {
    let n = positions.len();
    let rgb = rgb8(chunk);
    let mut quad_positions = Vec::with_capacity(4 * n);
    let mut colors = Vec::with_capacity(4 * n);
    let mut info = Vec::with_capacity(4 * n);
    let mut indices = Vec::with_capacity(6 * n);
    for (i, p) in positions.iter().enumerate() {
        let ([r, g, b], class, intensity) = point_attributes(chunk, rgb.as_ref(), i);
        let packed = (u32::from(class) << 8) | (u32::from(intensity) << 16);
        let base = (4 * i) as u32;
        for corner in 0..4u32 {
            quad_positions.push(*p);
            colors.push([r, g, b, 255]);
            info.push(packed | corner);
        }
        indices.extend_from_slice(&[base, base + 1, base + 2, base + 2, base + 1, base + 3]);
    }
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::RENDER_WORLD,
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, quad_positions)
    .with_inserted_attribute(
        ATTRIBUTE_POINT_COLOR,
        bevy::mesh::VertexAttributeValues::Unorm8x4(colors),
    )
    .with_inserted_attribute(ATTRIBUTE_POINT_INFO, info)
    .with_inserted_indices(Indices::U32(indices))
}

/// The naive baseline: one vertex per point, `PointList` topology, colour as a vertex attribute
/// (always one pixel: WGSL has no point size).
pub fn point_list_mesh(chunk: &PointChunk, positions: Vec<[f32; 3]>) -> Mesh {
    let linear = |[r, g, b]: [u8; 3]| {
        let l = Color::srgb_u8(r, g, b).to_linear();
        [l.red, l.green, l.blue, 1.0]
    };
    let colors: Vec<[f32; 4]> = match rgb8(chunk) {
        Some(rgb) => rgb.into_iter().map(linear).collect(),
        None => vec![linear(NO_RGB); positions.len()],
    };
    Mesh::new(
        PrimitiveTopology::PointList,
        RenderAssetUsages::RENDER_WORLD,
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_COLOR, colors)
}
