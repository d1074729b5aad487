// The compute rasterizer's projection passes (Schütz et al. 2021/2022): each workgroup takes one
// batch of a page, skips it when its bounds are outside the frustum, and every thread splats its
// points into the frame's pixel buffer with atomics on (inverted depth | colour).
// With INT64 (SHADER_INT64_ATOMIC_MIN_MAX): one pass, `atomicMax` on a u64 per pixel.
// Without: `project` keeps the nearest depth (u32 atomicMax of ~depth), then `shade` lets the
// points at that depth write their colour (u32 atomicMax): full 8-bit colour either way.
// Pixel i is two words: [2i] = colour payload, [2i+1] = ~bits(view depth); 0 = empty.
// Must match src/pointcloud/render/{packed.rs, compute.rs}.
#import jumeau::colour::{ramp, linear_to_srgb}
#import jumeau::point_style::PointStyle
#import jumeau::clip::clip_keeps

struct Frame {
    clip_from_world: mat4x4<f32>,
    clip_from_view: mat4x4<f32>,
    // View depth of a world point: dot(view_z, vec4(world, 1)).
    view_z: vec4<f32>,
    planes: array<vec4<f32>, 6>,
    size: vec2<f32>,
    // Pixels per metre at view depth 1.
    focal_px: f32,
    width: u32,
};

struct Node {
    offset: vec3<f32>,
    spacing: f32,
    visible: u32,
};

struct Batch {
    min: vec3<f32>,
    node: u32,
    step: vec3<f32>,
    count: u32,
};

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<uniform> style: PointStyle;
@group(0) @binding(2) var<storage, read> nodes: array<Node>;
#ifdef INT64
@group(0) @binding(3) var<storage, read_write> pixels: array<atomic<u64>>;
#else
@group(0) @binding(3) var<storage, read_write> pixels: array<atomic<u32>>;
#endif
@group(1) @binding(0) var<storage, read> batches: array<Batch>;
@group(1) @binding(1) var<storage, read> hot: array<vec2<u32>>;
@group(1) @binding(2) var<storage, read> cold: array<u32>;

const BATCH_POINTS: u32 = 2048u;
const GROUP: u32 = 256u;
const MAX_RADIUS_PX: f32 = 32.0;

fn batch_visible(b: Batch, offset: vec3<f32>) -> bool {
    let lo = offset + b.min;
    let hi = lo + b.step * 65535.0;
    for (var i = 0u; i < 6u; i++) {
        let p = frame.planes[i];
        let v = select(lo, hi, p.xyz >= vec3<f32>(0.0));
        if dot(p.xyz, v) + p.w < 0.0 {
            return false;
        }
    }
    return true;
}

fn class_visible(code: u32) -> bool {
    let word = style.class_visible[code / 128u][(code / 32u) % 4u];
    return ((word >> (code % 32u)) & 1u) != 0u;
}

// The point's styled colour, sRGB 8 bits per channel, with bit 24 set (a hit).
fn payload(code: u32, h: vec2<u32>, c: u32, world_y: f32) -> u32 {
    var rgb: vec3<f32>;
    switch style.color_mode {
        case 1u: {
            let intensity = ((h.y >> 24u) << 8u) | (c >> 24u);
            let i = clamp(f32(intensity) / max(style.intensity_max, 1.0), 0.0, 1.0);
            rgb = vec3<f32>(pow(i, 0.6));
        }
        case 2u: {
            let t = (world_y - style.elevation_min) / max(style.elevation_max - style.elevation_min, 1e-3);
            rgb = ramp(t);
        }
        case 3u: {
            rgb = linear_to_srgb(style.palette[code].rgb);
        }
        default: {
            rgb = vec3<f32>(f32(c & 0xffu), f32((c >> 8u) & 0xffu), f32((c >> 16u) & 0xffu)) / 255.0;
        }
    }
    let q = vec3<u32>(round(clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0)) * 255.0));
    return q.x | (q.y << 8u) | (q.z << 16u) | (1u << 24u);
}

