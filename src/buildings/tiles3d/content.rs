//! 3D Tiles 1.0 tile containers (b3dm, i3dm, pnts, cmpt and plain GLB): parsed from bytes into
//! [`TileContent`], and written back for exports and test fixtures.
//!
//! How it works: [`parse_content`] sniffs the 4-byte magic, checks the header against the
//! buffer (version 1, `byteLength` equal to the buffer length, every section inside it), then
//! reads the feature table (JSON header + binary body) and the batch table into plain data.
//! Every count read from a header is checked against the bytes that would hold it before
//! anything is allocated, so a lying header costs an error, never a huge allocation or a panic.
//! Binary bodies are read with unaligned little-endian reads, so misaligned offsets from sloppy
//! writers still decode.
//!
//! Not supported: the `3DTILES_batch_table_hierarchy` extension (skipped, like every batch table
//! `extensions` / `extras` member), i3dm/pnts `NORMAL` / `NORMAL_OCT16P` point normals, and
//! the embedded glTF itself (handed on as bytes to the glTF decoder).

use glam::{DMat3, DQuat, DVec3};
use serde_json::{Map, Value, json};

use crate::buildings::model::{PropertyColumn, PropertyTable, PropertyValue};

/// How deep composite tiles may nest inside each other before parsing gives up.
pub const MAX_COMPOSITE_DEPTH: usize = 8;

/// The decoded content of one 3D Tiles 1.0 tile.
#[derive(Clone, Debug, PartialEq)]
pub enum TileContent {
    /// A b3dm tile or a plain GLB: the GLB bytes plus what the container says about them.
    Model {
        /// The binary glTF, cut to the length its own header declares (the container's 8-byte
        /// padding removed).
        glb: Vec<u8>,
        /// `RTC_CENTER` of the feature table: the positions of the glTF are relative to it.
        rtc_center: Option<[f64; 3]>,
        /// The batch table, one row per batch ID (`class` is `"batch"`).
        batch: Option<PropertyTable>,
        /// `BATCH_LENGTH`: the number of features the glTF's `_BATCHID`s refer to.
        batch_length: usize,
    },
    /// An i3dm tile: one glTF model drawn at many places.
    Instances {
        model: InstanceModel,
        instances: Vec<Instance>,
        /// The batch table, one row per batch ID (or per instance without `BATCH_ID`).
        batch: Option<PropertyTable>,
    },
    /// A pnts tile.
    Points {
        /// Tile-frame positions with `RTC_CENTER` and quantization applied in f64.
        positions: Vec<[f64; 3]>,
        /// sRGB RGBA8 colours from `RGBA`, `RGB`, `RGB565` or `CONSTANT_RGBA`, in that order
        /// of precedence.
        colors: Option<Vec<[u8; 4]>>,
        batch_ids: Option<Vec<u32>>,
        /// The batch table, one row per batch ID (or per point without `BATCH_ID`).
        batch: Option<PropertyTable>,
    },
    /// A cmpt tile: its inner tiles in file order.
    Composite(Vec<TileContent>),
}

/// The glTF that an i3dm tile instantiates.
#[derive(Clone, Debug, PartialEq)]
pub enum InstanceModel {
    /// `gltfFormat` 1: the GLB bytes, cut to the length its header declares.
    Embedded(Vec<u8>),
    /// `gltfFormat` 0: a URI relative to the tile, trailing spaces and NULs trimmed.
    Uri(String),
}

/// One instance of an i3dm tile.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// Tile-frame position, `RTC_CENTER` and quantization applied in f64.
    pub position: [f64; 3],
    /// Rotation of the model: from `NORMAL_UP`/`NORMAL_RIGHT` (or their oct-encoded forms) as
    /// the columns (right, up, right × up); east-north-up on WGS84 at `position` when the tile
    /// sets `EAST_NORTH_UP` and has no normals; identity otherwise.
    pub rotation: DQuat,
    /// `SCALE` times `SCALE_NON_UNIFORM`, `[1, 1, 1]` when both are absent.
    pub scale: [f64; 3],
    pub batch_id: Option<u32>,
}

/// Why a tile could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("{format}: {actual} bytes is too short for its {needed}-byte header")]
    TooShort {
        format: &'static str,
        needed: usize,
        actual: usize,
    },
    #[error("unknown tile magic {magic:?} (expected b3dm, i3dm, pnts, cmpt or glTF)")]
    UnknownMagic { magic: String },
    #[error("{format}: unsupported version {version} (expected {expected})")]
    UnsupportedVersion {
        format: &'static str,
        version: u32,
        expected: u32,
    },
    #[error("{format}: header byteLength is {declared} but the tile has {actual} bytes")]
    ByteLengthMismatch {
        format: &'static str,
        declared: u32,
        actual: usize,
    },
    #[error(
        "{format}: {section} ({length} bytes at offset {offset}) runs past the end of the \
         tile ({available} bytes)"
    )]
    SectionOutOfBounds {
        format: &'static str,
        section: &'static str,
        offset: u64,
        length: u64,
        available: usize,
    },
    #[error("{format}: {section} JSON is invalid: {source}")]
    Json {
        format: &'static str,
        section: &'static str,
        source: serde_json::Error,
    },
    #[error("{format}: feature table has no {field}")]
    MissingField {
        format: &'static str,
        field: &'static str,
    },
    #[error("{format}: {section} {field}: {reason}")]
    InvalidField {
        format: &'static str,
        section: &'static str,
        field: String,
        reason: String,
    },
    #[error(
        "{format}: {section} {field} needs {needed} bytes at byteOffset {offset} but the \
         binary body has {available}"
    )]
    PropertyOutOfBounds {
        format: &'static str,
        section: &'static str,
        field: String,
        offset: u64,
        needed: u64,
        available: usize,
    },
    #[error("{format}: embedded glTF: {reason}")]
    InvalidGlb {
        format: &'static str,
        reason: String,
    },
    #[error("{format}: gltfFormat is {value} (expected 0 = URI or 1 = embedded GLB)")]
    InvalidGltfFormat { format: &'static str, value: u32 },
    #[error("cmpt: composite tiles nest deeper than {limit}")]
    TooDeep { limit: usize },
    #[error("cmpt: inner tile {index} at byte {offset}: {source}")]
    InnerTile {
        index: usize,
        offset: usize,
        source: Box<ContentError>,
    },
}

/// Parses one tile, recognised by its magic: `b3dm`, `i3dm`, `pnts`, `cmpt` or `glTF`.
pub fn parse_content(bytes: &[u8]) -> Result<TileContent, ContentError> {
    parse_at_depth(bytes, 0)
}

