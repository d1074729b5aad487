//! How a web page configures the twin it embeds: `data-*` attributes of the `<canvas>`, the
//! page's query string (`?copc=…&camera=…&embed=minimal`) and an optional project file (JSON
//! with the same keys). Plain parsing, so it is tested on every target; the web front end
//! (`crate::front::web`) reads the page and applies the result.
//!
//! | key | value |
//! |---|---|
//! | `data`, `copc`, `vpc`, `tileset`, `geojson` | a data URL (repeatable; attributes take a space-separated list). The kind is told by the URL as on the command line: a `.vpc` is one layer of tiles, each fetched when the view reaches it |
//! | `project` | URL of a project file (`.toml`: a scenario file with its view, as `jumeau view` opens it), or of a JSON object with any of these keys (lists as arrays) |
//! | `scenario` | URL of a scenario file (TOML): its data opens, its scenarios run and show in the panel |
//! | `camera` | `X,Y,Z,TX,TY,TZ` in the twin's CRS |
//! | `color` | `rgb`, `intensity`, `elevation`, `classification` |
//! | `color-buildings-by` | a building attribute |
//! | `budget`, `point-size`, `edl` | point budget, point size in px, `on`/`off` |
//! | `place` | where models without georeferencing go (as `--place`) |
//! | `lang` | `en` or `fr` (the panel and the page's messages) |
//! | `embed` | `minimal` hides the panel; `kiosk` is the consultation kiosk of the project file (its `[kiosk]`, touch first, the page locked); `full` (default) shows the panel |
//! | `backend` | `webgpu` or `webgl2`: forces the bundle (read by the page's loader) |

use crate::buildings::open::Place;
use crate::pointcloud::style::ColorMode;
use bevy::math::DVec3;
use clap::ValueEnum;

/// The twin a page asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedConfig {
    /// Data URLs as given (relative ones are resolved against the page by the caller).
    pub inputs: Vec<String>,
    pub project: Option<String>,
    /// A scenario file's URL.
    pub scenario: Option<String>,
    pub camera: Option<(DVec3, DVec3)>,
    pub color: Option<ColorMode>,
    pub color_buildings_by: Option<String>,
    pub budget: Option<u64>,
    pub point_size: Option<f32>,
    pub edl: bool,
    pub place: Option<Place>,
    pub lang: Lang,
    /// The panel is hidden (`embed=minimal`, `embed=kiosk`).
    pub minimal: bool,
    /// The consultation kiosk (`embed=kiosk`).
    pub kiosk: bool,
    /// `lang` was given (the kiosk speaks French unless told).
    pub lang_given: bool,
    /// What could not be understood, for the page to show.
    pub warnings: Vec<String>,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        Self {
            inputs: Vec::new(),
            project: None,
            scenario: None,
            camera: None,
            color: None,
            color_buildings_by: None,
            budget: None,
            point_size: None,
            edl: true,
            place: None,
            lang: Lang::En,
            minimal: false,
            kiosk: false,
            lang_given: false,
            warnings: Vec::new(),
        }
    }
}

/// The language of the page's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    /// `en`, `fr`, or a longer tag starting with them (`fr-FR`).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().get(..2) {
            Some("fr") => Ok(Lang::Fr),
            Some("en") => Ok(Lang::En),
            _ => Err(format!("`{text}`: expected en or fr")),
        }
    }
}

/// Keys whose values are data URLs.
const DATA_KEYS: [&str; 5] = ["data", "copc", "vpc", "tileset", "geojson"];

/// Every key a page may set (the `data-*` attributes read from the canvas).
pub const KEYS: [&str; 16] = [
    "data",
    "copc",
    "vpc",
    "tileset",
    "geojson",
    "project",
    "scenario",
    "camera",
    "color",
    "color-buildings-by",
    "budget",
    "point-size",
    "edl",
    "place",
    "lang",
    "embed",
];

