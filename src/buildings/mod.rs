//! Buildings: glTF models and 3D Tiles tilesets beside the point clouds, in the same world frame
//! and under the same memory budget, streamed by screen-space error and pickable.
//!
//! | step | module |
//! |---|---|
//! | formats | [`tiles3d::tileset`] (tileset.json 1.0/1.1, URI safety), [`tiles3d::implicit`] (subtrees), [`tiles3d::content`] (b3dm/i3dm/pnts/cmpt), [`gltf`] (GLB incl. meshopt, quantization, feature metadata), [`gltf::write`] |
//! | model | [`model`] (decoded models), [`tiles3d::traverse`] (SSE selection), [`bake`] (into the twin frame, picking), [`style`] |
//! | engine | [`BuildingsPlugin`]: [`streaming`] systems, click-to-pick |

pub mod bake;
pub mod clip;
pub mod contents;
pub mod gltf;
pub mod layer;
pub mod model;
pub mod open;
pub mod streaming;
pub mod style;
pub mod tiles3d;

use crate::camera::{CameraInput, ViewerCamera, left_click};
use bevy::prelude::*;
use streaming::Buildings;

/// Streams building layers and lets the user pick a building.
pub struct BuildingsPlugin;

impl Plugin for BuildingsPlugin {
    fn build(&self, app: &mut App) {
        streaming::plugin(app);
        clip::plugin(app);
        app.add_systems(Update, pick_on_click);
        crate::camera::add_picker(app, |world, eye, direction| {
            let clip = world.get_resource::<crate::camera::ClipVolume>()?;
            let picked = world
                .get_resource::<Buildings>()?
                .pick(eye, direction, &clip.0)?;
            Some(picked.point)
        });
    }
}

/// A left click (not a drag) picks the building under the cursor; a click on nothing clears it.
pub(crate) fn pick_on_click(
    buttons: Res<ButtonInput<MouseButton>>,
    input: Option<Res<CameraInput>>,
    windows: Query<&Window>,
    mut pressed_at: Local<Option<Vec2>>,
    buildings: Option<ResMut<Buildings>>,
    cameras: Query<(&ViewerCamera, &Camera, &GlobalTransform)>,
    clip: Option<Res<crate::camera::ClipVolume>>,
) {
    let clip = clip.map(|c| c.0.clone()).unwrap_or_default();
    let Some(mut buildings) = buildings else {
        return;
    };
    let cursor = windows.iter().find_map(Window::cursor_position);
    let Some(cursor) = left_click(&buttons, cursor, &mut pressed_at, input.as_deref()) else {
        return;
    };
    for (rig, camera, transform) in &cameras {
        let Ok(ray) = camera.viewport_to_world(transform, cursor) else {
            continue;
        };
        let d = ray.direction;
        let direction = crate::georef::crs_from_world([d.x, d.y, d.z]);
        let picked = buildings.pick(rig.eye(), direction, &clip);
        if buildings.picked != picked {
            buildings.picked = picked;
        }
    }
}
