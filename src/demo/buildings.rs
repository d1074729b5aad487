//! The demo town's buildings as a 3D Tiles 1.1 tileset, so that the demo twin streams, picks and
//! styles buildings exactly like real data, each one standing on its roof in the demo scan.
//!
//! # How it works
//! [`demo_buildings`] replays the scan's rules ([`crate::demo`]'s `surface`): on every plot of
//! every block, a building when the plot's hash says so, with the same margin, height, base,
//! roof (gable along y under 12 m, flat above) and colour. A building is kept when the scan saw
//! all of it: not cut by the river, not past the town's edge. Each becomes a closed mesh (four
//! walls, the roof, no floor) with one vertex per face corner for flat shading, its scan colour
//! per vertex and one feature ID into a `building` property table.
//!
//! The tileset is a root (ADD, `region`) over one middle tile per 2×2 contents (`region`) over
//! one leaf per 4×4 blocks (320 m) holding a GLB. A leaf's frame is Lambert-93 metres (Z-up)
//! around its content's centre `c`; its `transform` is that frame placed in ECEF, the projection
//! linearised at `c`. Vertices are written at the exact ECEF position of `c + offset` pulled
//! back through that transform, so a viewer that projects ECEF back to Lambert-93 finds them on
//! the scan to f32 precision rather than within the tangent plane's few millimetres.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bevy::math::{DMat4, DVec3};
use serde_json::{Value, json};

use crate::buildings::gltf::write::write_glb;
use crate::buildings::model::{
    Material, Model, Primitive, PropertyColumn, PropertyTable, PropertyValue,
};
use crate::demo::{
    BLOCK_M, DEMO_ORIGIN_L93, GABLE_BELOW_M, GABLE_RISE_M, RIVER_HALF_WIDTH_M, STREET_M, hash2,
    plot_building, river_centre_y, side_m, terrain_z,
};
use crate::georef::{GeoFrame, geodetic_from_ecef};

/// Blocks along each side of one content: 4 × 80 m, so the 20 M-point town has 5 × 5 contents.
const CONTENT_BLOCKS: i64 = 4;
/// Contents along each side of one middle tile.
const MIDDLE_CONTENTS: i64 = 2;
/// Geometric errors, metres. Jumeau's camera (1 rad vertical field of view) at 1080 px with a
/// 16 px limit refines a tile closer than about 62 × its error: contents load within ~2.5 km of
/// their middle tile; middle tiles (no content) are looked at within ~12 km.
const MIDDLE_ERROR_M: f64 = 40.0;
const ROOT_ERROR_M: f64 = 200.0;
const TILESET_ERROR_M: f64 = 400.0;
/// How far walls reach below the lowest ground under a building, so no gap shows on a slope.
const FOUNDATION_M: f64 = 0.5;
/// Mean of the scan's colour jitter (0 to 19 added to each 8-bit channel).
const COLOR_JITTER_MEAN: f64 = 9.5;
/// Padding of bounding volumes around the geometry: metres, and radians for regions (~3 m).
const BOX_PAD_M: f64 = 0.5;
const REGION_PAD_RAD: f64 = 5e-7;
const REGION_PAD_M: f64 = 1.0;

/// One building of the demo town, in the scan's local metres: x east and y north of the town's
/// south-west corner ([`DEMO_ORIGIN_L93`] in Lambert-93), z above IGN69 as in the scan.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoBuilding {
    /// `B-{block x:04}-{block y:04}-{plot x}-{plot y}`, e.g. `B-0012-0034-1-0`.
    pub id: String,
    pub block: [i64; 2],
    /// Plot within the block's 2×2 grid.
    pub plot: [i64; 2],
    /// South-west and north-east corners of the footprint.
    pub footprint_min: [f64; 2],
    pub footprint_max: [f64; 2],
    /// Ground floor: the terrain at the block's corner, as the scan has it.
    pub base_z: f64,
    /// From the ground floor to the eaves (the roof, when flat).
    pub height_m: f64,
    /// A gable roof whose ridge runs along y through the middle, 3 m above the eaves.
    pub gable: bool,
    /// The scan's colour for the building, 8-bit sRGB before its jitter.
    pub rgb8: [u8; 3],
    /// housing, shop, office, school or public.
    pub usage: &'static str,
    pub year: i64,
    pub storeys: i64,
}

