//! Point clouds: LAS/LAZ/COPC reading, COPC writing, the octree and level-of-detail selection.
//!
//! Everything here is pure Rust on bytes (no GPU, no window); the viewer's streaming and render
//! code builds on it.

pub mod convert;
pub mod copc;
pub mod format;
pub mod info;
pub mod las;
pub mod lod;
pub mod octree;

pub use copc::{Attributes, CopcReader, PointChunk};
pub use lod::{PointBudget, Selection, View, select_nodes};
pub use octree::{Hierarchy, VoxelKey};
