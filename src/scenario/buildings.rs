//! Buildings as the scenarios see them (pure): footprints found in the terrain's building
//! cells, and the per-building table written as CSV and GeoJSON.

use crate::terrain::ground::BUILDING_CLASS;
use crate::terrain::mesh::NO_FEATURE;
use crate::terrain::{Grid, TerrainModels};
use bevy::math::DVec2;

/// Footprints smaller than this are not buildings (a chimney, a bus shelter's noise).
pub const MIN_FOOTPRINT_M2: f64 = 10.0;

/// One building: the terrain cells under its roof.
#[derive(Clone, Debug, PartialEq)]
pub struct Building {
    /// 1-based, in order of first cell (south-west first).
    pub id: u32,
    /// Cell indices, sorted.
    pub cells: Vec<usize>,
    pub centroid: DVec2,
    pub footprint_m2: f64,
    /// Lowest ground under it, metres.
    pub ground_m: f32,
    /// Highest point of its roof, metres.
    pub roof_m: f32,
    /// Convex hull of its cells' corners, counter-clockwise, twin CRS.
    pub outline: Vec<DVec2>,
    /// What it is used for, when its building model says (see [`USE_ATTRIBUTES`]).
    pub usage: Option<String>,
}

/// Which building model's feature makes each terrain cell, and each feature's use: what 3D
/// Tiles and glTF buildings add to the LiDAR's building class.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CellFeatures {
    /// Per cell: an index into `uses`, or [`NO_FEATURE`].
    pub cell: Vec<u32>,
    pub uses: Vec<Option<String>>,
}

/// Attribute names that say what a building is used for, in order of preference: IGN's BD
/// TOPO (`usage_1`, `nature`), CityGML (`function`, `usage`), OpenStreetMap (`building`) and
/// the Dutch BAG (`gebruiksdoel`). Matched without regard to case.
pub const USE_ATTRIBUTES: [&str; 8] = [
    "usage_1",
    "usage1",
    "usage",
    "use",
    "function",
    "gebruiksdoel",
    "nature",
    "building",
];

/// The use a feature's attributes give, by [`USE_ATTRIBUTES`]; empty texts are no use.
pub fn use_of(table: &crate::buildings::model::PropertyTable, feature: usize) -> Option<String> {
    use crate::buildings::model::PropertyValue;
    USE_ATTRIBUTES.iter().find_map(|name| {
        let column = table
            .columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))?;
        match column.values.get(feature)? {
            PropertyValue::Text(t) if !t.trim().is_empty() => Some(t.trim().to_owned()),
            PropertyValue::Int(i) => Some(i.to_string()),
            _ => None,
        }
    })
}