impl DemoBuilding {
    /// Highest point of the roof above IGN69.
    pub fn roof_top_z(&self) -> f64 {
        self.base_z + self.height_m + if self.gable { GABLE_RISE_M } else { 0.0 }
    }
}

/// The buildings of the demo town of `points` points that its scan shows whole, sorted by block
/// row, block, plot row, plot.
pub fn demo_buildings(points: u64) -> Vec<DemoBuilding> {
    let side = side_m(points);
    let plot_m = (BLOCK_M - STREET_M) / 2.0;
    let blocks = (side / BLOCK_M).ceil() as i64;
    let mut out = Vec::new();
    for by in 0..blocks {
        for bx in 0..blocks {
            for py in 0..2 {
                for px in 0..2 {
                    let (gx, gy) = (bx * 2 + px, by * 2 + py);
                    let Some(building) = plot_building(gx, gy) else {
                        continue;
                    };
                    let plot = |salt| hash2(gx, gy, salt);
                    let margin = building.margin_m;
                    let corner = [
                        bx as f64 * BLOCK_M + STREET_M + px as f64 * plot_m,
                        by as f64 * BLOCK_M + STREET_M + py as f64 * plot_m,
                    ];
                    let min = corner.map(|c| c + margin);
                    let max = corner.map(|c| c + plot_m - margin);
                    if max[0] > side || max[1] > side || touches_river(min, max) {
                        continue;
                    }
                    let height_m = building.height_m;
                    let shade = building.shade as u8;
                    out.push(DemoBuilding {
                        id: format!("B-{bx:04}-{by:04}-{px}-{py}"),
                        block: [bx, by],
                        plot: [px, py],
                        footprint_min: min,
                        footprint_max: max,
                        base_z: terrain_z(
                            bx as f64 * BLOCK_M + STREET_M,
                            by as f64 * BLOCK_M + STREET_M,
                        ),
                        height_m,
                        gable: height_m < GABLE_BELOW_M,
                        rgb8: [shade, shade / 2 + 40, shade / 3 + 30],
                        usage: usage(plot(12)),
                        year: (1850 + (plot(13) * 175.0) as i64).min(2024),
                        storeys: ((height_m / 3.0).round() as i64).max(1),
                    });
                }
            }
        }
    }
    out
}

fn usage(u: f64) -> &'static str {
    match u {
        u if u < 0.55 => "housing",
        u if u < 0.7 => "shop",
        u if u < 0.85 => "office",
        u if u < 0.9 => "school",
        _ => "public",
    }
}

/// Whether any of the footprint lies in the river, where the scan sees water instead.
fn touches_river(min: [f64; 2], max: [f64; 2]) -> bool {
    let (a, b) = (river_centre_y(min[0]), river_centre_y(max[0]));
    let (mut lo, mut hi) = (a.min(b), a.max(b));
    // The sine's extremes inside the span: x / 180 = π/2 + kπ.
    let pi = std::f64::consts::PI;
    let first = ((min[0] / 180.0 - pi / 2.0) / pi).ceil() as i64;
    let last = ((max[0] / 180.0 - pi / 2.0) / pi).floor() as i64;
    for k in first..=last {
        let y = river_centre_y(180.0 * (pi / 2.0 + k as f64 * pi));
        lo = lo.min(y);
        hi = hi.max(y);
    }
    lo < max[1] + RIVER_HALF_WIDTH_M && hi > min[1] - RIVER_HALF_WIDTH_M
}

