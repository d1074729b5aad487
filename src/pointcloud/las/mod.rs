//! LAS/LAZ files on bytes: a validated header, VLRs/EVLRs, extra-bytes dimensions, and the point
//! data cut into independently decodable blocks (LAZ chunks or runs of raw LAS records).
//!
//! Every count and offset read from the file is checked against the file's real size before it
//! is used, so a lying header gives an error naming the field instead of a huge allocation.

pub mod header;
pub mod write;

pub use header::LasHeader;

use crate::io::{ByteSource, SourceError};
use byteorder::{ByteOrder, LittleEndian as LE};
use laz::record::{
    LayeredPointRecordDecompressor, RecordDecompressor, SequentialPointRecordDecompressor,
};
use laz::{DecompressionSelection, LazItemType, LazVlr};
use std::io::Cursor;

/// Size of a VLR header in bytes.
pub const VLR_HEADER_LEN: u64 = 54;
/// Size of an EVLR header in bytes.
pub const EVLR_HEADER_LEN: u64 = 60;
/// Points per block when cutting uncompressed LAS point data.
const LAS_BLOCK_POINTS: u64 = 65_536;

/// Why a LAS/LAZ/COPC file could not be read: names the file, and the field or offset.
#[derive(Debug, thiserror::Error)]
pub enum LasError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{source_name}: not a LAS/LAZ file (the first bytes are {found:?}, expected \"LASF\")")]
    NotLas { source_name: String, found: String },
    #[error("{source_name}: header field `{field}` at offset {offset}: {problem}")]
    Field {
        source_name: String,
        field: &'static str,
        offset: u64,
        problem: String,
    },
    #[error("{source_name}: LAZ data: {problem}")]
    Laz {
        source_name: String,
        problem: String,
    },
    #[error("{source_name}: COPC: {problem}")]
    Copc {
        source_name: String,
        problem: String,
    },
}

/// Byte sizes of the standard part of each LAS point format.
pub fn base_record_len(format: u8) -> Option<u16> {
    Some(match format {
        0 => 20,
        1 => 28,
        2 => 26,
        3 => 34,
        4 => 57,
        5 => 63,
        6 => 30,
        7 => 36,
        8 => 38,
        9 => 59,
        10 => 67,
        _ => return None,
    })
}

/// Whether a point format carries GPS time, RGB, NIR and wave packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatTraits {
    pub gps_time: bool,
    pub rgb: bool,
    pub nir: bool,
    pub wave_packet: bool,
    pub extended: bool,
}

impl FormatTraits {
    pub fn of(format: u8) -> Self {
        Self {
            gps_time: matches!(format, 1 | 3 | 4 | 5 | 6..=10),
            rgb: matches!(format, 2 | 3 | 5 | 7 | 8 | 10),
            nir: matches!(format, 8 | 10),
            wave_packet: matches!(format, 4 | 5 | 9 | 10),
            extended: format >= 6,
        }
    }
}

/// A variable-length record (or extended VLR), with its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Vlr {
    pub user_id: String,
    pub record_id: u16,
    pub description: String,
    pub data: Vec<u8>,
    pub extended: bool,
}

impl crate::georef::CrsRecord for Vlr {
    fn is(&self, user_id: &str, record_id: u16) -> bool {
        Vlr::is(self, user_id, record_id)
    }
    fn data(&self) -> &[u8] {
        &self.data
    }
}

impl Vlr {
    pub fn is(&self, user_id: &str, record_id: u16) -> bool {
        self.user_id == user_id && self.record_id == record_id
    }

    /// Serialises header and payload; `extended` selects the 60-byte EVLR header.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&fixed_str::<16>(&self.user_id));
        out.extend_from_slice(&self.record_id.to_le_bytes());
        if self.extended {
            out.extend_from_slice(&(self.data.len() as u64).to_le_bytes());
        } else {
            out.extend_from_slice(&(self.data.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(&fixed_str::<32>(&self.description));
        out.extend_from_slice(&self.data);
    }
}

/// A NUL-padded fixed-size ASCII field.
pub fn fixed_str<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (slot, byte) in out.iter_mut().zip(text.bytes()) {
        *slot = byte;
    }
    out
}

pub(crate) fn read_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).trim().to_owned()
}

