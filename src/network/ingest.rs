//! GeoJSON (RFC 7946, legacy `crs` member, Open Fibre Data Standard) into the [`Network`] model.
//!
//! Points become [`Site`]s and lines [`Span`]s, each with every source property kept. A feature
//! that cannot be read (no geometry, non-numeric coordinates, wrong nesting) becomes an
//! [`IngestIssue`] naming its index and the rest of the file loads; only a file that is not JSON,
//! or not GeoJSON at all, is an [`IngestError`].
//!
//! Coordinates are longitude/latitude in degrees on WGS84 (RFC 7946) unless a legacy top-level
//! `crs` member names an EPSG code (`urn:ogc:def:crs:EPSG::2154`, `EPSG:2154`). Where they go in
//! the twin is the caller's choice: [`read_geojson`] takes a `to_twin` function of a
//! [`SourcePoint`]; [`TwinMapper`] is that function for a [`GeoFrame`].

use std::cell::RefCell;

use bevy::math::DVec3;
use serde_json::{Map, Value};

use super::model::{Day, IngestIssue, IssueAt, Network, Site, SiteKind, Span, Status};
use crate::georef::{GeoFrame, ecef_from_geodetic};

/// Why a whole file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{name}: not JSON at line {line}, column {column}: {reason}")]
    Json {
        name: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{name}: not GeoJSON: {reason}")]
    NotGeoJson { name: String, reason: String },
    #[error("{name}: not CSV: {reason}")]
    NotCsv { name: String, reason: String },
    /// A CSV mapping that cannot be used (not TOML, unknown key, no position columns…); `name`
    /// is the mapping's.
    #[error("{name}: bad CSV mapping: {reason}")]
    Mapping { name: String, reason: String },
    /// A CSV mapping names a column the CSV header lacks; `name` is the CSV's.
    #[error(
        "{name}: the mapping's `columns.{key}` is {column:?}, which the header lacks \
         (it has {header:?})"
    )]
    MissingColumn {
        name: String,
        key: String,
        column: String,
        header: Vec<String>,
    },
}

/// One source position, in the CRS the file declares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SourcePoint {
    /// WGS84 (or a datum a twin cannot tell from it: ETRS89, RGF93) longitude and latitude in
    /// degrees, ellipsoidal height in metres (0 when the file gives none).
    Geographic {
        lon_deg: f64,
        lat_deg: f64,
        height_m: f64,
    },
    /// Projected coordinates of the CRS `epsg` (z is 0 when the file gives none).
    Projected { epsg: u32, xyz: DVec3 },
}

/// The CRS of a GeoJSON file's coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceCrs {
    /// Longitude, latitude in degrees (RFC 7946's only CRS; also EPSG:4326/4979/4258/4171).
    Geographic,
    Epsg(u32),
}

impl SourceCrs {
    /// The CRS a legacy `crs` name stands for: `urn:ogc:def:crs:EPSG::2154`, `EPSG:2154`,
    /// `http://www.opengis.net/def/crs/EPSG/0/2154`, `urn:ogc:def:crs:OGC:1.3:CRS84`…; `None`
    /// when the name is not understood.
    pub fn from_name(name: &str) -> Option<Self> {
        let upper = name.trim().to_ascii_uppercase();
        if upper.ends_with("CRS84") {
            return Some(Self::Geographic);
        }
        if !upper.contains("EPSG") {
            return None;
        }
        let code: u32 = upper.rsplit([':', '/']).next()?.parse().ok()?;
        Some(Self::from_epsg(code))
    }

    /// The CRS of an EPSG code, geographic ones folded into [`SourceCrs::Geographic`].
    pub fn from_epsg(code: u32) -> Self {
        match code {
            4326 | 4979 | 4258 | 4171 => Self::Geographic,
            _ => Self::Epsg(code),
        }
    }
}

/// Maps [`SourcePoint`]s into a twin's [`GeoFrame`]: lon/lat through ECEF, projected points
/// through their own projection (built once per code) unless the twin uses the same EPSG code,
/// where they pass through unchanged.
pub struct TwinMapper<'a> {
    twin: &'a GeoFrame,
    sources: RefCell<Vec<(u32, Result<GeoFrame, String>)>>,
}

