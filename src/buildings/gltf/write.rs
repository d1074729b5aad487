//! Writes a [`Model`] as a binary glTF 2.0 (GLB) file, with its per-building attributes as
//! `EXT_mesh_features` feature IDs pointing into an `EXT_structural_metadata` property table.
//!
//! How it works: every primitive becomes one mesh and one node (`matrix` = `model_from_mesh`
//! in f64, omitted when identity); every array goes into one binary buffer, in its own buffer
//! view, 4-byte aligned (8 for metadata tables, as `EXT_structural_metadata` asks). Feature IDs
//! are a `_FEATURE_ID_0` attribute: `UNSIGNED_SHORT` with a 4-byte stride when every ID fits,
//! `FLOAT` (exact up to 2^24) otherwise, since glTF 2.0 reserves `UNSIGNED_INT` for indices.
//! `u32::MAX` ("no feature") is written as the attribute's `nullFeatureId`. Property types are
//! inferred per column: integers → `INT32` (or `INT64` when out of range), floats (or integers
//! mixed with floats) → `FLOAT64`, booleans → `BOOLEAN`, text → `STRING`, arrays of numbers or
//! text → variable-length arrays. Nulls become the class property's `noData` sentinel
//! (`i32::MIN` / `i64::MIN`, `f64::MIN`, `""`, `[]`); `BOOLEAN` has no `noData`, so a null
//! boolean is an error, as is a value that collides with its sentinel.

use std::collections::{BTreeSet, HashSet};

use bevy::math::DMat4;
use image::ImageEncoder;
use serde_json::{Map, Value, json};

use crate::buildings::model::{AlphaMode, Model, Primitive, PropertyTable, PropertyValue};

/// Re-exported so exporters find the b3dm wrapper next to the GLB writer.
pub use crate::buildings::tiles3d::content::write_b3dm;

const FLOAT: u32 = 5126;
const UNSIGNED_SHORT: u32 = 5123;
const UNSIGNED_INT: u32 = 5125;
const ARRAY_BUFFER: u32 = 34962;
const ELEMENT_ARRAY_BUFFER: u32 = 34963;
/// Largest integer a `FLOAT` feature ID holds exactly.
const MAX_FLOAT_FEATURE_ID: u32 = 1 << 24;

/// Why a model could not be written.
#[derive(Debug, thiserror::Error)]
pub enum GltfWriteError {
    #[error("primitive {primitive} has no vertices")]
    NoVertices { primitive: usize },
    #[error("primitive {primitive}: {count} indices is not a non-empty list of triangles")]
    BadIndexCount { primitive: usize, count: usize },
    #[error("primitive {primitive}: index {value} (at {at}) is past its {vertices} vertices")]
    IndexOutOfRange {
        primitive: usize,
        at: usize,
        value: u32,
        vertices: usize,
    },
    #[error("primitive {primitive}: {attribute} has {actual} values but POSITION has {expected}")]
    AttributeLength {
        primitive: usize,
        attribute: &'static str,
        actual: usize,
        expected: usize,
    },
    #[error("primitive {primitive}: {attribute} value {at} is not finite")]
    NonFinite {
        primitive: usize,
        attribute: &'static str,
        at: usize,
    },
    #[error("primitive {primitive}: material {material} does not exist ({count} materials)")]
    MissingMaterial {
        primitive: usize,
        material: usize,
        count: usize,
    },
    #[error("material {material}: base colour texture {texture} does not exist ({count} textures)")]
    MissingTexture {
        material: usize,
        texture: usize,
        count: usize,
    },
    #[error(
        "texture {texture}: {actual} bytes of RGBA8 for {width}x{height} (expected {expected})"
    )]
    TextureSize {
        texture: usize,
        width: u32,
        height: u32,
        actual: usize,
        expected: u64,
    },
    #[error("texture {texture}: PNG encoding failed: {source}")]
    Png {
        texture: usize,
        source: image::ImageError,
    },
    #[error(
        "primitive {primitive}: feature ID {id} at vertex {vertex} is past the {count} rows of \
         the property table"
    )]
    FeatureIdOutOfRange {
        primitive: usize,
        vertex: usize,
        id: u32,
        count: usize,
    },
    #[error(
        "primitive {primitive}: feature ID {id} is over {MAX_FLOAT_FEATURE_ID}, the largest a \
         glTF FLOAT attribute holds exactly"
    )]
    FeatureIdTooLarge { primitive: usize, id: u32 },
    #[error("property table: column {column} has {actual} values but the table has {count} rows")]
    ColumnLength {
        column: String,
        actual: usize,
        count: usize,
    },
    #[error("property table: column {column} mixes {first} and {second} values")]
    MixedColumn {
        column: String,
        first: &'static str,
        second: &'static str,
    },
    #[error("property table: column {column}, row {row}: {reason}")]
    UnsupportedValue {
        column: String,
        row: usize,
        reason: String,
    },
    #[error(
        "property table: column {column} holds {sentinel}, the noData value that its nulls \
         would be written as"
    )]
    NoDataCollision { column: String, sentinel: String },
    #[error("JSON serialization failed: {0}")]
    Json(serde_json::Error),
    #[error("the GLB would be {bytes} bytes, over the 4 GiB that its u32 lengths can express")]
    TooLarge { bytes: usize },
}