/// Parses `count` VLRs starting at `offset` in `bytes` (which starts at file offset 0).
pub fn parse_vlrs(
    bytes: &[u8],
    start: u64,
    count: u32,
    extended: bool,
    source_name: &str,
) -> Result<Vec<Vlr>, LasError> {
    let header_len = if extended {
        EVLR_HEADER_LEN
    } else {
        VLR_HEADER_LEN
    };
    let mut at = start;
    let mut vlrs = Vec::with_capacity(count.min(1024) as usize);
    for index in 0..count {
        let what = if extended { "evlr" } else { "vlr" };
        let truncated = |at: u64, need: u64| LasError::Field {
            source_name: source_name.to_owned(),
            field: if extended { "evlr" } else { "vlr" },
            offset: at,
            problem: format!(
                "{what} #{index} needs {need} bytes at offset {at}, past the end of its area ({} bytes)",
                bytes.len()
            ),
        };
        let header_end = at
            .checked_add(header_len)
            .filter(|&end| end <= bytes.len() as u64)
            .ok_or_else(|| truncated(at, header_len))?;
        let h = &bytes[at as usize..header_end as usize];
        let user_id = read_str(&h[2..18]);
        let record_id = LE::read_u16(&h[18..]);
        let (data_len, description) = if extended {
            (LE::read_u64(&h[20..]), read_str(&h[28..60]))
        } else {
            (u64::from(LE::read_u16(&h[20..])), read_str(&h[22..54]))
        };
        let data_end = header_end
            .checked_add(data_len)
            .filter(|&end| end <= bytes.len() as u64)
            .ok_or_else(|| truncated(header_end, data_len))?;
        vlrs.push(Vlr {
            user_id,
            record_id,
            description,
            data: bytes[header_end as usize..data_end as usize].to_vec(),
            extended,
        });
        at = data_end;
    }
    Ok(vlrs)
}

/// Data type of an extra-bytes dimension (LAS 1.4 R15 table 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraBytesType {
    Undocumented(u8),
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
    /// Deprecated array types 11–30, kept opaque with their size.
    Deprecated {
        code: u8,
        size: u8,
    },
}

impl ExtraBytesType {
    pub fn size(self) -> u16 {
        match self {
            Self::Undocumented(size) => u16::from(size),
            Self::U8 | Self::I8 => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 => 8,
            Self::Deprecated { size, .. } => u16::from(size),
        }
    }
}

/// One extra-bytes dimension as declared in a `LASF_Spec`/4 VLR.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExtraBytesDim {
    pub name: String,
    pub description: String,
    pub data_type: ExtraBytesType,
    /// The raw 192-byte descriptor, written back unchanged.
    #[serde(skip)]
    pub descriptor: Vec<u8>,
}

/// Parses every extra-bytes VLR (real files sometimes carry several; they are concatenated).
pub fn parse_extra_bytes(vlrs: &[Vlr], source_name: &str) -> Result<Vec<ExtraBytesDim>, LasError> {
    let mut dims = Vec::new();
    for vlr in vlrs.iter().filter(|v| v.is("LASF_Spec", 4)) {
        if vlr.data.len() % 192 != 0 {
            return Err(LasError::Field {
                source_name: source_name.to_owned(),
                field: "extra_bytes_vlr",
                offset: 0,
                problem: format!(
                    "payload of {} bytes is not a multiple of 192",
                    vlr.data.len()
                ),
            });
        }
        for d in vlr.data.chunks_exact(192) {
            let code = d[2];
            let options = d[3];
            let data_type = match code {
                0 => ExtraBytesType::Undocumented(options),
                1 => ExtraBytesType::U8,
                2 => ExtraBytesType::I8,
                3 => ExtraBytesType::U16,
                4 => ExtraBytesType::I16,
                5 => ExtraBytesType::U32,
                6 => ExtraBytesType::I32,
                7 => ExtraBytesType::U64,
                8 => ExtraBytesType::I64,
                9 => ExtraBytesType::F32,
                10 => ExtraBytesType::F64,
                11..=30 => {
                    let base = [1u8, 1, 2, 2, 4, 4, 8, 8, 4, 8][usize::from((code - 11) % 10)];
                    ExtraBytesType::Deprecated {
                        code,
                        size: base * (2 + (code - 11) / 10),
                    }
                }
                _ => {
                    return Err(LasError::Field {
                        source_name: source_name.to_owned(),
                        field: "extra_bytes_vlr.data_type",
                        offset: 0,
                        problem: format!("unknown extra-bytes data type {code}"),
                    });
                }
            };
            dims.push(ExtraBytesDim {
                name: read_str(&d[4..36]),
                description: read_str(&d[160..192]),
                data_type,
                descriptor: d.to_vec(),
            });
        }
    }
    Ok(dims)
}

