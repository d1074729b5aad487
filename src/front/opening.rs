//! Inputs opened off the main thread while the twin already runs: the window is up at once,
//! the panel says how the opening goes (scanning the demo town, converting LAS/LAZ tiles to
//! COPC: minutes for large tiles), and the layers join the twin when they are ready. The camera
//! is then framed on them, unless the user named one. Files dropped on the window and paths or
//! URLs typed in the panel ("Add data") are opened the same way, into the twin's frame: a
//! network drapes on the point clouds already there, a point cloud in another CRS is refused.
//!
//! An opening that fails (a missing file, a lying header, a 404) or panics leaves the twin
//! running with what it already had; the error goes to the panel and the log.

use crate::buildings::streaming::Buildings;
use crate::front::inputs::OpenedInputs;
#[cfg(not(target_arch = "wasm32"))]
use crate::front::inputs::Twin;
use crate::georef::GeoFrame;
use crate::network::render::{FrameOnFirstNetwork, Networks};
use crate::pointcloud::streaming::PointClouds;
use crate::spatial::Aabb as CrsAabb;
use bevy::platform::time::Instant;
use bevy::prelude::*;
use indicatif::ProgressBar;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};

/// What opens the inputs, on its own thread; slow steps report on the bar.
pub type OpenJob = Box<dyn FnOnce(&ProgressBar) -> Result<OpenedInputs, crate::Error> + Send>;

/// Inputs being opened: present from [`start`] until they have joined the twin (or failed).
#[derive(Resource)]
pub struct Opening {
    /// What is being opened, in words ("2 inputs", "the demo twin").
    pub what: String,
    /// How far it has got: the prefix names the stage, position / length the share done.
    pub progress: ProgressBar,
    pub started: Instant,
    frame_camera: bool,
    result: Mutex<Receiver<Result<OpenedInputs, crate::Error>>>,
}

impl Opening {
    /// An opening whose result is to come through the returned sender.
    fn new(
        what: impl Into<String>,
        frame_camera: bool,
    ) -> (Self, Sender<Result<OpenedInputs, crate::Error>>) {
        // Drawn on stderr too, when that is a terminal.
        let progress = ProgressBar::new(0);
        progress.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {prefix} {msg} [{bar:30}] {percent}%",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let (sender, result) = std::sync::mpsc::channel();
        let opening = Self {
            what: what.into(),
            progress,
            started: Instant::now(),
            frame_camera,
            result: Mutex::new(result),
        };
        (opening, sender)
    }

    /// The stage (the bar's prefix, e.g. "converting to COPC") and its step (the message,
    /// e.g. "distribute"), in English; either may be empty.
    pub fn stage(&self) -> (String, String) {
        (self.progress.prefix(), self.progress.message())
    }

    /// The share of the stage done, 0..1 (`None` while it cannot be told).
    pub fn done(&self) -> Option<f32> {
        self.progress
            .length()
            .filter(|&n| n > 0)
            .map(|n| (self.progress.position() as f32 / n as f32).clamp(0.0, 1.0))
    }
}

/// Opens inputs with `job` on a thread of its own; they join the twin in `app` when ready.
/// `frame_camera`: point the camera at them then (the user named no camera). The bar also
/// draws on stderr when that is a terminal.
pub fn start(app: &mut App, what: impl Into<String>, frame_camera: bool, job: OpenJob) {
    app.insert_resource(spawn(what, frame_camera, job));
}

/// The opening of `job`, running on a thread of its own (insert it as a resource).
fn spawn(what: impl Into<String>, frame_camera: bool, job: OpenJob) -> Opening {
    let (opening, sender) = Opening::new(what, frame_camera);
    let bar = opening.progress.clone();
    let spawned = std::thread::Builder::new()
        .name("jumeau-open".into())
        .spawn(move || {
            let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&bar)))
                .unwrap_or_else(|panic| {
                    let why = panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("no message");
                    Err(crate::Error::Refused(format!(
                        "opening stopped on an internal error ({why})"
                    )))
                });
            bar.finish_and_clear();
            // The twin may have been closed meanwhile: nobody to tell.
            let _ = sender.send(opened);
        });
    if let Err(error) = spawned {
        // The dropped sender ends the opening with an error the panel shows.
        error!("could not start opening the inputs: {error}");
    }
    opening
}

/// The twin's frame, once inputs have been opened into it: later ones are placed in it.
#[derive(Resource, Clone)]
pub struct TwinFrame(pub GeoFrame);

/// Inputs the user asked to add to the running twin (files dropped on the window, a path or
/// URL typed in the panel), opened together once no other opening is under way.
#[derive(Resource, Default)]
pub struct AddRequests {
    pub inputs: Vec<String>,
    /// What the panel's field holds.
    pub typed: String,
}

/// Inputs in a few words, for the panel: the file's name, or how many there are.
pub fn describe(inputs: &[String]) -> String {
    match inputs {
        [one] => crate::io::file_name(one).to_owned(),
        many => format!("{} inputs", many.len()),
    }
}

