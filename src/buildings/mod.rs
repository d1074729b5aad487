//! Buildings: glTF models and 3D Tiles tilesets beside the point clouds, in the same world frame
//! and under the same memory budget.

pub mod bake;
pub mod model;