/// Writes `model` as a GLB: textures, materials, one mesh and node per primitive, the property
/// table and the root extensions go into the JSON and one binary buffer, then into the GLB
/// container.
pub fn write_glb(model: &Model) -> Result<Vec<u8>, GltfWriteError> {
    let mut w = BinWriter::default();
    let mut extensions_used = BTreeSet::new();
    let mut root: Vec<(String, Json)> = Vec::new();
    root.push((
        "asset".into(),
        json!({ "version": "2.0", "generator": "jumeau" }).into(),
    ));
    if !model.textures.is_empty() {
        let (images, textures) = write_textures(&mut w, model)?;
        root.push(("images".into(), Value::Array(images).into()));
        root.push(("textures".into(), Value::Array(textures).into()));
    }
    if !model.materials.is_empty() {
        let materials = material_json(model, &mut extensions_used)?;
        root.push(("materials".into(), Value::Array(materials).into()));
    }
    // Meshes and nodes: one of each per primitive.
    let table_rows = model
        .properties
        .as_ref()
        .map(|p| p.count)
        .filter(|c| *c > 0);
    let mut meshes = Vec::new();
    let mut nodes = Vec::new();
    for (i, p) in model.primitives.iter().enumerate() {
        check_primitive(i, p, model)?;
        meshes.push(write_mesh(&mut w, i, p, table_rows, &mut extensions_used)?);
        nodes.push(node_json(i, p)?);
    }
    if !nodes.is_empty() {
        let scene_nodes: Vec<usize> = (0..nodes.len()).collect();
        root.push(("scene".into(), json!(0).into()));
        root.push(("scenes".into(), json!([{ "nodes": scene_nodes }]).into()));
        root.push(("nodes".into(), Value::Array(nodes).into()));
        root.push(("meshes".into(), Value::Array(meshes).into()));
    }
    let root_extensions = write_root_extensions(&mut w, model, &mut extensions_used)?;
    if !root_extensions.is_empty() {
        root.push(("extensions".into(), Json::Object(root_extensions)));
    }
    if !extensions_used.is_empty() {
        root.push(("extensionsUsed".into(), json!(extensions_used).into()));
    }
    let BinWriter {
        mut bin,
        views,
        accessors,
    } = w;
    pad(&mut bin, 4, 0);
    if !accessors.is_empty() {
        root.push(("accessors".into(), Value::Array(accessors).into()));
    }
    if !views.is_empty() {
        root.push(("bufferViews".into(), Value::Array(views).into()));
    }
    if !bin.is_empty() {
        root.push((
            "buffers".into(),
            json!([{ "byteLength": bin.len() }]).into(),
        ));
    }
    glb_container(&Json::Object(root), &bin)
}

/// Every texture as a PNG in the buffer: the `images` and `textures` arrays.
fn write_textures(
    w: &mut BinWriter,
    model: &Model,
) -> Result<(Vec<Value>, Vec<Value>), GltfWriteError> {
    let mut images = Vec::new();
    let mut textures = Vec::new();
    for (i, texture) in model.textures.iter().enumerate() {
        let png = encode_png(i, texture)?;
        let view = w.view(&png, 4, None, None);
        images.push(json!({ "bufferView": view, "mimeType": "image/png" }));
        textures.push(json!({ "source": i }));
    }
    Ok((images, textures))
}

