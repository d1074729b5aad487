//! `jumeau info --check`: validates a COPC file the way the COPC validator does, node by node,
//! so that a writer bug (points in nodes that do not contain them) cannot pass unseen.
//!
//! # What is checked
//! - **Hierarchy**: every page is read (from the root page down, each once); every entry has a
//!   key inside the octree, no key appears twice, pages only describe their own subtree, point
//!   data lies inside the point-data area, and every node's parent is present (connected).
//! - **Counts**: the header's point count is the sum of the nodes' counts; the LAZ chunk table is
//!   readable and holds exactly one chunk per node, at the node's offset, with its counts.
//! - **Points**: every node is fetched and decoded (positions only by default, every attribute
//!   layer with `full`) with the count its entry gives; every point must lie inside its node's
//!   cube (the key's bounds from the info VLR's centre and half-size) and inside the header
//!   bounds, within half a quantum of the file's scale (other writers assign points before
//!   quantising them). With `full`, the returns per number and the GPS time range of the info
//!   VLR must hold too.
//!
//! Each violation names the node key and the numbers; a caller exits non-zero when any.

use super::copc::{CopcInfo, Entry};
use super::las::{LasError, LasFile};
use super::octree::VoxelKey;
use crate::io::ByteSource;
use crate::spatial::Aabb;
use bevy::math::DVec3;
use byteorder::{ByteOrder, LittleEndian as LE};
use laz::DecompressionSelection;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet, VecDeque};

/// One thing wrong with the file, with the node it concerns when there is one.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    pub node: Option<VoxelKey>,
    pub problem: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.node {
            Some(key) => write!(f, "node {key}: {}", self.problem),
            None => write!(f, "{}", self.problem),
        }
    }
}

/// What [`check`] found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    pub source: String,
    /// Every attribute layer was decoded (else positions only).
    pub full: bool,
    pub pages: usize,
    pub nodes: usize,
    pub max_level: i32,
    /// Points the hierarchy entries announce.
    pub points_in_nodes: u64,
    /// Points decoded and tested against their node's bounds.
    pub points_checked: u64,
    /// Points outside the cube of the node that holds them.
    pub points_outside_their_node: u64,
    pub violations: Vec<Violation>,
}

impl CheckReport {
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{}: {} hierarchy pages, {} nodes (levels 0..={}), {} points in nodes, {} points checked ({})",
            self.source,
            self.pages,
            self.nodes,
            self.max_level,
            self.points_in_nodes,
            self.points_checked,
            if self.full {
                "every attribute decoded"
            } else {
                "positions decoded"
            }
        )?;
        if self.violations.is_empty() {
            writeln!(
                f,
                "valid: every point lies inside its node, the hierarchy is connected, counts agree"
            )
        } else {
            for v in &self.violations {
                writeln!(f, "  {v}")?;
            }
            writeln!(
                f,
                "INVALID: {} violations ({} points outside their node)",
                self.violations.len(),
                self.points_outside_their_node
            )
        }
    }
}

/// A node as its hierarchy entry describes it.
#[derive(Debug, Clone, Copy)]
struct NodeEntry {
    key: VoxelKey,
    offset: u64,
    byte_size: u64,
    point_count: u64,
}

/// What one node's points showed.
#[derive(Default)]
struct NodeFindings {
    checked: u64,
    outside: u64,
    min: Option<DVec3>,
    max: Option<DVec3>,
    by_return: [u64; 15],
    gps: Option<(f64, f64)>,
    violations: Vec<Violation>,
}