/// The buildings of a terrain: 8-connected groups of building cells (class 6 on top of the
/// DSM) of at least [`MIN_FOOTPRINT_M2`]. With `features`, cells of two different building
/// models stay apart even where they touch, and each building takes the use of the model
/// that covers most of it.
pub fn buildings_of(models: &TerrainModels, features: Option<&CellFeatures>) -> Vec<Building> {
    let grid = models.grid();
    let is_building: Vec<bool> = models
        .top_class
        .iter()
        .map(|&c| c == BUILDING_CLASS)
        .collect();
    let mut seen = vec![false; grid.len()];
    let mut out = Vec::new();
    let min_cells = (MIN_FOOTPRINT_M2 / grid.cell_area_m2()).ceil() as usize;
    let label = |i: usize| {
        features
            .and_then(|f| f.cell.get(i).copied())
            .unwrap_or(NO_FEATURE)
    };
    let joins = |a: u32, b: u32| a == b || a == NO_FEATURE || b == NO_FEATURE;
    for start in 0..grid.len() {
        if !is_building[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        let mut cells = vec![start];
        let mut k = 0;
        while k < cells.len() {
            let here = label(cells[k]);
            for n in grid.neighbours(cells[k]) {
                if is_building[n] && !seen[n] && joins(here, label(n)) {
                    seen[n] = true;
                    cells.push(n);
                }
            }
            k += 1;
        }
        if cells.len() < min_cells.max(1) {
            continue;
        }
        cells.sort_unstable();
        let centroid = cells
            .iter()
            .map(|&i| {
                let (c, r) = grid.col_row(i);
                grid.center(c, r)
            })
            .sum::<DVec2>()
            / cells.len() as f64;
        let ground_m = cells
            .iter()
            .map(|&i| models.dtm.values[i])
            .fold(f32::INFINITY, f32::min);
        let roof_m = cells
            .iter()
            .map(|&i| models.dsm.values[i])
            .fold(f32::NEG_INFINITY, f32::max);
        let usage = features.and_then(|f| {
            let mut counts = std::collections::BTreeMap::new();
            for &i in &cells {
                if let Some(Some(usage)) = f.cell.get(i).and_then(|&l| f.uses.get(l as usize)) {
                    *counts.entry(usage.as_str()).or_insert(0usize) += 1;
                }
            }
            let best = counts.iter().max_by_key(|(_, n)| **n)?;
            Some(best.0.to_string())
        });
        out.push(Building {
            id: out.len() as u32 + 1,
            footprint_m2: cells.len() as f64 * grid.cell_area_m2(),
            outline: outline(&grid, &cells),
            cells,
            centroid,
            ground_m,
            roof_m,
            usage,
        });
    }
    out
}

/// Convex hull (Andrew's monotone chain) of the corners of `cells`.
fn outline(grid: &Grid, cells: &[usize]) -> Vec<DVec2> {
    let half = grid.cell_m / 2.0;
    let mut corners: Vec<DVec2> = cells
        .iter()
        .flat_map(|&i| {
            let (c, r) = grid.col_row(i);
            let m = grid.center(c, r);
            [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
                .map(|(dx, dy)| m + DVec2::new(dx, dy) * half)
        })
        .collect();
    corners.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    corners.dedup();
    let cross = |o: DVec2, a: DVec2, b: DVec2| (a - o).perp_dot(b - o);
    let mut hull: Vec<DVec2> = Vec::new();
    for pass in 0..2 {
        let start = hull.len();
        let points: Box<dyn Iterator<Item = &DVec2>> = if pass == 0 {
            Box::new(corners.iter())
        } else {
            Box::new(corners.iter().rev())
        };
        for &p in points {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// One column of the per-building table: a name and one value per building (`NaN`: none).
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Vec<f64>,
}

/// The per-building table as CSV: id, centroid, footprint, ground and roof heights, then the
/// scenarios' columns.
pub fn to_csv(buildings: &[Building], columns: &[Column]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["building", "x", "y", "footprint_m2", "ground_m", "roof_m"];
    let uses = buildings.iter().any(|b| b.usage.is_some());
    if uses {
        head.push("use");
    }
    head.extend(columns.iter().map(|c| c.name.as_str()));
    w.write_record(&head)?;
    for (k, b) in buildings.iter().enumerate() {
        let mut row = vec![
            b.id.to_string(),
            format!("{:.2}", b.centroid.x),
            format!("{:.2}", b.centroid.y),
            format!("{:.1}", b.footprint_m2),
            format!("{:.2}", b.ground_m),
            format!("{:.2}", b.roof_m),
        ];
        if uses {
            row.push(b.usage.clone().unwrap_or_default());
        }
        row.extend(columns.iter().map(|c| number(c.values[k])));
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        String::new()
    }
}

/// The per-building table as a GeoJSON FeatureCollection of footprint polygons (twin CRS,
/// named in the legacy `crs` member when known, as GDAL and QGIS read it).
pub fn to_geojson(
    buildings: &[Building],
    columns: &[Column],
    epsg: Option<u32>,
) -> serde_json::Value {
    let features: Vec<_> = buildings
        .iter()
        .enumerate()
        .map(|(k, b)| {
            let mut ring: Vec<[f64; 2]> = b.outline.iter().map(|p| [p.x, p.y]).collect();
            if let Some(first) = ring.first().copied() {
                ring.push(first);
            }
            let mut props = serde_json::Map::new();
            props.insert("building".into(), b.id.into());
            props.insert("footprint_m2".into(), round(b.footprint_m2, 1));
            props.insert("ground_m".into(), round(f64::from(b.ground_m), 2));
            props.insert("roof_m".into(), round(f64::from(b.roof_m), 2));
            if let Some(usage) = &b.usage {
                props.insert("use".into(), usage.clone().into());
            }
            for c in columns {
                props.insert(c.name.clone(), round(c.values[k], 3));
            }
            serde_json::json!({
                "type": "Feature",
                "properties": props,
                "geometry": { "type": "Polygon", "coordinates": [ring] },
            })
        })
        .collect();
    let mut collection = serde_json::json!({ "type": "FeatureCollection", "features": features });
    if let Some(code) = epsg {
        collection["crs"] = serde_json::json!({
            "type": "name",
            "properties": { "name": format!("urn:ogc:def:crs:EPSG::{code}") },
        });
    }
    collection
}

fn round(v: f64, digits: i32) -> serde_json::Value {
    if !v.is_finite() {
        return serde_json::Value::Null;
    }
    let scale = 10f64.powi(digits);
    serde_json::json!((v * scale).round() / scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terrain::Raster;

    #[test]
    fn building_cells_group_into_buildings_with_their_outline() {
        let grid = Grid {
            min_xy: DVec2::ZERO,
            cell_m: 1.0,
            cols: 30,
            rows: 20,
        };
        let mut models = TerrainModels {
            dtm: Raster::filled(grid, 10.0),
            dsm: Raster::filled(grid, 10.0),
            top_class: vec![2; grid.len()],
        };
        // A 6 × 4 m building, a 2 × 2 m shed (too small) and an L-shaped one.
        let block = |c0: usize, r0: usize, w: usize, h: usize| -> Vec<usize> {
            (r0..r0 + h)
                .flat_map(|r| (c0..c0 + w).map(move |c| r * 30 + c))
                .collect()
        };
        models.add_building(&block(2, 2, 6, 4), 22.0);
        models.add_building(&block(12, 2, 2, 2), 13.0);
        models.add_building(&block(18, 5, 8, 3), 16.0);
        models.add_building(&block(18, 8, 3, 6), 19.0);
        let found = buildings_of(&models, None);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].footprint_m2, 24.0);
        assert_eq!(found[0].roof_m, 22.0);
        assert_eq!(found[0].centroid, DVec2::new(5.0, 4.0));
        assert_eq!(found[0].outline.len(), 4);
        assert_eq!(found[1].footprint_m2, 24.0 + 18.0);
        assert_eq!(found[1].roof_m, 19.0);
        let csv = to_csv(
            &found,
            &[Column {
                name: "x_h".into(),
                values: vec![1.5, f64::NAN],
            }],
        )
        .unwrap();
        let lines: Vec<_> = csv.lines().collect();
        assert_eq!(lines[0], "building,x,y,footprint_m2,ground_m,roof_m,x_h");
        assert_eq!(lines[1], "1,5.00,4.00,24.0,10.00,22.00,1.500");
        assert!(lines[2].ends_with(','), "{}", lines[2]);
        let geojson = to_geojson(&found, &[], Some(2154));
        assert_eq!(
            geojson["features"][0]["geometry"]["coordinates"][0]
                .as_array()
                .unwrap()
                .len(),
            5
        );
        assert_eq!(
            geojson["crs"]["properties"]["name"],
            "urn:ogc:def:crs:EPSG::2154"
        );
    }

    #[test]
    fn touching_models_stay_apart_and_carry_their_use() {
        use crate::buildings::model::{PropertyColumn, PropertyTable, PropertyValue};
        let grid = Grid {
            min_xy: DVec2::ZERO,
            cell_m: 1.0,
            cols: 20,
            rows: 10,
        };
        let mut models = TerrainModels {
            dtm: Raster::filled(grid, 10.0),
            dsm: Raster::filled(grid, 10.0),
            top_class: vec![2; grid.len()],
        };
        // Two 5 × 4 m models wall to wall (features 0 and 1), and a LiDAR-only annex (no
        // feature) on the second one's east side.
        let block = |c0: usize, w: usize| -> Vec<usize> {
            (2..6)
                .flat_map(|r| (c0..c0 + w).map(move |c| r * 20 + c))
                .collect()
        };
        let mut cell = vec![NO_FEATURE; grid.len()];
        for (feature, c0) in [(0u32, 2usize), (1, 7)] {
            models.add_building(&block(c0, 5), 20.0);
            for i in block(c0, 5) {
                cell[i] = feature;
            }
        }
        models.add_building(&block(12, 3), 15.0);
        let table = PropertyTable {
            class: "b".into(),
            count: 2,
            columns: vec![PropertyColumn {
                name: "USAGE_1".into(),
                values: vec![
                    PropertyValue::Text("Résidentiel".into()),
                    PropertyValue::Null,
                ],
            }],
        };
        let uses = (0..2).map(|f| use_of(&table, f)).collect();
        assert_eq!(
            buildings_of(&models, None).len(),
            1,
            "one block without models"
        );
        let found = buildings_of(&models, Some(&CellFeatures { cell, uses }));
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].footprint_m2, 20.0);
        assert_eq!(found[0].usage.as_deref(), Some("Résidentiel"));
        // The annex joins the model it touches; that model says no use.
        assert_eq!(found[1].footprint_m2, 32.0);
        assert_eq!(found[1].usage, None);
        let csv = to_csv(&found, &[]).unwrap();
        assert!(csv.starts_with("building,x,y,footprint_m2,ground_m,roof_m,use\n"));
        assert!(csv.lines().nth(1).unwrap().ends_with(",Résidentiel"));
    }
}
