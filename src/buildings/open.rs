//! Opening building inputs (`tileset.json` paths or URLs, `.glb` / `.gltf` models) and deciding
//! where they sit in the twin: Earth-centred tilesets through the twin's [`GeoFrame`], local
//! models and tilesets where `--place` says.

use super::bake::{ModelPose, Placement, z_up_from_y_up};
use super::layer::BuildingLayer;
use super::tiles3d::tileset::{TileUri, Tileset};
use crate::georef::{GeoFrame, ecef_from_geodetic, enu_from_ecef_rotation, geodetic_from_ecef};
use bevy::math::{DMat4, DVec3};

/// Whether an input is a building model or tileset (by its name).
pub fn is_building_input(input: &str) -> bool {
    let path = input
        .split(['?', '#'])
        .next()
        .unwrap_or(input)
        .to_ascii_lowercase();
    [".glb", ".gltf", ".json", ".b3dm"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

/// Where a model without georeferencing goes: `--place X,Y,Z[,EPSG]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub point: DVec3,
    /// The CRS of `point`; `None` = the twin's own coordinates. EPSG:4326 is lon, lat, height.
    pub epsg: Option<u32>,
}

impl std::str::FromStr for Place {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let numbers = |items: &[&str]| -> Result<Vec<f64>, String> {
            items
                .iter()
                .map(|p| p.parse::<f64>().ok().filter(|v| v.is_finite()))
                .collect::<Option<Vec<f64>>>()
                .ok_or_else(|| {
                    format!("`{text}`: expected X,Y,Z[,EPSG] (e.g. 292500,6832500,50,EPSG:2154)")
                })
        };
        let (coords, epsg) = match parts.as_slice() {
            [x, y, z] => (numbers(&[x, y, z])?, None),
            [x, y, z, code] => {
                let code = code.trim_start_matches("EPSG:").trim_start_matches("epsg:");
                let epsg = code
                    .parse::<u32>()
                    .map_err(|_| format!("`{text}`: `{code}` is not an EPSG code"))?;
                (numbers(&[x, y, z])?, Some(epsg))
            }
            _ => return Err(format!("`{text}`: expected X,Y,Z[,EPSG]")),
        };
        Ok(Place {
            point: DVec3::new(coords[0], coords[1], coords[2]),
            epsg,
        })
    }
}

impl Place {
    /// The ECEF position of the place, when it names its CRS.
    fn ecef(&self) -> Result<Option<DVec3>, String> {
        match self.epsg {
            None => Ok(None),
            Some(4326) => Ok(Some(ecef_from_geodetic(
                self.point.x.to_radians(),
                self.point.y.to_radians(),
                self.point.z,
            ))),
            Some(code) => Ok(Some(GeoFrame::projected(code)?.ecef_from_crs(self.point)?)),
        }
    }
}

/// Earth-centred frames have their origin at the Earth's centre: their content sits ~6 400 km
/// from it. Anything within 1 000 km of the origin is a local frame.
fn is_earth_centred(point: DVec3) -> bool {
    point.length() > 5.0e6 && point.length() < 7.5e6
}

/// The twin's frame given its projected point clouds (`cloud_epsg`), the building inputs' root
/// centres (tileset frame) and `--place`.
pub fn choose_frame(
    cloud_epsg: Option<u32>,
    place: Option<&Place>,
    tileset_centres: &[DVec3],
) -> Result<Option<GeoFrame>, String> {
    if let Some(code) = cloud_epsg {
        return Ok(Some(GeoFrame::projected(code)?));
    }
    if let Some(place) = place {
        match place.epsg {
            Some(4326) | None => {}
            Some(code) => return Ok(Some(GeoFrame::projected(code)?)),
        }
        if let Some(ecef) = place.ecef()? {
            return Ok(Some(GeoFrame::local_enu(ecef)));
        }
    }
    Ok(tileset_centres
        .iter()
        .find(|c| is_earth_centred(**c))
        .map(|c| GeoFrame::local_enu(*c)))
}

/// A tileset or a model opened and its root read.
pub struct OpenedBuildings {
    pub name: String,
    pub tileset: Tileset,
}

