//! Scenarios in the 3D view: runs off the main thread (cancellable, with progress), the chosen
//! result drawn as a translucent overlay (water as a flat surface at its level, shadows and
//! hours of sun draped on the surface), the flood level as a live threshold, and the sun
//! aimed at a shadow scenario's time so that buildings cast and receive shadows.

use super::file::{ScenarioFile, ScenarioKind};
use super::flood::WaterDisplay;
use super::map::{OVERLAY_MAX_SIDE, OverlayImage};
use super::run::{RunError, ScenarioResult, Territory, run_scenario};
use crate::camera::StreamingView;
use crate::jobs::{Task, WorkerPool};
use bevy::asset::RenderAssetUsages;
use bevy::math::{DVec2, DVec3};
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, Extent3d, TextureDimension, TextureFormat};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Scenarios in the twin: add it, then insert a [`ScenarioView`] holding a file to run.
pub struct ScenarioPlugin;

impl Plugin for ScenarioPlugin {
    fn build(&self, app: &mut App) {
        if app.is_plugin_added::<bevy::render::RenderPlugin>() {
            crate::pointcloud::render::register_shader(
                app,
                &SPLIT_SHADER,
                include_str!("../../shaders/scenario/split.wgsl"),
                "shaders/scenario/split.wgsl",
            );
            app.add_plugins(MaterialPlugin::<OverlayMaterial>::default());
        } else {
            // Without rendering (tests, tools) the overlays are still made, as assets only.
            app.init_asset::<OverlayMaterial>();
        }
        app.init_resource::<ScenarioView>().add_systems(
            PostUpdate,
            (collect_runs, show_overlay, place_overlay, aim_the_sun)
                .chain()
                .after(crate::camera::CameraSystems::Apply)
                .before(bevy::transform::TransformSystems::Propagate),
        );
    }
}

/// A run in flight.
pub struct Running {
    pub cancel: Arc<AtomicBool>,
    /// Scenarios finished.
    pub done: Arc<AtomicUsize>,
    pub total: usize,
}

/// The scenario file of the twin, its results and what the view shows of them.
#[derive(Resource)]
pub struct ScenarioView {
    /// The file and the folder its paths are relative to.
    pub file: Option<(ScenarioFile, PathBuf)>,
    pub territory: Option<Arc<Territory>>,
    /// The last run that finished; a failed or cancelled run leaves it as it was.
    pub results: Vec<ScenarioResult>,
    /// The file's `[compare]`: the difference right − left of two results (or `today`).
    pub comparison: Option<ScenarioResult>,
    /// Index of the one shown: into `results`, then the comparison after them.
    pub selected: Option<usize>,
    /// The flood's water level, metres (the slider).
    pub level_m: f32,
    /// The roll-out's time-lapse day (days from 1970-01-01); `None`: the day of the result.
    /// The split view shows each side on its own day.
    pub day: Option<i32>,
    /// Whether the time-lapse plays, and when it last stepped (seconds of the panel's clock).
    pub playing: Option<f64>,
    pub running: Option<Running>,
    /// The last run's error or cancellation.
    pub message: Option<String>,
    /// Whether the next frame starts a run (set when a file is given).
    pub run_requested: bool,
    /// Where built terrain is kept between runs.
    pub cache: Option<PathBuf>,
    /// The scenario to show when results arrive (default: the first).
    pub select_id: Option<String>,
    pool: WorkerPool<RunTask>,
    runs: u64,
    /// Two results side by side, under one camera.
    pub split: Option<Split>,
    /// What the overlays show: (result index, side), at a level; the water at the display's
    /// resolution for each flood shown.
    shown: Option<Shown>,
    water: Vec<(usize, WaterDisplay)>,
    /// Eye-dome lighting as it was before an overlay turned it off (it reads depth from the
    /// target's alpha, which a translucent overlay blends).
    edl_before: Option<bool>,
}

impl Default for ScenarioView {
    fn default() -> Self {
        let workers = if cfg!(target_arch = "wasm32") { 0 } else { 1 };
        Self {
            file: None,
            territory: None,
            results: Vec::new(),
            comparison: None,
            selected: None,
            level_m: 0.0,
            day: None,
            playing: None,
            running: None,
            message: None,
            run_requested: false,
            cache: None,
            select_id: None,
            pool: WorkerPool::new(workers, "scenario"),
            runs: 0,
            split: None,
            shown: None,
            water: Vec::new(),
            edl_before: None,
        }
    }
}