/// The demo town's buildings as a 3D Tiles 1.1 tileset, `dir/demo-buildings-{points}-ign69/
/// tileset.json` with one `b{i}_{j}.glb` per 4×4 blocks, written the first time and reused
/// after. Lambert-93 like the demo scan of the same `points` ([`crate::demo::demo_twin_copc`]).
pub fn demo_buildings_tileset(dir: &Path, points: u64) -> Result<PathBuf, String> {
    // `-ign69`: the ECEF heights come through RAF20 since the twin's altitudes are NGF-IGN69
    // (tilesets written before were ellipsoidal, and sit 48 m too high in such a twin).
    let folder = dir.join(format!("demo-buildings-{points}-ign69"));
    let tileset = folder.join("tileset.json");
    if tileset.exists() {
        return Ok(tileset);
    }
    let (json, contents) = tileset_files(points)?;
    std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    for (name, bytes) in &contents {
        let path = folder.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    // The tileset last, in one rename: an interrupted run leaves no tileset that lacks files.
    let partial = folder.join("tileset.json.partial");
    std::fs::write(&partial, json).map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, &tileset).map_err(|e| format!("{}: {e}", tileset.display()))?;
    Ok(tileset)
}

/// Geodetic bounds: west, south, east, north (radians), lowest and highest (metres).
type Region = [f64; 6];

const EMPTY_REGION: Region = [
    f64::INFINITY,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NEG_INFINITY,
    f64::INFINITY,
    f64::NEG_INFINITY,
];

fn region_union(a: Region, b: Region) -> Region {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
        a[4].min(b[4]),
        a[5].max(b[5]),
    ]
}

fn region_json(r: Region) -> Value {
    json!({ "region": r })
}

/// A file of the tileset's folder: its name and bytes.
type NamedFile = (String, Vec<u8>);

/// `tileset.json` and the named GLB contents of the demo town of `points` points.
fn tileset_files(points: u64) -> Result<(Vec<u8>, Vec<NamedFile>), String> {
    let frame = crate::demo::demo_frame()?;
    let mut by_content: BTreeMap<(i64, i64), Vec<DemoBuilding>> = BTreeMap::new();
    for building in demo_buildings(points) {
        let key = (
            building.block[0].div_euclid(CONTENT_BLOCKS),
            building.block[1].div_euclid(CONTENT_BLOCKS),
        );
        by_content.entry(key).or_default().push(building);
    }
    let mut middles: BTreeMap<(i64, i64), (Region, Vec<Value>)> = BTreeMap::new();
    let mut files = Vec::with_capacity(by_content.len());
    for ((i, j), buildings) in &by_content {
        let name = format!("b{i}_{j}.glb");
        let content = content_tile(&frame, buildings)
            .map_err(|e| format!("demo buildings, content {name}: {e}"))?;
        let leaf = json!({
            "transform": content.ecef_from_tile.to_cols_array(),
            "boundingVolume": { "box": content.tile_box },
            "geometricError": 0.0,
            "content": { "uri": name },
        });
        let middle = middles
            .entry((i.div_euclid(MIDDLE_CONTENTS), j.div_euclid(MIDDLE_CONTENTS)))
            .or_insert((EMPTY_REGION, Vec::new()));
        middle.0 = region_union(middle.0, content.region);
        middle.1.push(leaf);
        files.push((name, content.glb));
    }
    let mut root_region = EMPTY_REGION;
    let children: Vec<Value> = middles
        .into_values()
        .map(|(region, leaves)| {
            root_region = region_union(root_region, region);
            json!({
                "boundingVolume": region_json(region),
                "geometricError": MIDDLE_ERROR_M,
                "children": leaves,
            })
        })
        .collect();
    if children.is_empty() {
        return Err(format!(
            "the demo town of {points} points is too small to hold a whole building"
        ));
    }
    let tileset = json!({
        "asset": { "version": "1.1", "generator": "jumeau demo town" },
        "geometricError": TILESET_ERROR_M,
        "root": {
            "boundingVolume": region_json(root_region),
            "geometricError": ROOT_ERROR_M,
            "refine": "ADD",
            "children": children,
        },
    });
    let json = serde_json::to_vec_pretty(&tileset)
        .map_err(|e| format!("demo buildings: tileset.json: {e}"))?;
    Ok((json, files))
}

/// One leaf: its GLB, its frame in ECEF, its box in that frame and its geodetic bounds.
struct ContentTile {
    glb: Vec<u8>,
    ecef_from_tile: DMat4,
    tile_box: [f64; 12],
    region: Region,
}