/// Registers the systems that bring opened inputs into the twin and open what the user adds.
pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<AddRequests>().add_systems(
        PostUpdate,
        receive_opened
            .run_if(resource_exists::<Opening>)
            .before(crate::camera::CameraSystems::Input),
    );
    #[cfg(not(target_arch = "wasm32"))]
    app.add_systems(Update, (collect_dropped_files, open_requested).chain());
}

/// Files dropped on the window are added to the twin.
#[cfg(not(target_arch = "wasm32"))]
fn collect_dropped_files(
    mut drops: MessageReader<bevy::window::FileDragAndDrop>,
    mut requests: ResMut<AddRequests>,
) {
    for drop in drops.read() {
        if let bevy::window::FileDragAndDrop::DroppedFile { path_buf, .. } = drop {
            requests.inputs.push(path_buf.display().to_string());
        }
    }
}

/// Starts opening what the user added, into the twin as it is (its frame, its ground); the
/// camera is framed on it when the twin was empty.
#[cfg(not(target_arch = "wasm32"))]
fn open_requested(world: &mut World) {
    if world.contains_resource::<Opening>() {
        return;
    }
    let inputs = match world.get_resource_mut::<AddRequests>() {
        Some(mut requests) if !requests.inputs.is_empty() => std::mem::take(&mut requests.inputs),
        _ => return,
    };
    let bounds = twin_bounds(world);
    let twin = world.get_resource::<TwinFrame>().map(|frame| Twin {
        frame: frame.0.clone(),
        ground: world
            .get_resource::<PointClouds>()
            .map(|c| crate::pointcloud::layer::layers_sources(&c.layers))
            .unwrap_or_default(),
        bounds,
    });
    let what = describe(&inputs);
    info!("adding {inputs:?} to the twin");
    let job: OpenJob = Box::new(move |progress| {
        crate::front::inputs::open_inputs_into(
            twin.as_ref(),
            &inputs,
            &crate::front::paths::cache_dir().join("converted"),
            None,
            &Default::default(),
            progress,
        )
    });
    world.insert_resource(spawn(what, bounds.is_none(), job));
}

fn receive_opened(world: &mut World) {
    let Some(frame_camera) = world.get_resource::<Opening>().map(|o| o.frame_camera) else {
        return;
    };
    // Framing needs each camera's viewport (a window may get its size a few frames in).
    if frame_camera
        && world
            .query::<&Camera>()
            .iter(world)
            .any(|c| c.physical_viewport_size().is_none())
    {
        return;
    }
    let Some(opening) = world.get_resource::<Opening>() else {
        return;
    };
    let received = match opening.result.lock() {
        Ok(receiver) => receiver.try_recv(),
        Err(_) => Err(TryRecvError::Disconnected),
    };
    let (what, seconds) = (
        opening.what.clone(),
        opening.started.elapsed().as_secs_f64(),
    );
    let opened = match received {
        Err(TryRecvError::Empty) => return,
        Ok(Ok(opened)) => opened,
        Ok(Err(error)) => {
            fail(world, format!("could not open {what}: {error}"));
            return;
        }
        Err(TryRecvError::Disconnected) => {
            fail(
                world,
                format!("could not open {what}: the opening thread stopped"),
            );
            return;
        }
    };
    world.remove_resource::<Opening>();
    info!("opened {what} in {seconds:.1} s");
    join(world, opened, frame_camera);
}

/// Adds opened inputs to the running twin (after what it already shows), then frames the
/// camera on everything when asked to.
pub fn join(world: &mut World, opened: OpenedInputs, frame_camera: bool) {
    let OpenedInputs {
        clouds,
        buildings,
        networks,
        warnings,
        frame,
    } = opened;
    if let Some(frame) = frame
        && !world.contains_resource::<TwinFrame>()
    {
        world.insert_resource(TwinFrame(frame));
    }
    let has_networks = !networks.is_empty();
    for warning in &warnings {
        warn!("{warning}");
    }
    if let Some(mut twin) = world.get_resource_mut::<PointClouds>() {
        twin.layers.extend(clouds);
        twin.messages.extend(warnings);
    }
    if let Some(mut twin) = world.get_resource_mut::<Buildings>() {
        twin.layers.extend(buildings);
    }
    if let Some(mut twin) = world.get_resource_mut::<Networks>() {
        twin.add(networks);
    }
    if !frame_camera {
        return;
    }
    match twin_bounds(world) {
        Some(bounds) => crate::camera::frame_cameras(world, &bounds),
        // Only networks: their extent is known once they have loaded.
        None if has_networks => world.insert_resource(FrameOnFirstNetwork),
        None => {}
    }
}

/// Bounds of everything the running twin holds (point clouds and buildings), in the CRS.
pub fn twin_bounds(world: &World) -> Option<CrsAabb> {
    let clouds = world
        .get_resource::<PointClouds>()
        .and_then(PointClouds::bounds);
    let buildings = world
        .get_resource::<Buildings>()
        .and_then(Buildings::bounds);
    clouds
        .into_iter()
        .chain(buildings)
        .reduce(|a, b| a.union(&b))
}

fn fail(world: &mut World, message: String) {
    error!("{message}");
    world.remove_resource::<Opening>();
    if let Some(mut clouds) = world.get_resource_mut::<PointClouds>() {
        clouds.messages.push(message);
    }
}
