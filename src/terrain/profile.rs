//! Profiles: every point of the clouds within a band along a line (full resolution: all the
//! COPC nodes whose cube meets the band, every block of a plain LAS/LAZ file), each with its
//! distance along the line, as CSV (`x,y,z,distance_m,classification`) or as LAS (the points'
//! own records, attributes kept).

use super::build::Cloud;
use crate::io::ByteSource;
use crate::pointcloud::las::{self, LasError, LasHeader, Vlr};
use bevy::math::{DVec2, DVec3};
use byteorder::{ByteOrder, LE};
use laz::DecompressionSelection;
use rayon::prelude::*;
use std::sync::Arc;

/// A band `width_m` wide centred on the segment `from`–`to` (twin CRS).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    pub from: DVec2,
    pub to: DVec2,
    pub width_m: f64,
}

impl Band {
    /// The ground along the line: (distance along, height) every cell of `dtm` (none where
    /// the line leaves it).
    pub fn ground_line(&self, dtm: &super::Raster) -> Vec<[f64; 2]> {
        let length = self.length_m();
        let steps = (length / dtm.grid.cell_m.max(1e-3))
            .ceil()
            .clamp(1.0, 100_000.0) as usize;
        (0..=steps)
            .filter_map(|i| {
                let along = length * i as f64 / steps as f64;
                let z = dtm.sample(self.from.lerp(self.to, along / length))?;
                Some([along, z])
            })
            .collect()
    }

    /// The band, or why it is not one (ends at one place, a width that is not positive).
    pub fn new(from: DVec2, to: DVec2, width_m: f64) -> Result<Self, String> {
        if !(from.is_finite() && to.is_finite()) || from.distance(to) < 1e-6 {
            return Err(format!(
                "the line from ({:.3}, {:.3}) to ({:.3}, {:.3}) has no length",
                from.x, from.y, to.x, to.y
            ));
        }
        if !(width_m.is_finite() && width_m > 0.0) {
            return Err(format!(
                "the band's width {width_m} m is not a positive size"
            ));
        }
        Ok(Self { from, to, width_m })
    }

    pub fn length_m(&self) -> f64 {
        self.from.distance(self.to)
    }

    /// The distance along the line of `p`'s foot on it, when `p` lies in the band (its ends
    /// and sides included).
    pub fn along(&self, p: DVec2) -> Option<f64> {
        let axis = (self.to - self.from) / self.length_m();
        let v = p - self.from;
        let along = v.dot(axis);
        let across = v.perp_dot(axis).abs();
        (along >= 0.0 && along <= self.length_m() && across <= self.width_m / 2.0).then_some(along)
    }

    /// The band's four corners.
    fn corners(&self) -> [DVec2; 4] {
        let axis = (self.to - self.from) / self.length_m();
        let side = axis.perp() * self.width_m / 2.0;
        [
            self.from + side,
            self.from - side,
            self.to + side,
            self.to - side,
        ]
    }

    /// The band's bounding box.
    pub fn bounds(&self) -> (DVec2, DVec2) {
        let corners = self.corners();
        let lo = corners.iter().copied().fold(DVec2::INFINITY, DVec2::min);
        let hi = corners
            .iter()
            .copied()
            .fold(DVec2::NEG_INFINITY, DVec2::max);
        (lo, hi)
    }

    /// Whether the band reaches into the box `lo`–`hi` (separating axes: the box's two and
    /// the band's two), so that a slanted band reads only the nodes along it.
    pub fn meets(&self, lo: DVec2, hi: DVec2) -> bool {
        let band = self.corners();
        let square = [lo, DVec2::new(hi.x, lo.y), hi, DVec2::new(lo.x, hi.y)];
        let axis = (self.to - self.from) / self.length_m();
        [DVec2::X, DVec2::Y, axis, axis.perp()].iter().all(|&a| {
            let span = |points: &[DVec2; 4]| {
                points
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
                        (l.min(p.dot(a)), h.max(p.dot(a)))
                    })
            };
            let ((l1, h1), (l2, h2)) = (span(&band), span(&square));
            l1 <= h2 && l2 <= h1
        })
    }
}

