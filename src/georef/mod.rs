//! Coordinate reference systems of datasets: read from LAS WKT / GeoTIFF VLRs, looked up by EPSG
//! code, and checked against the coordinates (real files carry wrong labels; the numbers win).

pub mod geoid;
pub mod transform;

pub use geoid::VerticalDatum;

use bevy::math::DVec3;
use byteorder::{ByteOrder, LittleEndian as LE};

/// What went wrong placing coordinates: a CRS not known or not usable, a point a projection
/// or the geoid grid cannot take. Callers can match on it; its text is what the user reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeorefError {
    #[error("`{text}` is not an EPSG code (expected e.g. EPSG:2154)")]
    NotAnEpsgCode { text: String },
    #[error("`{text}` is not EPSG:CODE or EPSG:CODE+VERTICAL_CODE")]
    NotACrsSpec { text: String },
    #[error("EPSG:{code} is not in the built-in CRS table")]
    UnknownEpsg { code: u32 },
    #[error("EPSG:{code}: unreadable WKT")]
    UnreadableWkt { code: u32 },
    #[error("EPSG:{code}: {reason}")]
    BadDefinition { code: u32, reason: String },
    #[error("EPSG:{code} is not a projected CRS: a twin needs metres east and north")]
    NotProjected { code: u32 },
    #[error("EPSG:{code}: the only vertical datum Jumeau knows is EPSG:5720 (NGF-IGN69)")]
    UnknownVerticalDatum { code: u32 },
    #[error("{text}: Earth-centred coordinates take no vertical datum")]
    EcefWithVerticalDatum { text: String },
    /// A point a projection cannot take: `what` says which and where.
    #[error("{what}: {reason}")]
    Transform { what: String, reason: String },
    /// The geoid grid cannot be read.
    #[error("{grid} grid: {problem}")]
    Grid { grid: &'static str, problem: String },
    #[error(
        "lon {lon_deg:.6}°, lat {lat_deg:.6}° is outside the {grid} grid ({west}..{east}°E, {south}..{north}°N): no vertical datum conversion there"
    )]
    OutsideGrid {
        grid: &'static str,
        lon_deg: f64,
        lat_deg: f64,
        west: f64,
        south: f64,
        east: f64,
        north: f64,
    },
}

/// While callers above still speak in strings: `?` turns the error into its text.
impl From<GeorefError> for String {
    fn from(error: GeorefError) -> Self {
        error.to_string()
    }
}

/// Where a dataset's CRS came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrsSource {
    Wkt,
    GeoTiff,
    Assigned,
}

/// What kind of coordinates a CRS gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrsKind {
    Projected,
    Geographic,
    Geocentric,
    Unknown,
}

impl CrsKind {
    /// From the WKT's outer keyword (a compound CRS takes its horizontal member's kind).
    pub fn of_wkt(wkt: &str) -> Self {
        let upper = wkt.trim_start().to_ascii_uppercase();
        let body = if upper.starts_with("COMPD_CS") || upper.starts_with("COMPOUNDCRS") {
            upper.find(',').map_or("", |i| upper[i + 1..].trim_start())
        } else {
            upper.as_str()
        };
        if body.starts_with("PROJCS")
            || body.starts_with("PROJCRS")
            || body.starts_with("PROJECTEDCRS")
        {
            Self::Projected
        } else if body.starts_with("GEOGCS")
            || body.starts_with("GEOGCRS")
            || body.starts_with("GEOGRAPHICCRS")
        {
            Self::Geographic
        } else if body.starts_with("GEOCCS") {
            Self::Geocentric
        } else if body.starts_with("GEODCRS") || body.starts_with("GEODETICCRS") {
            if body.contains("ELLIPSOIDAL") {
                Self::Geographic
            } else {
                Self::Geocentric
            }
        } else {
            Self::Unknown
        }
    }
}

