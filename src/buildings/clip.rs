//! The buildings' material: Bevy's standard material extended with the view's clip volume
//! (`shaders/buildings/clip.wgsl` discards what it cuts away). The streaming moves the clip
//! into each content's materials when it or the eye changes.

use crate::pointcloud::render::clip::ClipUniform;
use bevy::pbr::{ExtendedMaterial, MaterialExtension};
use bevy::prelude::*;
use bevy::render::render_resource::AsBindGroup;
use bevy::shader::ShaderRef;

/// A building part's material.
pub type BuildingMaterial = ExtendedMaterial<StandardMaterial, BuildingClip>;

/// The clip volume of a building material. Must match `clip` in `shaders/buildings/clip.wgsl`.
#[derive(Asset, AsBindGroup, TypePath, Debug, Clone, Default)]
pub struct BuildingClip {
    #[uniform(100)]
    pub clip: ClipUniform,
}

impl MaterialExtension for BuildingClip {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(BUILDING_SHADER)
    }
}

/// The buildings' fragment shader, embedded.
pub const BUILDING_SHADER: Handle<Shader> =
    bevy::asset::uuid_handle!("8d2f6b3a-1c47-4e95-b0a8-3e7d5c9f2a61");

/// A building material from a standard one, clipped like the rest of the view.
pub fn building_material(base: StandardMaterial, clip: ClipUniform) -> BuildingMaterial {
    BuildingMaterial {
        base,
        extension: BuildingClip { clip },
    }
}

pub(crate) fn plugin(app: &mut App) {
    crate::pointcloud::render::register_shader(
        app,
        &BUILDING_SHADER,
        include_str!("../../shaders/buildings/clip.wgsl"),
        "shaders/buildings/clip.wgsl",
    );
    app.add_plugins(MaterialPlugin::<BuildingMaterial>::default());
}
