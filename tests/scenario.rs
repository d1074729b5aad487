//! `jumeau scenario run` end to end on an analytic scene written as a LAS file: two bowls
//! separated by a ridge and a box building on a plateau, in Lambert-93 near Paris. The
//! outputs are checked against the analytic values (flooded area, shadow length, hours of sun),
//! read back by GDAL's `gdalinfo` (the CRS, the grid, the values where the georeference says),
//! and the view against its golden image.

mod common;

use common::snapshot::assert_matches_snapshot;
use jumeau::scenario::run::{run_file, write_outputs};
use jumeau::terrain::geotiff;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::scene::{BOWL_A, BOWL_B, BOX_CENTRE, BOX_HEIGHT, X0, Y0, ground, in_box, write_scene};

const SCENARIO: &str = r#"version = 1
name = "Deux cuvettes"
data = ["scene.las"]
crs = "EPSG:2154"
[terrain]
resolution_m = 0.5

[[scenarios]]
id = "crue"
kind = "flood"
seeds = [[652060.0, 6862100.0]]
level_m = 40.0

[[scenarios]]
id = "plan"
kind = "flood"
seeds = [[652060.0, 6862100.0]]
level_m = 40.0
mode = "plane"

[[scenarios]]
id = "ombre"
kind = "shadow"
at = "2026-03-20T12:50:00+01:00"

[[scenarios]]
id = "ensoleillement"
kind = "sunlight"
date = "2026-03-20"
utc_offset = "+01:00"

[compare]
left = "crue"
right = "plan"
"#;

/// The scene, its scenario file and the run's outputs in a temporary folder.
fn run_scene() -> (tempfile::TempDir, PathBuf, Value) {
    let dir = tempfile::tempdir().unwrap();
    write_scene(&dir.path().join("scene.las"));
    let file = dir.path().join("deux-cuvettes.toml");
    std::fs::write(&file, SCENARIO).unwrap();
    let out = dir.path().join("out");
    let run = run_file(&file, None).unwrap();
    let summary = write_outputs(&run, &out).unwrap();
    (dir, out, summary)
}

#[test]
fn scenario_run_matches_the_analytic_scene() {
    let (_dir, out, summary) = run_scene();
    let s = &summary["scenarios"];
    // Flood: a disc where (r²/80) < 10 in bowl A only.
    let analytic = std::f64::consts::PI * 800.0;
    let area = s["crue"]["flooded_area_m2"].as_f64().unwrap();
    assert!(
        (area - analytic).abs() / analytic < 0.02,
        "{area} m² against {analytic}"
    );
    assert_eq!(s["crue"]["buildings_affected"], 0);
    let plane = s["plan"]["flooded_area_m2"].as_f64().unwrap();
    assert!(
        (plane - 2.0 * analytic).abs() / analytic < 0.04,
        "plane: {plane} m²"
    );
    let lows = s["crue"]["disconnected_low_area_m2"].as_f64().unwrap();
    assert!(
        (lows - analytic).abs() / analytic < 0.02,
        "bowl B: {lows} m²"
    );
    assert!((summary["compare"]["changed_area_m2"].as_f64().unwrap() - lows).abs() < 1.0);
    assert_eq!(summary["buildings"], 1);

    // Shadow: the box's shadow reaches height / tan(altitude) from its wall, within a cell.
    let altitude = s["ombre"]["sun_altitude_deg"].as_f64().unwrap();
    let azimuth = s["ombre"]["sun_azimuth_deg"].as_f64().unwrap();
    assert!(
        altitude > 30.0 && (azimuth - 180.0).abs() < 25.0,
        "{altitude}° {azimuth}°"
    );
    let (shadow, crs) = geotiff::read_file(&out.join("ombre.tif")).unwrap();
    assert_eq!(crs.epsg, Some(2154));
    let away = -bevy::math::DVec2::new(azimuth.to_radians().sin(), azimuth.to_radians().cos());
    let start = bevy::math::DVec2::new(X0 + BOX_CENTRE.0, Y0 + BOX_CENTRE.1);
    let value = |p: bevy::math::DVec2| {
        let (c, r) = shadow.grid.cell_of(p).unwrap();
        shadow.at(c, r)
    };
    let mut p = start;
    while in_box(p.x - X0, p.y - Y0) {
        p += away * 0.01;
    }
    let wall = p;
    while value(p) == 1.0 {
        p += away * 0.01;
    }
    let length = p.distance(wall);
    let analytic = BOX_HEIGHT / altitude.to_radians().tan();
    assert!(
        (length - analytic).abs() <= 0.5,
        "shadow {length:.2} m against {analytic:.2} m"
    );

    // Sunlight: open ground gets the whole day, the roof too, the ground north of the box less.
    let day = s["ensoleillement"]["day_length_h"].as_f64().unwrap();
    assert!((day - 12.1).abs() < 0.3, "{day} h");
    let (hours, _) = geotiff::read_file(&out.join("ensoleillement.tif")).unwrap();
    let at = |x: f64, y: f64| {
        let (c, r) = hours
            .grid
            .cell_of(bevy::math::DVec2::new(X0 + x, Y0 + y))
            .unwrap();
        f64::from(hours.at(c, r))
    };
    assert!((at(280.0, 30.0) - day).abs() < 1e-3);
    assert!(at(BOX_CENTRE.0, BOX_CENTRE.1 + 11.0) < day - 4.0);
    let csv = std::fs::read_to_string(out.join("buildings.csv")).unwrap();
    let mut rows = csv.lines();
    let head: Vec<&str> = rows.next().unwrap().split(',').collect();
    let row: Vec<&str> = rows.next().unwrap().split(',').collect();
    let column = |name: &str| {
        row[head.iter().position(|h| *h == name).unwrap()]
            .parse::<f64>()
            .unwrap()
    };
    assert!((column("ensoleillement_roof_sun_h") - day).abs() < 0.01);
    assert!((column("footprint_m2") - 400.0).abs() < 1.0);
    assert!((column("roof_m") - (91.25 + BOX_HEIGHT)).abs() < 0.05);
    // The box sits on the plateau: its ground floods at the plateau's level.
    assert!((column("crue_flood_level_m") - 91.25).abs() < 0.05);
    let geojson: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("buildings.geojson")).unwrap())
            .unwrap();
    assert_eq!(geojson["features"].as_array().unwrap().len(), 1);

    assert_matches_snapshot(
        "scenario_view",
        &image::open(out.join("view.png")).unwrap().to_rgba8(),
    );
}

