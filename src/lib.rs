//! # Jumeau — a territorial digital-twin engine
//!
//! Jumeau streams LiDAR point clouds (LAS/LAZ/COPC) and building models (glTF, 3D Tiles) into a
//! 3D twin of a territory. This crate is
//! organised in layers, data flowing top to bottom:
//!
//! | layer | modules |
//! |---|---|
//! | sources | [`io`]: file, HTTP range requests, memory, the browser's `fetch` ([`io::fetch_cache`]) — one [`io::ByteSource`] trait; [`jobs`]: the worker pool |
//! | formats | [`pointcloud::las`] (LAS/LAZ), [`pointcloud::copc`] (COPC read), [`pointcloud::convert`] (COPC write) |
//! | model | [`pointcloud::octree`], [`pointcloud::lod`] (`select_nodes`), [`georef`] (CRS) |
//! | model | [`pointcloud::cache`] (LRU), [`pointcloud::fetch`] (worker pool), [`pointcloud::style`] |
//! | buildings | [`buildings`]: 3D Tiles ([`buildings::tiles3d`]), glTF ([`buildings::gltf`]), baking into the twin frame, [`buildings::BuildingsPlugin`] |
//! | network | [`network`]: the network model (sites, spans), GeoJSON / OFDS / CSV ingest, draping, the overlay |
//! | engine | [`pointcloud::PointCloudPlugin`] ([`pointcloud::streaming`] systems, [`pointcloud::render`]: splats and the compute rasterizer), [`camera`], [`ui`] |
//! | front ends | [`inputs`] (what the user names, opened into one twin), [`opening`] (opened off the main thread while the twin runs), [`app`] (viewer window), [`headless`] (offscreen PNG), [`cli`]: `jumeau view/render/info/convert/bench`; `web` (the page's canvas, configured by [`embed`]) |
//!
//! Model code is pure: no GPU, no window, no blocking I/O outside [`io`]. Only
//! `pointcloud::render` touches Bevy's render internals.

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod buildings;
pub mod camera;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod demo;
pub mod front;
pub mod georef;
pub mod io;
pub mod jobs;
pub mod network;
pub mod pointcloud;
pub mod spatial;
#[cfg(test)]
pub(crate) mod testdata;

pub use camera::CameraControllerPlugin;
pub use front::twin::{JumeauPlugin, camera_bundle, open};
pub use front::ui::PanelPlugin;
