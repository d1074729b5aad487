//! GeoTIFF: single-band float rasters in and out, with the CRS as GeoKeys (what GDAL, QGIS
//! and IGN's LiDAR HD MNT/MNS tiles use).
//!
//! Written files are north-up, one `f32` sample per cell, deflate-compressed, georeferenced by
//! a tie point and pixel scale with `PixelIsArea`, the CRS as `ProjectedCSTypeGeoKey` (an EPSG
//! code) and `nan` as GDAL's no-data value when some cell is empty.

use super::raster::{Grid, Raster};
use bevy::math::DVec2;
use std::io::{Cursor, Read, Seek, Write};
use tiff::decoder::{Decoder, DecodingResult};
use tiff::encoder::{Compression, DeflateLevel, TiffEncoder, colortype::Gray32Float};
use tiff::tags::Tag;

/// GeoKey ids (GeoTIFF 1.1, section 7).
const MODEL_TYPE_KEY: u16 = 1024;
const RASTER_TYPE_KEY: u16 = 1025;
const GEOGRAPHIC_TYPE_KEY: u16 = 2048;
const PROJECTED_CS_KEY: u16 = 3072;
const LINEAR_UNITS_KEY: u16 = 3076;
const VERTICAL_CS_KEY: u16 = 4096;
const MODEL_TYPE_PROJECTED: u16 = 1;
const MODEL_TYPE_GEOGRAPHIC: u16 = 2;
const RASTER_PIXEL_IS_AREA: u16 = 1;
const LINEAR_UNIT_METRE: u16 = 9001;

/// Why a GeoTIFF could not be read or written. Its text names the file and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum GeoTiffError {
    #[error("{name}: {source}")]
    Io {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: not a readable TIFF ({what}): {source}")]
    Tiff {
        name: String,
        what: &'static str,
        #[source]
        source: tiff::TiffError,
    },
    #[error("{name}: {problem}")]
    Georeference { name: String, problem: String },
}

/// The CRS of a raster as GeoTIFF tells it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RasterCrs {
    /// EPSG code of the horizontal CRS (projected, or geographic when `geographic`).
    pub epsg: Option<u16>,
    pub geographic: bool,
    /// EPSG code of the vertical CRS (5720 for IGN69), when known.
    pub vertical_epsg: Option<u16>,
}

impl RasterCrs {
    /// A projected CRS by EPSG code (e.g. 2154, Lambert-93).
    pub fn projected(epsg: u32) -> Self {
        Self {
            epsg: u16::try_from(epsg).ok(),
            geographic: false,
            vertical_epsg: None,
        }
    }
}

/// `raster` as GeoTIFF bytes in `crs`.
pub fn to_bytes(raster: &Raster, crs: RasterCrs) -> Result<Vec<u8>, tiff::TiffError> {
    let mut out = Cursor::new(Vec::new());
    write(&mut out, raster, crs)?;
    Ok(out.into_inner())
}

/// Writes `raster` to `path` as GeoTIFF in `crs`.
pub fn write_file(
    path: &std::path::Path,
    raster: &Raster,
    crs: RasterCrs,
) -> Result<(), GeoTiffError> {
    let name = path.display().to_string();
    let bytes = to_bytes(raster, crs).map_err(|source| GeoTiffError::Tiff {
        name: name.clone(),
        what: "encoding",
        source,
    })?;
    std::fs::write(path, bytes).map_err(|source| GeoTiffError::Io { name, source })
}

