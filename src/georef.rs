//! Coordinate reference systems of datasets: read from LAS WKT / GeoTIFF VLRs, looked up by EPSG
//! code, and checked against the coordinates (real files carry wrong labels; the numbers win).

use crate::pointcloud::las::Vlr;
use byteorder::{ByteOrder, LittleEndian as LE};
use glam::DVec3;

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
    pub fn from_epsg_str(text: &str) -> Result<Self, String> {
        let digits = text
            .trim()
            .trim_start_matches("EPSG:")
            .trim_start_matches("epsg:");
        let code: u32 = digits
            .parse()
            .map_err(|_| format!("`{text}` is not an EPSG code (expected e.g. EPSG:2154)"))?;
        let wkt = wkt_for_epsg(code)
            .ok_or_else(|| format!("EPSG:{code} is not in the built-in CRS table"))?;
        let mut crs = crs_from_wkt(wkt).ok_or_else(|| format!("EPSG:{code}: unreadable WKT"))?;
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

/// The CRS declared by a file's VLRs: WKT first (what LAS 1.4 requires), else GeoTIFF keys.
pub fn crs_from_vlrs<'a>(vlrs: impl IntoIterator<Item = &'a Vlr>) -> Option<Crs> {
    let vlrs: Vec<&Vlr> = vlrs.into_iter().collect();
    let wkt = vlrs
        .iter()
        .find(|v| v.is("LASF_Projection", 2112))
        .and_then(|v| {
            let end = v.data.iter().position(|&b| b == 0).unwrap_or(v.data.len());
            std::str::from_utf8(&v.data[..end]).ok().map(str::to_owned)
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
    // Authority codes with the bracket depth they sit at: depth 1 belongs to the outer CRS.
    let mut codes: Vec<(usize, u32)> = Vec::new();
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
                        codes.push((depth + 1, code));
                    }
                    // Leave the bracket to the depth counter.
                    i += keyword.len() - 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    let epsg = codes.iter().find(|(d, _)| *d == 2).map(|c| c.1);
    let compound = wkt.starts_with("COMPD_CS") || wkt.starts_with("COMPOUNDCRS");
    let horizontal_epsg = if compound {
        // The first projected/geographic member's own code (depth 3: inside the compound).
        codes.iter().find(|(d, _)| *d == 3).map(|c| c.1)
    } else {
        None
    };
    Some(Crs {
        epsg,
        horizontal_epsg,
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

fn crs_from_geotiff(vlrs: &[&Vlr]) -> Option<Crs> {
    let keys = vlrs.iter().find(|v| v.is("LASF_Projection", 34735))?;
    let ascii = vlrs.iter().find(|v| v.is("LASF_Projection", 34737));
    let words: Vec<u16> = keys.data.chunks_exact(2).map(LE::read_u16).collect();
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
                    let text = a.data.get(start..start + usize::from(n))?;
                    Some(latin1(text).trim_end_matches(['|', '\0']).trim().to_owned())
                });
            }
            _ => {}
        }
    }
    let horizontal = projected.or(geographic);
    let wkt = horizontal.and_then(wkt_for_epsg);
    let name = citation.or_else(|| wkt.and_then(crs_from_wkt).and_then(|c| c.name));
    let _ = vertical;
    Some(Crs {
        epsg: horizontal,
        horizontal_epsg: None,
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
