//! The GLB writer against the reader and the `gltf` crate: geometry, feature IDs, every
//! property type, nulls and what cannot be written.

use bevy::math::DVec3;

use super::*;
use crate::buildings::model::{Material, Primitive, PropertyColumn, Texture};

/// A unit box as 24 vertices (4 per face, so normals and UVs are per face).
fn box_primitive(size: [f32; 3], feature: u32) -> Primitive {
    let faces: [([f32; 3], [f32; 3], [f32; 3]); 6] = [
        ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]),
        ([-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]),
        ([0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]),
        ([0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]),
        ([0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),
        ([0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]),
    ];
    let mut p = Primitive::default();
    let (mut normals, mut uvs, mut colors) = (Vec::new(), Vec::new(), Vec::new());
    for (n, u, v) in faces {
        let base = p.positions.len() as u32;
        for (a, b) in [(-1.0f32, -1.0f32), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)] {
            let pos: [f32; 3] =
                std::array::from_fn(|k| (n[k] + a * u[k] + b * v[k]) * 0.5 * size[k]);
            p.positions.push(pos);
            normals.push(n);
            uvs.push([(a + 1.0) / 2.0, (b + 1.0) / 2.0]);
            colors.push([0.5, 0.25, 1.0, 1.0]);
        }
        p.indices
            .extend([base, base + 1, base + 2, base, base + 2, base + 3]);
    }
    p.normals = Some(normals);
    p.uvs = Some(uvs);
    p.colors = Some(colors);
    p.feature_ids = Some(vec![feature; 24]);
    p
}

fn three_buildings() -> Model {
    let mut a = box_primitive([10.0, 12.0, 8.0], 0);
    a.material = Some(0);
    let mut b = box_primitive([6.0, 30.0, 6.0], 1);
    b.model_from_mesh = DMat4::from_translation(DVec3::new(4_201_234.125, 170_000.5, 4_780_000.25));
    b.material = Some(1);
    let mut c = box_primitive([20.0, 4.0, 15.0], 2);
    c.model_from_mesh = DMat4::from_scale_rotation_translation(
        DVec3::splat(2.0),
        bevy::math::DQuat::from_rotation_y(0.5),
        DVec3::new(-30.0, 0.0, 12.0),
    );
    c.feature_ids = Some((0..24).map(|i| if i < 4 { u32::MAX } else { 2 }).collect());
    c.material = Some(2);
    let column = |name: &str, values: Vec<PropertyValue>| PropertyColumn {
        name: name.into(),
        values,
    };
    Model {
        primitives: vec![a, b, c],
        materials: vec![
            Material {
                base_color: [0.8, 0.7, 0.6, 1.0],
                base_color_texture: Some(0),
                metallic: 0.0,
                roughness: 0.9,
                ..Material::default()
            },
            Material {
                unlit: true,
                double_sided: true,
                alpha_mode: AlphaMode::Mask(0.4),
                ..Material::default()
            },
            Material {
                alpha_mode: AlphaMode::Blend,
                base_color: [0.2, 0.3, 0.9, 0.5],
                ..Material::default()
            },
        ],
        textures: vec![Texture {
            width: 2,
            height: 2,
            rgba8: vec![
                255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 128,
            ],
        }],
        properties: Some(PropertyTable {
            class: "building".into(),
            count: 3,
            columns: vec![
                column(
                    "id",
                    vec![
                        PropertyValue::Text("BAT-001".into()),
                        PropertyValue::Text("BAT-002".into()),
                        PropertyValue::Text("BÂT-003 ✓".into()),
                    ],
                ),
                column(
                    "height",
                    vec![
                        PropertyValue::Float(12.0),
                        PropertyValue::Float(30.5),
                        PropertyValue::Int(4),
                    ],
                ),
                column(
                    "use",
                    vec![
                        PropertyValue::Text("housing".into()),
                        PropertyValue::Null,
                        PropertyValue::Text("school".into()),
                    ],
                ),
                column(
                    "year",
                    vec![
                        PropertyValue::Int(1975),
                        PropertyValue::Null,
                        PropertyValue::Int(2021),
                    ],
                ),
                column(
                    "listed",
                    vec![
                        PropertyValue::Bool(true),
                        PropertyValue::Bool(false),
                        PropertyValue::Bool(true),
                    ],
                ),
                column(
                    "floor heights-m",
                    vec![
                        PropertyValue::Array(vec![
                            PropertyValue::Float(3.0),
                            PropertyValue::Float(2.5),
                        ]),
                        PropertyValue::Null,
                        PropertyValue::Array(vec![PropertyValue::Int(4)]),
                    ],
                ),
            ],
        }),
        rtc_center: Some([4_201_000.0, 170_000.0, 4_780_000.0]),
    }
}