fn write<W: Write + Seek>(
    out: &mut W,
    raster: &Raster,
    crs: RasterCrs,
) -> Result<(), tiff::TiffError> {
    let g = raster.grid;
    let (width, height) = (g.cols as u32, g.rows as u32);
    let mut north_up = Vec::with_capacity(g.len());
    for row in (0..g.rows).rev() {
        north_up.extend_from_slice(&raster.values[row * g.cols..(row + 1) * g.cols]);
    }
    let mut encoder =
        TiffEncoder::new(out)?.with_compression(Compression::Deflate(DeflateLevel::Fast));
    let mut image = encoder.new_image::<Gray32Float>(width, height)?;
    let (_, hi) = g.extent();
    let dir = image.encoder();
    dir.write_tag(Tag::ModelPixelScaleTag, &[g.cell_m, g.cell_m, 0.0][..])?;
    dir.write_tag(
        Tag::ModelTiepointTag,
        &[0.0, 0.0, 0.0, g.min_xy.x, hi.y, 0.0][..],
    )?;
    let mut keys: Vec<[u16; 4]> = vec![[RASTER_TYPE_KEY, 0, 1, RASTER_PIXEL_IS_AREA]];
    match (crs.epsg, crs.geographic) {
        (Some(code), false) => {
            keys.push([MODEL_TYPE_KEY, 0, 1, MODEL_TYPE_PROJECTED]);
            keys.push([PROJECTED_CS_KEY, 0, 1, code]);
            keys.push([LINEAR_UNITS_KEY, 0, 1, LINEAR_UNIT_METRE]);
        }
        (Some(code), true) => {
            keys.push([MODEL_TYPE_KEY, 0, 1, MODEL_TYPE_GEOGRAPHIC]);
            keys.push([GEOGRAPHIC_TYPE_KEY, 0, 1, code]);
        }
        (None, _) => {}
    }
    if let Some(code) = crs.vertical_epsg {
        keys.push([VERTICAL_CS_KEY, 0, 1, code]);
    }
    keys.sort_by_key(|k| k[0]);
    let mut directory = vec![1, 1, 0, keys.len() as u16];
    directory.extend(keys.iter().flatten());
    dir.write_tag(Tag::GeoKeyDirectoryTag, &directory[..])?;
    if raster.values.iter().any(|v| v.is_nan()) {
        dir.write_tag(Tag::GdalNodata, "nan")?;
    }
    image.rows_per_strip(64.min(height.max(1)))?;
    image.write_data(&north_up)
}

/// Reads a single-band GeoTIFF (the first band of a multi-band one) from `path`.
pub fn read_file(path: &std::path::Path) -> Result<(Raster, RasterCrs), GeoTiffError> {
    let name = path.display().to_string();
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|source| GeoTiffError::Io {
            name: name.clone(),
            source,
        })?;
    read(&name, &bytes)
}

