//! The glTF JSON as serde structs: only the members the twin uses (unknown members are
//! ignored), objects kept in file order where the order means something.

use super::*;

pub(super) fn default_mode() -> u32 {
    4
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Root {
    pub(super) asset: Option<Asset>,
    #[serde(default)]
    pub(super) extensions_required: Vec<String>,
    pub(super) scene: Option<usize>,
    #[serde(default)]
    pub(super) scenes: Vec<Scene>,
    #[serde(default)]
    pub(super) nodes: Vec<Node>,
    #[serde(default)]
    pub(super) meshes: Vec<Mesh>,
    #[serde(default)]
    pub(super) accessors: Vec<Accessor>,
    #[serde(default)]
    pub(super) buffer_views: Vec<BufferView>,
    #[serde(default)]
    pub(super) buffers: Vec<Buffer>,
    #[serde(default)]
    pub(super) materials: Vec<MaterialJson>,
    #[serde(default)]
    pub(super) textures: Vec<TextureJson>,
    #[serde(default)]
    pub(super) images: Vec<ImageJson>,
    #[serde(default)]
    pub(super) extensions: RootExtensions,
}

#[derive(Deserialize)]
pub(super) struct Asset {
    pub(super) version: String,
}

#[derive(Deserialize)]
pub(super) struct Scene {
    #[serde(default)]
    pub(super) nodes: Vec<usize>,
}

#[derive(Deserialize)]
pub(super) struct Node {
    #[serde(default)]
    pub(super) children: Vec<usize>,
    pub(super) mesh: Option<usize>,
    pub(super) matrix: Option<[f64; 16]>,
    pub(super) translation: Option<[f64; 3]>,
    pub(super) rotation: Option<[f64; 4]>,
    pub(super) scale: Option<[f64; 3]>,
}

#[derive(Deserialize)]
pub(super) struct Mesh {
    #[serde(default)]
    pub(super) primitives: Vec<PrimitiveJson>,
}

#[derive(Deserialize)]
pub(super) struct PrimitiveJson {
    #[serde(default)]
    pub(super) attributes: BTreeMap<String, usize>,
    pub(super) indices: Option<usize>,
    pub(super) material: Option<usize>,
    #[serde(default = "default_mode")]
    pub(super) mode: u32,
    #[serde(default)]
    pub(super) extensions: PrimitiveExtensions,
}

#[derive(Default, Deserialize)]
pub(super) struct PrimitiveExtensions {
    #[serde(rename = "EXT_mesh_features")]
    pub(super) mesh_features: Option<MeshFeatures>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MeshFeatures {
    #[serde(default)]
    pub(super) feature_ids: Vec<FeatureIdSet>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FeatureIdSet {
    pub(super) null_feature_id: Option<u64>,
    pub(super) attribute: Option<usize>,
    pub(super) texture: Option<Value>,
    pub(super) property_table: Option<usize>,
    /// Draft `EXT_mesh_features` implicit IDs: `offset + vertex / repeat`.
    pub(super) offset: Option<u64>,
    pub(super) repeat: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Accessor {
    pub(super) buffer_view: Option<usize>,
    #[serde(default)]
    pub(super) byte_offset: usize,
    pub(super) component_type: u32,
    #[serde(default)]
    pub(super) normalized: bool,
    pub(super) count: usize,
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) sparse: Option<Sparse>,
}

#[derive(Deserialize)]
pub(super) struct Sparse {
    pub(super) count: usize,
    pub(super) indices: SparseIndices,
    pub(super) values: SparseValues,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SparseIndices {
    pub(super) buffer_view: usize,
    #[serde(default)]
    pub(super) byte_offset: usize,
    pub(super) component_type: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SparseValues {
    pub(super) buffer_view: usize,
    #[serde(default)]
    pub(super) byte_offset: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BufferView {
    pub(super) buffer: usize,
    #[serde(default)]
    pub(super) byte_offset: usize,
    pub(super) byte_length: usize,
    pub(super) byte_stride: Option<usize>,
    #[serde(default)]
    pub(super) extensions: BufferViewExtensions,
}

#[derive(Default, Deserialize)]
pub(super) struct BufferViewExtensions {
    #[serde(rename = "EXT_meshopt_compression")]
    pub(super) meshopt: Option<MeshoptView>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MeshoptView {
    pub(super) buffer: usize,
    #[serde(default)]
    pub(super) byte_offset: usize,
    pub(super) byte_length: usize,
    pub(super) byte_stride: usize,
    pub(super) count: usize,
    pub(super) mode: String,
    pub(super) filter: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Buffer {
    pub(super) uri: Option<String>,
    pub(super) byte_length: usize,
    #[serde(default)]
    pub(super) extensions: BufferExtensions,
}

#[derive(Default, Deserialize)]
pub(super) struct BufferExtensions {
    #[serde(rename = "EXT_meshopt_compression")]
    pub(super) meshopt: Option<MeshoptBuffer>,
}

#[derive(Deserialize)]
pub(super) struct MeshoptBuffer {
    #[serde(default)]
    pub(super) fallback: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MaterialJson {
    pub(super) pbr_metallic_roughness: Option<Pbr>,
    #[serde(default)]
    pub(super) double_sided: bool,
    pub(super) alpha_mode: Option<String>,
    pub(super) alpha_cutoff: Option<f32>,
    #[serde(default)]
    pub(super) extensions: MaterialExtensions,
}

#[derive(Default, Deserialize)]
pub(super) struct MaterialExtensions {
    #[serde(rename = "KHR_materials_unlit")]
    pub(super) unlit: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Pbr {
    pub(super) base_color_factor: Option<[f32; 4]>,
    pub(super) base_color_texture: Option<TextureRef>,
    pub(super) metallic_factor: Option<f32>,
    pub(super) roughness_factor: Option<f32>,
}

#[derive(Deserialize)]
pub(super) struct TextureRef {
    pub(super) index: usize,
}

#[derive(Deserialize)]
pub(super) struct TextureJson {
    pub(super) source: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ImageJson {
    pub(super) uri: Option<String>,
    pub(super) buffer_view: Option<usize>,
}

#[derive(Default, Deserialize)]
pub(super) struct RootExtensions {
    #[serde(rename = "EXT_structural_metadata")]
    pub(super) metadata: Option<StructuralMetadata>,
    #[serde(rename = "CESIUM_RTC")]
    pub(super) rtc: Option<CesiumRtc>,
}

#[derive(Deserialize)]
pub(super) struct CesiumRtc {
    pub(super) center: [f64; 3],
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StructuralMetadata {
    pub(super) schema: Option<Schema>,
    #[serde(default)]
    pub(super) property_tables: Vec<PropertyTableJson>,
}

#[derive(Deserialize)]
pub(super) struct Schema {
    #[serde(default)]
    pub(super) classes: OrderedMap<Class>,
    #[serde(default)]
    pub(super) enums: OrderedMap<EnumJson>,
}

#[derive(Deserialize)]
pub(super) struct Class {
    #[serde(default)]
    pub(super) properties: OrderedMap<ClassProperty>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ClassProperty {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) component_type: Option<String>,
    pub(super) enum_type: Option<String>,
    #[serde(default)]
    pub(super) array: bool,
    pub(super) count: Option<usize>,
    #[serde(default)]
    pub(super) normalized: bool,
    pub(super) offset: Option<Value>,
    pub(super) scale: Option<Value>,
    pub(super) no_data: Option<Value>,
    pub(super) default: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EnumJson {
    pub(super) value_type: Option<String>,
    #[serde(default)]
    pub(super) values: Vec<EnumValueJson>,
}

#[derive(Deserialize)]
pub(super) struct EnumValueJson {
    pub(super) name: String,
    pub(super) value: i64,
}

#[derive(Deserialize)]
pub(super) struct PropertyTableJson {
    pub(super) class: String,
    pub(super) count: usize,
    #[serde(default)]
    pub(super) properties: OrderedMap<TableProperty>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TableProperty {
    pub(super) values: usize,
    pub(super) array_offsets: Option<usize>,
    pub(super) string_offsets: Option<usize>,
    pub(super) array_offset_type: Option<String>,
    pub(super) string_offset_type: Option<String>,
    pub(super) offset: Option<Value>,
    pub(super) scale: Option<Value>,
}

/// A JSON object kept in file order (class properties become columns in this order, whatever
/// features `serde_json` is built with).
pub(super) struct OrderedMap<T>(pub(super) Vec<(String, T)>);

impl<T> Default for OrderedMap<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> OrderedMap<T> {
    pub(super) fn get(&self, key: &str) -> Option<&T> {
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