impl<'a> TwinMapper<'a> {
    pub fn new(twin: &'a GeoFrame) -> Self {
        Self {
            twin,
            sources: RefCell::new(Vec::new()),
        }
    }

    /// Twin coordinates of a source point.
    pub fn twin_from_source(&self, point: SourcePoint) -> Result<DVec3, String> {
        match point {
            SourcePoint::Geographic {
                lon_deg,
                lat_deg,
                height_m,
            } => Ok(self.twin.crs_from_ecef(ecef_from_geodetic(
                lon_deg.to_radians(),
                lat_deg.to_radians(),
                height_m,
            ))?),
            SourcePoint::Projected { epsg, xyz } => {
                if self.twin.projected_epsg() == Some(epsg) {
                    return Ok(xyz);
                }
                let ecef = self.ecef_from_projected(epsg, xyz)?;
                Ok(self.twin.crs_from_ecef(ecef)?)
            }
        }
    }

    fn ecef_from_projected(&self, epsg: u32, xyz: DVec3) -> Result<DVec3, String> {
        let mut sources = self.sources.borrow_mut();
        let index = match sources.iter().position(|(code, _)| *code == epsg) {
            Some(index) => index,
            None => {
                sources.push((epsg, GeoFrame::projected(epsg).map_err(String::from)));
                sources.len() - 1
            }
        };
        match &sources[index].1 {
            Ok(frame) => Ok(frame.ecef_from_crs(xyz)?),
            Err(reason) => Err(reason.clone()),
        }
    }
}

/// Reads a GeoJSON file into the twin frame `twin` (see [`TwinMapper`]).
pub fn read_geojson_in_frame(
    bytes: &[u8],
    name: &str,
    twin: &GeoFrame,
) -> Result<Network, IngestError> {
    let mapper = TwinMapper::new(twin);
    read_geojson(bytes, name, &|p| mapper.twin_from_source(p))
}

/// Reads a GeoJSON FeatureCollection, Feature or bare geometry; `to_twin` places each source
/// position in the twin CRS (an `Err` makes its feature an issue). `name` is used in errors.
pub fn read_geojson(
    bytes: &[u8],
    name: &str,
    to_twin: &dyn Fn(SourcePoint) -> Result<DVec3, String>,
) -> Result<Network, IngestError> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| IngestError::Json {
        name: name.to_owned(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })?;
    let not_geojson = |reason: String| IngestError::NotGeoJson {
        name: name.to_owned(),
        reason,
    };
    let Value::Object(root) = root else {
        return Err(not_geojson(format!(
            "the top level is {}, not an object",
            kind_of(&root)
        )));
    };
    let mut network = Network::default();
    let crs = file_crs(&root, &mut network.issues);
    let reader = Reader { crs, to_twin };
    match root.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {
            let Some(features) = root.get("features").and_then(Value::as_array) else {
                return Err(not_geojson(
                    "a FeatureCollection without a `features` array".into(),
                ));
            };
            for (index, feature) in features.iter().enumerate() {
                reader.read_feature(index, feature, &mut network);
            }
        }
        Some("Feature") => reader.read_feature(0, &Value::Object(root.clone()), &mut network),
        Some(
            "Point" | "MultiPoint" | "LineString" | "MultiLineString" | "Polygon" | "MultiPolygon"
            | "GeometryCollection",
        ) => {
            let mut feature = Map::new();
            feature.insert("type".into(), "Feature".into());
            feature.insert("geometry".into(), Value::Object(root.clone()));
            reader.read_feature(0, &Value::Object(feature), &mut network);
        }
        Some(other) => return Err(not_geojson(format!("unknown top-level type {other:?}"))),
        None => return Err(not_geojson("the top level has no `type`".into())),
    }
    Ok(network)
}

