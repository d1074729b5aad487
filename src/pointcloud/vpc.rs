//! PDAL's Virtual Point Cloud (`.vpc`): a STAC ItemCollection (GeoJSON FeatureCollection)
//! listing the tiles of one area, each with its URL, point count, bounds and CRS, as
//! `pdal_wrench build_vpc` and QGIS write and read it. Jumeau reads one as one layer (the
//! tiles' headers are only fetched when the view reaches them: the bounds and counts here
//! suffice before that) and writes one beside the tiles `jumeau convert --tiles` makes.
//!
//! Per tile: `assets` (the `data` asset, else the first) `href`, relative to the VPC or
//! absolute; `properties["pc:count"]`; the CRS as `proj:epsg`, `proj:wkt2` or `proj:projjson`;
//! native bounds `proj:bbox` (3D, used first), else the WGS 84 `bbox` projected into the CRS.

use crate::georef::transform::{CrsSpec, transform};
use crate::spatial::Aabb;
use bevy::math::DVec3;
use serde_json::{Map, Value, json};

/// Why a VPC could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VpcError {
    #[error("{name}: not JSON at line {line}, column {column}: {reason}")]
    Json {
        name: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{name}: not a virtual point cloud: {reason}")]
    NotVpc { name: String, reason: String },
    #[error("{name}: tile {index} ({id}): {reason}")]
    Tile {
        name: String,
        index: usize,
        id: String,
        reason: String,
    },
}

/// One tile of a virtual point cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct VpcTile {
    pub id: String,
    /// Where the tile is: an absolute path or URL (resolved against the VPC's location).
    pub href: String,
    pub point_count: u64,
    /// Bounds in the tile's CRS.
    pub bounds: Aabb,
    /// The tile's CRS by EPSG code, when it says one.
    pub epsg: Option<u32>,
    /// Its CRS as WKT, when it gives one.
    pub wkt: Option<String>,
}

/// Reads a VPC found at `location` (a path or URL: relative hrefs resolve against its folder).
pub fn read_vpc(bytes: &[u8], location: &str) -> Result<Vec<VpcTile>, VpcError> {
    let name = location.to_owned();
    let root: Value = serde_json::from_slice(bytes).map_err(|e| VpcError::Json {
        name: name.clone(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })?;
    let not_vpc = |reason: &str| VpcError::NotVpc {
        name: name.clone(),
        reason: reason.to_owned(),
    };
    if root.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(not_vpc("its type is not FeatureCollection"));
    }
    let features = root
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| not_vpc("no `features` list"))?;
    if features.is_empty() {
        return Err(not_vpc("it lists no tile"));
    }
    let base = match location.rfind('/') {
        Some(slash) => &location[..=slash],
        None => "",
    };
    features
        .iter()
        .enumerate()
        .map(|(index, feature)| {
            let id = feature
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            read_tile(feature, base).map_err(|reason| VpcError::Tile {
                name: name.clone(),
                index,
                id,
                reason,
            })
        })
        .collect()
}

fn read_tile(feature: &Value, base: &str) -> Result<VpcTile, String> {
    let properties = feature
        .get("properties")
        .and_then(Value::as_object)
        .ok_or("no `properties`")?;
    let assets = feature
        .get("assets")
        .and_then(Value::as_object)
        .ok_or("no `assets`")?;
    let asset = assets
        .get("data")
        .or_else(|| assets.values().next())
        .ok_or("no asset")?;
    let href = asset
        .get("href")
        .and_then(Value::as_str)
        .ok_or("its asset has no `href`")?;
    let point_count = properties
        .get("pc:count")
        .and_then(Value::as_u64)
        .ok_or("no `pc:count`")?;
    let wkt = properties
        .get("proj:wkt2")
        .and_then(Value::as_str)
        .filter(|w| !w.is_empty())
        .map(str::to_owned);
    let epsg = properties
        .get("proj:epsg")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .or_else(|| {
            wkt.as_deref()
                .and_then(crate::georef::crs_from_wkt)
                .and_then(|c| c.horizontal_code())
        })
        .or_else(|| properties.get("proj:projjson").and_then(projjson_code));
    let numbers = |v: Option<&Value>| -> Option<Vec<f64>> {
        v?.as_array()?.iter().map(Value::as_f64).collect()
    };
    let bounds = match numbers(properties.get("proj:bbox")) {
        Some(b) if b.len() == 6 => Aabb {
            min: DVec3::new(b[0], b[1], b[2]),
            max: DVec3::new(b[3], b[4], b[5]),
        },
        Some(b) if b.len() == 4 => Aabb {
            min: DVec3::new(b[0], b[1], 0.0),
            max: DVec3::new(b[2], b[3], 0.0),
        },
        _ => {
            let wgs84 =
                numbers(feature.get("bbox")).ok_or("no bounds: neither `proj:bbox` nor `bbox`")?;
            let code = epsg.ok_or("only WGS 84 bounds and no EPSG code to project them by")?;
            projected_bounds(&wgs84, code)?
        }
    };
    if !(bounds.min.is_finite() && bounds.max.is_finite()) || bounds.min.cmpgt(bounds.max).any() {
        return Err(format!(
            "bounds {:?}..{:?} are not a box",
            bounds.min, bounds.max
        ));
    }
    Ok(VpcTile {
        id: feature
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or(href)
            .to_owned(),
        href: resolve(href, base),
        point_count,
        bounds,
        epsg,
        wkt,
    })
}