impl ScenarioView {
    /// A view that runs `file` (paths relative to `base`) as soon as the twin starts.
    pub fn with_file(file: ScenarioFile, base: PathBuf) -> Self {
        Self {
            file: Some((file, base)),
            run_requested: true,
            ..Default::default()
        }
    }

    /// The same view with its territory already loaded (the web page builds it while it can
    /// still wait for requests): the runs go straight to the scenarios.
    pub fn with_territory(mut self, territory: Arc<Territory>) -> Self {
        self.territory = Some(territory);
        self
    }

    /// The same view running its scenarios on the main thread, inside the next update (tests
    /// and tools that step the app).
    pub fn on_main_thread(mut self) -> Self {
        self.pool = WorkerPool::new(0, "scenario");
        self
    }

    /// Starts running every scenario of the file off the main thread (the terrain is built
    /// first, once).
    pub fn start_run(&mut self) {
        let Some((file, base)) = self.file.clone() else {
            return;
        };
        if self.running.is_some() {
            return;
        }
        let running = Running {
            cancel: Arc::new(AtomicBool::new(false)),
            done: Arc::new(AtomicUsize::new(0)),
            total: file.scenarios.len(),
        };
        self.runs += 1;
        self.pool.push(vec![RunTask {
            run: self.runs,
            file,
            base,
            cache: self.cache.clone(),
            territory: self.territory.clone(),
            cancel: running.cancel.clone(),
            done: running.done.clone(),
        }]);
        self.running = Some(running);
        self.message = None;
    }

    /// Whether nothing is left to run or show: no run asked for or in flight, the overlay up
    /// to date.
    pub fn is_settled(&self) -> bool {
        !self.run_requested && self.running.is_none() && self.wanted() == self.shown
    }

    /// What the overlays should show: the selected result across the view, or the split's two
    /// results each on its side (−1 left, +1 right), at the level.
    fn wanted(&self) -> Option<Shown> {
        let (sides, day) = match (&self.split, self.selected) {
            (Some(split), _) => (vec![(split.left, -1.0), (split.right, 1.0)], None),
            (None, Some(i)) => (vec![(i, 0.0)], self.day),
            (None, None) => return None,
        };
        Some((sides, self.level_m, day))
    }

    /// Makes the overlays again (their results changed in place).
    pub fn refresh(&mut self) {
        self.shown = None;
        self.water.clear();
    }

