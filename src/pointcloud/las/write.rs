//! Writes LAZ files (LAS 1.4, point formats 6–8) from records made chunk by chunk, in
//! parallel: the demo's scans and the test fixtures.

use super::{LasHeader, Vlr, encode_laz_chunk};
use byteorder::{ByteOrder, LittleEndian as LE};
use laz::{LazItemRecordBuilder, LazVlrBuilder};
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

/// Points per LAZ chunk of the files written here.
pub const CHUNK_POINTS: u64 = 50_000;

type EncodedChunk = (Vec<u8>, u64, [f64; 6], [u64; 15]);

/// The layout of a generated LAZ file (LAS 1.4, scale 1 cm).
pub struct LazLayout {
    /// Point format (6, 7 or 8) and its record length.
    pub point_format: u8,
    pub record_len: usize,
    /// What the header's system identifier says made it.
    pub system: &'static str,
    /// Integer coordinates are in centimetres from this offset.
    pub offset: [f64; 3],
    /// The CRS its WKT record declares.
    pub epsg: u32,
}

/// Writes `points` records made chunk by chunk by `chunk(index, count)` (in parallel) as a LAZ
/// file with chunks of [`CHUNK_POINTS`], header bounds and return counts from the records.
pub fn write_laz(
    path: &Path,
    layout: &LazLayout,
    points: u64,
    progress: &indicatif::ProgressBar,
    chunk: impl Fn(u64, u64) -> Vec<u8> + Sync,
) -> std::io::Result<()> {
    let items = LazItemRecordBuilder::default_for_point_format_id(layout.point_format, 0)
        .map_err(std::io::Error::other)?;
    let laz_vlr = LazVlrBuilder::new(items)
        .with_fixed_chunk_size(CHUNK_POINTS as u32)
        .build();
    let mut laz_data = Vec::new();
    laz_vlr.write_to(&mut laz_data)?;
    let mut wkt = crate::georef::wkt_for_epsg(layout.epsg)
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    wkt.push(0);
    let vlrs = [
        Vlr {
            user_id: "laszip encoded".into(),
            record_id: 22204,
            description: "https://laszip.org".into(),
            data: laz_data,
            extended: false,
        },
        Vlr {
            user_id: "LASF_Projection".into(),
            record_id: 2112,
            description: "OGC WKT".into(),
            data: wkt,
            extended: false,
        },
    ];
    let mut vlr_bytes = Vec::new();
    for v in &vlrs {
        v.write_to(&mut vlr_bytes);
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let data_start = u64::from(super::header::HEADER_LEN_1_4) + vlr_bytes.len() as u64;
    file.write_all(&vec![0u8; data_start as usize + 8])?;
    let chunks = points.div_ceil(CHUNK_POINTS);
    let mut table = laz::laszip::ChunkTable::with_capacity(chunks as usize);
    let mut min = [f64::INFINITY; 3];
    let mut max = [f64::NEG_INFINITY; 3];
    let mut by_return = [0u64; 15];
    let mut position = data_start + 8;
    let group = (rayon::current_num_threads() * 4) as u64;
    for first in (0..chunks).step_by(group as usize) {
        let encoded: Vec<EncodedChunk> = (first..(first + group).min(chunks))
            .into_par_iter()
            .map(|i| {
                let count = CHUNK_POINTS.min(points - i * CHUNK_POINTS);
                let records = chunk(i, count);
                let mut b = [
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ];
                let mut returns = [0u64; 15];
                for r in records.chunks_exact(layout.record_len) {
                    for a in 0..3 {
                        let v = f64::from(LE::read_i32(&r[4 * a..]));
                        b[a] = b[a].min(v);
                        b[a + 3] = b[a + 3].max(v);
                    }
                    returns[usize::from((r[14] & 0x0f).clamp(1, 15) - 1)] += 1;
                }
                let bytes = encode_laz_chunk(&laz_vlr, &records).map_err(std::io::Error::other)?;
                Ok((bytes, count, b, returns))
            })
            .collect::<std::io::Result<_>>()?;
        for (bytes, count, b, returns) in encoded {
            file.write_all(&bytes)?;
            table.push(laz::laszip::ChunkTableEntry {
                point_count: count,
                byte_count: bytes.len() as u64,
            });
            position += bytes.len() as u64;
            for a in 0..3 {
                min[a] = min[a].min(b[a]);
                max[a] = max[a].max(b[a + 3]);
            }
            for (total, n) in by_return.iter_mut().zip(returns) {
                *total += n;
            }
            progress.inc(count);
        }
    }
    let table_offset = position;
    table.write_to(&mut file, &laz_vlr)?;
    let mut file = file.into_inner().map_err(|e| e.into_error())?;
    let scale = 0.01;
    let offset = layout.offset;
    let header = LasHeader {
        // GPS standard time, CRS as WKT.
        global_encoding: 0x11,
        system_identifier: layout.system.into(),
        generating_software: "jumeau demo".into(),
        offset_to_point_data: data_start as u32,
        number_of_vlrs: vlrs.len() as u32,
        point_count: points,
        points_by_return: by_return,
        scale: [scale; 3],
        offset,
        min: std::array::from_fn(|a| min[a] * scale + offset[a]),
        max: std::array::from_fn(|a| max[a] * scale + offset[a]),
        ..LasHeader::new_1_4(layout.point_format, layout.record_len as u16, true)
    };
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&header.to_bytes())?;
    file.write_all(&vlr_bytes)?;
    file.write_all(&(table_offset as i64).to_le_bytes())?;
    file.sync_all()
}

/// A plain test scan: `points` points on a 0.5 m grid over gentle slopes, ground (class 2) and
/// boxes of building (class 6) with their colours, in Lambert-93, point format 7.
#[cfg(test)]
pub(crate) fn write_test_laz(path: &Path, points: u64) -> std::io::Result<()> {
    const LAYOUT: LazLayout = LazLayout {
        point_format: 7,
        record_len: 36,
        system: "Jumeau test scan",
        offset: [650_000.0, 6_860_000.0, 0.0],
        epsg: 2154,
    };
    let side = (points as f64).sqrt().ceil() as u64;
    let hidden = indicatif::ProgressBar::hidden();
    write_laz(path, &LAYOUT, points, &hidden, |chunk, count| {
        let mut records = vec![0u8; count as usize * LAYOUT.record_len];
        for (i, r) in records.chunks_exact_mut(LAYOUT.record_len).enumerate() {
            let k = chunk * CHUNK_POINTS + i as u64;
            let (gx, gy) = (k % side, k / side);
            let building = (gx / 20) % 3 == 1 && (gy / 20) % 3 == 1;
            let z_cm = 3000 + (gx * 7 + gy * 3) as i32 + if building { 900 } else { 0 };
            LE::write_i32(&mut r[0..], (gx * 50) as i32);
            LE::write_i32(&mut r[4..], (gy * 50) as i32);
            LE::write_i32(&mut r[8..], z_cm);
            LE::write_u16(&mut r[12..], (k % 4096) as u16);
            r[14] = 0x11;
            r[16] = if building { 6 } else { 2 };
            LE::write_f64(&mut r[22..], 3.0e8 + k as f64 * 1e-5);
            let rgb: [u16; 3] = if building {
                [52_000, 20_000, 18_000]
            } else {
                [20_000, 40_000, 15_000]
            };
            for (c, v) in rgb.iter().enumerate() {
                LE::write_u16(&mut r[30 + 2 * c..], *v);
            }
        }
        records
    })
}