/// GDAL reads what we write: the CRS, the grid, and each value where its georeference says.
#[test]
fn gdal_reads_the_rasters_we_write() {
    let Ok(version) = Command::new("gdalinfo").arg("--version").output() else {
        assert!(
            !common::data_required(),
            "gdalinfo (Debian gdal-bin) is missing and JUMEAU_REQUIRE_DATA=1 forbids skipping"
        );
        eprintln!("SKIPPED: gdalinfo (Debian gdal-bin) is not installed");
        return;
    };
    assert!(version.status.success());
    let (_dir, out, _) = run_scene();
    let tif = out.join("crue.tif");
    let info = Command::new("gdalinfo")
        .arg("-json")
        .arg(&tif)
        .output()
        .unwrap();
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["size"], serde_json::json!([600, 400]));
    let wkt = info["coordinateSystem"]["wkt"].as_str().unwrap();
    assert!(
        wkt.contains("Lambert-93") && wkt.contains(r#"ID["EPSG",2154]"#),
        "{wkt}"
    );
    let gt: Vec<f64> = info["geoTransform"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(gt, [X0, 0.5, 0.0, Y0 + 200.0, 0.0, -0.5]);
    // The depth at bowl A's centre is 10 m, at bowl B's 0: asked of GDAL by coordinates.
    for ((x, y), depth) in [
        (BOWL_A, 10.0),
        (BOWL_B, 0.0),
        ((BOWL_A.0 + 20.0, BOWL_A.1), 5.0),
    ] {
        let value = Command::new("gdallocationinfo")
            .args(["-valonly", "-geoloc"])
            .arg(&tif)
            .arg(format!("{}", X0 + x + 0.25))
            .arg(format!("{}", Y0 + y + 0.25))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&value.stdout);
        let v: f64 = text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("gdallocationinfo said {text:?}"));
        // Cell centres sit 0.25 m off the points asked: z = d²/80 moves by at most 0.2 m there.
        assert!(
            (v - depth).abs() < 0.2,
            "depth at ({x}, {y}): {v} m, expected {depth}"
        );
    }
}

/// The terrain is built once: a second run reads it from the cache, with the same results;
/// a changed cloud misses the cache.
#[test]
fn terrain_is_cached_and_rebuilt_when_the_cloud_changes() {
    let dir = tempfile::tempdir().unwrap();
    write_scene(&dir.path().join("scene.las"));
    let file = dir.path().join("s.toml");
    std::fs::write(&file, SCENARIO).unwrap();
    let cache = dir.path().join("cache");
    let first = run_file(&file, Some(&cache)).unwrap();
    assert!(first.territory.points > 0);
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 3);
    let second = run_file(&file, Some(&cache)).unwrap();
    assert_eq!(second.territory.points, 0, "read from the cache");
    assert_eq!(second.territory.models, first.territory.models);
    assert_eq!(
        second
            .territory
            .crs
            .as_ref()
            .and_then(|c| c.horizontal_code()),
        Some(2154)
    );
    let area = |run: &jumeau::scenario::run::Run| run.results[0].figures["flooded_area_m2"].clone();
    assert_eq!(area(&first), area(&second));
    // Another cloud under the same name: a new entry.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let las = std::fs::read(dir.path().join("scene.las")).unwrap();
    std::fs::write(
        dir.path().join("scene.las"),
        [&las[..], &[0u8; 8][..]].concat(),
    )
    .unwrap();
    let third = run_file(&file, Some(&cache)).unwrap();
    assert!(third.territory.points > 0);
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 6);
}

/// IGN publishes its DTM (MNT) as GeoTIFF: a scenario runs on one directly.
#[test]
fn a_dtm_geotiff_is_terrain() {
    let (dir, out, first) = run_scene();
    // The DTM of the first run as an "MNT" next to a new scenario file.
    let run = run_file(&dir.path().join("deux-cuvettes.toml"), None).unwrap();
    geotiff::write_file(
        &dir.path().join("mnt.tif"),
        &run.territory.models.dtm,
        geotiff::RasterCrs::projected(2154),
    )
    .unwrap();
    let text = SCENARIO.replace("data = [\"scene.las\"]", "data = [\"mnt.tif\"]");
    std::fs::write(dir.path().join("mnt.toml"), text).unwrap();
    let from_mnt = run_file(&dir.path().join("mnt.toml"), None).unwrap();
    assert_eq!(from_mnt.territory.models.dtm, run.territory.models.dtm);
    let area =
        |r: &jumeau::scenario::run::Run| r.results[0].figures["flooded_area_m2"].as_f64().unwrap();
    assert_eq!(
        area(&from_mnt),
        first["scenarios"]["crue"]["flooded_area_m2"]
            .as_f64()
            .unwrap()
    );
    drop(out);
}

#[test]
fn bad_scenario_files_name_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        SCENARIO.replace("level_m = 40.0\nmode", "niveau = 40.0\nmode"),
    )
    .unwrap();
    let err = run_file(&file, None).err().unwrap().to_string();
    assert!(
        err.contains("bad.toml: line 18") && err.contains("niveau"),
        "{err}"
    );
    // A seed off the terrain: a clear error naming the scenario and the seed.
    write_scene(&dir.path().join("scene.las"));
    std::fs::write(
        &file,
        SCENARIO.replace(
            "seeds = [[652060.0, 6862100.0]]\nlevel_m = 40.0\n\n",
            "seeds = [[700000.0, 6862100.0]]\nlevel_m = 40.0\n\n",
        ),
    )
    .unwrap();
    let err = run_file(&file, None).err().unwrap().to_string();
    assert!(
        err.contains("scenario `crue`") && err.contains("(700000.0, 6862100.0) lies outside"),
        "{err}"
    );
    // Missing data: the file named.
    std::fs::write(&file, SCENARIO.replace("scene.las", "absent.las")).unwrap();
    let err = run_file(&file, None).err().unwrap().to_string();
    assert!(err.contains("absent.las"), "{err}");
}