/// The `materials` array (metallic-roughness, alpha mode, `KHR_materials_unlit`).
fn material_json(
    model: &Model,
    extensions_used: &mut BTreeSet<&'static str>,
) -> Result<Vec<Value>, GltfWriteError> {
    let mut materials = Vec::new();
    for (i, m) in model.materials.iter().enumerate() {
        let mut pbr = Map::new();
        pbr.insert("baseColorFactor".into(), json!(m.base_color));
        if let Some(t) = m.base_color_texture {
            if t >= model.textures.len() {
                return Err(GltfWriteError::MissingTexture {
                    material: i,
                    texture: t,
                    count: model.textures.len(),
                });
            }
            pbr.insert("baseColorTexture".into(), json!({ "index": t }));
        }
        pbr.insert("metallicFactor".into(), json!(m.metallic));
        pbr.insert("roughnessFactor".into(), json!(m.roughness));
        let mut material = Map::new();
        material.insert("pbrMetallicRoughness".into(), Value::Object(pbr));
        if m.double_sided {
            material.insert("doubleSided".into(), json!(true));
        }
        match m.alpha_mode {
            AlphaMode::Opaque => {}
            AlphaMode::Mask(cutoff) => {
                material.insert("alphaMode".into(), json!("MASK"));
                material.insert("alphaCutoff".into(), json!(cutoff));
            }
            AlphaMode::Blend => {
                material.insert("alphaMode".into(), json!("BLEND"));
            }
        }
        if m.unlit {
            material.insert("extensions".into(), json!({ "KHR_materials_unlit": {} }));
            extensions_used.insert("KHR_materials_unlit");
        }
        materials.push(Value::Object(material));
    }
    Ok(materials)
}

/// Primitive `i` has vertices, whole triangles of them and an existing material.
fn check_primitive(i: usize, p: &Primitive, model: &Model) -> Result<(), GltfWriteError> {
    let n = p.positions.len();
    if n == 0 {
        return Err(GltfWriteError::NoVertices { primitive: i });
    }
    if p.indices.is_empty() || !p.indices.len().is_multiple_of(3) {
        return Err(GltfWriteError::BadIndexCount {
            primitive: i,
            count: p.indices.len(),
        });
    }
    if let Some((at, value)) = p
        .indices
        .iter()
        .enumerate()
        .find(|(_, v)| **v as usize >= n)
    {
        return Err(GltfWriteError::IndexOutOfRange {
            primitive: i,
            at,
            value: *value,
            vertices: n,
        });
    }
    if let Some(m) = p.material.filter(|m| *m >= model.materials.len()) {
        return Err(GltfWriteError::MissingMaterial {
            primitive: i,
            material: m,
            count: model.materials.len(),
        });
    }
    Ok(())
}

