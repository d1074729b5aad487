//! Terrain: height models of the ground and of what stands on it, from the LiDAR or from
//! GeoTIFF. Networks drape on them; the scenarios (flood, sun, radio) read them.

pub mod build;
pub mod dem;
pub mod geotiff;
pub mod ground;
pub mod measure;
pub mod mesh;
pub mod profile;
pub mod raster;

pub use dem::TerrainModels;
pub use ground::GroundModel;
pub use raster::{Grid, Raster};