    /// Asks the run in flight to stop; its results are dropped and the previous kept.
    pub fn cancel(&self) {
        if let Some(r) = &self.running {
            r.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Result `index`: a scenario's, or the comparison after them.
    pub fn result(&self, index: usize) -> Option<&ScenarioResult> {
        self.results.get(index).or_else(|| {
            (index == self.results.len())
                .then_some(self.comparison.as_ref())
                .flatten()
        })
    }

    /// The result shown.
    pub fn selected_result(&self) -> Option<&ScenarioResult> {
        self.selected.and_then(|i| self.result(i))
    }

    /// The slider's range for the shown flood: the file's `levels_m`, else from its ground's
    /// lowest point to 20 m above its level.
    pub fn level_range(&self) -> (f32, f32) {
        let ground = self
            .territory
            .as_ref()
            .and_then(|t| t.models.dtm.range())
            .map_or(0.0, |r| r.0);
        let spec = self.selected_result().and_then(|r| {
            self.file
                .as_ref()
                .and_then(|(f, _)| f.scenarios.iter().find(|s| s.id == r.id))
        });
        match spec.and_then(|s| s.levels_m) {
            Some([lo, hi]) => (lo as f32, hi as f32),
            None => {
                let level = spec
                    .and_then(|s| s.level_m)
                    .map_or(ground + 5.0, |l| l as f32);
                (ground, level.max(ground) + 20.0)
            }
        }
    }
}

/// What the overlays show: (result index, side of the split) each, the flood level, the
/// roll-out's day.
type Shown = (Vec<(usize, f32)>, f32, Option<i32>);

struct RunTask {
    run: u64,
    file: ScenarioFile,
    base: PathBuf,
    cache: Option<PathBuf>,
    territory: Option<Arc<Territory>>,
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
}

type RunOutput = Result<(Arc<Territory>, Vec<ScenarioResult>), RunError>;

impl Task for RunTask {
    type Key = u64;
    type Output = RunOutput;

    fn key(&self) -> u64 {
        self.run
    }

    fn run(self) -> RunOutput {
        let territory = match self.territory {
            Some(t) => t,
            None => Arc::new(Territory::load(
                &self.file,
                &self.base,
                self.cache.as_deref(),
            )?),
        };
        let cancelled = || self.cancel.load(Ordering::Relaxed);
        let mut results = Vec::new();
        for scenario in &self.file.scenarios {
            results.push(run_scenario(&territory, scenario, &cancelled)?);
            self.done.fetch_add(1, Ordering::Relaxed);
        }
        Ok((territory, results))
    }
}

fn collect_runs(mut view: ResMut<ScenarioView>) {
    if view.run_requested {
        view.run_requested = false;
        view.start_run();
    }
    view.pool.run_inline_if_single_threaded();
    for output in view.pool.try_results() {
        view.running = None;
        match output {
            Ok((territory, results)) => {
                view.comparison = view
                    .file
                    .as_ref()
                    .and_then(|(file, _)| comparison(file, &territory, &results));
                view.territory = Some(territory);
                view.results = results;
                let wanted = view
                    .select_id
                    .as_ref()
                    .and_then(|id| view.results.iter().position(|r| &r.id == id));
                view.selected = wanted.or((!view.results.is_empty()).then_some(0));
                view.shown = None;
                view.day = None;
                view.playing = None;
                view.water.clear();
                view.split = view.file.as_ref().and_then(|(file, _)| {
                    let c = file.compare.as_ref()?;
                    let at = |id: &str| view.results.iter().position(|r| r.id == id);
                    Some(Split {
                        left: at(&c.left)?,
                        right: at(&c.right)?,
                        divider: 0.5,
                    })
                });
                if let Some(level) = view.selected_result().and_then(flood_level) {
                    view.level_m = level;
                }
            }
            Err(e) => {
                warn!("scenario run: {e}");
                view.message = Some(e.to_string());
            }
        }
    }
}

/// The file's comparison as a result to show: the difference right − left.
fn comparison(
    file: &ScenarioFile,
    territory: &Territory,
    results: &[ScenarioResult],
) -> Option<ScenarioResult> {
    let c = file.compare.as_ref()?;
    let diff = super::run::compared(c, results, &territory.models.dtm);
    let changed = super::run::changed_area_m2(&diff);
    let legend = super::map::difference_legend(&diff);
    let find = |id: &str| results.iter().find(|r| r.id == id);
    let mut figures = serde_json::Map::new();
    figures.insert("left".into(), c.left.clone().into());
    figures.insert("right".into(), c.right.clone().into());
    figures.insert("changed_area_m2".into(), changed.round().into());
    Some(ScenarioResult {
        id: format!("{}-{}", c.left, c.right),
        kind: find(&c.left)
            .or(find(&c.right))
            .map_or(ScenarioKind::Flood, |r| r.kind),
        title: format!("{} → {}", c.left, c.right),
        raster: diff,
        legend,
        figures,
        columns: Vec::new(),
        connection: None,
        timeline: None,
        coverage: None,
    })
}

/// The level a flood result was run at.
fn flood_level(result: &ScenarioResult) -> Option<f32> {
    (result.kind == ScenarioKind::Flood)
        .then(|| {
            result
                .figures
                .get("level_m")
                .and_then(serde_json::Value::as_f64)
        })
        .flatten()
        .map(|l| l as f32)
}

/// Two results side by side: `left` and `right` index the view's results (the comparison
/// after them); `divider` is where the halves meet, as a fraction of the free view's width.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Split {
    pub left: usize,
    pub right: usize,
    pub divider: f32,
}

/// An overlay entity: where it sits in the CRS, the result it shows and its side of the split.
#[derive(Component)]
pub struct ScenarioOverlay {
    pub origin: DVec3,
    pub index: usize,
    /// −1 left of the divider, +1 right, 0 the whole view.
    pub side: f32,
    /// Draped on the surface (pulled towards the eye), not a water surface at its level.
    pub draped: bool,
    image: Handle<Image>,
    material: Handle<OverlayMaterial>,
}

/// The overlays' material: unlit, translucent, clipped to its side of the divider.
pub type OverlayMaterial = bevy::pbr::ExtendedMaterial<StandardMaterial, SplitClip>;

/// The divider's plane for one overlay. Must match `SplitClip` in
/// `shaders/scenario/split.wgsl`.
#[derive(Asset, AsBindGroup, Reflect, Debug, Clone, Default)]
pub struct SplitClip {
    #[uniform(100)]
    pub plane: Vec4,
}

impl bevy::pbr::MaterialExtension for SplitClip {
    fn fragment_shader() -> bevy::shader::ShaderRef {
        bevy::shader::ShaderRef::Handle(SPLIT_SHADER)
    }
}

/// The split shader, embedded.
pub const SPLIT_SHADER: Handle<Shader> =
    bevy::asset::uuid_handle!("5b8e2c41-7d3a-4f09-9e61-2a4c8d7f1b35");

/// Height of draped overlays above the surface, metres (no z-fighting with roofs and ground).
const DRAPE_LIFT_M: f64 = 0.4;
/// Draped overlays are scaled about the eye by this factor: the same image on screen, each
/// fragment nearer by 0.5 % of its distance. Point splats carry their centre's depth over
/// several metres of ground at a distance, and would otherwise hide a surface 0.4 m above
/// the ground (the compute rasterizer writes its depth before the translucent pass).
const DRAPE_PULL: f32 = 0.995;
/// Vertices a side of a draped overlay's mesh.
const DRAPE_SIDE: usize = 256;

fn show_overlay(
    mut commands: Commands,
    mut view: ResMut<ScenarioView>,
    mut point_settings: Option<ResMut<crate::pointcloud::PointCloudSettings>>,
    mut overlays: Query<(Entity, &mut ScenarioOverlay)>,
    mut images: ResMut<Assets<Image>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<OverlayMaterial>>,
) {
    let wanted = view.wanted();
    if wanted == view.shown {
        return;
    }
    let (Some((sides, level, day)), Some(territory)) = (wanted.clone(), view.territory.clone())
    else {
        for (entity, _) in &overlays {
            commands.entity(entity).despawn();
        }
        view.shown = None;
        if let (Some(edl), Some(settings)) = (view.edl_before.take(), point_settings.as_mut()) {
            settings.edl = edl;
        }
        return;
    };
    let Some(results) = sides
        .iter()
        .map(|&(i, _)| view.result(i).cloned())
        .collect::<Option<Vec<_>>>()
    else {
        return;
    };
    let models = &territory.models;
    // Water is a surface at its level; anything else (a difference too) drapes.
    let is_water = |r: &ScenarioResult| r.kind == ScenarioKind::Flood && r.connection.is_some();
    let images_now: Vec<OverlayImage> = sides
        .iter()
        .zip(&results)
        .map(|(&(index, _), result)| match &result.connection {
            Some(connection) if is_water(result) => {
                if !view.water.iter().any(|(i, _)| *i == index) {
                    let display = WaterDisplay::new(&models.dtm, connection, OVERLAY_MAX_SIDE);
                    view.water.push((index, display));
                }
                view.water
                    .iter()
                    .find(|(i, _)| *i == index)
                    .map(|(_, w)| w.image(level, &result.legend))
                    .unwrap_or_else(|| OverlayImage::of_raster(&result.raster, &result.legend, 1))
            }
            _ => match (&result.timeline, day) {
                (Some(timeline), Some(day)) => OverlayImage::of_raster(
                    &timeline.served_on(crate::network::model::Day(day)),
                    &result.legend,
                    OVERLAY_MAX_SIDE,
                ),
                _ => OverlayImage::of_raster(&result.raster, &result.legend, OVERLAY_MAX_SIDE),
            },
        })
        .collect();
    let same_overlays = view
        .shown
        .as_ref()
        .is_some_and(|(shown, _, _)| *shown == sides);
    view.shown = wanted;
    if same_overlays {
        // A level or day change: new texels, water surfaces moved to the new level.
        for (_, mut overlay) in &mut overlays {
            let Some(k) = sides
                .iter()
                .position(|&(i, side)| i == overlay.index && side == overlay.side)
            else {
                continue;
            };
            if results[k].timeline.is_some()
                && let Some(mut target) = images.get_mut(&overlay.image)
            {
                target.data = Some(images_now[k].rgba.clone());
            }
            if is_water(&results[k]) {
                if let Some(mut target) = images.get_mut(&overlay.image) {
                    target.data = Some(images_now[k].rgba.clone());
                }
                overlay.origin.z = f64::from(level);
            }
        }
        return;
    }
    for (entity, _) in &overlays {
        commands.entity(entity).despawn();
    }
    if let Some(settings) = point_settings.as_mut()
        && view.edl_before.is_none()
    {
        view.edl_before = Some(settings.edl);
        settings.edl = false;
    }
    let (lo, hi) = models.grid().extent();
    let centre = (lo + hi) / 2.0;
    for ((&(index, side), result), image) in sides.iter().zip(&results).zip(images_now) {
        let texture = images.add(Image::new(
            Extent3d {
                width: image.width,
                height: image.height,
                depth_or_array_layers: 1,
            },
            TextureDimension::D2,
            image.rgba,
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::RENDER_WORLD | RenderAssetUsages::MAIN_WORLD,
        ));
        let (mesh, origin) = if is_water(result) {
            (
                flat_mesh(lo - centre, hi - centre),
                centre.extend(f64::from(level)),
            )
        } else {
            (draped_mesh(&models.dsm, centre), centre.extend(0.0))
        };
        let material = materials.add(OverlayMaterial {
            base: StandardMaterial {
                base_color_texture: Some(texture.clone()),
                alpha_mode: AlphaMode::Blend,
                unlit: true,
                double_sided: true,
                cull_mode: None,
                ..default()
            },
            extension: SplitClip {
                plane: Vec4::new(1.0, 0.0, 0.0, side),
            },
        });
        commands.spawn((
            Mesh3d(meshes.add(mesh)),
            MeshMaterial3d(material.clone()),
            Transform::default(),
            bevy::light::NotShadowCaster,
            ScenarioOverlay {
                origin,
                index,
                side,
                draped: !is_water(result),
                image: texture,
                material,
            },
        ));
    }
}

/// A horizontal rectangle from `lo` to `hi` (offsets from its origin), textured north-up.
fn flat_mesh(lo: DVec2, hi: DVec2) -> Mesh {
    let corners = [
        (lo.x, lo.y, 0.0, 1.0),
        (hi.x, lo.y, 1.0, 1.0),
        (hi.x, hi.y, 1.0, 0.0),
        (lo.x, hi.y, 0.0, 0.0),
    ];
    let positions: Vec<[f32; 3]> = corners
        .iter()
        .map(|&(x, y, _, _)| crate::georef::world_from_crs(DVec3::new(x, y, 0.0)))
        .collect();
    let uvs: Vec<[f32; 2]> = corners
        .iter()
        .map(|&(_, _, u, v)| [u as f32, v as f32])
        .collect();
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::RENDER_WORLD,
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, vec![[0.0, 1.0, 0.0]; 4])
    .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, uvs)
    .with_inserted_indices(Indices::U32(vec![0, 1, 2, 0, 2, 3]))
}