fn parse_at_depth(bytes: &[u8], depth: usize) -> Result<TileContent, ContentError> {
    let magic = bytes.get(..4).ok_or(ContentError::TooShort {
        format: "tile",
        needed: 4,
        actual: bytes.len(),
    })?;
    match magic {
        b"b3dm" => parse_b3dm(bytes),
        b"i3dm" => parse_i3dm(bytes),
        b"pnts" => parse_pnts(bytes),
        b"cmpt" => parse_cmpt(bytes, depth),
        b"glTF" => parse_glb(bytes),
        _ => Err(ContentError::UnknownMagic {
            magic: String::from_utf8_lossy(magic).into_owned(),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Headers and sections

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads the `header_len / 4` little-endian words of a 3D Tiles header after checking the
/// buffer length, version and `byteLength`.
fn read_header(
    bytes: &[u8],
    format: &'static str,
    header_len: usize,
) -> Result<Vec<u32>, ContentError> {
    if bytes.len() < header_len {
        return Err(ContentError::TooShort {
            format,
            needed: header_len,
            actual: bytes.len(),
        });
    }
    let words: Vec<u32> = (0..header_len / 4)
        .filter_map(|i| le_u32(bytes, i * 4))
        .collect();
    check_version_and_length(bytes, format, words[1], words[2])?;
    Ok(words)
}

fn check_version_and_length(
    bytes: &[u8],
    format: &'static str,
    version: u32,
    byte_length: u32,
) -> Result<(), ContentError> {
    if version != 1 {
        return Err(ContentError::UnsupportedVersion {
            format,
            version,
            expected: 1,
        });
    }
    if byte_length as usize != bytes.len() {
        return Err(ContentError::ByteLengthMismatch {
            format,
            declared: byte_length,
            actual: bytes.len(),
        });
    }
    Ok(())
}

/// Cuts consecutive sections of the given lengths, starting at `start`; returns them and the
/// offset after the last one.
fn sections<'a, const N: usize>(
    bytes: &'a [u8],
    format: &'static str,
    start: usize,
    lengths: [(&'static str, u32); N],
) -> Result<([&'a [u8]; N], usize), ContentError> {
    let mut out: [&[u8]; N] = [&[]; N];
    let mut offset = start;
    for (slot, (section, length)) in out.iter_mut().zip(lengths) {
        let end = offset as u64 + u64::from(length);
        if end > bytes.len() as u64 {
            return Err(ContentError::SectionOutOfBounds {
                format,
                section,
                offset: offset as u64,
                length: u64::from(length),
                available: bytes.len(),
            });
        }
        *slot = &bytes[offset..end as usize];
        offset = end as usize;
    }
    Ok((out, offset))
}

/// Checks a GLB embedded in a container and cuts it to the length its own header declares.
fn embedded_glb(format: &'static str, body: &[u8]) -> Result<Vec<u8>, ContentError> {
    let invalid = |reason: String| ContentError::InvalidGlb { format, reason };
    if body.len() < 12 {
        return Err(invalid(format!(
            "{} bytes is too short for a 12-byte GLB header",
            body.len()
        )));
    }
    if &body[..4] != b"glTF" {
        return Err(invalid(format!(
            "magic is {:?}, not \"glTF\"",
            String::from_utf8_lossy(&body[..4])
        )));
    }
    let declared = le_u32(body, 8).unwrap_or(0) as usize;
    if declared < 12 || declared > body.len() {
        return Err(invalid(format!(
            "GLB header length is {declared} but {} bytes are left in the tile",
            body.len()
        )));
    }
    Ok(body[..declared].to_vec())
}

fn parse_glb(bytes: &[u8]) -> Result<TileContent, ContentError> {
    if bytes.len() < 12 {
        return Err(ContentError::TooShort {
            format: "glb",
            needed: 12,
            actual: bytes.len(),
        });
    }
    let version = le_u32(bytes, 4).unwrap_or(0);
    if version != 2 && version != 1 {
        return Err(ContentError::UnsupportedVersion {
            format: "glb",
            version,
            expected: 2,
        });
    }
    let declared = le_u32(bytes, 8).unwrap_or(0);
    if declared as usize != bytes.len() {
        return Err(ContentError::ByteLengthMismatch {
            format: "glb",
            declared,
            actual: bytes.len(),
        });
    }
    Ok(TileContent::Model {
        glb: bytes.to_vec(),
        rtc_center: None,
        batch: None,
        batch_length: 0,
    })
}

// ---------------------------------------------------------------------------------------------
// b3dm

/// A header word this large cannot be a JSON length: it is the start of a JSON string or of
/// the GLB magic, which is how the two pre-1.0 b3dm header layouts are told apart (the same
/// test as CesiumJS and cesium-native).
const LEGACY_HEADER_THRESHOLD: u32 = 0x2200_0000;

fn parse_b3dm(bytes: &[u8]) -> Result<TileContent, ContentError> {
    const FORMAT: &str = "b3dm";
    let w = read_header(bytes, FORMAT, 28)?;
    // Legacy layouts: [batchLength][batchTableByteLength] (20-byte header) and
    // [batchTableJsonByteLength][batchTableBinaryByteLength][batchLength] (24-byte header).
    let (header_len, ft_json_len, ft_bin_len, bt_json_len, bt_bin_len, legacy_batch_length) =
        if w[5] >= LEGACY_HEADER_THRESHOLD {
            (20, 0, 0, w[4], 0, Some(w[3]))
        } else if w[6] >= LEGACY_HEADER_THRESHOLD {
            (24, 0, 0, w[3], w[4], Some(w[5]))
        } else {
            (28, w[3], w[4], w[5], w[6], None)
        };
    let ([ft_json, ft_bin, bt_json, bt_bin], body_start) = sections(
        bytes,
        FORMAT,
        header_len,
        [
            ("feature table JSON", ft_json_len),
            ("feature table binary", ft_bin_len),
            ("batch table JSON", bt_json_len),
            ("batch table binary", bt_bin_len),
        ],
    )?;
    let features = Table::parse(FORMAT, "feature table", ft_json, ft_bin)?;
    let batch_length = match legacy_batch_length {
        Some(n) => n,
        None => features
            .global_u32("BATCH_LENGTH")?
            .ok_or(ContentError::MissingField {
                format: FORMAT,
                field: "BATCH_LENGTH",
            })?,
    } as usize;
    let rtc_center = features.global_vec3("RTC_CENTER")?;
    let batch = parse_batch_table(FORMAT, bt_json, bt_bin, batch_length)?;
    let glb = embedded_glb(FORMAT, &bytes[body_start..])?;
    Ok(TileContent::Model {
        glb,
        rtc_center,
        batch,
        batch_length,
    })
}

// ---------------------------------------------------------------------------------------------
// i3dm

fn parse_i3dm(bytes: &[u8]) -> Result<TileContent, ContentError> {
    const FORMAT: &str = "i3dm";
    let w = read_header(bytes, FORMAT, 32)?;
    let ([ft_json, ft_bin, bt_json, bt_bin], body_start) = sections(
        bytes,
        FORMAT,
        32,
        [
            ("feature table JSON", w[3]),
            ("feature table binary", w[4]),
            ("batch table JSON", w[5]),
            ("batch table binary", w[6]),
        ],
    )?;
    let body = &bytes[body_start..];
    let model = match w[7] {
        0 => {
            let text = std::str::from_utf8(body).map_err(|e| ContentError::InvalidField {
                format: FORMAT,
                section: "body",
                field: "glTF URI".into(),
                reason: format!("not UTF-8: {e}"),
            })?;
            InstanceModel::Uri(text.trim_end_matches([' ', '\0']).to_owned())
        }
        1 => InstanceModel::Embedded(embedded_glb(FORMAT, body)?),
        value => {
            return Err(ContentError::InvalidGltfFormat {
                format: FORMAT,
                value,
            });
        }
    };

    let ft = Table::parse(FORMAT, "feature table", ft_json, ft_bin)?;
    let count = ft
        .global_u32("INSTANCES_LENGTH")?
        .ok_or(ContentError::MissingField {
            format: FORMAT,
            field: "INSTANCES_LENGTH",
        })? as usize;
    let rtc = ft.global_vec3("RTC_CENTER")?.map(DVec3::from_array);
    let positions = read_positions(&ft, count, rtc)?;

    let pair = |up: Option<Vec<DVec3>>, right: Option<Vec<DVec3>>, names: &str| match (up, right) {
        (Some(u), Some(r)) => Ok(Some((u, r))),
        (None, None) => Ok(None),
        _ => Err(ContentError::InvalidField {
            format: FORMAT,
            section: "feature table",
            field: names.to_owned(),
            reason: "one of the pair is present without the other".into(),
        }),
    };
    let normals = match pair(
        read_vec3_f32(&ft, "NORMAL_UP", count)?,
        read_vec3_f32(&ft, "NORMAL_RIGHT", count)?,
        "NORMAL_UP / NORMAL_RIGHT",
    )? {
        Some(normals) => Some(normals),
        None => pair(
            read_oct32p(&ft, "NORMAL_UP_OCT32P", count)?,
            read_oct32p(&ft, "NORMAL_RIGHT_OCT32P", count)?,
            "NORMAL_UP_OCT32P / NORMAL_RIGHT_OCT32P",
        )?,
    };
    let east_north_up = ft.global_bool("EAST_NORTH_UP")?.unwrap_or(false);

    let scale = read_scalar_f32(&ft, "SCALE", count)?;
    let scale_non_uniform = read_vec3_f32(&ft, "SCALE_NON_UNIFORM", count)?;
    let batch_ids = read_batch_ids(&ft, count)?;

    let mut instances = Vec::with_capacity(count);
    for (i, p) in positions.iter().enumerate() {
        let rotation = match &normals {
            Some((up, right)) => rotation_from_up_right(up[i], right[i]).ok_or_else(|| {
                ContentError::InvalidField {
                    format: FORMAT,
                    section: "feature table",
                    field: "NORMAL_UP / NORMAL_RIGHT".into(),
                    reason: format!(
                        "instance {i}: up {:?} and right {:?} are not two non-zero, \
                         non-parallel vectors",
                        up[i], right[i]
                    ),
                }
            })?,
            None if east_north_up => east_north_up_rotation(DVec3::from_array(*p)),
            None => DQuat::IDENTITY,
        };
        let mut s = DVec3::ONE;
        if let Some(uniform) = &scale {
            s *= uniform[i];
        }
        if let Some(non_uniform) = &scale_non_uniform {
            s *= non_uniform[i];
        }
        instances.push(Instance {
            position: *p,
            rotation,
            scale: s.to_array(),
            batch_id: batch_ids.as_ref().map(|ids| ids[i]),
        });
    }

    let batch_length = match &batch_ids {
        Some(ids) => ids.iter().max().map_or(0, |m| *m as usize + 1),
        None => count,
    };
    let batch = parse_batch_table(FORMAT, bt_json, bt_bin, batch_length)?;
    Ok(TileContent::Instances {
        model,
        instances,
        batch,
    })
}

/// Rotation whose columns are (right, up, right × up), as CesiumJS builds it.
fn rotation_from_up_right(up: DVec3, right: DVec3) -> Option<DQuat> {
    let up = up.try_normalize()?;
    let right = right.try_normalize()?;
    let forward = right.cross(up).try_normalize()?;
    // Re-orthogonalise so slightly off (quantized) inputs still give a rotation.
    let right = up.cross(forward);
    let q = DQuat::from_mat3(&DMat3::from_cols(right, up, forward)).normalize();
    q.is_finite().then_some(q)
}

/// East-north-up frame at an ECEF position on WGS84 (columns east, north, up); identity at the
/// centre of the Earth.
fn east_north_up_rotation(p: DVec3) -> DQuat {
    if p.length_squared() < 1.0 {
        return DQuat::IDENTITY;
    }
    let (lon, lat, _) = crate::georef::geodetic_from_ecef(p);
    let ecef_from_enu = crate::georef::enu_from_ecef_rotation(lon, lat).transpose();
    DQuat::from_mat3(&ecef_from_enu).normalize()
}

/// Oct-decodes one 2-component unit vector stored in `[0, range_max]` per component.
fn oct_decode(x: u16, y: u16, range_max: f64) -> DVec3 {
    let mut x = f64::from(x) / range_max * 2.0 - 1.0;
    let mut y = f64::from(y) / range_max * 2.0 - 1.0;
    let z = 1.0 - x.abs() - y.abs();
    if z < 0.0 {
        let old_x = x;
        x = (1.0 - y.abs()) * sign_not_zero(old_x);
        y = (1.0 - old_x.abs()) * sign_not_zero(y);
    }
    DVec3::new(x, y, z).normalize_or_zero()
}

fn sign_not_zero(v: f64) -> f64 {
    if v < 0.0 { -1.0 } else { 1.0 }
}

// ---------------------------------------------------------------------------------------------
// pnts

fn parse_pnts(bytes: &[u8]) -> Result<TileContent, ContentError> {
    const FORMAT: &str = "pnts";
    let w = read_header(bytes, FORMAT, 28)?;
    let ([ft_json, ft_bin, bt_json, bt_bin], _) = sections(
        bytes,
        FORMAT,
        28,
        [
            ("feature table JSON", w[3]),
            ("feature table binary", w[4]),
            ("batch table JSON", w[5]),
            ("batch table binary", w[6]),
        ],
    )?;
    let ft = Table::parse(FORMAT, "feature table", ft_json, ft_bin)?;
    let count = ft
        .global_u32("POINTS_LENGTH")?
        .ok_or(ContentError::MissingField {
            format: FORMAT,
            field: "POINTS_LENGTH",
        })? as usize;
    let rtc = ft.global_vec3("RTC_CENTER")?.map(DVec3::from_array);
    let positions = read_positions(&ft, count, rtc)?;

    let colors = if let Some(rgba) = ft.binary_property("RGBA", &[Ct::U8], 4, count)? {
        Some(
            rgba.chunks_exact(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect(),
        )
    } else if let Some(rgb) = ft.binary_property("RGB", &[Ct::U8], 3, count)? {
        Some(
            rgb.chunks_exact(3)
                .map(|c| [c[0], c[1], c[2], 255])
                .collect(),
        )
    } else if let Some(rgb565) = ft.binary_property("RGB565", &[Ct::U16], 1, count)? {
        Some(
            rgb565
                .chunks_exact(2)
                .map(|c| rgb565_to_rgba8(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
        )
    } else {
        ft.global_constant_rgba()?.map(|c| vec![c; count])
    };

    let batch_ids = read_batch_ids(&ft, count)?;
    let batch_length = if batch_ids.is_some() {
        ft.global_u32("BATCH_LENGTH")?
            .ok_or(ContentError::MissingField {
                format: FORMAT,
                field: "BATCH_LENGTH",
            })? as usize
    } else {
        count
    };
    if let Some(ids) = &batch_ids
        && let Some((i, id)) = ids
            .iter()
            .enumerate()
            .find(|(_, id)| **id as usize >= batch_length)
    {
        return Err(ContentError::InvalidField {
            format: FORMAT,
            section: "feature table",
            field: "BATCH_ID".into(),
            reason: format!("point {i} has batch ID {id}, not below BATCH_LENGTH {batch_length}"),
        });
    }
    let batch = parse_batch_table(FORMAT, bt_json, bt_bin, batch_length)?;
    Ok(TileContent::Points {
        positions,
        colors,
        batch_ids,
        batch,
    })
}

/// Expands 5-6-5 bits to 8 bits per channel, rounding to nearest.
fn rgb565_to_rgba8(v: u16) -> [u8; 4] {
    let r = u32::from((v >> 11) & 0x1f);
    let g = u32::from((v >> 5) & 0x3f);
    let b = u32::from(v & 0x1f);
    [
        ((r * 255 + 15) / 31) as u8,
        ((g * 255 + 31) / 63) as u8,
        ((b * 255 + 15) / 31) as u8,
        255,
    ]
}

// ---------------------------------------------------------------------------------------------
// cmpt

fn parse_cmpt(bytes: &[u8], depth: usize) -> Result<TileContent, ContentError> {
    const FORMAT: &str = "cmpt";
    if depth >= MAX_COMPOSITE_DEPTH {
        return Err(ContentError::TooDeep {
            limit: MAX_COMPOSITE_DEPTH,
        });
    }
    let w = read_header(bytes, FORMAT, 16)?;
    let tiles_length = w[3] as usize;
    // Each inner tile has at least a 12-byte header, which bounds the allocation.
    let mut tiles = Vec::with_capacity(tiles_length.min(bytes.len() / 12));
    let mut offset = 16;
    for index in 0..tiles_length {
        let inner = |source: ContentError| ContentError::InnerTile {
            index,
            offset,
            source: Box::new(source),
        };
        let Some(length) = le_u32(bytes, offset + 8) else {
            return Err(inner(ContentError::TooShort {
                format: "tile",
                needed: 12,
                actual: bytes.len().saturating_sub(offset),
            }));
        };
        let end = offset as u64 + u64::from(length);
        if end > bytes.len() as u64 {
            return Err(ContentError::SectionOutOfBounds {
                format: FORMAT,
                section: "inner tile",
                offset: offset as u64,
                length: u64::from(length),
                available: bytes.len(),
            });
        }
        let tile = parse_at_depth(&bytes[offset..end as usize], depth + 1).map_err(inner)?;
        tiles.push(tile);
        offset = end as usize;
    }
    Ok(TileContent::Composite(tiles))
}

// ---------------------------------------------------------------------------------------------
// Feature tables

/// Component types of feature and batch table binary properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ct {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Ct {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "BYTE" => Self::I8,
            "UNSIGNED_BYTE" => Self::U8,
            "SHORT" => Self::I16,
            "UNSIGNED_SHORT" => Self::U16,
            "INT" => Self::I32,
            "UNSIGNED_INT" => Self::U32,
            "FLOAT" => Self::F32,
            "DOUBLE" => Self::F64,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::I8 => "BYTE",
            Self::U8 => "UNSIGNED_BYTE",
            Self::I16 => "SHORT",
            Self::U16 => "UNSIGNED_SHORT",
            Self::I32 => "INT",
            Self::U32 => "UNSIGNED_INT",
            Self::F32 => "FLOAT",
            Self::F64 => "DOUBLE",
        }
    }

    fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    /// Reads one component from exactly `self.size()` bytes.
    fn read(self, b: &[u8]) -> PropertyValue {
        match self {
            Self::I8 => PropertyValue::Int(i64::from(b[0] as i8)),
            Self::U8 => PropertyValue::Int(i64::from(b[0])),
            Self::I16 => PropertyValue::Int(i64::from(i16::from_le_bytes([b[0], b[1]]))),
            Self::U16 => PropertyValue::Int(i64::from(u16::from_le_bytes([b[0], b[1]]))),
            Self::I32 => {
                PropertyValue::Int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            }
            Self::U32 => {
                PropertyValue::Int(i64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            }
            Self::F32 => {
                PropertyValue::Float(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            }
            Self::F64 => PropertyValue::Float(f64::from_le_bytes([
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
            ])),
        }
    }
}

/// A feature or batch table: JSON header plus binary body.
struct Table<'a> {
    format: &'static str,
    section: &'static str,
    /// JSON members in file order (batch table columns keep the order of the file).
    json: Vec<(String, Value)>,
    binary: &'a [u8],
}

impl<'a> Table<'a> {
    fn parse(
        format: &'static str,
        section: &'static str,
        json: &[u8],
        binary: &'a [u8],
    ) -> Result<Self, ContentError> {
        Ok(Self {
            format,
            section,
            json: parse_json_object(format, section, json)?,
            binary,
        })
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.json
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    fn invalid(&self, field: &str, reason: String) -> ContentError {
        ContentError::InvalidField {
            format: self.format,
            section: self.section,
            field: field.to_owned(),
            reason,
        }
    }

    /// Resolves a `{"byteOffset": n, "componentType": ...}` reference; the first allowed
    /// component type is the default.
    fn reference(
        &self,
        name: &str,
        value: &Value,
        allowed: &[Ct],
    ) -> Result<(u64, Ct), ContentError> {
        let Some(object) = value.as_object() else {
            return Err(self.invalid(
                name,
                format!("expected a {{\"byteOffset\": ...}} reference, found {value}"),
            ));
        };
        let offset = object
            .get("byteOffset")
            .and_then(Value::as_u64)
            .ok_or_else(|| self.invalid(name, "byteOffset is missing or not an integer".into()))?;
        let ct = match object.get("componentType") {
            None => allowed[0],
            Some(v) => {
                let ct = v
                    .as_str()
                    .and_then(Ct::parse)
                    .ok_or_else(|| self.invalid(name, format!("unknown componentType {v}")))?;
                if !allowed.contains(&ct) {
                    let names: Vec<_> = allowed.iter().map(|c| c.name()).collect();
                    return Err(self.invalid(
                        name,
                        format!("componentType {} is not one of {names:?}", ct.name()),
                    ));
                }
                ct
            }
        };
        Ok((offset, ct))
    }

    /// The bytes of `count` elements of `components` components at a reference.
    fn slice(
        &self,
        name: &str,
        offset: u64,
        ct: Ct,
        components: usize,
        count: usize,
    ) -> Result<&'a [u8], ContentError> {
        let needed = (count as u64)
            .saturating_mul(components as u64)
            .saturating_mul(ct.size() as u64);
        let end = offset.saturating_add(needed);
        if end > self.binary.len() as u64 {
            return Err(ContentError::PropertyOutOfBounds {
                format: self.format,
                section: self.section,
                field: name.to_owned(),
                offset,
                needed,
                available: self.binary.len(),
            });
        }
        Ok(&self.binary[offset as usize..end as usize])
    }

    /// A per-feature semantic stored in the binary body, with its component type.
    fn binary_typed(
        &self,
        name: &str,
        allowed: &[Ct],
        components: usize,
        count: usize,
    ) -> Result<Option<(Ct, &'a [u8])>, ContentError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let (offset, ct) = self.reference(name, value, allowed)?;
        Ok(Some((ct, self.slice(name, offset, ct, components, count)?)))
    }

    fn binary_property(
        &self,
        name: &str,
        allowed: &[Ct],
        components: usize,
        count: usize,
    ) -> Result<Option<&'a [u8]>, ContentError> {
        Ok(self
            .binary_typed(name, allowed, components, count)?
            .map(|(_, b)| b))
    }

    /// A global semantic of `N` numbers: inline JSON (a number or an array) or a reference to
    /// `N` components in the binary body.
    fn global_numbers<const N: usize>(
        &self,
        name: &str,
        ct: Ct,
    ) -> Result<Option<[f64; N]>, ContentError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let mut out = [0.0; N];
        match value {
            Value::Number(n) if N == 1 => {
                out[0] = n
                    .as_f64()
                    .ok_or_else(|| self.invalid(name, format!("{n} is not a number")))?;
            }
            Value::Array(items) => {
                if items.len() != N {
                    return Err(
                        self.invalid(name, format!("expected {N} numbers, found {}", items.len()))
                    );
                }
                for (slot, item) in out.iter_mut().zip(items) {
                    *slot = item
                        .as_f64()
                        .ok_or_else(|| self.invalid(name, format!("{item} is not a number")))?;
                }
            }
            Value::Object(_) => {
                let (offset, ct) = self.reference(name, value, &[ct])?;
                let bytes = self.slice(name, offset, ct, N, 1)?;
                for (slot, b) in out.iter_mut().zip(bytes.chunks_exact(ct.size())) {
                    *slot = match ct.read(b) {
                        PropertyValue::Int(i) => i as f64,
                        PropertyValue::Float(f) => f,
                        _ => 0.0,
                    };
                }
            }
            other => {
                return Err(self.invalid(name, format!("unexpected value {other}")));
            }
        }
        Ok(Some(out))
    }

    fn global_u32(&self, name: &str) -> Result<Option<u32>, ContentError> {
        let Some([v]) = self.global_numbers::<1>(name, Ct::U32)? else {
            return Ok(None);
        };
        if v < 0.0 || v > f64::from(u32::MAX) || v.fract() != 0.0 {
            return Err(self.invalid(name, format!("{v} is not an unsigned 32-bit integer")));
        }
        Ok(Some(v as u32))
    }

    fn global_vec3(&self, name: &str) -> Result<Option<[f64; 3]>, ContentError> {
        let v = self.global_numbers::<3>(name, Ct::F32)?;
        if let Some(v) = v
            && v.iter().any(|c| !c.is_finite())
        {
            return Err(self.invalid(name, format!("{v:?} is not finite")));
        }
        Ok(v)
    }

    fn global_constant_rgba(&self) -> Result<Option<[u8; 4]>, ContentError> {
        const NAME: &str = "CONSTANT_RGBA";
        let Some(v) = self.global_numbers::<4>(NAME, Ct::U8)? else {
            return Ok(None);
        };
        let mut out = [0u8; 4];
        for (slot, c) in out.iter_mut().zip(v) {
            if !(0.0..=255.0).contains(&c) || c.fract() != 0.0 {
                return Err(self.invalid(NAME, format!("{v:?} is not four bytes")));
            }
            *slot = c as u8;
        }
        Ok(Some(out))
    }

    fn global_bool(&self, name: &str) -> Result<Option<bool>, ContentError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => {
                Err(self.invalid(name, format!("expected true or false, found {other}")))
            }
        }
    }
}

fn parse_json_object(
    format: &'static str,
    section: &'static str,
    bytes: &[u8],
) -> Result<Vec<(String, Value)>, ContentError> {
    // The spec pads with spaces; some writers pad with NULs.
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\0' | b'\t' | b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    if end == 0 {
        return Ok(Vec::new());
    }
    serde_json::from_slice::<OrderedObject>(&bytes[..end])
        .map(|o| o.0)
        .map_err(|source| ContentError::Json {
            format,
            section,
            source,
        })
}

/// A JSON object whose members keep their file order.
struct OrderedObject(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OrderedObject;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedObject, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(OrderedObject(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

fn f32_at(c: &[u8]) -> f64 {
    f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

fn u16_at(c: &[u8]) -> u16 {
    u16::from_le_bytes([c[0], c[1]])
}

/// `POSITION` (float) or `POSITION_QUANTIZED` (+ volume offset and scale), plus `RTC_CENTER`.
fn read_positions(
    ft: &Table<'_>,
    count: usize,
    rtc: Option<DVec3>,
) -> Result<Vec<[f64; 3]>, ContentError> {
    let rtc = rtc.unwrap_or(DVec3::ZERO);
    if let Some(bytes) = ft.binary_property("POSITION", &[Ct::F32], 3, count)? {
        return Ok(bytes
            .chunks_exact(12)
            .map(|c| (DVec3::new(f32_at(c), f32_at(&c[4..]), f32_at(&c[8..])) + rtc).to_array())
            .collect());
    }
    if let Some(bytes) = ft.binary_property("POSITION_QUANTIZED", &[Ct::U16], 3, count)? {
        let missing = |field| ContentError::MissingField {
            format: ft.format,
            field,
        };
        let offset = ft
            .global_vec3("QUANTIZED_VOLUME_OFFSET")?
            .ok_or(missing("QUANTIZED_VOLUME_OFFSET"))?;
        let scale = ft
            .global_vec3("QUANTIZED_VOLUME_SCALE")?
            .ok_or(missing("QUANTIZED_VOLUME_SCALE"))?;
        let offset = DVec3::from_array(offset) + rtc;
        let step = DVec3::from_array(scale) / 65535.0;
        return Ok(bytes
            .chunks_exact(6)
            .map(|c| {
                let q = DVec3::new(
                    f64::from(u16_at(c)),
                    f64::from(u16_at(&c[2..])),
                    f64::from(u16_at(&c[4..])),
                );
                (offset + q * step).to_array()
            })
            .collect());
    }
    Err(ContentError::MissingField {
        format: ft.format,
        field: "POSITION or POSITION_QUANTIZED",
    })
}

fn read_vec3_f32(
    ft: &Table<'_>,
    name: &str,
    count: usize,
) -> Result<Option<Vec<DVec3>>, ContentError> {
    Ok(ft.binary_property(name, &[Ct::F32], 3, count)?.map(|b| {
        b.chunks_exact(12)
            .map(|c| DVec3::new(f32_at(c), f32_at(&c[4..]), f32_at(&c[8..])))
            .collect()
    }))
}

fn read_scalar_f32(
    ft: &Table<'_>,
    name: &str,
    count: usize,
) -> Result<Option<Vec<f64>>, ContentError> {
    Ok(ft
        .binary_property(name, &[Ct::F32], 1, count)?
        .map(|b| b.chunks_exact(4).map(f32_at).collect()))
}

fn read_oct32p(
    ft: &Table<'_>,
    name: &str,
    count: usize,
) -> Result<Option<Vec<DVec3>>, ContentError> {
    Ok(ft.binary_property(name, &[Ct::U16], 2, count)?.map(|b| {
        b.chunks_exact(4)
            .map(|c| oct_decode(u16_at(c), u16_at(&c[2..]), 65535.0))
            .collect()
    }))
}

fn read_batch_ids(ft: &Table<'_>, count: usize) -> Result<Option<Vec<u32>>, ContentError> {
    let Some((ct, bytes)) = ft.binary_typed("BATCH_ID", &[Ct::U16, Ct::U8, Ct::U32], 1, count)?
    else {
        return Ok(None);
    };
    Ok(Some(match ct {
        Ct::U8 => bytes.iter().map(|b| u32::from(*b)).collect(),
        Ct::U16 => bytes
            .chunks_exact(2)
            .map(|c| u32::from(u16_at(c)))
            .collect(),
        _ => bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Batch tables

/// Reads a batch table into `count` rows; `None` when the tile has none (or an empty one).
fn parse_batch_table(
    format: &'static str,
    json: &[u8],
    binary: &[u8],
    count: usize,
) -> Result<Option<PropertyTable>, ContentError> {
    let table = Table::parse(format, "batch table", json, binary)?;
    let mut columns = Vec::new();
    for (name, value) in &table.json {
        // `extensions` holds 3DTILES_batch_table_hierarchy, which is not supported; `extras`
        // is application data, not a property.
        if name == "extensions" || name == "extras" {
            continue;
        }
        let values = match value {
            Value::Array(items) => {
                if items.len() != count {
                    return Err(table.invalid(
                        name,
                        format!("has {} values but the batch length is {count}", items.len()),
                    ));
                }
                items.iter().map(json_to_property).collect()
            }
            Value::Object(object) => {
                let components = match object.get("type").and_then(Value::as_str) {
                    Some("SCALAR") => 1,
                    Some("VEC2") => 2,
                    Some("VEC3") => 3,
                    Some("VEC4") => 4,
                    other => {
                        return Err(table.invalid(
                            name,
                            format!("type {other:?} is not SCALAR, VEC2, VEC3 or VEC4"),
                        ));
                    }
                };
                if object.get("componentType").is_none() {
                    return Err(table.invalid(name, "binary property has no componentType".into()));
                }
                let all = [
                    Ct::F32,
                    Ct::I8,
                    Ct::U8,
                    Ct::I16,
                    Ct::U16,
                    Ct::I32,
                    Ct::U32,
                    Ct::F64,
                ];
                let (offset, ct) = table.reference(name, value, &all)?;
                let bytes = table.slice(name, offset, ct, components, count)?;
                let elements = bytes.chunks_exact(ct.size() * components);
                if components == 1 {
                    elements.map(|e| ct.read(e)).collect()
                } else {
                    elements
                        .map(|e| {
                            PropertyValue::Array(
                                e.chunks_exact(ct.size()).map(|c| ct.read(c)).collect(),
                            )
                        })
                        .collect()
                }
            }
            other => {
                return Err(table.invalid(
                    name,
                    format!("expected an array or a binary reference, found {other}"),
                ));
            }
        };
        columns.push(PropertyColumn {
            name: name.clone(),
            values,
        });
    }
    if columns.is_empty() {
        return Ok(None);
    }
    Ok(Some(PropertyTable {
        class: "batch".to_owned(),
        count,
        columns,
    }))
}

/// Integers stay integers, other numbers become floats, objects keep their JSON text.
fn json_to_property(value: &Value) -> PropertyValue {
    match value {
        Value::Null => PropertyValue::Null,
        Value::Bool(b) => PropertyValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => PropertyValue::Int(i),
            None => PropertyValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => PropertyValue::Text(s.clone()),
        Value::Array(items) => PropertyValue::Array(items.iter().map(json_to_property).collect()),
        Value::Object(_) => PropertyValue::Text(value.to_string()),
    }
}

fn property_to_json(value: &PropertyValue) -> Value {
    match value {
        PropertyValue::Null => Value::Null,
        PropertyValue::Bool(b) => Value::Bool(*b),
        PropertyValue::Int(i) => json!(i),
        // Not-finite floats have no JSON form and become null.
        PropertyValue::Float(f) => json!(f),
        PropertyValue::Text(s) => Value::String(s.clone()),
        PropertyValue::Array(items) => Value::Array(items.iter().map(property_to_json).collect()),
    }
}

// ---------------------------------------------------------------------------------------------
// Writers

/// Builds a feature table (JSON header + binary body) for [`write_i3dm`] and [`write_pnts`].
///
/// Binary properties are placed 8-byte aligned and written with their `componentType`, so the
/// output is what a spec-following writer produces; nothing is validated, so tests can also
/// build tiles that lie.
#[derive(Clone, Debug, Default)]
pub struct FeatureTableWriter {
    json: Map<String, Value>,
    binary: Vec<u8>,
}

/// Values of one binary feature table property, with their component type.
#[derive(Clone, Copy, Debug)]
pub enum BinaryValues<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    F32(&'a [f32]),
}

impl FeatureTableWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a global semantic inline, e.g. `("POINTS_LENGTH", json!(3))`.
    pub fn global(&mut self, name: &str, value: Value) -> &mut Self {
        self.json.insert(name.to_owned(), value);
        self
    }

    /// Appends values to the binary body and references them from the JSON header.
    pub fn binary(&mut self, name: &str, values: BinaryValues<'_>) -> &mut Self {
        pad_to(&mut self.binary, 8, 0);
        let offset = self.binary.len();
        let component_type = match values {
            BinaryValues::U8(v) => {
                self.binary.extend_from_slice(v);
                "UNSIGNED_BYTE"
            }
            BinaryValues::U16(v) => {
                self.binary.extend(v.iter().flat_map(|x| x.to_le_bytes()));
                "UNSIGNED_SHORT"
            }
            BinaryValues::U32(v) => {
                self.binary.extend(v.iter().flat_map(|x| x.to_le_bytes()));
                "UNSIGNED_INT"
            }
            BinaryValues::F32(v) => {
                self.binary.extend(v.iter().flat_map(|x| x.to_le_bytes()));
                "FLOAT"
            }
        };
        self.json.insert(
            name.to_owned(),
            json!({ "byteOffset": offset, "componentType": component_type }),
        );
        self
    }
}

fn pad_to(bytes: &mut Vec<u8>, alignment: usize, fill: u8) {
    let rem = bytes.len() % alignment;
    if rem != 0 {
        bytes.resize(bytes.len() + alignment - rem, fill);
    }
}

/// The batch table JSON of a property table: one JSON array per column, in column order.
fn batch_table_json(batch: &PropertyTable) -> Vec<u8> {
    let members: Vec<String> = batch
        .columns
        .iter()
        .map(|c| {
            let values = Value::Array(c.values.iter().map(property_to_json).collect());
            format!("{}:{values}", Value::String(c.name.clone()))
        })
        .collect();
    format!("{{{}}}", members.join(",")).into_bytes()
}

/// Assembles header + feature table + batch table + body with the 3D Tiles 1.0 padding: JSON
/// padded with spaces and binary with zeros so every section starts 8-byte aligned from the
/// start of the tile, and the tile length is a multiple of 8.
fn assemble(
    magic: &[u8; 4],
    header_extra: &[u32],
    feature_json: Vec<u8>,
    feature_binary: &[u8],
    batch_json: Vec<u8>,
    body: &[u8],
    body_fill: u8,
) -> Vec<u8> {
    let header_len = 12 + 16 + 4 * header_extra.len();
    let mut ft_json = feature_json;
    pad_to_from(&mut ft_json, header_len, b' ');
    let mut ft_bin = feature_binary.to_vec();
    pad_to(&mut ft_bin, 8, 0);
    let mut bt_json = batch_json;
    if !bt_json.is_empty() {
        pad_to_from(
            &mut bt_json,
            header_len + ft_json.len() + ft_bin.len(),
            b' ',
        );
    }
    let mut body = body.to_vec();
    pad_to(&mut body, 8, body_fill);

    let total = header_len + ft_json.len() + ft_bin.len() + bt_json.len() + body.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(magic);
    // 3D Tiles lengths are u32: a tile over 4 GiB cannot be expressed and gets a saturated
    // length that readers reject.
    let total_u32 = u32::try_from(total).unwrap_or(u32::MAX);
    for word in [
        1,
        total_u32,
        ft_json.len() as u32,
        ft_bin.len() as u32,
        bt_json.len() as u32,
        0,
    ]
    .iter()
    .chain(header_extra)
    {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(&ft_json);
    out.extend_from_slice(&ft_bin);
    out.extend_from_slice(&bt_json);
    out.extend_from_slice(&body);
    out
}

/// Pads `bytes` (which will start at `start` in the tile) so that it ends 8-byte aligned.
fn pad_to_from(bytes: &mut Vec<u8>, start: usize, fill: u8) {
    let rem = (start + bytes.len()) % 8;
    if rem != 0 {
        bytes.resize(bytes.len() + 8 - rem, fill);
    }
}

/// Wraps a GLB into a b3dm tile with `BATCH_LENGTH` (the batch table's row count, or 0),
/// an optional `RTC_CENTER` and the batch table as JSON arrays.
pub fn write_b3dm(
    glb: &[u8],
    batch: Option<&PropertyTable>,
    rtc_center: Option<[f64; 3]>,
) -> Vec<u8> {
    let mut ft = Map::new();
    ft.insert("BATCH_LENGTH".into(), json!(batch.map_or(0, |b| b.count)));
    if let Some(c) = rtc_center {
        ft.insert("RTC_CENTER".into(), json!(c));
    }
    let ft_json = Value::Object(ft).to_string().into_bytes();
    let bt_json = batch.map(batch_table_json).unwrap_or_default();
    assemble(b"b3dm", &[], ft_json, &[], bt_json, glb, 0)
}

/// Writes an i3dm tile from a feature table (which must hold `INSTANCES_LENGTH` and the
/// per-instance semantics), an optional batch table and the model (embedded GLB or URI).
pub fn write_i3dm(
    feature_table: &FeatureTableWriter,
    batch: Option<&PropertyTable>,
    model: &InstanceModel,
) -> Vec<u8> {
    let ft_json = Value::Object(feature_table.json.clone())
        .to_string()
        .into_bytes();
    let bt_json = batch.map(batch_table_json).unwrap_or_default();
    let (format, body, fill) = match model {
        InstanceModel::Embedded(glb) => (1, glb.as_slice(), 0),
        InstanceModel::Uri(uri) => (0, uri.as_bytes(), b' '),
    };
    assemble(
        b"i3dm",
        &[format],
        ft_json,
        &feature_table.binary,
        bt_json,
        body,
        fill,
    )
}

/// Writes a pnts tile from a feature table (which must hold `POINTS_LENGTH` and positions) and
/// an optional batch table.
pub fn write_pnts(feature_table: &FeatureTableWriter, batch: Option<&PropertyTable>) -> Vec<u8> {
    let ft_json = Value::Object(feature_table.json.clone())
        .to_string()
        .into_bytes();
    let bt_json = batch.map(batch_table_json).unwrap_or_default();
    assemble(
        b"pnts",
        &[],
        ft_json,
        &feature_table.binary,
        bt_json,
        &[],
        0,
    )
}

/// Writes a cmpt tile around already written tiles (each a multiple of 8 bytes long, as the
/// writers of this module produce them).
pub fn write_cmpt(tiles: &[&[u8]]) -> Vec<u8> {
    let total = 16 + tiles.iter().map(|t| t.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"cmpt");
    let total_u32 = u32::try_from(total).unwrap_or(u32::MAX);
    for word in [1, total_u32, tiles.len() as u32] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    for tile in tiles {
        out.extend_from_slice(tile);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Reads a file of the shared sample data, or says why the test is skipped.
    fn shared_data(relative: &str) -> Option<Vec<u8>> {
        let bases = [
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
            PathBuf::from("/work/shared/data"),
        ];
        for base in bases {
            if let Ok(bytes) = std::fs::read(base.join(relative)) {
                return Some(bytes);
            }
        }
        eprintln!("skipping: shared data {relative} not found");
        None
    }

    fn box_glb() -> Option<Vec<u8>> {
        shared_data("gltf/BoxTextured.glb")
    }

    fn buildings_table(count: usize) -> PropertyTable {
        PropertyTable {
            class: "batch".into(),
            count,
            columns: vec![
                PropertyColumn {
                    name: "name".into(),
                    values: (0..count)
                        .map(|i| PropertyValue::Text(format!("building {i}")))
                        .collect(),
                },
                PropertyColumn {
                    name: "height".into(),
                    values: (0..count)
                        .map(|i| PropertyValue::Float(10.0 + i as f64 * 2.5))
                        .collect(),
                },
                PropertyColumn {
                    name: "floors".into(),
                    values: (0..count)
                        .map(|i| PropertyValue::Int(i as i64 + 1))
                        .collect(),
                },
                PropertyColumn {
                    name: "tags".into(),
                    values: (0..count)
                        .map(|i| {
                            if i == 0 {
                                PropertyValue::Null
                            } else {
                                PropertyValue::Array(vec![
                                    PropertyValue::Text("listed".into()),
                                    PropertyValue::Bool(i % 2 == 0),
                                ])
                            }
                        })
                        .collect(),
                },
            ],
        }
    }

    fn assert_aligned_tile(tile: &[u8]) {
        assert_eq!(
            tile.len() % 8,
            0,
            "tile length {} is not 8-aligned",
            tile.len()
        );
        assert_eq!(le_u32(tile, 8), Some(tile.len() as u32));
    }

    fn error_text(bytes: &[u8]) -> String {
        match parse_content(bytes) {
            Ok(content) => panic!("expected an error, parsed {content:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn b3dm_round_trips_glb_batch_table_and_rtc_center() {
        let Some(glb) = box_glb() else { return };
        let table = buildings_table(10);
        let rtc = [
            1_214_914.552_504_114_6,
            -4_736_388.031_625_768,
            4_081_548.040_758_888,
        ];
        let tile = write_b3dm(&glb, Some(&table), Some(rtc));
        assert_aligned_tile(&tile);
        // The GLB starts 8-byte aligned.
        let body_start = tile.len() - glb.len().next_multiple_of(8);
        assert_eq!(body_start % 8, 0);
        assert_eq!(&tile[body_start..body_start + 4], b"glTF");

        let TileContent::Model {
            glb: parsed,
            rtc_center,
            batch,
            batch_length,
        } = parse_content(&tile).expect("parse")
        else {
            panic!("not a model");
        };
        assert_eq!(parsed, glb);
        assert_eq!(rtc_center, Some(rtc));
        assert_eq!(batch_length, 10);
        assert_eq!(batch, Some(table));
    }

    #[test]
    fn b3dm_wraps_the_real_building_glb_unchanged() {
        let Some(glb) = shared_data("gltf/building_blendswap_45211.glb") else {
            return;
        };
        let tile = write_b3dm(&glb, None, None);
        let Ok(TileContent::Model {
            glb: parsed,
            batch: None,
            batch_length: 0,
            rtc_center: None,
        }) = parse_content(&tile)
        else {
            panic!("unexpected content");
        };
        assert_eq!(parsed.len(), 3_665_320);
        assert_eq!(parsed, glb);
    }

    #[test]
    fn b3dm_batch_table_binary_properties_and_json_objects() {
        let Some(glb) = box_glb() else { return };
        let ft = br#"{"BATCH_LENGTH":2}"#;
        let bt = br#"{"code":{"byteOffset":0,"componentType":"UNSIGNED_SHORT","type":"SCALAR"},"centre":{"byteOffset":8,"componentType":"DOUBLE","type":"VEC2"},"meta":[{"a":1},{"b":[2]}],"extensions":{"3DTILES_batch_table_hierarchy":{}}}"#;
        let mut bt_bin = Vec::new();
        bt_bin.extend_from_slice(&7u16.to_le_bytes());
        bt_bin.extend_from_slice(&65535u16.to_le_bytes());
        bt_bin.resize(8, 0);
        for v in [1.5f64, -2.0, 3.25, 4.0] {
            bt_bin.extend_from_slice(&v.to_le_bytes());
        }
        let tile = raw_b3dm(ft, &[], bt, &bt_bin, &glb);
        let Ok(TileContent::Model {
            batch: Some(batch), ..
        }) = parse_content(&tile)
        else {
            panic!("no batch table");
        };
        let names: Vec<_> = batch.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["code", "centre", "meta"],
            "extensions skipped, file order kept"
        );
        assert_eq!(
            batch.column("code").map(|c| c.values.clone()),
            Some(vec![PropertyValue::Int(7), PropertyValue::Int(65535)])
        );
        assert_eq!(
            batch.row(1)[1].1,
            &PropertyValue::Array(vec![PropertyValue::Float(3.25), PropertyValue::Float(4.0)])
        );
        assert_eq!(batch.row(0)[2].1, &PropertyValue::Text(r#"{"a":1}"#.into()));
    }

    /// A current-layout b3dm from raw sections, each padded to keep 8-byte alignment.
    fn raw_b3dm(ft: &[u8], ft_bin: &[u8], bt: &[u8], bt_bin: &[u8], glb: &[u8]) -> Vec<u8> {
        let mut sections = Vec::new();
        let mut lengths = Vec::new();
        for (bytes, fill) in [(ft, b' '), (ft_bin, 0), (bt, b' '), (bt_bin, 0)] {
            let mut b = bytes.to_vec();
            pad_to_from(&mut b, 28 + sections.len(), fill);
            lengths.push(b.len() as u32);
            sections.extend_from_slice(&b);
        }
        let mut out = b"b3dm".to_vec();
        let total = 28 + sections.len() + glb.len();
        for w in [
            1,
            total as u32,
            lengths[0],
            lengths[1],
            lengths[2],
            lengths[3],
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&sections);
        out.extend_from_slice(glb);
        out
    }

    #[test]
    fn legacy_b3dm_headers_are_recognised() {
        let Some(glb) = box_glb() else { return };
        let bt = br#"{"id":[4,5,6]}"#;
        // Legacy 1: magic, version, byteLength, batchLength, batchTableByteLength.
        let mut legacy1 = b"b3dm".to_vec();
        let total = 20 + bt.len() + glb.len();
        for w in [1, total as u32, 3, bt.len() as u32] {
            legacy1.extend_from_slice(&w.to_le_bytes());
        }
        legacy1.extend_from_slice(bt);
        legacy1.extend_from_slice(&glb);
        // Legacy 2: ..., batchTableJsonByteLength, batchTableBinaryByteLength, batchLength.
        let mut legacy2 = b"b3dm".to_vec();
        let total = 24 + bt.len() + glb.len();
        for w in [1, total as u32, bt.len() as u32, 0, 3] {
            legacy2.extend_from_slice(&w.to_le_bytes());
        }
        legacy2.extend_from_slice(bt);
        legacy2.extend_from_slice(&glb);

        for tile in [legacy1, legacy2] {
            let Ok(TileContent::Model {
                glb: parsed,
                batch: Some(batch),
                batch_length: 3,
                rtc_center: None,
            }) = parse_content(&tile)
            else {
                panic!("legacy b3dm not parsed: {:?}", parse_content(&tile).err());
            };
            assert_eq!(parsed, glb);
            assert_eq!(
                batch.column("id").map(|c| c.values.clone()),
                Some(vec![
                    PropertyValue::Int(4),
                    PropertyValue::Int(5),
                    PropertyValue::Int(6)
                ])
            );
        }
    }

    #[test]
    fn every_real_tile_of_the_request_volume_tileset_parses() {
        for name in ["ll", "lr", "ul", "ur"] {
            let Some(bytes) = shared_data(&format!(
                "3dtiles/cesium_TilesetWithRequestVolume/city/{name}.b3dm"
            )) else {
                return;
            };
            let Ok(TileContent::Model {
                glb,
                rtc_center: Some(rtc),
                batch: Some(batch),
                batch_length: 10,
            }) = parse_content(&bytes)
            else {
                panic!("city/{name}.b3dm: {:?}", parse_content(&bytes).err());
            };
            assert_eq!(&glb[..4], b"glTF");
            assert_eq!(le_u32(&glb, 8), Some(glb.len() as u32));
            // ECEF somewhere on Earth.
            let r = DVec3::from_array(rtc).length();
            assert!((6.3e6..6.4e6).contains(&r), "RTC_CENTER {rtc:?}");
            let names: Vec<_> = batch.columns.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["id", "Longitude", "Latitude", "Height"]);
            assert_eq!(batch.count, 10);
            let ids = &batch.columns[0].values;
            assert_eq!(ids, &(0..10).map(PropertyValue::Int).collect::<Vec<_>>());
            assert!(
                batch.columns[3]
                    .values
                    .iter()
                    .all(|v| matches!(v, PropertyValue::Float(h) if (0.0..100.0).contains(h)))
            );
        }

        let Some(building) = shared_data("3dtiles/cesium_TilesetWithRequestVolume/building.b3dm")
        else {
            return;
        };
        let Ok(TileContent::Model {
            glb,
            rtc_center: None,
            batch: None,
            batch_length: 0,
        }) = parse_content(&building)
        else {
            panic!("building.b3dm");
        };
        assert_eq!(glb.len(), 3_665_320);
        if let Some(cut) = shared_data("gltf/building_blendswap_45211.glb") {
            assert_eq!(glb, cut);
        }

        let Some(points) = shared_data("3dtiles/cesium_TilesetWithRequestVolume/points.pnts")
        else {
            return;
        };
        let Ok(TileContent::Points {
            positions,
            colors: Some(colors),
            batch_ids: None,
            batch: None,
        }) = parse_content(&points)
        else {
            panic!("points.pnts: {:?}", parse_content(&points).err());
        };
        assert_eq!(positions.len(), 125_000);
        assert_eq!(colors.len(), 125_000);
        assert!(positions.iter().flatten().all(|c| c.is_finite()));
        // RGB comes straight from the binary body: 28-byte header + 88 bytes of JSON + 1.5 MB.
        let rgb = 28 + 88 + 1_500_000;
        assert_eq!(
            colors[0],
            [points[rgb], points[rgb + 1], points[rgb + 2], 255]
        );
        let last = rgb + 3 * 124_999;
        assert_eq!(
            colors[124_999],
            [points[last], points[last + 1], points[last + 2], 255]
        );
    }

    fn i3dm_with_normals(glb: &[u8]) -> Vec<u8> {
        let mut ft = FeatureTableWriter::new();
        ft.global("INSTANCES_LENGTH", json!(3))
            .global("RTC_CENTER", json!([1000.0, 2000.0, 3000.0]))
            .binary(
                "POSITION",
                BinaryValues::F32(&[0.0, 0.0, 0.0, 1.5, -2.25, 8.0, -100.0, 0.5, 0.125]),
            )
            .binary(
                "NORMAL_UP",
                BinaryValues::F32(&[0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0]),
            )
            .binary(
                "NORMAL_RIGHT",
                BinaryValues::F32(&[1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]),
            )
            .binary("SCALE", BinaryValues::F32(&[1.0, 2.0, 0.5]))
            .binary(
                "SCALE_NON_UNIFORM",
                BinaryValues::F32(&[1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 4.0, 4.0]),
            )
            .binary("BATCH_ID", BinaryValues::U8(&[2, 0, 1]));
        write_i3dm(
            &ft,
            Some(&buildings_table(3)),
            &InstanceModel::Embedded(glb.to_vec()),
        )
    }

    #[test]
    fn i3dm_with_float_positions_normals_scales_and_batch_ids() {
        let Some(glb) = box_glb() else { return };
        let tile = i3dm_with_normals(&glb);
        assert_aligned_tile(&tile);
        let Ok(TileContent::Instances {
            model: InstanceModel::Embedded(parsed),
            instances,
            batch,
        }) = parse_content(&tile)
        else {
            panic!("{:?}", parse_content(&tile).err());
        };
        assert_eq!(parsed, glb);
        assert_eq!(batch, Some(buildings_table(3)));
        let positions: Vec<_> = instances.iter().map(|i| i.position).collect();
        assert_eq!(
            positions,
            [
                [1000.0, 2000.0, 3000.0],
                [1001.5, 1997.75, 3008.0],
                [900.0, 2000.5, 3000.125]
            ]
        );
        let scales: Vec<_> = instances.iter().map(|i| i.scale).collect();
        assert_eq!(scales, [[1.0, 1.0, 1.0], [2.0, 4.0, 6.0], [2.0, 2.0, 2.0]]);
        let ids: Vec<_> = instances.iter().map(|i| i.batch_id).collect();
        assert_eq!(ids, [Some(2), Some(0), Some(1)]);
        assert!(instances[0].rotation.abs_diff_eq(DQuat::IDENTITY, 1e-12));
        // Up = +Z, right = +X: the model's +Y turns to +Z and its +Z to -Y.
        let r = instances[1].rotation;
        assert!((r * DVec3::Y).abs_diff_eq(DVec3::Z, 1e-12));
        assert!((r * DVec3::X).abs_diff_eq(DVec3::X, 1e-12));
        assert!((r * DVec3::Z).abs_diff_eq(-DVec3::Y, 1e-12));
    }

    fn quantized_i3dm() -> Vec<u8> {
        let mut ft = FeatureTableWriter::new();
        ft.global("INSTANCES_LENGTH", json!(3))
            .global("QUANTIZED_VOLUME_OFFSET", json!([-10.0, 20.0, 0.0]))
            .global("QUANTIZED_VOLUME_SCALE", json!([65535.0, 131070.0, 6553.5]))
            .binary(
                "POSITION_QUANTIZED",
                BinaryValues::U16(&[0, 0, 0, 65535, 65535, 65535, 100, 200, 300]),
            )
            .binary(
                "NORMAL_UP_OCT32P",
                BinaryValues::U16(&[32768, 65535, 65535, 32768, 32768, 32768]),
            )
            .binary(
                "NORMAL_RIGHT_OCT32P",
                BinaryValues::U16(&[65535, 32768, 32768, 65535, 32768, 0]),
            );
        write_i3dm(&ft, None, &InstanceModel::Uri("models/tree.glb".into()))
    }

    #[test]
    fn i3dm_with_quantized_positions_and_oct_normals() {
        let tile = quantized_i3dm();
        assert_aligned_tile(&tile);
        let Ok(TileContent::Instances {
            model: InstanceModel::Uri(uri),
            instances,
            batch: None,
        }) = parse_content(&tile)
        else {
            panic!("{:?}", parse_content(&tile).err());
        };
        assert_eq!(uri, "models/tree.glb");
        let positions: Vec<_> = instances.iter().map(|i| i.position).collect();
        assert_eq!(
            positions,
            [
                [-10.0, 20.0, 0.0],
                [65525.0, 131090.0, 6553.5],
                [90.0, 420.0, 30.0]
            ]
        );
        assert!(
            instances
                .iter()
                .all(|i| i.batch_id.is_none() && i.scale == [1.0; 3])
        );
        // Instance 0: up (0, 1, 0), right (1, 0, 0): identity, to oct precision.
        assert!(instances[0].rotation.abs_diff_eq(DQuat::IDENTITY, 1e-4));
        // Instance 1: up (1, 0, 0), right (0, 1, 0).
        let r = instances[1].rotation;
        assert!((r * DVec3::Y).abs_diff_eq(DVec3::X, 1e-4));
        assert!((r * DVec3::X).abs_diff_eq(DVec3::Y, 1e-4));
        // Instance 2: up (0, 0, 1) (oct centre), right (0, -1, 0).
        let r = instances[2].rotation;
        assert!((r * DVec3::Y).abs_diff_eq(DVec3::Z, 1e-4));
        assert!((r * DVec3::X).abs_diff_eq(-DVec3::Y, 1e-4));
    }

    #[test]
    fn i3dm_east_north_up_orients_instances_on_wgs84() {
        let mut ft = FeatureTableWriter::new();
        ft.global("INSTANCES_LENGTH", json!(2))
            .global("EAST_NORTH_UP", json!(true))
            .global("RTC_CENTER", json!([6_378_137.0, 0.0, 0.0]))
            .binary("POSITION", BinaryValues::F32(&[0.0; 6]))
            .binary("BATCH_ID", BinaryValues::U16(&[0, 1]));
        let tile = write_i3dm(&ft, None, &InstanceModel::Uri("a.glb".into()));
        let Ok(TileContent::Instances { instances, .. }) = parse_content(&tile) else {
            panic!("{:?}", parse_content(&tile).err());
        };
        // At longitude 0 on the equator east is +Y, north +Z and up +X.
        let r = instances[0].rotation;
        assert!((r * DVec3::X).abs_diff_eq(DVec3::Y, 1e-12));
        assert!((r * DVec3::Y).abs_diff_eq(DVec3::Z, 1e-12));
        assert!((r * DVec3::Z).abs_diff_eq(DVec3::X, 1e-12));
        assert_eq!(instances[1].batch_id, Some(1));
    }

    fn quantized_rgb565_pnts() -> Vec<u8> {
        let mut ft = FeatureTableWriter::new();
        ft.global("POINTS_LENGTH", json!(4))
            .global("BATCH_LENGTH", json!(2))
            .global("RTC_CENTER", json!([100.0, 200.0, 300.0]))
            .global("QUANTIZED_VOLUME_OFFSET", json!([1.0, 2.0, 3.0]))
            .global("QUANTIZED_VOLUME_SCALE", json!([65535.0, 65535.0, 65535.0]))
            .global("CONSTANT_RGBA", json!([1, 2, 3, 4]))
            .binary(
                "POSITION_QUANTIZED",
                BinaryValues::U16(&[0, 0, 0, 1, 2, 3, 65535, 0, 10, 7, 7, 7]),
            )
            .binary(
                "RGB565",
                BinaryValues::U16(&[0xF800, 0x07E0, 0x001F, (16 << 11) | (32 << 5) | 16]),
            )
            .binary("BATCH_ID", BinaryValues::U32(&[0, 1, 1, 0]));
        write_pnts(&ft, Some(&buildings_table(2)))
    }

    #[test]
    fn pnts_with_quantized_positions_rgb565_and_batch_ids() {
        let tile = quantized_rgb565_pnts();
        assert_aligned_tile(&tile);
        let Ok(TileContent::Points {
            positions,
            colors,
            batch_ids,
            batch,
        }) = parse_content(&tile)
        else {
            panic!("{:?}", parse_content(&tile).err());
        };
        assert_eq!(
            positions,
            [
                [101.0, 202.0, 303.0],
                [102.0, 204.0, 306.0],
                [65636.0, 202.0, 313.0],
                [108.0, 209.0, 310.0]
            ]
        );
        // RGB565 takes precedence over CONSTANT_RGBA.
        assert_eq!(
            colors,
            Some(vec![
                [255, 0, 0, 255],
                [0, 255, 0, 255],
                [0, 0, 255, 255],
                [132, 130, 132, 255]
            ])
        );
        assert_eq!(batch_ids, Some(vec![0, 1, 1, 0]));
        assert_eq!(batch, Some(buildings_table(2)));
    }

    #[test]
    fn pnts_colour_variants() {
        let positions = [0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0];
        let parse_colors = |ft: &mut FeatureTableWriter| {
            ft.global("POINTS_LENGTH", json!(2))
                .binary("POSITION", BinaryValues::F32(&positions));
            match parse_content(&write_pnts(ft, None)) {
                Ok(TileContent::Points {
                    positions, colors, ..
                }) => {
                    assert_eq!(positions, [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]);
                    colors
                }
                other => panic!("{other:?}"),
            }
        };
        let constant = parse_colors(
            FeatureTableWriter::new().global("CONSTANT_RGBA", json!([10, 20, 30, 40])),
        );
        assert_eq!(constant, Some(vec![[10, 20, 30, 40]; 2]));
        let rgba = parse_colors(
            FeatureTableWriter::new().binary("RGBA", BinaryValues::U8(&[1, 2, 3, 4, 5, 6, 7, 8])),
        );
        assert_eq!(rgba, Some(vec![[1, 2, 3, 4], [5, 6, 7, 8]]));
        let rgb = parse_colors(
            FeatureTableWriter::new()
                .binary("RGB", BinaryValues::U8(&[1, 2, 3, 4, 5, 6]))
                .global("CONSTANT_RGBA", json!([0, 0, 0, 0])),
        );
        assert_eq!(rgb, Some(vec![[1, 2, 3, 255], [4, 5, 6, 255]]));
        assert_eq!(parse_colors(&mut FeatureTableWriter::new()), None);
    }

    #[test]
    fn cmpt_holds_each_format_and_nested_composites() {
        let Some(glb) = box_glb() else { return };
        let b3dm = write_b3dm(&glb, Some(&buildings_table(10)), Some([1.0, 2.0, 3.0]));
        let i3dm = i3dm_with_normals(&glb);
        let i3dm_q = quantized_i3dm();
        let pnts = quantized_rgb565_pnts();
        let inner = write_cmpt(&[&pnts, &i3dm_q]);
        let outer = write_cmpt(&[&b3dm, &i3dm, &inner, &glb]);
        assert_aligned_tile(&outer);

        let parse = |b: &[u8]| parse_content(b).expect("parse");
        let expected = TileContent::Composite(vec![
            parse(&b3dm),
            parse(&i3dm),
            TileContent::Composite(vec![parse(&pnts), parse(&i3dm_q)]),
            parse(&glb),
        ]);
        assert_eq!(parse(&outer), expected);
    }

    #[test]
    fn plain_glb_is_a_model_without_container_data() {
        let Some(glb) = box_glb() else { return };
        assert_eq!(
            parse_content(&glb).expect("glb"),
            TileContent::Model {
                glb: glb.clone(),
                rtc_center: None,
                batch: None,
                batch_length: 0
            }
        );
    }

    fn set_u32(bytes: &mut [u8], at: usize, value: u32) {
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    #[test]
    fn truncated_tiles_name_the_byte_length() {
        let Some(glb) = box_glb() else { return };
        let tiles = [
            write_b3dm(&glb, Some(&buildings_table(10)), None),
            i3dm_with_normals(&glb),
            quantized_rgb565_pnts(),
            write_cmpt(&[&quantized_rgb565_pnts()]),
            glb.clone(),
        ];
        for tile in &tiles {
            let cut = &tile[..tile.len() - 1];
            let text = error_text(cut);
            assert!(text.contains("byteLength"), "{text}");
            assert!(text.contains(&format!("{}", cut.len())), "{text}");
            assert!(error_text(&tile[..10]).contains("too short"));
        }
        assert!(error_text(b"b3").contains("too short"));
        assert!(error_text(b"abcdefgh").contains("unknown tile magic"));
    }

    #[test]
    fn every_truncation_with_a_consistent_header_is_an_error_not_a_panic() {
        let Some(glb) = box_glb() else { return };
        let tiles = [
            write_b3dm(&glb, Some(&buildings_table(10)), Some([1.0; 3])),
            i3dm_with_normals(&glb),
            quantized_rgb565_pnts(),
            write_cmpt(&[&quantized_rgb565_pnts(), &quantized_i3dm()]),
        ];
        // (A URI i3dm cut inside its URI is still a valid tile, so it is only tested inside a
        // composite, whose inner byteLength gives the cut away.)
        for tile in &tiles {
            for len in 0..tile.len() {
                let mut cut = tile[..len].to_vec();
                if len >= 12 {
                    set_u32(&mut cut, 8, len as u32);
                }
                assert!(parse_content(&cut).is_err(), "{len} bytes parsed");
            }
        }
    }

    #[test]
    fn lying_section_lengths_are_errors_naming_the_section() {
        let mut tile = quantized_rgb565_pnts();
        set_u32(&mut tile, 12, 1 << 30);
        let text = error_text(&tile);
        assert!(text.contains("feature table JSON"), "{text}");
        assert!(text.contains("1073741824"), "{text}");

        let mut tile = quantized_rgb565_pnts();
        set_u32(&mut tile, 20, u32::MAX);
        assert!(error_text(&tile).contains("batch table JSON"));

        // A legacy-looking word that is not legacy either: lengths past the end.
        let Some(glb) = box_glb() else { return };
        let mut tile = write_b3dm(&glb, None, None);
        set_u32(&mut tile, 16, 0x1000_0000);
        assert!(error_text(&tile).contains("feature table binary"));
    }

    #[test]
    fn counts_larger_than_the_binary_body_are_errors_not_allocations() {
        for count in [4u32, 1_000_000, u32::MAX] {
            let mut ft = FeatureTableWriter::new();
            ft.global("POINTS_LENGTH", json!(count))
                .binary("POSITION", BinaryValues::F32(&[0.0; 9]));
            let text = error_text(&write_pnts(&ft, None));
            assert!(text.contains("POSITION"), "{text}");
            assert!(
                text.contains(&(u64::from(count) * 12).to_string()),
                "{text}"
            );

            let mut ft = FeatureTableWriter::new();
            ft.global("INSTANCES_LENGTH", json!(count))
                .binary("POSITION", BinaryValues::F32(&[0.0; 9]));
            let text = error_text(&write_i3dm(&ft, None, &InstanceModel::Uri("x".into())));
            assert!(text.contains("POSITION"), "{text}");
        }
        // RGB present but too short for the points.
        let mut ft = FeatureTableWriter::new();
        ft.global("POINTS_LENGTH", json!(3))
            .binary("POSITION", BinaryValues::F32(&[0.0; 9]))
            .binary("RGB", BinaryValues::U8(&[1, 2, 3]));
        assert!(error_text(&write_pnts(&ft, None)).contains("RGB"));
    }

    #[test]
    fn inconsistent_feature_tables_name_the_field() {
        let cases: Vec<(FeatureTableWriter, &str)> = vec![
            (FeatureTableWriter::new(), "POINTS_LENGTH"),
            (
                {
                    let mut ft = FeatureTableWriter::new();
                    ft.global("POINTS_LENGTH", json!(1));
                    ft
                },
                "POSITION or POSITION_QUANTIZED",
            ),
            (
                {
                    let mut ft = FeatureTableWriter::new();
                    ft.global("POINTS_LENGTH", json!(1))
                        .binary("POSITION_QUANTIZED", BinaryValues::U16(&[1, 2, 3]));
                    ft
                },
                "QUANTIZED_VOLUME_OFFSET",
            ),
            (
                {
                    let mut ft = FeatureTableWriter::new();
                    ft.global("POINTS_LENGTH", json!(-3));
                    ft
                },
                "POINTS_LENGTH",
            ),
            (
                {
                    let mut ft = FeatureTableWriter::new();
                    ft.global("POINTS_LENGTH", json!(1))
                        .global("POSITION", json!([1, 2, 3]));
                    ft
                },
                "POSITION",
            ),
            (
                {
                    let mut ft = FeatureTableWriter::new();
                    ft.global("POINTS_LENGTH", json!(1))
                        .global("RTC_CENTER", json!([1, 2]))
                        .binary("POSITION", BinaryValues::F32(&[0.0; 3]));
                    ft
                },
                "RTC_CENTER",
            ),
            (
                {
                    let mut ft = FeatureTableWriter::new();
                    ft.global("POINTS_LENGTH", json!(1))
                        .binary("POSITION", BinaryValues::U16(&[0; 6]));
                    ft
                },
                "componentType",
            ),
            (
                {
                    let mut ft = FeatureTableWriter::new();
                    ft.global("POINTS_LENGTH", json!(2))
                        .binary("POSITION", BinaryValues::F32(&[0.0; 6]))
                        .binary("BATCH_ID", BinaryValues::U8(&[0, 1]));
                    ft
                },
                "BATCH_LENGTH",
            ),
            (
                {
                    let mut ft = FeatureTableWriter::new();
                    ft.global("POINTS_LENGTH", json!(2))
                        .global("BATCH_LENGTH", json!(1))
                        .binary("POSITION", BinaryValues::F32(&[0.0; 6]))
                        .binary("BATCH_ID", BinaryValues::U8(&[0, 1]));
                    ft
                },
                "BATCH_ID",
            ),
        ];
        for (ft, field) in cases {
            let text = error_text(&write_pnts(&ft, None));
            assert!(text.contains(field), "expected {field} in: {text}");
        }

        let mut ft = FeatureTableWriter::new();
        ft.global("INSTANCES_LENGTH", json!(1))
            .binary("POSITION", BinaryValues::F32(&[0.0; 3]))
            .binary("NORMAL_UP", BinaryValues::F32(&[0.0, 1.0, 0.0]));
        let text = error_text(&write_i3dm(&ft, None, &InstanceModel::Uri("x".into())));
        assert!(text.contains("NORMAL_RIGHT"), "{text}");

        let mut ft = FeatureTableWriter::new();
        ft.global("INSTANCES_LENGTH", json!(1))
            .binary("POSITION", BinaryValues::F32(&[0.0; 3]))
            .binary("NORMAL_UP", BinaryValues::F32(&[0.0, 1.0, 0.0]))
            .binary("NORMAL_RIGHT", BinaryValues::F32(&[0.0, 2.0, 0.0]));
        let text = error_text(&write_i3dm(&ft, None, &InstanceModel::Uri("x".into())));
        assert!(text.contains("not two non-zero, non-parallel"), "{text}");
    }

    #[test]
    fn batch_tables_that_disagree_with_the_batch_length_name_the_property() {
        let Some(glb) = box_glb() else { return };
        let mut table = buildings_table(10);
        table.count = 9;
        let tile = write_b3dm(&glb, Some(&table), None);
        let text = error_text(&tile);
        assert!(text.contains("batch table name"), "{text}");
        assert!(
            text.contains("10 values") && text.contains("batch length is 9"),
            "{text}"
        );

        let bt = br#"{"h":{"byteOffset":4,"componentType":"FLOAT","type":"SCALAR"}}"#;
        let tile = raw_b3dm(br#"{"BATCH_LENGTH":3}"#, &[], bt, &[0; 8], &glb);
        let text = error_text(&tile);
        assert!(text.contains("h needs 12 bytes at byteOffset 4"), "{text}");

        let tile = raw_b3dm(br#"{"BATCH_LENGTH":3}"#, &[], b"{not json", &[], &glb);
        assert!(error_text(&tile).contains("batch table JSON is invalid"));
        let tile = raw_b3dm(br#"[1]"#, &[], b"", &[], &glb);
        assert!(error_text(&tile).contains("feature table JSON is invalid"));
        let tile = raw_b3dm(br#"{}"#, &[], b"", &[], &glb);
        assert!(error_text(&tile).contains("BATCH_LENGTH"));
    }

    #[test]
    fn lying_embedded_glb_and_gltf_format_are_errors() {
        let Some(mut glb) = box_glb() else { return };
        let declared = glb.len() as u32 + 64;
        set_u32(&mut glb, 8, declared);
        let text = error_text(&write_b3dm(&glb, None, None));
        assert!(
            text.contains(&format!("GLB header length is {declared}")),
            "{text}"
        );
        let text = error_text(&write_b3dm(b"not a glb at all", None, None));
        assert!(text.contains("not \"glTF\""), "{text}");

        let mut tile = quantized_i3dm();
        set_u32(&mut tile, 28, 7);
        assert!(error_text(&tile).contains("gltfFormat is 7"));
    }

    #[test]
    fn lying_composites_are_errors() {
        let pnts = quantized_rgb565_pnts();
        let mut tile = write_cmpt(&[&pnts]);
        set_u32(&mut tile, 12, 1000);
        let text = error_text(&tile);
        assert!(text.contains("inner tile 1"), "{text}");

        let mut tile = write_cmpt(&[&pnts]);
        set_u32(&mut tile, 16 + 8, pnts.len() as u32 + 8);
        let text = error_text(&tile);
        assert!(text.contains("inner tile"), "{text}");

        let mut tile = write_cmpt(&[&pnts]);
        set_u32(&mut tile, 16 + 12, 1 << 20);
        let text = error_text(&tile);
        assert!(
            text.contains("inner tile 0") && text.contains("feature table JSON"),
            "{text}"
        );

        let mut nested = pnts.clone();
        for _ in 0..=MAX_COMPOSITE_DEPTH {
            nested = write_cmpt(&[&nested]);
        }
        assert!(error_text(&nested).contains("nest deeper"));

        let mut tile = write_cmpt(&[]);
        set_u32(&mut tile, 4, 2);
        assert!(error_text(&tile).contains("unsupported version 2"));
    }
}