/// A coordinate reference system as declared by a dataset.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Crs {
    /// EPSG code of the whole CRS (a compound code when heights are included).
    pub epsg: Option<u32>,
    /// EPSG code of the horizontal part when the CRS is compound.
    pub horizontal_epsg: Option<u32>,
    /// EPSG code of the vertical part (e.g. 5720, NGF-IGN69) when the CRS declares one.
    pub vertical_epsg: Option<u32>,
    /// Name of the CRS as written in the file.
    pub name: Option<String>,
    pub kind: CrsKind,
    pub source: CrsSource,
    /// OGC WKT text, when the file has one or the EPSG code is known.
    #[serde(skip)]
    pub wkt: Option<String>,
}

impl Crs {
    /// The CRS for an `EPSG:nnnn` (or bare `nnnn`) code, with its WKT from the built-in table.
    pub fn from_epsg_str(text: &str) -> Result<Self, GeorefError> {
        let digits = text
            .trim()
            .trim_start_matches("EPSG:")
            .trim_start_matches("epsg:");
        let code: u32 = digits
            .parse()
            .map_err(|_| GeorefError::NotAnEpsgCode { text: text.into() })?;
        let wkt = wkt_for_epsg(code).ok_or(GeorefError::UnknownEpsg { code })?;
        let mut crs = crs_from_wkt(wkt).ok_or(GeorefError::UnreadableWkt { code })?;
        crs.source = CrsSource::Assigned;
        crs.epsg = Some(code);
        Ok(crs)
    }

    /// `EPSG:2154` when the code is known, else the name, else "unknown".
    pub fn label(&self) -> String {
        match (&self.epsg, &self.name) {
            (Some(code), Some(name)) => format!("EPSG:{code} ({name})"),
            (Some(code), None) => format!("EPSG:{code}"),
            (None, Some(name)) => name.clone(),
            (None, None) => "unknown".to_owned(),
        }
    }

    /// The EPSG code of the horizontal part (the whole code when not compound).
    pub fn horizontal_code(&self) -> Option<u32> {
        self.horizontal_epsg.or(self.epsg)
    }
}

/// OGC WKT of an EPSG code from the built-in table (works in wasm too).
pub fn wkt_for_epsg(code: u32) -> Option<&'static str> {
    let def = crs_definitions::from_code(u16::try_from(code).ok()?)?;
    Some(def.wkt)
}

/// A record of a file's header that may declare its CRS: a LAS variable-length record (user ID
/// `LASF_Projection`: 2112 WKT, 34735–34737 GeoTIFF keys).
pub trait CrsRecord {
    fn is(&self, user_id: &str, record_id: u16) -> bool;
    fn data(&self) -> &[u8];
}

/// The CRS declared by a file's VLRs: WKT first (what LAS 1.4 requires), else GeoTIFF keys.
pub fn crs_from_vlrs<'a, R: CrsRecord + 'a>(vlrs: impl IntoIterator<Item = &'a R>) -> Option<Crs> {
    let vlrs: Vec<&R> = vlrs.into_iter().collect();
    let wkt = vlrs
        .iter()
        .find(|v| v.is("LASF_Projection", 2112))
        .and_then(|v| {
            let data = v.data();
            let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
            std::str::from_utf8(&data[..end]).ok().map(str::to_owned)
        })
        .and_then(|text| crs_from_wkt(&text));
    wkt.or_else(|| crs_from_geotiff(&vlrs))
}