/// A grid mesh following `surface` (lifted a little), centred on `centre` in x and y.
fn draped_mesh(surface: &crate::terrain::Raster, centre: DVec2) -> Mesh {
    let (lo, hi) = surface.grid.extent();
    let n = DRAPE_SIDE;
    let mut positions = Vec::with_capacity(n * n);
    let mut uvs = Vec::with_capacity(n * n);
    for j in 0..n {
        for i in 0..n {
            let (u, v) = (i as f64 / (n - 1) as f64, j as f64 / (n - 1) as f64);
            let xy = DVec2::new(lo.x + u * (hi.x - lo.x), hi.y - v * (hi.y - lo.y));
            // Highest of the cells around: the overlay never dips into a roof.
            let z = surface.sample(xy).unwrap_or(0.0) + DRAPE_LIFT_M;
            positions.push(crate::georef::world_from_crs((xy - centre).extend(z)));
            uvs.push([u as f32, v as f32]);
        }
    }
    let mut indices = Vec::with_capacity((n - 1) * (n - 1) * 6);
    for j in 0..n - 1 {
        for i in 0..n - 1 {
            let a = (j * n + i) as u32;
            let (b, c, d) = (a + 1, a + n as u32, a + n as u32 + 1);
            indices.extend([a, c, b, b, c, d]);
        }
    }
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::RENDER_WORLD,
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, vec![[0.0, 1.0, 0.0]; n * n])
    .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, uvs)
    .with_inserted_indices(Indices::U32(indices))
}

