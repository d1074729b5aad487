//! The measure tool of the viewer: clicks on what the twin draws (points, buildings: the
//! camera's pickers, so a click snaps to the nearest drawn surface) make a point, a distance, a
//! polyline or a polygon; each measurement keeps its vertices and its figures, shows a label
//! in the 3D view, can be deleted or undone, and all export as GeoJSON. With the terrain (the
//! scenario file's, else built from the twin's point clouds off the main thread on first use)
//! a point also gets its height above the ground, a polygon its draped area and the volumes
//! between the surface and the ground (cut and fill); a polyline of three points its angle.

use crate::georef::GeoFrame;
use crate::network::overlay::Screen;
use crate::terrain::TerrainModels;
use crate::terrain::measure::{Base, angle_deg, area_m2, draped_area_m2, lengths, volumes};
use bevy::math::{DVec2, DVec3};
use bevy::prelude::*;
use serde_json::{Value, json};
use std::sync::Arc;

/// What clicks measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MeasureKind {
    /// Clicks do not measure.
    #[default]
    Off,
    /// One click: a point's coordinates.
    Point,
    /// Two clicks: 3D, horizontal and vertical distance.
    Distance,
    /// Clicks until *finish*: a polyline's length.
    Polyline,
    /// Clicks until *finish*: a polygon's area and perimeter.
    Polygon,
}

/// One measurement: its vertices (twin CRS) and what they measure.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub kind: MeasureKind,
    pub points: Vec<DVec3>,
}

impl Measurement {
    /// Its figures, name and value (metres, square metres, cubic metres, degrees); those of
    /// the ground with `terrain`.
    pub fn figures(
        &self,
        frame: Option<&GeoFrame>,
        terrain: Option<&TerrainModels>,
    ) -> Vec<(&'static str, f64)> {
        match self.kind {
            MeasureKind::Point => {
                let p = self.points[0];
                let mut out = vec![("x", p.x), ("y", p.y), ("z", p.z)];
                if let Some((lon, lat, h)) = frame.and_then(|f| wgs84(f, p)) {
                    out.extend([
                        ("longitude_deg", lon),
                        ("latitude_deg", lat),
                        ("ellipsoidal_height_m", h),
                    ]);
                }
                if let Some(ground) = terrain.and_then(|t| t.dtm.sample(p.truncate())) {
                    out.push(("height_above_ground_m", p.z - ground));
                }
                out
            }
            MeasureKind::Distance | MeasureKind::Polyline => {
                let l = lengths(&self.points);
                let mut out = vec![
                    ("length_3d_m", l.length_3d_m),
                    ("horizontal_m", l.horizontal_m),
                    ("vertical_m", l.vertical_m),
                ];
                if let [a, b, c] = self.points[..] {
                    out.push(("angle_deg", angle_deg(a, b, c)));
                }
                out
            }
            MeasureKind::Polygon => {
                let ring: Vec<DVec2> = self.points.iter().map(|p| p.truncate()).collect();
                let mut closed = self.points.clone();
                closed.extend(self.points.first().copied());
                let mut out = vec![
                    ("area_m2", area_m2(&ring)),
                    ("perimeter_m", lengths(&closed).horizontal_m),
                ];
                if let Some(t) = terrain {
                    let v = volumes(&t.dsm, Base::Raster(&t.dtm), &ring);
                    out.extend([
                        ("draped_area_m2", draped_area_m2(&t.dtm, &ring)),
                        ("volume_above_ground_m3", v.above_m3),
                        ("volume_below_ground_m3", v.below_m3),
                    ]);
                }
                out
            }
            MeasureKind::Off => Vec::new(),
        }
    }

    /// Its label in the 3D view: the main figure.
    pub fn label(&self) -> String {
        let f = self.figures(None, None);
        match self.kind {
            MeasureKind::Point => format!("z {:.2} m", self.points[0].z),
            MeasureKind::Distance | MeasureKind::Polyline => {
                format!("{:.2} m (Δz {:+.2} m)", f[0].1, f[2].1)
            }
            MeasureKind::Polygon => format!("{:.1} m²", f[0].1),
            MeasureKind::Off => String::new(),
        }
    }

