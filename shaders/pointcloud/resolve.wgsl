// The compute rasterizer's resolve pass: a full-screen triangle drawn after the opaque meshes
// that turns each hit pixel into colour and depth, tested against and written into the main
// pass's depth, so points and meshes occlude each other. Alpha carries the log-depth for eye-dome
// lighting as the splat path's fragment shader does.
// Must match src/pointcloud/render/compute.rs and the pixel layout of raster.wgsl.
#import jumeau::colour::srgb_to_linear

struct Resolve {
    clip_from_view: mat4x4<f32>,
    width: u32,
    edl: u32,
    edl_log2_reference: f32,
};

@group(0) @binding(0) var<uniform> resolve: Resolve;
@group(0) @binding(1) var<storage, read> pixels: array<vec2<u32>>;

@vertex
fn vertex(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let uv = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

struct Fragment {
    @location(0) colour: vec4<f32>,
    @builtin(frag_depth) depth: f32,
};

@fragment
fn fragment(@builtin(position) position: vec4<f32>) -> Fragment {
    let p = vec2<u32>(position.xy);
    let pixel = pixels[p.y * resolve.width + p.x];
    if pixel.y == 0u {
        discard;
    }
    let view_depth = bitcast<f32>(~pixel.y);
    let clip = resolve.clip_from_view * vec4<f32>(0.0, 0.0, -view_depth, 1.0);
    var out: Fragment;
    out.depth = clip.z / clip.w;
    let c = pixel.x;
    let rgb = srgb_to_linear(vec3<f32>(f32(c & 0xffu), f32((c >> 8u) & 0xffu), f32((c >> 16u) & 0xffu)) / 255.0);
    var alpha = 1.0;
    if resolve.edl != 0u {
        let d = log2(max(view_depth, 1e-6)) - resolve.edl_log2_reference;
        alpha = select(d, 1e-6, abs(d) < 1e-6);
    }
    out.colour = vec4<f32>(rgb, alpha);
    return out;
}