/// Splits a GLB into its JSON and BIN chunks, checking the container on the way.
fn chunks(glb: &[u8]) -> (Value, Vec<u8>) {
    let u32_at = |at: usize| u32::from_le_bytes(glb[at..at + 4].try_into().expect("4 bytes"));
    assert_eq!(&glb[..4], b"glTF");
    assert_eq!(u32_at(4), 2, "version");
    assert_eq!(u32_at(8) as usize, glb.len(), "declared length");
    let json_len = u32_at(12) as usize;
    assert_eq!(&glb[16..20], b"JSON");
    assert_eq!(json_len % 4, 0, "JSON chunk padded to 4 bytes");
    let json_bytes = &glb[20..20 + json_len];
    let json: Value = serde_json::from_slice(json_bytes).expect("JSON chunk parses");
    let bin_start = 20 + json_len;
    if bin_start == glb.len() {
        return (json, Vec::new());
    }
    let bin_len = u32_at(bin_start) as usize;
    assert_eq!(&glb[bin_start + 4..bin_start + 8], b"BIN\0");
    assert_eq!(bin_len % 4, 0, "BIN chunk padded to 4 bytes");
    assert_eq!(bin_start + 8 + bin_len, glb.len());
    (json, glb[bin_start + 8..].to_vec())
}

fn view_bytes<'a>(json: &Value, bin: &'a [u8], view: u64) -> &'a [u8] {
    let v = &json["bufferViews"][view as usize];
    let offset = v["byteOffset"].as_u64().unwrap_or(0) as usize;
    let len = v["byteLength"].as_u64().expect("byteLength") as usize;
    &bin[offset..offset + len]
}

#[test]
fn written_glb_passes_structural_checks() {
    let model = three_buildings();
    let glb = write_glb(&model).expect("write");
    let (json, bin) = chunks(&glb);

    assert_eq!(json["asset"]["version"], "2.0");
    let used: Vec<&str> = json["extensionsUsed"]
        .as_array()
        .expect("extensionsUsed")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        used,
        [
            "CESIUM_RTC",
            "EXT_mesh_features",
            "EXT_structural_metadata",
            "KHR_materials_unlit"
        ]
    );
    assert!(json.get("extensionsRequired").is_none());
    assert_eq!(
        json["buffers"][0]["byteLength"].as_u64(),
        Some(bin.len() as u64)
    );

    // Every buffer view inside the buffer, 4-byte aligned; every accessor inside its view.
    let views = json["bufferViews"].as_array().expect("views");
    for v in views {
        let offset = v["byteOffset"].as_u64().expect("offset");
        let len = v["byteLength"].as_u64().expect("length");
        assert_eq!(offset % 4, 0);
        assert!(offset + len <= bin.len() as u64);
    }
    for a in json["accessors"].as_array().expect("accessors") {
        let v = &views[a["bufferView"].as_u64().expect("view") as usize];
        let size = match a["componentType"].as_u64() {
            Some(5123) => 2,
            _ => 4,
        } * match a["type"].as_str() {
            Some("VEC2") => 2,
            Some("VEC3") => 3,
            Some("VEC4") => 4,
            _ => 1,
        };
        let stride = v["byteStride"].as_u64().unwrap_or(size);
        let count = a["count"].as_u64().expect("count");
        assert!(stride * (count - 1) + size <= v["byteLength"].as_u64().expect("len"));
    }

    // One node per primitive; identity matrices omitted, translations kept in f64.
    let nodes = json["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 3);
    assert!(nodes[0].get("matrix").is_none());
    assert_eq!(nodes[1]["matrix"][12].as_f64(), Some(4_201_234.125));
    assert_eq!(nodes[1]["matrix"][13].as_f64(), Some(170_000.5));
    let m: Vec<f64> = nodes[2]["matrix"]
        .as_array()
        .expect("matrix")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    assert_eq!(m, model.primitives[2].model_from_mesh.to_cols_array());

    // POSITION min/max is the box extent.
    for (i, mesh) in json["meshes"]
        .as_array()
        .expect("meshes")
        .iter()
        .enumerate()
    {
        let prim = &mesh["primitives"][0];
        let pos =
            &json["accessors"][prim["attributes"]["POSITION"].as_u64().expect("pos") as usize];
        let half: Vec<f64> = (0..3)
            .map(|k| {
                f64::from(
                    model.primitives[i]
                        .positions
                        .iter()
                        .map(|p| p[k])
                        .fold(f32::MIN, f32::max),
                )
            })
            .collect();
        let max: Vec<f64> = pos["max"]
            .as_array()
            .expect("max")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        let min: Vec<f64> = pos["min"]
            .as_array()
            .expect("min")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        assert_eq!(max, half);
        assert_eq!(min, half.iter().map(|h| -h).collect::<Vec<_>>());
        assert_eq!(pos["count"], 24);
        // 36 indices, all < 65536: u16.
        let indices = &json["accessors"][prim["indices"].as_u64().expect("indices") as usize];
        assert_eq!(indices["componentType"], 5123);
        assert_eq!(indices["count"], 36);
    }

    // Materials.
    let mats = &json["materials"];
    assert_eq!(
        mats[0]["pbrMetallicRoughness"]["baseColorTexture"]["index"],
        0
    );
    assert_eq!(mats[0]["pbrMetallicRoughness"]["metallicFactor"], 0.0);
    assert_eq!(mats[1]["alphaMode"], "MASK");
    assert!((mats[1]["alphaCutoff"].as_f64().expect("cutoff") - 0.4).abs() < 1e-6);
    assert_eq!(mats[1]["doubleSided"], true);
    assert!(mats[1]["extensions"]["KHR_materials_unlit"].is_object());
    assert_eq!(mats[2]["alphaMode"], "BLEND");
    assert_eq!(json["images"][0]["mimeType"], "image/png");
    let png = view_bytes(
        &json,
        &bin,
        json["images"][0]["bufferView"].as_u64().expect("view"),
    );
    assert_eq!(&png[1..4], b"PNG");
    assert_eq!(json["extensions"]["CESIUM_RTC"]["center"][0], 4_201_000.0);
}

