// Network overlay: spans as lines of constant on-screen width, sites as screen-size symbols by
// kind, antenna sectors as world-space wedges. Filtering, the time slider and colour modes are
// decided here from the style uniform, so the CPU never rewrites vertices for them.
// Must match `NetworkStyleUniform` and the vertex layout in src/network/render.rs, and the bit
// layout of `OverlayMesh::info` in src/network/overlay.rs.
#import bevy_pbr::{
    mesh_functions,
    mesh_view_bindings::view,
    view_transformations::position_world_to_clip,
}
#import jumeau::colour::{ramp, srgb_to_linear}

struct NetworkStyle {
    status_colors: array<vec4<f32>, 4>,
    operator_colors: array<vec4<f32>, 8>,
    highlight: vec4<f32>,
    status_visible: u32,
    kind_visible: u32,
    hidden_operators: u32,
    color_mode: u32,
    until_day: f32,
    line_width_px: f32,
    symbol_scale: f32,
    capacity_max: f32,
    // Picked feature + 1; 0: none.
    picked: u32,
    opacity: f32,
    // Pulled towards the eye by this much plus a share of the distance, so that lines buried
    // a metre underground or lying on the ground are not hidden by the ground's points.
    depth_bias_m: f32,
    // 1: drawn over everything (through buildings, trees and the ground).
    xray: u32,
};

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> style: NetworkStyle;

struct Vertex {
    @builtin(instance_index) instance_index: u32,
    @location(0) position: vec3<f32>,
    @location(1) other: vec3<f32>,
    // bits 0-1 corner, 2-3 status, 4-6 kind, 8-12 operator, 16-17 primitive
    @location(2) info: u32,
    // in-service day, capacity (fibres)
    @location(3) values: vec2<f32>,
    @location(4) feature: u32,
};

struct VertexOutput {
    @builtin(position) clip_position: vec4<f32>,
    @location(0) color: vec4<f32>,
    // symbols: corner in -1..1; lines: (across -1..1, 0)
    @location(1) uv: vec2<f32>,
    // 0 line, 1 symbol, 2 wedge; kind
    @location(2) @interpolate(flat) shape: vec2<u32>,
};

// Symbol sizes by kind, pixels: must match `KIND_SIZE_PX` in src/network/overlay.rs.
const KIND_SIZE_PX = array<f32, 8>(18.0, 14.0, 9.0, 15.0, 10.0, 8.0, 9.0, 0.0);

fn hidden() -> VertexOutput {
    var out: VertexOutput;
    out.clip_position = vec4<f32>(2.0, 2.0, 2.0, 1.0);
    out.color = vec4<f32>(0.0);
    out.uv = vec2<f32>(0.0);
    out.shape = vec2<u32>(0u);
    return out;
}

// In x-ray mode everything is put at the near end of the depth range (reverse Z: 1), keeping
// symbols in front of lines and lines in front of sectors.
fn layered(clip: vec4<f32>, layer: f32) -> vec4<f32> {
    if style.xray == 0u {
        return clip;
    }
    return vec4<f32>(clip.xy, clip.w * (0.99 + 0.003 * layer), clip.w);
}

// A world position pulled towards the eye (see `depth_bias_m`).
fn biased(world: vec3<f32>, extra: f32) -> vec3<f32> {
    let to_eye = view.world_position - world;
    let d = length(to_eye);
    let bias = min(style.depth_bias_m + 0.004 * d + extra, d * 0.5);
    return world + to_eye / max(d, 1e-6) * bias;
}

