// Eye-dome lighting: darkens each pixel by how much nearer its neighbours are, which outlines
// shapes in a point cloud without normals (Boucheny 2009, as in Potree/CloudCompare).
// The point shader stores log2(view depth / focus distance) in the alpha of the HDR target:
// values near 0 keep f16 precision; exactly 0 is the background.
// Must match `EyeDomeLighting` in src/pointcloud/render/edl.rs.
#import bevy_core_pipeline::fullscreen_vertex_shader::FullscreenVertexOutput

@group(0) @binding(0) var screen_texture: texture_2d<f32>;
@group(0) @binding(1) var texture_sampler: sampler;

struct EyeDomeLighting {
    strength: f32,
    radius_px: f32,
    _padding: vec2<f32>,
};
@group(0) @binding(2) var<uniform> settings: EyeDomeLighting;

@fragment
fn fragment(in: FullscreenVertexOutput) -> @location(0) vec4<f32> {
    let size = vec2<i32>(textureDimensions(screen_texture));
    let p = vec2<i32>(in.position.xy);
    let center = textureLoad(screen_texture, p, 0);
    if center.a == 0.0 {
        return vec4<f32>(center.rgb, 1.0);
    }
    let r = max(i32(round(settings.radius_px)), 1);
    var offsets = array<vec2<i32>, 8>(
        vec2<i32>(1, 0), vec2<i32>(-1, 0), vec2<i32>(0, 1), vec2<i32>(0, -1),
        vec2<i32>(1, 1), vec2<i32>(-1, -1), vec2<i32>(1, -1), vec2<i32>(-1, 1),
    );
    var response = 0.0;
    for (var i = 0; i < 8; i++) {
        let q = clamp(p + offsets[i] * r, vec2<i32>(0), size - vec2<i32>(1));
        let neighbour = textureLoad(screen_texture, q, 0).a;
        if neighbour != 0.0 {
            response += max(0.0, center.a - neighbour);
        }
    }
    let shade = exp(-response / 8.0 * 300.0 * settings.strength);
    return vec4<f32>(center.rgb * shade, 1.0);
}
