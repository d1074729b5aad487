//! 3D Tiles: the tileset model, implicit tiling and screen-space-error traversal.

pub mod content;
pub mod implicit;
pub mod tileset;
pub mod traverse;
