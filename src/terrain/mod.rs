//! Terrain: height models of the ground and of what stands on it, from the LiDAR. Networks
//! drape on them; the scenarios (flood, sun, radio) read them.

pub mod ground;

pub use ground::GroundModel;