fn content_tile(frame: &GeoFrame, buildings: &[DemoBuilding]) -> Result<ContentTile, String> {
    let mut faces = Faces::default();
    for (feature, building) in buildings.iter().enumerate() {
        building_faces(&mut faces, building, feature as u32);
    }
    let (mut lo, mut hi) = (DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY));
    for p in &faces.positions {
        lo = lo.min(*p);
        hi = hi.max(*p);
    }
    let origin = DVec3::new(DEMO_ORIGIN_L93[0], DEMO_ORIGIN_L93[1], 0.0);
    let centre = origin + (lo + hi) * 0.5;
    let crs_from_ecef = frame.crs_from_ecef_affine(frame.ecef_from_crs(centre)?)?;
    let ecef_from_tile = crs_from_ecef.inverse() * DMat4::from_translation(centre);
    let tile_from_ecef = DMat4::from_translation(-centre) * crs_from_ecef;

    let mut positions = Vec::with_capacity(faces.positions.len());
    let (mut lo, mut hi) = (DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY));
    for p in &faces.positions {
        let t = tile_from_ecef.transform_point3(frame.ecef_from_crs(origin + *p)?);
        lo = lo.min(t);
        hi = hi.max(t);
        positions.push(y_up(t));
    }
    let (lo, hi) = (lo - DVec3::splat(BOX_PAD_M), hi + DVec3::splat(BOX_PAD_M));
    let (mid, half) = ((lo + hi) * 0.5, (hi - lo) * 0.5);
    let tile_box = [
        mid.x, mid.y, mid.z, half.x, 0.0, 0.0, 0.0, half.y, 0.0, 0.0, 0.0, half.z,
    ];
    let mut region = EMPTY_REGION;
    for corner in 0..8 {
        let pick = |bit: usize, a: f64, b: f64| if corner & bit == 0 { a } else { b };
        let t = DVec3::new(
            pick(1, lo.x, hi.x),
            pick(2, lo.y, hi.y),
            pick(4, lo.z, hi.z),
        );
        let (lon, lat, h) = geodetic_from_ecef(ecef_from_tile.transform_point3(t));
        region = region_union(region, [lon, lat, lon, lat, h, h]);
    }
    let region = [
        region[0] - REGION_PAD_RAD,
        region[1] - REGION_PAD_RAD,
        region[2] + REGION_PAD_RAD,
        region[3] + REGION_PAD_RAD,
        region[4] - REGION_PAD_M,
        region[5] + REGION_PAD_M,
    ];

    let model = Model {
        primitives: vec![Primitive {
            model_from_mesh: DMat4::IDENTITY,
            positions,
            normals: Some(faces.normals.iter().map(|n| y_up(*n)).collect()),
            uvs: None,
            colors: Some(faces.colors),
            indices: faces.indices,
            feature_ids: Some(faces.feature_ids),
            material: Some(0),
        }],
        materials: vec![Material {
            metallic: 0.0,
            roughness: 0.9,
            ..Material::default()
        }],
        textures: Vec::new(),
        properties: Some(property_table(buildings)),
        rtc_center: None,
    };
    let glb = write_glb(&model).map_err(|e| e.to_string())?;
    Ok(ContentTile {
        glb,
        ecef_from_tile,
        tile_box,
        region,
    })
}

/// Z-up tile frame (x east, y north) to glTF's Y-up.
fn y_up(v: DVec3) -> [f32; 3] {
    [v.x as f32, v.z as f32, -v.y as f32]
}

fn property_table(buildings: &[DemoBuilding]) -> PropertyTable {
    let column = |name: &str, value: &dyn Fn(&DemoBuilding) -> PropertyValue| PropertyColumn {
        name: name.into(),
        values: buildings.iter().map(value).collect(),
    };
    PropertyTable {
        class: "building".into(),
        count: buildings.len(),
        columns: vec![
            column("id", &|b| PropertyValue::Text(b.id.clone())),
            column("height_m", &|b| PropertyValue::Float(b.height_m)),
            column("use", &|b| PropertyValue::Text(b.usage.into())),
            column("year", &|b| PropertyValue::Int(b.year)),
            column("storeys", &|b| PropertyValue::Int(b.storeys)),
        ],
    }
}