/// Checks the COPC file behind `source` (a path or URL opened by [`crate::io::open`]).
///
/// `Err` only when the file cannot be read as a COPC file at all (no header, no info VLR);
/// everything wrong inside it is a [`Violation`] of the report.
pub fn check<S: ByteSource + Clone>(source: S, full: bool) -> Result<CheckReport, LasError> {
    let file = LasFile::open_lazy(source.clone())?;
    let name = file.source.name().to_owned();
    let info_vlr = file
        .vlrs
        .iter()
        .find(|v| v.is("copc", 1))
        .ok_or_else(|| LasError::Copc {
            source_name: name.clone(),
            problem: "no COPC info VLR (copc/1): this is not a COPC file".into(),
        })?;
    let info = CopcInfo::parse(&info_vlr.data).ok_or_else(|| LasError::Copc {
        source_name: name.clone(),
        problem: format!("info VLR is {} bytes, expected 160", info_vlr.data.len()),
    })?;
    let codec = file.laz.clone().ok_or_else(|| LasError::Copc {
        source_name: name.clone(),
        problem: "the points are not LAZ-compressed".into(),
    })?;
    let file_len = source.len()?;
    let header = file.header.clone();
    let mut violations = Vec::new();
    let mut problem = |node: Option<VoxelKey>, text: String| {
        violations.push(Violation {
            node,
            problem: text,
        })
    };
    if !(info.cube.halfsize.is_finite() && info.cube.halfsize > 0.0 && info.cube.center.is_finite())
    {
        problem(
            None,
            format!(
                "info VLR: cube centre {} half-size {} is not usable",
                info.cube.center, info.cube.halfsize
            ),
        );
    }

    // The hierarchy, page by page from the root.
    let data_start = u64::from(header.offset_to_point_data) + 8;
    let data_end = header.point_data_end(file_len);
    let mut nodes: Vec<NodeEntry> = Vec::new();
    let mut keys: HashSet<VoxelKey> = HashSet::new();
    let mut pages_read: HashSet<u64> = HashSet::new();
    let mut queue = VecDeque::from([(VoxelKey::ROOT, info.root_hier_offset, info.root_hier_size)]);
    while let Some((page_key, offset, size)) = queue.pop_front() {
        if !pages_read.insert(offset) {
            problem(
                Some(page_key),
                format!("hierarchy page at offset {offset} is referenced twice"),
            );
            continue;
        }
        if size == 0 || !size.is_multiple_of(32) || offset.saturating_add(size) > file_len {
            problem(
                Some(page_key),
                format!(
                    "hierarchy page at offset {offset} of {size} bytes is not a whole number of 32-byte entries inside the file ({file_len} bytes)"
                ),
            );
            continue;
        }
        let bytes = source.read_range(offset, size)?;
        for (i, e) in bytes.as_chunks::<32>().0.iter().enumerate() {
            let at = offset + 32 * i as u64;
            let Entry {
                key,
                offset: entry_offset,
                byte_size,
                point_count,
            } = Entry::read(e);
            if !key.is_valid() {
                problem(
                    Some(key),
                    format!("hierarchy entry at offset {at}: the key is outside the octree"),
                );
                continue;
            }
            if !is_in_subtree(key, page_key) {
                problem(
                    Some(key),
                    format!(
                        "hierarchy entry at offset {at} sits in the page of {page_key}, which is not its ancestor"
                    ),
                );
            }
            match point_count {
                -1 => {
                    if byte_size <= 0 {
                        problem(
                            Some(key),
                            format!(
                                "hierarchy entry at offset {at}: child page of {byte_size} bytes"
                            ),
                        );
                    } else {
                        queue.push_back((key, entry_offset, byte_size as u64));
                    }
                }
                n if n >= 0 => {
                    if !keys.insert(key) {
                        problem(
                            Some(key),
                            format!("hierarchy entry at offset {at}: the node appears twice"),
                        );
                        continue;
                    }
                    if n == 0 {
                        continue;
                    }
                    let end = entry_offset.saturating_add(byte_size.max(0) as u64);
                    if byte_size <= 0 || entry_offset < data_start || end > data_end {
                        problem(
                            Some(key),
                            format!(
                                "{n} points in {byte_size} bytes at offset {entry_offset}: outside the point data ({data_start}..{data_end})"
                            ),
                        );
                        continue;
                    }
                    nodes.push(NodeEntry {
                        key,
                        offset: entry_offset,
                        byte_size: byte_size as u64,
                        point_count: n as u64,
                    });
                }
                n => problem(
                    Some(key),
                    format!("hierarchy entry at offset {at}: point count {n}"),
                ),
            }
        }
    }
    nodes.sort_by_key(|n| n.key);
    if !keys.contains(&VoxelKey::ROOT) {
        problem(
            Some(VoxelKey::ROOT),
            "the hierarchy has no entry for the root node".into(),
        );
    }
    for n in &nodes {
        if let Some(parent) = n.key.parent()
            && !keys.contains(&parent)
        {
            problem(
                Some(n.key),
                format!("its parent {parent} is not in the hierarchy (disconnected)"),
            );
        }
    }
    let points_in_nodes: u64 = nodes.iter().map(|n| n.point_count).sum();
    if points_in_nodes != header.point_count {
        problem(
            None,
            format!(
                "the header counts {} points but the nodes hold {points_in_nodes}",
                header.point_count
            ),
        );
    }

    // The LAZ chunk table: one chunk per node, at the node's offset, with its counts.
    match LasFile::open(source.clone()) {
        Err(e) => problem(None, format!("LAZ chunk table: {e}")),
        Ok(whole) => {
            let by_offset: HashMap<u64, &NodeEntry> = nodes.iter().map(|n| (n.offset, n)).collect();
            if whole.blocks.len() != nodes.len() {
                problem(
                    None,
                    format!(
                        "the LAZ chunk table lists {} chunks for {} nodes",
                        whole.blocks.len(),
                        nodes.len()
                    ),
                );
            }
            for (i, b) in whole.blocks.iter().enumerate() {
                match by_offset.get(&b.offset) {
                    None => problem(
                        None,
                        format!(
                            "LAZ chunk {i} at offset {} ({} points) belongs to no node",
                            b.offset, b.point_count
                        ),
                    ),
                    Some(n) if n.point_count != b.point_count || n.byte_size != b.byte_len => {
                        problem(
                            Some(n.key),
                            format!(
                                "the hierarchy says {} points in {} bytes, the LAZ chunk table {} points in {} bytes",
                                n.point_count, n.byte_size, b.point_count, b.byte_len
                            ),
                        )
                    }
                    Some(_) => {}
                }
            }
        }
    }

    // Every point inside its node and the header bounds.
    let scale = DVec3::from(header.scale);
    let offset = DVec3::from(header.offset);
    let tolerance = scale.abs() * 0.5 + DVec3::splat(info.cube.halfsize * 1e-12);
    let header_bounds = Aabb {
        min: DVec3::from(header.min) - tolerance,
        max: DVec3::from(header.max) + tolerance,
    };
    let record_len = usize::from(header.point_record_len);
    let selection = if full {
        DecompressionSelection::all()
    } else {
        DecompressionSelection::base()
    };
    let extended = header.point_format >= 6;
    let findings: Vec<NodeFindings> = nodes
        .par_iter()
        .map(|n| {
            let mut found = NodeFindings::default();
            let bytes = match source.read_range(n.offset, n.byte_size) {
                Ok(b) => b,
                Err(e) => {
                    found.violations.push(Violation {
                        node: Some(n.key),
                        problem: e.to_string(),
                    });
                    return found;
                }
            };
            let records = match codec.decode(&bytes, n.point_count, selection) {
                Ok(r) if r.len() == n.point_count as usize * record_len => r,
                Ok(r) => {
                    found.violations.push(Violation {
                        node: Some(n.key),
                        problem: format!(
                            "{} points announced, {} decoded",
                            n.point_count,
                            r.len() / record_len.max(1)
                        ),
                    });
                    return found;
                }
                Err(e) => {
                    found.violations.push(Violation {
                        node: Some(n.key),
                        problem: format!("{} points do not decode: {e}", n.point_count),
                    });
                    return found;
                }
            };
            let b = info.cube.bounds(n.key);
            let bounds = Aabb {
                min: b.min - tolerance,
                max: b.max + tolerance,
            };
            let mut first_outside = None;
            let mut header_outside = None;
            let (mut min, mut max) = (DVec3::INFINITY, DVec3::NEG_INFINITY);
            for r in records.chunks_exact(record_len) {
                let p = DVec3::new(
                    f64::from(LE::read_i32(&r[0..])),
                    f64::from(LE::read_i32(&r[4..])),
                    f64::from(LE::read_i32(&r[8..])),
                ) * scale
                    + offset;
                found.checked += 1;
                min = min.min(p);
                max = max.max(p);
                if !bounds.contains(p) {
                    found.outside += 1;
                    first_outside.get_or_insert(p);
                }
                if !header_bounds.contains(p) {
                    header_outside.get_or_insert(p);
                }
                if full && extended {
                    let number = r[14] & 0x0f;
                    if (1..=15).contains(&number) {
                        found.by_return[usize::from(number - 1)] += 1;
                    }
                    let t = LE::read_f64(&r[22..]);
                    let (lo, hi) = found.gps.get_or_insert((t, t));
                    *lo = lo.min(t);
                    *hi = hi.max(t);
                }
            }
            found.min = Some(min);
            found.max = Some(max);
            if let Some(p) = first_outside {
                found.violations.push(Violation {
                    node: Some(n.key),
                    problem: format!(
                        "{} of {} points lie outside its bounds x {:.3}..{:.3} y {:.3}..{:.3} z {:.3}..{:.3}; they span x {:.3}..{:.3} y {:.3}..{:.3} z {:.3}..{:.3} (first: {:.3}, {:.3}, {:.3})",
                        found.outside,
                        n.point_count,
                        b.min.x,
                        b.max.x,
                        b.min.y,
                        b.max.y,
                        b.min.z,
                        b.max.z,
                        min.x,
                        max.x,
                        min.y,
                        max.y,
                        min.z,
                        max.z,
                        p.x,
                        p.y,
                        p.z
                    ),
                });
            }
            if let Some(p) = header_outside {
                found.violations.push(Violation {
                    node: Some(n.key),
                    problem: format!(
                        "point {:.3}, {:.3}, {:.3} lies outside the header bounds {:?}..{:?}",
                        p.x, p.y, p.z, header.min, header.max
                    ),
                });
            }
            found
        })
        .collect();

    let mut points_checked = 0;
    let mut points_outside = 0;
    let mut by_return = [0u64; 15];
    let mut gps: Option<(f64, f64)> = None;
    for f in findings {
        points_checked += f.checked;
        points_outside += f.outside;
        violations.extend(f.violations);
        for (total, n) in by_return.iter_mut().zip(f.by_return) {
            *total += n;
        }
        if let Some((lo, hi)) = f.gps {
            let g = gps.get_or_insert((lo, hi));
            *g = (g.0.min(lo), g.1.max(hi));
        }
    }
    if full && extended && points_checked == points_in_nodes {
        if by_return != header.points_by_return {
            violations.push(Violation {
                node: None,
                problem: format!(
                    "points by return: the header says {:?}, the points {by_return:?}",
                    header.points_by_return
                ),
            });
        }
        if let Some((lo, hi)) = gps
            && (lo < info.gpstime_minimum || hi > info.gpstime_maximum)
        {
            violations.push(Violation {
                node: None,
                problem: format!(
                    "GPS times span {lo}..{hi}, outside the info VLR's {}..{}",
                    info.gpstime_minimum, info.gpstime_maximum
                ),
            });
        }
    }
    Ok(CheckReport {
        source: name,
        full,
        pages: pages_read.len(),
        nodes: nodes.len(),
        max_level: nodes.iter().map(|n| n.key.level).max().unwrap_or(0),
        points_in_nodes,
        points_checked,
        points_outside_their_node: points_outside,
        violations,
    })
}

/// Whether `key` is `top` or one of its descendants.
fn is_in_subtree(key: VoxelKey, top: VoxelKey) -> bool {
    let Some(shift) = u32::try_from(key.level - top.level).ok() else {
        return false;
    };
    key.x >> shift == top.x && key.y >> shift == top.y && key.z >> shift == top.z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtrees_are_ancestors_only() {
        let top = VoxelKey::ROOT.child(5);
        assert!(is_in_subtree(top, top));
        assert!(is_in_subtree(top.child(2).child(7), top));
        assert!(!is_in_subtree(VoxelKey::ROOT.child(4).child(1), top));
        assert!(!is_in_subtree(VoxelKey::ROOT, top));
    }
}
