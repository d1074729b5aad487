//! The project in the viewer: the view a project file keeps ([`ProjectState`]: camera, point
//! style, layers, bookmarks, annotations, measurements, clip) applied when it opens and
//! captured again by Save, which writes the file back with its data and scenarios untouched.
//! Bookmarks fly the camera to a named view; the tour flies through them in order, holding
//! each with its caption; annotations are text pinned where a click lands.

use crate::camera::{ClipVolume, ViewerCamera};
use crate::front::measure::{MeasureKind, MeasureTool, Measurement};
use crate::pointcloud::streaming::{PointCloudSettings, PointClouds};
use crate::scenario::ScenarioFile;
use crate::scenario::project::{
    Annotation, Bookmark, CameraSpec, LayerSpec, MeasurementKind, ProjectState, SavedMeasurement,
    StyleSpec,
};
use bevy::math::DVec3;
use bevy::prelude::*;
use std::path::PathBuf;

/// Seconds a flight between two views takes.
pub const FLIGHT_SECONDS: f64 = 2.5;
/// Seconds the tour holds each bookmark.
pub const HOLD_SECONDS: f64 = 5.0;

/// The project of the viewer.
#[derive(Resource, Default)]
pub struct Project {
    /// Where Save writes (`None`: `project.toml` in the working folder).
    pub path: Option<PathBuf>,
    /// The file as opened: its data, terrain and scenarios are written back as they were.
    pub file: Option<ScenarioFile>,
    pub bookmarks: Vec<Bookmark>,
    pub annotations: Vec<Annotation>,
    /// Layer states waiting for their layer to open (matched by name).
    pub pending_layers: Vec<LayerSpec>,
    pub flight: Option<Flight>,
    /// The tour: the bookmark shown or flown to, and when its hold ends.
    pub tour: Option<Tour>,
    /// The text the next click pins (the panel's *Pin a note*).
    pub pinning: Option<String>,
    pub message: Option<String>,
    /// What a new project file names as its data (the inputs of the command line).
    pub data: Vec<String>,
    /// The panel asked to save, or to open the project at this path.
    pub save_requested: bool,
    pub open_requested: Option<String>,
    /// The panel asked for a screenshot (the view with legend, scale bar and north arrow).
    pub screenshot_requested: bool,
    /// The app's clock (seconds) this frame, for flights started from the panel.
    pub clock: f64,
    /// Where CRS points fall on the screen, for the notes.
    pub screen: Option<crate::network::overlay::Screen>,
    /// What the panel's fields hold: a new bookmark's name, a note's text, the clip box's size.
    pub typed_name: String,
    pub typed_note: String,
    pub typed_path: String,
    pub box_size_m: f64,
    /// The page's address with the current view (the web build keeps it up to date).
    pub link: Option<String>,
    /// A clock that replaces real time for the tour and flights (the kiosk's soak run).
    pub simulated_clock: Option<f64>,
}

/// The camera flying from one view to another.
#[derive(Clone, Copy, Debug)]
pub struct Flight {
    pub from: CameraSpec,
    pub to: CameraSpec,
    pub started: f64,
}

impl Flight {
    /// The camera `now` (seconds of the app's clock): eased along the way, then the target.
    pub fn at(&self, now: f64) -> (DVec3, DVec3, bool) {
        let t = ((now - self.started) / FLIGHT_SECONDS).clamp(0.0, 1.0);
        let s = t * t * (3.0 - 2.0 * t);
        let lerp = |a: [f64; 3], b: [f64; 3]| DVec3::from_array(a).lerp(DVec3::from_array(b), s);
        (
            lerp(self.from.eye, self.to.eye),
            lerp(self.from.target, self.to.target),
            t >= 1.0,
        )
    }
}

/// The tour's place.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tour {
    pub index: usize,
    /// When the next leg starts (seconds of the app's clock).
    pub next_at: f64,
    pub paused: bool,
}

