//! Feature tables: the JSON header and binary body of b3dm, i3dm and pnts, read by the
//! semantics each format defines.

use super::*;

/// Component types of feature and batch table binary properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ct {
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
    pub(super) fn parse(name: &str) -> Option<Self> {
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

    pub(super) fn name(self) -> &'static str {
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

    pub(super) fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    /// Reads one component from exactly `self.size()` bytes.
    pub(super) fn read(self, b: &[u8]) -> PropertyValue {
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
pub(super) struct Table<'a> {
    pub(super) format: &'static str,
    pub(super) section: &'static str,
    /// JSON members in file order (batch table columns keep the order of the file).
    pub(super) json: Vec<(String, Value)>,
    pub(super) binary: &'a [u8],
}

impl<'a> Table<'a> {
    pub(super) fn parse(
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

    pub(super) fn get(&self, name: &str) -> Option<&Value> {
        self.json
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub(super) fn invalid(&self, field: &str, reason: String) -> ContentError {
        ContentError::InvalidField {
            format: self.format,
            section: self.section,
            field: field.to_owned(),
            reason,
        }
    }

    /// Resolves a `{"byteOffset": n, "componentType": ...}` reference; the first allowed
    /// component type is the default.
    pub(super) fn reference(
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
    pub(super) fn slice(
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
    pub(super) fn binary_typed(
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

    pub(super) fn binary_property(
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
    pub(super) fn global_numbers<const N: usize>(
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

    pub(super) fn global_u32(&self, name: &str) -> Result<Option<u32>, ContentError> {
        let Some([v]) = self.global_numbers::<1>(name, Ct::U32)? else {
            return Ok(None);
        };
        if v < 0.0 || v > f64::from(u32::MAX) || v.fract() != 0.0 {
            return Err(self.invalid(name, format!("{v} is not an unsigned 32-bit integer")));
        }
        Ok(Some(v as u32))
    }

    pub(super) fn global_vec3(&self, name: &str) -> Result<Option<[f64; 3]>, ContentError> {
        let v = self.global_numbers::<3>(name, Ct::F32)?;
        if let Some(v) = v
            && v.iter().any(|c| !c.is_finite())
        {
            return Err(self.invalid(name, format!("{v:?} is not finite")));
        }
        Ok(v)
    }

    pub(super) fn global_constant_rgba(&self) -> Result<Option<[u8; 4]>, ContentError> {
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

    pub(super) fn global_bool(&self, name: &str) -> Result<Option<bool>, ContentError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => {
                Err(self.invalid(name, format!("expected true or false, found {other}")))
            }
        }
    }
}

pub(super) fn parse_json_object(
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
pub(super) struct OrderedObject(Vec<(String, Value)>);

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

pub(super) fn f32_at(c: &[u8]) -> f64 {
    f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

pub(super) fn u16_at(c: &[u8]) -> u16 {
    u16::from_le_bytes([c[0], c[1]])
}

/// `POSITION` (float) or `POSITION_QUANTIZED` (+ volume offset and scale), plus `RTC_CENTER`.
pub(super) fn read_positions(
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

pub(super) fn read_vec3_f32(
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

pub(super) fn read_scalar_f32(
    ft: &Table<'_>,
    name: &str,
    count: usize,
) -> Result<Option<Vec<f64>>, ContentError> {
    Ok(ft
        .binary_property(name, &[Ct::F32], 1, count)?
        .map(|b| b.chunks_exact(4).map(f32_at).collect()))
}

pub(super) fn read_oct32p(
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

pub(super) fn read_batch_ids(
    ft: &Table<'_>,
    count: usize,
) -> Result<Option<Vec<u32>>, ContentError> {
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
