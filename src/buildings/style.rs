//! Colouring buildings: by a numeric attribute (a ramp between the smallest and largest value
//! loaded) or a categorical one (a fixed palette), and the highlight of the picked building.
//!
//! Pure: vertex colours computed from feature IDs and property tables.

use super::bake::{BakedContent, BakedPart};
use super::model::{PropertyTable, PropertyValue};
use bevy::math::{DVec2, DVec3};
use std::collections::HashMap;

/// Colours of a content's features from coloured points in plan (twin CRS), e.g. the service
/// status of each building from a network layer: a feature takes the colour of a point inside
/// its footprint's bounding box (the smallest such box wins when boxes overlap).
pub fn feature_colors_from_points(
    content: &BakedContent,
    points: &[(DVec2, [f32; 4])],
) -> HashMap<u32, [f32; 4]> {
    let mut boxes: HashMap<u32, (DVec2, DVec2)> = HashMap::new();
    for part in &content.parts {
        let Some(ids) = &part.feature_ids else {
            continue;
        };
        for (p, &f) in part.positions.iter().zip(ids) {
            if f == u32::MAX {
                continue;
            }
            let xy = (content.origin + DVec3::from_array(p.map(f64::from))).truncate();
            let b = boxes.entry(f).or_insert((xy, xy));
            *b = (b.0.min(xy), b.1.max(xy));
        }
    }
    let centre = content.origin.truncate();
    let mut best: HashMap<u32, (f64, [f32; 4])> = HashMap::new();
    for (xy, color) in points {
        if xy.distance(centre) > content.radius {
            continue;
        }
        let holder = boxes
            .iter()
            .filter(|(_, (lo, hi))| xy.cmpge(*lo).all() && xy.cmple(*hi).all())
            .map(|(f, (lo, hi))| (*f, (hi.x - lo.x) * (hi.y - lo.y)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((feature, area)) = holder
            && best.get(&feature).is_none_or(|(a, _)| area < *a)
        {
            best.insert(feature, (area, *color));
        }
    }
    best.into_iter().map(|(f, (_, c))| (f, c)).collect()
}

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
    given: Option<&HashMap<u32, [f32; 4]>>,
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
            if let Some(given) = given {
                return feature
                    .and_then(|f| given.get(&f).copied())
                    .unwrap_or(NO_VALUE);
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
        let colors = vertex_colors(&part(), Some(&t), Some(&scale), None, None);
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
        let colors = vertex_colors(&part(), Some(&t), Some(&scale), None, Some(1));
        assert_eq!(colors[0], colors[2], "same category, same colour");
        assert_eq!(colors[1], HIGHLIGHT);
        let plain = vertex_colors(&part(), Some(&t), None, None, None);
        assert_eq!(plain, vec![[1.0; 4]; 4]);
    }

    #[test]
    fn service_points_colour_the_building_whose_footprint_holds_them() {
        // Two 10 m buildings side by side around origin (1000, 2000); feature 1 holds a small
        // annex (feature 2) in its box.
        let quad = |x0: f32, x1: f32| {
            [
                [x0, -5.0, 0.0],
                [x1, -5.0, 0.0],
                [x1, 5.0, 9.0],
                [x0, 5.0, 9.0],
            ]
        };
        let mut positions = Vec::new();
        positions.extend(quad(-12.0, -2.0));
        positions.extend(quad(2.0, 12.0));
        positions.extend(quad(3.0, 5.0));
        let content = BakedContent {
            origin: DVec3::new(1000.0, 2000.0, 40.0),
            radius: 20.0,
            parts: vec![BakedPart {
                positions,
                feature_ids: Some([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2].to_vec()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let (green, blue) = ([0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]);
        let colors = feature_colors_from_points(
            &content,
            &[
                (DVec2::new(993.0, 2000.0), green),
                (DVec2::new(1004.0, 2001.0), blue),
                (DVec2::new(1050.0, 2000.0), green),
            ],
        );
        assert_eq!(colors.get(&0), Some(&green));
        assert_eq!(
            colors.get(&2),
            Some(&blue),
            "the smallest box holding the point"
        );
        assert_eq!(colors.get(&1), None, "no point of its own");
        let part = &content.parts[0];
        let vertex = vertex_colors(part, None, None, Some(&colors), None);
        assert_eq!((vertex[0], vertex[4], vertex[8]), (green, NO_VALUE, blue));
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
