//! Running scenarios headless: a scenario file's data becomes a [`Territory`] (terrain,
//! buildings, place on Earth), each scenario a [`ScenarioResult`], and
//! [`write_outputs`] writes what `jumeau scenario run` promises: `<id>.tif`, `buildings.csv`,
//! `buildings.geojson`, `summary.json` and `view.png`.

use super::buildings::{self, Building, Column};
use super::file::{
    DEFAULT_STEP_MINUTES, Scenario, ScenarioFile, ScenarioFileError, ScenarioKind, parse_offset,
};
use super::flood::{self, FloodMode};
use super::map::{self, Legend};
use super::sun::{self, Day, GridNorth, Observer, Surface};
use crate::georef::{Crs, GeoFrame};
use crate::terrain::build::{self, TerrainError};
use crate::terrain::geotiff::{self, RasterCrs};
use crate::terrain::{Raster, TerrainModels};
use bevy::math::DVec2;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a scenario run failed. Its text names the file, scenario or output at fault.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    File(#[from] ScenarioFileError),
    #[error(transparent)]
    Terrain(#[from] TerrainError),
    #[error("{name}: {reason}")]
    Data { name: String, reason: String },
    #[error("scenario `{id}`: {reason}")]
    Scenario { id: String, reason: String },
    #[error("{path}: {reason}")]
    Output { path: String, reason: String },
    #[error("the run was cancelled")]
    Cancelled,
}

/// What the scenarios run on.
pub struct Territory {
    pub models: TerrainModels,
    pub crs: Option<Crs>,
    pub buildings: Vec<Building>,
    /// Where the sun is seen from (the terrain's centre), when the CRS places it on Earth.
    pub observer: Option<Observer>,
    pub north: GridNorth,
    /// Points read to build the terrain (0 when it came from GeoTIFF).
    pub points: usize,
    /// Data the run did not use, and why.
    pub skipped: Vec<String>,
    /// What the building models brought to the surface, and what of them could not be read.
    pub notes: Vec<String>,
    /// The sites of the network files of `data`, under their entry as written.
    pub networks: Vec<(String, Vec<crate::network::model::Site>)>,
}

impl Territory {
    /// The territory of `models`, placed on Earth by `crs` when it is a known projection.
    pub fn new(models: TerrainModels, crs: Option<Crs>) -> Self {
        Self::with_features(models, crs, None)
    }

    /// [`Territory::new`], with the building models' feature of each cell.
    pub fn with_features(
        models: TerrainModels,
        crs: Option<Crs>,
        features: Option<&buildings::CellFeatures>,
    ) -> Self {
        let buildings = buildings::buildings_of(&models, features);
        let (observer, north) = crs
            .as_ref()
            .and_then(|c| c.horizontal_code())
            .and_then(|code| place_on_earth(&models, code))
            .map_or((None, GridNorth::default()), |(o, n)| (Some(o), n));
        Self {
            models,
            crs,
            buildings,
            observer,
            north,
            points: 0,
            skipped: Vec::new(),
            notes: Vec::new(),
            networks: Vec::new(),
        }
    }

    /// The territory a scenario file describes: its terrain GeoTIFFs, else the terrain built
    /// from its point clouds (kept in `cache` as GeoTIFF, keyed by the clouds' paths, sizes
    /// and dates and the resolution, when a folder is given), with its building tilesets and
    /// models rasterised into the surface; its `crs` where the data says none.
    pub fn load(file: &ScenarioFile, base: &Path, cache: Option<&Path>) -> Result<Self, RunError> {
        let mut clouds: Vec<String> = Vec::new();
        let mut building_inputs: Vec<String> = Vec::new();
        let mut network_inputs: Vec<(String, String)> = Vec::new();
        let mut skipped = Vec::new();
        let mut dtm_path = file.terrain.dtm.clone();
        for entry in &file.data {
            let lower = entry.to_ascii_lowercase();
            let resolved = ScenarioFile::resolve(base, entry).display().to_string();
            if lower.ends_with(".las") || lower.ends_with(".laz") {
                clouds.push(resolved);
            } else if lower.ends_with(".vpc") {
                let bytes = read_bytes(&resolved)?;
                let tiles = crate::pointcloud::vpc::read_vpc(&bytes, &resolved).map_err(|e| {
                    RunError::Data {
                        name: resolved.clone(),
                        reason: e.to_string(),
                    }
                })?;
                clouds.extend(tiles.into_iter().map(|t| t.href));
            } else if lower.ends_with(".tif") || lower.ends_with(".tiff") {
                dtm_path.get_or_insert(entry.clone());
            } else if crate::network::open::is_network_input(&resolved) {
                network_inputs.push((entry.clone(), resolved));
            } else if crate::buildings::open::is_building_input(&lower) {
                building_inputs.push(resolved);
            } else {
                skipped.push(format!("{entry}: neither terrain, buildings nor a network"));
            }
        }
        let declared = file
            .crs
            .as_deref()
            .map(Crs::from_epsg_str)
            .transpose()
            .map_err(|e| RunError::Data {
                name: "crs".into(),
                reason: e.to_string(),
            })?;
        let (models, found_crs, points) = if let Some(dtm) = dtm_path {
            // Through the byte sources, so that a page reads its GeoTIFF over HTTP.
            let read = |p: &str| -> Result<(Raster, RasterCrs), RunError> {
                let path = ScenarioFile::resolve(base, p).display().to_string();
                let bytes = read_bytes(&path)?;
                geotiff::read(&path, &bytes).map_err(|source| {
                    RunError::from(TerrainError::GeoTiff {
                        name: path.clone(),
                        source,
                    })
                })
            };
            let (dtm, crs) = read(&dtm)?;
            let dsm = file
                .terrain
                .dsm
                .as_deref()
                .map(read)
                .transpose()?
                .map(|(r, _)| r);
            let crs = crs
                .epsg
                .and_then(|code| Crs::from_epsg_str(&code.to_string()).ok());
            (TerrainModels::from_rasters(dtm, dsm), crs, 0)
        } else {
            let sources = clouds
                .iter()
                .map(|c| {
                    crate::io::open(c).map_err(|e| RunError::Data {
                        name: c.clone(),
                        reason: e.to_string(),
                    })
                })
                .collect::<Result<Vec<Arc<dyn crate::io::ByteSource>>, _>>()?;
            let key = cache.map(|dir| dir.join(cache_key(&clouds, file.terrain.resolution_m)));
            match key.as_deref().and_then(read_cached) {
                Some((models, crs)) => (models, crs, 0),
                None => {
                    let built = build::from_sources(&sources, file.terrain.resolution_m)?;
                    if let Some(key) = &key {
                        // A cache that cannot be written only costs the next run time.
                        if let Err(e) = write_cached(key, &built.models, built.crs.as_ref()) {
                            log::warn!("terrain cache {}: {e}", key.display());
                        }
                    }
                    (built.models, built.crs, built.points)
                }
            }
        };
        let crs = found_crs.or(declared);
        let mut models = models;
        let raised = super::meshes::raise_buildings(&mut models, crs.as_ref(), &building_inputs)
            .map_err(|(name, reason)| RunError::Data { name, reason })?;
        let mut territory = Self::with_features(models, crs, Some(&raised.features));
        territory.points = points;
        territory.skipped = skipped;
        territory.notes = raised.notes;
        territory.networks = network_inputs
            .iter()
            .map(|(entry, path)| {
                read_network(path, territory.crs.as_ref())
                    .map(|sites| (entry.clone(), sites))
                    .map_err(|reason| RunError::Data {
                        name: path.clone(),
                        reason,
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(territory)
    }

    /// The GeoTIFF CRS of the territory's rasters.
    pub fn raster_crs(&self) -> RasterCrs {
        let Some(crs) = &self.crs else {
            return RasterCrs::default();
        };
        RasterCrs {
            epsg: crs.horizontal_code().and_then(|c| u16::try_from(c).ok()),
            geographic: false,
            vertical_epsg: crs.vertical_epsg.and_then(|c| u16::try_from(c).ok()),
        }
    }
}

/// Bumped when the terrain models change, so that older cached terrain is rebuilt.
const TERRAIN_REVISION: u32 = 1;

/// The cache entry's path stem of the terrain of `clouds` at `resolution_m`: their paths,
/// sizes and modification dates hashed.
fn cache_key(clouds: &[String], resolution_m: Option<f64>) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    TERRAIN_REVISION.hash(&mut h);
    resolution_m.map(f64::to_bits).hash(&mut h);
    for c in clouds {
        c.hash(&mut h);
        if let Ok(meta) = std::fs::metadata(c) {
            meta.len().hash(&mut h);
            meta.modified().ok().hash(&mut h);
        }
    }
    format!("terrain-{:016x}", h.finish())
}

/// The three rasters of a cached terrain: DTM, DSM and the classes of the DSM's top.
fn cached_paths(key: &Path) -> [PathBuf; 3] {
    ["dtm", "dsm", "class"].map(|k| {
        let mut name = key.as_os_str().to_owned();
        name.push(format!("-{k}.tif"));
        PathBuf::from(name)
    })
}

fn read_cached(key: &Path) -> Option<(TerrainModels, Option<Crs>)> {
    let [dtm, dsm, class] = cached_paths(key).map(|p| geotiff::read_file(&p).ok());
    let ((dtm, crs), (dsm, _), (class, _)) = (dtm?, dsm?, class?);
    if dsm.grid != dtm.grid || class.grid != dtm.grid {
        return None;
    }
    let crs = crs
        .epsg
        .and_then(|code| Crs::from_epsg_str(&code.to_string()).ok());
    let top_class = class.values.iter().map(|&c| c as u8).collect();
    Some((
        TerrainModels {
            dtm,
            dsm,
            top_class,
        },
        crs,
    ))
}

fn write_cached(
    key: &Path,
    models: &TerrainModels,
    crs: Option<&Crs>,
) -> Result<(), geotiff::GeoTiffError> {
    if let Some(dir) = key.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let raster_crs = crs
        .and_then(Crs::horizontal_code)
        .map_or(RasterCrs::default(), RasterCrs::projected);
    let mut class = Raster::filled(models.grid(), 0.0);
    for (v, &c) in class.values.iter_mut().zip(&models.top_class) {
        *v = f32::from(c);
    }
    let [dtm, dsm, class_path] = cached_paths(key);
    geotiff::write_file(&dtm, &models.dtm, raster_crs)?;
    geotiff::write_file(&dsm, &models.dsm, raster_crs)?;
    geotiff::write_file(&class_path, &class, raster_crs)
}

/// The sites of a network file, placed in the twin through its CRS.
fn read_network(path: &str, crs: Option<&Crs>) -> Result<Vec<crate::network::model::Site>, String> {
    use crate::network::open::{Ground, NetworkTarget, open_network};
    let code = crs
        .and_then(Crs::horizontal_code)
        .ok_or("a network needs the twin's CRS: name it with `crs = \"EPSG:…\"`")?;
    let target = NetworkTarget {
        frame: GeoFrame::projected(code).map_err(|e| e.to_string())?,
        ground: Ground::new(Vec::new()),
        extent: None,
        drape: Default::default(),
    };
    let layer = open_network(path, &target, None).map_err(|e| e.to_string())?;
    Ok(layer.network.sites)
}

fn read_bytes(path: &str) -> Result<Vec<u8>, RunError> {
    let source = crate::io::open(path).map_err(|e| RunError::Data {
        name: path.to_owned(),
        reason: e.to_string(),
    })?;
    let len = source.len().map_err(|e| RunError::Data {
        name: path.to_owned(),
        reason: e.to_string(),
    })?;
    source.read_range(0, len).map_err(|e| RunError::Data {
        name: path.to_owned(),
        reason: e.to_string(),
    })
}

/// The observer at the centre of the terrain and the grid azimuth of true north there.
fn place_on_earth(models: &TerrainModels, epsg: u32) -> Option<(Observer, GridNorth)> {
    let frame = GeoFrame::projected(epsg).ok()?;
    let (lo, hi) = models.grid().extent();
    let centre = (lo + hi) / 2.0;
    let z = models.dtm.sample(centre).unwrap_or(0.0);
    let ecef = frame.ecef_from_crs(centre.extend(z)).ok()?;
    let (lon, lat, _) = crate::georef::geodetic_from_ecef(ecef);
    let north_ecef = crate::georef::ecef_from_geodetic(lon, lat + 1.0e-5, 0.0);
    let here_ecef = crate::georef::ecef_from_geodetic(lon, lat, 0.0);
    let north = frame.crs_from_ecef(north_ecef).ok()? - frame.crs_from_ecef(here_ecef).ok()?;
    let observer = Observer::at(lon.to_degrees(), lat.to_degrees(), z);
    Some((observer, GridNorth(north.x.atan2(north.y).to_degrees())))
}

/// One scenario's outcome.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    pub id: String,
    pub kind: ScenarioKind,
    pub title: String,
    /// The result on the terrain grid (depth in m, 1/0 shadow, hours of sun).
    pub raster: Raster,
    pub legend: Legend,
    /// The figures `summary.json` gives for it.
    pub figures: Map<String, Value>,
    /// Its columns of the per-building table.
    pub columns: Vec<Column>,
    /// Flood only: the connection levels, so that the viewer's slider is a threshold.
    pub connection: Option<Arc<Raster>>,
    /// Roll-out only: each building's day and the quarters, for the viewer's time-lapse.
    pub timeline: Option<Arc<super::rollout::Timeline>>,
    /// Coverage only: each mast's path loss, so that the viewer's what-if recomputes only the
    /// site it changes.
    pub coverage: Option<Arc<super::radio::Coverage>>,
}

/// Runs one scenario on `territory`; `cancelled` is polled between steps.
pub fn run_scenario(
    territory: &Territory,
    scenario: &Scenario,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<ScenarioResult, RunError> {
    let id = scenario.id.clone();
    let fail = |reason: String| RunError::Scenario {
        id: id.clone(),
        reason,
    };
    if cancelled() {
        return Err(RunError::Cancelled);
    }
    let models = &territory.models;
    let grid = models.grid();
    let mut figures = Map::new();
    figures.insert("kind".into(), scenario.kind().into());
    figures.insert("title".into(), scenario.title().into());
    let mut columns = Vec::new();
    let mut connection = None;
    let mut timeline = None;
    let mut coverage = None;
    let (raster, legend) = match scenario.kind {
        ScenarioKind::Flood => {
            let mut lines: Vec<Vec<DVec2>> = scenario
                .seeds
                .iter()
                .map(|&[x, y]| vec![DVec2::new(x, y)])
                .collect();
            if !scenario.river.is_empty() {
                lines.push(
                    scenario
                        .river
                        .iter()
                        .map(|&[x, y]| DVec2::new(x, y))
                        .collect(),
                );
            }
            let seeds = flood::seed_cells(&grid, &lines).map_err(|e| fail(e.to_string()))?;
            let levels = flood::connection_levels(&models.dtm, &seeds);
            let level = scenario.level_m.unwrap_or_default() as f32;
            let mode = scenario.mode.unwrap_or_default();
            let depths = flood::depths(&models.dtm, &levels, level, mode);
            let plane = flood::depths(&models.dtm, &levels, level, FloodMode::Plane);
            let lows = flood::disconnected_lows(&models.dtm, &levels, level);
            let (mut first, mut deepest) = (Vec::new(), Vec::new());
            for b in &territory.buildings {
                let joins = match mode {
                    FloodMode::Connected => &levels.values,
                    FloodMode::Plane => &models.dtm.values,
                };
                let at = b
                    .cells
                    .iter()
                    .map(|&i| joins[i])
                    .fold(f32::INFINITY, f32::min);
                first.push(if at.is_finite() {
                    f64::from(at)
                } else {
                    f64::NAN
                });
                let depth = b
                    .cells
                    .iter()
                    .map(|&i| depths.values[i])
                    .fold(0.0f32, f32::max);
                deepest.push(f64::from(depth));
            }
            let affected = deepest.iter().filter(|&&d| d > 0.0).count();
            if territory.buildings.iter().any(|b| b.usage.is_some()) {
                let mut by_use = Map::new();
                for (b, d) in territory.buildings.iter().zip(&deepest) {
                    if *d > 0.0 {
                        let usage = b.usage.as_deref().unwrap_or("unknown");
                        let n = by_use.get(usage).and_then(Value::as_u64).unwrap_or(0);
                        by_use.insert(usage.to_owned(), json!(n + 1));
                    }
                }
                figures.insert("buildings_affected_by_use".into(), Value::Object(by_use));
            }
            let max_depth = depths.range().map_or(0.0, |r| r.1);
            figures.insert("level_m".into(), json!(level));
            figures.insert("mode".into(), json!(mode));
            figures.insert("seed_cells".into(), json!(seeds.len()));
            figures.insert(
                "flooded_area_m2".into(),
                json!(flood::flooded_area_m2(&depths).round()),
            );
            figures.insert("buildings_affected".into(), json!(affected));
            figures.insert("max_depth_m".into(), json!(round2(max_depth)));
            figures.insert(
                "plane_flooded_area_m2".into(),
                json!(flood::flooded_area_m2(&plane).round()),
            );
            let lows_m2 =
                lows.values.iter().filter(|&&v| v > 0.0).count() as f64 * grid.cell_area_m2();
            figures.insert("disconnected_low_area_m2".into(), json!(lows_m2.round()));
            columns.push(Column {
                name: format!("{id}_flood_level_m"),
                values: first,
            });
            columns.push(Column {
                name: format!("{id}_max_depth_m"),
                values: deepest,
            });
            // What the slider thresholds: the level at which each cell floods, which for the
            // plane is its own ground.
            connection = Some(Arc::new(match mode {
                FloodMode::Connected => levels,
                FloodMode::Plane => models.dtm.clone(),
            }));
            let legend = map::depth_legend(max_depth.max(1.0));
            (depths, legend)
        }
        ScenarioKind::Shadow => {
            let observer = territory.observer.ok_or_else(|| fail(no_place()))?;
            let text = scenario
                .at
                .as_ref()
                .map(|a| a.get_ref().as_str())
                .unwrap_or_default();
            let at = sun::parse_time(text).map_err(|e| fail(e.to_string()))?;
            let p = sun::position(&at, &observer).map_err(|e| fail(e.to_string()))?;
            let surface = Surface::new(&models.dsm);
            let shadow = surface.shadow(p.azimuth_deg + territory.north.0, p.altitude_deg());
            let mut raster = Raster::filled(grid, 0.0);
            for (v, s) in raster.values.iter_mut().zip(&shadow) {
                *v = f32::from(u8::from(*s));
            }
            let shaded = shadow.iter().filter(|&&s| s).count();
            figures.insert("at".into(), json!(text));
            figures.insert("sun_altitude_deg".into(), json!(round4(p.altitude_deg())));
            figures.insert("sun_azimuth_deg".into(), json!(round4(p.azimuth_deg)));
            figures.insert(
                "shaded_fraction".into(),
                json!(round4(shaded as f64 / grid.len() as f64)),
            );
            columns.push(Column {
                name: format!("{id}_roof_shaded_fraction"),
                values: territory
                    .buildings
                    .iter()
                    .map(|b| {
                        b.cells.iter().filter(|&&i| shadow[i]).count() as f64 / b.cells.len() as f64
                    })
                    .collect(),
            });
            (raster, map::shadow_legend())
        }
        ScenarioKind::Sunlight => {
            let observer = territory.observer.ok_or_else(|| fail(no_place()))?;
            let text = scenario
                .date
                .as_ref()
                .map(|d| d.get_ref().as_str())
                .unwrap_or_default();
            let date = sun::parse_date(text).map_err(|e| fail(e.to_string()))?;
            let offset = match &scenario.utc_offset {
                Some(o) => parse_offset(o.get_ref()).map_err(|e| fail(e.to_string()))?,
                // The solar time zone of the place: whole hours from its longitude.
                None => chrono::FixedOffset::east_opt(
                    (observer.longitude_deg / 15.0).round() as i32 * 3600,
                )
                .unwrap_or(chrono::FixedOffset::east_opt(0).ok_or_else(|| fail("offset".into()))?),
            };
            let day = Day {
                date,
                offset,
                step_minutes: scenario.step_minutes.unwrap_or(DEFAULT_STEP_MINUTES),
            };
            let surface = Surface::new(&models.dsm);
            let hours = sun::sunlight_hours(&surface, &day, &observer, territory.north, cancelled)
                .map_err(|e| fail(e.to_string()))?
                .ok_or(RunError::Cancelled)?;
            let day_h = sun::day_length_h(&day, &observer).map_err(|e| fail(e.to_string()))?;
            let mean = hours.values.iter().map(|&h| f64::from(h)).sum::<f64>() / grid.len() as f64;
            figures.insert("date".into(), json!(text));
            figures.insert("utc_offset".into(), json!(offset.to_string()));
            figures.insert("step_minutes".into(), json!(day.step_minutes));
            figures.insert("day_length_h".into(), json!(round2(day_h as f32)));
            figures.insert("mean_hours".into(), json!(round2(mean as f32)));
            let mut below = Map::new();
            for threshold in sun::EN17037_HOURS {
                let cells = hours.values.iter().filter(|&&h| h < threshold).count();
                below.insert(
                    threshold.to_string(),
                    json!((cells as f64 * grid.cell_area_m2()).round()),
                );
            }
            figures.insert("area_below_hours_m2".into(), Value::Object(below));
            columns.push(Column {
                name: format!("{id}_roof_sun_h"),
                values: territory
                    .buildings
                    .iter()
                    .map(|b| {
                        b.cells
                            .iter()
                            .map(|&i| f64::from(hours.values[i]))
                            .sum::<f64>()
                            / b.cells.len() as f64
                    })
                    .collect(),
            });
            (hours, map::sunlight_legend())
        }
        ScenarioKind::Coverage => {
            let c = coverage_of(territory, scenario).map_err(fail)?;
            let thresholds = scenario.thresholds_dbm.unwrap_or(COVERAGE_THRESHOLDS_DBM);
            let raster = coverage_outcome(
                territory,
                &c,
                thresholds,
                &scenario.id,
                &mut figures,
                &mut columns,
            );
            coverage = Some(Arc::new(c));
            (raster, map::coverage_legend(thresholds))
        }
        ScenarioKind::Rollout => {
            let t = run_rollout(territory, scenario, &mut figures, &mut columns).map_err(fail)?;
            let raster = t.served_on(t.at);
            timeline = Some(Arc::new(t));
            (raster, map::rollout_legend())
        }
    };
    Ok(ScenarioResult {
        id: id.clone(),
        kind: scenario.kind,
        title: scenario.title().to_owned(),
        raster,
        legend,
        figures,
        columns,
        connection,
        timeline,
        coverage,
    })
}

/// Default lower bounds of the good, fair and poor levels of received power, dBm.
pub const COVERAGE_THRESHOLDS_DBM: [f64; 3] = [-65.0, -80.0, -95.0];
/// The four levels, best first (ARCEP's own words are qualitative too).
pub const COVERAGE_LEVELS: [&str; 4] = ["very good", "good", "fair", "none"];
/// What every coverage output says of itself.
pub const COVERAGE_CAVEAT: &str = "simulation indicative — not an operator or ARCEP map (simulation indicative, pas une carte d'opérateur ni de l'ARCEP)";

/// A coverage scenario's antennas (its network's, less those excluded, and its own sites)
/// and their coverage over the terrain.
fn coverage_of(
    territory: &Territory,
    scenario: &Scenario,
) -> Result<super::radio::Coverage, String> {
    use super::radio::{Coverage, CoverageSpec, RadioTerrain};
    let mut antennas = Vec::new();
    if let Some(name) = &scenario.sites {
        let sites = network_sites(territory, "sites", name)?;
        antennas.extend(super::sites::antennas_of(name, sites)?);
    }
    antennas.retain(|a| !scenario.exclude.contains(&a.id));
    antennas.extend(
        scenario
            .site
            .iter()
            .enumerate()
            .map(|(i, s)| super::sites::antenna_of_spec(s, i)),
    );
    if antennas.is_empty() {
        return Err("no antenna left to transmit".into());
    }
    let spec = CoverageSpec {
        resolution_m: scenario.resolution_m.unwrap_or(2.0),
        receiver_height_m: scenario.receiver_height_m.unwrap_or(1.5),
        method: scenario.method.unwrap_or_default(),
        indoor_loss_db: scenario.indoor_loss_db.unwrap_or(0.0),
    };
    let terrain = RadioTerrain::new(&territory.models, spec.resolution_m);
    Coverage::new(terrain, spec, antennas).map_err(|e| e.to_string())
}

/// A coverage's best server brought to the terrain's grid (the returned raster), its figures
/// (levels by `thresholds`) and its per-building column `<id>_best_dbm`.
pub fn coverage_outcome(
    territory: &Territory,
    coverage: &super::radio::Coverage,
    thresholds: [f64; 3],
    id: &str,
    figures: &mut Map<String, Value>,
    columns: &mut Vec<Column>,
) -> Raster {
    let coarse = coverage.terrain.grid();
    // On the terrain's grid: each cell takes its coverage cell's value.
    let grid = territory.models.grid();
    let factor = (coarse.cell_m / grid.cell_m).round().max(1.0) as usize;
    let coarse_of = |i: usize| {
        let (c, r) = grid.col_row(i);
        coarse.index(c / factor, r / factor)
    };
    let mut raster = Raster::filled(grid, f32::NAN);
    for (i, v) in raster.values.iter_mut().enumerate() {
        *v = coverage.best_dbm.values[coarse_of(i)];
    }
    let level_of = |dbm: f64| thresholds.iter().position(|&t| dbm >= t).unwrap_or(3);
    let mut area = [0usize; 4];
    for &v in &coverage.best_dbm.values {
        area[level_of(f64::from(v))] += 1;
    }
    let best: Vec<f64> = territory
        .buildings
        .iter()
        .map(|b| {
            b.cells
                .iter()
                .map(|&i| f64::from(coverage.best_dbm.values[coarse_of(i)]))
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    let mut buildings = Map::new();
    let mut areas = Map::new();
    for (k, name) in COVERAGE_LEVELS.iter().enumerate() {
        let n = best.iter().filter(|&&v| level_of(v) == k).count();
        buildings.insert((*name).into(), json!(n));
        areas.insert(
            (*name).into(),
            json!((area[k] as f64 * coarse.cell_area_m2()).round()),
        );
    }
    let mut sorted = coverage.best_dbm.values.clone();
    sorted.sort_by(f32::total_cmp);
    figures.insert("caveat".into(), json!(COVERAGE_CAVEAT));
    figures.insert("antennas".into(), json!(coverage.antennas.len()));
    figures.insert("masts".into(), json!(coverage.masts()));
    figures.insert("resolution_m".into(), json!(coarse.cell_m));
    figures.insert("method".into(), json!(coverage.spec.method));
    figures.insert("thresholds_dbm".into(), json!(thresholds));
    figures.insert("area_per_level_m2".into(), Value::Object(areas));
    figures.insert("buildings_per_level".into(), Value::Object(buildings));
    figures.insert("median_dbm".into(), json!(round2(sorted[sorted.len() / 2])));
    columns.push(Column {
        name: format!("{id}_best_dbm"),
        values: best,
    });
    raster
}

/// The result of `base`, a coverage result, with its coverage replaced by `coverage` (a
/// what-if): id `id`, title `title`, the same thresholds.
pub fn coverage_result(
    territory: &Territory,
    base: &ScenarioResult,
    coverage: super::radio::Coverage,
    id: &str,
    title: &str,
) -> ScenarioResult {
    let thresholds = base
        .figures
        .get("thresholds_dbm")
        .and_then(|v| serde_json::from_value::<[f64; 3]>(v.clone()).ok())
        .unwrap_or(COVERAGE_THRESHOLDS_DBM);
    let mut figures = Map::new();
    figures.insert("kind".into(), ScenarioKind::Coverage.name().into());
    figures.insert("title".into(), title.into());
    let mut columns = Vec::new();
    let raster = coverage_outcome(
        territory,
        &coverage,
        thresholds,
        id,
        &mut figures,
        &mut columns,
    );
    ScenarioResult {
        id: id.to_owned(),
        kind: ScenarioKind::Coverage,
        title: title.to_owned(),
        raster,
        legend: map::coverage_legend(thresholds),
        figures,
        columns,
        connection: None,
        timeline: None,
        coverage: Some(Arc::new(coverage)),
    }
}

/// The sites of network file `name` of the territory's `data`, for scenario key `key`.
fn network_sites<'t>(
    territory: &'t Territory,
    key: &str,
    name: &str,
) -> Result<&'t [crate::network::model::Site], String> {
    territory
        .networks
        .iter()
        .find(|(entry, _)| entry == name)
        .map(|(_, sites)| sites.as_slice())
        .ok_or_else(|| format!("{key} `{name}` is not a network file of `data`"))
}

/// A roll-out scenario: the buildings of its network with their phases moved, their share
/// served by quarter, and where they stand on the terrain; the figures and the per-building
/// column (served on the day shown: 1, not yet: 0).
fn run_rollout(
    territory: &Territory,
    scenario: &Scenario,
    figures: &mut Map<String, Value>,
    columns: &mut Vec<Column>,
) -> Result<super::rollout::Timeline, String> {
    use super::rollout::{self, Timeline};
    use crate::network::model::Day;
    let name = scenario.network.as_deref().unwrap_or_default();
    let mut premises = rollout::premises_of(name, network_sites(territory, "network", name)?)?;
    let moves: Vec<(String, Day)> = scenario
        .move_phase
        .iter()
        .filter_map(|(phase, date)| Some((phase.clone(), Day::parse(date)?)))
        .collect();
    let moved = rollout::move_phases(&mut premises, &moves)?;
    let at = match &scenario.at {
        Some(at) => Day::parse(at.get_ref())
            .ok_or_else(|| format!("at `{}` is not a date", at.get_ref()))?,
        None => premises
            .iter()
            .filter_map(|p| p.in_service)
            .max()
            .ok_or("no building has an in-service date: give the day to show with `at`")?,
    };
    let timeline = Timeline::new(&premises, territory.models.grid(), &territory.buildings, at);
    let served = rollout::served_count(&premises, at);
    figures.insert("at".into(), json!(at.to_string()));
    figures.insert("buildings".into(), json!(premises.len()));
    figures.insert("served".into(), json!(served));
    figures.insert(
        "share_served".into(),
        json!(round4(served as f64 / premises.len() as f64)),
    );
    figures.insert("by_status".into(), json!(rollout::status_counts(&premises)));
    figures.insert("phases".into(), json!(rollout::phases(&premises)));
    if !moves.is_empty() {
        figures.insert("moved_buildings".into(), json!(moved));
    }
    if let (Some(first), Some(last)) = (timeline.quarters.first(), timeline.quarters.last()) {
        figures.insert("quarters".into(), json!([first.label, last.label]));
    }
    figures.insert("outside_terrain".into(), json!(timeline.outside));
    let served_at = |day: f32| {
        if day.is_nan() {
            f64::NAN
        } else {
            f64::from(u8::from(day <= at.0 as f32))
        }
    };
    columns.push(Column {
        name: format!("{}_served", scenario.id),
        values: timeline
            .building_days
            .iter()
            .map(|&d| served_at(d))
            .collect(),
    });
    Ok(timeline)
}

fn no_place() -> String {
    "the twin's CRS is unknown, so the sun's place is too: name it with `crs = \"EPSG:…\"` in the scenario file".into()
}

fn round2(v: f32) -> f64 {
    (f64::from(v) * 100.0).round() / 100.0
}

fn round4(v: f64) -> f64 {
    (v * 1.0e4).round() / 1.0e4
}

/// The difference `right − left` of two results on one grid (`None`: `today`, the state
/// without scenario, all zeros).
pub fn difference(
    left: Option<&ScenarioResult>,
    right: Option<&ScenarioResult>,
    grid_of: &Raster,
) -> Raster {
    let zero = Raster::filled(grid_of.grid, 0.0);
    let l = left.map_or(&zero, |r| &r.raster);
    let r = right.map_or(&zero, |r| &r.raster);
    let mut out = Raster::filled(grid_of.grid, 0.0);
    for ((o, a), b) in out.values.iter_mut().zip(&l.values).zip(&r.values) {
        *o = b - a;
    }
    out
}

/// Everything one run of a scenario file made.
pub struct Run {
    pub file: ScenarioFile,
    pub territory: Arc<Territory>,
    pub results: Vec<ScenarioResult>,
    /// `compare.left`, `compare.right` and their difference.
    pub comparison: Option<(String, String, Raster)>,
}

/// Reads the scenario file at `path` and runs each of its scenarios (the terrain kept in
/// `cache` when given).
pub fn run_file(path: &Path, cache: Option<&Path>) -> Result<Run, RunError> {
    let file = ScenarioFile::read(path)?;
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let territory = Arc::new(Territory::load(&file, &base, cache)?);
    let results = file
        .scenarios
        .iter()
        .map(|s| run_scenario(&territory, s, &|| false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Run::new(file, territory, results))
}

/// The difference `right − left` a comparison names, among `results` (`today`: zeros).
pub fn compared(
    c: &super::file::Comparison,
    results: &[ScenarioResult],
    grid_of: &Raster,
) -> Raster {
    let find = |id: &str| results.iter().find(|r| r.id == id);
    difference(find(&c.left), find(&c.right), grid_of)
}

/// Area where a difference is not zero (beyond a millimetre or a thousandth), square metres.
pub fn changed_area_m2(diff: &Raster) -> f64 {
    diff.values.iter().filter(|v| v.abs() > 1.0e-3).count() as f64 * diff.grid.cell_area_m2()
}

impl Run {
    /// The run of `file`'s scenarios as `results`, with the file's comparison made.
    pub fn new(
        file: ScenarioFile,
        territory: Arc<Territory>,
        results: Vec<ScenarioResult>,
    ) -> Self {
        let comparison = file.compare.as_ref().map(|c| {
            let diff = compared(c, &results, &territory.models.dtm);
            (c.left.clone(), c.right.clone(), diff)
        });
        Self {
            file,
            territory,
            results,
            comparison,
        }
    }
}

/// Writes a run's files into `dir` (made if missing); returns the summary written.
pub fn write_outputs(run: &Run, dir: &Path) -> Result<Value, RunError> {
    let out = |p: &Path, reason: String| RunError::Output {
        path: p.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| out(dir, e.to_string()))?;
    let crs = run.territory.raster_crs();
    for r in &run.results {
        let path = dir.join(format!("{}.tif", r.id));
        geotiff::write_file(&path, &r.raster, crs).map_err(|e| out(&path, e.to_string()))?;
    }
    if let Some((_, _, diff)) = &run.comparison {
        let path = dir.join("compare.tif");
        geotiff::write_file(&path, diff, crs).map_err(|e| out(&path, e.to_string()))?;
    }
    for r in &run.results {
        let Some(t) = &r.timeline else {
            continue;
        };
        let path = dir.join(format!("{}.csv", r.id));
        let csv = super::rollout::timeline_csv(&t.quarters);
        std::fs::write(&path, csv).map_err(|e| out(&path, e.to_string()))?;
        let path = dir.join(format!("{}-buildings.csv", r.id));
        let csv = super::rollout::premises_csv(&t.premises, t.at);
        std::fs::write(&path, csv).map_err(|e| out(&path, e.to_string()))?;
    }
    let columns: Vec<Column> = run.results.iter().flat_map(|r| r.columns.clone()).collect();
    let buildings = &run.territory.buildings;
    let csv_path = dir.join("buildings.csv");
    let csv = buildings::to_csv(buildings, &columns).map_err(|e| out(&csv_path, e.to_string()))?;
    std::fs::write(&csv_path, csv).map_err(|e| out(&csv_path, e.to_string()))?;
    let geojson_path = dir.join("buildings.geojson");
    let geojson = buildings::to_geojson(buildings, &columns, crs.epsg.map(u32::from));
    std::fs::write(&geojson_path, geojson.to_string())
        .map_err(|e| out(&geojson_path, e.to_string()))?;
    let summary = summary(run);
    let summary_path = dir.join("summary.json");
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
    std::fs::write(&summary_path, text).map_err(|e| out(&summary_path, e.to_string()))?;
    let view_path = dir.join("view.png");
    view(run)
        .save(&view_path)
        .map_err(|e| out(&view_path, e.to_string()))?;
    Ok(summary)
}

/// `summary.json`: the terrain, then each scenario's figures under its id.
pub fn summary(run: &Run) -> Value {
    let t = &run.territory;
    let g = t.models.grid();
    let mut scenarios = Map::new();
    for r in &run.results {
        scenarios.insert(r.id.clone(), Value::Object(r.figures.clone()));
    }
    let mut summary = json!({
        "name": run.file.name,
        "crs": t.crs.as_ref().map(Crs::label),
        "terrain": {
            "resolution_m": g.cell_m,
            "cols": g.cols,
            "rows": g.rows,
            "west": g.min_xy.x,
            "south": g.min_xy.y,
            "points": t.points,
        },
        "buildings": t.buildings.len(),
        "scenarios": scenarios,
        "skipped": t.skipped,
        "notes": t.notes,
    });
    if let Some((left, right, diff)) = &run.comparison {
        let changed = changed_area_m2(diff);
        summary["compare"] =
            json!({ "left": left, "right": right, "changed_area_m2": changed.round() });
    }
    summary
}

/// `view.png`: each scenario's map with its legend, side by side, then the comparison.
pub fn view(run: &Run) -> image::RgbaImage {
    let surface = &run.territory.models.dsm;
    let mut panels: Vec<image::RgbaImage> = run
        .results
        .iter()
        .map(|r| map::draw(surface, &r.raster, &r.legend))
        .collect();
    if let Some((_, _, diff)) = &run.comparison {
        panels.push(map::draw(surface, diff, &map::difference_legend(diff)));
    }
    if panels.is_empty() {
        let empty = Raster::filled(surface.grid, f32::NAN);
        panels.push(map::draw(surface, &empty, &map::depth_legend(1.0)));
    }
    const GAP: u32 = 8;
    let width = panels.iter().map(|p| p.width() + GAP).sum::<u32>() - GAP;
    let height = panels.iter().map(|p| p.height()).max().unwrap_or(1);
    let mut img = image::RgbaImage::from_pixel(width, height, image::Rgba([255, 255, 255, 255]));
    let mut x = 0;
    for p in &panels {
        image::imageops::overlay(&mut img, p, i64::from(x), 0);
        x += p.width() + GAP;
    }
    img
}
