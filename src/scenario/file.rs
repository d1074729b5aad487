//! Scenario files (pure): versioned TOML naming the data, the terrain and the scenarios to
//! run, parsed strictly so that a typo is an error naming its file, line and key.
//!
//! The format is documented in the README and described by `schemas/scenario.schema.json`.
//! Version 1 is the first: a later version adds a `migrate_from_N` step here, and a test.

use super::flood::FloodMode;
use super::project::{
    Annotation, Bookmark, CameraSpec, LayerSpec, ProjectState, SavedMeasurement, StyleSpec,
};
use super::sun::{self, SunError};
use crate::network::model::Day;
use crate::spatial::Clipping;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The version this Jumeau writes and reads.
pub const VERSION: u32 = 1;

/// Minutes between sun positions when a sunlight scenario does not say.
pub const DEFAULT_STEP_MINUTES: u32 = 15;

/// A scenario file as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub version: u32,
    pub name: String,
    /// Point clouds (LAS/LAZ/COPC/VPC), tilesets and GeoTIFF terrain, relative to the file.
    #[serde(default)]
    pub data: Vec<String>,
    /// The twin CRS (`EPSG:2154`) where the data does not say it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crs: Option<String>,
    #[serde(default)]
    pub terrain: TerrainSpec,
    #[serde(default)]
    pub scenarios: Vec<Scenario>,
    /// Two states shown side by side, and their difference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<Comparison>,
    // The view a project keeps (`super::project`); a plain scenario file has none of it.
    /// Where the viewer opens (default: framed on the data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<CameraSpec>,
    /// How points are drawn.
    #[serde(default, skip_serializing_if = "StyleSpec::is_empty")]
    pub style: StyleSpec,
    /// Each layer's visibility and opacity, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerSpec>,
    /// Named views with captions, in tour order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bookmarks: Vec<Bookmark>,
    /// Text pinned at places.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measurements: Vec<SavedMeasurement>,
    /// What the view clips away.
    #[serde(default, skip_serializing_if = "is_default")]
    pub clip: Clipping,
    /// The consultation kiosk (`jumeau kiosk`, the page's `embed=kiosk`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk: Option<super::kiosk::KioskSpec>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// How the terrain is made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerrainSpec {
    /// Cell edge, metres; default 0.5 m up to 4 km², coarser beyond.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_m: Option<f64>,
    /// A DTM GeoTIFF (IGN's MNT) used instead of one built from the clouds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtm: Option<String>,
    /// A DSM GeoTIFF (IGN's MNS) used instead of one built from the clouds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsm: Option<String>,
}

/// What a scenario simulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioKind {
    /// Water rising from seeds to a level.
    Flood,
    /// Shadows at one time.
    Shadow,
    /// Hours of direct sun over a day.
    Sunlight,
    /// Received radio power of the best server.
    Coverage,
    /// Buildings served by fibre over time.
    Rollout,
}

impl ScenarioKind {
    /// The kind as written in the file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flood => "flood",
            Self::Shadow => "shadow",
            Self::Sunlight => "sunlight",
            Self::Coverage => "coverage",
            Self::Rollout => "rollout",
        }
    }

    /// The keys a scenario of this kind may have besides `id`, `kind` and `title`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Flood => &["seeds", "river", "level_m", "levels_m", "mode"],
            Self::Shadow => &["at"],
            Self::Sunlight => &["date", "step_minutes", "utc_offset"],
            Self::Coverage => &[
                "resolution_m",
                "receiver_height_m",
                "sites",
                "site",
                "exclude",
                "method",
                "indoor_loss_db",
                "thresholds_dbm",
            ],
            Self::Rollout => &["network", "at", "move_phase"],
        }
    }
}