impl Project {
    /// The project opened from `file` at `path`: its bookmarks and annotations here, the rest
    /// of its view applied by [`apply_state`].
    pub fn opened(file: ScenarioFile, path: PathBuf) -> Self {
        let state = file.project();
        Self {
            path: Some(path),
            bookmarks: state.bookmarks,
            annotations: state.annotations,
            pending_layers: state.layers,
            file: Some(file),
            ..Default::default()
        }
    }

    /// The caption of the bookmark the tour shows, once it has arrived.
    pub fn caption(&self) -> Option<&Bookmark> {
        let tour = self.tour?;
        self.flight
            .is_none()
            .then(|| self.bookmarks.get(tour.index))
            .flatten()
    }
}

/// A camera's eye and target as saved.
pub fn camera_spec(rig: &ViewerCamera) -> CameraSpec {
    CameraSpec {
        eye: rig.eye().to_array(),
        target: rig.focus.to_array(),
    }
}

/// Applies the style of a project to the point settings.
pub fn apply_style(style: &StyleSpec, settings: &mut PointCloudSettings) {
    if let Some(color) = style.color {
        settings.color_mode = color;
        settings.color_from_data = false;
    }
    if let Some(size) = style.point_size_px {
        settings.point_size_px = size;
    }
    if let Some(edl) = style.edl {
        settings.edl = edl;
    }
    settings.classes = Default::default();
    for &code in &style.hidden_classes {
        settings.classes.set_visible(code, false);
    }
}

/// The style of the point settings, as saved.
fn style_of(settings: &PointCloudSettings) -> StyleSpec {
    StyleSpec {
        color: Some(settings.color_mode),
        point_size_px: Some(settings.point_size_px),
        hidden_classes: (0..=255u8)
            .filter(|&c| !settings.classes.is_visible(c))
            .collect(),
        edl: Some(settings.edl),
    }
}

fn measurement_kind(kind: MeasureKind) -> Option<MeasurementKind> {
    match kind {
        MeasureKind::Point => Some(MeasurementKind::Point),
        MeasureKind::Distance => Some(MeasurementKind::Distance),
        MeasureKind::Polyline => Some(MeasurementKind::Polyline),
        MeasureKind::Polygon => Some(MeasurementKind::Polygon),
        MeasureKind::Off => None,
    }
}

fn measure_kind(kind: MeasurementKind) -> MeasureKind {
    match kind {
        MeasurementKind::Point => MeasureKind::Point,
        MeasurementKind::Distance => MeasureKind::Distance,
        MeasurementKind::Polyline => MeasureKind::Polyline,
        MeasurementKind::Polygon => MeasureKind::Polygon,
    }
}

/// Applies the view of `state` to a running twin: camera, style, clip, measurements (the
/// bookmarks, annotations and layer states are the [`Project`]'s).
pub fn apply_state(world: &mut World, state: &ProjectState) {
    if let Some(camera) = state.camera {
        let mut cameras = world.query::<&mut ViewerCamera>();
        for mut rig in cameras.iter_mut(world) {
            rig.set_look_at(
                DVec3::from_array(camera.eye),
                DVec3::from_array(camera.target),
            );
        }
    }
    if let Some(mut settings) = world.get_resource_mut::<PointCloudSettings>() {
        apply_style(&state.style, &mut settings);
    }
    world.insert_resource(ClipVolume(state.clip.clone()));
    world.init_resource::<MeasureTool>();
    world.resource_mut::<MeasureTool>().done = measurements(state);
}

/// Sets each named layer's visibility and opacity: at once on the layers open, later on those
/// still opening.
pub fn apply_layers(world: &mut World, layers: &[LayerSpec]) {
    world.init_resource::<Project>();
    let mut pending: Vec<LayerSpec> = layers.to_vec();
    world.resource_scope(|world, mut project: Mut<Project>| {
        project
            .pending_layers
            .retain(|l| !layers.iter().any(|k| k.name == l.name));
        let clouds = world.get_resource_mut::<PointClouds>();
        set_layer_states(&mut pending, clouds, None);
        let buildings = world.get_resource_mut::<crate::buildings::streaming::Buildings>();
        set_layer_states(&mut pending, None, buildings);
        project.pending_layers.extend(pending);
    });
}

