//! Vertical datums: NGF-IGN69 altitudes (French LiDAR HD, BD TOPO, every French plan) against
//! heights above the ellipsoid (Earth-centred 3D Tiles, GNSS), through IGN's RAF20 grid.
//!
//! # How it works
//! The grid (`assets/geoid/fr_ign_RAF20.tif`, Licence Ouverte, embedded in the binary) gives the
//! height `N` of the quasi-geoid above the ellipsoid on a longitude/latitude grid:
//! `h_ellipsoid = H_IGN69 + N(lon, lat)`, `N` interpolated bilinearly as PROJ does. It is read
//! once, on first use, from the GeoTIFF's own georeferencing (tie point, pixel scale, and
//! whether a value stands for a cell's centre or its corner).

use super::GeorefError;
use std::sync::OnceLock;

/// The RAF20 grid as shipped (see `assets/geoid/README.md` for its source and licence).
const RAF20_TIFF: &[u8] = include_bytes!("../../assets/geoid/fr_ign_RAF20.tif");

/// The vertical datum of the twin's heights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, clap::ValueEnum)]
pub enum VerticalDatum {
    /// Heights above the ellipsoid (what ECEF coordinates carry).
    #[default]
    Ellipsoidal,
    /// NGF-IGN69 altitudes (EPSG:5720), continental France: RAF20 converts.
    #[value(name = "IGN69", alias = "ign69")]
    Ign69,
}

impl VerticalDatum {
    /// The vertical datum of a twin whose point clouds are in `crs`, with a note for the
    /// panel when it is assumed rather than declared.
    pub fn of_crs(crs: Option<&super::Crs>) -> (Self, Option<String>) {
        let Some(crs) = crs else {
            return (VerticalDatum::Ellipsoidal, None);
        };
        if let Some(datum) = crs.vertical_epsg.and_then(VerticalDatum::of_epsg) {
            return (datum, None);
        }
        if crs.horizontal_code() == Some(2154) && crs.vertical_epsg.is_none() {
            return (
                VerticalDatum::Ign69,
                Some(
                    "the point clouds declare Lambert-93 without a vertical CRS: their heights are \
                     taken as NGF-IGN69 altitudes, as in IGN's LiDAR HD (--vertical-datum overrides)"
                        .into(),
                ),
            );
        }
        (VerticalDatum::Ellipsoidal, None)
    }

    /// The datum of a vertical CRS's EPSG code, when Jumeau knows it.
    pub fn of_epsg(code: u32) -> Option<Self> {
        match code {
            5720 => Some(Self::Ign69),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Ellipsoidal => "ellipsoidal heights",
            Self::Ign69 => "NGF-IGN69 altitudes (EPSG:5720)",
        }
    }

    /// Height above the ellipsoid of a height in this datum at `lon_deg`, `lat_deg`.
    pub fn ellipsoidal_from(
        self,
        height: f64,
        lon_deg: f64,
        lat_deg: f64,
    ) -> Result<f64, GeorefError> {
        match self {
            Self::Ellipsoidal => Ok(height),
            Self::Ign69 => Ok(height + raf20()?.undulation(lon_deg, lat_deg)?),
        }
    }

    /// A height in this datum from a height above the ellipsoid at `lon_deg`, `lat_deg`.
    pub fn from_ellipsoidal(self, h: f64, lon_deg: f64, lat_deg: f64) -> Result<f64, GeorefError> {
        match self {
            Self::Ellipsoidal => Ok(h),
            Self::Ign69 => Ok(h - raf20()?.undulation(lon_deg, lat_deg)?),
        }
    }
}

/// A geoid-height grid on longitude/latitude, in degrees.
#[derive(Debug, Clone)]
pub struct GeoidGrid {
    name: &'static str,
    width: usize,
    height: usize,
    /// Longitude and latitude of the value at column 0, row 0 (the north-west one).
    west_deg: f64,
    north_deg: f64,
    /// Degrees between neighbouring values (the latitude step is positive, rows go south).
    step_deg: [f64; 2],
    values: Vec<f32>,
}

/// The RAF20 grid, read from the embedded GeoTIFF once.
pub fn raf20() -> Result<&'static GeoidGrid, GeorefError> {
    static GRID: OnceLock<Result<GeoidGrid, GeorefError>> = OnceLock::new();
    GRID.get_or_init(|| GeoidGrid::from_geotiff("RAF20", RAF20_TIFF))
        .as_ref()
        .map_err(Clone::clone)
}