/// A run of points that decodes on its own: one LAZ chunk, or a slice of raw LAS records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub offset: u64,
    pub byte_len: u64,
    pub point_count: u64,
}

/// An opened LAS/LAZ file: validated header, VLRs, EVLRs and its point blocks.
#[derive(Debug)]
pub struct LasFile<S: ByteSource> {
    pub source: S,
    pub header: LasHeader,
    pub vlrs: Vec<Vlr>,
    pub evlrs: Vec<Vlr>,
    pub extra_bytes: Vec<ExtraBytesDim>,
    pub laz: Option<LazCodec>,
    pub blocks: Vec<Block>,
}

impl<S: ByteSource> LasFile<S> {
    /// Reads and checks the header, VLRs, EVLRs and (for LAZ) the chunk table.
    pub fn open(source: S) -> Result<Self, LasError> {
        Self::open_with(source, false)
    }

    /// Like [`LasFile::open`] but for streaming COPC: no chunk table, and EVLR payloads other
    /// than small ones are skipped (the hierarchy is read page by page instead).
    pub fn open_lazy(source: S) -> Result<Self, LasError> {
        Self::open_with(source, true)
    }

    fn open_with(source: S, lazy: bool) -> Result<Self, LasError> {
        let name = source.name().to_owned();
        let file_len = source.len()?;
        let head = source.read_range(0, file_len.min(375))?;
        let header = LasHeader::parse(&head, file_len, &name)?;
        let prefix = source.read_range(0, u64::from(header.offset_to_point_data))?;
        let vlrs = parse_vlrs(
            &prefix,
            u64::from(header.header_size),
            header.number_of_vlrs,
            false,
            &name,
        )?;
        let evlrs = read_evlrs(&source, &header, file_len, lazy)?;
        let extra_bytes = parse_extra_bytes(&vlrs, &name)?;
        let mut file = LasFile {
            source,
            header,
            vlrs,
            evlrs,
            extra_bytes,
            laz: None,
            blocks: Vec::new(),
        };
        if file.header.compressed && lazy {
            let vlr = file.vlrs.iter().find(|v| v.is("laszip encoded", 22204));
            let codec = vlr.map(|v| LazCodec::from_vlr_data(&v.data)).transpose();
            file.laz = codec.map_err(|e| file.laz_error(format!("laszip VLR: {e}")))?;
        } else if file.header.compressed {
            file.open_laz(file_len)?;
        } else {
            file.blocks = las_blocks(&file.header);
        }
        Ok(file)
    }

    fn laz_error(&self, problem: String) -> LasError {
        LasError::Laz {
            source_name: self.source.name().to_owned(),
            problem,
        }
    }