/// The overlay follows the camera-relative frame.
fn place_overlay(
    view: Option<Res<StreamingView>>,
    scenarios: Res<ScenarioView>,
    inset: Option<Res<crate::camera::ViewInset>>,
    cameras: Query<(&Camera, &GlobalTransform), With<crate::camera::ViewerCamera>>,
    mut overlays: Query<(&ScenarioOverlay, &mut Transform)>,
    mut materials: ResMut<Assets<OverlayMaterial>>,
) {
    let Some(view) = view else {
        return;
    };
    // The divider's plane: through the eye (the render frame's origin) and the ray under the
    // divider, upright, so that it projects onto the screen as a vertical line.
    let normal = scenarios.split.and_then(|split| {
        let (camera, transform) = cameras.iter().next()?;
        let size = camera.logical_viewport_size()?;
        let left = inset.as_ref().map_or(0.0, |i| i.left_px)
            / camera.target_scaling_factor().unwrap_or(1.0);
        let x = left + split.divider.clamp(0.0, 1.0) * (size.x - left);
        let ray = camera
            .viewport_to_world(transform, Vec2::new(x, size.y / 2.0))
            .ok()?;
        Some(ray.direction.cross(Vec3::Y).normalize_or_zero())
    });
    for (overlay, mut transform) in &mut overlays {
        // Scaling about the eye (the frame's origin) keeps every ray: only depth changes.
        let pull = if overlay.draped { DRAPE_PULL } else { 1.0 };
        let translation =
            Vec3::from_array(crate::georef::world_from_crs(overlay.origin - view.eye)) * pull;
        if transform.translation != translation {
            transform.translation = translation;
            transform.scale = Vec3::splat(pull);
        }
        let plane = normal.unwrap_or(Vec3::X).extend(overlay.side);
        if materials
            .get(&overlay.material)
            .is_some_and(|m| m.extension.plane != plane)
            && let Some(mut material) = materials.get_mut(&overlay.material)
        {
            material.extension.plane = plane;
        }
    }
}

