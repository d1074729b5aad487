// Scenario overlays (unlit, translucent) clipped to one side of the split view's divider.
// Must match `SplitClip` in src/scenario/view.rs.
#import bevy_pbr::{
    pbr_fragment::pbr_input_from_standard_material,
    pbr_functions::{alpha_discard, main_pass_post_lighting_processing},
    forward_io::{VertexOutput, FragmentOutput},
}

struct SplitClip {
    // xyz: normal of the divider's plane through the eye (the render frame's origin), pointing
    // to the right half of the screen; w: +1 keeps the right half, -1 the left, 0 everything.
    plane: vec4<f32>,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(100) var<uniform> clip: SplitClip;

@fragment
fn fragment(in: VertexOutput, @builtin(front_facing) is_front: bool) -> FragmentOutput {
    if dot(in.world_position.xyz, clip.plane.xyz) * clip.plane.w < 0.0 {
        discard;
    }
    var pbr_input = pbr_input_from_standard_material(in, is_front);
    pbr_input.material.base_color = alpha_discard(pbr_input.material, pbr_input.material.base_color);
    var out: FragmentOutput;
    out.color = main_pass_post_lighting_processing(pbr_input, pbr_input.material.base_color);
    return out;
}