/// The CRS named by a legacy `crs` member; RFC 7946 lon/lat when absent, and when not
/// understood (with an issue: positions may then be wrong).
fn file_crs(root: &Map<String, Value>, issues: &mut Vec<IngestIssue>) -> SourceCrs {
    let crs = match root.get("crs") {
        None | Some(Value::Null) => return SourceCrs::Geographic,
        Some(crs) => crs,
    };
    let properties = crs.get("properties");
    let named = properties
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .and_then(SourceCrs::from_name);
    let coded = properties
        .and_then(|p| p.get("code"))
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .map(SourceCrs::from_epsg);
    named.or(coded).unwrap_or_else(|| {
        issues.push(IngestIssue {
            at: IssueAt::File,
            reason: format!(
                "unknown `crs` member {crs}: coordinates read as WGS84 longitude/latitude"
            ),
        });
        SourceCrs::Geographic
    })
}

/// Geometry collections deeper than this are refused (they are never meant).
const MAX_NESTING: usize = 8;

struct Reader<'a> {
    crs: SourceCrs,
    to_twin: &'a dyn Fn(SourcePoint) -> Result<DVec3, String>,
}

/// What a geometry holds once in the twin CRS.
#[derive(Default)]
struct Parts {
    points: Vec<DVec3>,
    lines: Vec<Vec<DVec3>>,
    polygons: usize,
}

