//! Network overlays: fibre and radio networks beside the point clouds and buildings.
//!
//! | step | module |
//! |---|---|
//! | formats | [`ingest`] (GeoJSON incl. legacy `crs` and the Open Fibre Data Standard), [`csv`] (CSV with a TOML mapping of its columns), `open` (files and URLs into draped layers) |
//! | model | [`model`] (sites, spans, status, dates), [`drape`] (ground model from LiDAR class 2, heights), [`overlay`] (filter, colours, chunk geometry, picking, labels) |
//! | engine | [`render::NetworkPlugin`]: loading off the main thread, overlay material, picking |

pub mod csv;
pub mod drape;
pub mod ingest;
pub mod model;
pub mod open;
pub mod overlay;
pub mod render;
