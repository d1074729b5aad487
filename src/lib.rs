//! # Jumeau — a territorial digital-twin engine
//!
//! Jumeau streams LiDAR point clouds (LAS/LAZ/COPC), building models (glTF, 3D Tiles) and network
//! overlays into a GPU-rendered 3D twin of a territory. Another Bevy app adds the twin with
//! [`JumeauPlugin`] and opens data with [`open`] (see `examples/embed_in_bevy_app.rs`); the
//! camera controller ([`CameraControllerPlugin`]) and the panel ([`PanelPlugin`]) are optional.
//!
//! Imports point down only (`scripts/check_layers.py` fails CI otherwise):
//!
//! | layer | modules |
//! |---|---|
//! | command line | [`cli`]: `jumeau view/render/info/convert/crs/demo/bench` |
//! | benchmarks | [`bench`]: convert, select, render, network, tiles, vpc |
//! | front ends | [`front`]: the twin as a plugin ([`front::twin`]), inputs opened off the main thread ([`front::inputs`], [`front::opening`]), the window ([`front::app`]), offscreen PNG ([`front::headless`]), the panel ([`front::ui`]), the web page ([`front::embed`], `front::web`) |
//! | demo | [`demo`]: the procedural town's scan, buildings and network, written as real files |
//! | capabilities | [`pointcloud`] (LAS/LAZ/COPC read and write, octree, level of detail, streaming, splats and the compute rasterizer), [`buildings`] (glTF, 3D Tiles, baking, streaming, picking), [`network`] (GeoJSON/OFDS/CSV ingest, draping, overlay), [`camera`] (the rig, the controller, picking through the capabilities' pickers), [`terrain`] (ground models from the LiDAR) |
//! | base | [`spatial`] (one box, one view, the LRU, retry back-off), [`georef`] (CRS, ECEF, vertical datum), [`io`] (files, HTTP ranges, memory, the browser's fetch), [`jobs`] (the worker pool) |
//!
//! Within a capability, model code (formats, layers, selection) is pure: no GPU, no window, no
//! blocking I/O outside [`io`], and it never imports the capability's Bevy systems
//! (`streaming`, `render`), which drive it.

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
pub mod scenario;
pub mod spatial;
pub mod terrain;
#[doc(hidden)]
pub mod testdata;

pub use camera::CameraControllerPlugin;
pub use front::error::Error;
pub use front::twin::{JumeauPlugin, camera_bundle, open};
pub use front::ui::PanelPlugin;