/// One simulation as written: the keys of every kind, each checked against its `kind` after
/// parsing (a flat table keeps each value's line for the errors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub kind: ScenarioKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Flood: seed points, twin CRS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<[f64; 2]>,
    /// Flood: a polyline along the river, twin CRS: every cell it crosses is a seed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub river: Vec<[f64; 2]>,
    /// Flood: water level, metres in the twin's altitude datum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_m: Option<f64>,
    /// Flood: the slider's range in the viewer, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels_m: Option<[f64; 2]>,
    /// Flood: connected (default) or a flat plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FloodMode>,
    /// Shadow: RFC 3339 time with its offset. Roll-out: the day the map shows (default: the
    /// last in-service date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Spanned<String>>,
    /// Sunlight: the day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Spanned<String>>,
    /// Sunlight: minutes between sun positions (default 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_minutes: Option<u32>,
    /// Sunlight: offset of the day's clock (`+01:00`); default: the twin's solar time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<Spanned<String>>,
    /// Coverage: cell edge of the coverage raster, metres (default 2; never finer than the
    /// terrain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_m: Option<f64>,
    /// Coverage: receiver above the ground, metres (default 1.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_height_m: Option<f64>,
    /// Coverage: a network file of `data` whose antennas transmit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<String>,
    /// Coverage: antennas written in the file (`[[scenarios.site]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub site: Vec<SiteSpec>,
    /// Coverage: ids of the network's antennas left out (what if they were removed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Coverage: `deygout` (default) or `bullington`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<super::radio::Diffraction>,
    /// Coverage: building entry loss, dB (0: receivers on the roofs of buildings, outdoor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indoor_loss_db: Option<f64>,
    /// Coverage: lower bounds of the good, fair and poor levels, dBm, falling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds_dbm: Option<[f64; 3]>,
    /// Roll-out: a network file of `data` whose buildings are served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Roll-out: phases moved to another in-service date (`{ "2027" = "2026-06-01" }`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub move_phase: std::collections::BTreeMap<String, String>,
}

/// An antenna written in a coverage scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Twin CRS.
    pub position: [f64; 2],
    /// Above the ground, metres.
    pub height_m: f64,
    pub frequency_mhz: f64,
    pub eirp_dbm: f64,
    /// Boresight, degrees clockwise from north; omitted: omnidirectional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azimuth_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beamwidth_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tilt_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical_beamwidth_deg: Option<f64>,
}

impl Scenario {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The kind as written in the file.
    pub fn kind(&self) -> &'static str {
        self.kind.name()
    }

    pub fn title(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.id)
    }

    /// The keys set in this scenario besides `id`, `kind` and `title`.
    fn keys_set(&self) -> Vec<&'static str> {
        let set = [
            ("seeds", !self.seeds.is_empty()),
            ("river", !self.river.is_empty()),
            ("level_m", self.level_m.is_some()),
            ("levels_m", self.levels_m.is_some()),
            ("mode", self.mode.is_some()),
            ("at", self.at.is_some()),
            ("date", self.date.is_some()),
            ("step_minutes", self.step_minutes.is_some()),
            ("utc_offset", self.utc_offset.is_some()),
            ("resolution_m", self.resolution_m.is_some()),
            ("receiver_height_m", self.receiver_height_m.is_some()),
            ("sites", self.sites.is_some()),
            ("site", !self.site.is_empty()),
            ("exclude", !self.exclude.is_empty()),
            ("method", self.method.is_some()),
            ("indoor_loss_db", self.indoor_loss_db.is_some()),
            ("thresholds_dbm", self.thresholds_dbm.is_some()),
            ("network", self.network.is_some()),
            ("move_phase", !self.move_phase.is_empty()),
        ];
        set.iter().filter(|(_, on)| *on).map(|(k, _)| *k).collect()
    }
}

/// Two scenario states side by side: ids of the file's scenarios, or `today` (the terrain
/// without any scenario).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub left: String,
    pub right: String,
}