/// Name and EPSG codes from an OGC WKT (WKT1 `AUTHORITY[..]` or WKT2 `ID[..]`).
pub fn crs_from_wkt(wkt: &str) -> Option<Crs> {
    let wkt = wkt.trim();
    if wkt.is_empty() {
        return None;
    }
    let name = wkt.find('"').and_then(|start| {
        wkt[start + 1..]
            .find('"')
            .map(|len| wkt[start + 1..start + 1 + len].to_owned())
    });
    // Authority codes with the bracket depth they sit at (depth 1 belongs to the outer CRS) and
    // where they are.
    let mut codes: Vec<(usize, u32, usize)> = Vec::new();
    let mut depth = 0usize;
    let bytes = wkt.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth = depth.saturating_sub(1),
            _ => {
                let rest = &bytes[i..];
                let keyword = [&b"AUTHORITY["[..], &b"ID["[..]]
                    .into_iter()
                    .find(|k| rest.starts_with(k));
                if let Some(keyword) = keyword {
                    let inner = &rest[keyword.len()..];
                    let end = inner.iter().position(|&b| b == b']').unwrap_or(inner.len());
                    let inner = String::from_utf8_lossy(&inner[..end]);
                    let parts: Vec<&str> = inner
                        .split(',')
                        .map(|p| p.trim().trim_matches('"'))
                        .collect();
                    if parts.len() >= 2
                        && parts[0].eq_ignore_ascii_case("EPSG")
                        && let Ok(code) = parts[1].parse()
                    {
                        codes.push((depth + 1, code, i));
                    }
                    // Leave the bracket to the depth counter.
                    i += keyword.len() - 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    let epsg = codes.iter().find(|(d, ..)| *d == 2).map(|c| c.1);
    let compound = wkt.starts_with("COMPD_CS") || wkt.starts_with("COMPOUNDCRS");
    let horizontal_epsg = if compound {
        // The first projected/geographic member's own code (depth 3: inside the compound).
        codes.iter().find(|(d, ..)| *d == 3).map(|c| c.1)
    } else {
        None
    };
    // The vertical member's own code: the first depth-3 code after its keyword.
    let vertical_epsg = ["VERT_CS[", "VERTCRS[", "VERTICALCRS["]
        .into_iter()
        .filter_map(|k| wkt.find(k))
        .min()
        .and_then(|at| codes.iter().find(|(d, _, i)| *d == 3 && *i > at))
        .map(|c| c.1);
    Some(Crs {
        epsg,
        horizontal_epsg,
        vertical_epsg,
        name,
        kind: CrsKind::of_wkt(wkt),
        source: CrsSource::Wkt,
        wkt: Some(wkt.to_owned()),
    })
}

/// GeoTIFF ASCII parameters are often Latin-1 (Norwegian, French names): decode UTF-8 when valid.
fn latin1(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

fn crs_from_geotiff<R: CrsRecord>(vlrs: &[&R]) -> Option<Crs> {
    let keys = vlrs.iter().find(|v| v.is("LASF_Projection", 34735))?;
    let ascii = vlrs.iter().find(|v| v.is("LASF_Projection", 34737));
    let words: Vec<u16> = keys.data().chunks_exact(2).map(LE::read_u16).collect();
    let count = usize::from(*words.get(3)?);
    let mut projected = None;
    let mut geographic = None;
    let mut vertical = None;
    let mut citation = None;
    for entry in words.get(4..)?.chunks_exact(4).take(count) {
        let (key, location, n, value) = (entry[0], entry[1], entry[2], entry[3]);
        let code = (location == 0 && value != 0 && value != 32767).then_some(u32::from(value));
        match key {
            3072 => projected = code,
            2048 => geographic = code,
            4096 => vertical = code,
            1026 | 3073 if location == 34737 && citation.is_none() => {
                citation = ascii.and_then(|a| {
                    let start = usize::from(value);
                    let text = a.data().get(start..start + usize::from(n))?;
                    Some(latin1(text).trim_end_matches(['|', '\0']).trim().to_owned())
                });
            }
            _ => {}
        }
    }
    let horizontal = projected.or(geographic);
    let wkt = horizontal.and_then(wkt_for_epsg);
    let name = citation.or_else(|| wkt.and_then(crs_from_wkt).and_then(|c| c.name));
    Some(Crs {
        epsg: horizontal,
        horizontal_epsg: None,
        vertical_epsg: vertical,
        kind: if projected.is_some() {
            CrsKind::Projected
        } else if geographic.is_some() {
            CrsKind::Geographic
        } else {
            CrsKind::Unknown
        },
        name,
        source: CrsSource::GeoTiff,
        wkt: wkt.map(str::to_owned),
    })
}

/// A warning when the coordinates cannot be in the declared CRS (e.g. a geocentric label on UTM
/// metres). `None` when they are plausible or nothing is known about the CRS.
pub fn plausibility_warning(crs: &Crs, min: [f64; 3], max: [f64; 3]) -> Option<String> {
    let inside = |lo: [f64; 2], hi: [f64; 2]| {
        min[0] >= lo[0] && max[0] <= hi[0] && min[1] >= lo[1] && max[1] <= hi[1]
    };
    let code = crs.horizontal_code();
    let expected = match (code, crs.kind) {
        (Some(2154), _) => (
            inside([-400_000.0, 5_900_000.0], [1_500_000.0, 7_300_000.0]),
            "Lambert-93 metres (x 0.1-1.3 M, y 6.0-7.2 M)",
        ),
        (Some(32601..=32660 | 32701..=32760 | 25828..=25838 | 26901..=26923), _) => (
            inside([100_000.0, -10_000_000.0], [900_000.0, 10_000_000.0]),
            "UTM metres (x 100-900 km)",
        ),
        (Some(4978), _) | (_, CrsKind::Geocentric) => {
            let centre = [
                (min[0] + max[0]) / 2.0,
                (min[1] + max[1]) / 2.0,
                (min[2] + max[2]) / 2.0,
            ];
            let radius = (centre[0].powi(2) + centre[1].powi(2) + centre[2].powi(2)).sqrt();
            (
                (6.30e6..6.45e6).contains(&radius),
                "geocentric X/Y/Z about 6,371 km from the Earth's centre",
            )
        }
        (_, CrsKind::Geographic) => (
            inside([-180.0, -90.0], [180.0, 90.0]),
            "longitudes/latitudes in degrees",
        ),
        _ => return None,
    };
    (!expected.0).then(|| {
        format!(
            "the file says {} but its coordinates (x {:.0}..{:.0}, y {:.0}..{:.0}) are not {}: the label is probably wrong; override it with --assign-crs",
            crs.label(),
            min[0],
            max[0],
            min[1],
            max[1],
            expected.1
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_wkt_gives_outer_and_horizontal_codes() {
        let crs = crs_from_wkt(wkt_for_epsg(5698).unwrap()).unwrap();
        assert_eq!(crs.epsg, Some(5698));
        assert_eq!(crs.horizontal_epsg, Some(2154));
        assert_eq!(crs.horizontal_code(), Some(2154));
        assert_eq!(
            crs.name.as_deref(),
            Some("RGF93 / Lambert-93 + NGF-IGN69 height")
        );
    }

    #[test]
    fn non_ascii_wkt_does_not_break_parsing() {
        let crs = crs_from_wkt("PROJCRS[\"x\",ANGLEUNIT[\"°\",1],ID[\"EPSG\",32723]]").unwrap();
        assert_eq!(crs.epsg, Some(32723));
    }

    #[test]
    fn projected_wkt_gives_its_own_code_not_a_datum_code() {
        let crs = crs_from_wkt(wkt_for_epsg(2154).unwrap()).unwrap();
        assert_eq!(crs.epsg, Some(2154));
        assert_eq!(crs.horizontal_epsg, None);
    }

    #[test]
    fn assigned_crs_parses_epsg_prefix_and_rejects_garbage() {
        assert_eq!(Crs::from_epsg_str("EPSG:2154").unwrap().epsg, Some(2154));
        assert!(
            Crs::from_epsg_str("Lambert")
                .unwrap_err()
                .to_string()
                .contains("not an EPSG code")
        );
    }

    #[test]
    fn geocentric_label_on_utm_numbers_is_flagged() {
        let crs = Crs::from_epsg_str("EPSG:4978").unwrap();
        let warning = plausibility_warning(
            &crs,
            [515368.6, 4918340.3, 2322.8],
            [515401.0, 4918381.1, 2338.5],
        );
        assert!(warning.unwrap().contains("EPSG:4978"));
        // The real lone-star label: an unnamed GEOCCS without authority code.
        let unnamed = crs_from_wkt(r#"GEOCCS["unnamed",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],UNIT["metre",1]]"#).unwrap();
        assert_eq!(unnamed.kind, CrsKind::Geocentric);
        assert!(
            plausibility_warning(
                &unnamed,
                [515368.6, 4918340.3, 2322.8],
                [515401.0, 4918381.1, 2338.5]
            )
            .is_some()
        );
        let l93 = Crs::from_epsg_str("EPSG:2154").unwrap();
        assert!(
            plausibility_warning(
                &l93,
                [292000.0, 6832000.0, 43.0],
                [292999.0, 6832999.0, 107.0]
            )
            .is_none()
        );
    }
}

/// Bevy's Y-up render frame from a CRS offset (x east, y north, z up): east stays x, up becomes
/// y, north becomes −z (right-handed both). Only offsets from a nearby f64 origin go through
/// here, never raw projected coordinates: f32 keeps millimetres within ±10 km.
pub fn world_from_crs(offset: DVec3) -> [f32; 3] {
    [offset.x as f32, offset.z as f32, -offset.y as f32]
}

/// [`world_from_crs`] for an f32 offset already small (a point relative to its node's origin).
pub fn world_from_crs_f32(offset: [f32; 3]) -> [f32; 3] {
    [offset[0], offset[2], -offset[1]]
}

/// The inverse of [`world_from_crs`].
pub fn crs_from_world(v: [f32; 3]) -> DVec3 {
    DVec3::new(f64::from(v[0]), -f64::from(v[2]), f64::from(v[1]))
}

#[cfg(test)]
mod frame_tests {
    use super::*;

    #[test]
    fn render_frame_round_trips_and_keeps_handedness() {
        let d = DVec3::new(12.5, -3.25, 7.0);
        assert_eq!(crs_from_world(world_from_crs(d)), d);
        // east × north = up in the CRS; x × (−z) = y in Bevy.
        let [ex, ey, ez] = world_from_crs(DVec3::X);
        let [nx, ny, nz] = world_from_crs(DVec3::Y);
        let cross = [ey * nz - ez * ny, ez * nx - ex * nz, ex * ny - ey * nx];
        assert_eq!(cross, world_from_crs(DVec3::Z));
    }
}

/// WGS84 semi-major axis (m) and first eccentricity squared. GRS80 (Lambert-93's ellipsoid)
/// differs by 0.1 mm in the semi-minor axis: the same for a twin.
const WGS84_A: f64 = 6_378_137.0;
const WGS84_E2: f64 = 6.694_379_990_141_317e-3;

/// Earth-centred, Earth-fixed coordinates (m) of a WGS84 longitude, latitude (radians) and
/// ellipsoidal height (m).
pub fn ecef_from_geodetic(lon: f64, lat: f64, height: f64) -> DVec3 {
    let (sin_lat, cos_lat) = lat.sin_cos();
    let n = WGS84_A / (1.0 - WGS84_E2 * sin_lat * sin_lat).sqrt();
    DVec3::new(
        (n + height) * cos_lat * lon.cos(),
        (n + height) * cos_lat * lon.sin(),
        (n * (1.0 - WGS84_E2) + height) * sin_lat,
    )
}

/// (longitude, latitude in radians, ellipsoidal height in m) of an ECEF point (Bowring's method
/// refined by iteration: sub-millimetre for any point near the Earth's surface).
pub fn geodetic_from_ecef(p: DVec3) -> (f64, f64, f64) {
    let lon = p.y.atan2(p.x);
    let r = p.x.hypot(p.y);
    let mut lat = p.z.atan2(r * (1.0 - WGS84_E2));
    let mut height = 0.0;
    for _ in 0..5 {
        let sin_lat = lat.sin();
        let n = WGS84_A / (1.0 - WGS84_E2 * sin_lat * sin_lat).sqrt();
        height = if lat.cos().abs() > 1e-9 {
            r / lat.cos() - n
        } else {
            p.z.abs() - n * (1.0 - WGS84_E2)
        };
        lat = p.z.atan2(r * (1.0 - WGS84_E2 * n / (n + height)));
    }
    (lon, lat, height)
}

/// Rows: the east, north and up unit vectors at a longitude and latitude (radians), i.e. the
/// rotation from ECEF offsets to east-north-up offsets.
pub fn enu_from_ecef_rotation(lon: f64, lat: f64) -> bevy::math::DMat3 {
    let (sl, cl) = lon.sin_cos();
    let (sp, cp) = lat.sin_cos();
    let east = DVec3::new(-sl, cl, 0.0);
    let north = DVec3::new(-sp * cl, -sp * sl, cp);
    let up = DVec3::new(cp * cl, cp * sl, sp);
    bevy::math::DMat3::from_cols(east, north, up).transpose()
}

/// How the twin's coordinates (its "CRS": x east, y north, z up, metres) relate to the Earth.
/// This is what puts Earth-centred content (3D Tiles, WGS84 vectors) beside projected point
/// clouds.
#[derive(Clone)]
pub enum GeoFrame {
    /// A projected CRS by EPSG code (Lambert-93, UTM…), its heights in `vertical` (NGF-IGN69
    /// altitudes are brought to and from ellipsoidal heights through RAF20).
    Projected {
        epsg: u32,
        vertical: VerticalDatum,
        proj: std::sync::Arc<proj4rs::Proj>,
        geographic: std::sync::Arc<proj4rs::Proj>,
    },
    /// East-north-up metres around an ECEF origin: the frame of a twin that holds no projected
    /// data (e.g. a tileset on its own).
    LocalEnu {
        origin_ecef: DVec3,
        enu_from_ecef: bevy::math::DMat3,
    },
}

impl std::fmt::Debug for GeoFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GeoFrame::Projected { epsg, vertical, .. } => {
                write!(f, "GeoFrame::Projected(EPSG:{epsg}, {vertical:?})")
            }
            GeoFrame::LocalEnu { origin_ecef, .. } => {
                write!(f, "GeoFrame::LocalEnu({origin_ecef})")
            }
        }
    }
}

impl GeoFrame {
    /// The frame of a projected CRS known to the built-in table.
    pub fn projected(epsg: u32) -> Result<Self, GeorefError> {
        let def = u16::try_from(epsg)
            .ok()
            .and_then(crs_definitions::from_code)
            .ok_or(GeorefError::UnknownEpsg { code: epsg })?;
        let proj =
            proj4rs::Proj::from_proj_string(def.proj4).map_err(|e| GeorefError::BadDefinition {
                code: epsg,
                reason: format!("cannot build its projection: {e}"),
            })?;
        if proj.is_latlong() || proj.is_geocent() {
            return Err(GeorefError::NotProjected { code: epsg });
        }
        let geographic = proj4rs::Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs")
            .map_err(|e| GeorefError::Transform {
                what: "WGS84".into(),
                reason: e.to_string(),
            })?;
        Ok(Self::Projected {
            epsg,
            vertical: VerticalDatum::Ellipsoidal,
            proj: std::sync::Arc::new(proj),
            geographic: std::sync::Arc::new(geographic),
        })
    }

    /// The same frame with its heights in `datum` (a local frame keeps ellipsoidal heights).
    pub fn with_vertical(mut self, datum: VerticalDatum) -> Self {
        if let GeoFrame::Projected { vertical, .. } = &mut self {
            *vertical = datum;
        }
        self
    }

    /// The datum of the frame's heights.
    pub fn vertical(&self) -> VerticalDatum {
        match self {
            GeoFrame::Projected { vertical, .. } => *vertical,
            GeoFrame::LocalEnu { .. } => VerticalDatum::Ellipsoidal,
        }
    }

    /// The EPSG code when the frame is a projection.
    pub fn projected_epsg(&self) -> Option<u32> {
        match self {
            GeoFrame::Projected { epsg, .. } => Some(*epsg),
            GeoFrame::LocalEnu { .. } => None,
        }
    }

    /// The frame in words: `EPSG:2154`, or a local east-north-up frame.
    pub fn label(&self) -> String {
        match self {
            GeoFrame::Projected {
                epsg,
                vertical: VerticalDatum::Ellipsoidal,
                ..
            } => format!("EPSG:{epsg}"),
            GeoFrame::Projected { epsg, vertical, .. } => {
                format!("EPSG:{epsg} with {}", vertical.label())
            }
            GeoFrame::LocalEnu { .. } => "a local east-north-up frame".into(),
        }
    }

    /// East-north-up metres around `origin_ecef`.
    pub fn local_enu(origin_ecef: DVec3) -> Self {
        let (lon, lat, _) = geodetic_from_ecef(origin_ecef);
        Self::LocalEnu {
            origin_ecef,
            enu_from_ecef: enu_from_ecef_rotation(lon, lat),
        }
    }

    /// Twin coordinates of an ECEF point.
    pub fn crs_from_ecef(&self, ecef: DVec3) -> Result<DVec3, GeorefError> {
        match self {
            GeoFrame::LocalEnu {
                origin_ecef,
                enu_from_ecef,
            } => Ok(*enu_from_ecef * (ecef - *origin_ecef)),
            GeoFrame::Projected {
                epsg,
                vertical,
                proj,
                geographic,
            } => {
                let (lon, lat, h) = geodetic_from_ecef(ecef);
                let z = vertical.from_ellipsoidal(h, lon.to_degrees(), lat.to_degrees())?;
                let mut p = (lon, lat, 0.0);
                proj4rs::transform::transform(geographic, proj, &mut p).map_err(|e| {
                    GeorefError::Transform {
                        what: format!(
                            "cannot project lon {:.6}°, lat {:.6}° to EPSG:{epsg}",
                            lon.to_degrees(),
                            lat.to_degrees()
                        ),
                        reason: e.to_string(),
                    }
                })?;
                Ok(DVec3::new(p.0, p.1, z))
            }
        }
    }

    /// ECEF coordinates of a twin point.
    pub fn ecef_from_crs(&self, crs: DVec3) -> Result<DVec3, GeorefError> {
        match self {
            GeoFrame::LocalEnu {
                origin_ecef,
                enu_from_ecef,
            } => Ok(*origin_ecef + enu_from_ecef.transpose() * crs),
            GeoFrame::Projected {
                epsg,
                vertical,
                proj,
                geographic,
            } => {
                let mut p = (crs.x, crs.y, 0.0);
                proj4rs::transform::transform(proj, geographic, &mut p).map_err(|e| {
                    GeorefError::Transform {
                        what: format!("cannot unproject ({crs}) from EPSG:{epsg}"),
                        reason: e.to_string(),
                    }
                })?;
                let h = vertical.ellipsoidal_from(crs.z, p.0.to_degrees(), p.1.to_degrees())?;
                Ok(ecef_from_geodetic(p.0, p.1, h))
            }
        }
    }

    /// The affine map from ECEF to twin coordinates, exact for a local frame and linearised at
    /// `at` for a projection (central differences over ±50 m): good for directions (normals,
    /// frustum planes) and nearby points; geometry far from `at` goes through
    /// [`GeoFrame::crs_from_ecef`].
    pub fn crs_from_ecef_affine(&self, at: DVec3) -> Result<bevy::math::DMat4, GeorefError> {
        if let GeoFrame::LocalEnu {
            origin_ecef,
            enu_from_ecef,
        } = self
        {
            let m = bevy::math::DMat4::from_mat3(*enu_from_ecef);
            return Ok(m * bevy::math::DMat4::from_translation(-*origin_ecef));
        }
        const STEP: f64 = 50.0;
        let centre = self.crs_from_ecef(at)?;
        let mut cols = [DVec3::ZERO; 3];
        for (axis, col) in cols.iter_mut().enumerate() {
            let mut d = DVec3::ZERO;
            d[axis] = STEP;
            *col = (self.crs_from_ecef(at + d)? - self.crs_from_ecef(at - d)?) / (2.0 * STEP);
        }
        let linear = bevy::math::DMat3::from_cols(cols[0], cols[1], cols[2]);
        let m = bevy::math::DMat4::from_mat3(linear);
        Ok(bevy::math::DMat4::from_translation(centre)
            * m
            * bevy::math::DMat4::from_translation(-at))
    }
}

#[cfg(test)]
mod geo_frame_tests {
    use super::*;

    /// Earth-centred content in a twin of IGN69 altitudes: a point 108.922 m above the
    /// ellipsoid at the IGN tile's centre stands at 60 m (RAF20, as PROJ gives it), and back.
    #[test]
    fn ecef_content_comes_to_ign69_altitudes_through_raf20() {
        let frame = GeoFrame::projected(2154)
            .unwrap()
            .with_vertical(VerticalDatum::Ign69);
        let ecef = ecef_from_geodetic(
            (-2.516_781_0_f64).to_radians(),
            48.464_598_7_f64.to_radians(),
            108.922,
        );
        let crs = frame.crs_from_ecef(ecef).unwrap();
        assert!(
            (crs.x - 292_500.0).abs() < 0.02 && (crs.y - 6_832_500.0).abs() < 0.02,
            "{crs}"
        );
        assert!((crs.z - 60.0).abs() < 0.01, "{crs}");
        assert!((frame.ecef_from_crs(crs).unwrap() - ecef).length() < 1e-3);
        // An ellipsoidal twin keeps the height as it is: 48.9 m higher.
        let ellipsoidal = GeoFrame::projected(2154)
            .unwrap()
            .crs_from_ecef(ecef)
            .unwrap();
        assert!((ellipsoidal.z - 108.922).abs() < 1e-3);
        assert!(frame.label().contains("NGF-IGN69"));
    }

    #[test]
    fn ecef_and_geodetic_round_trip() {
        let (lon, lat, h) = (3.48_f64.to_radians(), 51.2_f64.to_radians(), 42.0);
        let p = ecef_from_geodetic(lon, lat, h);
        let (lon2, lat2, h2) = geodetic_from_ecef(p);
        assert!((lon - lon2).abs() < 1e-12 && (lat - lat2).abs() < 1e-12);
        assert!((h - h2).abs() < 1e-4, "{h2}");
    }

    #[test]
    fn lambert93_frame_places_a_known_point() {
        // IGN's tile 0292_6833 lies near lon −2.517°, lat 48.465° (data README).
        let frame = GeoFrame::projected(2154).unwrap();
        let ecef = ecef_from_geodetic((-2.517_f64).to_radians(), 48.465_f64.to_radians(), 60.0);
        let crs = frame.crs_from_ecef(ecef).unwrap();
        assert!((292_000.0..293_000.0).contains(&crs.x), "{crs}");
        assert!((6_832_000.0..6_833_000.0).contains(&crs.y), "{crs}");
        assert!((crs.z - 60.0).abs() < 1e-6);
        let back = frame.ecef_from_crs(crs).unwrap();
        assert!((back - ecef).length() < 1e-3, "{}", (back - ecef).length());
        // The linearised map is a tangent plane: the Earth's curvature (d² / 2R ≈ 8 cm at 1 km)
        // and the meridian convergence (≈ 5 cm at 1 km) leave centimetres at a kilometre and
        // well under a millimetre at 50 m. Geometry goes through the exact map.
        let affine = frame.crs_from_ecef_affine(ecef).unwrap();
        for (offset, tolerance) in [
            (DVec3::new(600.0, -500.0, 550.0), 0.1),
            (DVec3::splat(30.0), 1e-3),
        ] {
            let away = ecef + offset;
            let exact = frame.crs_from_ecef(away).unwrap();
            let error = (affine.transform_point3(away) - exact).length();
            assert!(error < tolerance, "{error} m off at {offset}");
        }
    }

    #[test]
    fn local_frame_is_east_north_up() {
        let origin = ecef_from_geodetic(0.3, 0.8, 10.0);
        let frame = GeoFrame::local_enu(origin);
        let up = ecef_from_geodetic(0.3, 0.8, 110.0);
        let crs = frame.crs_from_ecef(up).unwrap();
        assert!((crs - DVec3::new(0.0, 0.0, 100.0)).length() < 1e-6, "{crs}");
        let north = frame
            .crs_from_ecef(ecef_from_geodetic(0.3, 0.8 + 1e-5, 10.0))
            .unwrap();
        assert!(north.y > 60.0 && north.x.abs() < 1e-3, "{north}");
        assert!(frame.projected_epsg().is_none());
        assert!(GeoFrame::projected(4326).is_err());
    }
}