fn splat(index: u32, key_depth: u32, colour: u32, colour_pass: bool) {
#ifdef INT64
    atomicMax(&pixels[index], (u64(key_depth) << 32u) | u64(colour));
#else
    if colour_pass {
        if atomicLoad(&pixels[2u * index + 1u]) == key_depth {
            atomicMax(&pixels[2u * index], colour);
        }
    } else {
        atomicMax(&pixels[2u * index + 1u], key_depth);
    }
#endif
}

fn rasterize(batch: u32, thread: u32, colour_pass: bool) {
    let b = batches[batch];
    if b.count == 0u {
        return;
    }
    let node = nodes[b.node];
    if node.visible == 0u || !batch_visible(b, node.offset) {
        return;
    }
    let base = batch * BATCH_POINTS;
    for (var k = thread; k < b.count; k += GROUP) {
        let h = hot[base + k];
        let code = (h.y >> 16u) & 0xffu;
        if !class_visible(code) {
            continue;
        }
        let q = vec3<f32>(f32(h.x & 0xffffu), f32(h.x >> 16u), f32(h.y & 0xffffu));
        let world = node.offset + b.min + q * b.step;
        if style.clip.flags != 0u && !clip_keeps(style.clip, world) {
            continue;
        }
        let clip = frame.clip_from_world * vec4<f32>(world, 1.0);
        if clip.w <= 0.0 {
            continue;
        }
        let ndc = clip.xyz / clip.w;
        if ndc.z < 0.0 || ndc.z > 1.0 {
            continue;
        }
        var size = style.point_size_px;
        if style.adaptive != 0u {
            // The node's sampling spacing on screen: as the splat path's vertex shader.
            let spacing_px = node.spacing * frame.focal_px / max(clip.w, 1e-6);
            size = clamp(spacing_px, style.point_size_px, style.point_size_px * 16.0);
        }
        let r = min(size * 0.5, MAX_RADIUS_PX);
        let centre = vec2<f32>((ndc.x * 0.5 + 0.5) * frame.size.x, (0.5 - ndc.y * 0.5) * frame.size.y);
        if centre.x + r < 0.0 || centre.y + r < 0.0 || centre.x - r > frame.size.x || centre.y - r > frame.size.y {
            continue;
        }
        let depth = dot(frame.view_z, vec4<f32>(world, 1.0));
        let key_depth = ~bitcast<u32>(max(depth, 1e-30));
        var colour = 0u;
#ifdef INT64
        colour = payload(code, h, cold[base + k], world.y);
#else
        if colour_pass {
            colour = payload(code, h, cold[base + k], world.y);
        }
#endif
        let w = u32(frame.size.x);
        let hgt = u32(frame.size.y);
        if r < 0.75 {
            // One pixel: the one the point falls in.
            let p = vec2<u32>(floor(centre));
            if p.x < w && p.y < hgt {
                splat(p.y * frame.width + p.x, key_depth, colour, colour_pass);
            }
            continue;
        }
        // A disc of radius r: the pixels whose centre it covers (as the splat's fragment test).
        let lo = vec2<i32>(floor(centre - vec2<f32>(r)));
        let hi = vec2<i32>(floor(centre + vec2<f32>(r)));
        for (var y = max(lo.y, 0); y <= min(hi.y, i32(hgt) - 1); y++) {
            for (var x = max(lo.x, 0); x <= min(hi.x, i32(w) - 1); x++) {
                let d = vec2<f32>(f32(x) + 0.5, f32(y) + 0.5) - centre;
                if dot(d, d) <= r * r {
                    splat(u32(y) * frame.width + u32(x), key_depth, colour, colour_pass);
                }
            }
        }
    }
}

@compute @workgroup_size(256)
fn project(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
    rasterize(group.x, thread, false);
}

@compute @workgroup_size(256)
fn shade(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
    rasterize(group.x, thread, true);
}