/// Reads a single-band GeoTIFF from `bytes`; `name` is the file named in errors.
pub fn read(name: &str, bytes: &[u8]) -> Result<(Raster, RasterCrs), GeoTiffError> {
    let tiff = |what: &'static str| {
        move |source| GeoTiffError::Tiff {
            name: name.to_owned(),
            what,
            source,
        }
    };
    let problem = |problem: String| GeoTiffError::Georeference {
        name: name.to_owned(),
        problem,
    };
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(tiff("header"))?;
    let (width, height) = decoder.dimensions().map_err(tiff("dimensions"))?;
    let samples = decoder
        .find_tag_unsigned::<u16>(Tag::SamplesPerPixel)
        .map_err(tiff("samples per pixel"))?
        .unwrap_or(1)
        .max(1) as usize;
    let scale = decoder
        .find_tag(Tag::ModelPixelScaleTag)
        .map_err(tiff("pixel scale"))?
        .map(|v| v.into_f64_vec())
        .transpose()
        .map_err(tiff("pixel scale"))?
        .ok_or_else(|| problem("no ModelPixelScale tag: the raster is not georeferenced".into()))?;
    let tie = decoder
        .find_tag(Tag::ModelTiepointTag)
        .map_err(tiff("tie point"))?
        .map(|v| v.into_f64_vec())
        .transpose()
        .map_err(tiff("tie point"))?
        .ok_or_else(|| problem("no ModelTiepoint tag: the raster is not georeferenced".into()))?;
    let keys = decoder
        .find_tag_unsigned_vec::<u16>(Tag::GeoKeyDirectoryTag)
        .map_err(tiff("GeoKey directory"))?
        .unwrap_or_default();
    let nodata = decoder
        .find_tag(Tag::GdalNodata)
        .ok()
        .flatten()
        .and_then(|v| v.into_string().ok())
        .and_then(|s| s.trim_matches(char::from(0)).trim().parse::<f64>().ok());
    if scale.len() < 2 || tie.len() < 6 {
        return Err(problem("incomplete georeferencing".into()));
    }
    if (scale[0] - scale[1]).abs() > 1e-9 * scale[0].abs() || scale[0] <= 0.0 {
        return Err(problem(format!(
            "cells of {} × {} are not square",
            scale[0], scale[1]
        )));
    }
    let key = |id: u16| {
        keys.chunks_exact(4)
            .skip(1)
            .find(|k| k[0] == id && k[1] == 0)
            .map(|k| k[3])
    };
    let half = if key(RASTER_TYPE_KEY).is_none_or(|v| v == RASTER_PIXEL_IS_AREA) {
        0.0
    } else {
        0.5
    };
    let crs = RasterCrs {
        epsg: key(PROJECTED_CS_KEY).or(key(GEOGRAPHIC_TYPE_KEY)),
        geographic: key(MODEL_TYPE_KEY) == Some(MODEL_TYPE_GEOGRAPHIC),
        vertical_epsg: key(VERTICAL_CS_KEY),
    };
    let cell_m = scale[0];
    // A PixelIsPoint tie point names the centre of the first cell; move it to the corner.
    let west = tie[3] - (tie[0] + half) * cell_m;
    let north = tie[4] + (tie[1] + half) * cell_m;
    let values = match decoder.read_image().map_err(tiff("values"))? {
        DecodingResult::F32(v) => v,
        DecodingResult::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        DecodingResult::I16(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::U16(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::I32(v) => v.into_iter().map(|x| x as f32).collect(),
        DecodingResult::U8(v) => v.into_iter().map(f32::from).collect(),
        _ => {
            return Err(problem(
                "sample type not supported (float, 8/16/32-bit integer)".into(),
            ));
        }
    };
    let (cols, rows) = (width as usize, height as usize);
    if values.len() < cols * rows * samples {
        return Err(problem(format!(
            "{} values for {cols} × {rows} × {samples}",
            values.len()
        )));
    }
    let grid = Grid {
        min_xy: DVec2::new(west, north - rows as f64 * cell_m),
        cell_m,
        cols,
        rows,
    };
    let mut raster = Raster::filled(grid, f32::NAN);
    for row in 0..rows {
        let north_row = rows - 1 - row;
        for col in 0..cols {
            let v = values[(north_row * cols + col) * samples];
            let empty = nodata.is_some_and(|n| f64::from(v) == n || (n.is_nan() && v.is_nan()));
            raster.values[grid.index(col, row)] = if empty { f32::NAN } else { v };
        }
    }
    Ok((raster, crs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Raster {
        let grid = Grid {
            min_xy: DVec2::new(292_000.0, 6_832_000.0),
            cell_m: 0.5,
            cols: 7,
            rows: 5,
        };
        let mut raster = Raster::filled(grid, 0.0);
        for (i, v) in raster.values.iter_mut().enumerate() {
            *v = 40.0 + i as f32 * 0.25;
        }
        raster.values[3] = f32::NAN;
        raster
    }

    #[test]
    fn rasters_round_trip_with_their_place_and_crs() {
        let raster = sample();
        let crs = RasterCrs {
            vertical_epsg: Some(5720),
            ..RasterCrs::projected(2154)
        };
        let bytes = to_bytes(&raster, crs).unwrap();
        let (back, back_crs) = read("mem.tif", &bytes).unwrap();
        assert_eq!(back.grid, raster.grid);
        assert_eq!(back_crs, crs);
        for (a, b) in back.values.iter().zip(&raster.values) {
            assert!(a == b || (a.is_nan() && b.is_nan()));
        }
        // The south-west cell stays south-west: row 0 of the file is the north row.
        assert_eq!(back.at(0, 0), 40.0);
    }

    #[test]
    fn a_tiff_without_georeferencing_is_refused_by_name() {
        let mut out = Cursor::new(Vec::new());
        TiffEncoder::new(&mut out)
            .unwrap()
            .write_image::<Gray32Float>(2, 2, &[1.0, 2.0, 3.0, 4.0])
            .unwrap();
        let err = read("plain.tif", &out.into_inner())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("plain.tif") && err.contains("ModelPixelScale"),
            "{err}"
        );
        let err = read("junk.tif", b"not a tiff").unwrap_err().to_string();
        assert!(err.starts_with("junk.tif: not a readable TIFF"), "{err}");
    }
}
