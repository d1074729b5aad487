//! glTF 2.0 / GLB decoding into a [`Model`]: scene graph, triangles, materials, base-colour
//! textures, feature IDs and the `EXT_structural_metadata` property table.
//!
//! # How it works
//!
//! The JSON chunk is read with small serde structs (not the `gltf` crate, which refuses files that
//! *require* `EXT_meshopt_compression`, as 3DBAG tiles do). Buffers are borrowed from the GLB `BIN`
//! chunk or loaded from `data:` URIs / a caller-supplied resolver; every `EXT_meshopt_compression`
//! buffer view is decompressed once, up front, by the pure-Rust decoder in `meshopt`. The
//! default scene is then walked depth-first, node matrices are composed in `f64`, and each
//! triangle / strip / fan primitive becomes a [`Primitive`] with mesh-local `f32` positions
//! (`KHR_mesh_quantization` integers are read as-is or normalised; their scale stays in the node
//! matrix). Feature IDs come from `EXT_mesh_features` (the first set that has a property table) or
//! the 3D Tiles 1.0 `_BATCHID` attribute; the property table they point into is decoded column by
//! column in class order.
//!
//! Only images used as a base colour are decoded (PNG, JPEG); `Model::textures` holds them in
//! image-index order and `Material::base_color_texture` indexes that list. Feature ID textures,
//! property textures / attributes, morph targets, skins, cameras and `KHR_texture_transform` are
//! not read.
//!
//! Every index, offset, length and count read from the file is checked before it is used or
//! allocated for; a lying file yields a [`GltfError`] that names the accessor, bufferView, image,
//! property or byte offset at fault.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

use bevy::math::{DMat4, DQuat, DVec3};
use serde::Deserialize;
use serde_json::Value;

use crate::buildings::model::{
    AlphaMode, Material, Model, Primitive, PropertyColumn, PropertyTable, PropertyValue, Texture,
};

mod document;
mod json;
mod meshopt;
mod metadata;
pub mod write;
use document::*;
use json::*;
use metadata::*;

/// Extensions this decoder understands (or may safely ignore) when a file lists them as required.
const SUPPORTED_EXTENSIONS: &[&str] = &[
    "KHR_mesh_quantization",
    "EXT_meshopt_compression",
    "EXT_mesh_features",
    "EXT_structural_metadata",
    "CESIUM_RTC",
    "KHR_materials_unlit",
    "KHR_texture_transform",
];

/// Accessors without a bufferView (all zeros, possibly sparse) may not allocate more than this.
const MAX_UNBACKED_ACCESSOR_BYTES: usize = 256 << 20;

/// Node instancing can repeat one mesh many times; the whole scene may not expand past this many
/// vertices (or three times as many indices), about 3 GiB of decoded geometry.
const MAX_SCENE_VERTICES: usize = 1 << 26;

const GLB_MAGIC: &[u8; 4] = b"glTF";
const CHUNK_JSON: u32 = 0x4E4F_534A;
const CHUNK_BIN: u32 = 0x004E_4942;

/// Why a glTF / GLB could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum GltfError {
    #[error("not a GLB file: it starts with \"{found}\", not \"glTF\"")]
    NotGlb { found: String },
    #[error("GLB container version {0} is not supported (only version 2)")]
    GlbVersion(u32),
    #[error(
        "GLB is truncated: {what} at byte offset {offset} needs {needed} bytes, but only {available} are there"
    )]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("GLB chunk {chunk} at byte offset {offset}: {reason}")]
    Chunk {
        chunk: usize,
        offset: usize,
        reason: String,
    },
    #[error("glTF JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("glTF asset version {0:?} is not 2.x")]
    AssetVersion(String),
    #[error("glTF requires {names}, which Jumeau cannot decode")]
    UnsupportedExtensions { names: String },
    #[error("{referrer} refers to {kind} {index}, which does not exist (the file has {len})")]
    MissingIndex {
        referrer: String,
        kind: &'static str,
        index: usize,
        len: usize,
    },
    #[error("buffer {buffer} has no data: {reason}")]
    BufferUnavailable { buffer: usize, reason: String },
    #[error(
        "bufferView {view} (byteOffset {offset}, byteLength {length}) lies outside buffer {buffer} of {buffer_len} bytes"
    )]
    BufferViewOutOfRange {
        view: usize,
        buffer: usize,
        offset: usize,
        length: usize,
        buffer_len: usize,
    },
    #[error("accessor {accessor}: {reason}")]
    Accessor { accessor: usize, reason: String },
    #[error("bufferView {view}: EXT_meshopt_compression data is invalid: {reason}")]
    Meshopt { view: usize, reason: String },
    #[error("mesh {mesh} primitive {primitive}: {reason}")]
    Primitive {
        mesh: usize,
        primitive: usize,
        reason: String,
    },
    #[error("node {node}: {reason}")]
    Node { node: usize, reason: String },
    #[error("image {image}: {reason}")]
    Image { image: usize, reason: String },
    #[error("image {image} could not be decoded: {source}")]
    ImageDecode {
        image: usize,
        #[source]
        source: image::ImageError,
    },
    #[error("URI {uri:?}: {reason}")]
    Uri { uri: String, reason: String },
    #[error("could not load URI {uri:?}: {source}")]
    UriLoad {
        uri: String,
        #[source]
        source: std::io::Error,
    },
    #[error("EXT_structural_metadata property table {table}, property {property:?}: {reason}")]
    Metadata {
        table: usize,
        property: String,
        reason: String,
    },
}