/// Three box buildings as a 3D Tiles 1.1 tileset in ECEF (one GLB, feature IDs and a
/// `usage_1` column as IGN's BD TOPO has): two in bowl A, one in bowl B, each 6 m high from
/// its lowest ground. The tileset's root adds a second content that does not exist.
fn write_tileset(dir: &Path) {
    use bevy::math::{DMat4, DVec3};
    use jumeau::buildings::model::{
        Model, Primitive, PropertyColumn, PropertyTable, PropertyValue,
    };
    use jumeau::georef::{GeoFrame, VerticalDatum};
    let frame = GeoFrame::projected(2154)
        .unwrap()
        .with_vertical(VerticalDatum::Ign69);
    let ecef = |x: f64, y: f64, z: f64| frame.ecef_from_crs(DVec3::new(X0 + x, Y0 + y, z)).unwrap();
    let anchor = ecef(BOWL_A.0, BOWL_A.1, 30.0);
    let mut positions = Vec::new();
    let mut indices = Vec::new();
    let mut feature_ids = Vec::new();
    for (feature, &(cx, cy, half)) in HOUSES.iter().enumerate() {
        let bottom = ground(cx + half, cy + half).max(ground(cx - half, cy - half)) - 1.0;
        let top = house_roof(feature);
        let base = positions.len() as u32;
        for i in 0..8 {
            let x = cx + if i & 1 == 0 { -half } else { half };
            let y = cy + if i & 2 == 0 { -half } else { half };
            let z = if i & 4 == 0 { bottom } else { top };
            // Z-up tile frame to the glTF's Y-up: (x, y, z) -> (x, z, -y).
            let d = ecef(x, y, z) - anchor;
            positions.push([d.x as f32, d.z as f32, -d.y as f32]);
            feature_ids.push(feature as u32);
        }
        for q in [
            [0, 2, 3, 1],
            [4, 5, 7, 6],
            [0, 1, 5, 4],
            [2, 6, 7, 3],
            [0, 4, 6, 2],
            [1, 3, 7, 5],
        ] {
            indices.extend([q[0], q[1], q[2], q[0], q[2], q[3]].map(|k| base + k));
        }
    }
    let uses = ["Résidentiel", "Commercial et services", "Résidentiel"];
    let model = Model {
        primitives: vec![Primitive {
            model_from_mesh: DMat4::from_translation(DVec3::new(anchor.x, anchor.z, -anchor.y)),
            positions,
            indices,
            feature_ids: Some(feature_ids),
            ..Default::default()
        }],
        properties: Some(PropertyTable {
            class: "batiment".into(),
            count: 3,
            columns: vec![PropertyColumn {
                name: "usage_1".into(),
                values: uses
                    .iter()
                    .map(|u| PropertyValue::Text((*u).into()))
                    .collect(),
            }],
        }),
        ..Default::default()
    };
    let glb = jumeau::buildings::gltf::write::write_glb(&model).unwrap();
    std::fs::write(dir.join("houses.glb"), glb).unwrap();
    let centre = anchor;
    let tileset = serde_json::json!({
        "asset": { "version": "1.1" },
        "geometricError": 50.0,
        "root": {
            "boundingVolume": { "sphere": [centre.x, centre.y, centre.z, 300.0] },
            "geometricError": 10.0,
            "refine": "ADD",
            "content": { "uri": "houses.glb" },
            "children": [{
                "boundingVolume": { "sphere": [centre.x, centre.y, centre.z, 300.0] },
                "geometricError": 0.0,
                "content": { "uri": "missing.glb" }
            }]
        }
    });
    std::fs::write(dir.join("tileset.json"), tileset.to_string()).unwrap();
}

/// The houses of [`write_tileset`]: centre and half width, scene metres.
const HOUSES: [(f64, f64, f64); 3] = [
    (BOWL_A.0, BOWL_A.1, 6.0),
    (BOWL_A.0, BOWL_A.1 + 25.0, 5.0),
    (BOWL_B.0, BOWL_B.1, 6.0),
];

/// Roof height of house `i`: 6 m over the ground at its centre.
fn house_roof(i: usize) -> f64 {
    ground(HOUSES[i].0, HOUSES[i].1) + 6.0
}