impl EmbedConfig {
    /// Applies `key=value` pairs in order: data URLs add up, other keys take the last value.
    /// Bad values are kept as warnings; the rest still applies.
    pub fn apply<K: AsRef<str>, V: AsRef<str>>(&mut self, pairs: impl IntoIterator<Item = (K, V)>) {
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref().trim());
            if let Err(error) = self.apply_one(key, value) {
                self.warnings.push(format!("{key}={value}: {error}"));
            }
        }
    }

    fn apply_one(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            k if DATA_KEYS.contains(&k) => {
                self.inputs
                    .extend(value.split_whitespace().map(str::to_owned));
            }
            "project" => self.project = Some(value.to_owned()),
            "scenario" => self.scenario = Some(value.to_owned()),
            "camera" => self.camera = Some(crate::front::inputs::parse_camera(value)?),
            "color" => {
                self.color = Some(ColorMode::from_str(value, true).map_err(|_| {
                    "expected rgb, intensity, elevation or classification".to_owned()
                })?);
            }
            "color-buildings-by" => self.color_buildings_by = Some(value.to_owned()),
            "budget" => {
                self.budget = Some(
                    value
                        .replace('_', "")
                        .parse()
                        .map_err(|e| format!("{e} (expected a number of points)"))?,
                );
            }
            "point-size" => {
                let size: f32 = value.parse().map_err(|e| format!("{e}"))?;
                if !(0.5..=64.0).contains(&size) {
                    return Err("expected a size between 0.5 and 64 pixels".into());
                }
                self.point_size = Some(size);
            }
            "edl" => self.edl = parse_switch(value)?,
            "place" => self.place = Some(value.parse()?),
            "lang" => {
                self.lang = Lang::parse(value)?;
                self.lang_given = true;
            }
            "embed" => {
                (self.minimal, self.kiosk) = match value {
                    "minimal" => (true, false),
                    "kiosk" => (true, true),
                    "full" | "" => (false, false),
                    _ => return Err("expected minimal, kiosk or full".into()),
                }
            }
            // Read by the page's loader before the twin starts.
            "backend" => {}
            _ => return Err("unknown setting".into()),
        }
        Ok(())
    }

    /// The pairs of a project file: a JSON object with the keys of [`KEYS`]; lists (data URLs)
    /// as arrays, the rest as strings, numbers or booleans.
    pub fn project_pairs(name: &str, bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("{name}: not a project file: {e}"))?;
        let object = value
            .as_object()
            .ok_or_else(|| format!("{name}: a project file is a JSON object"))?;
        let mut pairs = Vec::new();
        for (key, value) in object {
            let items = match value {
                serde_json::Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for item in items {
                let text = match item {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(true) => "on".into(),
                    serde_json::Value::Bool(false) => "off".into(),
                    other => {
                        return Err(format!("{name}: `{key}`: unexpected value {other}"));
                    }
                };
                pairs.push((key.clone(), text));
            }
        }
        Ok(pairs)
    }
}

/// Whether a `project` URL names a project file (TOML) rather than a JSON list of settings.
pub fn is_toml_project(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.to_ascii_lowercase().ends_with(".toml")
}

/// The page's query string (`?a=b&…`, or empty) with its `camera` set to `camera`
/// (`X,Y,Z,TX,TY,TZ`), the other keys kept in order: the link that opens the same view.
pub fn query_with_camera(search: &str, camera: &str) -> String {
    let mut pairs: Vec<String> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some("camera"))
        .map(str::to_owned)
        .collect();
    pairs.push(format!("camera={camera}"));
    format!("?{}", pairs.join("&"))
}