/// Why a scenario file was refused. Its text names the file and, where it can, the line and
/// the key.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioFileError {
    #[error("{path}: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Semantics { path: String, message: String },
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl ScenarioFile {
    /// Reads and checks the scenario file at `path`.
    pub fn read(path: &Path) -> Result<Self, ScenarioFileError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ScenarioFileError::Unreadable {
                path: path.display().to_string(),
                source,
            })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses and checks scenario-file text; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<Self, ScenarioFileError> {
        let invalid = |span: Option<std::ops::Range<usize>>, message: String| {
            let line = span.map_or(1, |s| line_of(text, s.start));
            // serde names unknown and missing keys, not the key of a wrong value: the line
            // does.
            let key = text
                .lines()
                .nth(line - 1)
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim())
                .filter(|k| !k.is_empty() && !message.contains(k));
            ScenarioFileError::Invalid {
                path: path.to_owned(),
                line,
                message: match key {
                    Some(k) => format!("`{k}`: {message}"),
                    None => message,
                },
            }
        };
        // The version first, so that a file from a newer Jumeau says so rather than failing
        // on its new keys.
        #[derive(Deserialize)]
        struct Head {
            version: Option<Spanned<toml::Value>>,
        }
        let head: Head =
            toml::from_str(text).map_err(|e| invalid(e.span(), e.message().to_owned()))?;
        let Some(version) = head.version else {
            return Err(ScenarioFileError::Semantics {
                path: path.to_owned(),
                message: format!("no `version` key (this Jumeau reads version {VERSION})"),
            });
        };
        match version.get_ref().as_integer() {
            Some(v) if v == i64::from(VERSION) => {}
            _ => {
                return Err(invalid(
                    Some(version.span()),
                    format!(
                        "`version = {}` is not a version this Jumeau reads (it reads {VERSION})",
                        version.get_ref()
                    ),
                ));
            }
        }
        let file: Self =
            toml::from_str(text).map_err(|e| invalid(e.span(), e.message().trim().to_owned()))?;
        file.check(path, text)?;
        Ok(file)
    }

    /// The checks types cannot make: ids, levels, times.
    fn check(&self, path: &str, text: &str) -> Result<(), ScenarioFileError> {
        let semantics = |message: String| ScenarioFileError::Semantics {
            path: path.to_owned(),
            message,
        };
        let at_line = |span: std::ops::Range<usize>, message: String| ScenarioFileError::Invalid {
            path: path.to_owned(),
            line: line_of(text, span.start),
            message,
        };
        self.project().check().map_err(semantics)?;
        if let Some(kiosk) = &self.kiosk {
            let ids: Vec<&str> = self.scenarios.iter().map(|s| s.id()).collect();
            kiosk.check(&ids).map_err(semantics)?;
        }
        let mut ids = std::collections::BTreeSet::new();
        for (i, s) in self.scenarios.iter().enumerate() {
            let id = s.id();
            let valid = !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                return Err(semantics(format!(
                    "scenarios[{i}].id `{id}`: use letters, digits, `-` and `_` (it names the output files)"
                )));
            }
            if id == "today" || !ids.insert(id.to_owned()) {
                return Err(semantics(format!(
                    "scenarios[{i}].id `{id}` is used twice or reserved"
                )));
            }
            if let Some(key) = s
                .keys_set()
                .into_iter()
                .find(|k| !s.kind.keys().contains(k))
            {
                return Err(semantics(format!(
                    "scenarios[{i}] ({id}): `{key}` is not a key of a {} scenario (it takes {})",
                    s.kind(),
                    s.kind.keys().join(", ")
                )));
            }
            match s.kind {
                ScenarioKind::Flood => {
                    if s.seeds.is_empty() && s.river.is_empty() {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}): a flood needs `seeds` or a `river`"
                        )));
                    }
                    let Some(level_m) = s.level_m else {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}): a flood needs `level_m`"
                        )));
                    };
                    let finite = s
                        .seeds
                        .iter()
                        .chain(&s.river)
                        .flatten()
                        .all(|v| v.is_finite())
                        && level_m.is_finite();
                    if !finite {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}): seeds and level must be finite numbers"
                        )));
                    }
                    if let Some([lo, hi]) = s.levels_m
                        && lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less)
                    {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}).levels_m: [{lo}, {hi}] is not a rising range"
                        )));
                    }
                }
                ScenarioKind::Rollout => {
                    if s.network.is_none() {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}): a roll-out needs `network` (a network file of `data` listing buildings)"
                        )));
                    }
                    if let Some(at) = &s.at
                        && Day::parse(at.get_ref()).is_none()
                    {
                        return Err(at_line(
                            at.span(),
                            format!(
                                "scenarios[{i}] ({id}).at: `{}` is not a date (YYYY-MM-DD)",
                                at.get_ref()
                            ),
                        ));
                    }
                    if let Some((phase, date)) =
                        s.move_phase.iter().find(|(_, d)| Day::parse(d).is_none())
                    {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}).move_phase.{phase}: `{date}` is not a date (YYYY-MM-DD)"
                        )));
                    }
                }
                ScenarioKind::Shadow => {
                    let Some(at) = &s.at else {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}): a shadow scenario needs `at`"
                        )));
                    };
                    sun::parse_time(at.get_ref()).map_err(|e| {
                        at_line(at.span(), format!("scenarios[{i}] ({id}).at: {e}"))
                    })?;
                }
                ScenarioKind::Sunlight => {
                    let Some(date) = &s.date else {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}): a sunlight scenario needs `date`"
                        )));
                    };
                    sun::parse_date(date.get_ref()).map_err(|e| {
                        at_line(date.span(), format!("scenarios[{i}] ({id}).date: {e}"))
                    })?;
                    let step = s.step_minutes.unwrap_or(DEFAULT_STEP_MINUTES);
                    if !(1..=60).contains(&step) {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}).step_minutes: {step} is not between 1 and 60"
                        )));
                    }
                    if let Some(offset) = &s.utc_offset {
                        parse_offset(offset.get_ref()).map_err(|e| {
                            at_line(
                                offset.span(),
                                format!("scenarios[{i}] ({id}).utc_offset: {e}"),
                            )
                        })?;
                    }
                }
                ScenarioKind::Coverage => {
                    if s.sites.is_none() && s.site.is_empty() {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}): a coverage scenario needs `sites` (a network file) or `[[scenarios.site]]`"
                        )));
                    }
                    let positive = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v > 0.0);
                    if !positive(s.resolution_m) || !positive(s.receiver_height_m) {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}): resolution_m and receiver_height_m must be positive"
                        )));
                    }
                    if let Some([good, fair, poor]) = s.thresholds_dbm
                        && !(good > fair && fair > poor)
                    {
                        return Err(semantics(format!(
                            "scenarios[{i}] ({id}).thresholds_dbm: [{good}, {fair}, {poor}] must fall"
                        )));
                    }
                }
            }
        }
        if let Some(cmp) = &self.compare {
            for side in [&cmp.left, &cmp.right] {
                if side != "today" && !ids.contains(side.as_str()) {
                    return Err(semantics(format!(
                        "compare: `{side}` is neither a scenario id nor `today`"
                    )));
                }
            }
        }
        if let Some(r) = self.terrain.resolution_m
            && !(r.is_finite() && r > 0.0)
        {
            return Err(semantics(format!(
                "terrain.resolution_m: {r} is not a positive size"
            )));
        }
        Ok(())
    }

    /// The view it keeps (empty for a plain scenario file).
    pub fn project(&self) -> ProjectState {
        ProjectState {
            camera: self.camera,
            style: self.style.clone(),
            layers: self.layers.clone(),
            bookmarks: self.bookmarks.clone(),
            annotations: self.annotations.clone(),
            measurements: self.measurements.clone(),
            clip: self.clip.clone(),
        }
    }

    /// Keeps `state` as its view (what the panel's Save writes).
    pub fn set_project(&mut self, state: ProjectState) {
        self.camera = state.camera;
        self.style = state.style;
        self.layers = state.layers;
        self.bookmarks = state.bookmarks;
        self.annotations = state.annotations;
        self.measurements = state.measurements;
        self.clip = state.clip;
    }

    /// The file as TOML text (what [`ScenarioFile::parse`] reads back).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// `path` of the file's data resolved against the file's folder (URLs stay as they are).
    /// The data the viewer opens for this file: every `data` entry but the GeoTIFF terrain
    /// (which only the scenarios read), resolved against `base`.
    pub fn view_inputs(&self, base: &Path) -> Vec<String> {
        self.data
            .iter()
            .filter(|d| {
                let lower = d.to_ascii_lowercase();
                !(lower.ends_with(".tif") || lower.ends_with(".tiff"))
            })
            .map(|d| Self::resolve(base, d).display().to_string())
            .collect()
    }

    pub fn resolve(base: &Path, path: &str) -> PathBuf {
        if path.contains("://") || Path::new(path).is_absolute() {
            PathBuf::from(path)
        } else {
            base.join(path)
        }
    }
}