/// Primitive `i` as a mesh: its attributes, feature IDs and indices in the buffer.
fn write_mesh(
    w: &mut BinWriter,
    i: usize,
    p: &Primitive,
    table_rows: Option<usize>,
    extensions_used: &mut BTreeSet<&'static str>,
) -> Result<Value, GltfWriteError> {
    let n = p.positions.len();
    let check_len = |attribute, actual| {
        if actual == n {
            Ok(())
        } else {
            Err(GltfWriteError::AttributeLength {
                primitive: i,
                attribute,
                actual,
                expected: n,
            })
        }
    };
    let mut attributes = Map::new();
    let (min, max) = bounds(i, &p.positions)?;
    let view = w.view(
        &f32_bytes(p.positions.as_flattened()),
        4,
        Some(ARRAY_BUFFER),
        None,
    );
    let acc = w.accessor(view, FLOAT, n, "VEC3", Some((min.to_vec(), max.to_vec())));
    attributes.insert("POSITION".into(), json!(acc));
    // Optional float attributes: (name, values, components, accessor type).
    let optional: [(&'static str, Option<&[f32]>, usize, &str); 3] = [
        (
            "NORMAL",
            p.normals.as_ref().map(|v| v.as_flattened()),
            3,
            "VEC3",
        ),
        (
            "TEXCOORD_0",
            p.uvs.as_ref().map(|v| v.as_flattened()),
            2,
            "VEC2",
        ),
        (
            "COLOR_0",
            p.colors.as_ref().map(|v| v.as_flattened()),
            4,
            "VEC4",
        ),
    ];
    for (name, values, components, kind) in optional {
        let Some(values) = values else { continue };
        check_len(name, values.len() / components)?;
        check_finite(i, name, values, components)?;
        let view = w.view(&f32_bytes(values), 4, Some(ARRAY_BUFFER), None);
        attributes.insert(name.into(), json!(w.accessor(view, FLOAT, n, kind, None)));
    }

    let mut primitive = Map::new();
    let mut features = None;
    if let Some(ids) = &p.feature_ids {
        check_len("_FEATURE_ID_0", ids.len())?;
        if let Some(feature_id) = write_feature_ids(w, i, ids, table_rows)? {
            attributes.insert("_FEATURE_ID_0".into(), json!(feature_id.accessor));
            let mut set = Map::new();
            set.insert("featureCount".into(), json!(feature_id.feature_count));
            set.insert("attribute".into(), json!(0));
            if let Some(null_id) = feature_id.null_feature_id {
                set.insert("nullFeatureId".into(), json!(null_id));
            }
            if table_rows.is_some() {
                set.insert("propertyTable".into(), json!(0));
            }
            features = Some(json!({ "featureIds": [Value::Object(set)] }));
            extensions_used.insert("EXT_mesh_features");
        }
    }
    primitive.insert("attributes".into(), Value::Object(attributes));
    primitive.insert("indices".into(), json!(write_indices(w, &p.indices)));
    primitive.insert("mode".into(), json!(4));
    if let Some(m) = p.material {
        primitive.insert("material".into(), json!(m));
    }
    if let Some(f) = features {
        primitive.insert("extensions".into(), json!({ "EXT_mesh_features": f }));
    }
    Ok(json!({ "primitives": [Value::Object(primitive)] }))
}

/// The index accessor: `UNSIGNED_SHORT` when every index fits, else `UNSIGNED_INT`.
fn write_indices(w: &mut BinWriter, indices: &[u32]) -> usize {
    let max_index = indices.iter().copied().max().unwrap_or(0);
    let (index_bytes, index_type) = if max_index < u32::from(u16::MAX) {
        let bytes: Vec<u8> = indices
            .iter()
            .flat_map(|v| (*v as u16).to_le_bytes())
            .collect();
        (bytes, UNSIGNED_SHORT)
    } else {
        let bytes: Vec<u8> = indices.iter().flat_map(|v| v.to_le_bytes()).collect();
        (bytes, UNSIGNED_INT)
    };
    let view = w.view(&index_bytes, 4, Some(ELEMENT_ARRAY_BUFFER), None);
    w.accessor(view, index_type, indices.len(), "SCALAR", None)
}

/// Primitive `i`'s node: its mesh, and its `model_from_mesh` matrix unless identity.
fn node_json(i: usize, p: &Primitive) -> Result<Value, GltfWriteError> {
    let mut node = Map::new();
    node.insert("mesh".into(), json!(i));
    if p.model_from_mesh != DMat4::IDENTITY {
        let m = p.model_from_mesh.to_cols_array();
        if let Some(at) = m.iter().position(|v| !v.is_finite()) {
            return Err(GltfWriteError::NonFinite {
                primitive: i,
                attribute: "model_from_mesh",
                at,
            });
        }
        node.insert("matrix".into(), json!(m));
    }
    Ok(Value::Object(node))
}

/// `EXT_structural_metadata` (the property table) and `CESIUM_RTC`.
fn write_root_extensions(
    w: &mut BinWriter,
    model: &Model,
    extensions_used: &mut BTreeSet<&'static str>,
) -> Result<Vec<(String, Json)>, GltfWriteError> {
    let mut root_extensions: Vec<(String, Json)> = Vec::new();
    if let Some(table) = model.properties.as_ref().filter(|t| t.count > 0) {
        root_extensions.push((
            "EXT_structural_metadata".into(),
            write_property_table(w, table)?,
        ));
        extensions_used.insert("EXT_structural_metadata");
    }
    if let Some(center) = model.rtc_center {
        root_extensions.push(("CESIUM_RTC".into(), json!({ "center": center }).into()));
        extensions_used.insert("CESIUM_RTC");
    }
    Ok(root_extensions)
}

/// Frames JSON and binary into the GLB layout: 12-byte header, JSON chunk padded with spaces,
/// BIN chunk (when there is binary data) padded with zeros.
fn glb_container(root: &Json, bin: &[u8]) -> Result<Vec<u8>, GltfWriteError> {
    let mut json = serde_json::to_vec(root).map_err(GltfWriteError::Json)?;
    pad(&mut json, 4, b' ');
    let mut bin = bin.to_vec();
    pad(&mut bin, 4, 0);
    let total = 12 + 8 + json.len() + if bin.is_empty() { 0 } else { 8 + bin.len() };
    let too_large = |_| GltfWriteError::TooLarge { bytes: total };
    let total_u32 = u32::try_from(total).map_err(too_large)?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&total_u32.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&json);
    if !bin.is_empty() {
        out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
        out.extend_from_slice(b"BIN\0");
        out.extend_from_slice(&bin);
    }
    Ok(out)
}

/// The binary buffer with its buffer views and accessors.
#[derive(Default)]
struct BinWriter {
    bin: Vec<u8>,
    views: Vec<Value>,
    accessors: Vec<Value>,
}

impl BinWriter {
    fn view(
        &mut self,
        bytes: &[u8],
        alignment: usize,
        target: Option<u32>,
        stride: Option<usize>,
    ) -> usize {
        pad(&mut self.bin, alignment, 0);
        let mut view = Map::new();
        view.insert("buffer".into(), json!(0));
        view.insert("byteOffset".into(), json!(self.bin.len()));
        view.insert("byteLength".into(), json!(bytes.len()));
        if let Some(s) = stride {
            view.insert("byteStride".into(), json!(s));
        }
        if let Some(t) = target {
            view.insert("target".into(), json!(t));
        }
        self.bin.extend_from_slice(bytes);
        self.views.push(Value::Object(view));
        self.views.len() - 1
    }

