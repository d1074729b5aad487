//! What the user names (paths or URLs of point clouds, tilesets, models and network files)
//! opened into the layers of one twin, in one frame: shared by the command line and the web page.

use crate::buildings::open::{Place, choose_frame, is_building_input, open_buildings};
use crate::buildings::streaming::BuildingLayer;
use crate::front::error::Error;
use crate::georef::{GeoFrame, VerticalDatum};
use crate::io;
use crate::network::drape::DrapeSettings;
use crate::network::model::LoadLayer;
use crate::network::open::{Ground, NetworkTarget, is_network_input, open_network};
use crate::pointcloud::layer::Layer;
use crate::pointcloud::open::open_layer;
use crate::spatial::Aabb as CrsAabb;
use bevy::math::DVec3;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Parses `X,Y,Z,TX,TY,TZ`.
pub fn parse_camera(text: &str) -> Result<(DVec3, DVec3), String> {
    let v: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`{text}`: {e} (expected X,Y,Z,TX,TY,TZ)"))?;
    match v.as_slice() {
        [x, y, z, tx, ty, tz] if v.iter().all(|c| c.is_finite()) => {
            Ok((DVec3::new(*x, *y, *z), DVec3::new(*tx, *ty, *tz)))
        }
        _ => Err(format!("`{text}`: expected six numbers X,Y,Z,TX,TY,TZ")),
    }
}

/// The view of `rig` as `--camera` text, `X,Y,Z,TX,TY,TZ` (eye and target, millimetres), what
/// [`parse_camera`] reads back into the same view.
pub fn camera_text(rig: &crate::camera::ViewerCamera) -> String {
    let (e, t) = (rig.eye(), rig.focus);
    format!(
        "{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
        e.x, e.y, e.z, t.x, t.y, t.z
    )
}

/// What the inputs of a command line became.
pub struct OpenedInputs {
    pub clouds: Vec<Layer>,
    pub buildings: Vec<BuildingLayer>,
    /// Network layers, read and draped off the main thread once the viewer runs.
    pub networks: Vec<(String, LoadLayer)>,
    /// Things the user should know (e.g. a model placed by guess).
    pub warnings: Vec<String>,
    /// The frame they were placed in (`None`: point clouds without a CRS and local models).
    pub frame: Option<GeoFrame>,
}

/// A running twin that more inputs are opened into: they are placed in its frame, networks
/// drape on its point clouds' ground too, and models without georeferencing go in its middle.
#[derive(Clone)]
pub struct Twin {
    pub frame: GeoFrame,
    pub ground: Vec<Arc<dyn io::ByteSource>>,
    pub bounds: Option<CrsAabb>,
}

/// Opens the inputs: point clouds as one layer named after the first, each tileset or model as
/// a building layer placed in the twin's frame, each network file as a layer to load (read,
/// ingest, drape on the clouds' ground) once the viewer runs. Slow steps (converting LAS/LAZ
/// to COPC) report on `progress`.
pub fn open_inputs(
    inputs: &[String],
    cache_dir: &Path,
    place: Option<&Place>,
    network: &OpenOptions,
    progress: &indicatif::ProgressBar,
) -> Result<OpenedInputs, Error> {
    open_inputs_into(None, inputs, cache_dir, place, network, progress)
}