/// Parses a UTC offset such as `+01:00` or `-07:00`.
pub fn parse_offset(text: &str) -> Result<chrono::FixedOffset, SunError> {
    let bad = || SunError::Time {
        text: text.to_owned(),
    };
    let t = text.trim();
    let sign = match t.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(bad()),
    };
    let (h, m) = t[1..].split_once(':').ok_or_else(bad)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(bad)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The README's minimal form, word for word.
    pub(crate) const MINIMAL: &str = r#"version = 1
name = "Crue de référence"
data = ["tile.copc.laz", "buildings/tileset.json"]
[terrain]
resolution_m = 1.0

[[scenarios]]
id = "crue"
kind = "flood"
seeds = [[651200.0, 6861400.0]]     # twin CRS
level_m = 45.0                      # the twin's altitude datum (IGN69 for French data)

[[scenarios]]
id = "ombre"
kind = "shadow"
at = "2026-03-20T12:00:00+01:00"

[[scenarios]]
id = "ensoleillement"
kind = "sunlight"
date = "2026-03-20"
step_minutes = 15
"#;

    #[test]
    fn the_minimal_form_parses_and_round_trips() {
        let file = ScenarioFile::parse("crue.toml", MINIMAL).unwrap();
        assert_eq!(file.name, "Crue de référence");
        assert_eq!(file.data.len(), 2);
        assert_eq!(file.terrain.resolution_m, Some(1.0));
        let kinds: Vec<_> = file.scenarios.iter().map(|s| (s.id(), s.kind())).collect();
        let flood = &file.scenarios[0];
        assert_eq!(
            (flood.seeds.as_slice(), flood.level_m),
            (&[[651200.0, 6861400.0]][..], Some(45.0))
        );
        assert_eq!(
            kinds,
            [
                ("crue", "flood"),
                ("ombre", "shadow"),
                ("ensoleillement", "sunlight")
            ]
        );
        let back = ScenarioFile::parse("back.toml", &file.to_toml()).unwrap();
        // Spans differ between the two texts; the values do not.
        assert_eq!(back.to_toml(), file.to_toml());
        assert_eq!(back.scenarios.len(), 3);
    }

    /// Every part of a project's view (the keys after `name`), for the tests here and the
    /// viewer's.
    pub(crate) const PROJECT_KEYS: &str = r#"
