//! A building layer as a model: one tileset (or a lone glTF model wrapped as a one-tile tileset)
//! placed in the twin, its bounds, and the names of its contents. Pure: the streaming systems
//! ([`super::streaming`]) drive it.

use super::bake::Placement;
use super::tiles3d::tileset::{TileId, TileUri, Tileset};
use super::tiles3d::traverse::ContentKey;
use crate::spatial::Aabb as CrsAabb;
use crate::spatial::Failure;
use bevy::math::{DMat4, DVec3};
use std::collections::HashMap;

/// A tile content of a layer: what the cache and the entities are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId {
    pub layer: u16,
    pub tile: u32,
    pub content: u16,
}

impl ContentId {
    pub(crate) fn new(layer: usize, key: ContentKey) -> Self {
        Self {
            layer: layer as u16,
            tile: key.tile.0,
            content: key.content as u16,
        }
    }

    pub(crate) fn key(self) -> ContentKey {
        ContentKey {
            tile: TileId(self.tile),
            content: self.content as u32,
        }
    }
}

/// One tileset (or a lone glTF model wrapped as a one-tile tileset) in the twin.
pub struct BuildingLayer {
    pub name: String,
    pub visible: bool,
    pub tileset: Tileset,
    pub placement: Placement,
    /// Affine maps between the tileset frame and the CRS at the tileset's centre (views).
    pub(crate) crs_from_frame: DMat4,
    pub(crate) frame_from_crs: DMat4,
    /// Bounds of the root tile in the CRS.
    pub bounds: Option<CrsAabb>,
    pub(crate) failures: HashMap<ContentId, Failure>,
}

impl BuildingLayer {
    pub fn new(
        name: impl Into<String>,
        tileset: Tileset,
        placement: Placement,
    ) -> Result<Self, String> {
        let root = tileset
            .tile(tileset.root())
            .ok_or("the tileset has no root tile")?;
        let crs_from_frame = placement.crs_from_frame_affine(root.bounds.sphere.center)?;
        let bounds = content_bounds(&tileset, &placement)?;
        Ok(Self {
            name: name.into(),
            visible: true,
            tileset,
            placement,
            crs_from_frame,
            frame_from_crs: crs_from_frame.inverse(),
            bounds,
            failures: HashMap::new(),
        })
    }

    /// The traversal view of a camera given in the CRS.
    /// The camera in the tileset's root frame (the CRS map linearised at the tileset's centre).
    pub(crate) fn frame_view(&self, view: &crate::spatial::View) -> crate::spatial::View {
        view.in_frame(self.crs_from_frame, self.frame_from_crs)
    }
}

/// The first tile that has content or several children.
pub fn content_tile(tileset: &Tileset) -> TileId {
    let mut id = tileset.root();
    while let Some(tile) = tileset.tile(id) {
        match tile.children.as_slice() {
            [only] if tile.contents.is_empty() => id = *only,
            _ => break,
        }
    }
    id
}

/// Where a tileset's content is, CRS: the box of the first tile that has content or several
/// children (tilesets often wrap one content in a chain of much larger empty tiles, which would
/// frame the camera on a whole country).
fn content_bounds(tileset: &Tileset, placement: &Placement) -> Result<Option<CrsAabb>, String> {
    let Some(tile) = tileset.tile(content_tile(tileset)) else {
        return Ok(None);
    };
    let obb = &tile.bounds.obb;
    let mut corners = Vec::with_capacity(8);
    for i in 0..8 {
        let sign = |bit: usize| if i & (1 << bit) == 0 { -1.0 } else { 1.0 };
        let corner = obb.center
            + obb.half_axes[0] * sign(0)
            + obb.half_axes[1] * sign(1)
            + obb.half_axes[2] * sign(2);
        corners.push(placement.crs_from_frame(corner)?);
    }
    let min = corners.iter().fold(DVec3::INFINITY, |a, c| a.min(*c));
    let max = corners.iter().fold(DVec3::NEG_INFINITY, |a, c| a.max(*c));
    Ok((min.is_finite() && max.is_finite()).then_some(CrsAabb { min, max }))
}

/// Reads a resolved tile URI (file or HTTP).
pub fn fetch(uri: &TileUri) -> Result<Vec<u8>, String> {
    let source = crate::io::open(uri.as_str()).map_err(|e| e.to_string())?;
    source.read_all().map_err(|e| e.to_string())
}
