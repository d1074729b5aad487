//! Colouring buildings: by a numeric attribute (a ramp between the smallest and largest value
//! loaded) or a categorical one (a fixed palette), and the highlight of the picked building.
//!
//! Pure: vertex colours computed from feature IDs and property tables.

use super::bake::BakedPart;
use super::model::{PropertyTable, PropertyValue};

/// How values of one attribute become colours.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeScale {
    /// Numbers: the elevation ramp, blue (smallest) to red (largest).
    Numeric { name: String, min: f64, max: f64 },
    /// Anything else: one palette colour per distinct value.
    Categorical { name: String },
}

/// Linear RGBA of a picked building.
pub const HIGHLIGHT: [f32; 4] = [1.0, 0.62, 0.05, 1.0];
/// Linear RGBA of features without a value.
pub const NO_VALUE: [f32; 4] = [0.35, 0.35, 0.35, 1.0];

impl AttributeScale {
    /// The scale of attribute `name` over every table that has it.
    pub fn of<'a>(name: &str, tables: impl Iterator<Item = &'a PropertyTable>) -> Self {
        let mut range: Option<(f64, f64)> = None;
        let mut numeric = true;
        for table in tables {
            let Some(column) = table.column(name) else {
                continue;
            };
            for value in &column.values {
                match number(value) {
                    Some(v) => {
                        range = Some(range.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
                    }
                    None if *value == PropertyValue::Null => {}
                    None => numeric = false,
                }
            }
        }
        match (numeric, range) {
            (true, Some((min, max))) => Self::Numeric {
                name: name.to_owned(),
                min,
                max,
            },
            _ => Self::Categorical {
                name: name.to_owned(),
            },
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Numeric { name, .. } | Self::Categorical { name } => name,
        }
    }

    /// The colour of one value.
    pub fn color(&self, value: &PropertyValue) -> [f32; 4] {
        if *value == PropertyValue::Null {
            return NO_VALUE;
        }
        match self {
            Self::Numeric { min, max, .. } => match number(value) {
                Some(v) => {
                    let t = if max > min {
                        (v - min) / (max - min)
                    } else {
                        0.5
                    };
                    ramp(t as f32)
                }
                None => NO_VALUE,
            },
            Self::Categorical { .. } => {
                let text = display_value(value);
                // FNV-1a: stable across runs, so a category keeps its colour.
                let hash = text.bytes().fold(0x811c_9dc5_u32, |h, b| {
                    (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
                });
                PALETTE[hash as usize % PALETTE.len()]
            }
        }
    }
}

fn number(value: &PropertyValue) -> Option<f64> {
    match value {
        PropertyValue::Int(v) => Some(*v as f64),
        PropertyValue::Float(v) if v.is_finite() => Some(*v),
        _ => None,
    }
}

/// The point clouds' elevation ramp (blue → cyan → green → yellow → red), as linear RGBA
/// vertex colours: one reading of "low" and "high" across the twin.
fn ramp(t: f32) -> [f32; 4] {
    let [r, g, b] = crate::pointcloud::style::elevation_ramp(t).map(|c| {
        let c = f32::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    });
    [r, g, b, 1.0]
}

/// Ten well-separated colours (linear RGB of Tableau 10).
const PALETTE: [[f32; 4]; 10] = [
    [0.06, 0.22, 0.50, 1.0],
    [1.00, 0.23, 0.01, 1.0],
    [0.05, 0.41, 0.04, 1.0],
    [0.69, 0.02, 0.03, 1.0],
    [0.32, 0.17, 0.56, 1.0],
    [0.33, 0.16, 0.12, 1.0],
    [0.78, 0.23, 0.58, 1.0],
    [0.27, 0.27, 0.27, 1.0],
    [0.43, 0.44, 0.02, 1.0],
    [0.02, 0.51, 0.64, 1.0],
];

/// A value as the panel shows it.
pub fn display_value(value: &PropertyValue) -> String {
    match value {
        PropertyValue::Null => "—".to_owned(),
        PropertyValue::Bool(b) => b.to_string(),
        PropertyValue::Int(v) => v.to_string(),
        PropertyValue::Float(v) => {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{v:.0}")
            } else {
                format!("{v:.3}")
            }
        }
        PropertyValue::Text(t) => t.clone(),
        PropertyValue::Array(values) => {
            let items: Vec<String> = values.iter().map(display_value).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

/// The vertex colours of a part: authored colours (or white) under the model's materials, or
/// the attribute's colours; the picked feature in the highlight colour.
pub fn vertex_colors(
    part: &BakedPart,
    properties: Option<&PropertyTable>,
    scale: Option<&AttributeScale>,
    highlighted: Option<u32>,
) -> Vec<[f32; 4]> {
    let n = part.positions.len();
    let feature_of = |i: usize| {
        part.feature_ids
            .as_ref()
            .and_then(|ids| ids.get(i).copied())
            .filter(|&f| f != u32::MAX)
    };
    let column = scale.and_then(|s| properties.and_then(|t| t.column(s.name())));
    (0..n)
        .map(|i| {
            let feature = feature_of(i);
            if feature.is_some() && feature == highlighted {
                return HIGHLIGHT;
            }
            match (scale, column) {
                (Some(scale), Some(column)) => feature
                    .and_then(|f| column.values.get(f as usize))
                    .map_or(NO_VALUE, |v| scale.color(v)),
                (Some(_), None) => NO_VALUE,
                _ => part
                    .colors
                    .as_ref()
                    .and_then(|c| c.get(i).copied())
                    .unwrap_or([1.0; 4]),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildings::model::PropertyColumn;

    fn table() -> PropertyTable {
        PropertyTable {
            class: "building".into(),
            count: 3,
            columns: vec![
                PropertyColumn {
                    name: "height".into(),
                    values: vec![
                        PropertyValue::Float(3.0),
                        PropertyValue::Int(30),
                        PropertyValue::Null,
                    ],
                },
                PropertyColumn {
                    name: "use".into(),
                    values: vec![
                        PropertyValue::Text("housing".into()),
                        PropertyValue::Text("school".into()),
                        PropertyValue::Text("housing".into()),
                    ],
                },
            ],
        }
    }

    fn part() -> BakedPart {
        BakedPart {
            positions: vec![[0.0; 3]; 4],
            feature_ids: Some(vec![0, 1, 2, u32::MAX]),
            ..Default::default()
        }
    }

    #[test]
    fn numeric_attributes_ramp_from_low_to_high() {
        let t = table();
        let scale = AttributeScale::of("height", std::iter::once(&t));
        assert_eq!(
            scale,
            AttributeScale::Numeric {
                name: "height".into(),
                min: 3.0,
                max: 30.0
            }
        );
        let colors = vertex_colors(&part(), Some(&t), Some(&scale), None);
        // Low is blue, high is red, no value and no feature are grey.
        assert!(colors[0][2] > colors[0][0]);
        assert!(colors[1][0] > colors[1][2]);
        assert_eq!(colors[2], NO_VALUE);
        assert_eq!(colors[3], NO_VALUE);
    }

    #[test]
    fn categories_keep_one_colour_and_the_pick_is_highlighted() {
        let t = table();
        let scale = AttributeScale::of("use", std::iter::once(&t));
        assert!(matches!(scale, AttributeScale::Categorical { .. }));
        let colors = vertex_colors(&part(), Some(&t), Some(&scale), Some(1));
        assert_eq!(colors[0], colors[2], "same category, same colour");
        assert_eq!(colors[1], HIGHLIGHT);
        let plain = vertex_colors(&part(), Some(&t), None, None);
        assert_eq!(plain, vec![[1.0; 4]; 4]);
    }

    #[test]
    fn values_read_well() {
        assert_eq!(display_value(&PropertyValue::Float(1987.0)), "1987");
        assert_eq!(display_value(&PropertyValue::Float(12.34567)), "12.346");
        assert_eq!(
            display_value(&PropertyValue::Array(vec![
                PropertyValue::Int(1),
                PropertyValue::Null
            ])),
            "[1, —]"
        );
    }
}