impl Reader<'_> {
    fn read_feature(&self, index: usize, feature: &Value, network: &mut Network) {
        let mut issue = |reason: String| {
            network.issues.push(IngestIssue {
                at: IssueAt::Feature(index),
                reason,
            })
        };
        let Value::Object(feature) = feature else {
            return issue(format!("{} instead of a Feature object", kind_of(feature)));
        };
        if feature.get("type").and_then(Value::as_str) != Some("Feature") {
            return issue(format!(
                "`type` is {}, not \"Feature\"",
                feature
                    .get("type")
                    .map_or("missing".into(), Value::to_string)
            ));
        }
        let properties = match feature.get("properties") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(other) => {
                return issue(format!("`properties` is {}, not an object", kind_of(other)));
            }
        };
        let geometry = match feature.get("geometry") {
            None | Some(Value::Null) => return issue("no geometry".into()),
            Some(g) => g,
        };
        let mut parts = Parts::default();
        if let Err(reason) = self.geometry(geometry, "geometry", 0, &mut parts) {
            return issue(reason);
        }
        if parts.polygons > 0 {
            issue(format!(
                "polygon: not a network feature ({} skipped)",
                parts.polygons
            ));
        }
        let base_id = feature_id(index, feature, &properties);
        let status = status_of(&properties, &mut issue);
        let operator = operator_of(&properties);
        let in_service = in_service_of(&properties, &mut issue);
        let point_count = parts.points.len();
        let part_count = point_count + parts.lines.len();
        let id = |k: usize| {
            if part_count > 1 {
                format!("{base_id}/{k}")
            } else {
                base_id.clone()
            }
        };
        if !parts.points.is_empty() {
            let kind = kind_of_site(&properties);
            for (k, position) in parts.points.into_iter().enumerate() {
                network.sites.push(Site {
                    id: id(k),
                    kind: kind.clone(),
                    status: status.clone(),
                    position,
                    operator: operator.clone(),
                    in_service,
                    properties: properties.clone(),
                });
            }
        }
        if !parts.lines.is_empty() {
            let capacity_fibres = fibres_of(&properties, &mut issue);
            for (k, path) in parts.lines.into_iter().enumerate() {
                network.spans.push(Span {
                    id: id(point_count + k),
                    status: status.clone(),
                    capacity_fibres,
                    path,
                    operator: operator.clone(),
                    in_service,
                    properties: properties.clone(),
                });
            }
        }
    }

    fn geometry(
        &self,
        geometry: &Value,
        at: &str,
        depth: usize,
        parts: &mut Parts,
    ) -> Result<(), String> {
        let Value::Object(geometry) = geometry else {
            return Err(format!("{at} is {}, not an object", kind_of(geometry)));
        };
        let kind = geometry
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{at} has no `type`"))?;
        if kind == "GeometryCollection" {
            if depth >= MAX_NESTING {
                return Err(format!(
                    "{at}: geometry collections nested over {MAX_NESTING} deep"
                ));
            }
            let members = geometry
                .get("geometries")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("{at}: a GeometryCollection without `geometries`"))?;
            for (i, member) in members.iter().enumerate() {
                self.geometry(member, &format!("{at}.geometries[{i}]"), depth + 1, parts)?;
            }
            return Ok(());
        }
        let at = format!("{at}.coordinates");
        let coordinates = geometry
            .get("coordinates")
            .ok_or_else(|| format!("{at} missing"))?;
        match kind {
            "Point" => parts.points.push(self.position(coordinates, &at)?),
            "MultiPoint" => {
                for (i, p) in array(coordinates, &at)?.iter().enumerate() {
                    parts.points.push(self.position(p, &format!("{at}[{i}]"))?);
                }
            }
            "LineString" => parts.lines.push(self.line(coordinates, &at)?),
            "MultiLineString" => {
                for (i, line) in array(coordinates, &at)?.iter().enumerate() {
                    parts.lines.push(self.line(line, &format!("{at}[{i}]"))?);
                }
            }
            "Polygon" => parts.polygons += 1,
            "MultiPolygon" => parts.polygons += array(coordinates, &at)?.len(),
            other => return Err(format!("{at}: unknown geometry type {other:?}")),
        }
        Ok(())
    }

    fn line(&self, line: &Value, at: &str) -> Result<Vec<DVec3>, String> {
        let vertices = array(line, at)?;
        if vertices.len() < 2 {
            return Err(format!(
                "{at}: a line needs 2 positions, found {}",
                vertices.len()
            ));
        }
        vertices
            .iter()
            .enumerate()
            .map(|(i, p)| self.position(p, &format!("{at}[{i}]")))
            .collect()
    }

    fn position(&self, position: &Value, at: &str) -> Result<DVec3, String> {
        let numbers = array(position, at)?;
        if numbers.len() < 2 {
            return Err(format!(
                "{at}: a position needs 2 or 3 numbers, found {}",
                numbers.len()
            ));
        }
        let mut xyz = [0.0; 3];
        for (slot, value) in xyz.iter_mut().zip(numbers) {
            *slot = value
                .as_f64()
                .ok_or_else(|| format!("{at}: {value} is not a number"))?;
        }
        let [x, y, z] = xyz;
        let source = match self.crs {
            SourceCrs::Geographic => {
                if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
                    return Err(format!(
                        "{at}: ({x}, {y}) is not longitude/latitude in degrees \
                         (a projected file needs a `crs` member)"
                    ));
                }
                SourcePoint::Geographic {
                    lon_deg: x,
                    lat_deg: y,
                    height_m: z,
                }
            }
            SourceCrs::Epsg(epsg) => SourcePoint::Projected {
                epsg,
                xyz: DVec3::new(x, y, z),
            },
        };
        (self.to_twin)(source).map_err(|reason| format!("{at}: {reason}"))
    }
}

fn array<'v>(value: &'v Value, at: &str) -> Result<&'v Vec<Value>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("{at}: {} where an array was expected", kind_of(value)))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `properties.id`, else the feature's `id`, else its index.
fn feature_id(
    index: usize,
    feature: &Map<String, Value>,
    properties: &Map<String, Value>,
) -> String {
    [properties.get("id"), feature.get("id")]
        .into_iter()
        .flatten()
        .find_map(|id| match id {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| index.to_string())
}

/// The `status` (or French `statut`) property; unrecognised values are kept as
/// [`Status::Unknown`] and reported.
pub(super) fn status_of(properties: &Map<String, Value>, issue: &mut impl FnMut(String)) -> Status {
    let Some(value) = properties
        .get("status")
        .or_else(|| properties.get("statut"))
    else {
        return Status::Unknown(String::new());
    };
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Status::from_name(&text).unwrap_or_else(|| {
        issue(format!(
            "unknown status {value}: kept as Unknown (expected planned, built, lit or an \
             OFDS status)"
        ));
        Status::Unknown(text)
    })
}

/// Property names holding who runs a feature, in the order they are tried (case ignored).
pub const OPERATOR_PROPERTIES: [&str; 5] = [
    "operator",
    "operateur",
    "opérateur",
    "physicalInfrastructureProvider",
    "networkProviders",
];

/// Who runs a feature: the first of [`OPERATOR_PROPERTIES`] that is a non-empty string, an
/// object with a `name` (OFDS organisations), or a list of those (its first).
pub fn operator_of(properties: &Map<String, Value>) -> Option<String> {
    fn name(value: &Value) -> Option<String> {
        match value {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Object(o) => o.get("name").and_then(name),
            Value::Array(items) => items.iter().find_map(name),
            _ => None,
        }
    }
    OPERATOR_PROPERTIES.iter().find_map(|wanted| {
        properties
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(wanted))
            .and_then(|(_, value)| name(value))
    })
}