/// Buildings of a 3D Tiles tileset enter the surface model: their roofs and footprints come
/// out of the mesh, their use from the tileset's attributes, and the flood counts them by use.
#[test]
fn tileset_buildings_enter_the_surface_with_their_use() {
    let dir = tempfile::tempdir().unwrap();
    write_scene(&dir.path().join("scene.las"));
    write_tileset(dir.path());
    let file = dir.path().join("maisons.toml");
    let scenario = r#"version = 1
name = "Maisons"
data = ["scene.las", "tileset.json"]
crs = "EPSG:2154"
[terrain]
resolution_m = 0.5

[[scenarios]]
id = "crue"
kind = "flood"
seeds = [[652060.0, 6862100.0]]
level_m = 40.0

[[scenarios]]
id = "plan"
kind = "flood"
seeds = [[652060.0, 6862100.0]]
level_m = 40.0
mode = "plane"
"#;
    std::fs::write(&file, scenario).unwrap();
    let run = run_file(&file, None).unwrap();
    let out = dir.path().join("out");
    let summary = write_outputs(&run, &out).unwrap();
    // The LiDAR's box and the three houses.
    assert_eq!(summary["buildings"], 4, "{summary:#}");
    let notes = summary["notes"].to_string();
    assert!(
        notes.contains("1 content(s), 36 triangles") && notes.contains("missing.glb"),
        "{notes}"
    );
    let s = &summary["scenarios"];
    // Connected: bowl A's two houses are reached, bowl B's is not; the plane floods all three.
    assert_eq!(s["crue"]["buildings_affected"], 2);
    assert_eq!(
        s["crue"]["buildings_affected_by_use"],
        serde_json::json!({"Résidentiel": 1, "Commercial et services": 1})
    );
    assert_eq!(
        s["plan"]["buildings_affected_by_use"],
        serde_json::json!({"Résidentiel": 2, "Commercial et services": 1})
    );
    let csv = std::fs::read_to_string(out.join("buildings.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let head = rows.headers().unwrap().clone();
    let at = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    for (i, &(cx, cy, half)) in HOUSES.iter().enumerate() {
        let row = rows
            .iter()
            .find(|r| {
                let x: f64 = r[at("x")].parse().unwrap();
                let y: f64 = r[at("y")].parse().unwrap();
                (x - X0 - cx).abs() < 1.0 && (y - Y0 - cy).abs() < 1.0
            })
            .unwrap_or_else(|| panic!("house {i} not in {csv}"));
        let roof: f64 = row[at("roof_m")].parse().unwrap();
        assert!(
            (roof - house_roof(i)).abs() < 0.01,
            "house {i}: roof {roof}"
        );
        let footprint: f64 = row[at("footprint_m2")].parse().unwrap();
        assert_eq!(footprint, (2.0 * half).powi(2), "house {i}");
        let expected = if i == 1 {
            "Commercial et services"
        } else {
            "Résidentiel"
        };
        assert_eq!(&row[at("use")], expected);
    }
    // The LiDAR's box has no model, so no use.
    assert_eq!(rows.iter().filter(|r| r[at("use")].is_empty()).count(), 1);
    // The DSM carries the roofs: what the sun and the radio see.
    let dsm = &run.territory.models.dsm;
    let (c, r) = dsm
        .grid
        .cell_of(bevy::math::DVec2::new(
            X0 + BOWL_B.0 + 0.25,
            Y0 + BOWL_B.1 + 0.25,
        ))
        .unwrap();
    assert!((f64::from(dsm.at(c, r)) - house_roof(2)).abs() < 0.01);

    // An Earth-centred tileset in a twin whose CRS is unknown, a tileset that is not there:
    // errors naming the input.
    std::fs::write(&file, scenario.replace("crs = \"EPSG:2154\"\n", "")).unwrap();
    let err = run_file(&file, None).err().unwrap().to_string();
    assert!(
        err.contains("tileset.json") && err.contains("needs a frame"),
        "{err}"
    );
    std::fs::write(
        &file,
        scenario.replace("\"tileset.json\"", "\"nothing/tileset.json\""),
    )
    .unwrap();
    let err = run_file(&file, None).err().unwrap().to_string();
    assert!(err.contains("nothing/tileset.json"), "{err}");
}

/// A mast west of the box (from a network file) and an inline omnidirectional site: the
/// raster in dBm, free space where the view is clear, the box's radio shadow behind it, the
/// buildings counted per level, and bad antennas named.
#[test]
fn coverage_runs_from_a_network_and_inline_sites() {
    let dir = tempfile::tempdir().unwrap();
    write_scene(&dir.path().join("scene.las"));
    // On the plateau west of the box (ground 91.25 m), facing east at it.
    let mast = (205.0, 100.0);
    let network = serde_json::json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
        "features": [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [X0 + mast.0, Y0 + mast.1]},
            "properties": {"id": "ANT-1", "type": "antenne", "hauteur": 12.0, "bande": "n78",
                           "pire_dbm": 60.0, "azimut": 90.0, "tilt": 0.0}
        }, {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [X0 + 20.0, Y0 + 20.0]},
            "properties": {"id": "ANT-2", "type": "antenna", "height_m": 10.0,
                           "frequency_mhz": 800.0, "eirp_dbm": 55.0}
        }]
    });
    std::fs::write(dir.path().join("reseau.geojson"), network.to_string()).unwrap();
    let scenario = r#"version = 1
name = "Couverture"
data = ["scene.las", "reseau.geojson"]
crs = "EPSG:2154"
[terrain]
resolution_m = 0.5

[[scenarios]]
id = "couverture"
kind = "coverage"
resolution_m = 1.0
sites = "reseau.geojson"
exclude = ["ANT-2"]