    fn accessor(
        &mut self,
        view: usize,
        component_type: u32,
        count: usize,
        kind: &str,
        min_max: Option<(Vec<f32>, Vec<f32>)>,
    ) -> usize {
        let mut accessor = Map::new();
        accessor.insert("bufferView".into(), json!(view));
        accessor.insert("componentType".into(), json!(component_type));
        accessor.insert("count".into(), json!(count));
        accessor.insert("type".into(), json!(kind));
        if let Some((min, max)) = min_max {
            accessor.insert("min".into(), json!(min));
            accessor.insert("max".into(), json!(max));
        }
        self.accessors.push(Value::Object(accessor));
        self.accessors.len() - 1
    }
}

fn pad(bytes: &mut Vec<u8>, alignment: usize, fill: u8) {
    let rem = bytes.len() % alignment;
    if rem != 0 {
        bytes.resize(bytes.len() + alignment - rem, fill);
    }
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn check_finite(
    primitive: usize,
    attribute: &'static str,
    values: &[f32],
    components: usize,
) -> Result<(), GltfWriteError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(at) => Err(GltfWriteError::NonFinite {
            primitive,
            attribute,
            at: at / components,
        }),
        None => Ok(()),
    }
}

/// Per-component minimum and maximum of the positions (required on POSITION by glTF 2.0).
fn bounds(
    primitive: usize,
    positions: &[[f32; 3]],
) -> Result<([f32; 3], [f32; 3]), GltfWriteError> {
    check_finite(primitive, "POSITION", positions.as_flattened(), 3)?;
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    for p in positions {
        for k in 0..3 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    Ok((min, max))
}

fn encode_png(
    index: usize,
    texture: &crate::buildings::model::Texture,
) -> Result<Vec<u8>, GltfWriteError> {
    let expected = u64::from(texture.width) * u64::from(texture.height) * 4;
    if texture.rgba8.len() as u64 != expected {
        return Err(GltfWriteError::TextureSize {
            texture: index,
            width: texture.width,
            height: texture.height,
            actual: texture.rgba8.len(),
            expected,
        });
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(
            &texture.rgba8,
            texture.width,
            texture.height,
            image::ExtendedColorType::Rgba8,
        )
        .map_err(|source| GltfWriteError::Png {
            texture: index,
            source,
        })?;
    Ok(png)
}

struct FeatureIdAttribute {
    accessor: usize,
    feature_count: usize,
    null_feature_id: Option<u32>,
}

/// Writes the `_FEATURE_ID_0` accessor; `None` when no vertex has a feature (an
/// `EXT_mesh_features` set needs `featureCount` ≥ 1, so the attribute would say nothing).
fn write_feature_ids(
    w: &mut BinWriter,
    primitive: usize,
    ids: &[u32],
    table_rows: Option<usize>,
) -> Result<Option<FeatureIdAttribute>, GltfWriteError> {
    let mut distinct = HashSet::new();
    let mut max_id = None::<u32>;
    let mut has_null = false;
    for (vertex, id) in ids.iter().enumerate() {
        if *id == u32::MAX {
            has_null = true;
            continue;
        }
        if let Some(rows) = table_rows
            && *id as usize >= rows
        {
            return Err(GltfWriteError::FeatureIdOutOfRange {
                primitive,
                vertex,
                id: *id,
                count: rows,
            });
        }
        distinct.insert(*id);
        max_id = Some(max_id.map_or(*id, |m| m.max(*id)));
    }
    let Some(max_id) = max_id else {
        return Ok(None);
    };
    // The null ID is the first value past every real one: past the table rows when there is a
    // table (where any out-of-range ID already means "no feature").
    let null_id = match table_rows {
        Some(rows) => u32::try_from(rows).unwrap_or(u32::MAX),
        None => max_id.saturating_add(1),
    };
    let largest = if has_null {
        null_id.max(max_id)
    } else {
        max_id
    };
    let null_feature_id = has_null.then_some(null_id);
    let value = |id: u32| if id == u32::MAX { null_id } else { id };

    let accessor = if largest <= u32::from(u16::MAX) {
        // Vertex attribute elements must start on 4-byte boundaries: pad each u16 to 4 bytes.
        let bytes: Vec<u8> = ids
            .iter()
            .flat_map(|id| {
                let [a, b] = (value(*id) as u16).to_le_bytes();
                [a, b, 0, 0]
            })
            .collect();
        let view = w.view(&bytes, 4, Some(ARRAY_BUFFER), Some(4));
        w.accessor(view, UNSIGNED_SHORT, ids.len(), "SCALAR", None)
    } else if largest <= MAX_FLOAT_FEATURE_ID {
        let floats: Vec<f32> = ids.iter().map(|id| value(*id) as f32).collect();
        let view = w.view(&f32_bytes(&floats), 4, Some(ARRAY_BUFFER), None);
        w.accessor(view, FLOAT, ids.len(), "SCALAR", None)
    } else {
        return Err(GltfWriteError::FeatureIdTooLarge {
            primitive,
            id: largest,
        });
    };
    Ok(Some(FeatureIdAttribute {
        accessor,
        feature_count: distinct.len(),
        null_feature_id,
    }))
}

/// Makes a metadata identifier (`^[a-zA-Z_][a-zA-Z0-9_]*$`) out of a name.
fn identifier(name: &str) -> String {
    let mut id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        id.insert(0, '_');
    }
    id
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Bool,
    Int,
    Float,
    Text,
    Array,
}

impl Kind {
    fn of(value: &PropertyValue) -> Option<Self> {
        match value {
            PropertyValue::Null => None,
            PropertyValue::Bool(_) => Some(Self::Bool),
            PropertyValue::Int(_) => Some(Self::Int),
            PropertyValue::Float(_) => Some(Self::Float),
            PropertyValue::Text(_) => Some(Self::Text),
            PropertyValue::Array(_) => Some(Self::Array),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Bool => "boolean",
            Self::Int => "integer",
            Self::Float => "float",
            Self::Text => "text",
            Self::Array => "array",
        }
    }

    /// The kind of a column holding both; integers widen to floats.
    fn join(self, other: Self) -> Option<Self> {
        match (self, other) {
            (a, b) if a == b => Some(a),
            (Self::Int, Self::Float) | (Self::Float, Self::Int) => Some(Self::Float),
            _ => None,
        }
    }
}

/// The common kind of a list of values (nulls skipped), or the two kinds that clash.
fn common_kind<'a>(
    values: impl IntoIterator<Item = &'a PropertyValue>,
) -> Result<Option<Kind>, (Kind, Kind)> {
    let mut kind: Option<Kind> = None;
    for v in values {
        if let Some(k) = Kind::of(v) {
            kind = Some(match kind {
                None => k,
                Some(prev) => prev.join(k).ok_or((prev, k))?,
            });
        }
    }
    Ok(kind)
}

