//! Simulation scenarios: pure, deterministic functions over the terrain ([`crate::terrain`])
//! read from versioned scenario files, run headless by `jumeau scenario run`.
//!
//! - [`consultation`]: a public consultation's opinions: the append-only journal, its export.
//! - [`file`]: the scenario file (TOML, `schemas/scenario.schema.json`).
//! - [`flood`]: connection levels by priority flood, water depths at a level.
//! - [`sun`]: the sun's position (SPA), shadows and hours of sun on the DSM.
//! - [`buildings`]: footprints from the terrain, the per-building table (CSV, GeoJSON).
//! - [`meshes`]: building tilesets and models rasterised into the terrain's surface.
//! - [`radio`], [`sites`]: radio coverage (P.525, P.526, TR 36.814) and its antennas.
//! - [`rollout`]: the fibre roll-out: buildings served by quarter, phases moved.
//! - [`kiosk`]: the consultation kiosk's rules: its `[kiosk]`, the visitor's session (attract,
//!   visit, idle warning, reset), the staff PIN's hash.
//! - [`map`]: a result drawn over the shaded surface with its legend.
//! - [`project`]: the view a project file keeps (camera, style, bookmarks, annotations,
//!   measurements, clip).
//! - [`run`]: a scenario file's territory, each scenario's result, the files written.
//! - [`view`]: [`view::ScenarioPlugin`], the runs off the main thread and the overlays in the
//!   3D view (Bevy; the modules above never import it).
//! - [`tools`]: the radio tools of the 3D view: a point-to-point link, sites edited with the
//!   mouse (what if).

pub mod buildings;
pub mod consultation;
pub mod file;
pub mod flood;
pub mod kiosk;
pub mod map;
pub mod meshes;
pub mod project;
pub mod radio;
pub mod rollout;
pub mod run;
pub mod sites;
pub mod sun;
pub mod tools;
pub mod view;

pub use file::{Scenario, ScenarioFile, ScenarioFileError, ScenarioKind};