impl GeoidGrid {
    /// Reads a single-band float geoid grid from GeoTIFF bytes.
    pub fn from_geotiff(name: &'static str, bytes: &[u8]) -> Result<Self, GeorefError> {
        use tiff::decoder::{Decoder, DecodingResult};
        use tiff::tags::Tag;
        let problem = |problem: String| GeorefError::Grid {
            grid: name,
            problem,
        };
        let err = |what: &str, e: tiff::TiffError| problem(format!("{what}: {e}"));
        let mut decoder =
            Decoder::new(std::io::Cursor::new(bytes)).map_err(|e| err("not a TIFF", e))?;
        let (width, height) = decoder.dimensions().map_err(|e| err("dimensions", e))?;
        let samples = decoder
            .find_tag_unsigned::<u16>(Tag::SamplesPerPixel)
            .map_err(|e| err("samples per pixel", e))?
            .unwrap_or(1)
            .max(1) as usize;
        let scale = decoder
            .get_tag_f64_vec(Tag::ModelPixelScaleTag)
            .map_err(|e| err("pixel scale", e))?;
        let tie = decoder
            .get_tag_f64_vec(Tag::ModelTiepointTag)
            .map_err(|e| err("tie point", e))?;
        let keys = decoder
            .get_tag_u16_vec(Tag::GeoKeyDirectoryTag)
            .map_err(|e| err("GeoKey directory", e))?;
        if scale.len() < 2 || tie.len() < 6 {
            return Err(problem("incomplete georeferencing".into()));
        }
        // GTRasterTypeGeoKey (1025): 1 = a value covers a cell (its centre is half a step in),
        // 2 = a value stands at the point itself.
        let pixel_is_area = keys
            .chunks_exact(4)
            .skip(1)
            .find(|k| k[0] == 1025)
            .is_none_or(|k| k[3] == 1);
        let half = if pixel_is_area { 0.5 } else { 0.0 };
        let step_deg = [scale[0], scale[1]];
        let west_deg = tie[3] + (half - tie[0]) * step_deg[0];
        let north_deg = tie[4] - (half - tie[1]) * step_deg[1];
        let all = match decoder.read_image().map_err(|e| err("values", e))? {
            DecodingResult::F32(v) => v,
            DecodingResult::F64(v) => v.into_iter().map(|x| x as f32).collect(),
            _ => return Err(problem("values are not floating point".into())),
        };
        let (width, height) = (width as usize, height as usize);
        if all.len() < width * height * samples {
            return Err(problem(format!(
                "{} values for {width} × {height} × {samples}",
                all.len()
            )));
        }
        let values = all
            .into_iter()
            .step_by(samples)
            .take(width * height)
            .collect();
        Ok(Self {
            name,
            width,
            height,
            west_deg,
            north_deg,
            step_deg,
            values,
        })
    }

    /// Longitude and latitude bounds of the grid's values: (west, south, east, north).
    pub fn bounds_deg(&self) -> [f64; 4] {
        [
            self.west_deg,
            self.north_deg - (self.height - 1) as f64 * self.step_deg[1],
            self.west_deg + (self.width - 1) as f64 * self.step_deg[0],
            self.north_deg,
        ]
    }

    /// The geoid height at a position, bilinear between the four surrounding values; an error
    /// outside the grid or where it has no value.
    pub fn undulation(&self, lon_deg: f64, lat_deg: f64) -> Result<f64, GeorefError> {
        let col = (lon_deg - self.west_deg) / self.step_deg[0];
        let row = (self.north_deg - lat_deg) / self.step_deg[1];
        let outside = || {
            let [west, south, east, north] = self.bounds_deg();
            GeorefError::OutsideGrid {
                grid: self.name,
                lon_deg,
                lat_deg,
                west,
                south,
                east,
                north,
            }
        };
        let last = [(self.width - 1) as f64, (self.height - 1) as f64];
        if !(col >= 0.0 && row >= 0.0 && col <= last[0] && row <= last[1]) {
            return Err(outside());
        }
        let (c0, r0) = (
            (col.floor() as usize).min(self.width - 2),
            (row.floor() as usize).min(self.height - 2),
        );
        let (fc, fr) = (col - c0 as f64, row - r0 as f64);
        let at = |c: usize, r: usize| f64::from(self.values[r * self.width + c]);
        let corners = [
            at(c0, r0),
            at(c0 + 1, r0),
            at(c0, r0 + 1),
            at(c0 + 1, r0 + 1),
        ];
        // Missing values are stored as huge or NaN numbers: never interpolate them.
        if corners.iter().any(|v| !v.is_finite() || v.abs() > 1000.0) {
            return Err(outside());
        }
        let top = corners[0] * (1.0 - fc) + corners[1] * fc;
        let bottom = corners[2] * (1.0 - fc) + corners[3] * fc;
        Ok(top * (1.0 - fr) + bottom * fr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference values of `../shared/data/geoid/README.md` (PROJ 9 with this grid): the
    /// geoid height is the ellipsoidal height minus the altitude there.
    #[test]
    fn raf20_gives_what_proj_gives_within_a_centimetre() {
        let grid = raf20().unwrap();
        for (lon, lat, altitude, ellipsoidal) in [
            (-2.5167810, 48.4645987, 60.0, 108.922),
            (2.3322989, 48.8471799, 35.0, 78.804),
        ] {
            let h = VerticalDatum::Ign69
                .ellipsoidal_from(altitude, lon, lat)
                .unwrap();
            assert!(
                (h - ellipsoidal).abs() < 0.01,
                "{lon}, {lat}: {h} instead of {ellipsoidal}"
            );
            let back = VerticalDatum::Ign69.from_ellipsoidal(h, lon, lat).unwrap();
            assert!((back - altitude).abs() < 1e-9);
        }
        let [w, s, e, n] = grid.bounds_deg();
        assert!(
            w < -5.0 && e > 8.0 && s < 42.5 && n > 51.0,
            "{w} {s} {e} {n}"
        );
    }

    #[test]
    fn outside_the_grid_is_an_error_not_a_guess() {
        let error = raf20().unwrap().undulation(-74.0, 40.7).unwrap_err();
        assert!(
            matches!(error, GeorefError::OutsideGrid { grid: "RAF20", .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("outside the RAF20 grid"),
            "{error}"
        );
        assert_eq!(
            VerticalDatum::Ellipsoidal.ellipsoidal_from(12.0, -74.0, 40.7),
            Ok(12.0)
        );
    }
}