[[scenarios.site]]
id = "omni"
position = [652020.0, 6862180.0]
height_m = 5.0
frequency_mhz = 700.0
eirp_dbm = 30.0
"#;
    let file = dir.path().join("couverture.toml");
    std::fs::write(&file, scenario).unwrap();
    let run = run_file(&file, None).unwrap();
    let out = dir.path().join("out");
    let summary = write_outputs(&run, &out).unwrap();
    let c = &summary["scenarios"]["couverture"];
    assert_eq!(c["antennas"], 2, "{c:#}");
    assert!(
        c["caveat"]
            .as_str()
            .unwrap()
            .contains("not an operator or ARCEP map")
    );
    let per_level: u64 = c["buildings_per_level"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_level, 1);
    let (dbm, crs) = geotiff::read_file(&out.join("couverture.tif")).unwrap();
    assert_eq!(crs.epsg, Some(2154));
    let at = |x: f64, y: f64| {
        let (c, r) = dbm
            .grid
            .cell_of(bevy::math::DVec2::new(X0 + x, Y0 + y))
            .unwrap();
        f64::from(dbm.at(c, r))
    };
    // In the open, on the boresight across the plateau's flat top, 20 m from the mast: free
    // space (the receiver 1.5 m up, the antenna 12 m up: 10.5 m below it).
    use jumeau::scenario::radio::{Antenna, free_space_received_dbm};
    let ant = Antenna {
        id: "ANT-1".into(),
        position: bevy::math::DVec2::new(X0 + mast.0, Y0 + mast.1),
        height_m: 12.0,
        frequency_mhz: 3550.0,
        eirp_dbm: 60.0,
        azimuth_deg: Some(90.0),
        beamwidth_deg: 65.0,
        tilt_deg: 0.0,
        vertical_beamwidth_deg: 10.0,
    };
    let (x, y) = (mast.0 + 0.5, mast.1 + 20.0);
    let open = free_space_received_dbm(&ant, 1.5, bevy::math::DVec2::new(X0 + x, Y0 + y));
    assert!((at(x, y) - open).abs() < 1.0, "{} vs {open}", at(x, y));
    // Behind the box (15 m high, the mast 12 m up): at least 15 dB under the open ground
    // beside it at the same distance.
    let behind = at(BOX_CENTRE.0 + 20.0, BOX_CENTRE.1);
    let beside = at(BOX_CENTRE.0 + 20.0, BOX_CENTRE.1 + 45.0);
    assert!(
        behind < beside - 15.0,
        "behind {behind} dBm, beside {beside} dBm"
    );

    // Bad input: an antenna without its power, a site off the terrain.
    let mut broken = network.clone();
    broken["features"][0]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("pire_dbm");
    std::fs::write(dir.path().join("reseau.geojson"), broken.to_string()).unwrap();
    let err = run_file(&file, None).err().unwrap().to_string();
    assert!(
        err.contains("scenario `couverture`") && err.contains("antenna `ANT-1` has no EIRP"),
        "{err}"
    );
    std::fs::write(dir.path().join("reseau.geojson"), network.to_string()).unwrap();
    std::fs::write(&file, scenario.replace("652020.0", "660000.0")).unwrap();
    let err = run_file(&file, None).err().unwrap().to_string();
    assert!(
        err.contains("site `omni` at (660000.0, 6862180.0) lies outside the terrain"),
        "{err}"
    );
}

/// The analytic scene and a scenario file `name` of its terrain alone, in `dir`.
fn terrain_file(dir: &Path, name: &str) -> PathBuf {
    write_scene(&dir.join("scene.las"));
    let file = dir.join(name);
    std::fs::write(
        &file,
        "version = 1\nname = \"terrain\"\ndata = [\"scene.las\"]\ncrs = \"EPSG:2154\"\n[terrain]\nresolution_m = 0.5\n",
    )
    .unwrap();
    file
}

/// `jumeau COMMAND FILE ARGS…` with the cache in `dir`.
fn jumeau_on(dir: &Path, command: &[&str], file: &Path, args: &[String]) -> Value {
    let mut all: Vec<std::ffi::OsString> = command.iter().map(|c| (*c).into()).collect();
    all.push(file.as_os_str().to_owned());
    all.extend(args.iter().map(Into::into));
    common::jumeau_json(&all, Some(&dir.join("cache")))
}

