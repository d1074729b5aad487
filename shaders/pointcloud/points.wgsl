// Point splats: every point is a quad of 4 vertices expanded in clip space to a screen-space disc.
// Must match `PointStyleUniform` and the vertex layout in src/pointcloud/render/mod.rs.
#import bevy_pbr::{
    mesh_functions,
    mesh_view_bindings::view,
    view_transformations::position_world_to_clip,
}
#import jumeau::colour::{ramp, srgb_to_linear}
#import jumeau::point_style::PointStyle
#import jumeau::clip::clip_keeps

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> style: PointStyle;

struct Vertex {
    @builtin(instance_index) instance_index: u32,
    @location(0) position: vec3<f32>,
    @location(1) color: vec4<f32>,
    // bits 0-1: quad corner, 8-15: classification, 16-31: intensity
    @location(2) info: u32,
};

struct VertexOutput {
    @builtin(position) clip_position: vec4<f32>,
    @location(0) color: vec4<f32>,
    @location(1) corner: vec2<f32>,
    @location(2) view_depth: f32,
};

@vertex
fn vertex(v: Vertex) -> VertexOutput {
    var out: VertexOutput;
    let corner = vec2<f32>(f32(v.info & 1u) * 2.0 - 1.0, f32((v.info >> 1u) & 1u) * 2.0 - 1.0);
    out.corner = corner;
    let code = (v.info >> 8u) & 0xffu;
    let word = style.class_visible[code / 128u][(code / 32u) % 4u];
    if ((word >> (code % 32u)) & 1u) == 0u {
        // Hidden code: outside the clip volume.
        out.clip_position = vec4<f32>(2.0, 2.0, 2.0, 1.0);
        out.color = vec4<f32>(0.0);
        return out;
    }
    let world_from_local = mesh_functions::get_world_from_local(v.instance_index);
    let world = mesh_functions::mesh_position_local_to_world(world_from_local, vec4<f32>(v.position, 1.0));
    if style.clip.flags != 0u && !clip_keeps(style.clip, world.xyz) {
        out.clip_position = vec4<f32>(2.0, 2.0, 2.0, 1.0);
        out.color = vec4<f32>(0.0);
        return out;
    }
    var clip = position_world_to_clip(world.xyz);
    var size = style.point_size_px;
    if style.adaptive != 0u {
        // The node's sampling spacing on screen: deeper (denser) nodes get smaller splats.
        // The node's point spacing in metres, as f32 bits in the mesh tag.
        let spacing = bitcast<f32>(mesh_functions::get_tag(v.instance_index));
        let spacing_px = spacing * view.clip_from_view[1][1] * view.viewport.w * 0.5 / max(clip.w, 1e-6);
        size = clamp(spacing_px, style.point_size_px, style.point_size_px * 16.0);
    }
    out.view_depth = clip.w;
    clip = vec4<f32>(clip.xy + corner * size / view.viewport.zw * clip.w, clip.zw);
    out.clip_position = clip;

    var rgb: vec3<f32>;
    switch style.color_mode {
        case 1u: {
            let i = clamp(f32(v.info >> 16u) / max(style.intensity_max, 1.0), 0.0, 1.0);
            rgb = vec3<f32>(pow(i, 0.6));
            rgb = srgb_to_linear(rgb);
        }
        case 2u: {
            let t = (world.y - style.elevation_min) / max(style.elevation_max - style.elevation_min, 1e-3);
            rgb = srgb_to_linear(ramp(t));
        }
        case 3u: {
            rgb = style.palette[code].rgb;
        }
        default: {
            rgb = srgb_to_linear(v.color.rgb);
        }
    }
    out.color = vec4<f32>(rgb, style.opacity);
    return out;
}

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    if dot(in.corner, in.corner) > 1.0 {
        discard;
    }
    if style.edl != 0u && style.opacity >= 1.0 {
        let d = log2(max(in.view_depth, 1e-6)) - style.edl_log2_reference;
        // 0 is the background's alpha: nudge an exact 0 off it.
        return vec4<f32>(in.color.rgb, select(d, 1e-6, abs(d) < 1e-6));
    }
    return in.color;
}
