//! Point clouds: LAS/LAZ/COPC reading, COPC writing, the octree and level-of-detail selection
//! (pure, on bytes), and [`PointCloudPlugin`], which streams them to the GPU.
//!
//! Pure modules: `las`, `copc`, `check`, `convert`, `format`, `info`, `octree`, `lod`, `cache`, `fetch`,
//! `style`, `open`, `tiles`, `vpc`. Bevy modules: `streaming` (systems) and `render` (the splat pipeline).

pub mod check;
pub mod convert;
pub mod copc;
pub mod fetch;
pub mod format;
pub mod info;
pub mod las;
pub mod layer;
pub mod lod;
pub mod octree;
pub mod open;
pub mod render;
pub mod streaming;
pub mod style;
#[cfg(not(target_arch = "wasm32"))]
pub mod tiles;
pub mod vpc;

pub use copc::{Attributes, CopcReader, NodeDecoder, PointChunk};
pub use layer::{Layer, StreamSource};
pub use lod::{PointBudget, Selection, select_nodes};
pub use octree::{Hierarchy, VoxelKey};
pub use streaming::{PointCloudSettings, PointClouds};

use bevy::prelude::*;

/// Streams point-cloud layers to the GPU: the layers and settings are given up front; the
/// panel and the camera change them at run time.
pub struct PointCloudPlugin {
    pub settings: PointCloudSettings,
}

impl Plugin for PointCloudPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.settings.clone());
        render::plugin(app);
        streaming::plugin(app);
        crate::camera::add_picker(app, |world, eye, direction| {
            let clip = world
                .get_resource::<crate::camera::ClipVolume>()
                .map(|c| c.0.clone())
                .unwrap_or_default();
            world
                .get_resource::<PointClouds>()?
                .pick(eye, direction, 0.004, &clip)
        });
    }
}