/// A point of a profile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProfilePoint {
    /// Twin CRS.
    pub position: DVec3,
    /// Along the line from its start, metres.
    pub distance_m: f64,
    pub classification: u8,
}

/// The points of a band, sorted along the line, with their LAS records.
pub struct Profile {
    pub band: Band,
    pub points: Vec<ProfilePoint>,
    /// The points' records in the same order, re-scaled to `header` (empty when the inputs'
    /// point formats differ: see `mixed`).
    pub records: Vec<u8>,
    /// The first input's header (its format, record length, scale and offset).
    pub header: Option<LasHeader>,
    /// The first input's CRS records.
    pub crs_vlrs: Vec<Vlr>,
    /// The inputs' point formats differ: CSV only.
    pub mixed: Option<String>,
    /// Points decoded to find them (every point of the nodes and blocks read).
    pub decoded: u64,
}

/// What reading a band found in one run of records.
struct Found {
    points: Vec<ProfilePoint>,
    records: Vec<u8>,
    decoded: u64,
}

/// The points of `records` (of `header`'s format) that lie in `band`; their records rewritten
/// with `out`'s scale and offset when given.
fn select(records: &[u8], header: &LasHeader, band: &Band, out: Option<&LasHeader>) -> Found {
    let len = usize::from(header.point_record_len);
    let mut found = Found {
        points: Vec::new(),
        records: Vec::new(),
        decoded: (records.len() / len) as u64,
    };
    for r in records.chunks_exact(len) {
        let position = DVec3::from_array(las::position(r, header));
        let Some(distance_m) = band.along(position.truncate()) else {
            continue;
        };
        found.points.push(ProfilePoint {
            position,
            distance_m,
            classification: las::classification(r, header.point_format),
        });
        if let Some(out) = out {
            let at = found.records.len();
            found.records.extend_from_slice(r);
            for a in 0..3 {
                let v = ((position[a] - out.offset[a]) / out.scale[a]).round();
                LE::write_i32(&mut found.records[at + 4 * a..], v as i32);
            }
        }
    }
    found
}

/// Every point of `sources` (LAS, LAZ or COPC) within `band`.
pub fn band_points(sources: &[Arc<dyn ByteSource>], band: &Band) -> Result<Profile, LasError> {
    let mut profile = Profile {
        band: *band,
        points: Vec::new(),
        records: Vec::new(),
        header: None,
        crs_vlrs: Vec::new(),
        mixed: None,
        decoded: 0,
    };
    let mut found = Vec::new();
    for source in sources {
        let mut cloud = Cloud::open(source.clone())?;
        let header = cloud.header().clone();
        let lo = DVec2::new(header.min[0], header.min[1]);
        let hi = DVec2::new(header.max[0], header.max[1]);
        if !band.meets(lo, hi) {
            continue;
        }
        match &profile.header {
            None => {
                profile.header = Some(header.clone());
                profile.crs_vlrs = cloud
                    .vlrs()
                    .iter()
                    .filter(|v| v.user_id == "LASF_Projection")
                    .cloned()
                    .collect();
            }
            Some(first)
                if first.point_format != header.point_format
                    || first.point_record_len != header.point_record_len =>
            {
                profile.mixed = Some(format!(
                    "{} has point format {} of {} bytes, {} has {} of {}",
                    sources[0].name(),
                    first.point_format,
                    first.point_record_len,
                    source.name(),
                    header.point_format,
                    header.point_record_len
                ));
            }
            Some(_) => {}
        }
        let out = profile.header.clone().filter(|_| profile.mixed.is_none());
        let out = out.as_ref();
        match &mut cloud {
            Cloud::Copc(reader) => {
                reader.load_all_pages()?;
                let cube = reader.hierarchy.cube;
                let keys: Vec<_> = reader
                    .hierarchy
                    .keys_with_points()
                    .filter(|k| {
                        let b = cube.bounds(*k);
                        band.meets(b.min.truncate(), b.max.truncate())
                    })
                    .collect();
                let reader = &**reader;
                found.extend(
                    keys.par_iter()
                        .map(|k| Ok(select(&reader.node_records(*k)?, &header, band, out)))
                        .collect::<Result<Vec<_>, LasError>>()?,
                );
            }
            Cloud::Plain(file) => {
                let file = &**file;
                found.extend(
                    file.blocks
                        .par_iter()
                        .map(|b| {
                            let records = file.decode_block(b, DecompressionSelection::all())?;
                            Ok(select(&records, &header, band, out))
                        })
                        .collect::<Result<Vec<_>, LasError>>()?,
                );
            }
        }
    }
    let len = profile
        .header
        .as_ref()
        .map_or(0, |h| usize::from(h.point_record_len));
    let mut points = Vec::new();
    let mut records = Vec::new();
    for f in found {
        profile.decoded += f.decoded;
        points.extend(f.points);
        records.extend(f.records);
    }
    // Sorted along the line (then by height), records in the same order.
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        points[a]
            .distance_m
            .total_cmp(&points[b].distance_m)
            .then(points[a].position.z.total_cmp(&points[b].position.z))
    });
    profile.points = order.iter().map(|&i| points[i]).collect();
    if profile.mixed.is_none() && len > 0 {
        profile.records = order
            .iter()
            .flat_map(|&i| records[i * len..(i + 1) * len].iter().copied())
            .collect();
    }
    Ok(profile)
}