    /// Whether it has the vertices its kind needs.
    fn complete(&self) -> bool {
        match self.kind {
            MeasureKind::Point => !self.points.is_empty(),
            MeasureKind::Distance | MeasureKind::Polyline => self.points.len() >= 2,
            MeasureKind::Polygon => self.points.len() >= 3,
            MeasureKind::Off => false,
        }
    }
}

/// Longitude, latitude (degrees) and ellipsoidal height of a twin point.
fn wgs84(frame: &GeoFrame, p: DVec3) -> Option<(f64, f64, f64)> {
    let (lon, lat, h) = crate::georef::geodetic_from_ecef(frame.ecef_from_crs(p).ok()?);
    Some((lon.to_degrees(), lat.to_degrees(), h))
}

/// The measure tool's state.
#[derive(Resource, Default)]
pub struct MeasureTool {
    pub kind: MeasureKind,
    /// The measurement being drawn.
    pub current: Vec<DVec3>,
    pub done: Vec<Measurement>,
    /// Where CRS points fall on the screen, for the labels.
    pub screen: Option<Screen>,
    pub message: Option<String>,
    /// Another tool needs the terrain (the profile's ground line).
    pub wants_terrain: bool,
    /// The measurement being edited: a click moves its vertex nearest the place clicked.
    pub editing: Option<usize>,
    /// The ground and surface models the figures of the ground use.
    pub terrain: Option<Arc<TerrainModels>>,
    /// The terrain being built from the twin's clouds (native builds), or why it could not be.
    pub terrain_state: TerrainState,
}

/// Where the measure tool's terrain stands.
#[derive(Default)]
pub enum TerrainState {
    #[default]
    NotAsked,
    Building(std::sync::Mutex<std::sync::mpsc::Receiver<Result<TerrainModels, String>>>),
    Failed(String),
}

impl MeasureTool {
    /// A click at `p`: a vertex of the current measurement, which ends by itself for a point
    /// (one click) and a distance (two).
    pub fn pick(&mut self, p: DVec3) {
        if self.kind == MeasureKind::Off {
            return;
        }
        self.current.push(p);
        let ends_itself = match self.kind {
            MeasureKind::Point => true,
            MeasureKind::Distance => self.current.len() == 2,
            _ => false,
        };
        if ends_itself {
            self.finish();
        }
    }

    /// Moves the vertex of measurement `index` nearest to `p` there (editing).
    pub fn move_nearest_vertex(&mut self, index: usize, p: DVec3) {
        if let Some(vertex) = self.done.get_mut(index).and_then(|m| {
            m.points
                .iter_mut()
                .min_by(|a, b| a.distance(p).total_cmp(&b.distance(p)))
        }) {
            *vertex = p;
        }
    }

    /// Ends the current polyline or polygon (kept when it has enough vertices).
    pub fn finish(&mut self) {
        let m = Measurement {
            kind: self.kind,
            points: std::mem::take(&mut self.current),
        };
        if m.complete() {
            self.done.push(m);
        }
    }

    /// Takes back the last vertex placed, or else the last measurement.
    pub fn undo(&mut self) {
        if self.current.pop().is_none() {
            self.done.pop();
        }
    }