/// Property names holding the date a feature was (or will be) put in service, in the order
/// they are tried (case ignored).
pub const IN_SERVICE_PROPERTIES: [&str; 7] = [
    "in_service",
    "inService",
    "date_mes",
    "date_mise_en_service",
    "built",
    "date",
    "year",
];

/// The in-service [`Day`] of a feature (a date string or a year number); a value that is not
/// a date is reported and left out.
pub fn in_service_of(
    properties: &Map<String, Value>,
    issue: &mut impl FnMut(String),
) -> Option<Day> {
    let (key, value) = IN_SERVICE_PROPERTIES.iter().find_map(|wanted| {
        properties
            .iter()
            .find(|(key, value)| key.eq_ignore_ascii_case(wanted) && !value.is_null())
    })?;
    let day = match value {
        Value::String(s) if s.trim().is_empty() => return None,
        Value::String(s) => Day::parse(s),
        Value::Number(n) => n
            .as_i64()
            .filter(|y| (1800..=2200).contains(y))
            .and_then(|y| Day::from_ymd(y as i32, 1, 1)),
        _ => None,
    };
    if day.is_none() {
        issue(format!(
            "{key} {value} is not a date (expected YYYY-MM-DD, DD/MM/YYYY or a year)"
        ));
    }
    day
}

/// The site kind from `kind`, `nature` or OFDS `type` (a string or a list of strings: the
/// first recognised one wins).
pub(super) fn kind_of_site(properties: &Map<String, Value>) -> SiteKind {
    let names: Vec<&str> = ["kind", "nature", "type"]
        .iter()
        .filter_map(|key| properties.get(*key))
        .flat_map(|value| match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        })
        .collect();
    names
        .iter()
        .map(|name| SiteKind::from_name(name))
        .find(|kind| !matches!(kind, SiteKind::Other(_)))
        .unwrap_or_else(|| SiteKind::Other(names.first().copied().unwrap_or("").to_owned()))
}

