//! Network overlays: the fibre/radio network model and its readers (GeoJSON, incl. OFDS).

pub mod drape;
pub mod ingest;
pub mod model;