/// With a shadow scenario shown, the sun stands where the scenario puts it and casts shadows.
fn aim_the_sun(view: Res<ScenarioView>, mut suns: Query<(&mut DirectionalLight, &mut Transform)>) {
    if !view.is_changed() {
        return;
    }
    let Some(result) = view
        .selected_result()
        .filter(|r| r.kind == ScenarioKind::Shadow)
    else {
        return;
    };
    let (Some(azimuth), Some(altitude)) = (
        result
            .figures
            .get("sun_azimuth_deg")
            .and_then(serde_json::Value::as_f64),
        result
            .figures
            .get("sun_altitude_deg")
            .and_then(serde_json::Value::as_f64),
    ) else {
        return;
    };
    let north = view.territory.as_ref().map_or(0.0, |t| t.north.0);
    let (az, alt) = ((azimuth + north).to_radians(), altitude.to_radians());
    let to_sun = DVec3::new(az.sin() * alt.cos(), az.cos() * alt.cos(), alt.sin());
    let [x, y, z] = crate::georef::world_from_crs(to_sun);
    for (mut light, mut transform) in &mut suns {
        light.shadow_maps_enabled = altitude > 0.0;
        *transform = Transform::IDENTITY.looking_to(-Vec3::new(x, y, z), Vec3::Y);
    }
}