/// Fibre count from OFDS `fibreCount` (or `fibre_count`, `nb_fibres`); a value that is not a
/// whole number of fibres is reported and left out.
pub(super) fn fibres_of(
    properties: &Map<String, Value>,
    issue: &mut impl FnMut(String),
) -> Option<u32> {
    let (key, value) = ["fibreCount", "fibre_count", "nb_fibres"]
        .iter()
        .find_map(|key| properties.get(*key).map(|v| (*key, v)))?;
    let count = value.as_u64().and_then(|n| u32::try_from(n).ok());
    if count.is_none() {
        issue(format!("{key} {value} is not a whole number of fibres"));
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_file(file: &str) -> Option<Vec<u8>> {
        let path = crate::testdata::shared_data(&format!("vector/{file}"))?;
        Some(std::fs::read(path).unwrap())
    }

    fn enu_at(lon_deg: f64, lat_deg: f64) -> GeoFrame {
        GeoFrame::local_enu(ecef_from_geodetic(
            lon_deg.to_radians(),
            lat_deg.to_radians(),
            0.0,
        ))
    }

    fn read_in(bytes: &[u8], frame: &GeoFrame) -> Network {
        read_geojson_in_frame(bytes, "test.geojson", frame).unwrap()
    }

    #[test]
    fn ign_lines_in_lambert93_stay_in_the_files_bbox() {
        let Some(bytes) = vector_file("ign_Lignes_3d_0292_6833.geojson") else {
            return;
        };
        let net = read_in(&bytes, &GeoFrame::projected(2154).unwrap());
        assert!(net.issues.is_empty(), "{:?}", net.issues);
        assert!(net.sites.is_empty());
        assert_eq!(net.spans.len(), 48);
        assert_eq!(net.span_vertex_count(), 96);
        let (lo, hi) = net.bounds().unwrap();
        assert!((lo.x - 289_215.43).abs() < 0.01 && (hi.x - 294_541.01).abs() < 0.01);
        assert!((lo.y - 6_831_278.77).abs() < 0.01 && (hi.y - 6_832_977.38).abs() < 0.01);
        assert!((lo.z - 49.99).abs() < 0.01 && (hi.z - 49.99).abs() < 0.01);
        // No `id` property (only GDAL's `FID`): the feature index names it.
        assert_eq!(net.spans[0].id, "0");
        assert_eq!(net.spans[0].status, Status::Unknown(String::new()));
        assert_eq!(net.spans[0].properties["ID_seg"], 26);
    }

    #[test]
    fn ign_lines_reproject_into_a_local_frame() {
        let Some(bytes) = vector_file("ign_Lignes_3d_0292_6833.geojson") else {
            return;
        };
        // Near the file's centre (Brittany, lon ≈ -2.52°, lat ≈ 48.46°).
        let local = read_in(&bytes, &enu_at(-2.52, 48.46));
        let lambert = read_in(&bytes, &GeoFrame::projected(2154).unwrap());
        assert!(local.issues.is_empty(), "{:?}", local.issues);
        assert_eq!(local.spans.len(), lambert.spans.len());
        // Lambert-93's scale error here is under 0.1 %, so every segment keeps its length.
        for (l, p) in local.spans.iter().zip(&lambert.spans) {
            let (a, b) = (
                (l.path[1] - l.path[0]).length(),
                (p.path[1] - p.path[0]).length(),
            );
            assert!((a / b - 1.0).abs() < 1e-3, "{} m vs {} m", a, b);
        }
        let (lo, hi) = local.bounds().unwrap();
        assert!(lo.x.abs() < 10_000.0 && hi.y.abs() < 10_000.0, "{lo} {hi}");
    }

    #[test]
    fn ofds_nodes_are_sites_with_every_property() {
        let Some(bytes) = vector_file("ofds_example_nodes.geojson") else {
            return;
        };
        let source: Value = serde_json::from_slice(&bytes).unwrap();
        let net = read_in(&bytes, &enu_at(-0.174, 5.625));
        assert!(net.issues.is_empty(), "{:?}", net.issues);
        assert_eq!(net.sites.len(), 2);
        assert!(net.spans.is_empty());
        let (accra, kumasi) = (&net.sites[0], &net.sites[1]);
        assert_eq!((accra.id.as_str(), kumasi.id.as_str()), ("1", "2"));
        assert_eq!(accra.kind, SiteKind::CentralOffice);
        assert_eq!(accra.status, Status::Lit);
        assert_eq!(
            Value::Object(accra.properties.clone()),
            source["features"][0]["properties"]
        );
        assert_eq!(accra.properties["networkProviders"][0]["name"], "FastWeb");
        assert!(accra.position.length() < 1.0, "{}", accra.position);
        // Kumasi lies about 200 km north-west of Accra.
        let k = kumasi.position;
        assert!(k.x < -100_000.0 && k.y > 50_000.0, "{k}");
        assert!(
            (150_000.0..260_000.0).contains(&k.truncate().length()),
            "{k}"
        );
    }

    #[test]
    fn ofds_span_keeps_its_route_and_fibre_count() {
        let Some(bytes) = vector_file("ofds_example_spans.geojson") else {
            return;
        };
        let net = read_in(&bytes, &enu_at(-0.174, 5.625));
        assert!(net.issues.is_empty(), "{:?}", net.issues);
        assert_eq!(net.spans.len(), 1);
        let span = &net.spans[0];
        assert_eq!(span.path.len(), 13);
        assert_eq!(span.capacity_fibres, Some(24));
        assert_eq!(span.status, Status::Lit);
        assert_eq!(span.properties["capacity"], 4.976);
        assert_eq!(span.properties["featureType"], "span");
        assert!(span.path[0].truncate().length() < 200.0, "{}", span.path[0]);
    }

    #[test]
    fn norway_roads_become_44_spans_of_932_vertices() {
        let Some(bytes) = vector_file("road_network_small_norway.geojson") else {
            return;
        };
        let net = read_in(&bytes, &enu_at(8.4464, 59.4934));
        assert!(net.issues.is_empty(), "{:?}", net.issues);
        assert_eq!(net.spans.len(), 44);
        assert_eq!(net.span_vertex_count(), 932);
        assert!(
            net.spans
                .iter()
                .all(|s| s.status == Status::Unknown(String::new()))
        );
        // bbox 8.4108..8.4820 × 59.4692..59.5175: about 4.0 km × 5.4 km.
        let (lo, hi) = net.bounds().unwrap();
        let size = hi - lo;
        assert!((size.x - 4_030.0).abs() < 60.0, "{size}");
        assert!((size.y - 5_380.0).abs() < 60.0, "{size}");
    }

    #[test]
    fn autzen_polygons_are_counted_not_loaded() {
        let Some(bytes) = vector_file("autzen_attributes.geojson") else {
            return;
        };
        let net = read_in(&bytes, &enu_at(-123.065, 44.06));
        assert!(net.sites.is_empty() && net.spans.is_empty());
        assert_eq!(net.issues.len(), 5);
        assert!(
            net.issues
                .iter()
                .all(|i| i.reason.starts_with("polygon: not a network feature"))
        );
        assert_eq!(net.issues[4].at, IssueAt::Feature(4));
    }

    const GOOD_AND_BAD: &str = r#"{"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "pm-1", "type": "PM", "status": "planned"},
         "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}},
        {"type": "Feature", "properties": {"id": "bad"},
         "geometry": {"type": "LineString", "coordinates": [[2.35, 48.85], [2.36, "north"]]}},
        {"type": "Feature", "properties": {"fibreCount": 144, "status": "lit"},
         "geometry": {"type": "LineString", "coordinates": [[2.35, 48.85], [2.36, 48.86, 35]]}}
    ]}"#;

    #[test]
    fn a_malformed_feature_is_one_issue_and_the_rest_loads() {
        let net = read_in(GOOD_AND_BAD.as_bytes(), &enu_at(2.35, 48.85));
        assert_eq!(net.issues.len(), 1, "{:?}", net.issues);
        let issue = net.issues[0].to_string();
        assert!(issue.starts_with("feature 1: "), "{issue}");
        assert!(
            issue.contains("coordinates[1]") && issue.contains("not a number"),
            "{issue}"
        );
        assert_eq!(net.sites.len(), 1);
        assert_eq!(net.sites[0].kind, SiteKind::Cabinet);
        assert_eq!(net.sites[0].status, Status::Planned);
        assert_eq!(net.spans.len(), 1);
        assert_eq!(net.spans[0].id, "2");
        assert_eq!(net.spans[0].capacity_fibres, Some(144));
        assert!((net.spans[0].path[1].z - 35.0).abs() < 1.0);
    }

    #[test]
    fn missing_geometry_wrong_nesting_and_unknown_status_are_issues() {
        let text = r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {}},
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [[1, 2]]}},
            {"type": "Feature", "properties": {"status": "sideways"},
             "geometry": {"type": "MultiPoint", "coordinates": [[1, 2], [1.1, 2]]}},
            {"type": "Feature", "properties": null, "geometry": {"type": "GeometryCollection",
             "geometries": [{"type": "Point", "coordinates": [1, 2]},
                            {"type": "LineString", "coordinates": [[1, 2], [1, 2.1]]}]}},
            {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[600000, 6800000], [600010, 6800000]]}},
            42
        ]}"#;
        let net = read_in(text.as_bytes(), &enu_at(1.0, 2.0));
        let issues: Vec<String> = net.issues.iter().map(ToString::to_string).collect();
        assert_eq!(issues.len(), 5, "{issues:?}");
        assert!(issues[0].starts_with("feature 0: no geometry"));
        assert!(issues[1].starts_with("feature 1: ") && issues[1].contains("position needs"));
        assert!(issues[2].starts_with("feature 2: unknown status \"sideways\""));
        assert!(issues[3].starts_with("feature 4: ") && issues[3].contains("`crs` member"));
        assert!(issues[4].starts_with("feature 5: "));
        assert_eq!(net.sites.len(), 3);
        assert_eq!(net.sites[0].status, Status::Unknown("sideways".into()));
        assert_eq!(
            (net.sites[0].id.as_str(), net.sites[2].id.as_str()),
            ("2/0", "3/0")
        );
        assert_eq!(net.spans.len(), 1);
        assert_eq!(net.spans[0].id, "3/1");
    }

    #[test]
    fn unknown_crs_is_a_file_issue_and_same_epsg_is_identity() {
        let text = r#"{"type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:IGNF::LAMB93"}},
            "features": [{"type": "Feature", "properties": {},
                          "geometry": {"type": "Point", "coordinates": [2.0, 46.0]}}]}"#;
        let net = read_in(text.as_bytes(), &enu_at(2.0, 46.0));
        assert_eq!(net.issues.len(), 1);
        assert_eq!(net.issues[0].at, IssueAt::File);
        assert!(net.issues[0].reason.starts_with("unknown `crs` member"));
        assert_eq!(net.sites.len(), 1);

        let text = r#"{"type": "Feature", "crs": {"type": "name", "properties": {"name": "EPSG:2154"}},
            "properties": {}, "geometry": {"type": "Point", "coordinates": [700000.5, 6600000.25]}}"#;
        let net = read_in(text.as_bytes(), &GeoFrame::projected(2154).unwrap());
        assert!(net.issues.is_empty(), "{:?}", net.issues);
        assert_eq!(
            net.sites[0].position,
            DVec3::new(700_000.5, 6_600_000.25, 0.0)
        );
    }

    #[test]
    fn crs_names_are_understood() {
        for (name, crs) in [
            ("urn:ogc:def:crs:EPSG::2154", Some(SourceCrs::Epsg(2154))),
            ("EPSG:2154", Some(SourceCrs::Epsg(2154))),
            (
                "urn:ogc:def:crs:EPSG:6.6:32631",
                Some(SourceCrs::Epsg(32631)),
            ),
            (
                "http://www.opengis.net/def/crs/EPSG/0/25832",
                Some(SourceCrs::Epsg(25832)),
            ),
            ("urn:ogc:def:crs:OGC:1.3:CRS84", Some(SourceCrs::Geographic)),
            ("EPSG:4326", Some(SourceCrs::Geographic)),
            ("urn:ogc:def:crs:IGNF::LAMB93", None),
        ] {
            assert_eq!(SourceCrs::from_name(name), crs, "{name}");
        }
    }

    #[test]
    fn broken_json_names_file_line_and_column() {
        let text =
            "{\"type\": \"FeatureCollection\",\n \"features\": [\n  {\"type\": \"Feature\",, }\n]}";
        let err = read_geojson_in_frame(text.as_bytes(), "routes.geojson", &enu_at(0.0, 0.0))
            .unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, IngestError::Json { line: 3, .. }),
            "{message}"
        );
        assert!(
            message.starts_with("routes.geojson: not JSON at line 3, column "),
            "{message}"
        );
        let err = read_geojson_in_frame(b"[1, 2]", "list.json", &enu_at(0.0, 0.0)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "list.json: not GeoJSON: the top level is an array, not an object"
        );
    }
}