#[test]
fn radio_link_breaks_the_loss_down_over_the_box() {
    let dir = tempfile::tempdir().unwrap();
    let file = terrain_file(dir.path(), "lien.toml");
    let link = |from: (f64, f64), extra: &[&str]| -> Value {
        let mut args = vec![
            format!("--from={},{},5", X0 + from.0, Y0 + from.1),
            format!(
                "--to={},{},1.5",
                X0 + BOX_CENTRE.0 + 30.0,
                Y0 + BOX_CENTRE.1
            ),
            "--json".into(),
            "--eirp-dbm=60".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        jumeau_on(dir.path(), &["radio", "link"], &file, &args)
    };
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k}: {v:#}"));
    // Across the box (15 m high; both ends low on the plateau's flat top): no line of sight, a deep
    // knife edge; the parts add up.
    let behind = link(
        (BOX_CENTRE.0 - 18.0, BOX_CENTRE.1),
        &["--azimuth-deg", "90", "--tilt-deg", "0"],
    );
    assert_eq!(behind["line_of_sight"], false, "{behind:#}");
    assert!(f(&behind, "diffraction_db") > 15.0, "{behind:#}");
    let total =
        f(&behind, "free_space_db") + f(&behind, "diffraction_db") + f(&behind, "pattern_db");
    assert!((f(&behind, "total_db") - total).abs() < 1e-9);
    assert!((f(&behind, "received_dbm") - (60.0 - total)).abs() < 1e-9);
    // Facing away from the receiver: the sector's back lobe, capped at 25 dB with the
    // vertical part.
    let away = link(
        (BOX_CENTRE.0 - 18.0, BOX_CENTRE.1),
        &["--azimuth-deg", "270", "--tilt-deg", "0"],
    );
    assert!(
        f(&away, "pattern_db") - f(&behind, "pattern_db") > 20.0,
        "{away:#} {behind:#}"
    );
    // Beside the box, in the open: line of sight, no diffraction.
    let open = link((BOX_CENTRE.0 - 18.0, BOX_CENTRE.1 + 40.0), &[]);
    assert_eq!(open["line_of_sight"], true, "{open:#}");
    assert!(f(&open, "diffraction_db") < 0.5, "{open:#}");
}

#[test]
fn measure_gives_the_analytic_scenes_heights_areas_and_volumes() {
    let dir = tempfile::tempdir().unwrap();
    let file = terrain_file(dir.path(), "mesure.toml");
    let xy = |x: f64, y: f64| format!("{},{}", X0 + x, Y0 + y);
    let ring = |points: &[(f64, f64)]| {
        points
            .iter()
            .map(|&(x, y)| xy(x, y))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let around_box = ring(&[(235.0, 85.0), (265.0, 85.0), (265.0, 115.0), (235.0, 115.0)]);
    // A polygon of 64 sides around bowl A, 40 m across.
    let around_bowl: Vec<(f64, f64)> = (0..64)
        .map(|k| {
            let a = k as f64 / 64.0 * std::f64::consts::TAU;
            (BOWL_A.0 + 40.0 * a.cos(), BOWL_A.1 + 40.0 * a.sin())
        })
        .collect();
    let run = |args: &[String]| jumeau_on(dir.path(), &["measure"], &file, args);
    let f = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    let on_box = run(&[
        format!("--point={}", xy(BOX_CENTRE.0, BOX_CENTRE.1)),
        format!("--polygon={around_box}"),
    ]);
    let p = &on_box["points"][0];
    // The ground under a building is filled in from around it (the bowl's slope starts 10 m
    // west of the box): within 0.15 m.
    assert!(
        (f(&p["height_above_ground_m"]) - BOX_HEIGHT).abs() < 0.15,
        "{p}"
    );
    assert!(
        (f(&p["surface_m"]) - 91.25 - BOX_HEIGHT).abs() < 0.01,
        "{p}"
    );
    // Near Paris, in Lambert-93; IGN69 altitudes lie about 44 m under the ellipsoid there.
    assert!(
        (f(&p["latitude_deg"]) - 48.8).abs() < 0.3 && (f(&p["longitude_deg"]) - 2.3).abs() < 0.5,
        "{p}"
    );
    let undulation = f(&p["ellipsoidal_height_m"]) - f(&p["surface_m"]);
    assert!((40.0..50.0).contains(&undulation), "{p}");
    // The box: 20 m × 20 m × 15 m stands on the ground; the square's area is exact.
    let poly = &on_box["polygon"];
    assert!((f(&poly["area_m2"]) - 900.0).abs() < 1e-6, "{poly}");
    assert!(
        (f(&poly["above_ground_m3"]) / 6000.0 - 1.0).abs() < 5e-3,
        "{poly}"
    );
    assert!(
        (f(&poly["draped_area_m2"]) - 900.0).abs() < 1.0,
        "flat plateau: {poly}"
    );
    // Filling bowl A (z = 30 + d²/80) to 40 m: 2π (10 R²/2 − R⁴/320) with R² = 800, 4000π m³.
    let bowl = run(&[
        format!("--polygon={}", ring(&around_bowl)),
        "--level=40".into(),
    ]);
    let poly = &bowl["polygon"];
    let fill = 4000.0 * std::f64::consts::PI;
    assert!(
        (f(&poly["fill_m3"]) / fill - 1.0).abs() < 5e-3,
        "{poly} vs {fill}"
    );
    assert!(
        f(&poly["cut_m3"]) > 0.0,
        "the rim above 40 m is cut: {poly}"
    );
    // A line down into the bowl and out.
    let line = run(&[format!(
        "--line={}",
        ring(&[(10.0, 100.0), (60.0, 100.0), (110.0, 100.0)])
    )]);
    let l = &line["line"];
    assert!((f(&l["horizontal_m"]) - 100.0).abs() < 1e-9, "{l}");
    // Its vertices stand on the surface: 61.25 m, 30 m at the bottom, 61.25 m (the ridge, a
    // crease the bilinear sampling rounds by a few decimetres).
    let expected = 2.0 * (50.0f64 * 50.0 + 31.25 * 31.25).sqrt();
    assert!(
        (f(&l["length_3d_m"]) - expected).abs() < 0.5,
        "{l} vs {expected}"
    );
    assert!(f(&l["vertical_m"]).abs() < 0.5, "{l}");
    // Bad input: a point off the terrain is named with the terrain's extent.
    let out = Command::new(env!("CARGO_BIN_EXE_jumeau"))
        .env("JUMEAU_CACHE_DIR", dir.path().join("cache"))
        .arg("measure")
        .arg(&file)
        .arg(format!("--point={}", xy(5000.0, 0.0)))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lies outside the terrain"), "{err}");
}

#[test]
fn rollout_counts_buildings_served_by_quarter_and_moves_a_phase() {
    let dir = tempfile::tempdir().unwrap();
    write_scene(&dir.path().join("scene.las"));
    let building = |id: &str, at: (f64, f64), properties: Value| {
        let mut p = properties;
        p["id"] = id.into();
        p["kind"] = "immeuble".into();
        serde_json::json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [X0 + at.0, Y0 + at.1]},
            "properties": p,
        })
    };
    use serde_json::json;
    let network = json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
        "features": [
            // On the box's roof: the terrain's one building.
            building("B-1", BOX_CENTRE, json!({"status": "lit", "in_service": "2024-02-10"})),
            building("B-2", (50.0, 50.0), json!({"status": "planned", "in_service": "2025-12-01"})),
            building("B-3", (100.0, 150.0), json!({"status": "built", "in_service": "15/01/2025"})),
            building("B-4", (150.0, 50.0), json!({"status": "en service"})),
            building("B-5", (200.0, 180.0), json!({"status": "projet"})),
            building("B-6", (30.0, 180.0), json!({"status": "planned", "in_service": "2027-06-01", "tranche": "T3"})),
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [X0 + 10.0, Y0 + 10.0]},
             "properties": {"id": "PM-1", "kind": "pm", "status": "lit", "in_service": "2023-01-01"}},
        ]
    });
    std::fs::write(dir.path().join("reseau.geojson"), network.to_string()).unwrap();
    let scenario = r#"version = 1
name = "Fibre"
data = ["scene.las", "reseau.geojson"]
crs = "EPSG:2154"
[terrain]
resolution_m = 0.5

[[scenarios]]
id = "fibre2025"
kind = "rollout"
network = "reseau.geojson"
at = "2025-06-30"

[[scenarios]]
id = "fibre2026"
kind = "rollout"
network = "reseau.geojson"
at = "2026-06-30"
move_phase = { "T3" = "2026-03-01" }