fn offsets_u32(column: &str, offsets: &[usize]) -> Result<Vec<u8>, GltfWriteError> {
    let mut bytes = Vec::with_capacity(offsets.len() * 4);
    for (row, o) in offsets.iter().enumerate() {
        let o = u32::try_from(*o).map_err(|_| GltfWriteError::UnsupportedValue {
            column: column.to_owned(),
            row,
            reason: format!("offset {o} does not fit the UINT32 offsets written"),
        })?;
        bytes.extend_from_slice(&o.to_le_bytes());
    }
    Ok(bytes)
}

/// Writes `EXT_structural_metadata`: an embedded schema with one class and one property table.
fn write_property_table(w: &mut BinWriter, table: &PropertyTable) -> Result<Json, GltfWriteError> {
    let class_id = identifier(&table.class);
    // Column order is kept (serde_json maps would sort): decoders list columns in class order.
    let mut class_properties = Vec::new();
    let mut table_properties = Vec::new();
    let mut used_ids = HashSet::new();
    for column in &table.columns {
        let name = &column.name;
        if column.values.len() != table.count {
            return Err(GltfWriteError::ColumnLength {
                column: name.clone(),
                actual: column.values.len(),
                count: table.count,
            });
        }
        let mut id = identifier(name);
        while !used_ids.insert(id.clone()) {
            id.push('_');
        }
        let mixed = |(first, second): (Kind, Kind)| GltfWriteError::MixedColumn {
            column: name.clone(),
            first: first.name(),
            second: second.name(),
        };
        let has_null = column.values.contains(&PropertyValue::Null);
        let kind = common_kind(&column.values).map_err(mixed)?;

        let mut class_property = Map::new();
        if id != *name {
            class_property.insert("name".into(), json!(name));
        }
        let mut property = Map::new();
        match kind {
            // All null: an empty string column.
            None | Some(Kind::Text) => {
                let texts: Vec<&str> = column
                    .values
                    .iter()
                    .map(|v| match v {
                        PropertyValue::Text(s) => s.as_str(),
                        _ => "",
                    })
                    .collect();
                if has_null {
                    if column
                        .values
                        .iter()
                        .any(|v| matches!(v, PropertyValue::Text(s) if s.is_empty()))
                    {
                        return Err(GltfWriteError::NoDataCollision {
                            column: name.clone(),
                            sentinel: "\"\"".into(),
                        });
                    }
                    class_property.insert("noData".into(), json!(""));
                }
                class_property.insert("type".into(), json!("STRING"));
                write_strings(w, &mut property, name, &texts)?;
            }
            Some(Kind::Bool) => {
                let mut bits = vec![0u8; table.count.div_ceil(8)];
                for (row, v) in column.values.iter().enumerate() {
                    match v {
                        PropertyValue::Bool(true) => bits[row / 8] |= 1 << (row % 8),
                        PropertyValue::Bool(false) => {}
                        _ => {
                            return Err(GltfWriteError::UnsupportedValue {
                                column: name.clone(),
                                row,
                                reason: "null in a boolean column (BOOLEAN properties have no \
                                         noData value)"
                                    .into(),
                            });
                        }
                    }
                }
                class_property.insert("type".into(), json!("BOOLEAN"));
                property.insert("values".into(), json!(w.view(&bits, 8, None, None)));
            }
            Some(Kind::Int) => {
                let ints: Vec<Option<i64>> = column
                    .values
                    .iter()
                    .map(|v| match v {
                        PropertyValue::Int(i) => Some(*i),
                        _ => None,
                    })
                    .collect();
                let fits_i32 = ints
                    .iter()
                    .flatten()
                    .all(|i| i32::try_from(*i).is_ok() && !(has_null && *i == i64::from(i32::MIN)));
                class_property.insert("type".into(), json!("SCALAR"));
                let bytes: Vec<u8> = if fits_i32 {
                    class_property.insert("componentType".into(), json!("INT32"));
                    if has_null {
                        class_property.insert("noData".into(), json!(i32::MIN));
                    }
                    ints.iter()
                        .flat_map(|i| (i.unwrap_or(i64::from(i32::MIN)) as i32).to_le_bytes())
                        .collect()
                } else {
                    if has_null && ints.contains(&Some(i64::MIN)) {
                        return Err(GltfWriteError::NoDataCollision {
                            column: name.clone(),
                            sentinel: i64::MIN.to_string(),
                        });
                    }
                    class_property.insert("componentType".into(), json!("INT64"));
                    if has_null {
                        class_property.insert("noData".into(), json!(i64::MIN));
                    }
                    ints.iter()
                        .flat_map(|i| i.unwrap_or(i64::MIN).to_le_bytes())
                        .collect()
                };
                property.insert("values".into(), json!(w.view(&bytes, 8, None, None)));
            }
            Some(Kind::Float) => {
                let floats: Vec<Option<f64>> = column
                    .values
                    .iter()
                    .map(|v| match v {
                        PropertyValue::Int(i) => Some(*i as f64),
                        PropertyValue::Float(f) => Some(*f),
                        _ => None,
                    })
                    .collect();
                if has_null && floats.contains(&Some(f64::MIN)) {
                    return Err(GltfWriteError::NoDataCollision {
                        column: name.clone(),
                        sentinel: f64::MIN.to_string(),
                    });
                }
                class_property.insert("type".into(), json!("SCALAR"));
                class_property.insert("componentType".into(), json!("FLOAT64"));
                if has_null {
                    class_property.insert("noData".into(), json!(f64::MIN));
                }
                let bytes: Vec<u8> = floats
                    .iter()
                    .flat_map(|f| f.unwrap_or(f64::MIN).to_le_bytes())
                    .collect();
                property.insert("values".into(), json!(w.view(&bytes, 8, None, None)));
            }
            Some(Kind::Array) => {
                write_array_column(w, name, &column.values, &mut class_property, &mut property)?;
            }
        }
        class_properties.push((id.clone(), Value::Object(class_property).into()));
        table_properties.push((id, Value::Object(property).into()));
    }
    let object = |members: Vec<(&str, Json)>| {
        Json::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    };
    let class = object(vec![("properties", Json::Object(class_properties))]);
    let property_table = object(vec![
        ("class", json!(class_id).into()),
        ("count", json!(table.count).into()),
        ("properties", Json::Object(table_properties)),
    ]);
    Ok(object(vec![
        (
            "schema",
            object(vec![
                ("id", json!("jumeau").into()),
                ("classes", Json::Object(vec![(class_id, class)])),
            ]),
        ),
        ("propertyTables", Json::Array(vec![property_table])),
    ]))
}

