//! What a project file keeps of the view (pure): the camera, the point style, each layer's
//! visibility and opacity, bookmarks (named views with captions), annotations (text pinned at
//! a place), measurements and the clip volume. A scenario file with these keys is a *project*:
//! `jumeau view project.toml` opens it as it was saved, and the panel's Save writes them back.
//! Every coordinate is in the twin CRS.

use crate::pointcloud::style::ColorMode;
use crate::spatial::Clipping;
use serde::{Deserialize, Serialize};

/// A camera: where the eye is and what it looks at.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSpec {
    pub eye: [f64; 3],
    pub target: [f64; 3],
}

/// A named view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bookmark {
    pub name: String,
    /// What the tour (and the kiosk) shows under it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub caption: String,
    pub eye: [f64; 3],
    pub target: [f64; 3],
}

impl Bookmark {
    pub fn camera(&self) -> CameraSpec {
        CameraSpec {
            eye: self.eye,
            target: self.target,
        }
    }
}

/// Text pinned at a place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotation {
    pub text: String,
    pub at: [f64; 3],
}

/// What a saved measurement measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeasurementKind {
    Point,
    Distance,
    Polyline,
    Polygon,
}

impl MeasurementKind {
    /// The fewest vertices it takes.
    pub fn min_points(self) -> usize {
        match self {
            MeasurementKind::Point => 1,
            MeasurementKind::Distance | MeasurementKind::Polyline => 2,
            MeasurementKind::Polygon => 3,
        }
    }
}

/// A saved measurement: its kind and vertices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedMeasurement {
    pub kind: MeasurementKind,
    pub points: Vec<[f64; 3]>,
}

/// How points are drawn.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<ColorMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_size_px: Option<f32>,
    /// Classification codes not drawn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_classes: Vec<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edl: Option<bool>,
}

impl StyleSpec {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A layer's state, matched by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    pub name: String,
    #[serde(default = "yes")]
    pub visible: bool,
    #[serde(default = "one")]
    pub opacity: f32,
}

fn yes() -> bool {
    true
}

fn one() -> f32 {
    1.0
}

/// The view state a project holds: each part as the scenario file's top-level key of the same
/// name.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProjectState {
    pub camera: Option<CameraSpec>,
    pub style: StyleSpec,
    pub layers: Vec<LayerSpec>,
    pub bookmarks: Vec<Bookmark>,
    pub annotations: Vec<Annotation>,
    pub measurements: Vec<SavedMeasurement>,
    pub clip: Clipping,
}

impl ProjectState {
    /// What is wrong with it, in words naming the part (`bookmarks[2]: …`).
    pub fn check(&self) -> Result<(), String> {
        let finite = |p: &[f64; 3]| p.iter().all(|v| v.is_finite());
        if let Some(c) = &self.camera
            && (!finite(&c.eye) || !finite(&c.target) || c.eye == c.target)
        {
            return Err("camera: the eye and the target must be two distinct places".into());
        }
        for (i, b) in self.bookmarks.iter().enumerate() {
            if b.name.trim().is_empty() {
                return Err(format!("bookmarks[{i}]: a bookmark needs a name"));
            }
            if b.eye == b.target || !finite(&b.eye) || !finite(&b.target) {
                return Err(format!(
                    "bookmarks[{i}] ({}): the eye and the target must be two distinct places",
                    b.name
                ));
            }
        }
        for (i, m) in self.measurements.iter().enumerate() {
            if m.points.len() < m.kind.min_points() {
                return Err(format!(
                    "measurements[{i}]: a {:?} needs at least {} points, it has {}",
                    m.kind,
                    m.kind.min_points(),
                    m.points.len()
                ));
            }
        }
        if let Some(size) = self.style.point_size_px
            && !(size > 0.0 && size <= 64.0)
        {
            return Err(format!("style.point_size_px: {size} is not within 0–64 px"));
        }
        for (i, l) in self.layers.iter().enumerate() {
            if !(0.0..=1.0).contains(&l.opacity) {
                return Err(format!(
                    "layers[{i}] ({}): opacity {} is not within 0–1",
                    l.name, l.opacity
                ));
            }
        }
        self.clip.check().map_err(|e| format!("clip: {e}"))
    }
}