/// Reads property `name` of the property table back from the binary buffer.
fn read_property(json: &Value, bin: &[u8], name: &str) -> Vec<PropertyValue> {
    let meta = &json["extensions"]["EXT_structural_metadata"];
    let table = &meta["propertyTables"][0];
    let class = &meta["schema"]["classes"][table["class"].as_str().expect("class")];
    let def = &class["properties"][name];
    let prop = &table["properties"][name];
    let count = table["count"].as_u64().expect("count") as usize;
    let values = view_bytes(json, bin, prop["values"].as_u64().expect("values"));
    let u32s = |view: &Value| -> Vec<usize> {
        view_bytes(json, bin, view.as_u64().expect("view"))
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4")) as usize)
            .collect()
    };
    let scalar = |i: usize| -> PropertyValue {
        match def["componentType"].as_str() {
            Some("INT32") => PropertyValue::Int(i64::from(i32::from_le_bytes(
                values[i * 4..i * 4 + 4].try_into().expect("4"),
            ))),
            Some("INT64") => PropertyValue::Int(i64::from_le_bytes(
                values[i * 8..i * 8 + 8].try_into().expect("8"),
            )),
            _ => PropertyValue::Float(f64::from_le_bytes(
                values[i * 8..i * 8 + 8].try_into().expect("8"),
            )),
        }
    };
    let no_data = def.get("noData");
    let as_null = |v: PropertyValue| match (&v, no_data) {
        (PropertyValue::Int(i), Some(nd)) if nd.as_i64() == Some(*i) => PropertyValue::Null,
        (PropertyValue::Float(f), Some(nd)) if nd.as_f64() == Some(*f) => PropertyValue::Null,
        (PropertyValue::Text(s), Some(nd)) if nd.as_str() == Some(s) => PropertyValue::Null,
        _ => v,
    };
    let string = |offsets: &[usize], i: usize| {
        PropertyValue::Text(
            String::from_utf8(values[offsets[i]..offsets[i + 1]].to_vec()).expect("utf8"),
        )
    };
    if def["array"] == true {
        let arrays = u32s(&prop["arrayOffsets"]);
        let strings = prop.get("stringOffsets").map(u32s);
        return (0..count)
            .map(|row| {
                let items: Vec<_> = (arrays[row]..arrays[row + 1])
                    .map(|i| match &strings {
                        Some(offsets) => string(offsets, i),
                        None => scalar(i),
                    })
                    .collect();
                if items.is_empty() {
                    PropertyValue::Null
                } else {
                    PropertyValue::Array(items)
                }
            })
            .collect();
    }
    match def["type"].as_str() {
        Some("STRING") => {
            let offsets = u32s(&prop["stringOffsets"]);
            (0..count).map(|i| as_null(string(&offsets, i))).collect()
        }
        Some("BOOLEAN") => (0..count)
            .map(|i| PropertyValue::Bool(values[i / 8] >> (i % 8) & 1 == 1))
            .collect(),
        _ => (0..count).map(|i| as_null(scalar(i))).collect(),
    }
}