/// Decodes a binary glTF (GLB) whose buffers are all in its `BIN` chunk or in `data:` URIs.
pub fn decode_glb(bytes: &[u8]) -> Result<Model, GltfError> {
    let (json, bin) = split_glb(bytes)?;
    decode_parts(json, bin, None)
}

/// Decodes a GLB or a JSON `.gltf`; URIs other than `data:` are fetched with `resolve`, which
/// receives the URI exactly as written in the file (relative, percent-encoded).
pub fn decode_gltf(
    bytes: &[u8],
    resolve: &mut dyn FnMut(&str) -> std::io::Result<Vec<u8>>,
) -> Result<Model, GltfError> {
    if bytes.starts_with(GLB_MAGIC) {
        let (json, bin) = split_glb(bytes)?;
        decode_parts(json, bin, Some(resolve))
    } else {
        decode_parts(bytes, None, Some(resolve))
    }
}

type Resolver<'r> = Option<&'r mut dyn FnMut(&str) -> std::io::Result<Vec<u8>>>;

fn read_u32_le(bytes: &[u8], offset: usize) -> Option<u32> {
    let b = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Splits a GLB into its JSON chunk and optional BIN chunk.
fn split_glb(bytes: &[u8]) -> Result<(&[u8], Option<&[u8]>), GltfError> {
    if bytes.len() < 12 {
        if !bytes.is_empty() && !GLB_MAGIC.starts_with(&bytes[..bytes.len().min(4)]) {
            return Err(GltfError::NotGlb {
                found: bytes[..bytes.len().min(4)].escape_ascii().to_string(),
            });
        }
        return Err(GltfError::Truncated {
            what: "the GLB header",
            offset: 0,
            needed: 12,
            available: bytes.len(),
        });
    }
    if &bytes[..4] != GLB_MAGIC {
        return Err(GltfError::NotGlb {
            found: bytes[..4].escape_ascii().to_string(),
        });
    }
    let version = read_u32_le(bytes, 4).unwrap_or(0);
    if version != 2 {
        return Err(GltfError::GlbVersion(version));
    }
    let declared = read_u32_le(bytes, 8).unwrap_or(0) as usize;
    if declared > bytes.len() {
        return Err(GltfError::Truncated {
            what: "the declared GLB length",
            offset: 0,
            needed: declared,
            available: bytes.len(),
        });
    }
    let glb = &bytes[..declared];
    let mut json = None;
    let mut bin = None;
    let mut offset = 12;
    let mut chunk = 0;
    while offset < glb.len() {
        let (Some(length), Some(kind)) = (read_u32_le(glb, offset), read_u32_le(glb, offset + 4))
        else {
            return Err(GltfError::Truncated {
                what: "a GLB chunk header",
                offset,
                needed: 8,
                available: glb.len() - offset,
            });
        };
        let start = offset + 8;
        let data = start
            .checked_add(length as usize)
            .and_then(|end| glb.get(start..end))
            .ok_or(GltfError::Truncated {
                what: "a GLB chunk",
                offset: start,
                needed: length as usize,
                available: glb.len() - start,
            })?;
        match (chunk, kind) {
            (0, CHUNK_JSON) => json = Some(data),
            (0, _) => {
                return Err(GltfError::Chunk {
                    chunk,
                    offset,
                    reason: format!("the first chunk has type 0x{kind:08x}, not JSON"),
                });
            }
            (_, CHUNK_BIN) if bin.is_none() => bin = Some(data),
            // Unknown chunk types must be ignored (glTF 2.0 §4.4.3).
            _ => {}
        }
        offset = start + data.len();
        chunk += 1;
    }
    let json = json.ok_or(GltfError::Chunk {
        chunk: 0,
        offset: 12,
        reason: "the GLB has no JSON chunk".into(),
    })?;
    Ok((json, bin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// `../shared/data` next to the crate, else `/work/shared/data`; `None` (test skipped) if absent.
    fn shared_data() -> Option<PathBuf> {
        crate::testdata::shared_data("")
    }

    fn load(relative: &str) -> Option<Model> {
        let bytes = std::fs::read(shared_data()?.join(relative)).unwrap();
        Some(decode_glb(&bytes).unwrap_or_else(|e| panic!("{relative}: {e}")))
    }

    fn triangles(model: &Model) -> usize {
        model.primitives.iter().map(|p| p.indices.len() / 3).sum()
    }

    /// A GLB from JSON text and a BIN chunk.
    fn glb(json: &str, bin: &[u8]) -> Vec<u8> {
        let mut json = json.as_bytes().to_vec();
        while !json.len().is_multiple_of(4) {
            json.push(b' ');
        }
        let mut bin = bin.to_vec();
        while !bin.len().is_multiple_of(4) {
            bin.push(0);
        }
        let total = 12 + 8 + json.len() + if bin.is_empty() { 0 } else { 8 + bin.len() };
        let mut out = Vec::new();
        out.extend_from_slice(b"glTF");
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&CHUNK_JSON.to_le_bytes());
        out.extend_from_slice(&json);
        if !bin.is_empty() {
            out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
            out.extend_from_slice(&CHUNK_BIN.to_le_bytes());
            out.extend_from_slice(&bin);
        }
        out
    }

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// Four vertices of a unit quad as 48 bytes of f32 positions.
    fn quad_positions() -> Vec<u8> {
        f32_bytes(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    }

    #[test]
    fn bag_tile_decodes_meshopt_quantized_buildings_with_attributes() {
        let Some(model) = load("3dtiles/3dbag_tile_128/128.glb") else {
            return;
        };
        assert_eq!(model.primitives.len(), 1);
        let prim = &model.primitives[0];
        assert_eq!(prim.positions.len(), 105_829);
        assert_eq!(triangles(&model), 51_062);
        assert!(
            prim.indices
                .iter()
                .all(|&i| (i as usize) < prim.positions.len())
        );

        // Quantised positions: the node matrix carries the metre scale and the ECEF offset.
        let world: Vec<DVec3> = prim
            .positions
            .iter()
            .map(|p| {
                prim.model_from_mesh
                    .transform_point3(DVec3::from_array(p.map(f64::from)))
            })
            .collect();
        assert!(world.iter().all(|p| p.is_finite()));
        let min = world.iter().fold(DVec3::MAX, |a, &b| a.min(b));
        let max = world.iter().fold(DVec3::MIN, |a, &b| a.max(b));
        let extent = max - min;
        eprintln!(
            "3DBAG world extent {extent:?}, centre {:?}",
            (min + max) / 2.0
        );
        assert!(extent.max_element() < 10_000.0, "tile spans {extent:?} m");
        // Y-up glTF frame of ECEF: x = ECEF X, y = ECEF Z, z = -ECEF Y (Zeeland, NL).
        let centre = (min + max) / 2.0;
        let ecef = DVec3::new(centre.x, -centre.z, centre.y);
        assert!(
            (ecef.length() - 6_365_000.0).abs() < 20_000.0,
            "{ecef:?} is not on the Earth"
        );
        // Three vertices of one degenerate triangle carry the normal (-1,-1,-1) in the file itself.
        let normals = prim.normals.as_ref().unwrap();
        let not_unit = normals
            .iter()
            .filter(|n| !(0.98..1.02).contains(&DVec3::from_array(n.map(f64::from)).length()))
            .count();
        assert_eq!(not_unit, 3);

        let table = model.properties.as_ref().unwrap();
        assert_eq!(table.class, "building");
        assert_eq!(table.count, 1028);
        assert_eq!(table.columns.len(), 33);
        assert!(table.columns.iter().all(|c| c.values.len() == 1028));
        assert_eq!(table.columns[0].name, "b3_bouwlagen");
        let ids = prim.feature_ids.as_ref().unwrap();
        assert!(ids.iter().all(|&id| id < 1028 || id == u32::MAX));
        assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>().len(), 1028);

        // This test tile carries no attribute values: every number is the class noData
        // (f32::MAX / i32::MAX), so construction year, storeys, … all read as Null.
        let years = &table.column("oorspronkelijkbouwjaar").unwrap().values;
        assert!(years.iter().all(|v| *v == PropertyValue::Null));
        let faces = &table.column("b3_n_vlakken").unwrap().values;
        assert!(faces.iter().all(|v| *v == PropertyValue::Null));
        let numeric_nulls = table
            .columns
            .iter()
            .filter(|c| c.values.iter().all(|v| *v == PropertyValue::Null))
            .count();
        assert_eq!(numeric_nulls, 27);
        // Its six BOOLEAN columns share bufferView bytes with b3_h_maaiveld, so their bits are
        // those of f32::MAX (0x7f7fffff): 30 of every 32 set.
        let glass = &table.column("b3_is_glas_dak").unwrap().values;
        assert_eq!(
            glass
                .iter()
                .filter(|v| **v == PropertyValue::Bool(true))
                .count(),
            964
        );
        assert!(glass[..8].iter().all(|v| *v == PropertyValue::Bool(true)));
        assert_eq!(model.materials.len(), 1);
        assert!((model.materials[0].base_color[0] - 0.925).abs() < 1e-3);
    }

    #[test]
    fn box_textured_has_twelve_triangles_and_a_decoded_png() {
        let Some(model) = load("gltf/BoxTextured.glb") else {
            return;
        };
        assert_eq!(triangles(&model), 12);
        assert_eq!(model.textures.len(), 1);
        let texture = &model.textures[0];
        assert!(
            texture.width >= 128 && texture.height >= 128,
            "{}x{}",
            texture.width,
            texture.height
        );
        assert_eq!(
            texture.rgba8.len(),
            (texture.width * texture.height * 4) as usize
        );
        assert!(texture.rgba8.chunks(4).any(|p| p != &texture.rgba8[..4]));
        assert_eq!(model.materials[0].base_color_texture, Some(0));
        assert_eq!(model.materials[0].metallic, 0.0);
        let prim = &model.primitives[0];
        assert_eq!(prim.uvs.as_ref().map(Vec::len), Some(24));
        // The root node turns Z-up into Y-up: a 90° rotation about X.
        let up = prim.model_from_mesh.transform_vector3(DVec3::Z);
        assert!((up - DVec3::new(0.0, 1.0, 0.0)).length() < 1e-9, "{up:?}");
    }

    #[test]
    fn engine_scene_graph_gives_every_primitive() {
        let Some(model) = load("gltf/2CylinderEngine.glb") else {
            return;
        };
        // 29 meshes / 34 primitives / 75,730 triangles are instanced by 67 of the 82 nodes.
        assert_eq!(model.primitives.len(), 115);
        assert_eq!(triangles(&model), 121_496);
        let mut distinct: Vec<(usize, usize, [u32; 3])> = model
            .primitives
            .iter()
            .map(|p| {
                (
                    p.positions.len(),
                    p.indices.len(),
                    p.positions[0].map(f32::to_bits),
                )
            })
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 34);
        assert_eq!(
            distinct.iter().map(|(_, i, _)| i / 3).sum::<usize>(),
            75_730
        );
        assert_eq!(model.materials.len(), 34);
        // Nested node matrices are composed: not every primitive sits at the origin.
        let moved = model
            .primitives
            .iter()
            .filter(|p| p.model_from_mesh != DMat4::IDENTITY)
            .count();
        assert!(moved > 20, "{moved}");
    }

    #[test]
    fn blendswap_building_from_b3dm_decodes() {
        let Some(model) = load("gltf/building_blendswap_45211.glb") else {
            return;
        };
        assert_eq!(model.primitives.len(), 2);
        assert_eq!(triangles(&model), 66_094);
        let vertices: usize = model.primitives.iter().map(|p| p.positions.len()).sum();
        assert_eq!(vertices, 239_094);
        // The b3dm's BATCH_LENGTH is 0: its glTF has no _BATCHID attribute.
        assert!(model.primitives.iter().all(|p| p.feature_ids.is_none()));
    }

    #[test]
    fn metadata_granularities_houses_and_trees_decode() {
        let Some(dir) = shared_data() else { return };
        let dir = dir.join("3dtiles/cesium_MetadataGranularities");
        let mut glbs = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "glb") {
                continue;
            }
            let model = decode_glb(&std::fs::read(&path).unwrap()).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let tris = triangles(&model);
            if name.starts_with("house") {
                assert_eq!(model.primitives.len(), 5, "{name}");
                assert!((340..=688).contains(&tris), "{name}: {tris}");
            } else {
                assert!((166..=919).contains(&tris), "{name}: {tris}");
                assert_eq!(model.textures.len(), 1, "{name}");
                assert_eq!(
                    (model.textures[0].width, model.textures[0].height),
                    (128, 128)
                );
            }
            glbs += 1;
        }
        assert_eq!(glbs, 20);
    }

    #[test]
    fn truncated_glb_is_an_error_naming_the_length() {
        let Some(dir) = shared_data() else { return };
        let bytes = std::fs::read(dir.join("gltf/BoxTextured.glb")).unwrap();
        for cut in [0, 7, 12, 30, bytes.len() / 2, bytes.len() - 1] {
            let err = decode_glb(&bytes[..cut]).unwrap_err();
            assert!(err.to_string().contains("truncated"), "{cut}: {err}");
        }
        // A declared length cut down to match: the JSON or BIN chunk is now too short.
        let mut lying = bytes[..bytes.len() / 2].to_vec();
        let len = lying.len() as u32;
        lying[8..12].copy_from_slice(&len.to_le_bytes());
        assert!(decode_glb(&lying).is_err());
    }

    #[test]
    fn accessor_count_that_lies_is_an_error_naming_the_accessor() {
        let json = r#"{"asset":{"version":"2.0"},"scenes":[{"nodes":[0]}],"nodes":[{"mesh":0}],
            "meshes":[{"primitives":[{"attributes":{"POSITION":0}}]}],
            "accessors":[{"bufferView":0,"componentType":5126,"count":1000000,"type":"VEC3"}],
            "bufferViews":[{"buffer":0,"byteLength":48}],"buffers":[{"byteLength":48}]}"#;
        let err = decode_glb(&glb(json, &quad_positions())).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("accessor 0") && text.contains("bufferView 0"),
            "{text}"
        );

        let json = json
            .replace("1000000", "4")
            .replace(r#""byteLength":48}]}"#, r#""byteLength":4800}]}"#);
        let err = decode_glb(&glb(&json, &quad_positions())).unwrap_err();
        assert!(err.to_string().contains("buffer 0"), "{err}");
    }

    #[test]
    fn bad_indices_and_missing_references_are_errors() {
        let json = r#"{"asset":{"version":"2.0"},"nodes":[{"mesh":0}],
            "meshes":[{"primitives":[{"attributes":{"POSITION":0},"indices":1}]}],
            "accessors":[{"bufferView":0,"componentType":5126,"count":4,"type":"VEC3"},
                         {"bufferView":1,"componentType":5121,"count":3,"type":"SCALAR"}],
            "bufferViews":[{"buffer":0,"byteLength":48},{"buffer":0,"byteOffset":48,"byteLength":3}],
            "buffers":[{"byteLength":51}]}"#;
        let mut bin = quad_positions();
        bin.extend_from_slice(&[0, 1, 9]);
        let err = decode_glb(&glb(json, &bin)).unwrap_err().to_string();
        assert!(err.contains("out of range of 4 vertices"), "{err}");

        let json = json.replace(r#""indices":1"#, r#""indices":7"#);
        let err = decode_glb(&glb(&json, &bin)).unwrap_err().to_string();
        assert!(err.contains("accessor 7"), "{err}");
    }

    #[test]
    fn draco_is_refused_by_name() {
        let json =
            r#"{"asset":{"version":"2.0"},"extensionsRequired":["KHR_draco_mesh_compression"]}"#;
        let err = decode_glb(&glb(json, &[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "glTF requires KHR_draco_mesh_compression, which Jumeau cannot decode"
        );
    }

    #[test]
    fn strips_fans_sparse_trs_and_points() {
        // Accessor 0: positions (4 vertices) with a sparse override of vertex 2.
        // Accessor 1: strip/fan indices 0 1 2 3. Node 0 (translated) holds node 1 (scaled).
        let json = r#"{"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[0]}],
            "nodes":[{"translation":[10,0,0],"children":[1]},{"scale":[2,2,2],"mesh":0}],
            "meshes":[{"primitives":[
                {"attributes":{"POSITION":0},"indices":1,"mode":5},
                {"attributes":{"POSITION":0},"indices":1,"mode":6},
                {"attributes":{"POSITION":0},"mode":0},
                {"attributes":{"POSITION":0},"mode":6}]}],
            "accessors":[
              {"bufferView":0,"componentType":5126,"count":4,"type":"VEC3",
               "sparse":{"count":1,"indices":{"bufferView":1,"componentType":5121},
                         "values":{"bufferView":2}}},
              {"bufferView":1,"componentType":5121,"count":4,"type":"SCALAR"}],
            "bufferViews":[{"buffer":0,"byteLength":48},{"buffer":0,"byteOffset":48,"byteLength":4},
                           {"buffer":0,"byteOffset":52,"byteLength":12}],
            "buffers":[{"byteLength":64}]}"#;
        let mut bin = quad_positions();
        bin.extend_from_slice(&[2, 1, 2, 3]);
        bin.extend_from_slice(&f32_bytes(&[5.0, 5.0, 5.0]));
        let model = decode_glb(&glb(json, &bin)).unwrap();
        assert_eq!(model.primitives.len(), 3, "the points primitive is skipped");
        assert_eq!(model.primitives[0].indices, vec![2, 1, 2, 1, 3, 2]);
        assert_eq!(model.primitives[1].indices, vec![1, 2, 2, 2, 3, 2]);
        assert_eq!(
            model.primitives[2].indices,
            vec![1, 2, 0, 2, 3, 0],
            "non-indexed is 0..n"
        );
        let p = &model.primitives[0];
        // Sparse index entry is 2, so vertex 2 became (5,5,5).
        assert_eq!(p.positions[2], [5.0, 5.0, 5.0]);
        assert_eq!(p.positions[1], [1.0, 0.0, 0.0]);
        let world = p
            .model_from_mesh
            .transform_point3(DVec3::new(1.0, 0.0, 0.0));
        assert_eq!(world, DVec3::new(12.0, 0.0, 0.0));
    }

    #[test]
    fn quantized_normalized_attributes_and_colours() {
        // i16 normalized positions, u8 normalized colours, u16 normalized UVs, i8 normals.
        let json = r#"{"asset":{"version":"2.0"},"extensionsRequired":["KHR_mesh_quantization"],
            "nodes":[{"mesh":0,"matrix":[100,0,0,0, 0,100,0,0, 0,0,100,0, 4000000,0,0,1]}],
            "meshes":[{"primitives":[{"attributes":{"POSITION":0,"COLOR_0":1,"TEXCOORD_0":2,"NORMAL":3}}]}],
            "accessors":[
              {"bufferView":0,"componentType":5122,"normalized":true,"count":3,"type":"VEC3"},
              {"bufferView":0,"byteOffset":6,"componentType":5121,"normalized":true,"count":3,"type":"VEC4"},
              {"bufferView":0,"byteOffset":12,"componentType":5123,"normalized":true,"count":3,"type":"VEC2"},
              {"bufferView":0,"byteOffset":16,"componentType":5120,"normalized":true,"count":3,"type":"VEC3"}],
            "bufferViews":[{"buffer":0,"byteLength":60,"byteStride":20}],
            "buffers":[{"byteLength":60}]}"#;
        let mut bin = Vec::new();
        for v in 0..3i16 {
            for c in [32767i16, -32767, v] {
                bin.extend_from_slice(&c.to_le_bytes());
            }
            bin.extend_from_slice(&[255, 0, 51, 255, 0, 0]);
            bin.extend_from_slice(&65535u16.to_le_bytes());
            bin.extend_from_slice(&0u16.to_le_bytes());
            bin.extend_from_slice(&[0, 127, 0x81, 0]);
        }
        let model = decode_glb(&glb(json, &bin)).unwrap();
        let p = &model.primitives[0];
        assert_eq!(p.positions[0][0], 1.0);
        assert_eq!(p.positions[0][1], -1.0);
        assert_eq!(p.colors.as_ref().unwrap()[1], [1.0, 0.0, 0.2, 1.0]);
        assert_eq!(p.uvs.as_ref().unwrap()[2], [1.0, 0.0]);
        assert_eq!(p.normals.as_ref().unwrap()[0], [0.0, 1.0, -1.0]);
        let world = p
            .model_from_mesh
            .transform_point3(DVec3::from_array(p.positions[0].map(f64::from)));
        assert_eq!(world, DVec3::new(4_000_100.0, -100.0, 0.0));
    }

    #[test]
    fn property_table_of_every_kind() {
        // Class order: name (STRING), kind (ENUM), height (FLOAT32 noData), floors (UINT8 normalized
        // + scale), flags (BOOLEAN), tags (variable UINT16 array), pos (VEC3 INT16), big (INT64).
        let json = r#"{"asset":{"version":"2.0"},
          "extensionsUsed":["EXT_mesh_features","EXT_structural_metadata","CESIUM_RTC"],
          "extensions":{"CESIUM_RTC":{"center":[1.5,2.5,3.5]},
           "EXT_structural_metadata":{"schema":{"id":"s",
            "enums":{"Use":{"values":[{"name":"house","value":0},{"name":"shop","value":7}]}},
            "classes":{"b":{"properties":{
              "name":{"type":"STRING","noData":"none"},
              "kind":{"type":"ENUM","enumType":"Use"},
              "height":{"type":"SCALAR","componentType":"FLOAT32","noData":-1},
              "floors":{"type":"SCALAR","componentType":"UINT8","normalized":true,"scale":10},
              "flags":{"type":"BOOLEAN"},
              "tags":{"type":"SCALAR","componentType":"UINT16","array":true},
              "pos":{"type":"VEC3","componentType":"INT16"},
              "big":{"type":"SCALAR","componentType":"INT64","default":42,"noData":0}}}}},
            "propertyTables":[{"class":"b","count":2,"properties":{
              "big":{"values":8},"pos":{"values":7},
              "name":{"values":0,"stringOffsets":1},"kind":{"values":2},"height":{"values":3},
              "floors":{"values":4},"flags":{"values":5},
              "tags":{"values":6,"arrayOffsets":9,"arrayOffsetType":"UINT8"}}}]}},
          "nodes":[{"mesh":0}],
          "meshes":[{"primitives":[{"attributes":{"POSITION":0},"mode":6,
             "extensions":{"EXT_mesh_features":{"featureIds":[
               {"featureCount":4},
               {"featureCount":2,"offset":0,"repeat":2,"nullFeatureId":1,"propertyTable":0}]}}}]}],
          "accessors":[{"bufferView":10,"componentType":5126,"count":4,"type":"VEC3"}],
          "bufferViews":[
            {"buffer":0,"byteOffset":0,"byteLength":8},
            {"buffer":0,"byteOffset":8,"byteLength":12},
            {"buffer":0,"byteOffset":20,"byteLength":4},
            {"buffer":0,"byteOffset":24,"byteLength":8},
            {"buffer":0,"byteOffset":32,"byteLength":2},
            {"buffer":0,"byteOffset":34,"byteLength":1},
            {"buffer":0,"byteOffset":36,"byteLength":6},
            {"buffer":0,"byteOffset":44,"byteLength":12},
            {"buffer":0,"byteOffset":56,"byteLength":16},
            {"buffer":0,"byteOffset":72,"byteLength":3},
            {"buffer":0,"byteOffset":76,"byteLength":48}],
          "buffers":[{"byteLength":124}]}"#;
        let mut bin = Vec::new();
        bin.extend_from_slice(b"Hallnone"); // 0: strings "Hall", "none"
        for o in [0u32, 4, 8] {
            bin.extend_from_slice(&o.to_le_bytes()); // 1: string offsets
        }
        bin.extend_from_slice(&7u16.to_le_bytes()); // 2: enum values: shop, 3 (unnamed)
        bin.extend_from_slice(&3u16.to_le_bytes());
        bin.extend_from_slice(&f32_bytes(&[12.5, -1.0])); // 3: heights
        bin.extend_from_slice(&[255, 51]); // 4: floors, normalized ×10
        bin.extend_from_slice(&[0b10, 0]); // 5: flags (row 1 true) + pad to 36
        for t in [5u16, 6, 7] {
            bin.extend_from_slice(&t.to_le_bytes()); // 6: tags
        }
        bin.extend_from_slice(&[0, 0]);
        for c in [1i16, -2, 3, 4, 5, -6] {
            bin.extend_from_slice(&c.to_le_bytes()); // 7: pos
        }
        bin.extend_from_slice(&(-9_000_000_000i64).to_le_bytes()); // 8: big
        bin.extend_from_slice(&0i64.to_le_bytes());
        bin.extend_from_slice(&[0, 1, 3, 0]); // 9: array offsets (row 0: [5], row 1: [6, 7])
        bin.extend_from_slice(&quad_positions()); // 10
        assert_eq!(bin.len(), 124);

        let model = decode_glb(&glb(json, &bin)).unwrap();
        assert_eq!(model.rtc_center, Some([1.5, 2.5, 3.5]));
        // The set with a property table wins; implicit offset/repeat, with feature 1 as null.
        assert_eq!(
            model.primitives[0].feature_ids,
            Some(vec![0, 0, u32::MAX, u32::MAX])
        );
        let table = model.properties.unwrap();
        let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "name", "kind", "height", "floors", "flags", "tags", "pos", "big"
            ]
        );
        use PropertyValue::*;
        assert_eq!(
            table.row(0),
            vec![
                ("name", &Text("Hall".into())),
                ("kind", &Text("shop".into())),
                ("height", &Float(12.5)),
                ("floors", &Float(10.0)),
                ("flags", &Bool(false)),
                ("tags", &Array(vec![Int(5)])),
                ("pos", &Array(vec![Int(1), Int(-2), Int(3)])),
                ("big", &Int(-9_000_000_000)),
            ]
        );
        assert_eq!(
            table.row(1),
            vec![
                ("name", &Null),
                ("kind", &Int(3)),
                ("height", &Null),
                ("floors", &Float(2.0)),
                ("flags", &Bool(true)),
                ("tags", &Array(vec![Int(6), Int(7)])),
                ("pos", &Array(vec![Int(4), Int(5), Int(-6)])),
                ("big", &Int(42)),
            ]
        );
    }

    #[test]
    fn property_table_that_lies_about_its_count_is_an_error() {
        let json = r#"{"asset":{"version":"2.0"},
          "extensions":{"EXT_structural_metadata":{"schema":{"classes":{"b":{"properties":{
              "h":{"type":"SCALAR","componentType":"FLOAT64"}}}}},
            "propertyTables":[{"class":"b","count":1000000000,"properties":{"h":{"values":1}}}]}},
          "nodes":[{"mesh":0}],
          "meshes":[{"primitives":[{"attributes":{"POSITION":0,"_FEATURE_ID_0":1},"mode":6,
             "extensions":{"EXT_mesh_features":{"featureIds":[{"featureCount":1,"attribute":0,"propertyTable":0}]}}}]}],
          "accessors":[{"bufferView":0,"componentType":5126,"count":4,"type":"VEC3"},
                       {"bufferView":1,"componentType":5121,"count":4,"type":"SCALAR"}],
          "bufferViews":[{"buffer":0,"byteLength":48},{"buffer":0,"byteOffset":48,"byteLength":8}],
          "buffers":[{"byteLength":56}]}"#;
        let mut bin = quad_positions();
        bin.extend_from_slice(&[0; 8]);
        let err = decode_glb(&glb(json, &bin)).unwrap_err().to_string();
        assert!(
            err.contains("property table 0") && err.contains("\"h\""),
            "{err}"
        );
    }

    #[test]
    fn batch_ids_and_json_gltf_with_data_uri() {
        let mut bin = quad_positions();
        bin.extend_from_slice(&f32_bytes(&[0.0, 0.0, 1.0, 1.0]));
        let b64 = {
            const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut s = String::new();
            for chunk in bin.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
                for i in 0..=chunk.len() {
                    s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                }
            }
            s + &"=".repeat((3 - bin.len() % 3) % 3)
        };
        let json = format!(
            r#"{{"asset":{{"version":"2.0"}},"nodes":[{{"mesh":0}}],
            "meshes":[{{"primitives":[{{"attributes":{{"POSITION":0,"_BATCHID":1}},"mode":5}}]}}],
            "accessors":[{{"bufferView":0,"componentType":5126,"count":4,"type":"VEC3"}},
                         {{"bufferView":0,"byteOffset":48,"componentType":5126,"count":4,"type":"SCALAR"}}],
            "bufferViews":[{{"buffer":0,"byteLength":64}}],
            "buffers":[{{"byteLength":64,"uri":"data:application/octet-stream;base64,{b64}"}}]}}"#
        );
        let mut no_files = |uri: &str| -> std::io::Result<Vec<u8>> {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                uri.to_string(),
            ))
        };
        let model = decode_gltf(json.as_bytes(), &mut no_files).unwrap();
        assert_eq!(model.primitives[0].feature_ids, Some(vec![0, 0, 1, 1]));
        assert_eq!(model.primitives[0].positions[2], [1.0, 1.0, 0.0]);

        let external = json.replace(
            &format!("data:application/octet-stream;base64,{b64}"),
            "tile.bin",
        );
        let err = decode_gltf(external.as_bytes(), &mut no_files).unwrap_err();
        assert!(err.to_string().contains("tile.bin"), "{err}");
        let mut serve = |_: &str| Ok(bin.clone());
        assert_eq!(
            decode_gltf(external.as_bytes(), &mut serve)
                .unwrap()
                .primitives
                .len(),
            1
        );
    }

    #[test]
    fn meshopt_filters_match_the_reference_values() {
        // Octahedral (8-bit): meshoptimizer's own test vectors (tests.cpp, decodeFilterOct8).
        let mut oct = vec![
            0u8, 1, 127, 0, 0, 187, 127, 1, 255, 1, 127, 0, 14, 130, 127, 1,
        ];
        meshopt::decode_filter_for_test(&mut oct, 4, "OCTAHEDRAL");
        assert_eq!(
            oct,
            [0, 1, 127, 0, 0, 159, 82, 1, 255, 1, 127, 0, 1, 130, 241, 1]
        );
        // Exponential: 2^-1 × 3 = 1.5.
        let mut exp = ((0xffu32 << 24) | 3).to_le_bytes().to_vec();
        meshopt::decode_filter_for_test(&mut exp, 4, "EXPONENTIAL");
        assert_eq!(f32::from_le_bytes([exp[0], exp[1], exp[2], exp[3]]), 1.5);
    }

    #[test]
    fn meshopt_streams_that_lie_are_errors() {
        for (mode, stride) in [("ATTRIBUTES", 16), ("TRIANGLES", 4), ("INDICES", 2)] {
            let json = format!(
                r#"{{"asset":{{"version":"2.0"}},
                "bufferViews":[{{"buffer":1,"byteLength":400000000,"extensions":{{"EXT_meshopt_compression":
                    {{"buffer":0,"byteLength":40,"byteStride":{stride},"count":99999999,"mode":"{mode}"}}}}}}],
                "buffers":[{{"byteLength":40}},{{"byteLength":400000000,
                    "extensions":{{"EXT_meshopt_compression":{{"fallback":true}}}}}}]}}"#
            );
            let mut bin = vec![0xa0u8; 40];
            bin[0] = if mode == "ATTRIBUTES" { 0xa0 } else { 0xe0 };
            let err = decode_glb(&glb(&json, &bin)).unwrap_err().to_string();
            assert!(
                err.contains("bufferView 0") && err.contains("too few"),
                "{mode}: {err}"
            );
        }
    }

    #[test]
    fn instancing_past_the_vertex_budget_is_refused_before_decoding() {
        // 20M zero vertices (within the unbacked limit) instanced by 4 nodes: 80M vertices.
        let json = r#"{"asset":{"version":"2.0"},"scenes":[{"nodes":[0,1,2,3]}],
            "nodes":[{"mesh":0},{"mesh":0},{"mesh":0},{"mesh":0}],
            "meshes":[{"primitives":[{"attributes":{"POSITION":0},"mode":5}]}],
            "accessors":[{"componentType":5126,"count":20000000,"type":"VEC3"}]}"#;
        let err = decode_glb(&glb(json, &[])).unwrap_err().to_string();
        assert!(
            err.starts_with("node 3:") && err.contains("vertices"),
            "{err}"
        );
    }

    #[test]
    fn mutated_files_never_panic() {
        let Some(dir) = shared_data() else { return };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (file, rounds) in [
            ("gltf/BoxTextured.glb", 400),
            ("3dtiles/3dbag_tile_128/128.glb", 60),
        ] {
            let original = std::fs::read(dir.join(file)).unwrap();
            let mut failures = 0;
            for _ in 0..rounds {
                let mut bytes = original.clone();
                for _ in 0..1 + next() % 4 {
                    let at = (next() % bytes.len() as u64) as usize;
                    bytes[at] = next() as u8;
                }
                failures += usize::from(decode_glb(&bytes).is_err());
            }
            eprintln!("{file}: {failures} of {rounds} mutations rejected, none panicked");
        }
    }
}
