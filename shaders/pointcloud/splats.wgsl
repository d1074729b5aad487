// Instanced point splats (the portable path: WebGL2, WebGPU, native): one instance per point,
// six vertices expanded from the vertex index into a screen-space quad, cut to a disc.
// Must match src/pointcloud/render/splats.rs (instance layout, `SplatNode`) and
// `PointStyleUniform` / `RasterFrame` in src/pointcloud/render/{mod.rs, view.rs}.
#import jumeau::colour::{ramp, srgb_to_linear}

struct PointStyle {
    palette: array<vec4<f32>, 256>,
    class_visible: array<vec4<u32>, 2>,
    color_mode: u32,
    point_size_px: f32,
    adaptive: u32,
    spacing_root_m: f32,
    elevation_min: f32,
    elevation_max: f32,
    intensity_max: f32,
    opacity: f32,
    // 1: write log2(view depth / reference depth) as alpha for the eye-dome lighting pass.
    edl: u32,
    // log2 of the camera's focus distance: log-depths near 0 keep f16 precision.
    edl_log2_reference: f32,
};

struct Frame {
    clip_from_world: mat4x4<f32>,
    clip_from_view: mat4x4<f32>,
    view_z: vec4<f32>,
    planes: array<vec4<f32>, 6>,
    size: vec2<f32>,
    focal_px: f32,
    width: u32,
};

struct SplatNode {
    // Camera-relative origin of the node (world axes).
    offset: vec3<f32>,
    level: u32,
};

@group(0) @binding(0) var<uniform> frame: Frame;
@group(1) @binding(0) var<uniform> style: PointStyle;
@group(1) @binding(1) var<uniform> node: SplatNode;

struct Instance {
    @builtin(vertex_index) vertex_index: u32,
    @location(0) position: vec3<f32>,
    @location(1) color: vec4<f32>,
    // bits 8-15: classification, 16-31: intensity
    @location(2) info: u32,
};

struct VertexOutput {
    @builtin(position) clip_position: vec4<f32>,
    @location(0) color: vec4<f32>,
    @location(1) corner: vec2<f32>,
    @location(2) view_depth: f32,
};

@vertex
fn vertex(v: Instance) -> VertexOutput {
    var out: VertexOutput;
    // Two triangles: (0,1,2) and (2,1,3) of the corners 0 = (-1,-1), 1 = (1,-1), 2 = (-1,1), 3 = (1,1).
    var corners = array<u32, 6>(0u, 1u, 2u, 2u, 1u, 3u);
    let c = corners[v.vertex_index % 6u];
    let corner = vec2<f32>(f32(c & 1u) * 2.0 - 1.0, f32((c >> 1u) & 1u) * 2.0 - 1.0);
    out.corner = corner;
    let code = (v.info >> 8u) & 0xffu;
    let word = style.class_visible[code / 128u][(code / 32u) % 4u];
    if ((word >> (code % 32u)) & 1u) == 0u {
        // Hidden code: outside the clip volume.
        out.clip_position = vec4<f32>(2.0, 2.0, 2.0, 1.0);
        out.color = vec4<f32>(0.0);
        return out;
    }
    let world = node.offset + v.position;
    var clip = frame.clip_from_world * vec4<f32>(world, 1.0);
    var size = style.point_size_px;
    if style.adaptive != 0u {
        // The node's sampling spacing on screen: deeper (denser) nodes get smaller splats.
        let spacing = style.spacing_root_m / f32(1u << min(node.level, 30u));
        let spacing_px = spacing * frame.focal_px / max(clip.w, 1e-6);
        size = clamp(spacing_px, style.point_size_px, style.point_size_px * 4.0);
    }
    out.view_depth = clip.w;
    clip = vec4<f32>(clip.xy + corner * size / frame.size * clip.w, clip.zw);
    out.clip_position = clip;

    var rgb: vec3<f32>;
    switch style.color_mode {
        case 1u: {
            let i = clamp(f32(v.info >> 16u) / max(style.intensity_max, 1.0), 0.0, 1.0);
            rgb = srgb_to_linear(vec3<f32>(pow(i, 0.6)));
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