    /// The measurements as a GeoJSON FeatureCollection in the twin's CRS (`crs` named when
    /// its EPSG code is known), each with its kind and figures; with `frame`, a WGS 84
    /// longitude/latitude copy of each geometry under `wgs84`.
    pub fn geojson(&self, frame: Option<&GeoFrame>) -> Value {
        let features: Vec<Value> = self
            .done
            .iter()
            .map(|m| {
                let coords = |points: &[DVec3], map: &dyn Fn(DVec3) -> Option<[f64; 3]>| {
                    points.iter().map(|p| map(*p)).collect::<Option<Vec<_>>>()
                };
                let geometry = |c: Vec<[f64; 3]>| match m.kind {
                    MeasureKind::Point => json!({"type": "Point", "coordinates": c[0]}),
                    MeasureKind::Polygon => {
                        let mut ring = c.clone();
                        ring.push(c[0]);
                        json!({"type": "Polygon", "coordinates": [ring]})
                    }
                    _ => json!({"type": "LineString", "coordinates": c}),
                };
                let twin = coords(&m.points, &|p| Some(p.to_array())).unwrap_or_default();
                let mut properties = serde_json::Map::new();
                properties.insert("kind".into(), format!("{:?}", m.kind).to_lowercase().into());
                for (name, value) in m.figures(frame, self.terrain.as_deref()) {
                    properties.insert(name.into(), json!(value));
                }
                if let Some(lonlat) = frame.and_then(|f| {
                    coords(&m.points, &|p| wgs84(f, p).map(|(lo, la, h)| [lo, la, h]))
                }) {
                    properties.insert("wgs84".into(), geometry(lonlat));
                }
                json!({"type": "Feature", "geometry": geometry(twin), "properties": properties})
            })
            .collect();
        let mut out = json!({"type": "FeatureCollection", "features": features});
        if let Some(epsg) = frame.and_then(GeoFrame::projected_epsg) {
            out["crs"] = json!({"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{epsg}")}});
        }
        out
    }
}

/// The measure tool, for the viewer.
pub struct MeasurePlugin;

impl Plugin for MeasurePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<MeasureTool>().add_systems(
            PostUpdate,
            (click_to_measure, track_screen, provide_terrain)
                .chain()
                .after(crate::camera::CameraSystems::Apply),
        );
        // Clicks snap to the terrain's surface too (where no point or building is drawn: a
        // GeoTIFF terrain, gaps between points), where the clip keeps it.
        crate::camera::add_picker(app, |world, eye, direction| {
            let terrain = world.get_resource::<MeasureTool>()?.terrain.clone()?;
            let hit = crate::scenario::tools::surface_hit(&terrain.dsm, eye, direction)?;
            world
                .get_resource::<crate::camera::ClipVolume>()
                .is_none_or(|c| c.0.keeps(hit))
                .then_some(hit)
        });
    }
}

/// With a kind chosen, a click adds a vertex on what the twin draws under the cursor.
fn click_to_measure(
    mut commands: Commands,
    mut clicks: crate::camera::Clicks,
    tool: Res<MeasureTool>,
) {
    if tool.kind == MeasureKind::Off && tool.editing.is_none() {
        return;
    }
    let rays = clicks.rays();
    crate::camera::pick_along(&mut commands, rays, measure_hit);
}

/// What the pickers found under a click becomes a vertex; nothing there is said.
fn measure_hit(world: &mut World, hit: Option<DVec3>) {
    let mut tool = world.resource_mut::<MeasureTool>();
    match hit {
        Some(hit) if tool.editing.is_some() => {
            let index = tool.editing.unwrap_or_default();
            tool.move_nearest_vertex(index, hit);
        }
        Some(hit) => tool.pick(hit),
        None => tool.message = Some("nothing drawn under the cursor to measure".into()),
    }
}