[compare]
left = "fibre2025"
right = "fibre2026"
"#;
    let file = dir.path().join("fibre.toml");
    std::fs::write(&file, scenario).unwrap();
    let run = run_file(&file, None).unwrap();
    let out = dir.path().join("out");
    let summary = write_outputs(&run, &out).unwrap();
    // Hand counts: on 2025-06-30 B-1, B-3 (dated) and B-4 (lit, no date) are served; on
    // 2026-06-30 B-2 too, and B-6 once its phase T3 moved from 2027 to 2026-03-01.
    let (a, b) = (
        &summary["scenarios"]["fibre2025"],
        &summary["scenarios"]["fibre2026"],
    );
    assert_eq!(
        (a["buildings"].as_u64(), a["served"].as_u64()),
        (Some(6), Some(3)),
        "{a:#}"
    );
    assert_eq!(
        (b["served"].as_u64(), b["moved_buildings"].as_u64()),
        (Some(5), Some(1)),
        "{b:#}"
    );
    assert_eq!(
        a["by_status"],
        json!({"built": 1, "lit": 2, "other": 0, "planned": 3})
    );
    assert_eq!(b["quarters"], json!(["2024-Q1", "2026-Q2"]));
    let timeline = std::fs::read_to_string(out.join("fibre2026.csv")).unwrap();
    let served: Vec<(String, u32)> = timeline
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[0].to_owned(), cells[2].parse().unwrap())
        })
        .collect();
    let expected = [
        ("2024-Q1", 2),
        ("2024-Q2", 2),
        ("2024-Q3", 2),
        ("2024-Q4", 2),
        ("2025-Q1", 3),
        ("2025-Q2", 3),
        ("2025-Q3", 3),
        ("2025-Q4", 4),
        ("2026-Q1", 5),
        ("2026-Q2", 5),
    ];
    assert_eq!(
        served,
        expected.map(|(q, n)| (q.to_owned(), n)).to_vec(),
        "{timeline}"
    );
    let listed = std::fs::read_to_string(out.join("fibre2026-buildings.csv")).unwrap();
    let b6 = format!(
        "\nB-6,{:.2},{:.2},planned,T3,2026-03-01,1\n",
        X0 + 30.0,
        Y0 + 180.0
    );
    assert!(listed.contains(&b6), "{listed}");
    // The box's building is served on both days; its roof cells say so.
    let (served_2025, _) = geotiff::read_file(&out.join("fibre2025.tif")).unwrap();
    let at = |r: &jumeau::terrain::Raster, x: f64, y: f64| {
        let (c, row) = r
            .grid
            .cell_of(bevy::math::DVec2::new(X0 + x, Y0 + y))
            .unwrap();
        r.at(c, row)
    };
    assert_eq!(
        at(&served_2025, BOX_CENTRE.0 + 8.0, BOX_CENTRE.1 - 8.0),
        1.0
    );
    assert_eq!(at(&served_2025, 50.0, 50.0), 0.0);
    assert!(at(&served_2025, 50.0, 60.0).is_nan());
    let csv = std::fs::read_to_string(out.join("buildings.csv")).unwrap();
    assert!(
        csv.lines().next().unwrap().contains("fibre2025_served"),
        "{csv}"
    );
    // The comparison: B-2 and B-6 newly served, two discs of 3 m.
    let changed = summary["compare"]["changed_area_m2"].as_f64().unwrap();
    let disc = std::f64::consts::PI * 9.0;
    assert!((changed - 2.0 * disc).abs() < 0.25 * disc, "{changed}");

    // Bad input: a phase no building has, a network without buildings, a day that is not one.
    std::fs::write(&file, scenario.replace("\"T3\"", "\"T9\"")).unwrap();
    let err = run_file(&file, None).err().unwrap().to_string();
    assert!(
        err.contains("scenario `fibre2026`") && err.contains("no building is in phase `T9`"),
        "{err}"
    );
    std::fs::write(&file, scenario.replace("2025-06-30", "June 2025")).unwrap();
    let err = run_file(&file, None).err().unwrap().to_string();
    assert!(
        err.contains("fibre.toml:") && err.contains("`June 2025` is not a date"),
        "{err}"
    );
    let mut cabinets = network.clone();
    cabinets["features"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["properties"]["kind"] == "pm");
    std::fs::write(dir.path().join("reseau.geojson"), cabinets.to_string()).unwrap();
    std::fs::write(&file, scenario).unwrap();
    let err = run_file(&file, None).err().unwrap().to_string();
    assert!(err.contains("`reseau.geojson` lists no building"), "{err}");
}

/// Renders the analytic scene seen from above with the scenarios of `scenario` (lavapipe).
fn render_scene(scenario: &str) -> image::RgbaImage {
    render_scene_from(scenario, bevy::math::DVec3::new(0.0, -1.0, 330.0))
}

/// [`render_scene`] with the eye at `eye` from the scene's centre.
fn render_scene_from(scenario: &str, eye: bevy::math::DVec3) -> image::RgbaImage {
    use jumeau::front::headless::{RenderOptions, render_with};
    use jumeau::front::twin::ViewerSetup;
    use jumeau::pointcloud::PointCloudSettings;
    use jumeau::pointcloud::style::ColorMode;
    let dir = tempfile::tempdir().unwrap();
    write_scene(&dir.path().join("scene.las"));
    let file = jumeau::scenario::ScenarioFile::parse("s.toml", scenario).unwrap();
    let cache = dir.path().join("cache");
    let inputs = vec![dir.path().join("scene.las").display().to_string()];
    let layer = jumeau::pointcloud::open::open_layer(
        "scene",
        &inputs,
        &cache,
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    let centre = bevy::math::DVec3::new(X0 + 150.0, Y0 + 100.0, 60.0);
    let setup = ViewerSetup {
        layers: vec![layer],
        settings: PointCloudSettings {
            color_mode: ColorMode::Classification,
            point_budget: 1_000_000,
            budget_set_by_user: true,
            point_size_px: 2.0,
            ..PointCloudSettings::default()
        },
        camera: Some((centre + eye, centre)),
        ..ViewerSetup::with_clouds(vec![], PointCloudSettings::default())
    };
    let options = RenderOptions {
        width: 320,
        height: 240,
        timeout: std::time::Duration::from_secs(120),
        timed_frames: 0,
        decorate: false,
    };
    let report = render_with(setup, options, |app| {
        let view = jumeau::scenario::view::ScenarioView::with_file(file, dir.path().to_path_buf());
        app.insert_resource(view);
    })
    .unwrap();
    assert!(report.settled);
    report.image
}

/// Water-blue pixels of `image` in columns `x0..x1`.
fn water_pixels(image: &image::RgbaImage, x0: u32, x1: u32) -> usize {
    (x0..x1)
        .flat_map(|x| (0..image.height()).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let [r, g, b, _] = image.get_pixel(x, y).0;
            u16::from(b) > u16::from(r) + 60 && b > g
        })
        .count()
}

