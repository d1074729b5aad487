//! The front ends: what the user names, opened into one twin ([`inputs`], [`opening`]), the
//! viewer window ([`app`]), the offscreen renderer ([`headless`]), the panel ([`ui`]), the
//! consultation kiosk ([`kiosk`]) and the web page ([`embed`], `web`).

pub mod app;
pub mod decorate;
pub mod embed;
pub mod error;
#[cfg(not(target_arch = "wasm32"))]
pub mod headless;
pub mod inputs;
pub mod kiosk;
pub mod measure;
pub mod opening;
pub mod paths;
pub mod profile;
pub mod project;
#[cfg(not(target_arch = "wasm32"))]
pub mod soak;
pub mod twin;
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod web;