    fn open_laz(&mut self, file_len: u64) -> Result<(), LasError> {
        let vlr = self
            .vlrs
            .iter()
            .find(|v| v.is("laszip encoded", 22204))
            .ok_or_else(|| {
                self.laz_error("the point format says compressed but there is no laszip VLR".into())
            })?;
        let codec = LazCodec::from_vlr_data(&vlr.data)
            .map_err(|e| self.laz_error(format!("laszip VLR: {e}")))?;
        let laz_vlr = &codec.vlr;
        if laz_vlr.items_size() != u64::from(self.header.point_record_len) {
            return Err(self.laz_error(format!(
                "laszip VLR items are {} bytes but point_data_record_length is {}",
                laz_vlr.items_size(),
                self.header.point_record_len
            )));
        }
        let data_start = u64::from(self.header.offset_to_point_data);
        let data_end = self.header.point_data_end(file_len);
        if self.header.point_count == 0 {
            self.laz = Some(codec);
            return Ok(());
        }
        let offset_bytes = self.source.read_range(data_start, 8)?;
        let mut table_offset = LE::read_i64(&offset_bytes);
        if table_offset <= data_start as i64 {
            // Writers that could not seek back put the offset in the last 8 bytes.
            let tail = self.source.read_range(file_len.saturating_sub(8), 8)?;
            table_offset = LE::read_i64(&tail);
        }
        let table_offset = u64::try_from(table_offset).unwrap_or(u64::MAX);
        if table_offset <= data_start + 8 || table_offset.saturating_add(8) > file_len {
            return Err(self.laz_error(format!(
                "chunk table offset {table_offset} (stored at offset {data_start}) is outside the point data ({data_start}..{file_len})"
            )));
        }
        let table_len = file_len - table_offset;
        let table_bytes = self
            .source
            .read_range(table_offset, table_len.min(64 << 20))?;
        let number_of_chunks = u64::from(LE::read_u32(&table_bytes[4..]));
        let max_chunks = self.header.point_count.min(table_offset - data_start);
        if number_of_chunks == 0 || number_of_chunks > max_chunks {
            return Err(self.laz_error(format!(
                "chunk table at offset {table_offset} claims {number_of_chunks} chunks for {} points",
                self.header.point_count
            )));
        }
        let variable = laz_vlr.uses_variable_size_chunks();
        let mut cursor = Cursor::new(&table_bytes[..]);
        let table = decode_chunk_table(&mut cursor, variable)
            .map_err(|e| self.laz_error(format!("chunk table at offset {table_offset}: {e}")))?;
        let mut blocks = Vec::with_capacity(table.len());
        let mut offset = data_start + 8;
        let mut remaining = self.header.point_count;
        for (index, entry) in table.iter().enumerate() {
            let count = if variable {
                entry.point_count
            } else {
                u64::from(laz_vlr.chunk_size()).min(remaining)
            };
            if offset.saturating_add(entry.byte_count)
                > table_offset.max(data_end.min(table_offset))
                || count > remaining
            {
                return Err(self.laz_error(format!(
                    "chunk table entry {index} ({count} points, {} bytes at offset {offset}) does not fit the point data",
                    entry.byte_count
                )));
            }
            blocks.push(Block {
                offset,
                byte_len: entry.byte_count,
                point_count: count,
            });
            offset += entry.byte_count;
            remaining -= count;
        }
        if remaining != 0 {
            return Err(self.laz_error(format!(
                "chunk table holds {} points but the header claims {}",
                self.header.point_count - remaining,
                self.header.point_count
            )));
        }
        self.laz = Some(codec);
        self.blocks = blocks;
        Ok(())
    }

    /// Decodes one block into raw point records (the file's own format and record length).
    pub fn decode_block(
        &self,
        block: &Block,
        selection: DecompressionSelection,
    ) -> Result<Vec<u8>, LasError> {
        let bytes = self.source.read_range(block.offset, block.byte_len)?;
        match &self.laz {
            None => Ok(bytes),
            Some(codec) => codec
                .decode(&bytes, block.point_count, selection)
                .map_err(|problem| {
                    self.laz_error(format!(
                        "chunk at offset {} ({} points): {problem}",
                        block.offset, block.point_count
                    ))
                }),
        }
    }

    /// The CRS VLR payloads and everything the CRS module needs.
    pub fn all_vlrs(&self) -> impl Iterator<Item = &Vlr> {
        self.vlrs.iter().chain(self.evlrs.iter())
    }
}

