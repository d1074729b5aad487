//! Batch tables: per-feature properties (JSON arrays or binary columns) as a property table.

use super::*;

/// Reads a batch table into `count` rows; `None` when the tile has none (or an empty one).
pub(super) fn parse_batch_table(
    format: &'static str,
    json: &[u8],
    binary: &[u8],
    count: usize,
) -> Result<Option<PropertyTable>, ContentError> {
    let table = Table::parse(format, "batch table", json, binary)?;
    let mut columns = Vec::new();
    for (name, value) in &table.json {
        // `extensions` holds 3DTILES_batch_table_hierarchy, which is not supported; `extras`
        // is application data, not a property.
        if name == "extensions" || name == "extras" {
            continue;
        }
        let values = match value {
            Value::Array(items) => {
                if items.len() != count {
                    return Err(table.invalid(
                        name,
                        format!("has {} values but the batch length is {count}", items.len()),
                    ));
                }
                items.iter().map(json_to_property).collect()
            }
            Value::Object(object) => {
                let components = match object.get("type").and_then(Value::as_str) {
                    Some("SCALAR") => 1,
                    Some("VEC2") => 2,
                    Some("VEC3") => 3,
                    Some("VEC4") => 4,
                    other => {
                        return Err(table.invalid(
                            name,
                            format!("type {other:?} is not SCALAR, VEC2, VEC3 or VEC4"),
                        ));
                    }
                };
                if object.get("componentType").is_none() {
                    return Err(table.invalid(name, "binary property has no componentType".into()));
                }
                let all = [
                    Ct::F32,
                    Ct::I8,
                    Ct::U8,
                    Ct::I16,
                    Ct::U16,
                    Ct::I32,
                    Ct::U32,
                    Ct::F64,
                ];
                let (offset, ct) = table.reference(name, value, &all)?;
                let bytes = table.slice(name, offset, ct, components, count)?;
                let elements = bytes.chunks_exact(ct.size() * components);
                if components == 1 {
                    elements.map(|e| ct.read(e)).collect()
                } else {
                    elements
                        .map(|e| {
                            PropertyValue::Array(
                                e.chunks_exact(ct.size()).map(|c| ct.read(c)).collect(),
                            )
                        })
                        .collect()
                }
            }
            other => {
                return Err(table.invalid(
                    name,
                    format!("expected an array or a binary reference, found {other}"),
                ));
            }
        };
        columns.push(PropertyColumn {
            name: name.clone(),
            values,
        });
    }
    if columns.is_empty() {
        return Ok(None);
    }
    Ok(Some(PropertyTable {
        class: "batch".to_owned(),
        count,
        columns,
    }))
}

/// Integers stay integers, other numbers become floats, objects keep their JSON text.
pub(super) fn json_to_property(value: &Value) -> PropertyValue {
    match value {
        Value::Null => PropertyValue::Null,
        Value::Bool(b) => PropertyValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => PropertyValue::Int(i),
            None => PropertyValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => PropertyValue::Text(s.clone()),
        Value::Array(items) => PropertyValue::Array(items.iter().map(json_to_property).collect()),
        Value::Object(_) => PropertyValue::Text(value.to_string()),
    }
}

pub(super) fn property_to_json(value: &PropertyValue) -> Value {
    match value {
        PropertyValue::Null => Value::Null,
        PropertyValue::Bool(b) => Value::Bool(*b),
        PropertyValue::Int(i) => json!(i),
        // Not-finite floats have no JSON form and become null.
        PropertyValue::Float(f) => json!(f),
        PropertyValue::Text(s) => Value::String(s.clone()),
        PropertyValue::Array(items) => Value::Array(items.iter().map(property_to_json).collect()),
    }
}
