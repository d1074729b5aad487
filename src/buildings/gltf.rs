//! glTF 2.0 / GLB decoding into a [`Model`]: scene graph, triangles, materials, base-colour
//! textures, feature IDs and the `EXT_structural_metadata` property table.
//!
//! # How it works
//!
//! The JSON chunk is read with small serde structs (not the `gltf` crate, which refuses files that
//! *require* `EXT_meshopt_compression`, as 3DBAG tiles do). Buffers are borrowed from the GLB `BIN`
//! chunk or loaded from `data:` URIs / a caller-supplied resolver; every `EXT_meshopt_compression`
//! buffer view is decompressed once, up front, by the pure-Rust decoder in `mod meshopt` below. The
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

use glam::{DMat4, DQuat, DVec3};
use serde::Deserialize;
use serde_json::Value;

use crate::buildings::model::{
    AlphaMode, Material, Model, Primitive, PropertyColumn, PropertyTable, PropertyValue, Texture,
};

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

// ---------------------------------------------------------------------------------------------
// JSON model (only the members the twin uses; unknown members are ignored).

fn default_mode() -> u32 {
    4
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Root {
    asset: Option<Asset>,
    #[serde(default)]
    extensions_required: Vec<String>,
    scene: Option<usize>,
    #[serde(default)]
    scenes: Vec<Scene>,
    #[serde(default)]
    nodes: Vec<Node>,
    #[serde(default)]
    meshes: Vec<Mesh>,
    #[serde(default)]
    accessors: Vec<Accessor>,
    #[serde(default)]
    buffer_views: Vec<BufferView>,
    #[serde(default)]
    buffers: Vec<Buffer>,
    #[serde(default)]
    materials: Vec<MaterialJson>,
    #[serde(default)]
    textures: Vec<TextureJson>,
    #[serde(default)]
    images: Vec<ImageJson>,
    #[serde(default)]
    extensions: RootExtensions,
}

#[derive(Deserialize)]
struct Asset {
    version: String,
}

#[derive(Deserialize)]
struct Scene {
    #[serde(default)]
    nodes: Vec<usize>,
}

#[derive(Deserialize)]
struct Node {
    #[serde(default)]
    children: Vec<usize>,
    mesh: Option<usize>,
    matrix: Option<[f64; 16]>,
    translation: Option<[f64; 3]>,
    rotation: Option<[f64; 4]>,
    scale: Option<[f64; 3]>,
}

#[derive(Deserialize)]
struct Mesh {
    #[serde(default)]
    primitives: Vec<PrimitiveJson>,
}

#[derive(Deserialize)]
struct PrimitiveJson {
    #[serde(default)]
    attributes: BTreeMap<String, usize>,
    indices: Option<usize>,
    material: Option<usize>,
    #[serde(default = "default_mode")]
    mode: u32,
    #[serde(default)]
    extensions: PrimitiveExtensions,
}

#[derive(Default, Deserialize)]
struct PrimitiveExtensions {
    #[serde(rename = "EXT_mesh_features")]
    mesh_features: Option<MeshFeatures>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MeshFeatures {
    #[serde(default)]
    feature_ids: Vec<FeatureIdSet>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeatureIdSet {
    null_feature_id: Option<u64>,
    attribute: Option<usize>,
    texture: Option<Value>,
    property_table: Option<usize>,
    /// Draft `EXT_mesh_features` implicit IDs: `offset + vertex / repeat`.
    offset: Option<u64>,
    repeat: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Accessor {
    buffer_view: Option<usize>,
    #[serde(default)]
    byte_offset: usize,
    component_type: u32,
    #[serde(default)]
    normalized: bool,
    count: usize,
    #[serde(rename = "type")]
    kind: String,
    sparse: Option<Sparse>,
}

#[derive(Deserialize)]
struct Sparse {
    count: usize,
    indices: SparseIndices,
    values: SparseValues,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SparseIndices {
    buffer_view: usize,
    #[serde(default)]
    byte_offset: usize,
    component_type: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SparseValues {
    buffer_view: usize,
    #[serde(default)]
    byte_offset: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BufferView {
    buffer: usize,
    #[serde(default)]
    byte_offset: usize,
    byte_length: usize,
    byte_stride: Option<usize>,
    #[serde(default)]
    extensions: BufferViewExtensions,
}

#[derive(Default, Deserialize)]
struct BufferViewExtensions {
    #[serde(rename = "EXT_meshopt_compression")]
    meshopt: Option<MeshoptView>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MeshoptView {
    buffer: usize,
    #[serde(default)]
    byte_offset: usize,
    byte_length: usize,
    byte_stride: usize,
    count: usize,
    mode: String,
    filter: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Buffer {
    uri: Option<String>,
    byte_length: usize,
    #[serde(default)]
    extensions: BufferExtensions,
}

#[derive(Default, Deserialize)]
struct BufferExtensions {
    #[serde(rename = "EXT_meshopt_compression")]
    meshopt: Option<MeshoptBuffer>,
}

#[derive(Deserialize)]
struct MeshoptBuffer {
    #[serde(default)]
    fallback: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaterialJson {
    pbr_metallic_roughness: Option<Pbr>,
    #[serde(default)]
    double_sided: bool,
    alpha_mode: Option<String>,
    alpha_cutoff: Option<f32>,
    #[serde(default)]
    extensions: MaterialExtensions,
}

#[derive(Default, Deserialize)]
struct MaterialExtensions {
    #[serde(rename = "KHR_materials_unlit")]
    unlit: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pbr {
    base_color_factor: Option<[f32; 4]>,
    base_color_texture: Option<TextureRef>,
    metallic_factor: Option<f32>,
    roughness_factor: Option<f32>,
}

#[derive(Deserialize)]
struct TextureRef {
    index: usize,
}

#[derive(Deserialize)]
struct TextureJson {
    source: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageJson {
    uri: Option<String>,
    buffer_view: Option<usize>,
}

#[derive(Default, Deserialize)]
struct RootExtensions {
    #[serde(rename = "EXT_structural_metadata")]
    metadata: Option<StructuralMetadata>,
    #[serde(rename = "CESIUM_RTC")]
    rtc: Option<CesiumRtc>,
}

#[derive(Deserialize)]
struct CesiumRtc {
    center: [f64; 3],
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StructuralMetadata {
    schema: Option<Schema>,
    #[serde(default)]
    property_tables: Vec<PropertyTableJson>,
}

#[derive(Deserialize)]
struct Schema {
    #[serde(default)]
    classes: OrderedMap<Class>,
    #[serde(default)]
    enums: OrderedMap<EnumJson>,
}

#[derive(Deserialize)]
struct Class {
    #[serde(default)]
    properties: OrderedMap<ClassProperty>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClassProperty {
    #[serde(rename = "type")]
    kind: String,
    component_type: Option<String>,
    enum_type: Option<String>,
    #[serde(default)]
    array: bool,
    count: Option<usize>,
    #[serde(default)]
    normalized: bool,
    offset: Option<Value>,
    scale: Option<Value>,
    no_data: Option<Value>,
    default: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnumJson {
    value_type: Option<String>,
    #[serde(default)]
    values: Vec<EnumValueJson>,
}

#[derive(Deserialize)]
struct EnumValueJson {
    name: String,
    value: i64,
}

#[derive(Deserialize)]
struct PropertyTableJson {
    class: String,
    count: usize,
    #[serde(default)]
    properties: OrderedMap<TableProperty>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TableProperty {
    values: usize,
    array_offsets: Option<usize>,
    string_offsets: Option<usize>,
    array_offset_type: Option<String>,
    string_offset_type: Option<String>,
    offset: Option<Value>,
    scale: Option<Value>,
}

/// A JSON object kept in file order (class properties become columns in this order, whatever
/// features `serde_json` is built with).
struct OrderedMap<T>(Vec<(String, T)>);

impl<T> Default for OrderedMap<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> OrderedMap<T> {
    fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrderedMap<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<T> {
            type Value = OrderedMap<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, T>()? {
                    entries.push(entry);
                }
                Ok(OrderedMap(entries))
            }
        }
        deserializer.deserialize_map(Visitor(PhantomData))
    }
}

// ---------------------------------------------------------------------------------------------
// Document: resolved buffers and decompressed buffer views.

enum BufferData<'a> {
    Bytes(Cow<'a, [u8]>),
    Unavailable(String),
}

struct Document<'a> {
    root: Root,
    buffers: Vec<BufferData<'a>>,
    /// `EXT_meshopt_compression` views, decompressed (`None` for plain views).
    decoded_views: Vec<Option<Vec<u8>>>,
}

struct ViewData<'d> {
    bytes: &'d [u8],
    stride: Option<usize>,
}

fn decode_parts(
    json: &[u8],
    bin: Option<&[u8]>,
    mut resolve: Resolver,
) -> Result<Model, GltfError> {
    // JSON chunks are padded with spaces, but some writers pad with NULs.
    let end = json
        .iter()
        .rposition(|&b| b != 0 && !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let root: Root = serde_json::from_slice(&json[..end])?;

    let version = root
        .asset
        .as_ref()
        .map(|a| a.version.as_str())
        .unwrap_or("");
    if version.split('.').next() != Some("2") {
        return Err(GltfError::AssetVersion(version.to_string()));
    }
    let unsupported: Vec<&str> = root
        .extensions_required
        .iter()
        .map(String::as_str)
        .filter(|name| !SUPPORTED_EXTENSIONS.contains(name))
        .collect();
    if !unsupported.is_empty() {
        return Err(GltfError::UnsupportedExtensions {
            names: unsupported.join(", "),
        });
    }

    let buffers = resolve_buffers(&root, bin, &mut resolve)?;
    let mut doc = Document {
        root,
        buffers,
        decoded_views: Vec::new(),
    };
    doc.decoded_views = doc.decompress_views()?;
    doc.model(&mut resolve)
}

fn resolve_buffers<'a>(
    root: &Root,
    bin: Option<&'a [u8]>,
    resolve: &mut Resolver,
) -> Result<Vec<BufferData<'a>>, GltfError> {
    let mut out = Vec::with_capacity(root.buffers.len());
    for (i, buffer) in root.buffers.iter().enumerate() {
        let fallback = buffer
            .extensions
            .meshopt
            .as_ref()
            .is_some_and(|m| m.fallback);
        let data = match (&buffer.uri, bin) {
            (None, Some(bin)) if i == 0 => match bin.get(..buffer.byte_length) {
                Some(bytes) => BufferData::Bytes(Cow::Borrowed(bytes)),
                None => {
                    return Err(GltfError::BufferUnavailable {
                        buffer: i,
                        reason: format!(
                            "its byteLength {} exceeds the {}-byte GLB BIN chunk",
                            buffer.byte_length,
                            bin.len()
                        ),
                    });
                }
            },
            _ if fallback => BufferData::Unavailable(
                "it is an EXT_meshopt_compression fallback buffer and is never read".into(),
            ),
            (None, _) => {
                BufferData::Unavailable("it has no uri and is not the GLB BIN chunk".into())
            }
            (Some(uri), _) => match load_uri(uri, resolve) {
                Ok(mut bytes) => {
                    if bytes.len() < buffer.byte_length {
                        return Err(GltfError::BufferUnavailable {
                            buffer: i,
                            reason: format!(
                                "its byteLength is {} but {uri_short:?} holds {} bytes",
                                buffer.byte_length,
                                bytes.len(),
                                uri_short = short_uri(uri)
                            ),
                        });
                    }
                    bytes.truncate(buffer.byte_length);
                    BufferData::Bytes(Cow::Owned(bytes))
                }
                // Without a resolver an external buffer is only an error if something reads it.
                Err(GltfError::Uri { reason, .. }) if resolve.is_none() => {
                    BufferData::Unavailable(reason)
                }
                Err(e) => return Err(e),
            },
        };
        out.push(data);
    }
    Ok(out)
}

fn short_uri(uri: &str) -> &str {
    if uri.starts_with("data:") {
        uri.split(',').next().unwrap_or("data:")
    } else {
        uri
    }
}

fn load_uri(uri: &str, resolve: &mut Resolver) -> Result<Vec<u8>, GltfError> {
    if let Some(rest) = uri.strip_prefix("data:") {
        let (header, payload) = rest.split_once(',').ok_or_else(|| GltfError::Uri {
            uri: short_uri(uri).to_string(),
            reason: "data URI has no ','".into(),
        })?;
        if !header.ends_with(";base64") {
            return Err(GltfError::Uri {
                uri: short_uri(uri).to_string(),
                reason: "only base64 data URIs are supported".into(),
            });
        }
        return decode_base64(payload).map_err(|reason| GltfError::Uri {
            uri: short_uri(uri).to_string(),
            reason,
        });
    }
    match resolve {
        Some(resolve) => resolve(uri).map_err(|source| GltfError::UriLoad {
            uri: uri.to_string(),
            source,
        }),
        None => Err(GltfError::Uri {
            uri: uri.to_string(),
            reason: format!("external file {uri:?} needs decode_gltf with a resolver"),
        }),
    }
}

fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for (i, c) in text.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return Err(format!("invalid base64 character {:?} at {i}", c as char)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// A glTF accessor component type.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ComponentType {
    I8,
    U8,
    I16,
    U16,
    U32,
    F32,
}

impl ComponentType {
    fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            5120 => Self::I8,
            5121 => Self::U8,
            5122 => Self::I16,
            5123 => Self::U16,
            5125 => Self::U32,
            5126 => Self::F32,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::U32 | Self::F32 => 4,
        }
    }

    /// `b` holds exactly `self.size()` bytes.
    fn read_f32(self, b: &[u8], normalized: bool) -> f32 {
        let raw = |max: f32, v: f32| if normalized { (v / max).max(-1.0) } else { v };
        match *b {
            [x] if self == Self::I8 => raw(127.0, f32::from(x as i8)),
            [x] => raw(255.0, f32::from(x)),
            [x, y] if self == Self::I16 => raw(32767.0, f32::from(i16::from_le_bytes([x, y]))),
            [x, y] => raw(65535.0, f32::from(u16::from_le_bytes([x, y]))),
            [x, y, z, w] if self == Self::F32 => f32::from_le_bytes([x, y, z, w]),
            [x, y, z, w] => {
                let v = u32::from_le_bytes([x, y, z, w]);
                if normalized {
                    (f64::from(v) / f64::from(u32::MAX)) as f32
                } else {
                    v as f32
                }
            }
            _ => 0.0,
        }
    }

    /// Reads an unsigned integer (index or feature ID); `None` if negative, fractional or huge.
    fn read_u32(self, b: &[u8]) -> Option<u32> {
        match *b {
            [x] if self == Self::I8 => u32::try_from(x as i8).ok(),
            [x] => Some(u32::from(x)),
            [x, y] if self == Self::I16 => u32::try_from(i16::from_le_bytes([x, y])).ok(),
            [x, y] => Some(u32::from(u16::from_le_bytes([x, y]))),
            [x, y, z, w] if self == Self::F32 => {
                let f = f32::from_le_bytes([x, y, z, w]);
                let r = f.round();
                ((r - f).abs() < 1e-3 && (0.0..4_294_967_296.0).contains(&r)).then_some(r as u32)
            }
            [x, y, z, w] => Some(u32::from_le_bytes([x, y, z, w])),
            _ => None,
        }
    }
}

fn component_count(kind: &str) -> Option<usize> {
    Some(match kind {
        "SCALAR" => 1,
        "VEC2" => 2,
        "VEC3" => 3,
        "VEC4" | "MAT2" => 4,
        "MAT3" => 9,
        "MAT4" => 16,
        _ => return None,
    })
}

/// Where one element of an accessor starts, for plain and sparse reads alike.
struct Layout<'d> {
    ctype: ComponentType,
    comps: usize,
    count: usize,
    /// `(bytes, first element offset, stride)`; `None` = zeros.
    dense: Option<(&'d [u8], usize, usize)>,
}

impl<'a> Document<'a> {
    fn decompress_views(&self) -> Result<Vec<Option<Vec<u8>>>, GltfError> {
        let mut out = Vec::with_capacity(self.root.buffer_views.len());
        for (i, view) in self.root.buffer_views.iter().enumerate() {
            let Some(m) = &view.extensions.meshopt else {
                out.push(None);
                continue;
            };
            let err = |reason: String| GltfError::Meshopt { view: i, reason };
            let source = self.buffer(m.buffer, &format!("bufferView {i}"))?;
            let compressed = m
                .byte_offset
                .checked_add(m.byte_length)
                .and_then(|end| source.get(m.byte_offset..end))
                .ok_or_else(|| {
                    err(format!(
                        "compressed bytes {}..+{} lie outside buffer {} of {} bytes",
                        m.byte_offset,
                        m.byte_length,
                        m.buffer,
                        source.len()
                    ))
                })?;
            let mode = match m.mode.as_str() {
                "ATTRIBUTES" => meshopt::Mode::Attributes,
                "TRIANGLES" => meshopt::Mode::Triangles,
                "INDICES" => meshopt::Mode::Indices,
                other => return Err(err(format!("unknown mode {other:?}"))),
            };
            let filter = match m.filter.as_deref().unwrap_or("NONE") {
                "NONE" => meshopt::Filter::None,
                "OCTAHEDRAL" => meshopt::Filter::Octahedral,
                "QUATERNION" => meshopt::Filter::Quaternion,
                "EXPONENTIAL" => meshopt::Filter::Exponential,
                other => return Err(err(format!("unknown filter {other:?}"))),
            };
            let mut decoded =
                meshopt::decode(compressed, m.count, m.byte_stride, mode, filter).map_err(err)?;
            if decoded.len() < view.byte_length {
                return Err(err(format!(
                    "{} elements of {} bytes decode to {} bytes, less than the bufferView's byteLength {}",
                    m.count,
                    m.byte_stride,
                    decoded.len(),
                    view.byte_length
                )));
            }
            decoded.truncate(view.byte_length);
            out.push(Some(decoded));
        }
        Ok(out)
    }

    fn buffer(&self, index: usize, referrer: &str) -> Result<&[u8], GltfError> {
        match self.buffers.get(index) {
            Some(BufferData::Bytes(bytes)) => Ok(bytes),
            Some(BufferData::Unavailable(reason)) => Err(GltfError::BufferUnavailable {
                buffer: index,
                reason: format!("{reason} (read by {referrer})"),
            }),
            None => Err(missing(referrer, "buffer", index, self.buffers.len())),
        }
    }

    fn view(&self, index: usize, referrer: &str) -> Result<ViewData<'_>, GltfError> {
        let view =
            self.root.buffer_views.get(index).ok_or_else(|| {
                missing(referrer, "bufferView", index, self.root.buffer_views.len())
            })?;
        let stride = view.byte_stride.filter(|&s| s > 0);
        if let Some(Some(decoded)) = self.decoded_views.get(index) {
            return Ok(ViewData {
                bytes: decoded,
                stride,
            });
        }
        let buffer = self.buffer(view.buffer, &format!("bufferView {index}"))?;
        let bytes = view
            .byte_offset
            .checked_add(view.byte_length)
            .and_then(|end| buffer.get(view.byte_offset..end))
            .ok_or(GltfError::BufferViewOutOfRange {
                view: index,
                buffer: view.buffer,
                offset: view.byte_offset,
                length: view.byte_length,
                buffer_len: buffer.len(),
            })?;
        Ok(ViewData { bytes, stride })
    }

    fn accessor(&self, index: usize, referrer: &str) -> Result<&Accessor, GltfError> {
        self.root
            .accessors
            .get(index)
            .ok_or_else(|| missing(referrer, "accessor", index, self.root.accessors.len()))
    }

    /// Validates an accessor and finds its bytes; `kinds` lists the accepted `type`s.
    fn layout(
        &self,
        index: usize,
        referrer: &str,
        kinds: &[&str],
    ) -> Result<Layout<'_>, GltfError> {
        let acc = self.accessor(index, referrer)?;
        let err = |reason: String| GltfError::Accessor {
            accessor: index,
            reason,
        };
        if !kinds.contains(&acc.kind.as_str()) {
            return Err(err(format!(
                "type is {}, expected {} (used as {referrer})",
                acc.kind,
                kinds.join(" or ")
            )));
        }
        let comps = component_count(&acc.kind)
            .ok_or_else(|| err(format!("unknown type {:?}", acc.kind)))?;
        let ctype = ComponentType::from_code(acc.component_type)
            .ok_or_else(|| err(format!("unknown componentType {}", acc.component_type)))?;
        let element = comps * ctype.size();
        let dense = match acc.buffer_view {
            Some(v) => {
                let view = self.view(v, &format!("accessor {index}"))?;
                let stride = view.stride.unwrap_or(element);
                if stride < element {
                    return Err(err(format!(
                        "bufferView {v} byteStride {stride} is smaller than one {element}-byte element"
                    )));
                }
                if acc.count > 0 {
                    let needed = (acc.count - 1)
                        .checked_mul(stride)
                        .and_then(|n| n.checked_add(element))
                        .and_then(|n| n.checked_add(acc.byte_offset));
                    if needed.is_none_or(|n| n > view.bytes.len()) {
                        return Err(err(format!(
                            "{} elements of {element} bytes (stride {stride}) from byteOffset {} do not fit in the {} bytes of bufferView {v}",
                            acc.count,
                            acc.byte_offset,
                            view.bytes.len()
                        )));
                    }
                }
                Some((view.bytes, acc.byte_offset, stride))
            }
            None => {
                if acc
                    .count
                    .checked_mul(element)
                    .is_none_or(|n| n > MAX_UNBACKED_ACCESSOR_BYTES)
                {
                    return Err(err(format!(
                        "{} elements without a bufferView exceed the {MAX_UNBACKED_ACCESSOR_BYTES}-byte limit",
                        acc.count
                    )));
                }
                None
            }
        };
        Ok(Layout {
            ctype,
            comps,
            count: acc.count,
            dense,
        })
    }

    /// Reads every component of an accessor (sparse substitution included), flattened.
    fn read<T: Copy + Default>(
        &self,
        index: usize,
        referrer: &str,
        kinds: &[&str],
        convert: impl Fn(ComponentType, &[u8]) -> Result<T, String>,
    ) -> Result<(Vec<T>, usize), GltfError> {
        let layout = self.layout(index, referrer, kinds)?;
        let err = |reason: String| GltfError::Accessor {
            accessor: index,
            reason,
        };
        let size = layout.ctype.size();
        let comps = layout.comps;
        let mut out = Vec::with_capacity(layout.count * comps);
        match layout.dense {
            Some((bytes, start, stride)) => {
                for i in 0..layout.count {
                    let base = start + i * stride;
                    for c in 0..comps {
                        let at = base + c * size;
                        out.push(convert(layout.ctype, &bytes[at..at + size]).map_err(&err)?);
                    }
                }
            }
            None => out.resize(layout.count * comps, T::default()),
        }

        if let Some(sparse) = &self.accessor(index, referrer)?.sparse {
            if sparse.count > layout.count {
                return Err(err(format!(
                    "sparse count {} exceeds the accessor count {}",
                    sparse.count, layout.count
                )));
            }
            let itype = ComponentType::from_code(sparse.indices.component_type)
                .filter(|t| {
                    matches!(
                        t,
                        ComponentType::U8 | ComponentType::U16 | ComponentType::U32
                    )
                })
                .ok_or_else(|| {
                    err(format!(
                        "sparse indices componentType {} is not an unsigned integer",
                        sparse.indices.component_type
                    ))
                })?;
            let referrer = format!("accessor {index} (sparse)");
            let indices = self.view(sparse.indices.buffer_view, &referrer)?.bytes;
            let values = self.view(sparse.values.buffer_view, &referrer)?.bytes;
            let element = comps * size;
            let fits = |bytes: &[u8], offset: usize, each: usize| {
                sparse
                    .count
                    .checked_mul(each)
                    .and_then(|n| n.checked_add(offset))
                    .is_some_and(|n| n <= bytes.len())
            };
            if !fits(indices, sparse.indices.byte_offset, itype.size()) {
                return Err(err(format!(
                    "{} sparse indices do not fit in bufferView {}",
                    sparse.count, sparse.indices.buffer_view
                )));
            }
            if !fits(values, sparse.values.byte_offset, element) {
                return Err(err(format!(
                    "{} sparse values do not fit in bufferView {}",
                    sparse.count, sparse.values.buffer_view
                )));
            }
            for k in 0..sparse.count {
                let at = sparse.indices.byte_offset + k * itype.size();
                let target = itype
                    .read_u32(&indices[at..at + itype.size()])
                    .unwrap_or(u32::MAX) as usize;
                if target >= layout.count {
                    return Err(err(format!(
                        "sparse index {target} (entry {k}) is out of range of {} elements",
                        layout.count
                    )));
                }
                for c in 0..comps {
                    let at = sparse.values.byte_offset + k * element + c * size;
                    out[target * comps + c] =
                        convert(layout.ctype, &values[at..at + size]).map_err(&err)?;
                }
            }
        }
        Ok((out, comps))
    }

    fn read_floats(
        &self,
        index: usize,
        referrer: &str,
        kinds: &[&str],
        force_normalized: bool,
    ) -> Result<(Vec<f32>, usize), GltfError> {
        let normalized = force_normalized || self.accessor(index, referrer)?.normalized;
        self.read(index, referrer, kinds, |t, b| {
            Ok(t.read_f32(b, normalized && t != ComponentType::F32))
        })
    }

    fn read_vec3(&self, index: usize, referrer: &str) -> Result<Vec<[f32; 3]>, GltfError> {
        let (flat, _) = self.read_floats(index, referrer, &["VEC3"], false)?;
        Ok(flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
    }

    fn read_uints(&self, index: usize, referrer: &str) -> Result<Vec<u32>, GltfError> {
        let (values, _) = self.read(index, referrer, &["SCALAR"], |t, b| {
            t.read_u32(b).ok_or_else(|| {
                format!(
                    "value {} is not a non-negative integer (used as {referrer})",
                    t.read_f32(b, false)
                )
            })
        })?;
        Ok(values)
    }

    // -----------------------------------------------------------------------------------------
    // Scene walk.

    fn model(&self, resolve: &mut Resolver) -> Result<Model, GltfError> {
        let root = &self.root;
        let mut decoded: Vec<(Primitive, Option<usize>)> = Vec::new();
        let mut visited = vec![false; root.nodes.len()];
        let (mut scene_vertices, mut scene_indices) = (0usize, 0usize);
        let mut stack: Vec<(usize, DMat4)> = self
            .scene_roots()?
            .into_iter()
            .rev()
            .map(|n| (n, DMat4::IDENTITY))
            .collect();
        while let Some((node_index, parent)) = stack.pop() {
            let node = root
                .nodes
                .get(node_index)
                .ok_or_else(|| missing("the scene graph", "node", node_index, root.nodes.len()))?;
            if std::mem::replace(&mut visited[node_index], true) {
                return Err(GltfError::Node {
                    node: node_index,
                    reason: "is reached twice: the node hierarchy is not a tree".into(),
                });
            }
            let world = parent * local_matrix(node);
            if let Some(mesh_index) = node.mesh {
                let mesh = root.meshes.get(mesh_index).ok_or_else(|| {
                    missing(
                        &format!("node {node_index}"),
                        "mesh",
                        mesh_index,
                        root.meshes.len(),
                    )
                })?;
                for (p, prim) in mesh.primitives.iter().enumerate() {
                    // Check the budget from the JSON counts before anything is decoded.
                    let count = |a: Option<&usize>| {
                        a.and_then(|&a| self.root.accessors.get(a))
                            .map_or(0, |a| a.count)
                    };
                    let vertices = count(prim.attributes.get("POSITION"));
                    scene_vertices = scene_vertices.saturating_add(vertices);
                    scene_indices = scene_indices.saturating_add(
                        count(prim.indices.as_ref()).max(vertices).saturating_mul(3),
                    );
                    if scene_vertices > MAX_SCENE_VERTICES || scene_indices > 9 * MAX_SCENE_VERTICES
                    {
                        return Err(GltfError::Node {
                            node: node_index,
                            reason: format!(
                                "mesh {mesh_index} takes the scene past {MAX_SCENE_VERTICES} vertices or {} indices",
                                9 * MAX_SCENE_VERTICES
                            ),
                        });
                    }
                    if let Some(out) = self.primitive(mesh_index, p, prim, world)? {
                        decoded.push(out);
                    }
                }
            }
            stack.extend(node.children.iter().rev().map(|&c| (c, world)));
        }

        // One property table per model: the first that a primitive's feature IDs point into.
        let table_index = decoded.iter().find_map(|(_, t)| *t);
        let properties = match table_index {
            Some(t) => self.property_table(t)?,
            None => None,
        };
        let primitives = decoded
            .into_iter()
            .map(|(mut p, t)| {
                // IDs into another table would show the wrong attributes.
                if t.is_some() && t != table_index {
                    p.feature_ids = None;
                }
                p
            })
            .collect();

        let (materials, textures) = self.materials_and_textures(resolve)?;
        Ok(Model {
            primitives,
            materials,
            textures,
            properties,
            rtc_center: root.extensions.rtc.as_ref().map(|r| r.center),
        })
    }

    fn scene_roots(&self) -> Result<Vec<usize>, GltfError> {
        let root = &self.root;
        if let Some(s) = root.scene {
            let scene = root
                .scenes
                .get(s)
                .ok_or_else(|| missing("the root 'scene'", "scene", s, root.scenes.len()))?;
            return Ok(scene.nodes.clone());
        }
        if let Some(scene) = root.scenes.first() {
            return Ok(scene.nodes.clone());
        }
        let mut is_child = vec![false; root.nodes.len()];
        for node in &root.nodes {
            for &c in &node.children {
                if let Some(flag) = is_child.get_mut(c) {
                    *flag = true;
                }
            }
        }
        Ok((0..root.nodes.len()).filter(|&n| !is_child[n]).collect())
    }

    /// Decodes one primitive; `None` for points and lines. The second value is the property
    /// table its feature IDs point into.
    fn primitive(
        &self,
        mesh: usize,
        index: usize,
        prim: &PrimitiveJson,
        model_from_mesh: DMat4,
    ) -> Result<Option<(Primitive, Option<usize>)>, GltfError> {
        let err = |reason: String| GltfError::Primitive {
            mesh,
            primitive: index,
            reason,
        };
        match prim.mode {
            0..=3 => return Ok(None),
            4..=6 => {}
            m => return Err(err(format!("mode {m} is not a glTF primitive mode"))),
        }
        let referrer = |attr: &str| format!("mesh {mesh} primitive {index} {attr}");
        let position = *prim
            .attributes
            .get("POSITION")
            .ok_or_else(|| err("has no POSITION attribute".into()))?;
        let positions = self.read_vec3(position, &referrer("POSITION"))?;
        let n = positions.len();
        let same_count = |what: &str, len: usize| {
            if len == n {
                Ok(())
            } else {
                Err(err(format!(
                    "{what} has {len} elements but POSITION has {n}"
                )))
            }
        };

        let normals = match prim.attributes.get("NORMAL") {
            Some(&a) => {
                let v = self.read_vec3(a, &referrer("NORMAL"))?;
                same_count("NORMAL", v.len())?;
                Some(v)
            }
            None => None,
        };
        let uvs = match prim.attributes.get("TEXCOORD_0") {
            Some(&a) => {
                let (flat, _) = self.read_floats(a, &referrer("TEXCOORD_0"), &["VEC2"], false)?;
                let v: Vec<[f32; 2]> = flat.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
                same_count("TEXCOORD_0", v.len())?;
                Some(v)
            }
            None => None,
        };
        let colors = match prim.attributes.get("COLOR_0") {
            Some(&a) => {
                // Integer colours are always normalised (glTF 2.0 §3.7.2.1).
                let (flat, comps) =
                    self.read_floats(a, &referrer("COLOR_0"), &["VEC3", "VEC4"], true)?;
                let v: Vec<[f32; 4]> = flat
                    .chunks_exact(comps)
                    .map(|c| [c[0], c[1], c[2], c.get(3).copied().unwrap_or(1.0)])
                    .collect();
                same_count("COLOR_0", v.len())?;
                Some(v)
            }
            None => None,
        };

        let vertex_count =
            u32::try_from(n).map_err(|_| err(format!("{n} vertices exceed u32 indices")))?;
        let indices = match prim.indices {
            Some(a) => {
                let indices = self.read_uints(a, &referrer("indices"))?;
                if let Some((i, &v)) = indices
                    .iter()
                    .enumerate()
                    .find(|&(_, &v)| v >= vertex_count)
                {
                    return Err(err(format!(
                        "index {i} of accessor {a} is {v}, out of range of {n} vertices"
                    )));
                }
                indices
            }
            None => (0..vertex_count).collect(),
        };
        let indices = triangle_list(prim.mode, indices).map_err(err)?;

        let (feature_ids, table) = self.feature_ids(prim, n, &referrer, &err)?;
        if let Some(ids) = &feature_ids {
            same_count("the feature ID attribute", ids.len())?;
        }
        if let Some(m) = prim.material
            && m >= self.root.materials.len()
        {
            return Err(missing(
                &format!("mesh {mesh} primitive {index}"),
                "material",
                m,
                self.root.materials.len(),
            ));
        }

        Ok(Some((
            Primitive {
                model_from_mesh,
                positions,
                normals,
                uvs,
                colors,
                indices,
                feature_ids,
                material: prim.material,
            },
            table,
        )))
    }

    fn feature_ids(
        &self,
        prim: &PrimitiveJson,
        vertex_count: usize,
        referrer: &dyn Fn(&str) -> String,
        err: &dyn Fn(String) -> GltfError,
    ) -> Result<(Option<Vec<u32>>, Option<usize>), GltfError> {
        if let Some(features) = &prim.extensions.mesh_features {
            // Feature ID textures are not decoded; attribute and implicit sets are.
            let mut usable = features.feature_ids.iter().filter(|s| s.texture.is_none());
            let chosen = usable
                .clone()
                .find(|s| s.property_table.is_some())
                .or_else(|| usable.next());
            let Some(set) = chosen else {
                return Ok((None, None));
            };
            let mut ids = match set.attribute {
                Some(k) => {
                    let name = format!("_FEATURE_ID_{k}");
                    let a = *prim.attributes.get(&name).ok_or_else(|| {
                        err(format!(
                            "EXT_mesh_features names {name}, which the primitive lacks"
                        ))
                    })?;
                    self.read_uints(a, &referrer(&name))?
                }
                None if set.offset.is_some() || set.repeat.is_some() => {
                    let offset = set.offset.unwrap_or(0);
                    let repeat = set.repeat.unwrap_or(0);
                    (0..vertex_count as u64)
                        .map(|v| {
                            let id = offset.saturating_add(v.checked_div(repeat).unwrap_or(0));
                            u32::try_from(id).unwrap_or(u32::MAX)
                        })
                        .collect()
                }
                None => (0..vertex_count as u64).map(|v| v as u32).collect(),
            };
            if let Some(null) = set.null_feature_id {
                ids.iter_mut()
                    .filter(|id| u64::from(**id) == null)
                    .for_each(|id| *id = u32::MAX);
            }
            return Ok((Some(ids), set.property_table));
        }
        let batch = prim
            .attributes
            .get("_BATCHID")
            .or_else(|| prim.attributes.get("BATCHID"));
        match batch {
            Some(&a) => Ok((Some(self.read_uints(a, &referrer("_BATCHID"))?), None)),
            None => Ok((None, None)),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Materials and textures.

    fn materials_and_textures(
        &self,
        resolve: &mut Resolver,
    ) -> Result<(Vec<Material>, Vec<Texture>), GltfError> {
        let root = &self.root;
        // Only base-colour images are decoded; `Model::textures` holds them in image order.
        let mut image_of_material = Vec::with_capacity(root.materials.len());
        for (i, m) in root.materials.iter().enumerate() {
            let texture = m
                .pbr_metallic_roughness
                .as_ref()
                .and_then(|p| p.base_color_texture.as_ref());
            let image = match texture {
                Some(t) => {
                    let tex = root.textures.get(t.index).ok_or_else(|| {
                        missing(
                            &format!("material {i}"),
                            "texture",
                            t.index,
                            root.textures.len(),
                        )
                    })?;
                    // A texture without `source` uses an extension image (WebP, KTX2): none here.
                    match tex.source {
                        Some(s) if s < root.images.len() => Some(s),
                        Some(s) => {
                            return Err(missing(
                                &format!("texture {}", t.index),
                                "image",
                                s,
                                root.images.len(),
                            ));
                        }
                        None => None,
                    }
                }
                None => None,
            };
            image_of_material.push(image);
        }
        let images: BTreeSet<usize> = image_of_material.iter().flatten().copied().collect();
        let mut textures = Vec::with_capacity(images.len());
        for &image in &images {
            textures.push(self.texture(image, resolve)?);
        }
        let slot = |image: usize| images.iter().position(|&i| i == image);

        let materials = root
            .materials
            .iter()
            .zip(image_of_material)
            .map(|(m, image)| {
                let pbr = m.pbr_metallic_roughness.as_ref();
                Material {
                    base_color: pbr.and_then(|p| p.base_color_factor).unwrap_or([1.0; 4]),
                    base_color_texture: image.and_then(slot),
                    metallic: pbr.and_then(|p| p.metallic_factor).unwrap_or(1.0),
                    roughness: pbr.and_then(|p| p.roughness_factor).unwrap_or(1.0),
                    double_sided: m.double_sided,
                    alpha_mode: match m.alpha_mode.as_deref() {
                        Some("MASK") => AlphaMode::Mask(m.alpha_cutoff.unwrap_or(0.5)),
                        Some("BLEND") => AlphaMode::Blend,
                        _ => AlphaMode::Opaque,
                    },
                    unlit: m.extensions.unlit.is_some(),
                }
            })
            .collect();
        Ok((materials, textures))
    }

    fn texture(&self, index: usize, resolve: &mut Resolver) -> Result<Texture, GltfError> {
        let image = self
            .root
            .images
            .get(index)
            .ok_or_else(|| missing("a material", "image", index, self.root.images.len()))?;
        let bytes: Cow<[u8]> = match (&image.buffer_view, &image.uri) {
            (Some(v), _) => Cow::Borrowed(self.view(*v, &format!("image {index}"))?.bytes),
            (None, Some(uri)) => Cow::Owned(load_uri(uri, resolve)?),
            (None, None) => {
                return Err(GltfError::Image {
                    image: index,
                    reason: "has neither bufferView nor uri".into(),
                });
            }
        };
        let format = image::guess_format(&bytes).map_err(|source| GltfError::ImageDecode {
            image: index,
            source,
        })?;
        if !matches!(format, image::ImageFormat::Png | image::ImageFormat::Jpeg) {
            return Err(GltfError::Image {
                image: index,
                reason: format!("is {format:?}; only PNG and JPEG are supported"),
            });
        }
        let rgba = image::load_from_memory_with_format(&bytes, format)
            .map_err(|source| GltfError::ImageDecode {
                image: index,
                source,
            })?
            .to_rgba8();
        Ok(Texture {
            width: rgba.width(),
            height: rgba.height(),
            rgba8: rgba.into_raw(),
        })
    }

    // -----------------------------------------------------------------------------------------
    // EXT_structural_metadata.

    fn property_table(&self, index: usize) -> Result<Option<PropertyTable>, GltfError> {
        let Some(meta) = &self.root.extensions.metadata else {
            return Err(missing("EXT_mesh_features", "property table", index, 0));
        };
        let table = meta.property_tables.get(index).ok_or_else(|| {
            missing(
                "EXT_mesh_features",
                "property table",
                index,
                meta.property_tables.len(),
            )
        })?;
        // An external schema (`schemaUri`) is not fetched: no properties then.
        let Some(schema) = &meta.schema else {
            return Ok(None);
        };
        let err = |property: &str, reason: String| GltfError::Metadata {
            table: index,
            property: property.to_string(),
            reason,
        };
        let class = schema
            .classes
            .get(&table.class)
            .ok_or_else(|| err("", format!("class {:?} is not in the schema", table.class)))?;
        if let Some((name, _)) = table
            .properties
            .0
            .iter()
            .find(|(n, _)| class.properties.get(n).is_none())
        {
            return Err(err(
                name,
                format!("is not a property of class {:?}", table.class),
            ));
        }
        let mut columns = Vec::new();
        for (name, class_property) in &class.properties.0 {
            if let Some(table_property) = table.properties.get(name) {
                let column = ColumnReader {
                    doc: self,
                    table: index,
                    name,
                    count: table.count,
                    class: class_property,
                    property: table_property,
                    schema,
                };
                columns.push(PropertyColumn {
                    name: name.clone(),
                    values: column.read()?,
                });
            }
        }
        Ok(Some(PropertyTable {
            class: table.class.clone(),
            count: table.count,
            columns,
        }))
    }
}

fn missing(referrer: &str, kind: &'static str, index: usize, len: usize) -> GltfError {
    GltfError::MissingIndex {
        referrer: referrer.to_string(),
        kind,
        index,
        len,
    }
}

fn local_matrix(node: &Node) -> DMat4 {
    if let Some(m) = node.matrix {
        return DMat4::from_cols_array(&m);
    }
    let translation = node.translation.map_or(DVec3::ZERO, DVec3::from_array);
    let scale = node.scale.map_or(DVec3::ONE, DVec3::from_array);
    let rotation = node
        .rotation
        .map(|[x, y, z, w]| DQuat::from_xyzw(x, y, z, w))
        .filter(|q| q.length() > 1e-12)
        .map_or(DQuat::IDENTITY, DQuat::normalize);
    DMat4::from_scale_rotation_translation(scale, rotation, translation)
}

/// Expands triangles (4), strips (5) and fans (6) into a triangle list.
fn triangle_list(mode: u32, indices: Vec<u32>) -> Result<Vec<u32>, String> {
    let n = indices.len();
    match mode {
        5 | 6 if n < 3 => Ok(Vec::new()),
        5 => Ok((0..n - 2)
            .flat_map(|i| {
                let odd = i % 2;
                [indices[i], indices[i + 1 + odd], indices[i + 2 - odd]]
            })
            .collect()),
        6 => Ok((0..n - 2)
            .flat_map(|i| [indices[i + 1], indices[i + 2], indices[0]])
            .collect()),
        _ if !n.is_multiple_of(3) => Err(format!("{n} triangle indices are not a multiple of 3")),
        _ => Ok(indices),
    }
}

// ---------------------------------------------------------------------------------------------
// Property table columns.

#[derive(Clone, Copy, Debug, PartialEq)]
enum MetaType {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

#[derive(Clone, Copy, Debug)]
enum Raw {
    Int(i128),
    Float(f64),
}

impl MetaType {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "INT8" => Self::I8,
            "UINT8" => Self::U8,
            "INT16" => Self::I16,
            "UINT16" => Self::U16,
            "INT32" => Self::I32,
            "UINT32" => Self::U32,
            "INT64" => Self::I64,
            "UINT64" => Self::U64,
            "FLOAT32" => Self::F32,
            "FLOAT64" => Self::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::I64 | Self::U64 | Self::F64 => 8,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F64)
    }

    /// Largest value, for normalisation.
    fn max(self) -> f64 {
        match self {
            Self::I8 => 127.0,
            Self::U8 => 255.0,
            Self::I16 => 32767.0,
            Self::U16 => 65535.0,
            Self::I32 => 2_147_483_647.0,
            Self::U32 => 4_294_967_295.0,
            Self::I64 => i64::MAX as f64,
            Self::U64 => u64::MAX as f64,
            Self::F32 | Self::F64 => 1.0,
        }
    }

    /// Reads the value at element `index`; `None` past the end of `bytes`.
    fn read(self, bytes: &[u8], index: usize) -> Option<Raw> {
        let size = self.size();
        let b = bytes.get(index.checked_mul(size)?..index.checked_mul(size)?.checked_add(size)?)?;
        let mut a = [0u8; 8];
        a[..size].copy_from_slice(b);
        Some(match self {
            Self::I8 => Raw::Int(i128::from(a[0] as i8)),
            Self::U8 => Raw::Int(i128::from(a[0])),
            Self::I16 => Raw::Int(i128::from(i16::from_le_bytes([a[0], a[1]]))),
            Self::U16 => Raw::Int(i128::from(u16::from_le_bytes([a[0], a[1]]))),
            Self::I32 => Raw::Int(i128::from(i32::from_le_bytes([a[0], a[1], a[2], a[3]]))),
            Self::U32 => Raw::Int(i128::from(u32::from_le_bytes([a[0], a[1], a[2], a[3]]))),
            Self::I64 => Raw::Int(i128::from(i64::from_le_bytes(a))),
            Self::U64 => Raw::Int(i128::from(u64::from_le_bytes(a))),
            Self::F32 => Raw::Float(f64::from(f32::from_le_bytes([a[0], a[1], a[2], a[3]]))),
            Self::F64 => Raw::Float(f64::from_le_bytes(a)),
        })
    }
}

/// What one array element (or the whole value, for non-arrays) of a column is.
enum ElementKind<'d> {
    Bool,
    Text {
        offsets: &'d [u8],
        offset_type: MetaType,
    },
    Enum {
        value_type: MetaType,
        def: &'d EnumJson,
    },
    Number {
        ctype: MetaType,
        comps: usize,
        vector: bool,
    },
}

/// A property value before normalisation / offset / scale, compared against `noData`.
enum RawValue {
    Bool(bool),
    Text(String),
    Enum(i128),
    Number(Vec<Raw>),
    Array(Vec<RawValue>),
}

struct ColumnReader<'r, 'a> {
    doc: &'r Document<'a>,
    table: usize,
    name: &'r str,
    count: usize,
    class: &'r ClassProperty,
    property: &'r TableProperty,
    schema: &'r Schema,
}

fn offset_type(name: Option<&str>) -> Option<MetaType> {
    match name.unwrap_or("UINT32") {
        "UINT8" => Some(MetaType::U8),
        "UINT16" => Some(MetaType::U16),
        "UINT32" => Some(MetaType::U32),
        "UINT64" => Some(MetaType::U64),
        _ => None,
    }
}

fn read_offset(bytes: &[u8], ty: MetaType, index: usize) -> Option<usize> {
    match ty.read(bytes, index)? {
        Raw::Int(v) => usize::try_from(v).ok(),
        Raw::Float(_) => None,
    }
}

impl ColumnReader<'_, '_> {
    fn err(&self, reason: String) -> GltfError {
        GltfError::Metadata {
            table: self.table,
            property: self.name.to_string(),
            reason,
        }
    }

    fn view(&self, index: usize, what: &str) -> Result<&[u8], GltfError> {
        let referrer = format!(
            "property table {} property {:?} {what}",
            self.table, self.name
        );
        Ok(self.doc.view(index, &referrer)?.bytes)
    }

    fn read(&self) -> Result<Vec<PropertyValue>, GltfError> {
        let class = self.class;
        let values = self.view(self.property.values, "values")?;
        let kind = match class.kind.as_str() {
            "BOOLEAN" => ElementKind::Bool,
            "STRING" => {
                let view = self
                    .property
                    .string_offsets
                    .ok_or_else(|| self.err("STRING property has no stringOffsets".into()))?;
                let offset_type = offset_type(self.property.string_offset_type.as_deref())
                    .ok_or_else(|| self.err("stringOffsetType is not UINT8/16/32/64".into()))?;
                ElementKind::Text {
                    offsets: self.view(view, "stringOffsets")?,
                    offset_type,
                }
            }
            "ENUM" => {
                let name = class.enum_type.as_deref().unwrap_or("");
                let def =
                    self.schema.enums.get(name).ok_or_else(|| {
                        self.err(format!("enumType {name:?} is not in the schema"))
                    })?;
                let value_type = MetaType::parse(def.value_type.as_deref().unwrap_or("UINT16"))
                    .filter(|t| !t.is_float())
                    .ok_or_else(|| self.err(format!("enum {name:?} has an invalid valueType")))?;
                ElementKind::Enum { value_type, def }
            }
            kind => {
                let (comps, vector) = match kind {
                    "SCALAR" => (1, false),
                    "VEC2" => (2, true),
                    "VEC3" => (3, true),
                    "VEC4" | "MAT2" => (4, true),
                    "MAT3" => (9, true),
                    "MAT4" => (16, true),
                    other => return Err(self.err(format!("unknown type {other:?}"))),
                };
                let name = class.component_type.as_deref().unwrap_or("");
                let ctype = MetaType::parse(name)
                    .ok_or_else(|| self.err(format!("unknown componentType {name:?}")))?;
                ElementKind::Number {
                    ctype,
                    comps,
                    vector,
                }
            }
        };
        // How many elements the values (or string offsets) can hold: bounds every allocation.
        let available = match &kind {
            ElementKind::Bool => values.len().saturating_mul(8),
            ElementKind::Text {
                offsets,
                offset_type,
            } => (offsets.len() / offset_type.size()).saturating_sub(1),
            ElementKind::Enum { value_type, .. } => values.len() / value_type.size(),
            ElementKind::Number { ctype, comps, .. } => values.len() / (ctype.size() * comps),
        };

        enum Rows<'d> {
            Single,
            Fixed(usize),
            Variable(&'d [u8], MetaType),
        }
        let rows = match (class.array, class.count) {
            (false, _) => Rows::Single,
            (true, Some(0)) => return Err(self.err("fixed-length array count is 0".into())),
            (true, Some(n)) => Rows::Fixed(n),
            (true, None) => {
                let view = self
                    .property
                    .array_offsets
                    .ok_or_else(|| self.err("variable-length array has no arrayOffsets".into()))?;
                let ty = offset_type(self.property.array_offset_type.as_deref())
                    .ok_or_else(|| self.err("arrayOffsetType is not UINT8/16/32/64".into()))?;
                let offsets = self.view(view, "arrayOffsets")?;
                if offsets.len() / ty.size() < self.count.saturating_add(1) {
                    return Err(self.err(format!(
                        "arrayOffsets bufferView {view} holds {} offsets, {} rows need {}",
                        offsets.len() / ty.size(),
                        self.count,
                        self.count.saturating_add(1)
                    )));
                }
                Rows::Variable(offsets, ty)
            }
        };
        let needed = match rows {
            Rows::Single => Some(self.count),
            Rows::Fixed(n) => self.count.checked_mul(n),
            Rows::Variable(..) => Some(0),
        };
        if needed.is_none_or(|n| n > available) {
            return Err(self.err(format!(
                "{} rows need {} elements, but the values hold only {available}",
                self.count,
                needed.map_or_else(|| "too many".to_string(), |n| n.to_string())
            )));
        }

        let offset = self.property.offset.as_ref().or(class.offset.as_ref());
        let scale = self.property.scale.as_ref().or(class.scale.as_ref());
        let mut out = Vec::with_capacity(self.count);
        for row in 0..self.count {
            let raw = match rows {
                Rows::Single => self.element(&kind, values, row)?,
                Rows::Fixed(n) => RawValue::Array(
                    (row * n..row * n + n)
                        .map(|i| self.element(&kind, values, i))
                        .collect::<Result<_, _>>()?,
                ),
                Rows::Variable(offsets, ty) => {
                    let start = read_offset(offsets, ty, row);
                    let end = read_offset(offsets, ty, row + 1);
                    let (Some(start), Some(end)) = (start, end) else {
                        return Err(self.err(format!("arrayOffsets of row {row} are unreadable")));
                    };
                    if start > end || end > available {
                        return Err(self.err(format!(
                            "row {row} array offsets {start}..{end} are decreasing or past {available} elements"
                        )));
                    }
                    RawValue::Array(
                        (start..end)
                            .map(|i| self.element(&kind, values, i))
                            .collect::<Result<_, _>>()?,
                    )
                }
            };
            let no_data = class
                .no_data
                .as_ref()
                .is_some_and(|nd| matches_no_data(&raw, nd, &kind));
            out.push(if no_data {
                class
                    .default
                    .as_ref()
                    .map_or(PropertyValue::Null, json_value)
            } else {
                convert(raw, &kind, class.normalized, offset, scale, None)
            });
        }
        Ok(out)
    }

    fn element(
        &self,
        kind: &ElementKind,
        values: &[u8],
        index: usize,
    ) -> Result<RawValue, GltfError> {
        let past = || self.err(format!("element {index} lies past the end of the values"));
        Ok(match kind {
            ElementKind::Bool => {
                let byte = values.get(index / 8).ok_or_else(past)?;
                RawValue::Bool(byte >> (index % 8) & 1 == 1)
            }
            ElementKind::Text {
                offsets,
                offset_type,
            } => {
                let start = read_offset(offsets, *offset_type, index);
                let end = read_offset(offsets, *offset_type, index + 1);
                let bytes = match (start, end) {
                    (Some(s), Some(e)) if s <= e => values.get(s..e),
                    _ => None,
                }
                .ok_or_else(|| {
                    self.err(format!(
                        "string {index} offsets {start:?}..{end:?} lie outside {} bytes",
                        values.len()
                    ))
                })?;
                let text = std::str::from_utf8(bytes)
                    .map_err(|e| self.err(format!("string {index} is not UTF-8: {e}")))?;
                RawValue::Text(text.to_string())
            }
            ElementKind::Enum { value_type, .. } => match value_type.read(values, index) {
                Some(Raw::Int(v)) => RawValue::Enum(v),
                _ => return Err(past()),
            },
            ElementKind::Number { ctype, comps, .. } => RawValue::Number(
                (index * comps..index * comps + comps)
                    .map(|i| ctype.read(values, i).ok_or_else(past))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

fn enum_name(def: &EnumJson, value: i128) -> Option<&str> {
    def.values
        .iter()
        .find(|v| i128::from(v.value) == value)
        .map(|v| v.name.as_str())
}

fn raw_equals(raw: Raw, json: &Value, ctype: MetaType) -> bool {
    match raw {
        Raw::Int(v) => {
            json.as_i64().map(i128::from) == Some(v) || json.as_u64().map(i128::from) == Some(v)
        }
        // A FLOAT32 noData written as f64 text (3.4028234663852886e38) may round either way.
        Raw::Float(v) => json
            .as_f64()
            .is_some_and(|n| n == v || (ctype == MetaType::F32 && n as f32 == v as f32)),
    }
}

fn matches_no_data(raw: &RawValue, no_data: &Value, kind: &ElementKind) -> bool {
    match (raw, no_data, kind) {
        (RawValue::Text(s), Value::String(n), _) => s == n,
        (RawValue::Enum(v), Value::String(n), ElementKind::Enum { def, .. }) => {
            enum_name(def, *v) == Some(n.as_str())
        }
        (
            RawValue::Number(c),
            Value::Array(a),
            ElementKind::Number {
                ctype,
                vector: true,
                ..
            },
        ) => c.len() == a.len() && c.iter().zip(a).all(|(r, j)| raw_equals(*r, j, *ctype)),
        (
            RawValue::Number(c),
            j,
            ElementKind::Number {
                ctype,
                vector: false,
                ..
            },
        ) => c.len() == 1 && raw_equals(c[0], j, *ctype),
        (RawValue::Array(items), Value::Array(a), _) => {
            items.len() == a.len()
                && items
                    .iter()
                    .zip(a)
                    .all(|(r, j)| matches_no_data(r, j, kind))
        }
        _ => false,
    }
}

/// Picks the offset / scale for array element `element` and vector component `comp`: the JSON
/// is a number, or an array per array element and/or per component.
fn pick(json: Option<&Value>, element: Option<usize>, comp: Option<usize>) -> Option<f64> {
    let mut v = json?;
    if let (Value::Array(a), Some(e)) = (v, element) {
        v = a.get(e)?;
    }
    if let (Value::Array(a), Some(c)) = (v, comp) {
        v = a.get(c)?;
    }
    v.as_f64()
}

fn convert(
    raw: RawValue,
    kind: &ElementKind,
    normalized: bool,
    offset: Option<&Value>,
    scale: Option<&Value>,
    element: Option<usize>,
) -> PropertyValue {
    match raw {
        RawValue::Bool(b) => PropertyValue::Bool(b),
        RawValue::Text(s) => PropertyValue::Text(s),
        RawValue::Enum(v) => match kind {
            ElementKind::Enum { def, .. } => match enum_name(def, v) {
                Some(name) => PropertyValue::Text(name.to_string()),
                None => int_value(v),
            },
            _ => int_value(v),
        },
        RawValue::Array(items) => PropertyValue::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| convert(item, kind, normalized, offset, scale, Some(i)))
                .collect(),
        ),
        RawValue::Number(comps) => {
            let ElementKind::Number { ctype, vector, .. } = *kind else {
                return PropertyValue::Null;
            };
            let mut values = comps.into_iter().enumerate().map(|(c, r)| {
                let comp = vector.then_some(c);
                let float_like = ctype.is_float() || normalized;
                let f = match r {
                    Raw::Int(v) if normalized => {
                        let f = v as f64 / ctype.max();
                        f.max(-1.0)
                    }
                    Raw::Int(v) => v as f64,
                    Raw::Float(f) => f,
                };
                if float_like {
                    let s = pick(scale, element, comp).unwrap_or(1.0);
                    let o = pick(offset, element, comp).unwrap_or(0.0);
                    PropertyValue::Float(f * s + o)
                } else {
                    match r {
                        Raw::Int(v) => int_value(v),
                        Raw::Float(f) => PropertyValue::Float(f),
                    }
                }
            });
            if vector {
                PropertyValue::Array(values.collect())
            } else {
                values.next().unwrap_or(PropertyValue::Null)
            }
        }
    }
}

fn int_value(v: i128) -> PropertyValue {
    i64::try_from(v).map_or(PropertyValue::Float(v as f64), PropertyValue::Int)
}

fn json_value(v: &Value) -> PropertyValue {
    match v {
        Value::Null => PropertyValue::Null,
        Value::Bool(b) => PropertyValue::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map(PropertyValue::Int)
            .unwrap_or_else(|| PropertyValue::Float(n.as_f64().unwrap_or(f64::NAN))),
        Value::String(s) => PropertyValue::Text(s.clone()),
        Value::Array(a) => PropertyValue::Array(a.iter().map(json_value).collect()),
        Value::Object(_) => PropertyValue::Text(v.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------

/// The `EXT_meshopt_compression` codecs (meshoptimizer vertex codec v0, index codecs v0/v1 and
/// the four filters), in safe Rust so that they also build for `wasm32-unknown-unknown`.
///
/// Mirrors meshoptimizer's `vertexcodec.cpp` / `indexcodec.cpp` / `vertexfilter.cpp` as specified
/// in the extension's README; every read is bounds-checked and a bad stream is an `Err`.
mod meshopt {
    pub(super) enum Mode {
        Attributes,
        Triangles,
        Indices,
    }

    pub(super) enum Filter {
        None,
        Octahedral,
        Quaternion,
        Exponential,
    }

    const VERTEX_HEADER: u8 = 0xa0;
    const INDEX_HEADER: u8 = 0xe0;
    const SEQUENCE_HEADER: u8 = 0xd0;
    const BYTE_GROUP_SIZE: usize = 16;
    const BYTE_GROUP_DECODE_LIMIT: usize = 24;
    const TAIL_MAX_SIZE: usize = 32;

    /// Decodes `count` elements of `stride` bytes; the output is `count * stride` bytes.
    pub(super) fn decode(
        data: &[u8],
        count: usize,
        stride: usize,
        mode: Mode,
        filter: Filter,
    ) -> Result<Vec<u8>, String> {
        match mode {
            Mode::Attributes => {
                if stride == 0 || stride > 256 || !stride.is_multiple_of(4) {
                    return Err(format!(
                        "ATTRIBUTES byteStride {stride} is not a multiple of 4 in 4..=256"
                    ));
                }
                // Each block of up to 256 vertices costs at least one header byte per vertex
                // byte, so a short stream cannot claim a huge count.
                let blocks = count.div_ceil(vertex_block_size(stride));
                let minimum = blocks
                    .checked_mul(stride)
                    .and_then(|n| n.checked_add(1 + stride.max(TAIL_MAX_SIZE)));
                if minimum.is_none_or(|n| n > data.len()) {
                    return Err(format!(
                        "{} bytes are too few for {count} vertices of {stride} bytes",
                        data.len()
                    ));
                }
                let size = count
                    .checked_mul(stride)
                    .ok_or_else(|| format!("{count} vertices of {stride} bytes overflow"))?;
                let mut out = vec![0u8; size];
                decode_vertex_buffer(&mut out, count, stride, data)?;
                apply_filter(&mut out, stride, filter)?;
                Ok(out)
            }
            Mode::Triangles | Mode::Indices => {
                if !matches!(filter, Filter::None) {
                    return Err("filters apply only to ATTRIBUTES".into());
                }
                if stride != 2 && stride != 4 {
                    return Err(format!("index byteStride {stride} is not 2 or 4"));
                }
                let indices = if matches!(mode, Mode::Triangles) {
                    decode_index_buffer(count, data)?
                } else {
                    decode_index_sequence(count, data)?
                };
                let mut out = Vec::with_capacity(count * stride);
                for i in indices {
                    if stride == 2 {
                        out.extend_from_slice(&(i as u16).to_le_bytes());
                    } else {
                        out.extend_from_slice(&i.to_le_bytes());
                    }
                }
                Ok(out)
            }
        }
    }

    fn vertex_block_size(stride: usize) -> usize {
        ((8192 / stride) & !(BYTE_GROUP_SIZE - 1)).min(256)
    }

    fn unzigzag8(v: u8) -> u8 {
        (0u8.wrapping_sub(v & 1)) ^ (v >> 1)
    }

    fn decode_vertex_buffer(
        out: &mut [u8],
        count: usize,
        stride: usize,
        data: &[u8],
    ) -> Result<(), String> {
        let tail_size = stride.max(TAIL_MAX_SIZE);
        if data.len() < 1 + tail_size {
            return Err(format!(
                "vertex stream of {} bytes is shorter than its tail",
                data.len()
            ));
        }
        if data[0] & 0xf0 != VERTEX_HEADER {
            return Err(format!(
                "header byte 0x{:02x} is not a vertex stream",
                data[0]
            ));
        }
        if data[0] & 0x0f != 0 {
            return Err(format!(
                "vertex codec version {} is not supported",
                data[0] & 0x0f
            ));
        }
        let mut last = [0u8; 256];
        last[..stride].copy_from_slice(&data[data.len() - stride..]);
        let block_size = vertex_block_size(stride);
        let mut buffer = [0u8; 256];
        let mut pos = 1;
        let mut first = 0;
        while first < count {
            let n = block_size.min(count - first);
            let aligned = n.div_ceil(BYTE_GROUP_SIZE) * BYTE_GROUP_SIZE;
            let header_size = (aligned / BYTE_GROUP_SIZE).div_ceil(4);
            for k in 0..stride {
                if data.len() - pos < header_size {
                    return Err(format!("vertex block header at byte {pos} is truncated"));
                }
                let header = &data[pos..pos + header_size];
                pos += header_size;
                for group in 0..aligned / BYTE_GROUP_SIZE {
                    if data.len() - pos < BYTE_GROUP_DECODE_LIMIT {
                        return Err(format!("vertex byte group at byte {pos} is truncated"));
                    }
                    let bits = (header[group / 4] >> ((group % 4) * 2)) & 3;
                    let dst = &mut buffer[group * BYTE_GROUP_SIZE..(group + 1) * BYTE_GROUP_SIZE];
                    pos += decode_byte_group(&data[pos..pos + BYTE_GROUP_DECODE_LIMIT], dst, bits);
                }
                let mut p = last[k];
                for (i, &delta) in buffer[..n].iter().enumerate() {
                    p = unzigzag8(delta).wrapping_add(p);
                    out[(first + i) * stride + k] = p;
                }
                last[k] = p;
            }
            first += n;
        }
        if data.len() - pos != tail_size {
            return Err(format!(
                "vertex stream ends at byte {pos}, {} bytes before the end instead of {tail_size}",
                data.len() - pos
            ));
        }
        Ok(())
    }

    /// Decodes one group of 16 bytes from `src` (at least 24 bytes); returns the bytes consumed.
    fn decode_byte_group(src: &[u8], dst: &mut [u8], bits: u8) -> usize {
        match bits {
            0 => {
                dst.fill(0);
                0
            }
            1 | 2 => {
                let width = if bits == 1 { 2 } else { 4 };
                let per_byte = 8 / width;
                let escape = (1u8 << width) - 1;
                let mut extra = BYTE_GROUP_SIZE / per_byte;
                for (j, out) in dst.iter_mut().enumerate() {
                    let shift = 8 - width * (j % per_byte + 1);
                    let enc = (src[j / per_byte] >> shift) & escape;
                    *out = if enc == escape {
                        extra += 1;
                        src[extra - 1]
                    } else {
                        enc
                    };
                }
                extra
            }
            _ => {
                dst.copy_from_slice(&src[..BYTE_GROUP_SIZE]);
                BYTE_GROUP_SIZE
            }
        }
    }

    struct Reader<'d> {
        data: &'d [u8],
        pos: usize,
    }

    impl Reader<'_> {
        fn byte(&mut self) -> Result<u8, String> {
            let b = *self
                .data
                .get(self.pos)
                .ok_or_else(|| format!("index stream ends early at byte {}", self.pos))?;
            self.pos += 1;
            Ok(b)
        }

        fn vbyte(&mut self) -> Result<u32, String> {
            let lead = self.byte()?;
            if lead < 128 {
                return Ok(u32::from(lead));
            }
            let mut result = u32::from(lead & 127);
            let mut shift = 7;
            for _ in 0..4 {
                let group = self.byte()?;
                result |= u32::from(group & 127) << shift;
                shift += 7;
                if group < 128 {
                    break;
                }
            }
            Ok(result)
        }

        fn index(&mut self, last: u32) -> Result<u32, String> {
            let v = self.vbyte()?;
            let d = (v >> 1) ^ 0u32.wrapping_sub(v & 1);
            Ok(last.wrapping_add(d))
        }
    }

    fn decode_index_buffer(count: usize, data: &[u8]) -> Result<Vec<u32>, String> {
        if !count.is_multiple_of(3) {
            return Err(format!("TRIANGLES count {count} is not a multiple of 3"));
        }
        let triangles = count / 3;
        if data.len() < 1 + triangles + 16 {
            return Err(format!(
                "{} bytes are too few for {triangles} triangles",
                data.len()
            ));
        }
        if data[0] & 0xf0 != INDEX_HEADER {
            return Err(format!(
                "header byte 0x{:02x} is not an index stream",
                data[0]
            ));
        }
        let version = data[0] & 0x0f;
        if version > 1 {
            return Err(format!("index codec version {version} is not supported"));
        }
        let codes = &data[1..1 + triangles];
        let safe_end = data.len() - 16;
        let codeaux_table = &data[safe_end..];
        let mut reader = Reader {
            data: &data[..safe_end],
            pos: 1 + triangles,
        };

        let mut edges = [[u32::MAX; 2]; 16];
        let mut vertices = [u32::MAX; 16];
        let mut edge_offset = 0usize;
        let mut vertex_offset = 0usize;
        let mut next = 0u32;
        let mut last = 0u32;
        let fecmax = if version >= 1 { 13 } else { 15 };
        let mut out = Vec::with_capacity(count);

        let push_vertex = |fifo: &mut [u32; 16], offset: &mut usize, v: u32, cond: bool| {
            fifo[*offset] = v;
            *offset = (*offset + usize::from(cond)) & 15;
        };
        let push_edge = |fifo: &mut [[u32; 2]; 16], offset: &mut usize, a: u32, b: u32| {
            fifo[*offset] = [a, b];
            *offset = (*offset + 1) & 15;
        };

        for &codetri in codes {
            if codetri < 0xf0 {
                let fe = usize::from(codetri >> 4);
                let [a, b] = edges[edge_offset.wrapping_sub(1 + fe) & 15];
                let fec = usize::from(codetri & 15);
                let c;
                if fec < fecmax {
                    let fec0 = fec == 0;
                    c = if fec0 {
                        next
                    } else {
                        vertices[vertex_offset.wrapping_sub(1 + fec) & 15]
                    };
                    next = next.wrapping_add(u32::from(fec0));
                    push_vertex(&mut vertices, &mut vertex_offset, c, fec0);
                } else {
                    // fec - (fec ^ 3) decodes 13, 14 into -1, 1.
                    c = if fec != 15 {
                        last.wrapping_add((fec as u32).wrapping_sub(fec as u32 ^ 3))
                    } else {
                        reader.index(last)?
                    };
                    last = c;
                    push_vertex(&mut vertices, &mut vertex_offset, c, true);
                }
                out.extend_from_slice(&[a, b, c]);
                push_edge(&mut edges, &mut edge_offset, c, b);
                push_edge(&mut edges, &mut edge_offset, a, c);
            } else {
                let (a, b, c, feb, fec);
                if codetri < 0xfe {
                    let codeaux = codeaux_table[usize::from(codetri & 15)];
                    feb = usize::from(codeaux >> 4);
                    fec = usize::from(codeaux & 15);
                    a = next;
                    next = next.wrapping_add(1);
                    b = if feb == 0 {
                        next
                    } else {
                        vertices[vertex_offset.wrapping_sub(feb) & 15]
                    };
                    next = next.wrapping_add(u32::from(feb == 0));
                    c = if fec == 0 {
                        next
                    } else {
                        vertices[vertex_offset.wrapping_sub(fec) & 15]
                    };
                    next = next.wrapping_add(u32::from(fec == 0));
                } else {
                    let codeaux = reader.byte()?;
                    let fea = if codetri == 0xfe { 0 } else { 15 };
                    feb = usize::from(codeaux >> 4);
                    fec = usize::from(codeaux & 15);
                    if codeaux == 0 {
                        next = 0;
                    }
                    let mut take_next = || {
                        let v = next;
                        next = next.wrapping_add(1);
                        v
                    };
                    let mut a0 = if fea == 0 { take_next() } else { 0 };
                    let mut b0 = if feb == 0 {
                        take_next()
                    } else {
                        vertices[vertex_offset.wrapping_sub(feb) & 15]
                    };
                    let mut c0 = if fec == 0 {
                        take_next()
                    } else {
                        vertices[vertex_offset.wrapping_sub(fec) & 15]
                    };
                    if fea == 15 {
                        a0 = reader.index(last)?;
                        last = a0;
                    }
                    if feb == 15 {
                        b0 = reader.index(last)?;
                        last = b0;
                    }
                    if fec == 15 {
                        c0 = reader.index(last)?;
                        last = c0;
                    }
                    (a, b, c) = (a0, b0, c0);
                }
                out.extend_from_slice(&[a, b, c]);
                push_vertex(&mut vertices, &mut vertex_offset, a, true);
                push_vertex(&mut vertices, &mut vertex_offset, b, feb == 0 || feb == 15);
                push_vertex(&mut vertices, &mut vertex_offset, c, fec == 0 || fec == 15);
                push_edge(&mut edges, &mut edge_offset, b, a);
                push_edge(&mut edges, &mut edge_offset, c, b);
                push_edge(&mut edges, &mut edge_offset, a, c);
            }
        }
        if reader.pos != safe_end {
            return Err(format!(
                "index stream data ends at byte {}, expected {safe_end}",
                reader.pos
            ));
        }
        Ok(out)
    }

    fn decode_index_sequence(count: usize, data: &[u8]) -> Result<Vec<u32>, String> {
        if data.len() < 1 + count + 4 {
            return Err(format!(
                "{} bytes are too few for {count} indices",
                data.len()
            ));
        }
        if data[0] & 0xf0 != SEQUENCE_HEADER {
            return Err(format!(
                "header byte 0x{:02x} is not an index sequence",
                data[0]
            ));
        }
        let version = data[0] & 0x0f;
        if version > 1 {
            return Err(format!("index sequence version {version} is not supported"));
        }
        let safe_end = data.len() - 4;
        let mut reader = Reader {
            data: &data[..safe_end],
            pos: 1,
        };
        let mut last = [0u32; 2];
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let v = reader.vbyte()?;
            let current = (v & 1) as usize;
            let v = v >> 1;
            let d = (v >> 1) ^ 0u32.wrapping_sub(v & 1);
            let index = last[current].wrapping_add(d);
            last[current] = index;
            out.push(index);
        }
        if reader.pos != safe_end {
            return Err(format!(
                "index sequence ends at byte {}, expected {safe_end}",
                reader.pos
            ));
        }
        Ok(out)
    }

    fn round_to_int(v: f32) -> i32 {
        (v + if v >= 0.0 { 0.5 } else { -0.5 }) as i32
    }

    fn apply_filter(data: &mut [u8], stride: usize, filter: Filter) -> Result<(), String> {
        match filter {
            Filter::None => {}
            Filter::Octahedral if stride == 4 => {
                for e in data.chunks_exact_mut(4) {
                    let [x, y, z] = octahedral(
                        f32::from(e[0] as i8),
                        f32::from(e[1] as i8),
                        f32::from(e[2] as i8),
                        127.0,
                    );
                    e[0] = x as i8 as u8;
                    e[1] = y as i8 as u8;
                    e[2] = z as i8 as u8;
                }
            }
            Filter::Octahedral if stride == 8 => {
                for e in data.chunks_exact_mut(8) {
                    let c = |i: usize| f32::from(i16::from_le_bytes([e[2 * i], e[2 * i + 1]]));
                    let xyz = octahedral(c(0), c(1), c(2), 32767.0);
                    for (i, v) in xyz.into_iter().enumerate() {
                        e[2 * i..2 * i + 2].copy_from_slice(&(v as i16).to_le_bytes());
                    }
                }
            }
            Filter::Octahedral => {
                return Err(format!(
                    "OCTAHEDRAL filter needs byteStride 4 or 8, not {stride}"
                ));
            }
            Filter::Quaternion if stride == 8 => {
                let scale = 1.0 / 2f32.sqrt();
                for e in data.chunks_exact_mut(8) {
                    let q = [0, 1, 2, 3].map(|i| i16::from_le_bytes([e[2 * i], e[2 * i + 1]]));
                    let ss = scale / (i32::from(q[3]) | 3) as f32;
                    let x = f32::from(q[0]) * ss;
                    let y = f32::from(q[1]) * ss;
                    let z = f32::from(q[2]) * ss;
                    let w = (1.0 - x * x - y * y - z * z).max(0.0).sqrt();
                    let qc = (q[3] & 3) as usize;
                    for (slot, v) in [(qc + 1, x), (qc + 2, y), (qc + 3, z), (qc, w)] {
                        let i = slot & 3;
                        e[2 * i..2 * i + 2]
                            .copy_from_slice(&(round_to_int(v * 32767.0) as i16).to_le_bytes());
                    }
                }
            }
            Filter::Quaternion => {
                return Err(format!(
                    "QUATERNION filter needs byteStride 8, not {stride}"
                ));
            }
            Filter::Exponential => {
                if !stride.is_multiple_of(4) {
                    return Err(format!(
                        "EXPONENTIAL filter needs a byteStride multiple of 4, not {stride}"
                    ));
                }
                for e in data.chunks_exact_mut(4) {
                    let v = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
                    let m = ((v << 8) as i32) >> 8;
                    let exp = (v as i32) >> 24;
                    let f = f32::from_bits(((exp + 127) as u32) << 23) * m as f32;
                    e.copy_from_slice(&f.to_bits().to_le_bytes());
                }
            }
        }
        Ok(())
    }

    #[cfg(test)]
    pub(super) fn decode_filter_for_test(data: &mut [u8], stride: usize, name: &str) {
        let filter = match name {
            "OCTAHEDRAL" => Filter::Octahedral,
            "QUATERNION" => Filter::Quaternion,
            "EXPONENTIAL" => Filter::Exponential,
            _ => Filter::None,
        };
        apply_filter(data, stride, filter).unwrap();
    }

    /// Reconstructs a unit vector from octahedral x/y (z holds 1.0 at the same scale `max`).
    fn octahedral(mut x: f32, mut y: f32, z_one: f32, max: f32) -> [i32; 3] {
        let z = z_one - x.abs() - y.abs();
        let t = z.min(0.0);
        x += if x >= 0.0 { t } else { -t };
        y += if y >= 0.0 { t } else { -t };
        let s = max / (x * x + y * y + z * z).sqrt();
        [
            round_to_int(x * s),
            round_to_int(y * s),
            round_to_int(z * s),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// `../shared/data` next to the crate, else `/work/shared/data`; `None` (test skipped) if absent.
    fn shared_data() -> Option<PathBuf> {
        let candidates = [
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
            PathBuf::from("/work/shared/data"),
        ];
        let found = candidates.into_iter().find(|p| p.is_dir());
        if found.is_none() {
            eprintln!("shared data not found: skipping");
        }
        found
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