/// Gives the tool a terrain: the scenario file's as soon as it is built, else, once there are
/// measurements (or a profile), one built from the twin's point clouds on a thread of its own
/// (native builds).
fn provide_terrain(
    mut tool: ResMut<MeasureTool>,
    scenarios: Option<Res<crate::scenario::view::ScenarioView>>,
    clouds: Option<Res<crate::pointcloud::streaming::PointClouds>>,
) {
    if tool.terrain.is_some() {
        return;
    }
    if let Some(territory) = scenarios.as_ref().and_then(|s| s.territory.as_ref()) {
        tool.terrain = Some(Arc::new(territory.models.clone()));
        return;
    }
    if tool.done.is_empty() && !tool.wants_terrain {
        return;
    }
    match &tool.terrain_state {
        TerrainState::NotAsked => {
            let sources = clouds
                .map(|c| crate::pointcloud::layer::layers_sources(&c.layers))
                .unwrap_or_default();
            if sources.is_empty() {
                return;
            }
            #[cfg(not(target_arch = "wasm32"))]
            {
                let (send, receive) = std::sync::mpsc::channel();
                let spawned = std::thread::Builder::new()
                    .name("jumeau-measure-terrain".into())
                    .spawn(move || {
                        let built = crate::terrain::build::from_sources(&sources, None)
                            .map(|b| b.models)
                            .map_err(|e| format!("the terrain for measuring: {e}"));
                        let _ = send.send(built);
                    });
                tool.terrain_state = match spawned {
                    Ok(_) => TerrainState::Building(std::sync::Mutex::new(receive)),
                    Err(e) => TerrainState::Failed(e.to_string()),
                };
            }
            #[cfg(target_arch = "wasm32")]
            {
                tool.terrain_state = TerrainState::Failed(
                    "heights above the ground and volumes need a scenario file's terrain here"
                        .into(),
                );
            }
        }
        TerrainState::Building(receive) => {
            let received = receive.lock().ok().and_then(|r| r.try_recv().ok());
            match received {
                Some(Ok(models)) => tool.terrain = Some(Arc::new(models)),
                Some(Err(e)) => tool.terrain_state = TerrainState::Failed(e),
                None => {}
            }
        }
        TerrainState::Failed(_) => {}
    }
}

