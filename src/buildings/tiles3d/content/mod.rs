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

use bevy::math::{DMat3, DQuat, DVec3};
use serde_json::{Map, Value, json};

use crate::buildings::model::{PropertyColumn, PropertyTable, PropertyValue};

mod b3dm;
mod batch_table;
mod cmpt;
mod feature_table;
mod i3dm;
mod pnts;
mod write;
use b3dm::*;
use batch_table::*;
use cmpt::*;
use feature_table::*;
use i3dm::*;
use pnts::*;
pub use write::*;

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

// b3dm
// i3dm
// cmpt
// Batch tables
#[cfg(test)]
mod tests {

    use super::*;

    /// Reads a file of the shared sample data, or says why the test is skipped.
    fn shared_data(relative: &str) -> Option<Vec<u8>> {
        let path = crate::testdata::shared_data(relative)?;
        Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
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