impl OpenedBuildings {
    /// The centre of the content, in the tileset's frame (see
    /// [`super::layer::content_tile`]): a local twin frame is anchored there.
    pub fn centre(&self) -> DVec3 {
        self.tileset
            .tile(super::layer::content_tile(&self.tileset))
            .map_or(DVec3::ZERO, |t| t.bounds.sphere.center)
    }

    /// Places it in the twin: Earth-centred tilesets through `frame`; local ones at `place`,
    /// else at `fallback` (the middle of the twin's other data) with a warning.
    pub fn into_layer(
        self,
        frame: Option<&GeoFrame>,
        place: Option<&Place>,
        fallback: Option<DVec3>,
    ) -> Result<(BuildingLayer, Option<String>), BuildingsError> {
        let centre = self.centre();
        let mut warning = None;
        let placement = match frame {
            Some(frame) if is_earth_centred(centre) => Placement::Earth(frame.clone()),
            _ if is_earth_centred(centre) => {
                return Err(BuildingsError::NeedsFrame { name: self.name });
            }
            _ => match (place, frame) {
                (Some(place), _) => match (place.ecef().map_err(BuildingsError::Placement)?, frame)
                {
                    (Some(ecef), Some(frame)) => {
                        let (lon, lat, _) = geodetic_from_ecef(ecef);
                        let ecef_from_enu = DMat4::from_translation(ecef)
                            * DMat4::from_mat3(enu_from_ecef_rotation(lon, lat).transpose());
                        Placement::Local(frame.crs_from_ecef_affine(ecef)? * ecef_from_enu)
                    }
                    _ => Placement::Local(DMat4::from_translation(place.point)),
                },
                (None, _) => {
                    let at = fallback.unwrap_or(DVec3::ZERO);
                    if fallback.is_some() {
                        warning = Some(format!(
                            "{}: no georeferencing and no --place: put at the middle of the other data ({:.1}, {:.1}, {:.1})",
                            self.name, at.x, at.y, at.z
                        ));
                    }
                    Placement::Local(DMat4::from_translation(at))
                }
            },
        };
        Ok((
            BuildingLayer::new(self.name, self.tileset, placement)
                .map_err(BuildingsError::Placement)?,
            warning,
        ))
    }
}

