//! Writers for b3dm, i3dm, pnts and cmpt (used by the demo and by tests that build tiles
//! that lie).

use super::*;

/// Builds a feature table (JSON header + binary body) for [`write_i3dm`] and [`write_pnts`].
///
/// Binary properties are placed 8-byte aligned and written with their `componentType`, so the
/// output is what a spec-following writer produces; nothing is validated, so tests can also
/// build tiles that lie.
#[derive(Clone, Debug, Default)]
pub struct FeatureTableWriter {
    pub(super) json: Map<String, Value>,
    pub(super) binary: Vec<u8>,
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

pub(super) fn pad_to(bytes: &mut Vec<u8>, alignment: usize, fill: u8) {
    let rem = bytes.len() % alignment;
    if rem != 0 {
        bytes.resize(bytes.len() + alignment - rem, fill);
    }
}

/// The batch table JSON of a property table: one JSON array per column, in column order.
pub(super) fn batch_table_json(batch: &PropertyTable) -> Vec<u8> {
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
pub(super) fn assemble(
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
pub(super) fn pad_to_from(bytes: &mut Vec<u8>, start: usize, fill: u8) {
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
