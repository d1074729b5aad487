//! COPC on bytes: the info VLR, hierarchy pages read on demand, and node fetch + decode into
//! [`PointChunk`]s positioned relative to the node's f64 origin.

use super::format::RecordLayout;
use super::las::{LasError, LasFile, LazCodec};
use super::lod::{PointBudget, Selection, select_nodes};
use super::octree::{Cube, Hierarchy, NodeData, PageRef, VoxelKey};
use crate::io::ByteSource;
use crate::spatial::View;
use bevy::math::DVec3;
use byteorder::{ByteOrder, LittleEndian as LE};
use laz::DecompressionSelection;

/// The COPC info VLR (`copc`/1, 160 bytes, first VLR of the file).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CopcInfo {
    pub cube: Cube,
    pub spacing: f64,
    pub root_hier_offset: u64,
    pub root_hier_size: u64,
    pub gpstime_minimum: f64,
    pub gpstime_maximum: f64,
}

impl CopcInfo {
    pub fn parse(data: &[u8]) -> Option<Self> {
        (data.len() >= 160).then(|| Self {
            cube: Cube {
                center: DVec3::new(
                    LE::read_f64(&data[0..]),
                    LE::read_f64(&data[8..]),
                    LE::read_f64(&data[16..]),
                ),
                halfsize: LE::read_f64(&data[24..]),
            },
            spacing: LE::read_f64(&data[32..]),
            root_hier_offset: LE::read_u64(&data[40..]),
            root_hier_size: LE::read_u64(&data[48..]),
            gpstime_minimum: LE::read_f64(&data[56..]),
            gpstime_maximum: LE::read_f64(&data[64..]),
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; 160];
        let c = self.cube.center;
        for (i, v) in [c.x, c.y, c.z, self.cube.halfsize, self.spacing]
            .into_iter()
            .enumerate()
        {
            LE::write_f64(&mut out[8 * i..], v);
        }
        LE::write_u64(&mut out[40..], self.root_hier_offset);
        LE::write_u64(&mut out[48..], self.root_hier_size);
        LE::write_f64(&mut out[56..], self.gpstime_minimum);
        LE::write_f64(&mut out[64..], self.gpstime_maximum);
        out
    }
}

/// One 32-byte hierarchy entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub key: VoxelKey,
    pub offset: u64,
    pub byte_size: i32,
    pub point_count: i32,
}

impl Entry {
    /// An entry from its 32 bytes, as stored (nothing checked: callers judge it).
    pub fn read(e: &[u8; 32]) -> Self {
        Self {
            key: VoxelKey {
                level: LE::read_i32(&e[0..]),
                x: LE::read_i32(&e[4..]),
                y: LE::read_i32(&e[8..]),
                z: LE::read_i32(&e[12..]),
            },
            offset: LE::read_u64(&e[16..]),
            byte_size: LE::read_i32(&e[24..]),
            point_count: LE::read_i32(&e[28..]),
        }
    }

    pub fn write_to(&self, out: &mut Vec<u8>) {
        for v in [self.key.level, self.key.x, self.key.y, self.key.z] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.byte_size.to_le_bytes());
        out.extend_from_slice(&self.point_count.to_le_bytes());
    }
}

/// Which attributes to decode along with positions (LAZ skips the layers not asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attributes {
    pub intensity: bool,
    pub classification: bool,
    pub returns: bool,
    pub rgb: bool,
    pub gps_time: bool,
}

impl Attributes {
    pub const ALL: Self = Self {
        intensity: true,
        classification: true,
        returns: true,
        rgb: true,
        gps_time: true,
    };

    fn selection(self) -> DecompressionSelection {
        let mut s = DecompressionSelection::base().decompress_z();
        if self.intensity {
            s = s.decompress_intensity();
        }
        if self.classification {
            s = s.decompress_classification();
        }
        if self.rgb {
            s = s.decompress_rgb();
        }
        if self.gps_time {
            s = s.decompress_gps_time();
        }
        s
    }
}

/// Decoded points of one node, ready for the GPU: positions are f32 offsets from `origin`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointChunk {
    pub key: Option<VoxelKey>,
    /// f64 origin in the dataset's CRS (the node's centre).
    pub origin: DVec3,
    pub positions: Vec<[f32; 3]>,
    pub intensity: Option<Vec<u16>>,
    pub classification: Option<Vec<u8>>,
    /// (return number, number of returns)
    pub returns: Option<Vec<(u8, u8)>>,
    pub rgb: Option<Vec<[u16; 3]>>,
    pub gps_time: Option<Vec<f64>>,
}