/// Flat-shaded faces in the town's local metres (Z-up).
#[derive(Default)]
struct Faces {
    positions: Vec<DVec3>,
    normals: Vec<DVec3>,
    colors: Vec<[f32; 4]>,
    feature_ids: Vec<u32>,
    indices: Vec<u32>,
}

impl Faces {
    /// A convex polygon, corners in order around it, facing `normal`.
    fn polygon(&mut self, corners: &[DVec3], normal: DVec3, color: [f32; 4], feature: u32) {
        let first = self.positions.len() as u32;
        let facing = (corners[1] - corners[0])
            .cross(corners[2] - corners[0])
            .dot(normal)
            > 0.0;
        for &p in corners {
            self.positions.push(p);
            self.normals.push(normal);
            self.colors.push(color);
            self.feature_ids.push(feature);
        }
        for k in 1..corners.len() as u32 - 1 {
            // Counter-clockwise seen from outside, as glTF's front faces are.
            let (b, c) = if facing { (k, k + 1) } else { (k + 1, k) };
            self.indices.extend([first, first + b, first + c]);
        }
    }
}

fn linear_from_srgb8(v: f64) -> f32 {
    let s = (v / 255.0).clamp(0.0, 1.0);
    let linear = if s <= 0.04045 {
        s / 12.92
    } else {
        ((s + 0.055) / 1.055).powf(2.4)
    };
    linear as f32
}