#[test]
fn feature_ids_and_property_table_read_back() {
    let model = three_buildings();
    let glb = write_glb(&model).expect("write");
    let (json, bin) = chunks(&glb);

    let meta = &json["extensions"]["EXT_structural_metadata"];
    assert_eq!(meta["propertyTables"][0]["class"], "building");
    assert_eq!(meta["propertyTables"][0]["count"], 3);
    let class = &meta["schema"]["classes"]["building"]["properties"];
    assert_eq!(class["year"]["componentType"], "INT32");
    assert_eq!(class["year"]["noData"], i32::MIN);
    assert_eq!(class["height"]["componentType"], "FLOAT64");
    assert_eq!(class["use"]["type"], "STRING");
    assert_eq!(class["use"]["noData"], "");
    assert_eq!(class["listed"]["type"], "BOOLEAN");
    // Names that are not identifiers get an identifier and keep their name.
    assert_eq!(class["floor_heights_m"]["name"], "floor heights-m");
    // Metadata buffer views are 8-byte aligned, as EXT_structural_metadata asks.
    let table_properties = meta["propertyTables"][0]["properties"]
        .as_object()
        .expect("props");
    for property in table_properties.values() {
        for key in ["values", "arrayOffsets", "stringOffsets"] {
            if let Some(view) = property.get(key).and_then(Value::as_u64) {
                let offset = json["bufferViews"][view as usize]["byteOffset"].as_u64();
                assert_eq!(offset.map(|o| o % 8), Some(0), "{key} of {property}");
            }
        }
    }

    let table = model.properties.as_ref().expect("properties");
    for column in &table.columns {
        let id = identifier(&column.name);
        let mut expected = column.values.clone();
        if column.name == "height" {
            expected[2] = PropertyValue::Float(4.0);
        }
        if column.name == "floor heights-m" {
            expected[2] = PropertyValue::Array(vec![PropertyValue::Float(4.0)]);
        }
        assert_eq!(
            read_property(&json, &bin, &id),
            expected,
            "column {}",
            column.name
        );
    }

    // Feature IDs: u16 with a 4-byte stride, the null ID past the table.
    for (i, mesh) in json["meshes"]
        .as_array()
        .expect("meshes")
        .iter()
        .enumerate()
    {
        let prim = &mesh["primitives"][0];
        let set = &prim["extensions"]["EXT_mesh_features"]["featureIds"][0];
        assert_eq!(set["featureCount"], 1);
        assert_eq!(set["propertyTable"], 0);
        assert_eq!(set["attribute"], 0);
        let acc =
            &json["accessors"][prim["attributes"]["_FEATURE_ID_0"].as_u64().expect("fid") as usize];
        assert_eq!(acc["componentType"], 5123);
        assert_eq!(acc["type"], "SCALAR");
        let view = &json["bufferViews"][acc["bufferView"].as_u64().expect("view") as usize];
        assert_eq!(view["byteStride"], 4);
        let bytes = view_bytes(&json, &bin, acc["bufferView"].as_u64().expect("view"));
        let ids: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])))
            .collect();
        let null = set["nullFeatureId"].as_u64().map(|n| n as u32);
        let decoded: Vec<u32> = ids
            .iter()
            .map(|id| if Some(*id) == null { u32::MAX } else { *id })
            .collect();
        assert_eq!(Some(&decoded), model.primitives[i].feature_ids.as_ref());
        assert_eq!(null, (i == 2).then_some(3));
    }
}