impl PointChunk {
    /// Builds a chunk from raw records of `layout`, with coordinates rebased on `origin`.
    pub fn from_records(
        records: &[u8],
        record_len: usize,
        layout: &RecordLayout,
        scale: [f64; 3],
        offset: [f64; 3],
        origin: DVec3,
        attributes: Attributes,
    ) -> Self {
        let n = records.len() / record_len.max(1);
        let mut chunk = PointChunk {
            origin,
            positions: Vec::with_capacity(n),
            ..Default::default()
        };
        let mut intensity = attributes.intensity.then(|| Vec::with_capacity(n));
        let mut classification = attributes.classification.then(|| Vec::with_capacity(n));
        let mut returns = attributes.returns.then(|| Vec::with_capacity(n));
        let mut rgb = (attributes.rgb && layout.rgb.is_some()).then(|| Vec::with_capacity(n));
        let mut gps =
            (attributes.gps_time && layout.gps_time.is_some()).then(|| Vec::with_capacity(n));
        // Subtract the origin in integer steps first: no precision is lost before the f32 cast.
        let origin_raw = [
            (origin.x - offset[0]) / scale[0],
            (origin.y - offset[1]) / scale[1],
            (origin.z - offset[2]) / scale[2],
        ];
        for r in records.chunks_exact(record_len) {
            let p = [0, 1, 2].map(|a| {
                ((f64::from(LE::read_i32(&r[4 * a..])) - origin_raw[a]) * scale[a]) as f32
            });
            chunk.positions.push(p);
            if let Some(v) = &mut intensity {
                v.push(layout.intensity(r));
            }
            if let Some(v) = &mut classification {
                v.push(layout.classification(r));
            }
            if let Some(v) = &mut returns {
                v.push(layout.returns(r));
            }
            if let (Some(v), Some(c)) = (&mut rgb, layout.rgb(r)) {
                v.push(c);
            }
            if let (Some(v), Some(t)) = (&mut gps, layout.gps_time(r)) {
                v.push(t);
            }
        }
        chunk.intensity = intensity;
        chunk.classification = classification;
        chunk.returns = returns;
        chunk.rgb = rgb;
        chunk.gps_time = gps;
        chunk
    }

    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }
}

/// A COPC file opened for streaming: header and VLRs read, hierarchy read page by page.
pub struct CopcReader<S: ByteSource> {
    pub file: LasFile<S>,
    pub info: CopcInfo,
    pub hierarchy: Hierarchy,
    pub layout: RecordLayout,
    file_len: u64,
}

impl<S: ByteSource> CopcReader<S> {
    /// Reads the header, VLRs and the root hierarchy page (three or four range requests).
    pub fn open(source: S) -> Result<Self, LasError> {
        Self::from_file(LasFile::open_lazy(source)?)
    }

    /// The reader of a file already opened with [`LasFile::open_lazy`] (its header and VLRs are
    /// not read again); reads the root hierarchy page.
    pub fn from_file(file: LasFile<S>) -> Result<Self, LasError> {
        let name = file.source.name().to_owned();
        let copc_error = |problem: String| LasError::Copc {
            source_name: name.clone(),
            problem,
        };
        let info_vlr = file.vlrs.iter().find(|v| v.is("copc", 1)).ok_or_else(|| {
            copc_error("no COPC info VLR (copc/1): this is not a COPC file".into())
        })?;
        let info = CopcInfo::parse(&info_vlr.data).ok_or_else(|| {
            copc_error(format!(
                "info VLR is {} bytes, expected 160",
                info_vlr.data.len()
            ))
        })?;
        if !(info.cube.halfsize.is_finite()
            && info.cube.halfsize > 0.0
            && info.cube.center.is_finite())
        {
            return Err(copc_error(format!(
                "info VLR: octree cube centre {} halfsize {} is not usable",
                info.cube.center, info.cube.halfsize
            )));
        }
        if !(file.header.point_format >= 6 && file.header.point_format <= 8) || file.laz.is_none() {
            return Err(copc_error(format!(
                "point format {} (compressed: {}) is not COPC's 6/7/8 LAZ",
                file.header.point_format, file.header.compressed
            )));
        }
        let layout = RecordLayout::of(file.header.point_format)
            .ok_or_else(|| copc_error("bad point format".into()))?;
        let file_len = file.source.len()?;
        let spacing = if info.spacing.is_finite() && info.spacing > 0.0 {
            info.spacing
        } else {
            info.cube.halfsize / 64.0
        };
        let mut reader = Self {
            hierarchy: Hierarchy::new(info.cube, spacing),
            file,
            info,
            layout,
            file_len,
        };
        let root_page = PageRef {
            offset: info.root_hier_offset,
            byte_size: info.root_hier_size,
        };
        reader.read_page(root_page)?;
        if reader.hierarchy.root().is_none() {
            return Err(copc_error(
                "the root hierarchy page has no entry for the root node 0-0-0-0".into(),
            ));
        }
        Ok(reader)
    }