/// The profile as CSV: `x,y,z,distance_m,classification`, millimetres.
pub fn to_csv(points: &[ProfilePoint]) -> String {
    let mut out = String::with_capacity(points.len() * 48 + 40);
    out.push_str("x,y,z,distance_m,classification\n");
    for p in points {
        out.push_str(&format!(
            "{:.3},{:.3},{:.3},{:.3},{}\n",
            p.position.x, p.position.y, p.position.z, p.distance_m, p.classification
        ));
    }
    out
}

/// The profile as an uncompressed LAS 1.4 file: the first input's point format, scale, offset
/// and CRS records, the points' own records.
pub fn to_las(profile: &Profile) -> Result<Vec<u8>, String> {
    if let Some(why) = &profile.mixed {
        return Err(format!(
            "the inputs differ ({why}): write the profile as CSV"
        ));
    }
    let Some(source) = &profile.header else {
        return Err("no input reaches the band".into());
    };
    let len = usize::from(source.point_record_len);
    let mut vlr_bytes = Vec::new();
    for v in &profile.crs_vlrs {
        if !v.extended {
            v.write_to(&mut vlr_bytes);
        }
    }
    let vlrs = profile.crs_vlrs.iter().filter(|v| !v.extended).count();
    let mut min = [f64::INFINITY; 3];
    let mut max = [f64::NEG_INFINITY; 3];
    let mut by_return = [0u64; 15];
    let extended = source.point_format >= 6;
    for (p, r) in profile.points.iter().zip(profile.records.chunks_exact(len)) {
        for a in 0..3 {
            min[a] = min[a].min(p.position[a]);
            max[a] = max[a].max(p.position[a]);
        }
        let number = if extended { r[14] & 0x0f } else { r[14] & 0x07 };
        by_return[usize::from(number.clamp(1, 15) - 1)] += 1;
    }
    if profile.points.is_empty() {
        (min, max) = ([0.0; 3], [0.0; 3]);
    }
    let header = LasHeader {
        global_encoding: source.global_encoding,
        system_identifier: "Jumeau profile".into(),
        generating_software: "jumeau profile".into(),
        offset_to_point_data: u32::from(source.header_size.max(375)) + vlr_bytes.len() as u32,
        number_of_vlrs: vlrs as u32,
        point_count: profile.points.len() as u64,
        points_by_return: by_return,
        scale: source.scale,
        offset: source.offset,
        min,
        max,
        ..LasHeader::new_1_4(source.point_format, source.point_record_len, false)
    };
    let mut out = header.to_bytes();
    out.extend_from_slice(&vlr_bytes);
    out.extend_from_slice(&profile.records);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ground line follows the DTM: a 1-in-10 slope eastwards at Lambert-93 magnitudes,
    /// sampled every cell along a diagonal line.
    #[test]
    fn the_ground_line_follows_the_dtm() {
        let grid = crate::terrain::Grid {
            min_xy: DVec2::new(651_000.0, 6_861_000.0),
            cell_m: 1.0,
            cols: 100,
            rows: 100,
        };
        let mut dtm = crate::terrain::Raster::filled(grid, 0.0);
        for row in 0..100 {
            for col in 0..100 {
                dtm.values[row * 100 + col] = (40.0 + 0.1 * (col as f64 + 0.5)) as f32;
            }
        }
        let band = Band::new(
            DVec2::new(651_010.0, 6_861_010.0),
            DVec2::new(651_070.0, 6_861_090.0),
            2.0,
        )
        .unwrap();
        let line = band.ground_line(&dtm);
        assert_eq!(line.len(), 101);
        for [along, z] in line {
            // x grows by 0.6 m per metre along the line.
            let x = 10.0 + 0.6 * along;
            assert!((z - (40.0 + 0.1 * x)).abs() < 1e-4, "{along}: {z}");
        }
    }

    #[test]
    fn a_band_holds_what_lies_within_half_its_width_of_the_segment() {
        let band = Band::new(DVec2::new(0.0, 0.0), DVec2::new(10.0, 10.0), 2.0).unwrap();
        let l = band.length_m();
        assert!((l - 200f64.sqrt()).abs() < 1e-12);
        assert!((band.along(DVec2::new(5.0, 5.0)).unwrap() - l / 2.0).abs() < 1e-12);
        // Just inside a metre off the axis; just beyond: outside.
        let off = DVec2::new(-1.0, 1.0) / 2f64.sqrt();
        assert!(band.along(DVec2::new(5.0, 5.0) + off * 0.999).is_some());
        assert!(band.along(DVec2::new(5.0, 5.0) + off * 1.001).is_none());
        // Beyond the ends: outside.
        assert!(band.along(DVec2::new(-0.1, -0.1)).is_none());
        assert!(band.along(DVec2::new(10.1, 10.1)).is_none());
        let (lo, hi) = band.bounds();
        assert!(
            (lo - DVec2::splat(-1.0 / 2f64.sqrt())).length() < 1e-12,
            "{lo}"
        );
        assert!(
            (hi - DVec2::splat(10.0 + 1.0 / 2f64.sqrt())).length() < 1e-12,
            "{hi}"
        );
        // A box in the bounding box's corner but away from the slanted band: not met.
        assert!(!band.meets(DVec2::new(8.0, 0.0), DVec2::new(10.0, 2.0)));
        assert!(band.meets(DVec2::new(4.0, 4.0), DVec2::new(6.0, 6.0)));
        assert!(band.meets(DVec2::new(6.0, 3.0), DVec2::new(9.0, 5.4)));
        assert!(!band.meets(DVec2::new(6.0, 3.0), DVec2::new(9.0, 4.5)));
        assert!(Band::new(DVec2::ZERO, DVec2::ZERO, 1.0).is_err());
        assert!(Band::new(DVec2::ZERO, DVec2::X, 0.0).is_err());
    }

    #[test]
    fn the_csv_has_the_promised_header_and_millimetres() {
        let csv = to_csv(&[ProfilePoint {
            position: DVec3::new(651_234.567_8, 6_861_234.000_4, 45.1),
            distance_m: 12.3456,
            classification: 2,
        }]);
        assert_eq!(
            csv,
            "x,y,z,distance_m,classification\n651234.568,6861234.000,45.100,12.346,2\n"
        );
    }
}