/// Counts of a result's values in `bins` equal bins over their range (zeros left out for
/// floods: dry cells), for the panel's histogram: (bin start, bin width, counts).
pub fn histogram(result: &ScenarioResult, bins: usize) -> (f32, f32, Vec<u64>) {
    let skip_zero = result.kind == ScenarioKind::Flood;
    let values = || {
        result
            .raster
            .values
            .iter()
            .copied()
            .filter(move |v| v.is_finite() && !(skip_zero && *v == 0.0))
    };
    let (lo, hi) = values().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0, vec![0; bins]);
    }
    let width = ((hi - lo) / bins as f32).max(1.0e-3);
    let mut counts = vec![0u64; bins];
    for v in values() {
        counts[(((v - lo) / width) as usize).min(bins - 1)] += 1;
    }
    (lo, width, counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terrain::{Grid, Raster, TerrainModels};

    /// The two bowls of the flood tests (centres 100 m apart, ridge at 31.25 m).
    fn bowls() -> Territory {
        let grid = Grid {
            min_xy: DVec2::ZERO,
            cell_m: 1.0,
            cols: 200,
            rows: 100,
        };
        let mut dtm = Raster::filled(grid, 0.0);
        for (i, v) in dtm.values.iter_mut().enumerate() {
            let (c, r) = grid.col_row(i);
            let p = grid.center(c, r);
            let d = p
                .distance(DVec2::new(50.0, 50.0))
                .min(p.distance(DVec2::new(150.0, 50.0)));
            *v = (d * d / 80.0) as f32;
        }
        Territory::new(TerrainModels::from_rasters(dtm, None), None)
    }

    const FILE: &str = r#"version = 1
name = "bowls"
[[scenarios]]
id = "crue"
kind = "flood"
seeds = [[50.0, 50.0]]
level_m = 10.0
"#;

    fn app() -> App {
        app_of(FILE)
    }

    fn app_of(text: &str) -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default()))
            .init_asset::<Image>()
            .init_asset::<Mesh>()
            .init_asset::<StandardMaterial>()
            .add_plugins(ScenarioPlugin);
        let file = ScenarioFile::parse("bowls.toml", text).unwrap();
        let mut view = ScenarioView::with_file(file, PathBuf::new());
        view.territory = Some(Arc::new(bowls()));
        // Runs on the main thread inside `collect_runs`: each step below is deterministic.
        view.pool = WorkerPool::new(0, "scenario-test");
        app.insert_resource(view);
        app
    }

    /// Alpha of the overlay's texel over `p` (the overlay spans the 200 × 100 m grid).
    fn alpha_at(app: &mut App, p: DVec2) -> u8 {
        texel_at(app, p)[3]
    }

    /// The overlay's texel over `p`.
    fn texel_at(app: &mut App, p: DVec2) -> [u8; 4] {
        let world = app.world_mut();
        let handle = world
            .query::<&ScenarioOverlay>()
            .single(world)
            .unwrap()
            .image
            .clone();
        let images = world.resource::<Assets<Image>>();
        let image = images.get(&handle).unwrap();
        let (w, h) = (image.width() as f64, image.height() as f64);
        let (x, y) = (
            (p.x / 200.0 * w) as usize,
            ((100.0 - p.y) / 100.0 * h) as usize,
        );
        let at = (y * w as usize + x) * 4;
        image.data.as_ref().unwrap()[at..at + 4].try_into().unwrap()
    }

    #[test]
    fn the_flood_shows_at_its_level_and_the_slider_moves_it() {
        let mut app = app();
        app.update();
        let view = app.world().resource::<ScenarioView>();
        assert_eq!(view.results.len(), 1);
        assert_eq!(view.level_m, 10.0);
        let origin = |app: &mut App| {
            let world = app.world_mut();
            world
                .query::<&ScenarioOverlay>()
                .single(world)
                .unwrap()
                .origin
        };
        assert_eq!(origin(&mut app).z, 10.0);
        let (a, b) = (DVec2::new(50.0, 50.0), DVec2::new(150.0, 50.0));
        assert!(alpha_at(&mut app, a) > 200);
        assert_eq!(alpha_at(&mut app, b), 0);
        // Above the ridge the water reaches the other bowl, on the same surface entity.
        app.world_mut().resource_mut::<ScenarioView>().level_m = 35.0;
        app.update();
        assert_eq!(origin(&mut app).z, 35.0);
        assert!(alpha_at(&mut app, b) > 200);
        let overlays = app
            .world_mut()
            .query::<&ScenarioOverlay>()
            .iter(app.world())
            .count();
        assert_eq!(overlays, 1);
    }

    #[test]
    fn the_comparison_shows_where_the_states_differ() {
        let text = format!(
            "{FILE}\n[[scenarios]]\nid = \"haute\"\nkind = \"flood\"\nseeds = [[50.0, 50.0]]\nlevel_m = 35.0\n\n[compare]\nleft = \"crue\"\nright = \"haute\"\n"
        );
        let mut app = app_of(&text);
        app.update();
        // The file's comparison opens as a split view: crue on the left, haute on the right.
        let sides = |app: &mut App| {
            let world = app.world_mut();
            let mut sides: Vec<(usize, f32)> = world
                .query::<&ScenarioOverlay>()
                .iter(world)
                .map(|o| (o.index, o.side))
                .collect();
            sides.sort_by(|a, b| a.1.total_cmp(&b.1));
            sides
        };
        assert_eq!(sides(&mut app), [(0, -1.0), (1, 1.0)]);
        // Without the split, the difference alone.
        let changed = {
            let mut view = app.world_mut().resource_mut::<ScenarioView>();
            assert_eq!(view.results.len(), 2);
            view.split = None;
            let comparison = view
                .result(2)
                .expect("the comparison follows the results")
                .clone();
            view.selected = Some(2);
            comparison.figures["changed_area_m2"].as_f64().unwrap()
        };
        // At 35 m both bowls hold water, at 10 m one disc: far more than one disc differs.
        assert!(changed > 2.0 * std::f64::consts::PI * 800.0, "{changed}");
        app.update();
        let world = app.world_mut();
        let overlay = world.query::<&ScenarioOverlay>().single(world).unwrap();
        assert_eq!(
            overlay.origin.z, 0.0,
            "a difference drapes, it is not water"
        );
        assert!(alpha_at(&mut app, DVec2::new(150.0, 50.0)) > 150);
    }

    #[test]
    fn the_time_lapse_shows_the_buildings_served_on_its_day() {
        use crate::network::model::{Day, Site, SiteKind, Status};
        let text = "version = 1\nname = \"fibre\"\n[[scenarios]]\nid = \"fibre\"\nkind = \"rollout\"\nnetwork = \"n.geojson\"\nat = \"2026-06-30\"\n";
        let mut app = app_of(text);
        let site = |id: &str, x: f64, date: &str| Site {
            id: id.into(),
            kind: SiteKind::Building,
            status: Status::Planned,
            position: DVec3::new(x, 50.0, 0.0),
            operator: None,
            in_service: Day::parse(date),
            properties: Default::default(),
        };
        {
            let mut view = app.world_mut().resource_mut::<ScenarioView>();
            let mut territory = bowls();
            territory.networks.push((
                "n.geojson".into(),
                vec![
                    site("early", 50.0, "2024-05-01"),
                    site("late", 150.0, "2026-02-01"),
                ],
            ));
            view.territory = Some(Arc::new(territory));
        }
        app.update();
        let legend = crate::scenario::map::rollout_legend();
        let (not_served, served) = (legend.stops[0].1, legend.stops[1].1);
        let (early, late) = (DVec2::new(50.0, 50.0), DVec2::new(150.0, 50.0));
        // On the scenario's day both are served.
        assert_eq!(texel_at(&mut app, early), served);
        assert_eq!(texel_at(&mut app, late), served);
        // Back to the end of 2025: the late one is not yet, on the same overlay.
        let overlay = |app: &mut App| {
            let world = app.world_mut();
            world
                .query_filtered::<Entity, With<ScenarioOverlay>>()
                .single(world)
                .unwrap()
        };
        let before = overlay(&mut app);
        app.world_mut().resource_mut::<ScenarioView>().day = Day::parse("2025-12-31").map(|d| d.0);
        app.update();
        assert_eq!(overlay(&mut app), before);
        assert_eq!(texel_at(&mut app, early), served);
        assert_eq!(texel_at(&mut app, late), not_served);
        let view = app.world().resource::<ScenarioView>();
        let timeline = view.results[0].timeline.as_ref().unwrap();
        let labels: Vec<&str> = timeline.quarters.iter().map(|q| q.label.as_str()).collect();
        assert_eq!(labels.first(), Some(&"2024-Q2"));
        assert_eq!(labels.last(), Some(&"2026-Q2"));
    }

    #[test]
    fn a_cancelled_run_keeps_the_results_before_it() {
        let mut app = app();
        app.update();
        {
            let mut view = app.world_mut().resource_mut::<ScenarioView>();
            view.level_m = 12.0;
            view.start_run();
            view.cancel();
        }
        app.update();
        let view = app.world().resource::<ScenarioView>();
        assert!(view.running.is_none());
        assert_eq!(view.results.len(), 1);
        assert_eq!(view.level_m, 12.0, "the slider stays where it was");
        assert_eq!(view.message.as_deref(), Some("the run was cancelled"));
    }
}