/// JSON whose objects keep their member order when serialized.
enum Json {
    Value(Value),
    Object(Vec<(String, Json)>),
    Array(Vec<Json>),
}

impl From<Value> for Json {
    fn from(value: Value) -> Self {
        Self::Value(value)
    }
}

impl serde::Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Self::Value(v) => v.serialize(serializer),
            Self::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Self::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

/// Concatenated UTF-8 and the `count + 1` byte offsets of each string.
/// A STRING property's `values` and `stringOffsets` (UINT32) buffer views.
fn write_strings(
    w: &mut BinWriter,
    property: &mut Map<String, Value>,
    name: &str,
    texts: &[&str],
) -> Result<(), GltfWriteError> {
    let (values, offsets) = string_buffers(texts);
    property.insert("values".into(), json!(w.view(&values, 8, None, None)));
    let offsets = offsets_u32(name, &offsets)?;
    property.insert(
        "stringOffsets".into(),
        json!(w.view(&offsets, 8, None, None)),
    );
    property.insert("stringOffsetType".into(), json!("UINT32"));
    Ok(())
}

fn string_buffers(texts: &[&str]) -> (Vec<u8>, Vec<usize>) {
    let mut values = Vec::new();
    let mut offsets = Vec::with_capacity(texts.len() + 1);
    for t in texts {
        offsets.push(values.len());
        values.extend_from_slice(t.as_bytes());
    }
    offsets.push(values.len());
    (values, offsets)
}