#[test]
fn gltf_crate_accepts_and_reads_the_output() {
    let model = three_buildings();
    let glb = write_glb(&model).expect("write");
    let gltf = ::gltf::Gltf::from_slice(&glb).expect("gltf crate validates the GLB");
    let blob = gltf.blob.as_deref().expect("BIN chunk");
    assert_eq!(gltf.meshes().count(), 3);
    for (node, expected) in gltf.nodes().zip(&model.primitives) {
        let mesh = node.mesh().expect("mesh");
        let prim = mesh.primitives().next().expect("primitive");
        let reader = prim.reader(|_| Some(blob));
        let positions: Vec<[f32; 3]> = reader.read_positions().expect("positions").collect();
        assert_eq!(positions, expected.positions);
        let normals: Vec<[f32; 3]> = reader.read_normals().expect("normals").collect();
        assert_eq!(Some(&normals), expected.normals.as_ref());
        let uvs: Vec<[f32; 2]> = reader.read_tex_coords(0).expect("uvs").into_f32().collect();
        assert_eq!(Some(&uvs), expected.uvs.as_ref());
        let colors: Vec<[f32; 4]> = reader
            .read_colors(0)
            .expect("colors")
            .into_rgba_f32()
            .collect();
        assert_eq!(Some(&colors), expected.colors.as_ref());
        let indices: Vec<u32> = reader.read_indices().expect("indices").into_u32().collect();
        assert_eq!(indices, expected.indices);
        let matrix = node.transform().matrix();
        let expected_matrix = expected.model_from_mesh.as_mat4().to_cols_array_2d();
        assert_eq!(matrix, expected_matrix);
        assert_eq!(prim.material().index(), expected.material);
    }
    let unlit = gltf.materials().nth(1).expect("material 1");
    assert!(unlit.unlit());
    assert_eq!(unlit.alpha_mode(), ::gltf::material::AlphaMode::Mask);
    assert!(unlit.double_sided());
}

#[test]
fn large_meshes_use_u32_indices_and_float_feature_ids() {
    let n = 70_000u32;
    let mut p = Primitive {
        positions: (0..n).map(|i| [i as f32, 0.0, (i % 7) as f32]).collect(),
        indices: (0..n - 2).flat_map(|i| [i, i + 1, i + 2]).collect(),
        feature_ids: Some((0..n).collect()),
        ..Primitive::default()
    };
    p.feature_ids.as_mut().expect("ids")[5] = u32::MAX;
    let model = Model {
        primitives: vec![p],
        ..Model::default()
    };
    let glb = write_glb(&model).expect("write");
    let (json, _) = chunks(&glb);
    let prim = &json["meshes"][0]["primitives"][0];
    assert_eq!(
        json["accessors"][prim["indices"].as_u64().expect("i") as usize]["componentType"],
        5125
    );
    let fid = &json["accessors"][prim["attributes"]["_FEATURE_ID_0"].as_u64().expect("f") as usize];
    assert_eq!(fid["componentType"], 5126);
    let set = &prim["extensions"]["EXT_mesh_features"]["featureIds"][0];
    assert_eq!(set["featureCount"], n - 1);
    assert_eq!(set["nullFeatureId"], n);
    assert!(set.get("propertyTable").is_none());
    assert!(
        json["extensionsUsed"]
            .as_array()
            .expect("used")
            .iter()
            .all(|e| e != "EXT_structural_metadata")
    );
    ::gltf::Gltf::from_slice(&glb).expect("valid");
}

#[test]
fn empty_model_is_a_valid_glb_without_buffers() {
    let glb = write_glb(&Model::default()).expect("write");
    let (json, bin) = chunks(&glb);
    assert!(bin.is_empty());
    assert!(json.get("buffers").is_none());
    ::gltf::Gltf::from_slice(&glb).expect("valid");
}