/// The EPSG code of a PROJJSON CRS (its top-level `id`, else its horizontal member's).
fn projjson_code(projjson: &Value) -> Option<u32> {
    let code = |v: &Value| {
        let id = v.get("id")?;
        (id.get("authority")?.as_str()? == "EPSG")
            .then(|| id.get("code")?.as_u64())
            .flatten()
            .and_then(|c| u32::try_from(c).ok())
    };
    code(projjson).or_else(|| {
        projjson
            .get("components")?
            .as_array()?
            .first()
            .and_then(code)
    })
}

/// `href` against the folder `base` of the VPC (ends with `/`, or empty): absolute URLs and
/// paths stay as they are.
fn resolve(href: &str, base: &str) -> String {
    if href.contains("://") || href.starts_with('/') || base.is_empty() {
        return href.to_owned();
    }
    format!("{base}{}", href.strip_prefix("./").unwrap_or(href))
}

/// A WGS 84 `bbox` (2D or 3D, degrees) as bounds in EPSG:`code`: its corners projected.
fn projected_bounds(wgs84: &[f64], code: u32) -> Result<Aabb, String> {
    let (lo, hi) = match wgs84.len() {
        4 => ([wgs84[0], wgs84[1], 0.0], [wgs84[2], wgs84[3], 0.0]),
        6 => (
            [wgs84[0], wgs84[1], wgs84[2]],
            [wgs84[3], wgs84[4], wgs84[5]],
        ),
        n => return Err(format!("`bbox` has {n} numbers")),
    };
    let from: CrsSpec = "EPSG:4979".parse()?;
    let to: CrsSpec = format!("EPSG:{code}").parse()?;
    let mut min = DVec3::INFINITY;
    let mut max = DVec3::NEG_INFINITY;
    for i in 0..4 {
        let lon = if i & 1 == 0 { lo[0] } else { hi[0] };
        let lat = if i & 2 == 0 { lo[1] } else { hi[1] };
        let p = transform(&from, &to, DVec3::new(lon, lat, 0.0))?;
        min = min.min(p);
        max = max.max(p);
    }
    min.z = lo[2];
    max.z = hi[2];
    Ok(Aabb { min, max })
}

/// A tile to list in a VPC that Jumeau writes.
#[derive(Debug, Clone)]
pub struct TileEntry {
    /// As the VPC names it: relative to the VPC's folder (`./name.copc.laz`) or absolute.
    pub href: String,
    pub id: String,
    pub point_count: u64,
    pub bounds: Aabb,
    pub epsg: Option<u32>,
    pub wkt: Option<String>,
}