/// [`open_inputs`] into a running `twin` (its frame, its ground), or into a new one.
pub fn open_inputs_into(
    twin: Option<&Twin>,
    inputs: &[String],
    cache_dir: &Path,
    place: Option<&Place>,
    network: &OpenOptions,
    progress: &indicatif::ProgressBar,
) -> Result<OpenedInputs, Error> {
    let (network_inputs, inputs): (Vec<String>, Vec<String>) =
        inputs.iter().cloned().partition(|i| is_network_input(i));
    let (building_inputs, cloud_inputs): (Vec<&String>, Vec<&String>) =
        inputs.iter().partition(|i| is_building_input(i));
    let mut layers = Vec::new();
    if !cloud_inputs.is_empty() {
        let cloud_inputs: Vec<String> = cloud_inputs.into_iter().cloned().collect();
        let name = cloud_inputs
            .first()
            .map(|i| i.rsplit('/').next().unwrap_or(i).to_owned())
            .unwrap_or_default();
        layers.push(open_layer(&name, &cloud_inputs, cache_dir, progress)?);
    }
    let opened = building_inputs
        .into_iter()
        .map(|i| open_buildings(i))
        .collect::<Result<Vec<_>, _>>()?;
    let cloud_crs = layers.iter().find_map(Layer::crs);
    let cloud_epsg = cloud_crs.as_ref().and_then(|c| c.horizontal_code());
    let centres: Vec<DVec3> = opened.iter().map(|o| o.centre()).collect();
    let mut warnings = Vec::new();
    let frame = match twin {
        None => {
            let (datum, note) = match network.vertical_datum {
                Some(datum) => (datum, None),
                None => VerticalDatum::of_crs(cloud_crs.as_ref()),
            };
            // Information, not a problem: the panel shows the frame with its datum.
            if let Some(note) = note {
                log::info!("{note}");
            }
            choose_frame(cloud_epsg, place, &centres)?.map(|f| f.with_vertical(datum))
        }
        Some(twin) => {
            match (&cloud_crs, cloud_epsg) {
                (_, Some(code)) if twin.frame.projected_epsg() != Some(code) => {
                    return Err(Error::Refused(format!(
                        "the point clouds are in EPSG:{code}, the twin in {}: Jumeau does not \
                         reproject point clouds (open them in a twin of their own)",
                        twin.frame.label()
                    )));
                }
                (Some(crs), None) => warnings.push(format!(
                    "cannot tell whether the point clouds' CRS ({}) is the twin's ({}): they \
                     are shown as if it were",
                    crs.label(),
                    twin.frame.label()
                )),
                _ => {}
            }
            Some(twin.frame.clone())
        }
    };
    let fallback = crate::pointcloud::layer::layers_bounds(&layers)
        .or(twin.and_then(|t| t.bounds))
        .map(|b| {
            let c = b.center();
            DVec3::new(c.x, c.y, b.min.z)
        });
    let mut buildings = Vec::new();
    for o in opened {
        let (layer, warning) = o.into_layer(frame.as_ref(), place, fallback)?;
        buildings.push(layer);
        warnings.extend(warning);
    }
    // With nothing else to place the twin by, the first network file does.
    let frame = match (frame, network_inputs.first()) {
        (None, Some(first)) => Some(network_frame(first)?),
        (frame, _) => frame,
    };
    let networks = match &frame {
        Some(frame) if !network_inputs.is_empty() => {
            let extent = crate::pointcloud::layer::layers_bounds(&layers)
                .into_iter()
                .chain(buildings.iter().filter_map(|b| b.bounds))
                .chain(twin.and_then(|t| t.bounds))
                .reduce(|a, b| a.union(&b));
            let target = NetworkTarget {
                frame: frame.clone(),
                ground: Ground::new(
                    crate::pointcloud::layer::layers_sources(&layers)
                        .into_iter()
                        .chain(twin.into_iter().flat_map(|t| t.ground.iter().cloned()))
                        .collect(),
                ),
                extent,
                drape: DrapeSettings {
                    underground_depth_m: network.underground_depth_m,
                    ..DrapeSettings::default()
                },
            };
            network_inputs
                .into_iter()
                .map(|input| {
                    let target = target.clone();
                    let mapping = network.csv_mapping.clone();
                    let name = crate::io::file_name(&input).to_owned();
                    let load: LoadLayer =
                        Box::new(move || Ok(open_network(&input, &target, mapping.as_deref())?));
                    (name, load)
                })
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(OpenedInputs {
        clouds: layers,
        buildings,
        networks,
        warnings,
        frame,
    })
}

/// How inputs are opened: the twin's vertical datum, how network inputs are read and draped.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub csv_mapping: Option<PathBuf>,
    pub underground_depth_m: f64,
    /// The twin's heights (default: the point clouds' vertical CRS; NGF-IGN69 for Lambert-93
    /// clouds that declare none, as IGN's LiDAR HD; else ellipsoidal).
    pub vertical_datum: Option<VerticalDatum>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            csv_mapping: None,
            underground_depth_m: DrapeSettings::default().underground_depth_m,
            vertical_datum: None,
        }
    }
}

/// The twin's frame when networks are all there is: the file's projected CRS, else the UTM
/// zone of its first position.
fn network_frame(input: &str) -> Result<crate::georef::GeoFrame, Error> {
    use crate::network::ingest::SourcePoint;
    let bytes = io::open(input).and_then(|s| s.read_all())?;
    let first = std::cell::Cell::new(None);
    let read = crate::network::ingest::read_geojson(&bytes, input, &|p| {
        if first.get().is_none() {
            first.set(Some(p));
        }
        Ok(DVec3::ZERO)
    });
    let code = match first.get() {
        Some(SourcePoint::Projected { epsg, .. }) => epsg,
        Some(SourcePoint::Geographic {
            lon_deg, lat_deg, ..
        }) => {
            let zone = (((lon_deg + 180.0) / 6.0).floor() as u32).clamp(0, 59) + 1;
            if lat_deg >= 0.0 {
                32600 + zone
            } else {
                32700 + zone
            }
        }
        // Unreadable (not JSON, not GeoJSON): say why, not that no position was found.
        None => {
            return Err(match read {
                Err(error) => crate::network::open::NetworkError::Ingest(error).into(),
                Ok(_) => Error::Refused(format!(
                    "{input}: no position to place the twin by; open it with a point cloud or a \
                     tileset"
                )),
            });
        }
    };
    Ok(crate::georef::GeoFrame::projected(code)?)
}