#[test]
fn bad_models_are_errors_naming_what_is_wrong() {
    let expect_err = |model: Model, needle: &str| {
        let text = write_glb(&model).expect_err("should fail").to_string();
        assert!(text.contains(needle), "expected {needle:?} in {text:?}");
    };
    let mut m = three_buildings();
    m.primitives[1].normals.as_mut().expect("normals").pop();
    expect_err(m, "primitive 1: NORMAL has 23 values but POSITION has 24");

    let mut m = three_buildings();
    m.primitives[0].indices[7] = 24;
    expect_err(m, "index 24 (at 7) is past its 24 vertices");

    let mut m = three_buildings();
    m.primitives[2].indices.pop();
    expect_err(m, "35 indices");

    let mut m = three_buildings();
    m.primitives[0].feature_ids.as_mut().expect("ids")[3] = 3;
    expect_err(m, "feature ID 3 at vertex 3 is past the 3 rows");

    let mut m = three_buildings();
    m.primitives[0].positions[2][1] = f32::NAN;
    expect_err(m, "POSITION value 2 is not finite");

    let mut m = three_buildings();
    m.primitives[0].material = Some(9);
    expect_err(m, "material 9 does not exist");

    let mut m = three_buildings();
    m.materials[0].base_color_texture = Some(4);
    expect_err(m, "base colour texture 4 does not exist");

    let mut m = three_buildings();
    m.textures[0].rgba8.pop();
    expect_err(m, "15 bytes of RGBA8 for 2x2 (expected 16)");

    fn props(m: &mut Model) -> &mut PropertyTable {
        m.properties.as_mut().expect("props")
    }
    let mut m = three_buildings();
    props(&mut m).columns[0].values[1] = PropertyValue::Int(3);
    expect_err(m, "column id mixes text and integer values");

    let mut m = three_buildings();
    props(&mut m).columns[4].values[1] = PropertyValue::Null;
    expect_err(m, "column listed, row 1: null in a boolean column");

    let mut m = three_buildings();
    props(&mut m).columns[2].values[0] = PropertyValue::Text(String::new());
    expect_err(m, "column use holds \"\"");

    let mut m = three_buildings();
    props(&mut m).columns[3].values.pop();
    expect_err(m, "column year has 2 values but the table has 3 rows");
}

#[test]
fn b3dm_wrapping_keeps_the_written_glb() {
    let glb = write_glb(&three_buildings()).expect("write");
    let table = three_buildings().properties;
    let tile = write_b3dm(&glb, table.as_ref(), Some([1.0, 2.0, 3.0]));
    match crate::buildings::tiles3d::content::parse_content(&tile) {
        Ok(crate::buildings::tiles3d::content::TileContent::Model {
            glb: parsed,
            batch_length,
            ..
        }) => {
            assert_eq!(parsed, glb);
            assert_eq!(batch_length, 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn decode_glb_reads_back_what_was_written() {
    let model = three_buildings();
    let glb = write_glb(&model).expect("write");
    let decoded = crate::buildings::gltf::decode_glb(&glb).expect("decode");
    assert_eq!(decoded.primitives.len(), 3);
    for (got, want) in decoded.primitives.iter().zip(&model.primitives) {
        assert_eq!(got.positions, want.positions);
        assert_eq!(got.indices, want.indices);
        assert_eq!(got.normals, want.normals);
        assert_eq!(got.uvs, want.uvs);
        assert_eq!(got.colors, want.colors);
        assert_eq!(got.feature_ids, want.feature_ids);
        assert_eq!(got.material, want.material);
        assert!(
            got.model_from_mesh.abs_diff_eq(want.model_from_mesh, 1e-9),
            "{} vs {}",
            got.model_from_mesh,
            want.model_from_mesh
        );
    }
    assert_eq!(decoded.materials, model.materials);
    assert_eq!(decoded.textures.len(), 1);
    assert_eq!(decoded.textures[0].rgba8, model.textures[0].rgba8);
    assert_eq!(decoded.rtc_center, model.rtc_center);

    let mut want = model.properties.clone().expect("properties");
    // Integers written into a float column come back as floats; a name that is not an
    // identifier comes back as its identifier; a null array is written as the empty array
    // (the implicit noData of variable-length arrays) and read back as one.
    want.columns[1].values[2] = PropertyValue::Float(4.0);
    want.columns[5].name = "floor_heights_m".into();
    want.columns[5].values[1] = PropertyValue::Array(Vec::new());
    want.columns[5].values[2] = PropertyValue::Array(vec![PropertyValue::Float(4.0)]);
    let got = decoded.properties.expect("decoded properties");
    assert_eq!(got.class, want.class);
    assert_eq!(got.count, want.count);
    for (g, w) in got.columns.iter().zip(&want.columns) {
        assert_eq!(g, w);
    }
    assert_eq!(got.columns.len(), want.columns.len());
}