[camera]
eye = [652100.125, 6861950.5, 180.25]
target = [652300.0, 6862100.0, 42.0]

[style]
color = "classification"
point_size_px = 3.5
hidden_classes = [7, 18]
edl = false

[[layers]]
name = "LiDAR HD"
visible = true
opacity = 0.5

[[bookmarks]]
name = "La place"
caption = "Aujourd'hui : la place du marché"
eye = [652150.0, 6861900.0, 120.0]
target = [652200.0, 6862000.0, 40.0]

[[bookmarks]]
name = "Le parc"
eye = [652400.0, 6862300.0, 90.0]
target = [652380.0, 6862250.0, 38.0]

[[annotations]]
text = "Future piste cyclable"
at = [652210.5, 6862010.25, 41.75]

[[measurements]]
kind = "polygon"
points = [[652200.0, 6862000.0, 40.0], [652230.0, 6862000.0, 40.5], [652230.0, 6862020.0, 41.0]]

[clip]
keep = "outside"
polygon = [[652190.0, 6861990.0], [652240.0, 6861990.0], [652240.0, 6862030.0]]
box = { min = [652150.0, 6861950.0, 0.0], max = [652300.0, 6862100.0, 80.0] }
section = { point = [652200.0, 6862000.0, 55.0], normal = [0.0, 0.0, 1.0] }
"#;

    #[test]
    fn a_project_keeps_every_part_of_its_view_through_a_save() {
        let text = MINIMAL.replacen("[terrain]", &format!("{PROJECT_KEYS}\n[terrain]"), 1);
        let file = ScenarioFile::parse("p.toml", &text).unwrap();
        let project = file.project();
        assert_eq!(project.bookmarks.len(), 2);
        assert_eq!(
            project.bookmarks[0].caption,
            "Aujourd'hui : la place du marché"
        );
        assert_eq!(project.clip.polygon.len(), 3);
        assert_eq!(
            project.style.color,
            Some(crate::pointcloud::style::ColorMode::Classification)
        );
        assert_eq!(project.camera.unwrap().eye, [652100.125, 6861950.5, 180.25]);
        let back = ScenarioFile::parse("back.toml", &file.to_toml()).unwrap();
        assert_eq!(back.project(), project);
        assert_eq!(back.scenarios.len(), file.scenarios.len());
        // A plain scenario file writes none of these keys.
        let plain: toml::Table =
            toml::from_str(&ScenarioFile::parse("s", MINIMAL).unwrap().to_toml()).unwrap();
        assert!(!plain.contains_key("clip") && !plain.contains_key("style"));
    }

    #[test]
    fn a_bad_project_names_the_part_that_is_wrong() {
        let project = |keys: &str| {
            let text = MINIMAL.replacen("[terrain]", &format!("{keys}\n[terrain]"), 1);
            ScenarioFile::parse("p.toml", &text)
                .unwrap_err()
                .to_string()
        };
        let err = project(
            "[[bookmarks]]\nname = \"\"\neye = [0.0, 0.0, 1.0]\ntarget = [0.0, 0.0, 0.0]\n",
        );
        assert!(
            err.contains("bookmarks[0]: a bookmark needs a name"),
            "{err}"
        );
        let err = project("[[measurements]]\nkind = \"polygon\"\npoints = [[0.0, 0.0, 0.0]]\n");
        assert!(
            err.contains("measurements[0]: a Polygon needs at least 3 points"),
            "{err}"
        );
        let err = project("[clip]\npolygon = [[0.0, 0.0], [1.0, 0.0]]\n");
        assert!(
            err.contains("clip: the clip polygon has 2 vertices"),
            "{err}"
        );
        let err = project("[clip]\nkeep = \"around\"\n");
        assert!(err.contains("around"), "{err}");
    }

    fn error_of(text: &str) -> String {
        ScenarioFile::parse("s.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn unknown_keys_wrong_types_and_versions_name_file_line_and_key() {
        let typo = MINIMAL.replace("level_m = 45.0", "levle_m = 45.0");
        let err = error_of(&typo);
        assert!(
            err.starts_with("s.toml: line 11:") && err.contains("levle_m"),
            "{err}"
        );
        let wrong_type = MINIMAL.replace("step_minutes = 15", "step_minutes = \"15\"");
        let err = error_of(&wrong_type);
        assert!(
            err.starts_with("s.toml: line 22: `step_minutes`: invalid type"),
            "{err}"
        );
        let err = error_of(&MINIMAL.replace("version = 1", "version = 7"));
        assert!(err.starts_with("s.toml: line 1: `version = 7`"), "{err}");
        let err = error_of(&MINIMAL.replace("version = 1\n", ""));
        assert!(err.contains("no `version` key"), "{err}");
        let err = error_of(&MINIMAL.replace("2026-03-20T12:00:00+01:00", "midi"));
        assert!(
            err.starts_with("s.toml: line 16: scenarios[1] (ombre).at: `midi`"),
            "{err}"
        );
        let err = error_of(&MINIMAL.replace("date = \"2026-03-20\"", "date = \"2026-13-01\""));
        assert!(
            err.contains("line 21") && err.contains("(ensoleillement).date"),
            "{err}"
        );
        let err = error_of(&MINIMAL.replace("kind = \"shadow\"", "kind = \"tsunami\""));
        assert!(err.contains("tsunami"), "{err}");
        let err =
            error_of(&MINIMAL.replace("step_minutes = 15", "step_minutes = 15\nlevel_m = 3.0"));
        assert!(
            err.contains("(ensoleillement): `level_m` is not a key of a sunlight"),
            "{err}"
        );
        let err = error_of(&MINIMAL.replace("level_m = 45.0", ""));
        assert!(err.contains("(crue): a flood needs `level_m`"), "{err}");
        let err = error_of(&MINIMAL.replace("id = \"ombre\"", "id = \"crue\""));
        assert!(err.contains("`crue` is used twice"), "{err}");
        let err = error_of(&format!(
            "{MINIMAL}\n[compare]\nleft = \"crue\"\nright = \"demain\"\n"
        ));
        assert!(err.contains("`demain` is neither"), "{err}");
    }

    #[test]
    fn every_key_of_the_schema_is_a_key_of_the_format_and_back() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/scenario.schema.json")).unwrap();
        let keys = |v: &serde_json::Value| -> std::collections::BTreeSet<String> {
            v["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        let top = keys(&schema);
        let written: toml::Table =
            toml::from_str(&ScenarioFile::parse("s", MINIMAL).unwrap().to_toml()).unwrap();
        for key in written.keys() {
            assert!(top.contains(key), "the schema lacks `{key}`");
        }
        // Each key the schema names is accepted by the parser.
        for key in &top {
            if ["version", "name", "data", "terrain", "scenarios"].contains(&key.as_str()) {
                continue;
            }
            let value = match key.as_str() {
                "crs" => "\"EPSG:2154\"".to_owned(),
                "compare" => "{ left = \"crue\", right = \"today\" }".to_owned(),
                "camera" => "{ eye = [1.0, 2.0, 300.0], target = [1.0, 3.0, 0.0] }".to_owned(),
                "style" => "{ color = \"classification\", hidden_classes = [7] }".to_owned(),
                "layers" => "[{ name = \"scan\", visible = false }]".to_owned(),
                "bookmarks" => {
                    "[{ name = \"Mairie\", eye = [0.0, 0.0, 9.0], target = [1.0, 1.0, 0.0] }]"
                        .to_owned()
                }
                "annotations" => "[{ text = \"ici\", at = [1.0, 2.0, 3.0] }]".to_owned(),
                "measurements" => {
                    "[{ kind = \"distance\", points = [[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]] }]"
                        .to_owned()
                }
                "clip" => {
                    "{ keep = \"outside\", box = { min = [0.0, 0.0, 0.0], max = [1.0, 1.0, 1.0] } }"
                        .to_owned()
                }
                "kiosk" => {
                    "{ idle_seconds = 60, alternatives = [{ name = \"Aujourd'hui\" }] }".to_owned()
                }
                other => panic!("a new top-level key `{other}` needs a line in this test"),
            };
            let text = MINIMAL.replacen("[terrain]", &format!("{key} = {value}\n[terrain]"), 1);
            ScenarioFile::parse("s", &text).unwrap_or_else(|e| panic!("{key}: {e}"));
        }
        let scenario = &schema["$defs"]["scenario"];
        let kinds: Vec<&str> = scenario["properties"]["kind"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["flood", "shadow", "sunlight", "coverage", "rollout"]
        );
        let mut keys_of_kinds: Vec<&str> = vec!["id", "kind", "title"];
        for kind in [
            ScenarioKind::Flood,
            ScenarioKind::Shadow,
            ScenarioKind::Sunlight,
            ScenarioKind::Coverage,
            ScenarioKind::Rollout,
        ] {
            keys_of_kinds.extend(kind.keys());
        }
        keys_of_kinds.sort_unstable();
        // Kinds share some keys (`at`: a shadow's time, a roll-out's day).
        keys_of_kinds.dedup();
        let mut in_schema: Vec<String> = keys(scenario).into_iter().collect();
        in_schema.sort_unstable();
        assert_eq!(in_schema, keys_of_kinds);
    }

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offset("+01:00").unwrap().local_minus_utc(), 3600);
        assert_eq!(parse_offset("-07:30").unwrap().local_minus_utc(), -27000);
        assert!(parse_offset("CET").is_err());
    }
}
