//! Decoded building models: what glTF, b3dm and i3dm content becomes before it reaches Bevy.
//!
//! Pure data, no GPU types: decoding runs on worker threads and the streaming systems turn a
//! [`Model`] into meshes, materials and a pick index on the main thread.

use bevy::math::DMat4;

/// One decoded glTF scene (or the glTF inside a b3dm / i3dm tile).
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Every triangle primitive of every node of the default scene, in scene order.
    pub primitives: Vec<Primitive>,
    pub materials: Vec<Material>,
    pub textures: Vec<Texture>,
    /// Per-feature attributes: the `EXT_structural_metadata` property table that the primitives'
    /// feature IDs point into, or a b3dm batch table. Row `i` describes feature ID `i`.
    pub properties: Option<PropertyTable>,
    /// `CESIUM_RTC` centre (glTF frame, metres) that positions are relative to, when present.
    pub rtc_center: Option<[f64; 3]>,
}

/// One triangle list with its node transform.
#[derive(Clone, Debug, Default)]
pub struct Primitive {
    /// The node's world matrix in the glTF scene (Y-up, metres), products of the node chain in
    /// f64: large translations (ECEF offsets) keep their precision here, not in `positions`.
    pub model_from_mesh: DMat4,
    pub positions: Vec<[f32; 3]>,
    pub normals: Option<Vec<[f32; 3]>>,
    pub uvs: Option<Vec<[f32; 2]>>,
    /// Linear RGBA vertex colours.
    pub colors: Option<Vec<[f32; 4]>>,
    /// Triangle list (strips and fans are expanded; non-indexed primitives get 0..n).
    pub indices: Vec<u32>,
    /// Per-vertex feature ID (`EXT_mesh_features` or `_BATCHID`); `u32::MAX` = no feature.
    pub feature_ids: Option<Vec<u32>>,
    pub material: Option<usize>,
}

/// A metallic-roughness material, reduced to what the twin draws.
#[derive(Clone, Debug, PartialEq)]
pub struct Material {
    /// Linear RGBA factor.
    pub base_color: [f32; 4],
    pub base_color_texture: Option<usize>,
    pub metallic: f32,
    pub roughness: f32,
    pub double_sided: bool,
    pub alpha_mode: AlphaMode,
    /// `KHR_materials_unlit`.
    pub unlit: bool,
}

impl Default for Material {
    fn default() -> Self {
        Self {
            base_color: [1.0; 4],
            base_color_texture: None,
            metallic: 1.0,
            roughness: 1.0,
            double_sided: false,
            alpha_mode: AlphaMode::Opaque,
            unlit: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum AlphaMode {
    #[default]
    Opaque,
    Mask(f32),
    Blend,
}

/// A decoded image, sRGB RGBA8, row-major from the top.
#[derive(Clone, Debug)]
pub struct Texture {
    pub width: u32,
    pub height: u32,
    pub rgba8: Vec<u8>,
}

/// Attributes of the features of one model, column by column.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PropertyTable {
    /// Class name (`EXT_structural_metadata`) or `"batch"` for a 3D Tiles 1.0 batch table.
    pub class: String,
    /// Number of features (rows).
    pub count: usize,
    pub columns: Vec<PropertyColumn>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PropertyColumn {
    pub name: String,
    /// Exactly `count` values.
    pub values: Vec<PropertyValue>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PropertyValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Array(Vec<PropertyValue>),
}

impl PropertyTable {
    /// The attributes of one feature as (name, value) pairs, in column order.
    pub fn row(&self, feature: usize) -> Vec<(&str, &PropertyValue)> {
        self.columns
            .iter()
            .filter_map(|c| c.values.get(feature).map(|v| (c.name.as_str(), v)))
            .collect()
    }

    pub fn column(&self, name: &str) -> Option<&PropertyColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}