/// Walls down to just below the lowest ground under the footprint, and the roof.
fn building_faces(faces: &mut Faces, b: &DemoBuilding, feature: u32) {
    let ([x0, y0], [x1, y1]) = (b.footprint_min, b.footprint_max);
    let mut ground = b.base_z;
    const SAMPLES: usize = 8;
    for i in 0..=SAMPLES {
        for j in 0..=SAMPLES {
            let x = x0 + (x1 - x0) * i as f64 / SAMPLES as f64;
            let y = y0 + (y1 - y0) * j as f64 / SAMPLES as f64;
            ground = ground.min(terrain_z(x, y));
        }
    }
    let bottom = ground - FOUNDATION_M;
    let eave = b.base_z + b.height_m;
    let ridge = b.roof_top_z();
    let xm = 0.5 * (x0 + x1);
    let rgb = b
        .rgb8
        .map(|c| linear_from_srgb8(f64::from(c) + COLOR_JITTER_MEAN));
    let color = [rgb[0], rgb[1], rgb[2], 1.0];
    let p = DVec3::new;
    let mut face =
        |corners: &[DVec3], normal: DVec3| faces.polygon(corners, normal, color, feature);

    for (y, normal) in [(y0, -DVec3::Y), (y1, DVec3::Y)] {
        if b.gable {
            let end = [
                p(x0, y, bottom),
                p(x1, y, bottom),
                p(x1, y, eave),
                p(xm, y, ridge),
                p(x0, y, eave),
            ];
            face(&end, normal);
        } else {
            face(
                &[
                    p(x0, y, bottom),
                    p(x1, y, bottom),
                    p(x1, y, eave),
                    p(x0, y, eave),
                ],
                normal,
            );
        }
    }
    for (x, normal) in [(x0, -DVec3::X), (x1, DVec3::X)] {
        face(
            &[
                p(x, y0, bottom),
                p(x, y1, bottom),
                p(x, y1, eave),
                p(x, y0, eave),
            ],
            normal,
        );
    }
    if b.gable {
        let rise = ridge - eave;
        face(
            &[
                p(x0, y0, eave),
                p(xm, y0, ridge),
                p(xm, y1, ridge),
                p(x0, y1, eave),
            ],
            p(-rise, 0.0, xm - x0).normalize(),
        );
        face(
            &[
                p(xm, y0, ridge),
                p(x1, y0, eave),
                p(x1, y1, eave),
                p(xm, y1, ridge),
            ],
            p(rise, 0.0, x1 - xm).normalize(),
        );
    } else {
        face(
            &[
                p(x0, y0, eave),
                p(x1, y0, eave),
                p(x1, y1, eave),
                p(x0, y1, eave),
            ],
            DVec3::Z,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildings::bake::z_up_from_y_up;
    use crate::buildings::gltf::decode_glb;
    use crate::buildings::tiles3d::tileset::{TileId, TileUri, Tileset};
    use crate::buildings::tiles3d::traverse::{DEFAULT_MAX_SSE_PX, View, select};
    use crate::demo::{Rng, river_distance, surface};

    /// Small enough to be quick, big enough for 2×2 contents and a river through the town.
    const POINTS: u64 = 2_000_000;

    /// What the scan sees at a local position: classification and height.
    fn scan(x: f64, y: f64) -> (u8, f64) {
        let (class, z, ..) = surface(x, y, &mut Rng(0));
        (class, z)
    }

    fn open(points: u64) -> (tempfile::TempDir, Tileset) {
        let dir = tempfile::tempdir().unwrap();
        let path = demo_buildings_tileset(dir.path(), points).unwrap();
        let tileset =
            Tileset::parse(&std::fs::read(&path).unwrap(), &TileUri::local_file(&path)).unwrap();
        (dir, tileset)
    }

    /// Every content's decoded model, with its tile.
    fn contents(tileset: &Tileset) -> Vec<(TileId, Model)> {
        (0..tileset.len() as u32)
            .map(TileId)
            .flat_map(|id| {
                let tile = tileset.tile(id).unwrap();
                tile.contents.iter().map(move |c| {
                    let bytes = std::fs::read(c.uri.local_path().unwrap()).unwrap();
                    (id, decode_glb(&bytes).unwrap())
                })
            })
            .collect()
    }

    /// Vertices of a content in the scan's local metres, via the tile transform, the Y-up to
    /// Z-up turn and the exact projection, as the viewer places them.
    fn local_vertices(tileset: &Tileset, id: TileId, model: &Model) -> Vec<(u32, DVec3)> {
        let frame = crate::demo::demo_frame().unwrap();
        let origin = DVec3::new(DEMO_ORIGIN_L93[0], DEMO_ORIGIN_L93[1], 0.0);
        let tile = tileset.tile(id).unwrap();
        let mut out = Vec::new();
        for primitive in &model.primitives {
            let m = tile.world_from_tile * z_up_from_y_up() * primitive.model_from_mesh;
            let ids = primitive.feature_ids.as_ref().unwrap();
            for (p, &feature) in primitive.positions.iter().zip(ids) {
                let ecef = m.transform_point3(DVec3::from(p.map(f64::from)));
                out.push((feature, frame.crs_from_ecef(ecef).unwrap() - origin));
            }
        }
        out
    }

    #[test]
    fn every_building_the_scan_shows_whole_is_in_the_tileset_with_its_attributes() {
        let (dir, tileset) = open(POINTS);
        // Count independently: each plot the hash builds on, whose footprint the scan sees
        // entirely as building (class 6) inside the town square.
        let side = side_m(POINTS);
        let plot_m = (BLOCK_M - STREET_M) / 2.0;
        let mut expected = 0;
        let mut in_river = 0;
        for gy in 0..2 * (side / BLOCK_M).ceil() as i64 {
            for gx in 0..2 * (side / BLOCK_M).ceil() as i64 {
                if hash2(gx, gy, 1) >= 0.7 {
                    continue;
                }
                let margin = 3.0 + 5.0 * hash2(gx, gy, 2);
                let start = |g: i64| (g / 2) as f64 * BLOCK_M + STREET_M + (g % 2) as f64 * plot_m;
                let (x0, y0) = (start(gx) + margin, start(gy) + margin);
                let (x1, y1) = (start(gx) + plot_m - margin, start(gy) + plot_m - margin);
                if x1 > side || y1 > side {
                    continue;
                }
                let steps = 60;
                let whole = (0..=steps).all(|i| {
                    (0..=steps).all(|j| {
                        let x = x0 + 0.01 + (x1 - x0 - 0.02) * i as f64 / steps as f64;
                        let y = y0 + 0.01 + (y1 - y0 - 0.02) * j as f64 / steps as f64;
                        scan(x, y).0 == 6
                    })
                });
                if whole {
                    expected += 1;
                } else {
                    in_river += 1;
                }
            }
        }
        assert!(
            in_river > 0,
            "the test town should have buildings cut by the river"
        );

        let decoded = contents(&tileset);
        assert_eq!(decoded.len(), 4, "2×2 contents of 4×4 blocks");
        let mut rows = BTreeMap::new();
        for (_, model) in &decoded {
            let table = model.properties.as_ref().unwrap();
            assert_eq!(table.class, "building");
            let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["id", "height_m", "use", "year", "storeys"]);
            let ids = model.primitives[0].feature_ids.as_ref().unwrap();
            let used: std::collections::BTreeSet<u32> = ids.iter().copied().collect();
            assert_eq!(used, (0..table.count as u32).collect());
            for row in 0..table.count {
                let values: Vec<PropertyValue> =
                    table.row(row).into_iter().map(|(_, v)| v.clone()).collect();
                let PropertyValue::Text(id) = &values[0] else {
                    panic!("id is not text: {values:?}");
                };
                rows.insert(id.clone(), values);
            }
        }
        assert_eq!(rows.len(), expected, "one row per building, ids unique");

        // The first building of the town, straight from the scan's rules.
        let (gx, gy) = (0..4)
            .map(|g| (g % 2, g / 2))
            .find(|&(x, y)| hash2(x, y, 1) < 0.7)
            .unwrap();
        let height = 6.0 + 20.0 * hash2(gx, gy, 3).powi(2);
        let values = &rows[&format!("B-0000-0000-{gx}-{gy}")];
        assert_eq!(values[1], PropertyValue::Float(height));
        assert_eq!(values[4], PropertyValue::Int((height / 3.0).round() as i64));
        let PropertyValue::Int(year) = values[3] else {
            panic!("year is not an integer: {values:?}");
        };
        assert!((1850..=2024).contains(&year));
        let PropertyValue::Text(usage) = &values[2] else {
            panic!("use is not text: {values:?}");
        };
        assert!(["housing", "shop", "office", "school", "public"].contains(&usage.as_str()));

        // Written once: a second call reuses the files.
        let glb = dir
            .path()
            .join(format!("demo-buildings-{POINTS}-ign69/b0_0.glb"));
        std::fs::write(&glb, b"kept").unwrap();
        demo_buildings_tileset(dir.path(), POINTS).unwrap();
        assert_eq!(std::fs::read(&glb).unwrap(), b"kept");
    }

    #[test]
    fn buildings_stand_on_their_scanned_roofs() {
        let (_dir, tileset) = open(POINTS);
        let generated: BTreeMap<String, DemoBuilding> = demo_buildings(POINTS)
            .into_iter()
            .map(|b| (b.id.clone(), b))
            .collect();
        let mut checked = 0;
        let mut worst_m: f64 = 0.0;
        for (id, model) in contents(&tileset) {
            let mut by_feature: BTreeMap<u32, Vec<DVec3>> = BTreeMap::new();
            for (feature, p) in local_vertices(&tileset, id, &model) {
                by_feature.entry(feature).or_default().push(p);
            }
            let ids = model.properties.as_ref().unwrap().column("id").unwrap();
            for (feature, vertices) in &by_feature {
                let (mut lo, mut hi) =
                    (DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY));
                for p in vertices {
                    lo = lo.min(*p);
                    hi = hi.max(*p);
                }
                // Where the generator put it, to the millimetre.
                let PropertyValue::Text(name) = &ids.values[*feature as usize] else {
                    panic!("feature {feature} has no text id");
                };
                let b = &generated[name];
                for error in [
                    lo.x - b.footprint_min[0],
                    lo.y - b.footprint_min[1],
                    hi.x - b.footprint_max[0],
                    hi.y - b.footprint_max[1],
                    hi.z - b.roof_top_z(),
                ] {
                    worst_m = worst_m.max(error.abs());
                }
                let (xm, ym) = (0.5 * (lo.x + hi.x), 0.5 * (lo.y + hi.y));
                let (class, roof) = scan(xm, ym);
                assert_eq!(class, 6, "no building in the scan at ({xm}, {ym})");
                assert!((roof - hi.z).abs() < 0.05, "roof {} vs scan {roof}", hi.z);
                let d = 0.05;
                for (x, y) in [(lo.x, lo.y), (hi.x, lo.y), (lo.x, hi.y), (hi.x, hi.y)] {
                    let inward = (x + d * (xm - x).signum(), y + d * (ym - y).signum());
                    assert_eq!(scan(inward.0, inward.1).0, 6, "inside corner {inward:?}");
                }
                for (x, y) in [
                    (lo.x - d, ym),
                    (hi.x + d, ym),
                    (xm, lo.y - d),
                    (xm, hi.y + d),
                ] {
                    assert_ne!(scan(x, y).0, 6, "just outside ({x}, {y})");
                }
                checked += 1;
            }
        }
        assert!(checked > 30, "{checked} buildings");
        assert!(
            worst_m < 1e-3,
            "a vertex is {worst_m} m from where the generator put it"
        );
    }

    #[test]
    fn volumes_hold_every_building_and_contents_load_within_a_few_km() {
        let (_dir, tileset) = open(POINTS);
        let frame = crate::demo::demo_frame().unwrap();
        for (id, model) in contents(&tileset) {
            let primitive = &model.primitives[0];
            // Front faces outward: back-face culling keeps every wall and roof.
            let normals = primitive.normals.as_ref().unwrap();
            for tri in primitive.indices.chunks_exact(3) {
                let [a, b, c] = [0, 1, 2]
                    .map(|k| DVec3::from(primitive.positions[tri[k] as usize].map(f64::from)));
                let n = DVec3::from(normals[tri[0] as usize].map(f64::from));
                assert!(
                    (b - a).cross(c - a).normalize().dot(n) > 0.999,
                    "triangle {tri:?}"
                );
            }
            let tile = tileset.tile(id).unwrap();
            let m = tile.world_from_tile * z_up_from_y_up();
            for p in &primitive.positions {
                let ecef = m.transform_point3(DVec3::from(p.map(f64::from)));
                let mut at = Some(id);
                while let Some(t) = at {
                    let ancestor = tileset.tile(t).unwrap();
                    assert!(ancestor.bounds.contains(ecef), "tile {t} misses {ecef}");
                    at = ancestor.parent;
                }
            }
        }
        let side = side_m(POINTS);
        let centre = DVec3::new(
            DEMO_ORIGIN_L93[0] + side / 2.0,
            DEMO_ORIGIN_L93[1] + side / 2.0,
            45.0,
        );
        let ecef = |p: DVec3| frame.ecef_from_crs(p).unwrap();
        let above = |height: f64| {
            View::look_at_infinite(
                ecef(centre + DVec3::Z * height),
                ecef(centre),
                ecef(centre + DVec3::Y) - ecef(centre),
                1.0,
                [1920.0, 1080.0],
            )
        };
        let drawn = |height| {
            select(&tileset, &above(height), DEFAULT_MAX_SSE_PX, &|_| true)
                .render
                .len()
        };
        assert_eq!(drawn(1_500.0), 4, "every content from 1.5 km up");
        assert_eq!(drawn(20_000.0), 0, "nothing from 20 km up");
    }

    #[test]
    fn river_centre_follows_the_scan() {
        for i in 0..100 {
            let x = i as f64 * 23.7;
            assert!(river_distance(x, river_centre_y(x)) < 1e-9);
        }
    }

    /// The demo twin's own town: `cargo test --release --lib demo_buildings -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore = "writes the full 20 M-point town's buildings; run by hand to size them"]
    fn full_demo_town() {
        let dir = tempfile::tempdir().unwrap();
        let start = std::time::Instant::now();
        let path = demo_buildings_tileset(dir.path(), crate::demo::DEMO_TWIN_POINTS).unwrap();
        let elapsed = start.elapsed();
        let tileset =
            Tileset::parse(&std::fs::read(&path).unwrap(), &TileUri::local_file(&path)).unwrap();
        let decoded = contents(&tileset);
        let buildings: usize = decoded
            .iter()
            .map(|(_, m)| m.properties.as_ref().unwrap().count)
            .sum();
        let bytes: u64 = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        println!(
            "{} contents, {buildings} buildings, {bytes} bytes, written in {elapsed:?}",
            decoded.len()
        );
        assert_eq!(decoded.len(), 25);
    }
}
