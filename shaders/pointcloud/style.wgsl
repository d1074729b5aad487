// The style of a point layer, shared by the splat material and the compute rasterizer
// (registered by `pointcloud::render::plugin`). Must match `PointStyleUniform` in
// src/pointcloud/render/mod.rs.
#define_import_path jumeau::point_style

#import jumeau::clip::Clip

struct PointStyle {
    // Linear RGB of each classification code.
    palette: array<vec4<f32>, 256>,
    // Visible classes: bit `c % 32` of word `c / 32`.
    class_visible: array<vec4<u32>, 2>,
    color_mode: u32,
    point_size_px: f32,
    adaptive: u32,
    elevation_min: f32,
    elevation_max: f32,
    intensity_max: f32,
    opacity: f32,
    // 1: write log2(view depth / reference depth) as alpha for the eye-dome lighting pass.
    edl: u32,
    // log2 of the camera's focus distance: log-depths near 0 keep f16 precision.
    edl_log2_reference: f32,
    // What the view clips away, in the render frame.
    clip: Clip,
};
