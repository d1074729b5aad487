//! 3D Tiles: the tileset model, implicit tiling and screen-space-error traversal.

pub mod content;
pub mod tileset;
pub mod traverse;

pub use tileset::implicit;

#[cfg(test)]
mod tests;