/// The flood in the 3D view: water over bowl A (west of the centre), none over bowl B and
/// the plateau (east), seen from above; the golden image is the view with its overlay.
#[test]
fn the_flood_shows_in_the_3d_view() {
    let without_compare = &SCENARIO[..SCENARIO.find("[compare]").unwrap()];
    let image = render_scene(without_compare);
    let (west, east) = (water_pixels(&image, 0, 160), water_pixels(&image, 160, 320));
    // Bowl A's flooded disc (2 513 m², 28 m across) covers about 1 400 pixels at this scale.
    assert!(west > 600, "water west of the centre: {west} px");
    assert!(east < west / 20, "water east of the centre: {east} px");
    assert_matches_snapshot("scenario_flood_3d", &image);
}

/// A draped result (the shadow) shows over the dense points seen at a slant, where splats
/// carry their centre's depth over metres of ground: the overlay is drawn nearer the eye.
#[test]
fn a_draped_shadow_shows_over_the_points_at_a_slant() {
    let start = SCENARIO.find("[[scenarios]]\nid = \"ombre\"").unwrap();
    let end = SCENARIO
        .find("[[scenarios]]\nid = \"ensoleillement\"")
        .unwrap();
    let head = &SCENARIO[..SCENARIO.find("[[scenarios]]").unwrap()];
    let scenario = format!("{head}{}", &SCENARIO[start..end]);
    // From the north, facing the box's shadow.
    let image = render_scene_from(&scenario, bevy::math::DVec3::new(0.0, 260.0, 160.0));
    // The shadow legend over the ground: a dark blue-violet in shadow (the bowls' south
    // walls, steeper than the sun, and the box's shadow), a yellow tint in the sun.
    let (mut shade, mut sun) = (0, 0);
    for p in image.pixels() {
        let [r, g, b, _] = p.0;
        if r < 110 && g < 90 && (60..110).contains(&b) && b >= g {
            shade += 1;
        } else if r > 150 && g > 130 && b < 120 {
            sun += 1;
        }
    }
    assert!(shade > 2_000, "shadow pixels: {shade}");
    assert!(sun > 5_000, "sunlit overlay pixels: {sun}");
}

/// The file's comparison opens as a split view under one camera: the connected flood left
/// of the divider (bowl A), the plane's right of it (bowl B, which the connected flood leaves
/// dry).
#[test]
fn the_comparison_splits_the_3d_view() {
    let image = render_scene(SCENARIO);
    let (west, east) = (water_pixels(&image, 0, 160), water_pixels(&image, 160, 320));
    assert!(west > 600, "connected flood on the left: {west} px");
    assert!(east > 600, "the plane's water on the right: {east} px");
    assert_matches_snapshot("scenario_split_3d", &image);
}

/// At the size users bring, 1 km² at 0.5 m (4 × 10⁶ cells): the connection levels agree with
/// a breadth-first fill at several levels, cell for cell, and GDAL finds our values where the
/// georeference says, at the corners and inside.
#[test]
fn a_square_kilometre_at_half_a_metre_keeps_its_invariants() {
    use bevy::math::DVec2;
    use jumeau::scenario::flood;
    use jumeau::terrain::{Grid, Raster};
    let grid = Grid {
        min_xy: DVec2::new(X0, Y0),
        cell_m: 0.5,
        cols: 2000,
        rows: 2000,
    };
    let mut dtm = Raster::filled(grid, 0.0);
    for (i, v) in dtm.values.iter_mut().enumerate() {
        let (c, r) = grid.col_row(i);
        let (x, y) = (c as f64 * 0.5, r as f64 * 0.5);
        *v = (40.0
            + 8.0 * (x / 140.0).sin() * (y / 170.0).cos()
            + 3.0 * (x / 37.0 + y / 53.0).sin()) as f32;
    }
    let seed = grid.index(1000, 1000);
    let levels = flood::connection_levels(&dtm, &[seed]);
    for level in [38.0f32, 41.0, 44.0, 47.0] {
        let wet = flood::fill_at_level(&dtm, &[seed], level);
        let differ = wet
            .iter()
            .zip(&levels.values)
            .filter(|(w, j)| **w != (**j <= level))
            .count();
        assert_eq!(differ, 0, "level {level}: {differ} cells differ");
    }
    let Ok(_) = Command::new("gdallocationinfo").arg("--version").output() else {
        assert!(
            !common::data_required(),
            "gdallocationinfo (gdal-bin) is missing and JUMEAU_REQUIRE_DATA=1 forbids skipping"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("levels.tif");
    geotiff::write_file(&tif, &levels, geotiff::RasterCrs::projected(2154)).unwrap();
    for (c, r) in [
        (0, 0),
        (1999, 0),
        (0, 1999),
        (1999, 1999),
        (1234, 567),
        (17, 1888),
    ] {
        let p = grid.center(c, r);
        let out = Command::new("gdallocationinfo")
            .args(["-valonly", "-geoloc"])
            .arg(&tif)
            .arg(format!("{:.3}", p.x))
            .arg(format!("{:.3}", p.y))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let v: f32 = text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("gdallocationinfo said {text:?}"));
        assert_eq!(
            v,
            levels.at(c, r),
            "cell ({c}, {r}) at ({:.2}, {:.2})",
            p.x,
            p.y
        );
    }
}
