// Colour helpers shared by Jumeau's shaders (registered by `pointcloud::render::plugin`).
#define_import_path jumeau::colour

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let low = c / 12.92;
    let high = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(high, low, c <= vec3<f32>(0.04045));
}

// Same stops as `style::elevation_ramp` (sRGB).
fn ramp(t_in: f32) -> vec3<f32> {
    let t = clamp(t_in, 0.0, 1.0) * 4.0;
    let i = min(u32(floor(t)), 3u);
    let f = t - f32(i);
    var stops = array<vec3<f32>, 5>(
        vec3<f32>(0.19, 0.21, 0.58),
        vec3<f32>(0.13, 0.57, 0.77),
        vec3<f32>(0.35, 0.72, 0.29),
        vec3<f32>(0.98, 0.85, 0.22),
        vec3<f32>(0.84, 0.19, 0.15),
    );
    return mix(stops[i], stops[i + 1u], f);
}

fn linear_to_srgb(c: vec3<f32>) -> vec3<f32> {
    let low = c * 12.92;
    let high = 1.055 * pow(c, vec3<f32>(1.0 / 2.4)) - 0.055;
    return select(high, low, c <= vec3<f32>(0.0031308));
}