/// Why a building input could not be opened or placed. Its text names the input at fault.
#[derive(Debug, thiserror::Error)]
pub enum BuildingsError {
    #[error("{input}: cannot open: {source}")]
    CannotOpen {
        input: String,
        #[source]
        source: std::io::Error,
    },
    /// A URL that cannot be a tileset's root.
    #[error(transparent)]
    Location(super::tiles3d::tileset::TilesetError),
    #[error("{input}: {source}")]
    Tileset {
        input: String,
        #[source]
        source: super::tiles3d::tileset::TilesetError,
    },
    #[error("{input}: {source}")]
    Content {
        input: String,
        #[source]
        source: super::tiles3d::content::ContentError,
    },
    #[error("{input}: not a glTF model")]
    NotAModel { input: String },
    #[error("{input}: {source}")]
    Model {
        input: String,
        #[source]
        source: super::gltf::GltfError,
    },
    #[error("{input}: the model has no triangles")]
    NoTriangles { input: String },
    #[error("{name}: an Earth-centred tileset needs a frame for the twin")]
    NeedsFrame { name: String },
    #[error(transparent)]
    Georef(#[from] crate::georef::GeorefError),
    /// The tileset or model could not be read (file or HTTP).
    #[error("{0}")]
    Fetch(String),
    /// Where the model or tileset goes cannot be worked out.
    #[error("{0}")]
    Placement(String),
}

/// While callers above still speak in strings: `?` turns the error into its text.
impl From<BuildingsError> for String {
    fn from(error: BuildingsError) -> Self {
        error.to_string()
    }
}

/// Opens a tileset (`tileset.json`, any `.json`) or a single model (`.glb`, `.gltf`, `.b3dm`).
pub fn open_buildings(input: &str) -> Result<OpenedBuildings, BuildingsError> {
    let remote = cfg!(target_arch = "wasm32")
        || input.starts_with("http://")
        || input.starts_with("https://");
    let uri = if remote {
        TileUri::remote(input).map_err(BuildingsError::Location)?
    } else {
        let path = std::path::Path::new(input);
        let path = path
            .canonicalize()
            .map_err(|source| BuildingsError::CannotOpen {
                input: input.to_owned(),
                source,
            })?;
        TileUri::local_file(&path)
    };
    let name = input
        .trim_end_matches('/')
        .rsplit('/')
        .find(|part| !part.eq_ignore_ascii_case("tileset.json") && !part.is_empty())
        .unwrap_or(input)
        .to_owned();
    let bytes = super::layer::fetch(&uri).map_err(BuildingsError::Fetch)?;
    let lower = input.to_ascii_lowercase();
    let tileset = if lower.ends_with(".json") {
        Tileset::parse(&bytes, &uri).map_err(|source| BuildingsError::Tileset {
            input: input.to_owned(),
            source,
        })?
    } else {
        model_tileset(input, &bytes, &uri)?
    };
    Ok(OpenedBuildings { name, tileset })
}

/// A one-tile tileset around a single model, so a lone `.glb` streams, draws and picks like any
/// tileset. The model is read once here for its bounds.
fn model_tileset(input: &str, bytes: &[u8], uri: &TileUri) -> Result<Tileset, BuildingsError> {
    use super::tiles3d::content::{TileContent, parse_content};
    let input = input.to_owned();
    let content = parse_content(bytes).map_err(|source| BuildingsError::Content {
        input: input.clone(),
        source,
    })?;
    let TileContent::Model { glb, .. } = content else {
        return Err(BuildingsError::NotAModel { input });
    };
    let model = super::gltf::decode_glb(&glb).map_err(|source| BuildingsError::Model {
        input: input.clone(),
        source,
    })?;
    let (mut lo, mut hi) = (DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY));
    let pose = ModelPose {
        frame_from_tile: DMat4::IDENTITY,
        tile_from_gltf: z_up_from_y_up(),
    };
    let frame_from_model = pose.frame_from_model(model.rtc_center);
    for primitive in &model.primitives {
        let m = frame_from_model * primitive.model_from_mesh;
        for p in &primitive.positions {
            let q = m.transform_point3(DVec3::from(p.map(f64::from)));
            lo = lo.min(q);
            hi = hi.max(q);
        }
    }
    if !lo.is_finite() || !hi.is_finite() {
        return Err(BuildingsError::NoTriangles { input });
    }
    let centre = (lo + hi) * 0.5;
    let radius = ((hi - lo).length() * 0.5).max(0.01);
    let file = uri
        .as_str()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let json = serde_json::json!({
        "asset": { "version": "1.1" },
        "geometricError": 0.0,
        "root": {
            "boundingVolume": { "sphere": [centre.x, centre.y, centre.z, radius] },
            "geometricError": 0.0,
            "refine": "ADD",
            "content": { "uri": file }
        }
    });
    Tileset::parse(json.to_string().as_bytes(), uri)
        .map_err(|source| BuildingsError::Tileset { input, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_parse_with_and_without_a_crs() {
        let p: Place = "292500,6832500,50,EPSG:2154".parse().unwrap();
        assert_eq!(p.point, DVec3::new(292500.0, 6832500.0, 50.0));
        assert_eq!(p.epsg, Some(2154));
        let p: Place = "1, 2, 3".parse().unwrap();
        assert_eq!(p.epsg, None);
        let err = "1,2".parse::<Place>().unwrap_err();
        assert!(err.contains("X,Y,Z"), "{err}");
        assert!(
            "1,2,3,EPSG:abc"
                .parse::<Place>()
                .unwrap_err()
                .contains("abc")
        );
    }

    #[test]
    fn the_twin_frame_follows_the_clouds_then_place_then_tilesets() {
        let ecef = ecef_from_geodetic(0.06, 0.9, 0.0);
        let from_clouds = choose_frame(Some(2154), None, &[ecef]).unwrap().unwrap();
        assert_eq!(from_clouds.projected_epsg(), Some(2154));
        let place: Place = "3.0,51.0,0,EPSG:4326".parse().unwrap();
        let from_place = choose_frame(None, Some(&place), &[]).unwrap().unwrap();
        assert!(from_place.projected_epsg().is_none());
        let from_tileset = choose_frame(None, None, &[DVec3::ZERO, ecef])
            .unwrap()
            .unwrap();
        let origin = from_tileset.crs_from_ecef(ecef).unwrap();
        assert!(origin.length() < 1e-6);
        assert!(
            choose_frame(None, None, &[DVec3::new(10.0, 0.0, 0.0)])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn building_inputs_are_told_apart_from_point_clouds() {
        assert!(is_building_input("city/tileset.json"));
        assert!(is_building_input("https://x.org/a/tileset.json?v=2"));
        assert!(is_building_input("house.GLB"));
        assert!(!is_building_input("tile.copc.laz"));
    }
}

#[cfg(test)]
mod shared_data_tests {
    use super::*;
    use crate::buildings::bake::{ModelPose, bake};
    use crate::buildings::tiles3d::content::{TileContent, parse_content};
    use crate::buildings::tiles3d::tileset::{ContentKind, TileId};

    fn shared_data() -> Option<std::path::PathBuf> {
        crate::testdata::shared_data("")
    }

    /// Every tileset and model of the shared folders opens, and every content it reaches
    /// (external tilesets attached) parses, decodes and bakes into the twin frame.
    #[test]
    fn every_shared_tileset_and_model_loads() {
        let Some(data) = shared_data() else { return };
        let mut inputs: Vec<std::path::PathBuf> = vec![];
        for folder in [
            "3dtiles/3dbag_tile_128",
            "3dtiles/cesium_MetadataGranularities",
            "3dtiles/cesium_TilesetWithRequestVolume",
        ] {
            inputs.push(data.join(folder).join("tileset.json"));
        }
        for entry in std::fs::read_dir(data.join("gltf")).unwrap() {
            inputs.push(entry.unwrap().path());
        }
        let (mut models, mut points, mut triangles) = (0, 0, 0);
        for input in &inputs {
            let opened = open_buildings(&input.display().to_string()).unwrap();
            let centre = opened.centre();
            let frame = choose_frame(None, None, &[centre]).unwrap();
            let (mut layer, _) = opened.into_layer(frame.as_ref(), None, None).unwrap();
            let mut next = 0;
            while next < layer.tileset.len() {
                let id = TileId(next as u32);
                next += 1;
                let tile = layer.tileset.tile(id).unwrap().clone();
                for content in &tile.contents {
                    let path = content.uri.local_path().unwrap();
                    let bytes = std::fs::read(&path).unwrap();
                    if let ContentKind::ExternalTileset(_) = content.kind {
                        layer
                            .tileset
                            .attach_external(id, &bytes, &content.uri)
                            .unwrap();
                        continue;
                    }
                    let parsed =
                        parse_content(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    let TileContent::Model {
                        glb, rtc_center, ..
                    } = parsed
                    else {
                        points += 1;
                        continue;
                    };
                    let mut model = crate::buildings::gltf::decode_glb(&glb).unwrap();
                    model.rtc_center = model.rtc_center.or(rtc_center);
                    let pose = ModelPose {
                        frame_from_tile: tile.world_from_tile,
                        tile_from_gltf: z_up_from_y_up(),
                    };
                    let baked = bake(model, pose, &layer.placement).unwrap();
                    // Everything lands near its tile, a few km at most from the twin origin.
                    assert!(
                        baked.origin.length() < 20_000.0,
                        "{} at {}",
                        path.display(),
                        baked.origin
                    );
                    triangles += baked.triangle_count();
                    models += 1;
                }
            }
        }
        // 3DBAG 1, MetadataGranularities 20, city 4 + building 1, single models 3.
        assert_eq!(models, 29);
        assert_eq!(points, 1, "points.pnts");
        assert!(triangles > 51_062 + 66_094 * 2, "{triangles}");
    }
}
