//! `jumeau crs transform`: one position from a CRS to another, vertical datum included, as a
//! script checks Jumeau's georeferencing against PROJ.
//!
//! A CRS is `EPSG:h` or `EPSG:h+v`: `h` a projected or geographic code of the built-in table,
//! `v` a vertical datum (5720, NGF-IGN69, through RAF20). EPSG:4979 (WGS 84 longitude, latitude,
//! ellipsoidal height) and EPSG:4978 (Earth-centred X, Y, Z) are understood too. Geographic
//! coordinates are in degrees, longitude first.

use super::geoid::VerticalDatum;
use super::{GeorefError, ecef_from_geodetic, geodetic_from_ecef};
use bevy::math::DVec3;
use std::sync::Arc;

/// A CRS that positions are transformed between.
#[derive(Clone)]
pub struct CrsSpec {
    text: String,
    kind: SpecKind,
    vertical: VerticalDatum,
}

#[derive(Clone)]
enum SpecKind {
    /// Earth-centred, Earth-fixed X, Y, Z (EPSG:4978).
    Ecef,
    /// Longitude and latitude in degrees through this definition (radians inside proj4rs).
    Geographic(Arc<proj4rs::Proj>),
    /// Easting and northing.
    Projected(Arc<proj4rs::Proj>),
}

impl std::fmt::Debug for CrsSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CrsSpec({})", self.text)
    }
}

impl std::str::FromStr for CrsSpec {
    type Err = GeorefError;

    fn from_str(text: &str) -> Result<Self, GeorefError> {
        let body = text
            .trim()
            .strip_prefix("EPSG:")
            .or_else(|| text.trim().strip_prefix("epsg:"))
            .unwrap_or(text.trim());
        let (horizontal, vertical) = match body.split_once('+') {
            Some((h, v)) => (h, Some(v)),
            None => (body, None),
        };
        let code = |s: &str| {
            s.parse::<u32>().map_err(|_| GeorefError::NotACrsSpec {
                text: text.to_owned(),
            })
        };
        let horizontal = code(horizontal)?;
        let vertical = match vertical {
            None => VerticalDatum::Ellipsoidal,
            Some(v) => {
                let v = code(v)?;
                VerticalDatum::of_epsg(v).ok_or(GeorefError::UnknownVerticalDatum { code: v })?
            }
        };
        let kind = match horizontal {
            4978 => SpecKind::Ecef,
            4326 | 4979 => SpecKind::Geographic(Arc::new(wgs84()?)),
            code => {
                let def = u16::try_from(code)
                    .ok()
                    .and_then(crs_definitions::from_code)
                    .ok_or(GeorefError::UnknownEpsg { code })?;
                let proj = proj4rs::Proj::from_proj_string(def.proj4).map_err(|e| {
                    GeorefError::BadDefinition {
                        code,
                        reason: e.to_string(),
                    }
                })?;
                if proj.is_geocent() {
                    SpecKind::Ecef
                } else if proj.is_latlong() {
                    SpecKind::Geographic(Arc::new(proj))
                } else {
                    SpecKind::Projected(Arc::new(proj))
                }
            }
        };
        if matches!(kind, SpecKind::Ecef) && vertical != VerticalDatum::Ellipsoidal {
            return Err(GeorefError::EcefWithVerticalDatum {
                text: text.to_owned(),
            });
        }
        Ok(Self {
            text: text.trim().to_owned(),
            kind,
            vertical,
        })
    }
}

fn wgs84() -> Result<proj4rs::Proj, GeorefError> {
    proj4rs::Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs").map_err(|e| {
        GeorefError::Transform {
            what: "WGS 84".into(),
            reason: e.to_string(),
        }
    })
}

/// A projection failure at a point: `what` happened, and why.
fn transform_error(what: String) -> impl FnOnce(proj4rs::errors::Error) -> GeorefError {
    move |e| GeorefError::Transform {
        what,
        reason: e.to_string(),
    }
}

