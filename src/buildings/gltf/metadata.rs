//! EXT_structural_metadata property tables: each column read by its class property's type
//! (scalars, vectors, matrices, strings, enums, booleans, arrays; offsets, noData, normalisation)
//! into property values.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum MetaType {
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
pub(super) enum Raw {
    Int(i128),
    Float(f64),
}

impl MetaType {
    pub(super) fn parse(name: &str) -> Option<Self> {
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

    pub(super) fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::I64 | Self::U64 | Self::F64 => 8,
        }
    }

    pub(super) fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F64)
    }

    /// Largest value, for normalisation.
    pub(super) fn max(self) -> f64 {
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
    pub(super) fn read(self, bytes: &[u8], index: usize) -> Option<Raw> {
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
pub(super) enum ElementKind<'d> {
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
pub(super) enum RawValue {
    Bool(bool),
    Text(String),
    Enum(i128),
    Number(Vec<Raw>),
    Array(Vec<RawValue>),
}

pub(super) struct ColumnReader<'r, 'a> {
    pub(super) doc: &'r Document<'a>,
    pub(super) table: usize,
    pub(super) name: &'r str,
    pub(super) count: usize,
    pub(super) class: &'r ClassProperty,
    pub(super) property: &'r TableProperty,
    pub(super) schema: &'r Schema,
}

pub(super) fn offset_type(name: Option<&str>) -> Option<MetaType> {
    match name.unwrap_or("UINT32") {
        "UINT8" => Some(MetaType::U8),
        "UINT16" => Some(MetaType::U16),
        "UINT32" => Some(MetaType::U32),
        "UINT64" => Some(MetaType::U64),
        _ => None,
    }
}

pub(super) fn read_offset(bytes: &[u8], ty: MetaType, index: usize) -> Option<usize> {
    match ty.read(bytes, index)? {
        Raw::Int(v) => usize::try_from(v).ok(),
        Raw::Float(_) => None,
    }
}

impl ColumnReader<'_, '_> {
    pub(super) fn err(&self, reason: String) -> GltfError {
        GltfError::Metadata {
            table: self.table,
            property: self.name.to_string(),
            reason,
        }
    }

    pub(super) fn view(&self, index: usize, what: &str) -> Result<&[u8], GltfError> {
        let referrer = format!(
            "property table {} property {:?} {what}",
            self.table, self.name
        );
        Ok(self.doc.view(index, &referrer)?.bytes)
    }

    pub(super) fn read(&self) -> Result<Vec<PropertyValue>, GltfError> {
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

    pub(super) fn element(
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

pub(super) fn enum_name(def: &EnumJson, value: i128) -> Option<&str> {
    def.values
        .iter()
        .find(|v| i128::from(v.value) == value)
        .map(|v| v.name.as_str())
}

pub(super) fn raw_equals(raw: Raw, json: &Value, ctype: MetaType) -> bool {
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

pub(super) fn matches_no_data(raw: &RawValue, no_data: &Value, kind: &ElementKind) -> bool {
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
pub(super) fn pick(
    json: Option<&Value>,
    element: Option<usize>,
    comp: Option<usize>,
) -> Option<f64> {
    let mut v = json?;
    if let (Value::Array(a), Some(e)) = (v, element) {
        v = a.get(e)?;
    }
    if let (Value::Array(a), Some(c)) = (v, comp) {
        v = a.get(c)?;
    }
    v.as_f64()
}

pub(super) fn convert(
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

pub(super) fn int_value(v: i128) -> PropertyValue {
    i64::try_from(v).map_or(PropertyValue::Float(v as f64), PropertyValue::Int)
}

pub(super) fn json_value(v: &Value) -> PropertyValue {
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