/// Reads the EVLRs one header at a time; with `lazy`, payloads over 1 MiB are left empty.
fn read_evlrs<S: ByteSource>(
    source: &S,
    header: &LasHeader,
    file_len: u64,
    lazy: bool,
) -> Result<Vec<Vlr>, LasError> {
    let mut evlrs = Vec::new();
    let mut at = header.start_of_first_evlr;
    for index in 0..header.number_of_evlrs {
        if at.saturating_add(EVLR_HEADER_LEN) > file_len {
            return Err(LasError::Field {
                source_name: source.name().to_owned(),
                field: "evlr",
                offset: at,
                problem: format!(
                    "EVLR #{index} header at offset {at} is past the end of the file ({file_len} bytes)"
                ),
            });
        }
        let h = source.read_range(at, EVLR_HEADER_LEN)?;
        let data_len = LE::read_u64(&h[20..]);
        let data_start = at + EVLR_HEADER_LEN;
        if data_start.saturating_add(data_len) > file_len {
            return Err(LasError::Field {
                source_name: source.name().to_owned(),
                field: "evlr.record_length",
                offset: at + 20,
                problem: format!(
                    "EVLR #{index} claims {data_len} bytes at offset {data_start}, past the end of the file ({file_len} bytes)"
                ),
            });
        }
        let data = if lazy && data_len > (1 << 20) {
            Vec::new()
        } else {
            source.read_range(data_start, data_len)?
        };
        evlrs.push(Vlr {
            user_id: read_str(&h[2..18]),
            record_id: LE::read_u16(&h[18..]),
            description: read_str(&h[28..60]),
            data,
            extended: true,
        });
        at = data_start + data_len;
    }
    Ok(evlrs)
}

fn las_blocks(header: &LasHeader) -> Vec<Block> {
    let record = u64::from(header.point_record_len);
    let mut blocks = Vec::new();
    let mut first = 0;
    while first < header.point_count {
        let count = LAS_BLOCK_POINTS.min(header.point_count - first);
        blocks.push(Block {
            offset: u64::from(header.offset_to_point_data) + first * record,
            byte_len: count * record,
            point_count: count,
        });
        first += count;
    }
    blocks
}

fn decode_chunk_table(
    cursor: &mut Cursor<&[u8]>,
    variable: bool,
) -> std::io::Result<Vec<laz::laszip::ChunkTableEntry>> {
    let table = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        laz::laszip::ChunkTable::read(cursor, variable)
    }))
    .map_err(|_| std::io::Error::other("the chunk table decoder failed on corrupt data"))??;
    Ok(table.as_ref().to_vec())
}

/// The LAZ item list of a file and whether its chunks are layered (point formats 6+).
#[derive(Debug, Clone)]
pub struct LazCodec {
    pub vlr: LazVlr,
    pub layered: bool,
}

impl LazCodec {
    /// Reads the `laszip encoded` VLR payload.
    pub fn from_vlr_data(data: &[u8]) -> Result<Self, String> {
        if data.len() < 34 {
            return Err(format!("payload of {} bytes is too short", data.len()));
        }
        let compressor = LE::read_u16(data);
        let vlr = std::panic::catch_unwind(|| LazVlr::from_buffer(data))
            .map_err(|_| "unreadable item list".to_owned())?
            .map_err(|e| e.to_string())?;
        match compressor {
            1 | 2 => Ok(Self {
                vlr,
                layered: false,
            }),
            3 => Ok(Self { vlr, layered: true }),
            other => Err(format!("unsupported compressor type {other}")),
        }
    }

