//! Simulation scenarios: pure, deterministic functions over the terrain ([`crate::terrain`])
//! read from versioned scenario files, run headless by `jumeau scenario run`.
//!
//! - [`file`]: the scenario file (TOML, `schemas/scenario.schema.json`).
//! - [`flood`]: connection levels by priority flood, water depths at a level.
//! - [`sun`]: the sun's position (SPA), shadows and hours of sun on the DSM.

pub mod file;
pub mod flood;
pub mod sun;

pub use file::{Scenario, ScenarioFile, ScenarioFileError, ScenarioKind};