    fn copc_error(&self, problem: String) -> LasError {
        LasError::Copc {
            source_name: self.file.source.name().to_owned(),
            problem,
        }
    }

    fn read_page(&mut self, page: PageRef) -> Result<(), LasError> {
        let bytes = self.fetch_page(page)?;
        self.insert_page(page, &bytes)
    }

    /// The bytes of a hierarchy page: one range request, no change to the reader (so a worker
    /// thread can fetch while the viewer keeps selecting on the hierarchy it has).
    pub fn fetch_page(&self, page: PageRef) -> Result<Vec<u8>, LasError> {
        page_bytes(
            &self.file.source,
            page,
            self.file_len,
            self.file.source.name(),
        )
    }

    /// Adds the entries of a fetched page to the hierarchy and marks the page read.
    pub fn insert_page_for(
        &mut self,
        key: VoxelKey,
        page: PageRef,
        bytes: &[u8],
    ) -> Result<(), LasError> {
        self.insert_page(page, bytes)?;
        if self.hierarchy.get(key).and_then(|n| n.page) == Some(page) {
            self.clear_page(key);
        }
        Ok(())
    }

    fn insert_page(&mut self, page: PageRef, bytes: &[u8]) -> Result<(), LasError> {
        if bytes.len() as u64 != page.byte_size || !page.byte_size.is_multiple_of(32) {
            return Err(self.copc_error(format!(
                "hierarchy page at offset {}: {} bytes read, {} expected",
                page.offset,
                bytes.len(),
                page.byte_size
            )));
        }
        for (i, e) in bytes.as_chunks::<32>().0.iter().enumerate() {
            let Entry {
                key,
                offset,
                byte_size,
                point_count,
            } = Entry::read(e);
            let at = page.offset + 32 * i as u64;
            if !key.is_valid() {
                return Err(self.copc_error(format!(
                    "hierarchy entry at offset {at}: key {key} is outside the octree"
                )));
            }
            let in_file =
                byte_size >= 0 && offset.saturating_add(byte_size as u64) <= self.file_len;
            match point_count {
                -1 if in_file => {
                    self.hierarchy.insert(
                        key,
                        None,
                        Some(PageRef {
                            offset,
                            byte_size: byte_size as u64,
                        }),
                    );
                }
                0 => {}
                n if n > 0 && in_file && byte_size > 0 => {
                    self.hierarchy.insert(
                        key,
                        Some(NodeData {
                            offset,
                            byte_size: byte_size as u64,
                            point_count: n as u64,
                        }),
                        None,
                    );
                }
                _ => {
                    return Err(self.copc_error(format!(
                        "hierarchy entry at offset {at} for node {key}: {point_count} points in {byte_size} bytes at offset {offset} do not fit a file of {} bytes",
                        self.file_len
                    )));
                }
            }
        }
        Ok(())
    }

    fn clear_page(&mut self, key: VoxelKey) {
        self.hierarchy.clear_page(key);
    }

