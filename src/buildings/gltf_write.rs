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

use glam::DMat4;
use image::ImageEncoder;
use serde_json::{Map, Value, json};

use crate::buildings::model::{AlphaMode, Model, PropertyTable, PropertyValue};

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

/// Writes `model` as a GLB.
pub fn write_glb(model: &Model) -> Result<Vec<u8>, GltfWriteError> {
    let mut w = BinWriter::default();
    let mut extensions_used = BTreeSet::new();
    let mut root: Vec<(String, Json)> = Vec::new();
    root.push((
        "asset".into(),
        json!({ "version": "2.0", "generator": "jumeau" }).into(),
    ));

    // Images and textures.
    if !model.textures.is_empty() {
        let mut images = Vec::new();
        let mut textures = Vec::new();
        for (i, texture) in model.textures.iter().enumerate() {
            let png = encode_png(i, texture)?;
            let view = w.view(&png, 4, None, None);
            images.push(json!({ "bufferView": view, "mimeType": "image/png" }));
            textures.push(json!({ "source": i }));
        }
        root.push(("images".into(), Value::Array(images).into()));
        root.push(("textures".into(), Value::Array(textures).into()));
    }

    // Materials.
    if !model.materials.is_empty() {
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
        let n = p.positions.len();
        if n == 0 {
            return Err(GltfWriteError::NoVertices { primitive: i });
        }
        if p.indices.is_empty() || p.indices.len() % 3 != 0 {
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
            if let Some(feature_id) = write_feature_ids(&mut w, i, ids, table_rows)? {
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

        let max_index = p.indices.iter().copied().max().unwrap_or(0);
        let (index_bytes, index_type) = if max_index < u32::from(u16::MAX) {
            let bytes: Vec<u8> = p
                .indices
                .iter()
                .flat_map(|v| (*v as u16).to_le_bytes())
                .collect();
            (bytes, UNSIGNED_SHORT)
        } else {
            let bytes: Vec<u8> = p.indices.iter().flat_map(|v| v.to_le_bytes()).collect();
            (bytes, UNSIGNED_INT)
        };
        let view = w.view(&index_bytes, 4, Some(ELEMENT_ARRAY_BUFFER), None);
        primitive.insert(
            "indices".into(),
            json!(w.accessor(view, index_type, p.indices.len(), "SCALAR", None)),
        );
        primitive.insert("mode".into(), json!(4));
        if let Some(m) = p.material {
            if m >= model.materials.len() {
                return Err(GltfWriteError::MissingMaterial {
                    primitive: i,
                    material: m,
                    count: model.materials.len(),
                });
            }
            primitive.insert("material".into(), json!(m));
        }
        if let Some(f) = features {
            primitive.insert("extensions".into(), json!({ "EXT_mesh_features": f }));
        }
        meshes.push(json!({ "primitives": [Value::Object(primitive)] }));

        let mut node = Map::new();
        node.insert("mesh".into(), json!(i));
        if p.model_from_mesh != DMat4::IDENTITY {
            let m = p.model_from_mesh.to_cols_array();
            if m.iter().any(|v| !v.is_finite()) {
                return Err(GltfWriteError::NonFinite {
                    primitive: i,
                    attribute: "model_from_mesh",
                    at: m.iter().position(|v| !v.is_finite()).unwrap_or(0),
                });
            }
            node.insert("matrix".into(), json!(m));
        }
        nodes.push(Value::Object(node));
    }
    if !nodes.is_empty() {
        let scene_nodes: Vec<usize> = (0..nodes.len()).collect();
        root.push(("scene".into(), json!(0).into()));
        root.push(("scenes".into(), json!([{ "nodes": scene_nodes }]).into()));
        root.push(("nodes".into(), Value::Array(nodes).into()));
        root.push(("meshes".into(), Value::Array(meshes).into()));
    }

    // Root extensions.
    let mut root_extensions: Vec<(String, Json)> = Vec::new();
    if let Some(table) = model.properties.as_ref().filter(|t| t.count > 0) {
        root_extensions.push((
            "EXT_structural_metadata".into(),
            write_property_table(&mut w, table)?,
        ));
        extensions_used.insert("EXT_structural_metadata");
    }
    if let Some(center) = model.rtc_center {
        root_extensions.push(("CESIUM_RTC".into(), json!({ "center": center }).into()));
        extensions_used.insert("CESIUM_RTC");
    }
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
mod tests {
    use glam::DVec3;

    use super::*;
    use crate::buildings::model::{Material, Primitive, PropertyColumn, Texture};

    /// A unit box as 24 vertices (4 per face, so normals and UVs are per face).
    fn box_primitive(size: [f32; 3], feature: u32) -> Primitive {
        let faces: [([f32; 3], [f32; 3], [f32; 3]); 6] = [
            ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]),
            ([-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]),
            ([0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]),
            ([0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]),
            ([0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),
            ([0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]),
        ];
        let mut p = Primitive::default();
        let (mut normals, mut uvs, mut colors) = (Vec::new(), Vec::new(), Vec::new());
        for (n, u, v) in faces {
            let base = p.positions.len() as u32;
            for (a, b) in [(-1.0f32, -1.0f32), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)] {
                let pos: [f32; 3] =
                    std::array::from_fn(|k| (n[k] + a * u[k] + b * v[k]) * 0.5 * size[k]);
                p.positions.push(pos);
                normals.push(n);
                uvs.push([(a + 1.0) / 2.0, (b + 1.0) / 2.0]);
                colors.push([0.5, 0.25, 1.0, 1.0]);
            }
            p.indices
                .extend([base, base + 1, base + 2, base, base + 2, base + 3]);
        }
        p.normals = Some(normals);
        p.uvs = Some(uvs);
        p.colors = Some(colors);
        p.feature_ids = Some(vec![feature; 24]);
        p
    }

    fn three_buildings() -> Model {
        let mut a = box_primitive([10.0, 12.0, 8.0], 0);
        a.material = Some(0);
        let mut b = box_primitive([6.0, 30.0, 6.0], 1);
        b.model_from_mesh =
            DMat4::from_translation(DVec3::new(4_201_234.125, 170_000.5, 4_780_000.25));
        b.material = Some(1);
        let mut c = box_primitive([20.0, 4.0, 15.0], 2);
        c.model_from_mesh = DMat4::from_scale_rotation_translation(
            DVec3::splat(2.0),
            glam::DQuat::from_rotation_y(0.5),
            DVec3::new(-30.0, 0.0, 12.0),
        );
        c.feature_ids = Some((0..24).map(|i| if i < 4 { u32::MAX } else { 2 }).collect());
        c.material = Some(2);
        let column = |name: &str, values: Vec<PropertyValue>| PropertyColumn {
            name: name.into(),
            values,
        };
        Model {
            primitives: vec![a, b, c],
            materials: vec![
                Material {
                    base_color: [0.8, 0.7, 0.6, 1.0],
                    base_color_texture: Some(0),
                    metallic: 0.0,
                    roughness: 0.9,
                    ..Material::default()
                },
                Material {
                    unlit: true,
                    double_sided: true,
                    alpha_mode: AlphaMode::Mask(0.4),
                    ..Material::default()
                },
                Material {
                    alpha_mode: AlphaMode::Blend,
                    base_color: [0.2, 0.3, 0.9, 0.5],
                    ..Material::default()
                },
            ],
            textures: vec![Texture {
                width: 2,
                height: 2,
                rgba8: vec![
                    255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 128,
                ],
            }],
            properties: Some(PropertyTable {
                class: "building".into(),
                count: 3,
                columns: vec![
                    column(
                        "id",
                        vec![
                            PropertyValue::Text("BAT-001".into()),
                            PropertyValue::Text("BAT-002".into()),
                            PropertyValue::Text("BÂT-003 ✓".into()),
                        ],
                    ),
                    column(
                        "height",
                        vec![
                            PropertyValue::Float(12.0),
                            PropertyValue::Float(30.5),
                            PropertyValue::Int(4),
                        ],
                    ),
                    column(
                        "use",
                        vec![
                            PropertyValue::Text("housing".into()),
                            PropertyValue::Null,
                            PropertyValue::Text("school".into()),
                        ],
                    ),
                    column(
                        "year",
                        vec![
                            PropertyValue::Int(1975),
                            PropertyValue::Null,
                            PropertyValue::Int(2021),
                        ],
                    ),
                    column(
                        "listed",
                        vec![
                            PropertyValue::Bool(true),
                            PropertyValue::Bool(false),
                            PropertyValue::Bool(true),
                        ],
                    ),
                    column(
                        "floor heights-m",
                        vec![
                            PropertyValue::Array(vec![
                                PropertyValue::Float(3.0),
                                PropertyValue::Float(2.5),
                            ]),
                            PropertyValue::Null,
                            PropertyValue::Array(vec![PropertyValue::Int(4)]),
                        ],
                    ),
                ],
            }),
            rtc_center: Some([4_201_000.0, 170_000.0, 4_780_000.0]),
        }
    }

    /// Splits a GLB into its JSON and BIN chunks, checking the container on the way.
    fn chunks(glb: &[u8]) -> (Value, Vec<u8>) {
        let u32_at = |at: usize| u32::from_le_bytes(glb[at..at + 4].try_into().expect("4 bytes"));
        assert_eq!(&glb[..4], b"glTF");
        assert_eq!(u32_at(4), 2, "version");
        assert_eq!(u32_at(8) as usize, glb.len(), "declared length");
        let json_len = u32_at(12) as usize;
        assert_eq!(&glb[16..20], b"JSON");
        assert_eq!(json_len % 4, 0, "JSON chunk padded to 4 bytes");
        let json_bytes = &glb[20..20 + json_len];
        let json: Value = serde_json::from_slice(json_bytes).expect("JSON chunk parses");
        let bin_start = 20 + json_len;
        if bin_start == glb.len() {
            return (json, Vec::new());
        }
        let bin_len = u32_at(bin_start) as usize;
        assert_eq!(&glb[bin_start + 4..bin_start + 8], b"BIN\0");
        assert_eq!(bin_len % 4, 0, "BIN chunk padded to 4 bytes");
        assert_eq!(bin_start + 8 + bin_len, glb.len());
        (json, glb[bin_start + 8..].to_vec())
    }

    fn view_bytes<'a>(json: &Value, bin: &'a [u8], view: u64) -> &'a [u8] {
        let v = &json["bufferViews"][view as usize];
        let offset = v["byteOffset"].as_u64().unwrap_or(0) as usize;
        let len = v["byteLength"].as_u64().expect("byteLength") as usize;
        &bin[offset..offset + len]
    }

    #[test]
    fn written_glb_passes_structural_checks() {
        let model = three_buildings();
        let glb = write_glb(&model).expect("write");
        let (json, bin) = chunks(&glb);

        assert_eq!(json["asset"]["version"], "2.0");
        let used: Vec<&str> = json["extensionsUsed"]
            .as_array()
            .expect("extensionsUsed")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            used,
            [
                "CESIUM_RTC",
                "EXT_mesh_features",
                "EXT_structural_metadata",
                "KHR_materials_unlit"
            ]
        );
        assert!(json.get("extensionsRequired").is_none());
        assert_eq!(
            json["buffers"][0]["byteLength"].as_u64(),
            Some(bin.len() as u64)
        );

        // Every buffer view inside the buffer, 4-byte aligned; every accessor inside its view.
        let views = json["bufferViews"].as_array().expect("views");
        for v in views {
            let offset = v["byteOffset"].as_u64().expect("offset");
            let len = v["byteLength"].as_u64().expect("length");
            assert_eq!(offset % 4, 0);
            assert!(offset + len <= bin.len() as u64);
        }
        for a in json["accessors"].as_array().expect("accessors") {
            let v = &views[a["bufferView"].as_u64().expect("view") as usize];
            let size = match a["componentType"].as_u64() {
                Some(5123) => 2,
                _ => 4,
            } * match a["type"].as_str() {
                Some("VEC2") => 2,
                Some("VEC3") => 3,
                Some("VEC4") => 4,
                _ => 1,
            };
            let stride = v["byteStride"].as_u64().unwrap_or(size);
            let count = a["count"].as_u64().expect("count");
            assert!(stride * (count - 1) + size <= v["byteLength"].as_u64().expect("len"));
        }

        // One node per primitive; identity matrices omitted, translations kept in f64.
        let nodes = json["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), 3);
        assert!(nodes[0].get("matrix").is_none());
        assert_eq!(nodes[1]["matrix"][12].as_f64(), Some(4_201_234.125));
        assert_eq!(nodes[1]["matrix"][13].as_f64(), Some(170_000.5));
        let m: Vec<f64> = nodes[2]["matrix"]
            .as_array()
            .expect("matrix")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        assert_eq!(m, model.primitives[2].model_from_mesh.to_cols_array());

        // POSITION min/max is the box extent.
        for (i, mesh) in json["meshes"]
            .as_array()
            .expect("meshes")
            .iter()
            .enumerate()
        {
            let prim = &mesh["primitives"][0];
            let pos =
                &json["accessors"][prim["attributes"]["POSITION"].as_u64().expect("pos") as usize];
            let half: Vec<f64> = (0..3)
                .map(|k| {
                    f64::from(
                        model.primitives[i]
                            .positions
                            .iter()
                            .map(|p| p[k])
                            .fold(f32::MIN, f32::max),
                    )
                })
                .collect();
            let max: Vec<f64> = pos["max"]
                .as_array()
                .expect("max")
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            let min: Vec<f64> = pos["min"]
                .as_array()
                .expect("min")
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            assert_eq!(max, half);
            assert_eq!(min, half.iter().map(|h| -h).collect::<Vec<_>>());
            assert_eq!(pos["count"], 24);
            // 36 indices, all < 65536: u16.
            let indices = &json["accessors"][prim["indices"].as_u64().expect("indices") as usize];
            assert_eq!(indices["componentType"], 5123);
            assert_eq!(indices["count"], 36);
        }

        // Materials.
        let mats = &json["materials"];
        assert_eq!(
            mats[0]["pbrMetallicRoughness"]["baseColorTexture"]["index"],
            0
        );
        assert_eq!(mats[0]["pbrMetallicRoughness"]["metallicFactor"], 0.0);
        assert_eq!(mats[1]["alphaMode"], "MASK");
        assert!((mats[1]["alphaCutoff"].as_f64().expect("cutoff") - 0.4).abs() < 1e-6);
        assert_eq!(mats[1]["doubleSided"], true);
        assert!(mats[1]["extensions"]["KHR_materials_unlit"].is_object());
        assert_eq!(mats[2]["alphaMode"], "BLEND");
        assert_eq!(json["images"][0]["mimeType"], "image/png");
        let png = view_bytes(
            &json,
            &bin,
            json["images"][0]["bufferView"].as_u64().expect("view"),
        );
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(json["extensions"]["CESIUM_RTC"]["center"][0], 4_201_000.0);
    }

    /// Reads property `name` of the property table back from the binary buffer.
    fn read_property(json: &Value, bin: &[u8], name: &str) -> Vec<PropertyValue> {
        let meta = &json["extensions"]["EXT_structural_metadata"];
        let table = &meta["propertyTables"][0];
        let class = &meta["schema"]["classes"][table["class"].as_str().expect("class")];
        let def = &class["properties"][name];
        let prop = &table["properties"][name];
        let count = table["count"].as_u64().expect("count") as usize;
        let values = view_bytes(json, bin, prop["values"].as_u64().expect("values"));
        let u32s = |view: &Value| -> Vec<usize> {
            view_bytes(json, bin, view.as_u64().expect("view"))
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().expect("4")) as usize)
                .collect()
        };
        let scalar = |i: usize| -> PropertyValue {
            match def["componentType"].as_str() {
                Some("INT32") => PropertyValue::Int(i64::from(i32::from_le_bytes(
                    values[i * 4..i * 4 + 4].try_into().expect("4"),
                ))),
                Some("INT64") => PropertyValue::Int(i64::from_le_bytes(
                    values[i * 8..i * 8 + 8].try_into().expect("8"),
                )),
                _ => PropertyValue::Float(f64::from_le_bytes(
                    values[i * 8..i * 8 + 8].try_into().expect("8"),
                )),
            }
        };
        let no_data = def.get("noData");
        let as_null = |v: PropertyValue| match (&v, no_data) {
            (PropertyValue::Int(i), Some(nd)) if nd.as_i64() == Some(*i) => PropertyValue::Null,
            (PropertyValue::Float(f), Some(nd)) if nd.as_f64() == Some(*f) => PropertyValue::Null,
            (PropertyValue::Text(s), Some(nd)) if nd.as_str() == Some(s) => PropertyValue::Null,
            _ => v,
        };
        let string = |offsets: &[usize], i: usize| {
            PropertyValue::Text(
                String::from_utf8(values[offsets[i]..offsets[i + 1]].to_vec()).expect("utf8"),
            )
        };
        if def["array"] == true {
            let arrays = u32s(&prop["arrayOffsets"]);
            let strings = prop.get("stringOffsets").map(u32s);
            return (0..count)
                .map(|row| {
                    let items: Vec<_> = (arrays[row]..arrays[row + 1])
                        .map(|i| match &strings {
                            Some(offsets) => string(offsets, i),
                            None => scalar(i),
                        })
                        .collect();
                    if items.is_empty() {
                        PropertyValue::Null
                    } else {
                        PropertyValue::Array(items)
                    }
                })
                .collect();
        }
        match def["type"].as_str() {
            Some("STRING") => {
                let offsets = u32s(&prop["stringOffsets"]);
                (0..count).map(|i| as_null(string(&offsets, i))).collect()
            }
            Some("BOOLEAN") => (0..count)
                .map(|i| PropertyValue::Bool(values[i / 8] >> (i % 8) & 1 == 1))
                .collect(),
            _ => (0..count).map(|i| as_null(scalar(i))).collect(),
        }
    }

    #[test]
    fn feature_ids_and_property_table_read_back() {
        let model = three_buildings();
        let glb = write_glb(&model).expect("write");
        let (json, bin) = chunks(&glb);

        let meta = &json["extensions"]["EXT_structural_metadata"];
        assert_eq!(meta["propertyTables"][0]["class"], "building");
        assert_eq!(meta["propertyTables"][0]["count"], 3);
        let class = &meta["schema"]["classes"]["building"]["properties"];
        assert_eq!(class["year"]["componentType"], "INT32");
        assert_eq!(class["year"]["noData"], i32::MIN);
        assert_eq!(class["height"]["componentType"], "FLOAT64");
        assert_eq!(class["use"]["type"], "STRING");
        assert_eq!(class["use"]["noData"], "");
        assert_eq!(class["listed"]["type"], "BOOLEAN");
        // Names that are not identifiers get an identifier and keep their name.
        assert_eq!(class["floor_heights_m"]["name"], "floor heights-m");
        // Metadata buffer views are 8-byte aligned, as EXT_structural_metadata asks.
        let table_properties = meta["propertyTables"][0]["properties"]
            .as_object()
            .expect("props");
        for property in table_properties.values() {
            for key in ["values", "arrayOffsets", "stringOffsets"] {
                if let Some(view) = property.get(key).and_then(Value::as_u64) {
                    let offset = json["bufferViews"][view as usize]["byteOffset"].as_u64();
                    assert_eq!(offset.map(|o| o % 8), Some(0), "{key} of {property}");
                }
            }
        }

        let table = model.properties.as_ref().expect("properties");
        for column in &table.columns {
            let id = identifier(&column.name);
            let mut expected = column.values.clone();
            if column.name == "height" {
                expected[2] = PropertyValue::Float(4.0);
            }
            if column.name == "floor heights-m" {
                expected[2] = PropertyValue::Array(vec![PropertyValue::Float(4.0)]);
            }
            assert_eq!(
                read_property(&json, &bin, &id),
                expected,
                "column {}",
                column.name
            );
        }

        // Feature IDs: u16 with a 4-byte stride, the null ID past the table.
        for (i, mesh) in json["meshes"]
            .as_array()
            .expect("meshes")
            .iter()
            .enumerate()
        {
            let prim = &mesh["primitives"][0];
            let set = &prim["extensions"]["EXT_mesh_features"]["featureIds"][0];
            assert_eq!(set["featureCount"], 1);
            assert_eq!(set["propertyTable"], 0);
            assert_eq!(set["attribute"], 0);
            let acc = &json["accessors"]
                [prim["attributes"]["_FEATURE_ID_0"].as_u64().expect("fid") as usize];
            assert_eq!(acc["componentType"], 5123);
            assert_eq!(acc["type"], "SCALAR");
            let view = &json["bufferViews"][acc["bufferView"].as_u64().expect("view") as usize];
            assert_eq!(view["byteStride"], 4);
            let bytes = view_bytes(&json, &bin, acc["bufferView"].as_u64().expect("view"));
            let ids: Vec<u32> = bytes
                .chunks_exact(4)
                .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])))
                .collect();
            let null = set["nullFeatureId"].as_u64().map(|n| n as u32);
            let decoded: Vec<u32> = ids
                .iter()
                .map(|id| if Some(*id) == null { u32::MAX } else { *id })
                .collect();
            assert_eq!(Some(&decoded), model.primitives[i].feature_ids.as_ref());
            assert_eq!(null, (i == 2).then_some(3));
        }
    }

    #[test]
    fn gltf_crate_accepts_and_reads_the_output() {
        let model = three_buildings();
        let glb = write_glb(&model).expect("write");
        let gltf = ::gltf::Gltf::from_slice(&glb).expect("gltf crate validates the GLB");
        let blob = gltf.blob.as_deref().expect("BIN chunk");
        assert_eq!(gltf.meshes().count(), 3);
        for (node, expected) in gltf.nodes().zip(&model.primitives) {
            let mesh = node.mesh().expect("mesh");
            let prim = mesh.primitives().next().expect("primitive");
            let reader = prim.reader(|_| Some(blob));
            let positions: Vec<[f32; 3]> = reader.read_positions().expect("positions").collect();
            assert_eq!(positions, expected.positions);
            let normals: Vec<[f32; 3]> = reader.read_normals().expect("normals").collect();
            assert_eq!(Some(&normals), expected.normals.as_ref());
            let uvs: Vec<[f32; 2]> = reader.read_tex_coords(0).expect("uvs").into_f32().collect();
            assert_eq!(Some(&uvs), expected.uvs.as_ref());
            let colors: Vec<[f32; 4]> = reader
                .read_colors(0)
                .expect("colors")
                .into_rgba_f32()
                .collect();
            assert_eq!(Some(&colors), expected.colors.as_ref());
            let indices: Vec<u32> = reader.read_indices().expect("indices").into_u32().collect();
            assert_eq!(indices, expected.indices);
            let matrix = node.transform().matrix();
            let expected_matrix = expected.model_from_mesh.as_mat4().to_cols_array_2d();
            assert_eq!(matrix, expected_matrix);
            assert_eq!(prim.material().index(), expected.material);
        }
        let unlit = gltf.materials().nth(1).expect("material 1");
        assert!(unlit.unlit());
        assert_eq!(unlit.alpha_mode(), ::gltf::material::AlphaMode::Mask);
        assert!(unlit.double_sided());
    }

    #[test]
    fn large_meshes_use_u32_indices_and_float_feature_ids() {
        let n = 70_000u32;
        let mut p = Primitive {
            positions: (0..n).map(|i| [i as f32, 0.0, (i % 7) as f32]).collect(),
            indices: (0..n - 2).flat_map(|i| [i, i + 1, i + 2]).collect(),
            feature_ids: Some((0..n).collect()),
            ..Primitive::default()
        };
        p.feature_ids.as_mut().expect("ids")[5] = u32::MAX;
        let model = Model {
            primitives: vec![p],
            ..Model::default()
        };
        let glb = write_glb(&model).expect("write");
        let (json, _) = chunks(&glb);
        let prim = &json["meshes"][0]["primitives"][0];
        assert_eq!(
            json["accessors"][prim["indices"].as_u64().expect("i") as usize]["componentType"],
            5125
        );
        let fid =
            &json["accessors"][prim["attributes"]["_FEATURE_ID_0"].as_u64().expect("f") as usize];
        assert_eq!(fid["componentType"], 5126);
        let set = &prim["extensions"]["EXT_mesh_features"]["featureIds"][0];
        assert_eq!(set["featureCount"], n - 1);
        assert_eq!(set["nullFeatureId"], n);
        assert!(set.get("propertyTable").is_none());
        assert!(
            json["extensionsUsed"]
                .as_array()
                .expect("used")
                .iter()
                .all(|e| e != "EXT_structural_metadata")
        );
        ::gltf::Gltf::from_slice(&glb).expect("valid");
    }

    #[test]
    fn empty_model_is_a_valid_glb_without_buffers() {
        let glb = write_glb(&Model::default()).expect("write");
        let (json, bin) = chunks(&glb);
        assert!(bin.is_empty());
        assert!(json.get("buffers").is_none());
        ::gltf::Gltf::from_slice(&glb).expect("valid");
    }

    #[test]
    fn bad_models_are_errors_naming_what_is_wrong() {
        let expect_err = |model: Model, needle: &str| {
            let text = write_glb(&model).expect_err("should fail").to_string();
            assert!(text.contains(needle), "expected {needle:?} in {text:?}");
        };
        let mut m = three_buildings();
        m.primitives[1].normals.as_mut().expect("normals").pop();
        expect_err(m, "primitive 1: NORMAL has 23 values but POSITION has 24");

        let mut m = three_buildings();
        m.primitives[0].indices[7] = 24;
        expect_err(m, "index 24 (at 7) is past its 24 vertices");

        let mut m = three_buildings();
        m.primitives[2].indices.pop();
        expect_err(m, "35 indices");

        let mut m = three_buildings();
        m.primitives[0].feature_ids.as_mut().expect("ids")[3] = 3;
        expect_err(m, "feature ID 3 at vertex 3 is past the 3 rows");

        let mut m = three_buildings();
        m.primitives[0].positions[2][1] = f32::NAN;
        expect_err(m, "POSITION value 2 is not finite");

        let mut m = three_buildings();
        m.primitives[0].material = Some(9);
        expect_err(m, "material 9 does not exist");

        let mut m = three_buildings();
        m.materials[0].base_color_texture = Some(4);
        expect_err(m, "base colour texture 4 does not exist");

        let mut m = three_buildings();
        m.textures[0].rgba8.pop();
        expect_err(m, "15 bytes of RGBA8 for 2x2 (expected 16)");

        fn props(m: &mut Model) -> &mut PropertyTable {
            m.properties.as_mut().expect("props")
        }
        let mut m = three_buildings();
        props(&mut m).columns[0].values[1] = PropertyValue::Int(3);
        expect_err(m, "column id mixes text and integer values");

        let mut m = three_buildings();
        props(&mut m).columns[4].values[1] = PropertyValue::Null;
        expect_err(m, "column listed, row 1: null in a boolean column");

        let mut m = three_buildings();
        props(&mut m).columns[2].values[0] = PropertyValue::Text(String::new());
        expect_err(m, "column use holds \"\"");

        let mut m = three_buildings();
        props(&mut m).columns[3].values.pop();
        expect_err(m, "column year has 2 values but the table has 3 rows");
    }

    #[test]
    fn b3dm_wrapping_keeps_the_written_glb() {
        let glb = write_glb(&three_buildings()).expect("write");
        let table = three_buildings().properties;
        let tile = write_b3dm(&glb, table.as_ref(), Some([1.0, 2.0, 3.0]));
        match crate::buildings::tiles3d::content::parse_content(&tile) {
            Ok(crate::buildings::tiles3d::content::TileContent::Model {
                glb: parsed,
                batch_length,
                ..
            }) => {
                assert_eq!(parsed, glb);
                assert_eq!(batch_length, 3);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decode_glb_reads_back_what_was_written() {
        let model = three_buildings();
        let glb = write_glb(&model).expect("write");
        let decoded = crate::buildings::gltf::decode_glb(&glb).expect("decode");
        assert_eq!(decoded.primitives.len(), 3);
        for (got, want) in decoded.primitives.iter().zip(&model.primitives) {
            assert_eq!(got.positions, want.positions);
            assert_eq!(got.indices, want.indices);
            assert_eq!(got.normals, want.normals);
            assert_eq!(got.uvs, want.uvs);
            assert_eq!(got.colors, want.colors);
            assert_eq!(got.feature_ids, want.feature_ids);
            assert_eq!(got.material, want.material);
            assert!(
                got.model_from_mesh.abs_diff_eq(want.model_from_mesh, 1e-9),
                "{} vs {}",
                got.model_from_mesh,
                want.model_from_mesh
            );
        }
        assert_eq!(decoded.materials, model.materials);
        assert_eq!(decoded.textures.len(), 1);
        assert_eq!(decoded.textures[0].rgba8, model.textures[0].rgba8);
        assert_eq!(decoded.rtc_center, model.rtc_center);

        let mut want = model.properties.clone().expect("properties");
        // Integers written into a float column come back as floats; a name that is not an
        // identifier comes back as its identifier; a null array is written as the empty array
        // (the implicit noData of variable-length arrays) and read back as one.
        want.columns[1].values[2] = PropertyValue::Float(4.0);
        want.columns[5].name = "floor_heights_m".into();
        want.columns[5].values[1] = PropertyValue::Array(Vec::new());
        want.columns[5].values[2] = PropertyValue::Array(vec![PropertyValue::Float(4.0)]);
        let got = decoded.properties.expect("decoded properties");
        assert_eq!(got.class, want.class);
        assert_eq!(got.count, want.count);
        for (g, w) in got.columns.iter().zip(&want.columns) {
            assert_eq!(g, w);
        }
        assert_eq!(got.columns.len(), want.columns.len());
    }
}