fn track_screen(screen: crate::network::render::ScreenNow, mut tool: ResMut<MeasureTool>) {
    if (tool.kind != MeasureKind::Off || !tool.done.is_empty())
        && let Some(screen) = screen.get()
    {
        tool.screen = Some(screen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ground at 40 m on a slope of 1 in 10 eastwards, a 10 m high block of 20 × 20 m on
    /// it (DSM), at Lambert-93 magnitudes, 0.5 m cells.
    fn hill_with_a_block() -> TerrainModels {
        use crate::terrain::{Grid, Raster};
        let grid = Grid {
            min_xy: DVec2::new(651_000.0, 6_861_000.0),
            cell_m: 0.5,
            cols: 200,
            rows: 200,
        };
        let mut dtm = Raster::filled(grid, 0.0);
        let mut dsm = Raster::filled(grid, 0.0);
        for row in 0..grid.rows {
            for col in 0..grid.cols {
                let x = (col as f64 + 0.5) * 0.5;
                let y = (row as f64 + 0.5) * 0.5;
                let ground = 40.0 + 0.1 * x;
                let block = (40.0..60.0).contains(&x) && (40.0..60.0).contains(&y);
                dtm.values[row * grid.cols + col] = ground as f32;
                dsm.values[row * grid.cols + col] =
                    (ground + if block { 10.0 } else { 0.0 }) as f32;
            }
        }
        TerrainModels {
            top_class: vec![2; grid.cols * grid.rows],
            dtm,
            dsm,
        }
    }

    /// Heights above the ground, the draped area and the block's volume, against the analytic
    /// scene: area within 0.1 %, volume within 0.5 %.
    #[test]
    fn clicks_snap_to_the_terrain_where_the_clip_keeps_it() {
        let mut app = App::new();
        app.add_plugins(MeasurePlugin);
        app.world_mut().resource_mut::<MeasureTool>().terrain = Some(Arc::new(hill_with_a_block()));
        let pick = |app: &App, eye: DVec3| {
            let world = app.world();
            world
                .resource::<crate::camera::Pickers>()
                .nearest(world, eye, DVec3::NEG_Z)
        };
        // Straight down onto the block's roof: ground 40 + 0.1 × 50, plus 10 m.
        let above = DVec3::new(651_050.0, 6_861_050.0, 200.0);
        let hit = pick(&app, above).expect("the roof");
        assert!((hit.z - 55.0).abs() < 0.05, "{hit}");
        assert!(pick(&app, DVec3::new(640_000.0, 6_861_050.0, 200.0)).is_none());
        // A section plane at 50 m cuts the roof away: a clipped surface is not reported.
        app.world_mut()
            .insert_resource(crate::camera::ClipVolume(crate::spatial::Clipping {
                section: Some(crate::spatial::clip::Section {
                    point: [651_000.0, 6_861_000.0, 50.0],
                    normal: [0.0, 0.0, 1.0],
                }),
                ..Default::default()
            }));
        assert!(pick(&app, above).is_none());
    }

    #[test]
    fn editing_moves_the_vertex_nearest_the_click() {
        let p = |x: f64| DVec3::new(651_000.0 + x, 6_861_000.0, 40.0);
        let mut tool = MeasureTool {
            done: vec![Measurement {
                kind: MeasureKind::Polyline,
                points: vec![p(0.0), p(10.0), p(20.0)],
            }],
            ..Default::default()
        };
        tool.move_nearest_vertex(0, p(11.5));
        assert_eq!(tool.done[0].points, [p(0.0), p(11.5), p(20.0)]);
        tool.move_nearest_vertex(3, p(0.0));
        assert_eq!(tool.done[0].points.len(), 3);
    }

    #[test]
    fn the_ground_gives_heights_draped_areas_and_volumes() {
        let terrain = hill_with_a_block();
        let at = |x: f64, y: f64, z: f64| DVec3::new(651_000.0 + x, 6_861_000.0 + y, z);
        let point = Measurement {
            kind: MeasureKind::Point,
            points: vec![at(30.0, 30.0, 52.5)],
        };
        let f: std::collections::HashMap<_, _> =
            point.figures(None, Some(&terrain)).into_iter().collect();
        // The ground there: 40 + 0.1 × 30 = 43 m.
        assert!((f["height_above_ground_m"] - 9.5).abs() < 1e-3, "{f:?}");
        let polygon = Measurement {
            kind: MeasureKind::Polygon,
            points: vec![
                at(30.0, 30.0, 0.0),
                at(70.0, 30.0, 0.0),
                at(70.0, 70.0, 0.0),
                at(30.0, 70.0, 0.0),
            ],
        };
        let f: std::collections::HashMap<_, _> =
            polygon.figures(None, Some(&terrain)).into_iter().collect();
        assert!((f["area_m2"] - 1600.0).abs() < 1e-6);
        // On a 1 in 10 slope the surface is √1.01 times the map area.
        let draped = 1600.0 * 1.01f64.sqrt();
        assert!(
            (f["draped_area_m2"] - draped).abs() < draped * 1e-3,
            "{f:?}"
        );
        assert!((f["volume_above_ground_m3"] - 4000.0).abs() < 20.0, "{f:?}");
        assert!(f["volume_below_ground_m3"].abs() < 1e-6);
        let bend = Measurement {
            kind: MeasureKind::Polyline,
            points: vec![
                at(0.0, 0.0, 40.0),
                at(10.0, 0.0, 40.0),
                at(10.0, 10.0, 40.0),
            ],
        };
        let f: std::collections::HashMap<_, _> = bend.figures(None, None).into_iter().collect();
        assert!((f["angle_deg"] - 90.0).abs() < 1e-9);
    }

    /// Lambert-93 magnitudes: the figures keep the millimetre.
    fn p(x: f64, y: f64, z: f64) -> DVec3 {
        DVec3::new(651_000.0 + x, 6_861_000.0 + y, z)
    }

    #[test]
    fn clicks_make_points_distances_polylines_and_polygons() {
        let mut tool = MeasureTool {
            kind: MeasureKind::Distance,
            ..Default::default()
        };
        tool.pick(p(0.0, 0.0, 40.0));
        assert!(tool.done.is_empty());
        tool.pick(p(3.0, 4.0, 52.0));
        assert_eq!(tool.done.len(), 1);
        let f = tool.done[0].figures(None, None);
        assert!((f[0].1 - 13.0).abs() < 1e-9 && (f[1].1 - 5.0).abs() < 1e-9);
        assert_eq!(tool.done[0].label(), "13.00 m (Δz +12.00 m)");
        tool.kind = MeasureKind::Polygon;
        for q in [p(0.0, 0.0, 0.0), p(10.0, 0.0, 0.0), p(10.0, 5.0, 0.0)] {
            tool.pick(q);
        }
        // A fourth vertex taken back, then finished: a right triangle of 25 m².
        tool.pick(p(0.0, 5.0, 0.0));
        tool.undo();
        tool.finish();
        let f = tool.done[1].figures(None, None);
        assert!((f[0].1 - 25.0).abs() < 1e-9, "{f:?}");
        assert!((f[1].1 - (15.0 + 125f64.sqrt())).abs() < 1e-9);
        // A polygon of two vertices is dropped; undo then takes back the last measurement.
        tool.pick(p(0.0, 0.0, 0.0));
        tool.pick(p(1.0, 0.0, 0.0));
        tool.finish();
        assert_eq!(tool.done.len(), 2);
        tool.undo();
        assert_eq!(tool.done.len(), 1);
    }

    #[test]
    fn a_click_takes_the_nearest_drawn_surface_and_nothing_there_is_said() {
        let mut app = App::new();
        app.init_resource::<MeasureTool>();
        // Two capabilities draw along a downward ray, at 10 m and 4 m from the eye.
        crate::camera::add_picker(&mut app, |_, eye, d| (d.z < 0.0).then(|| eye + d * 10.0));
        crate::camera::add_picker(&mut app, |_, eye, d| (d.z < 0.0).then(|| eye + d * 4.0));
        app.world_mut().resource_mut::<MeasureTool>().kind = MeasureKind::Point;
        let eye = p(0.0, 0.0, 50.0);
        app.add_systems(Update, move |mut commands: Commands| {
            crate::camera::pick_along(&mut commands, vec![(eye, DVec3::NEG_Z)], measure_hit);
        });
        app.update();
        let tool = app.world().resource::<MeasureTool>();
        assert_eq!(tool.done.len(), 1);
        assert_eq!(tool.done[0].points[0], p(0.0, 0.0, 46.0), "the nearest one");
        let mut app = App::new();
        app.init_resource::<MeasureTool>();
        crate::camera::add_picker(&mut app, |_, eye, d| (d.z < 0.0).then(|| eye + d * 10.0));
        app.world_mut().resource_mut::<MeasureTool>().kind = MeasureKind::Point;
        app.add_systems(Update, move |mut commands: Commands| {
            crate::camera::pick_along(&mut commands, vec![(eye, DVec3::Z)], measure_hit);
        });
        app.update();
        let tool = app.world().resource::<MeasureTool>();
        assert!(tool.done.is_empty());
        assert!(
            tool.message
                .as_deref()
                .is_some_and(|m| m.contains("nothing drawn"))
        );
    }

    #[test]
    fn measurements_export_as_geojson_in_the_twin_crs_and_wgs84() {
        let frame = GeoFrame::projected(2154).unwrap();
        let mut tool = MeasureTool {
            kind: MeasureKind::Point,
            ..Default::default()
        };
        tool.pick(p(0.0, 0.0, 35.0));
        tool.kind = MeasureKind::Polygon;
        for q in [p(0.0, 0.0, 0.0), p(10.0, 0.0, 0.0), p(10.0, 5.0, 0.0)] {
            tool.pick(q);
        }
        tool.finish();
        let g = tool.geojson(Some(&frame));
        assert_eq!(g["crs"]["properties"]["name"], "urn:ogc:def:crs:EPSG::2154");
        let point = &g["features"][0];
        assert_eq!(point["geometry"]["coordinates"][0], 651_000.0);
        let lon = point["properties"]["longitude_deg"].as_f64().unwrap();
        let lat = point["properties"]["latitude_deg"].as_f64().unwrap();
        // Lambert-93 (651 000, 6 861 000) is by Paris.
        assert!(
            (lon - 2.34).abs() < 0.05 && (lat - 48.85).abs() < 0.05,
            "{lon} {lat}"
        );
        let polygon = &g["features"][1];
        let ring = polygon["geometry"]["coordinates"][0].as_array().unwrap();
        assert_eq!(ring.len(), 4, "closed");
        assert_eq!(ring[0], ring[3]);
        assert_eq!(polygon["properties"]["area_m2"], 25.0);
        assert_eq!(polygon["properties"]["wgs84"]["type"], "Polygon");
    }
}