/// Sets the states of `specs` on the layers that are open; the others stay in `specs`.
fn set_layer_states(
    specs: &mut Vec<LayerSpec>,
    mut clouds: Option<Mut<PointClouds>>,
    mut buildings: Option<Mut<crate::buildings::streaming::Buildings>>,
) {
    specs.retain(|spec| {
        if let Some(layer) = clouds
            .as_mut()
            .and_then(|c| c.layers.iter_mut().find(|l| l.name == spec.name))
        {
            layer.visible = spec.visible;
            layer.opacity = spec.opacity;
            return false;
        }
        if let Some(layer) = buildings
            .as_mut()
            .and_then(|b| b.layers.iter_mut().find(|l| l.name == spec.name))
        {
            layer.visible = spec.visible;
            return false;
        }
        true
    });
}

/// The measurements of `state`, as the measure tool keeps them.
pub fn measurements(state: &ProjectState) -> Vec<Measurement> {
    state
        .measurements
        .iter()
        .map(|m| Measurement {
            kind: measure_kind(m.kind),
            points: m.points.iter().map(|p| DVec3::from_array(*p)).collect(),
        })
        .collect()
}

/// The view of a running twin, as Save writes it.
pub fn capture_state(world: &mut World) -> ProjectState {
    let camera = world
        .query::<&ViewerCamera>()
        .iter(world)
        .next()
        .map(camera_spec);
    let style = world
        .get_resource::<PointCloudSettings>()
        .map(style_of)
        .unwrap_or_default();
    let mut layers: Vec<LayerSpec> = world
        .get_resource::<PointClouds>()
        .map(|c| {
            c.layers
                .iter()
                .map(|l| LayerSpec {
                    name: l.name.clone(),
                    visible: l.visible,
                    opacity: l.opacity,
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(b) = world.get_resource::<crate::buildings::streaming::Buildings>() {
        layers.extend(b.layers.iter().map(|l| LayerSpec {
            name: l.name.clone(),
            visible: l.visible,
            opacity: 1.0,
        }));
    }
    let project = world.get_resource::<Project>();
    // Layers not opened yet keep their saved state.
    if let Some(p) = project {
        layers.extend(
            p.pending_layers
                .iter()
                .filter(|l| !layers.iter().any(|k| k.name == l.name))
                .cloned()
                .collect::<Vec<_>>(),
        );
    }
    let measurements = world
        .get_resource::<MeasureTool>()
        .map(|tool| {
            tool.done
                .iter()
                .filter_map(|m| {
                    Some(SavedMeasurement {
                        kind: measurement_kind(m.kind)?,
                        points: m.points.iter().map(|p| p.to_array()).collect(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    ProjectState {
        camera,
        style,
        layers,
        bookmarks: project.map(|p| p.bookmarks.clone()).unwrap_or_default(),
        annotations: project.map(|p| p.annotations.clone()).unwrap_or_default(),
        measurements,
        clip: world
            .get_resource::<ClipVolume>()
            .map(|c| c.0.clone())
            .unwrap_or_default(),
    }
}

/// Writes the twin's view into its project file (its data and scenarios as they were), or a
/// new `project.toml` naming no data when none was opened. Written beside and renamed, so a
/// failed save leaves the old file whole.
pub fn save(world: &mut World) -> Result<PathBuf, String> {
    let state = capture_state(world);
    let mut project = world.resource_mut::<Project>();
    let path = project
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from("project.toml"));
    let mut file = match project.file.clone() {
        Some(file) => file,
        None => {
            let mut file = ScenarioFile::parse("", "version = 1\nname = \"Jumeau project\"\n")
                .map_err(|e| e.to_string())?;
            file.data = project.data.clone();
            file
        }
    };
    file.set_project(state);
    let text = file.to_toml();
    // What is written must open again.
    ScenarioFile::parse(&path.display().to_string(), &text).map_err(|e| e.to_string())?;
    let temp = path.with_extension("toml.saving");
    std::fs::write(&temp, &text)
        .and_then(|()| std::fs::rename(&temp, &path))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    project.file = Some(file);
    project.path = Some(path.clone());
    Ok(path)
}

pub struct ProjectPlugin;

impl Plugin for ProjectPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Project>()
            .add_systems(
                PostUpdate,
                (apply_layer_states, tour, fly_camera, pin_on_click)
                    .chain()
                    .in_set(crate::camera::CameraSystems::Input),
            )
            .add_systems(
                PostUpdate,
                track_screen.after(crate::camera::CameraSystems::Apply),
            )
            .add_systems(Update, answer_requests);
    }
}

/// Layers that have opened take their saved visibility and opacity.
fn apply_layer_states(
    mut project: ResMut<Project>,
    clouds: Option<ResMut<PointClouds>>,
    buildings: Option<ResMut<crate::buildings::streaming::Buildings>>,
) {
    if project.pending_layers.is_empty() {
        return;
    }
    set_layer_states(
        &mut project.pending_layers,
        clouds.map(Into::into),
        buildings.map(Into::into),
    );
}

/// Starts a flight of the camera to `to`.
pub fn fly_to(project: &mut Project, rig: &ViewerCamera, to: CameraSpec, now: f64) {
    project.flight = Some(Flight {
        from: camera_spec(rig),
        to,
        started: now,
    });
}

/// The tour: when the hold of a bookmark ends, fly to the next (looping).
fn tour(mut project: ResMut<Project>, time: Res<Time<Real>>, cameras: Query<&ViewerCamera>) {
    let now = project
        .simulated_clock
        .unwrap_or_else(|| time.elapsed_secs_f64());
    project.clock = now;
    let Some(t) = project.tour else { return };
    if t.paused || project.flight.is_some() || now < t.next_at || project.bookmarks.is_empty() {
        return;
    }
    let Some(rig) = cameras.iter().next() else {
        return;
    };
    let index = (t.index + 1) % project.bookmarks.len();
    let to = project.bookmarks[index].camera();
    fly_to(&mut project, rig, to, now);
    project.tour = Some(Tour {
        index,
        next_at: now + FLIGHT_SECONDS + HOLD_SECONDS,
        paused: false,
    });
}

/// Moves the camera along the flight.
fn fly_camera(
    mut project: ResMut<Project>,
    time: Res<Time<Real>>,
    mut cameras: Query<&mut ViewerCamera>,
) {
    let Some(flight) = project.flight else { return };
    let now = project
        .simulated_clock
        .unwrap_or_else(|| time.elapsed_secs_f64());
    let (eye, target, arrived) = flight.at(now);
    for mut rig in &mut cameras {
        rig.set_look_at(eye, target);
    }
    if arrived {
        project.flight = None;
    }
}

/// Saves or opens what the panel asked for; the outcome goes to the panel.
fn answer_requests(world: &mut World) {
    let (save_asked, open) = {
        let Some(mut project) = world.get_resource_mut::<Project>() else {
            return;
        };
        (
            std::mem::take(&mut project.save_requested),
            project.open_requested.take(),
        )
    };
    if save_asked {
        let message = match save(world) {
            Ok(path) => format!("saved: {}", path.display()),
            Err(e) => e,
        };
        world.resource_mut::<Project>().message = Some(message);
    }
    if let Some(path) = open
        && let Err(e) = open_project(world, PathBuf::from(&path))
    {
        world.resource_mut::<Project>().message = Some(e);
    }
    #[cfg(not(target_arch = "wasm32"))]
    if std::mem::take(&mut world.resource_mut::<Project>().screenshot_requested) {
        screenshot(world);
    }
}

/// Saves the window's view (the panel cut off) as `screenshot-<unix time>.png` in the working
/// folder, with the legend, scale bar and north arrow drawn on it (the measurements and notes
/// are already drawn over the view).
#[cfg(not(target_arch = "wasm32"))]
fn screenshot(world: &mut World) {
    use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
    let height = world
        .query::<&Window>()
        .iter(world)
        .next()
        .map_or(1, |w| w.physical_height());
    // The measurements and notes are drawn over the view already.
    let mut decorations = crate::front::decorate::decorations_of(world, UVec2::new(1, height), &[]);
    decorations.overlays.clear();
    decorations.notes.clear();
    let left = world
        .get_resource::<crate::camera::ViewInset>()
        .map_or(0, |i| i.left_px.max(0.0) as u32);
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let path = PathBuf::from(format!("screenshot-{seconds}.png"));
    world.spawn(Screenshot::primary_window()).observe(
        move |captured: On<ScreenshotCaptured>, mut project: ResMut<Project>| {
            let saved = captured
                .image
                .clone()
                .try_into_dynamic()
                .map_err(|e| e.to_string())
                .and_then(|image| {
                    let image = image.to_rgba8();
                    let (width, height) =
                        (image.width().saturating_sub(left).max(1), image.height());
                    let mut view =
                        image::imageops::crop_imm(&image, left, 0, width, height).to_image();
                    crate::front::decorate::draw(&mut view, &decorations);
                    view.save(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))
                });
            project.message = Some(match saved {
                Ok(()) => format!("written: {}", path.display()),
                Err(e) => e,
            });
        },
    );
}

/// Opens the project at `path` in the running twin: its view replaces the current one, its
/// data joins the twin (as files added from the panel do), its scenarios run. A file that
/// cannot be read changes nothing.
pub fn open_project(world: &mut World, path: PathBuf) -> Result<(), String> {
    let file = ScenarioFile::read(&path).map_err(|e| e.to_string())?;
    let base = path.parent().map(PathBuf::from).unwrap_or_default();
    let state = file.project();
    apply_state(world, &state);
    let data = file.view_inputs(&base);
    if !file.scenarios.is_empty() {
        let mut view = crate::scenario::view::ScenarioView::with_file(file.clone(), base);
        view.cache = Some(crate::front::paths::cache_dir().join("terrain"));
        world.insert_resource(view);
    }
    let screen = world.get_resource::<Project>().and_then(|p| p.screen);
    let mut project = Project::opened(file, path.clone());
    project.screen = screen;
    project.message = Some(format!("{}", path.display()));
    world.insert_resource(project);
    world.init_resource::<crate::front::opening::AddRequests>();
    world
        .resource_mut::<crate::front::opening::AddRequests>()
        .inputs
        .extend(data);
    Ok(())
}

fn track_screen(screen: crate::network::render::ScreenNow, mut project: ResMut<Project>) {
    if !project.annotations.is_empty()
        && let Some(screen) = screen.get()
    {
        project.screen = Some(screen);
    }
}

/// With a note to pin, a click pins it on what the twin draws there.
fn pin_on_click(mut commands: Commands, mut clicks: crate::camera::Clicks, project: Res<Project>) {
    if project.pinning.is_none() {
        return;
    }
    let rays = clicks.rays();
    crate::camera::pick_along(&mut commands, rays, |world, hit| {
        let mut project = world.resource_mut::<Project>();
        match hit {
            Some(at) => {
                if let Some(text) = project.pinning.take() {
                    project.annotations.push(Annotation {
                        text,
                        at: at.to_array(),
                    });
                }
            }
            None => project.message = Some("nothing drawn under the cursor to pin".into()),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project with every part of the view, naming no data.
    fn project_text() -> String {
        format!(
            "version = 1\nname = \"Place du marché\"\n{}",
            crate::scenario::file::tests::PROJECT_KEYS
        )
    }

    /// The world a viewer keeps the view in, without rendering.
    fn viewer_world() -> World {
        let mut world = World::new();
        world.insert_resource(PointCloudSettings::default());
        world.insert_resource(MeasureTool::default());
        world.insert_resource(ClipVolume::default());
        world.spawn(ViewerCamera::look_at(
            DVec3::new(0.0, -100.0, 100.0),
            DVec3::ZERO,
        ));
        world
    }

    /// The camera kept to the micrometre (the rig stores focus, distance and angles, so the
    /// eye comes back through trigonometry), then compared whole.
    fn same_state(mut a: ProjectState, b: &ProjectState) {
        let (ca, cb) = (a.camera.unwrap(), b.camera.unwrap());
        for (x, y) in ca
            .eye
            .iter()
            .chain(&ca.target)
            .zip(cb.eye.iter().chain(&cb.target))
        {
            assert!((x - y).abs() < 1e-6, "camera {ca:?} vs {cb:?}");
        }
        a.camera = b.camera;
        assert_eq!(&a, b);
    }

    #[test]
    fn saving_and_opening_again_gives_exactly_the_same_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("place.toml");
        std::fs::write(&path, project_text()).unwrap();
        let mut world = viewer_world();
        open_project(&mut world, path.clone()).unwrap();
        let opened = capture_state(&mut world);
        same_state(
            opened.clone(),
            &ScenarioFile::read(&path).unwrap().project(),
        );
        assert!(
            !world
                .resource::<PointCloudSettings>()
                .classes
                .is_visible(18)
        );
        assert_eq!(
            world.resource::<ClipVolume>().0.keep,
            crate::spatial::clip::Keep::Outside
        );
        // The planner adds a bookmark and a measurement, then saves.
        {
            let mut project = world.resource_mut::<Project>();
            project.bookmarks.push(Bookmark {
                name: "Le lavoir".into(),
                caption: String::new(),
                eye: [652400.0, 6862300.0, 90.0],
                target: [652380.0, 6862250.0, 38.0],
            });
        }
        world.resource_mut::<MeasureTool>().done.push(Measurement {
            kind: MeasureKind::Point,
            points: vec![DVec3::new(652201.001, 6862002.002, 40.003)],
        });
        let before = capture_state(&mut world);
        assert_eq!(save(&mut world).unwrap(), path);
        let mut again = viewer_world();
        open_project(&mut again, path.clone()).unwrap();
        same_state(capture_state(&mut again), &before);
        // Saving the reopened project changes nothing in the file.
        let text = std::fs::read_to_string(&path).unwrap();
        save(&mut again).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert!(text.contains("Le lavoir") && text.contains("652201.001"));
    }

    #[test]
    fn a_project_that_cannot_be_read_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.toml");
        std::fs::write(&path, project_text().replace("[clip]", "[clip\n")).unwrap();
        let mut world = viewer_world();
        let before = capture_state(&mut world);
        let err = open_project(&mut world, path).unwrap_err();
        assert!(err.contains("broken.toml") && err.contains("line"), "{err}");
        assert_eq!(capture_state(&mut world), before);
    }

    #[test]
    fn a_flight_eases_from_one_view_to_the_next_and_arrives() {
        let from = CameraSpec {
            eye: [652_000.0, 6_862_000.0, 200.0],
            target: [652_100.0, 6_862_100.0, 40.0],
        };
        let to = CameraSpec {
            eye: [653_000.0, 6_861_000.0, 100.0],
            target: [653_050.0, 6_861_050.0, 30.0],
        };
        let flight = Flight {
            from,
            to,
            started: 10.0,
        };
        let (eye, _, arrived) = flight.at(10.0);
        assert_eq!((eye.to_array(), arrived), (from.eye, false));
        let (eye, target, _) = flight.at(10.0 + FLIGHT_SECONDS / 2.0);
        assert!((eye.x - 652_500.0).abs() < 1e-6 && (target.z - 35.0).abs() < 1e-9);
        let (eye, target, arrived) = flight.at(10.0 + FLIGHT_SECONDS + 1.0);
        assert_eq!(
            (eye.to_array(), target.to_array(), arrived),
            (to.eye, to.target, true)
        );
    }
}
