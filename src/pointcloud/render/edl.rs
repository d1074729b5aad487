//! Eye-dome lighting as a full-screen pass after the points.
//!
//! # How it works
//! With EDL on, the splat shader writes `log2(view depth / focus distance)` into the alpha
//! channel of the camera's HDR target (f16: values near 0 keep their precision; the clear
//! colour's alpha 0 marks the background). This pass (`shaders/pointcloud/edl.wgsl`)
//! compares each pixel's log-depth with 8 neighbours at `radius_px` and darkens it by how much
//! nearer they are. It only needs the colour target, so it runs on WebGL2 too.

use bevy::core_pipeline::fullscreen_material::{FullscreenMaterial, FullscreenMaterialPlugin};
use bevy::prelude::*;
use bevy::render::extract_component::ExtractComponent;
use bevy::render::render_resource::ShaderType;
use bevy::shader::ShaderRef;

use bevy::asset::uuid_handle;

/// The EDL shader, embedded.
pub const EDL_SHADER: Handle<Shader> = uuid_handle!("0d6f3a2e-91c4-4f7b-8a55-3c2e1b7d9f60");

/// EDL settings on a camera; remove the component to turn EDL off.
/// Must match `EyeDomeLighting` in `shaders/pointcloud/edl.wgsl`.
#[derive(Component, ExtractComponent, Clone, Copy, ShaderType, Debug, PartialEq)]
pub struct EyeDomeLighting {
    pub strength: f32,
    pub radius_px: f32,
    pub _padding: Vec2,
}

impl Default for EyeDomeLighting {
    fn default() -> Self {
        Self {
            strength: 1.0,
            radius_px: 1.4,
            _padding: Vec2::ZERO,
        }
    }
}

impl FullscreenMaterial for EyeDomeLighting {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(EDL_SHADER)
    }
}

pub(crate) fn plugin(app: &mut App) {
    super::register_shader(
        app,
        &EDL_SHADER,
        include_str!("../../../shaders/pointcloud/edl.wgsl"),
        "shaders/pointcloud/edl.wgsl",
    );
    app.add_plugins(FullscreenMaterialPlugin::<EyeDomeLighting>::default());
}
