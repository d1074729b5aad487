//! `jumeau info`: what a LAS/LAZ/COPC file holds, as text or JSON.

use super::copc::CopcReader;
use super::las::{ExtraBytesDim, LasError, LasFile, LasHeader};
use crate::georef::{crs_from_vlrs, plausibility_warning};
use crate::io::ByteSource;
use laz::DecompressionSelection;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The name of a classification code: ASPRS (LAS 1.4) plus IGN LiDAR HD's 64–67.
pub fn class_name(code: u8) -> &'static str {
    match code {
        0 => "created, never classified",
        1 => "unclassified",
        2 => "ground",
        3 => "low vegetation",
        4 => "medium vegetation",
        5 => "high vegetation",
        6 => "building",
        7 => "low point (noise)",
        8 => "model key-point",
        9 => "water",
        10 => "rail",
        11 => "road surface",
        12 => "overlap",
        13 => "wire guard",
        14 => "wire conductor",
        15 => "transmission tower",
        16 => "wire connector",
        17 => "bridge deck",
        18 => "high noise",
        64 => "permanent above-ground structure (IGN)",
        65 => "artefact (IGN)",
        66 => "virtual point (IGN)",
        67 => "miscellaneous built structure (IGN)",
        _ => "user defined",
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClassCount {
    pub code: u8,
    pub name: &'static str,
    pub count: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CrsInfo {
    pub label: String,
    pub epsg: Option<u32>,
    pub horizontal_epsg: Option<u32>,
    pub name: Option<String>,
    pub source: crate::georef::CrsSource,
    pub warning: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LevelInfo {
    pub level: i32,
    pub nodes: usize,
    pub points: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct HierarchyInfo {
    pub center: [f64; 3],
    pub halfsize: f64,
    pub spacing: f64,
    pub nodes: usize,
    pub levels: Vec<LevelInfo>,
    pub gps_time: [f64; 2],
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct VlrInfo {
    pub user_id: String,
    pub record_id: u16,
    pub description: String,
    pub bytes: usize,
    pub extended: bool,
}

/// Everything `jumeau info` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Info {
    pub source: String,
    pub file_bytes: u64,
    pub version: String,
    pub point_format: u8,
    pub compressed: bool,
    pub copc: bool,
    pub point_record_length: u16,
    pub point_count: u64,
    pub points_by_return: Vec<u64>,
    pub min: [f64; 3],
    pub max: [f64; 3],
    pub scale: [f64; 3],
    pub offset: [f64; 3],
    pub crs: Option<CrsInfo>,
    pub generating_software: String,
    pub classes: Vec<ClassCount>,
    pub extra_bytes: Vec<ExtraBytesDim>,
    pub vlrs: Vec<VlrInfo>,
    pub hierarchy: Option<HierarchyInfo>,
}

fn histogram(records: &[u8], record_len: usize, format: u8) -> [u64; 256] {
    let mut h = [0u64; 256];
    for r in records.chunks_exact(record_len) {
        h[usize::from(super::las::classification(r, format))] += 1;
    }
    h
}

fn merge(mut a: [u64; 256], b: [u64; 256]) -> [u64; 256] {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
}

fn classes_of(h: [u64; 256]) -> Vec<ClassCount> {
    (0..=255u8)
        .filter(|&c| h[usize::from(c)] > 0)
        .map(|code| ClassCount {
            code,
            name: class_name(code),
            count: h[usize::from(code)],
        })
        .collect()
}

fn base_info<S: ByteSource>(file: &LasFile<S>) -> Result<Info, LasError> {
    let h: &LasHeader = &file.header;
    let crs = crs_from_vlrs(file.all_vlrs()).map(|c| CrsInfo {
        label: c.label(),
        epsg: c.epsg,
        horizontal_epsg: c.horizontal_epsg,
        name: c.name.clone(),
        source: c.source,
        warning: plausibility_warning(&c, h.min, h.max),
    });
    Ok(Info {
        source: file.source.name().to_owned(),
        file_bytes: file.source.len()?,
        version: format!("{}.{}", h.version.0, h.version.1),
        point_format: h.point_format,
        compressed: h.compressed,
        copc: file.vlrs.iter().any(|v| v.is("copc", 1)),
        point_record_length: h.point_record_len,
        point_count: h.point_count,
        points_by_return: h
            .points_by_return
            .iter()
            .copied()
            .take(if h.version.1 >= 4 { 15 } else { 5 })
            .collect(),
        min: h.min,
        max: h.max,
        scale: h.scale,
        offset: h.offset,
        crs,
        generating_software: h.generating_software.clone(),
        classes: Vec::new(),
        extra_bytes: file.extra_bytes.clone(),
        vlrs: file
            .all_vlrs()
            .map(|v| VlrInfo {
                user_id: v.user_id.clone(),
                record_id: v.record_id,
                description: v.description.clone(),
                bytes: v.data.len(),
                extended: v.extended,
            })
            .collect(),
        hierarchy: None,
    })
}

/// Reads a file and gathers its [`Info`] (decoding only classifications).
pub fn info<S: ByteSource + Clone>(source: S) -> Result<Info, LasError> {
    let head = source.read_range(0, source.len()?.min(375))?;
    let header = LasHeader::parse(&head, source.len()?, source.name())?;
    // COPC: walk the hierarchy node by node; other files: their blocks.
    let probe = LasFile::open_lazy(source.clone())?;
    if header.compressed && probe.vlrs.iter().any(|v| v.is("copc", 1)) {
        let mut reader = CopcReader::open(source)?;
        reader.load_all_pages()?;
        let mut info = base_info(&reader.file)?;
        let record_len = usize::from(reader.file.header.point_record_len);
        let format = reader.file.header.point_format;
        let codec = reader.file.laz.clone();
        let nodes: Vec<_> = reader
            .hierarchy
            .nodes()
            .iter()
            .filter_map(|n| n.data.map(|d| (n.key, d)))
            .collect();
        let selection = DecompressionSelection::base().decompress_classification();
        let h = nodes
            .par_iter()
            .map(|(key, d)| {
                let bytes = reader.file.source.read_range(d.offset, d.byte_size)?;
                let codec = codec.as_ref().ok_or_else(|| LasError::Copc {
                    source_name: reader.file.source.name().to_owned(),
                    problem: "not compressed".into(),
                })?;
                let records =
                    codec
                        .decode(&bytes, d.point_count, selection)
                        .map_err(|problem| LasError::Copc {
                            source_name: reader.file.source.name().to_owned(),
                            problem: format!("node {key}: {problem}"),
                        })?;
                Ok::<_, LasError>(histogram(&records, record_len, format))
            })
            .try_reduce(|| [0; 256], |a, b| Ok(merge(a, b)))?;
        info.classes = classes_of(h);
        let mut levels: BTreeMap<i32, LevelInfo> = BTreeMap::new();
        for (key, d) in &nodes {
            let l = levels.entry(key.level).or_insert(LevelInfo {
                level: key.level,
                nodes: 0,
                points: 0,
            });
            l.nodes += 1;
            l.points += d.point_count;
        }
        let c = reader.info.cube;
        info.hierarchy = Some(HierarchyInfo {
            center: c.center.to_array(),
            halfsize: c.halfsize,
            spacing: reader.info.spacing,
            nodes: nodes.len(),
            levels: levels.into_values().collect(),
            gps_time: [reader.info.gpstime_minimum, reader.info.gpstime_maximum],
        });
        return Ok(info);
    }
    drop(probe);
    let file = LasFile::open(source)?;
    let mut info = base_info(&file)?;
    let record_len = usize::from(file.header.point_record_len);
    let format = file.header.point_format;
    let selection = DecompressionSelection::base().decompress_classification();
    let h = file
        .blocks
        .par_iter()
        .map(|b| {
            Ok::<_, LasError>(histogram(
                &file.decode_block(b, selection)?,
                record_len,
                format,
            ))
        })
        .try_reduce(|| [0; 256], |a, b| Ok(merge(a, b)))?;
    info.classes = classes_of(h);
    Ok(info)
}

impl std::fmt::Display for Info {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.copc {
            "COPC"
        } else if self.compressed {
            "LAZ"
        } else {
            "LAS"
        };
        writeln!(f, "{}", self.source)?;
        writeln!(
            f,
            "  format        {kind}, LAS {}, point format {} ({} bytes/point), {} bytes",
            self.version, self.point_format, self.point_record_length, self.file_bytes
        )?;
        writeln!(f, "  points        {}", self.point_count)?;
        writeln!(
            f,
            "  bounds        x {:.3} .. {:.3}",
            self.min[0], self.max[0]
        )?;
        writeln!(
            f,
            "                y {:.3} .. {:.3}",
            self.min[1], self.max[1]
        )?;
        writeln!(
            f,
            "                z {:.3} .. {:.3}",
            self.min[2], self.max[2]
        )?;
        writeln!(
            f,
            "  scale         {} {} {}",
            self.scale[0], self.scale[1], self.scale[2]
        )?;
        writeln!(
            f,
            "  offset        {} {} {}",
            self.offset[0], self.offset[1], self.offset[2]
        )?;
        match &self.crs {
            Some(crs) => {
                writeln!(f, "  crs           {} (from {:?})", crs.label, crs.source)?;
                if let Some(w) = &crs.warning {
                    writeln!(f, "  WARNING       {w}")?;
                }
            }
            None => writeln!(f, "  crs           none (local coordinates)")?,
        }
        writeln!(f, "  software      {}", self.generating_software)?;
        writeln!(f, "  classes")?;
        for c in &self.classes {
            writeln!(f, "    {:>3} {:<40} {:>12}", c.code, c.name, c.count)?;
        }
        if !self.extra_bytes.is_empty() {
            writeln!(f, "  extra bytes")?;
            for d in &self.extra_bytes {
                writeln!(f, "    {:<32} {:?}", d.name, d.data_type)?;
            }
        }
        if let Some(h) = &self.hierarchy {
            writeln!(
                f,
                "  hierarchy     {} nodes, root spacing {:.3}, cube centre {:.3} {:.3} {:.3} halfsize {:.3}",
                h.nodes, h.spacing, h.center[0], h.center[1], h.center[2], h.halfsize
            )?;
            for l in &h.levels {
                writeln!(
                    f,
                    "    level {:>2}  {:>7} nodes  {:>12} points",
                    l.level, l.nodes, l.points
                )?;
            }
        }
        Ok(())
    }
}