    /// Decompresses one independent LAZ chunk of `point_count` points.
    ///
    /// A corrupt chunk can make the arithmetic decoder index out of its tables; that is caught
    /// and reported as an error so that one bad chunk never takes the application down.
    pub fn decode(
        &self,
        bytes: &[u8],
        point_count: u64,
        selection: DecompressionSelection,
    ) -> Result<Vec<u8>, String> {
        let record_len = self.vlr.items_size();
        // A LAZ point never compresses below a few bits; refuse counts the bytes cannot hold.
        let limit = (bytes.len() as u64 + 64) * 64;
        if point_count > limit {
            return Err(format!(
                "{point_count} points cannot come from {} compressed bytes",
                bytes.len()
            ));
        }
        let len = usize::try_from(point_count * record_len).map_err(|e| e.to_string())?;
        if self.layered && point_count > 0 {
            self.check_layer_sizes(bytes)?;
        }
        let mut out = vec![0u8; len];
        let run = || -> Result<(), String> {
            let items = self.vlr.items();
            if self.layered {
                let mut d = LayeredPointRecordDecompressor::new(Cursor::new(bytes));
                d.set_fields_from(items).map_err(|e| e.to_string())?;
                d.set_selection(selection);
                d.decompress_many(&mut out).map_err(|e| e.to_string())
            } else {
                let mut d = SequentialPointRecordDecompressor::new(Cursor::new(bytes));
                d.set_fields_from(items).map_err(|e| e.to_string())?;
                d.decompress_many(&mut out).map_err(|e| e.to_string())
            }
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
            .map_err(|_| "the LAZ decoder failed on corrupt data".to_owned())??;
        Ok(out)
    }
}

impl LazCodec {
    /// A layered chunk starts with its first point raw, a point count and one byte size per
    /// layer; the decoder allocates each layer's size before reading it. Sizes that the chunk
    /// cannot hold are refused here (found by fuzzing: a corrupt size asked for 4 GiB).
    fn check_layer_sizes(&self, bytes: &[u8]) -> Result<(), String> {
        let mut layers = 0usize;
        for item in self.vlr.items() {
            layers += match item.item_type() {
                LazItemType::Point14 => 9,
                LazItemType::RGB14 | LazItemType::WavePacket14 => 1,
                LazItemType::RGBNIR14 => 2,
                LazItemType::Byte14(n) => usize::from(n),
                // Not a layered item: the decoder reports the mismatch itself.
                _ => return Ok(()),
            };
        }
        let table = self.vlr.items_size() as usize + 4;
        let sizes_end = table + 4 * layers;
        if bytes.len() < sizes_end {
            return Err(format!(
                "chunk of {} bytes is shorter than its first point and layer table ({sizes_end} bytes)",
                bytes.len()
            ));
        }
        let declared: u64 = bytes[table..sizes_end]
            .chunks_exact(4)
            .map(|b| u64::from(LE::read_u32(b)))
            .sum();
        let available = (bytes.len() - sizes_end) as u64;
        if declared > available {
            return Err(format!(
                "layers declare {declared} bytes but the chunk holds {available} after its layer table"
            ));
        }
        Ok(())
    }
}

/// Reads a 3-component record field as scaled coordinates.
pub fn position(record: &[u8], header: &LasHeader) -> [f64; 3] {
    [
        f64::from(LE::read_i32(&record[0..])) * header.scale[0] + header.offset[0],
        f64::from(LE::read_i32(&record[4..])) * header.scale[1] + header.offset[1],
        f64::from(LE::read_i32(&record[8..])) * header.scale[2] + header.offset[2],
    ]
}

/// Classification code of a raw record (5 bits before format 6, a full byte after).
pub fn classification(record: &[u8], format: u8) -> u8 {
    if format >= 6 {
        record[16]
    } else {
        record[15] & 0x1f
    }
}

/// Compresses records into one independent LAZ chunk (the bytes between chunk boundaries).
pub fn encode_laz_chunk(vlr: &LazVlr, records: &[u8]) -> Result<Vec<u8>, String> {
    let mut compressor = laz::LasZipCompressor::new(
        Cursor::new(Vec::with_capacity(records.len() / 4)),
        vlr.clone(),
    )
    .map_err(|e| e.to_string())?;
    compressor
        .compress_many(records)
        .map_err(|e| e.to_string())?;
    compressor.done().map_err(|e| e.to_string())?;
    let bytes = compressor.into_inner().into_inner();
    // Layout written by laz: [chunk table offset: i64][chunk][chunk table].
    let table_offset = usize::try_from(LE::read_i64(&bytes)).map_err(|e| e.to_string())?;
    bytes
        .get(8..table_offset)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "compressor wrote no chunk table offset".to_owned())
}