impl CrsSpec {
    /// Longitude, latitude (radians, WGS 84) and ellipsoidal height of a position in this CRS.
    fn geodetic_of(&self, p: DVec3) -> Result<(f64, f64, f64), GeorefError> {
        let (lon, lat, height) = match &self.kind {
            SpecKind::Ecef => return Ok(geodetic_from_ecef(p)),
            SpecKind::Geographic(proj) => {
                let mut q = (p.x.to_radians(), p.y.to_radians(), 0.0);
                proj4rs::transform::transform(proj, &wgs84()?, &mut q)
                    .map_err(transform_error(self.text.clone()))?;
                (q.0, q.1, p.z)
            }
            SpecKind::Projected(proj) => {
                let mut q = (p.x, p.y, 0.0);
                proj4rs::transform::transform(proj, &wgs84()?, &mut q).map_err(transform_error(
                    format!("cannot unproject {p} from {}", self.text),
                ))?;
                (q.0, q.1, p.z)
            }
        };
        let h = self
            .vertical
            .ellipsoidal_from(height, lon.to_degrees(), lat.to_degrees())?;
        Ok((lon, lat, h))
    }

    /// The position in this CRS of a WGS 84 longitude, latitude (radians), ellipsoidal height.
    fn position_of(&self, lon: f64, lat: f64, h: f64) -> Result<DVec3, GeorefError> {
        let z = self
            .vertical
            .from_ellipsoidal(h, lon.to_degrees(), lat.to_degrees())?;
        match &self.kind {
            SpecKind::Ecef => Ok(ecef_from_geodetic(lon, lat, h)),
            SpecKind::Geographic(proj) => {
                let mut q = (lon, lat, 0.0);
                proj4rs::transform::transform(&wgs84()?, proj, &mut q)
                    .map_err(transform_error(self.text.clone()))?;
                Ok(DVec3::new(q.0.to_degrees(), q.1.to_degrees(), z))
            }
            SpecKind::Projected(proj) => {
                let mut q = (lon, lat, 0.0);
                proj4rs::transform::transform(&wgs84()?, proj, &mut q).map_err(transform_error(
                    format!("cannot project into {}", self.text),
                ))?;
                Ok(DVec3::new(q.0, q.1, z))
            }
        }
    }

    /// Whether positions are longitude/latitude in degrees (printed with more decimals).
    pub fn is_geographic(&self) -> bool {
        matches!(self.kind, SpecKind::Geographic(_))
    }
}

/// `p` from `from` into `to`.
pub fn transform(from: &CrsSpec, to: &CrsSpec, p: DVec3) -> Result<DVec3, GeorefError> {
    let (lon, lat, h) = from.geodetic_of(p)?;
    to.position_of(lon, lat, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference values of `../shared/data/geoid/README.md`: PROJ 9 with the RAF20 grid.
    #[test]
    fn lambert93_with_ign69_altitudes_to_wgs84_heights_matches_proj() {
        let from: CrsSpec = "EPSG:2154+5720".parse().unwrap();
        let to: CrsSpec = "EPSG:4979".parse().unwrap();
        for (x, y, altitude, lon, lat, h) in [
            (292500.0, 6832500.0, 60.0, -2.5167810, 48.4645987, 108.922),
            (651000.0, 6861000.0, 35.0, 2.3322989, 48.8471799, 78.804),
        ] {
            let p = transform(&from, &to, DVec3::new(x, y, altitude)).unwrap();
            // 1e-7° is about a centimetre.
            assert!((p.x - lon).abs() < 1.5e-7, "lon {} vs {lon}", p.x);
            assert!((p.y - lat).abs() < 1.5e-7, "lat {} vs {lat}", p.y);
            assert!((p.z - h).abs() < 0.01, "h {} vs {h}", p.z);
            let back = transform(&to, &from, p).unwrap();
            assert!(
                (back - DVec3::new(x, y, altitude)).length() < 0.001,
                "{back}"
            );
        }
    }

    #[test]
    fn unknown_codes_are_named() {
        let e = "EPSG:2154+5773".parse::<CrsSpec>().unwrap_err();
        assert_eq!(e, GeorefError::UnknownVerticalDatum { code: 5773 });
        assert!(e.to_string().contains("5773"), "{e}");
        let e = "Lambert".parse::<CrsSpec>().unwrap_err();
        assert!(matches!(e, GeorefError::NotACrsSpec { .. }), "{e:?}");
        assert!(e.to_string().contains("Lambert"), "{e}");
    }
}