/// The VPC of `tiles` as PDAL and QGIS read it: one STAC 1.0.0 item per tile with the
/// point-cloud and projection extensions, WGS 84 `bbox` and `geometry` from the native bounds.
pub fn write_vpc(tiles: &[TileEntry]) -> Result<String, String> {
    let features = tiles
        .iter()
        .map(|t| {
            let (min, max) = (t.bounds.min, t.bounds.max);
            let native_ring = json!([[
                [min.x, min.y],
                [max.x, min.y],
                [max.x, max.y],
                [min.x, max.y],
                [min.x, min.y]
            ]]);
            let (wgs84_bbox, wgs84_ring) = match t.epsg {
                Some(code) => {
                    let from: CrsSpec = format!("EPSG:{code}").parse()?;
                    let to: CrsSpec = "EPSG:4979".parse()?;
                    let corner = |x: f64, y: f64| transform(&from, &to, DVec3::new(x, y, 0.0));
                    let corners = [
                        corner(min.x, min.y)?,
                        corner(max.x, min.y)?,
                        corner(max.x, max.y)?,
                        corner(min.x, max.y)?,
                    ];
                    let lo = corners.iter().fold(DVec3::INFINITY, |a, c| a.min(*c));
                    let hi = corners.iter().fold(DVec3::NEG_INFINITY, |a, c| a.max(*c));
                    let ring: Vec<Value> = corners
                        .iter()
                        .chain(std::iter::once(&corners[0]))
                        .map(|c| json!([c.x, c.y]))
                        .collect();
                    (json!([lo.x, lo.y, min.z, hi.x, hi.y, max.z]), json!([ring]))
                }
                None => (
                    json!([min.x, min.y, min.z, max.x, max.y, max.z]),
                    native_ring.clone(),
                ),
            };
            let mut properties = Map::new();
            properties.insert("datetime".into(), json!("1970-01-01T00:00:00Z"));
            properties.insert("pc:count".into(), json!(t.point_count));
            properties.insert("pc:type".into(), json!("lidar"));
            properties.insert("pc:encoding".into(), json!("?"));
            properties.insert("pc:schemas".into(), json!([]));
            properties.insert("proj:epsg".into(), json!(t.epsg));
            properties.insert("proj:wkt2".into(), json!(t.wkt.clone().unwrap_or_default()));
            properties.insert(
                "proj:geometry".into(),
                json!({ "type": "Polygon", "coordinates": native_ring }),
            );
            properties.insert(
                "proj:bbox".into(),
                json!([min.x, min.y, min.z, max.x, max.y, max.z]),
            );
            Ok(json!({
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": [
                    "https://stac-extensions.github.io/pointcloud/v1.0.0/schema.json",
                    "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
                ],
                "id": t.id,
                "geometry": { "type": "Polygon", "coordinates": wgs84_ring },
                "bbox": wgs84_bbox,
                "properties": properties,
                "links": [],
                "assets": { "data": { "href": t.href, "roles": ["data"] } }
            }))
        })
        .collect::<Result<Vec<Value>, String>>()?;
    serde_json::to_string_pretty(&json!({ "type": "FeatureCollection", "features": features }))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, x: f64, count: u64) -> TileEntry {
        TileEntry {
            href: format!("./{name}.copc.laz"),
            id: name.to_owned(),
            point_count: count,
            bounds: Aabb {
                min: DVec3::new(x, 6_832_000.0, 40.0),
                max: DVec3::new(x + 1000.0, 6_833_000.0, 110.0),
            },
            epsg: Some(2154),
            wkt: None,
        }
    }

    #[test]
    fn what_jumeau_writes_it_reads_back_with_hrefs_resolved() {
        let tiles = [entry("a", 292_000.0, 10), entry("b", 293_000.0, 20)];
        let text = write_vpc(&tiles).unwrap();
        let read = read_vpc(text.as_bytes(), "https://data.example/commune/tiles.vpc").unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].href, "https://data.example/commune/b.copc.laz");
        assert_eq!(read[1].point_count, 20);
        assert_eq!(read[1].epsg, Some(2154));
        assert_eq!(read[1].bounds, tiles[1].bounds);
        let local = read_vpc(text.as_bytes(), "/data/tiles.vpc").unwrap();
        assert_eq!(local[0].href, "/data/a.copc.laz");
        // The WGS 84 bbox is where Brittany is.
        let json: Value = serde_json::from_str(&text).unwrap();
        let bbox = json["features"][0]["bbox"].as_array().unwrap();
        let lon = bbox[0].as_f64().unwrap();
        let lat = bbox[1].as_f64().unwrap();
        assert!(
            (-2.6..-2.4).contains(&lon) && (48.4..48.5).contains(&lat),
            "{bbox:?}"
        );
    }

    #[test]
    fn wgs84_bounds_alone_are_projected_into_the_tiles_crs() {
        let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "stac_version":"1.0.0","id":"t","bbox":[-2.523,48.460,40,-2.511,48.469,110],
            "properties":{"pc:count":5,"proj:epsg":2154},
            "assets":{"data":{"href":"t.copc.laz"}}}]}"#;
        let tiles = read_vpc(text.as_bytes(), "tiles.vpc").unwrap();
        let b = tiles[0].bounds;
        assert!((b.min.x - 292_000.0).abs() < 100.0, "{b:?}");
        assert!((b.min.y - 6_832_000.0).abs() < 100.0, "{b:?}");
        assert_eq!((b.min.z, b.max.z), (40.0, 110.0));
        assert_eq!(tiles[0].href, "t.copc.laz");
    }

    #[test]
    fn bad_vpcs_name_what_is_wrong() {
        let e = read_vpc(b"{\"type\": \"FeatureCollection\",", "x.vpc").unwrap_err();
        assert!(
            e.to_string().starts_with("x.vpc: not JSON at line 1"),
            "{e}"
        );
        let e = read_vpc(br#"{"type":"Feature"}"#, "x.vpc").unwrap_err();
        assert!(e.to_string().contains("not FeatureCollection"), "{e}");
        let e = read_vpc(
            br#"{"type":"FeatureCollection","features":[{"id":"t7","properties":{"pc:count":1},"assets":{"data":{"href":"a"}}}]}"#,
            "x.vpc",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.vpc: tile 0 (t7): no bounds: neither `proj:bbox` nor `bbox`"
        );
    }
}