    /// Reads the hierarchy page below `key` (the node must have one pending).
    pub fn load_page(&mut self, key: VoxelKey) -> Result<(), LasError> {
        let page = self.hierarchy.get(key).and_then(|n| n.page);
        match page {
            Some(page) => {
                self.read_page(page)?;
                // The page normally describes its own node; if not, nothing more is to be had.
                if self.hierarchy.get(key).and_then(|n| n.page) == Some(page) {
                    self.clear_page(key);
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Reads every pending page (for `info` and whole-file tools; viewers load on demand).
    pub fn load_all_pages(&mut self) -> Result<(), LasError> {
        let mut guard = 0usize;
        loop {
            let pending: Vec<VoxelKey> = self.hierarchy.pending_pages().map(|(k, _)| k).collect();
            if pending.is_empty() {
                return Ok(());
            }
            for key in pending {
                self.load_page(key)?;
                guard += 1;
            }
            if guard > 10_000_000 {
                return Err(
                    self.copc_error("hierarchy pages reference each other without end".into())
                );
            }
        }
    }

    /// The compressed bytes of a node: exactly one range request.
    pub fn fetch_node(&self, key: VoxelKey) -> Result<(NodeData, Vec<u8>), LasError> {
        let data = self
            .hierarchy
            .get(key)
            .and_then(|n| n.data)
            .ok_or_else(|| self.copc_error(format!("node {key} is not in the loaded hierarchy")))?;
        Ok((
            data,
            self.file.source.read_range(data.offset, data.byte_size)?,
        ))
    }

    /// Decodes fetched node bytes into a chunk. Pure CPU work: run it off the main thread.
    pub fn decode_node(
        &self,
        key: VoxelKey,
        data: NodeData,
        bytes: &[u8],
        attributes: Attributes,
    ) -> Result<PointChunk, LasError> {
        self.decoder()?.decode(key, data, bytes, attributes)
    }

    /// What decoding a node needs, detached from the reader (for worker threads).
    pub fn decoder(&self) -> Result<NodeDecoder, LasError> {
        let codec = self
            .file
            .laz
            .clone()
            .ok_or_else(|| self.copc_error("not compressed".into()))?;
        let h = &self.file.header;
        Ok(NodeDecoder {
            codec,
            layout: self.layout,
            record_len: usize::from(h.point_record_len),
            scale: h.scale,
            offset: h.offset,
            cube: self.hierarchy.cube,
            source_name: self.file.source.name().to_owned(),
        })
    }

    /// Fetch and decode in one call.
    pub fn read_node(&self, key: VoxelKey, attributes: Attributes) -> Result<PointChunk, LasError> {
        let (data, bytes) = self.fetch_node(key)?;
        self.decode_node(key, data, &bytes, attributes)
    }

    /// Raw records of a node in the file's own format (for copying and checks).
    pub fn node_records(&self, key: VoxelKey) -> Result<Vec<u8>, LasError> {
        let (data, bytes) = self.fetch_node(key)?;
        let codec = self
            .file
            .laz
            .as_ref()
            .ok_or_else(|| self.copc_error("not compressed".into()))?;
        codec
            .decode(&bytes, data.point_count, DecompressionSelection::all())
            .map_err(|problem| self.copc_error(format!("node {key}: {problem}")))
    }
}

/// Validates a page reference against the file and reads it.
fn page_bytes<S: ByteSource + ?Sized>(
    source: &S,
    page: PageRef,
    file_len: u64,
    source_name: &str,
) -> Result<Vec<u8>, LasError> {
    if !page.byte_size.is_multiple_of(32)
        || page.offset.saturating_add(page.byte_size) > file_len
        || page.byte_size == 0
    {
        return Err(LasError::Copc {
            source_name: source_name.to_owned(),
            problem: format!(
                "hierarchy page at offset {} of {} bytes is not a whole number of entries inside the file",
                page.offset, page.byte_size
            ),
        });
    }
    Ok(source.read_range(page.offset, page.byte_size)?)
}

/// Decodes COPC nodes without the reader: the LAZ item list, record layout and scaling of one file.
#[derive(Debug, Clone)]
pub struct NodeDecoder {
    codec: LazCodec,
    layout: RecordLayout,
    record_len: usize,
    scale: [f64; 3],
    offset: [f64; 3],
    cube: Cube,
    source_name: String,
}

impl NodeDecoder {
    /// Decodes the compressed bytes of node `key` (as found in the hierarchy as `data`).
    pub fn decode(
        &self,
        key: VoxelKey,
        data: NodeData,
        bytes: &[u8],
        attributes: Attributes,
    ) -> Result<PointChunk, LasError> {
        let records = self
            .codec
            .decode(bytes, data.point_count, attributes.selection())
            .map_err(|problem| LasError::Copc {
                source_name: self.source_name.clone(),
                problem: format!("node {key} at offset {}: {problem}", data.offset),
            })?;
        let mut chunk = PointChunk::from_records(
            &records,
            self.record_len,
            &self.layout,
            self.scale,
            self.offset,
            self.cube.bounds(key).center(),
            attributes,
        );
        chunk.key = Some(key);
        Ok(chunk)
    }
}

impl<S: ByteSource> CopcReader<S> {
    /// What a viewer does for one still camera: select, read the hierarchy pages the selection
    /// asks for, select again, until stable; then fetch every selected node once.
    /// Returns the final selection and the number of node bytes fetched.
    pub fn fetch_view(
        &mut self,
        view: &View,
        budget: PointBudget,
    ) -> Result<(Selection, u64), LasError> {
        let mut selection = select_nodes(&self.hierarchy, view, budget);
        let mut rounds = 0;
        while !selection.pages_wanted.is_empty() && rounds < 64 {
            for key in selection.pages_wanted.clone() {
                self.load_page(key)?;
            }
            selection = select_nodes(&self.hierarchy, view, budget);
            rounds += 1;
        }
        let mut fetched = 0;
        for node in &selection.nodes {
            let (data, _bytes) = self.fetch_node(node.key)?;
            fetched += data.byte_size;
        }
        Ok((selection, fetched))
    }
}