/// A column of arrays: variable-length arrays of numbers (`INT64` when all integers, else
/// `FLOAT64`) or of strings; a null row is an empty array, the implicit `noData` of
/// variable-length arrays.
fn write_array_column(
    w: &mut BinWriter,
    name: &str,
    values: &[PropertyValue],
    class_property: &mut Map<String, Value>,
    property: &mut Map<String, Value>,
) -> Result<(), GltfWriteError> {
    let unsupported = |row: usize, reason: &str| GltfWriteError::UnsupportedValue {
        column: name.to_owned(),
        row,
        reason: reason.to_owned(),
    };
    let rows: Vec<&[PropertyValue]> = values
        .iter()
        .map(|v| match v {
            PropertyValue::Array(items) => items.as_slice(),
            _ => &[],
        })
        .collect();
    let mut element_kind = None;
    for (row, items) in rows.iter().enumerate() {
        for item in *items {
            let k = match Kind::of(item) {
                Some(k @ (Kind::Int | Kind::Float | Kind::Text)) => k,
                Some(_) => {
                    return Err(unsupported(
                        row,
                        "arrays of booleans or arrays are not supported",
                    ));
                }
                None => return Err(unsupported(row, "null inside an array")),
            };
            element_kind = Some(match element_kind {
                None => k,
                Some(prev) => Kind::join(prev, k).ok_or_else(|| GltfWriteError::MixedColumn {
                    column: name.to_owned(),
                    first: Kind::name(prev),
                    second: k.name(),
                })?,
            });
        }
    }
    let mut array_offsets = Vec::with_capacity(rows.len() + 1);
    let mut total = 0;
    for items in &rows {
        array_offsets.push(total);
        total += items.len();
    }
    array_offsets.push(total);
    let elements = rows.iter().flat_map(|items| items.iter());

    class_property.insert("array".into(), json!(true));
    match element_kind.unwrap_or(Kind::Float) {
        Kind::Text => {
            let texts: Vec<&str> = elements
                .map(|v| match v {
                    PropertyValue::Text(s) => s.as_str(),
                    _ => "",
                })
                .collect();
            class_property.insert("type".into(), json!("STRING"));
            write_strings(w, property, name, &texts)?;
        }
        Kind::Int => {
            class_property.insert("type".into(), json!("SCALAR"));
            class_property.insert("componentType".into(), json!("INT64"));
            let bytes: Vec<u8> = elements
                .flat_map(|v| {
                    match v {
                        PropertyValue::Int(i) => *i,
                        _ => 0,
                    }
                    .to_le_bytes()
                })
                .collect();
            property.insert("values".into(), json!(w.view(&bytes, 8, None, None)));
        }
        _ => {
            class_property.insert("type".into(), json!("SCALAR"));
            class_property.insert("componentType".into(), json!("FLOAT64"));
            let bytes: Vec<u8> = elements
                .flat_map(|v| {
                    match v {
                        PropertyValue::Int(i) => *i as f64,
                        PropertyValue::Float(f) => *f,
                        _ => 0.0,
                    }
                    .to_le_bytes()
                })
                .collect();
            property.insert("values".into(), json!(w.view(&bytes, 8, None, None)));
        }
    }
    let offsets = offsets_u32(name, &array_offsets)?;
    property.insert(
        "arrayOffsets".into(),
        json!(w.view(&offsets, 8, None, None)),
    );
    property.insert("arrayOffsetType".into(), json!("UINT32"));
    Ok(())
}

#[cfg(test)]
mod tests;