fn parse_switch(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" | "" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err("expected on or off".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_keeps_the_page_keys_and_carries_the_current_view() {
        let camera = "292450.000,6832700.000,400.000,292450.000,6832701.000,50.000";
        assert_eq!(
            query_with_camera("?copc=/d/a.copc.laz&camera=1,2,3,4,5,6&lang=fr", camera),
            format!("?copc=/d/a.copc.laz&lang=fr&camera={camera}")
        );
        assert_eq!(query_with_camera("", camera), format!("?camera={camera}"));
        // What the link holds opens the same view.
        let mut config = EmbedConfig::default();
        let link = query_with_camera("?project=p.toml", camera);
        config.apply(
            link.trim_start_matches('?')
                .split('&')
                .filter_map(|p| p.split_once('=')),
        );
        assert_eq!(
            config.camera,
            Some((
                DVec3::new(292450.0, 6832700.0, 400.0),
                DVec3::new(292450.0, 6832701.0, 50.0)
            ))
        );
        assert!(is_toml_project("https://x/a/projet.TOML?v=2") && !is_toml_project("p.json"));
    }

    #[test]
    fn attributes_then_query_make_one_config() {
        let mut config = EmbedConfig::default();
        // The canvas' attributes: a list of URLs and a colour.
        config.apply([
            ("copc", "tiles/a.copc.laz  tiles/b.copc.laz"),
            ("color", "rgb"),
        ]);
        // The page's query string overrides single values and adds data.
        config.apply([
            ("tileset", "https://example.org/city/tileset.json"),
            ("color", "Classification"),
            ("camera", "292450,6832700,400,292450,6832701,50"),
            ("embed", "minimal"),
            ("lang", "fr-FR"),
            ("budget", "2_000_000"),
            ("edl", "off"),
        ]);
        assert_eq!(
            config.inputs,
            [
                "tiles/a.copc.laz",
                "tiles/b.copc.laz",
                "https://example.org/city/tileset.json"
            ]
        );
        assert_eq!(config.color, Some(ColorMode::Classification));
        let (eye, target) = config.camera.unwrap();
        assert_eq!(eye, DVec3::new(292450.0, 6832700.0, 400.0));
        assert_eq!(target.z, 50.0);
        assert!(config.minimal && !config.kiosk);
        assert_eq!(config.lang, Lang::Fr);
        assert!(config.lang_given);
        config.apply([("embed", "kiosk")]);
        assert!(config.minimal && config.kiosk);
        assert_eq!(config.budget, Some(2_000_000));
        assert!(!config.edl);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn bad_values_become_warnings_and_the_rest_applies() {
        let mut config = EmbedConfig::default();
        config.apply([
            ("color", "rainbow"),
            ("camera", "1,2,3"),
            ("zoom", "4"),
            ("point-size", "500"),
            ("data", "a.copc.laz"),
        ]);
        assert_eq!(config.inputs, ["a.copc.laz"]);
        assert_eq!(config.color, None);
        assert_eq!(config.warnings.len(), 4, "{:?}", config.warnings);
        assert!(config.warnings[0].starts_with("color=rainbow: expected rgb"));
        assert!(config.warnings[1].contains("six numbers"));
        assert!(config.warnings[2].contains("zoom=4: unknown setting"));
    }

    #[test]
    fn a_project_file_gives_the_same_pairs() {
        let json = br#"{"data": ["a.copc.laz", "city/tileset.json"], "color": "elevation",
                        "budget": 500000, "edl": false}"#;
        let pairs = EmbedConfig::project_pairs("p.json", json).unwrap();
        let mut config = EmbedConfig::default();
        config.apply(pairs);
        assert_eq!(config.inputs, ["a.copc.laz", "city/tileset.json"]);
        assert_eq!(config.color, Some(ColorMode::Elevation));
        assert_eq!(config.budget, Some(500_000));
        assert!(!config.edl);
        let error = EmbedConfig::project_pairs("p.json", b"[1, 2").unwrap_err();
        assert!(error.starts_with("p.json: not a project file"), "{error}");
        let error = EmbedConfig::project_pairs("p.json", br#"{"camera": {"x": 1}}"#).unwrap_err();
        assert!(error.contains("`camera`"), "{error}");
    }
}