@vertex
fn vertex(v: Vertex) -> VertexOutput {
    let corner_bits = v.info & 3u;
    let status = (v.info >> 2u) & 3u;
    let kind = (v.info >> 4u) & 7u;
    let op = (v.info >> 8u) & 31u;
    let primitive = (v.info >> 16u) & 3u;
    let dated = v.values.x > -1.0e8;
    if ((style.status_visible >> status) & 1u) == 0u
        || ((style.kind_visible >> kind) & 1u) == 0u
        || ((style.hidden_operators >> op) & 1u) == 1u
        || (dated && v.values.x > style.until_day) {
        return hidden();
    }
    let picked = v.feature + 1u == style.picked;
    var rgb: vec3<f32>;
    switch style.color_mode {
        case 1u: {
            if kind == 7u && v.values.y > 0.0 {
                rgb = srgb_to_linear(ramp(log2(1.0 + v.values.y) / log2(1.0 + max(style.capacity_max, 1.0))));
            } else {
                rgb = style.status_colors[status].rgb;
            }
        }
        case 2u: {
            rgb = select(style.operator_colors[op % 8u].rgb, vec3<f32>(0.5), op == 0u);
        }
        default: {
            rgb = style.status_colors[status].rgb;
        }
    }
    if picked {
        rgb = style.highlight.rgb;
    }

    var out: VertexOutput;
    out.shape = vec2<u32>(primitive, kind);
    let world_from_local = mesh_functions::get_world_from_local(v.instance_index);
    let world = mesh_functions::mesh_position_local_to_world(world_from_local, vec4<f32>(v.position, 1.0)).xyz;
    let half_viewport = view.viewport.zw * 0.5;

    if primitive == 2u {
        out.clip_position = layered(position_world_to_clip(biased(world, 0.0)), 0.0);
        out.color = vec4<f32>(rgb, style.opacity);
        out.uv = vec2<f32>(0.0);
        return out;
    }
    let side = f32(corner_bits & 1u) * 2.0 - 1.0;
    if primitive == 1u {
        // Symbols sit in front of the lines that meet at them.
        var clip = position_world_to_clip(biased(world, 1.0));
        let corner = vec2<f32>(side, f32((corner_bits >> 1u) & 1u) * 2.0 - 1.0);
        var size = KIND_SIZE_PX[kind] * style.symbol_scale;
        if picked {
            size = size * 1.5;
        }
        clip = vec4<f32>(clip.xy + corner * 0.5 * size / half_viewport * clip.w, clip.zw);
        out.clip_position = layered(clip, 2.0);
        out.uv = corner;
        out.color = vec4<f32>(rgb, 0.0);
        return out;
    }

    // A line segment: this end and the other, widened across its screen direction.
    let other = mesh_functions::mesh_position_local_to_world(world_from_local, vec4<f32>(v.other, 1.0)).xyz;
    var this_clip = position_world_to_clip(biased(world, 0.0));
    var other_clip = position_world_to_clip(biased(other, 0.0));
    // Cut at the near plane so that a segment passing behind the eye does not flip.
    let near_w = 1e-3;
    if this_clip.w < near_w && other_clip.w < near_w {
        return hidden();
    }
    if this_clip.w < near_w {
        let t = (near_w - this_clip.w) / (other_clip.w - this_clip.w);
        this_clip = mix(this_clip, other_clip, t);
    } else if other_clip.w < near_w {
        let t = (near_w - other_clip.w) / (this_clip.w - other_clip.w);
        other_clip = mix(other_clip, this_clip, t);
    }
    let this_px = this_clip.xy / this_clip.w * half_viewport;
    let other_px = other_clip.xy / other_clip.w * half_viewport;
    // Direction from the segment's first end to its second, the same for all four corners.
    let is_end = (corner_bits >> 1u) & 1u;
    var along = other_px - this_px;
    if is_end == 1u {
        along = -along;
    }
    let length_px = length(along);
    var dir = vec2<f32>(1.0, 0.0);
    if length_px > 1e-6 {
        dir = along / length_px;
    }
    let normal = vec2<f32>(-dir.y, dir.x);
    var half_width = 0.5 * style.line_width_px;
    if picked {
        half_width = half_width * 1.8;
    }
    // Square caps: each end reaches half a width past its vertex, closing the joints.
    let cap = select(-1.0, 1.0, is_end == 1u);
    let offset_px = normal * side * half_width + dir * cap * half_width;
    out.clip_position = layered(
        vec4<f32>(this_clip.xy + offset_px / half_viewport * this_clip.w, this_clip.zw),
        1.0,
    );
    out.uv = vec2<f32>(side, 0.0);
    out.color = vec4<f32>(rgb, 0.0);
    return out;
}

const OUTLINE = vec3<f32>(0.02, 0.02, 0.03);

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    // Opaque parts write alpha 0: the eye-dome lighting pass leaves them unshaded.
    switch in.shape.x {
        case 2u: {
            return in.color;
        }
        case 1u: {
            let p = in.uv;
            var d: f32;
            switch in.shape.y {
                // office: square
                case 0u: { d = max(abs(p.x), abs(p.y)); }
                // cabinet: diamond
                case 1u: { d = (abs(p.x) + abs(p.y)) * 0.85; }
                // mast: triangle pointing up
                case 3u: { d = abs(p.x) + (p.y + 1.0) * 0.5; }
                // building: small square
                case 5u: { d = max(abs(p.x), abs(p.y)) * 1.05; }
                default: { d = length(p); }
            }
            if d > 1.0 {
                discard;
            }
            let rim = select(0.72, 0.6, in.shape.y == 2u || in.shape.y == 5u);
            return vec4<f32>(select(in.color.rgb, OUTLINE, d > rim), 0.0);
        }
        default: {
            // A dark edge keeps lines readable over any background.
            return vec4<f32>(select(in.color.rgb, in.color.rgb * 0.35, abs(in.uv.x) > 0.7), 0.0);
        }
    }
}
