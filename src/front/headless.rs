//! Offscreen rendering without a window (`jumeau render`, golden-image tests, `bench render`):
//! the same app as the viewer, rendering into an image, driven frame by frame until streaming
//! has settled, then read back to PNG.

use crate::buildings::streaming::{BuildingStats, Buildings};
use crate::camera::ViewerCamera;
use crate::front::twin::{ViewerSetup, add_twin, camera_bundle, disable_camera_input};
use crate::pointcloud::streaming::{PointClouds, RenderPath, StreamStats};
use bevy::app::PluginsState;
use bevy::camera::RenderTarget;
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::render_resource::{PollType, TextureFormat, TextureUsages};
use bevy::render::renderer::RenderDevice;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::ExitCondition;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The size of the frame and how long to wait for streaming.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub width: u32,
    pub height: u32,
    /// Give up waiting for streaming after this long (the frame is rendered anyway).
    pub timeout: Duration,
    /// Frames to time once the frame is captured (the settled view, GPU work included).
    pub timed_frames: u32,
    /// Draw the measurements, notes, legend, scale bar and north arrow on the frame
    /// ([`crate::front::decorate`]).
    pub decorate: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            timeout: Duration::from_secs(300),
            timed_frames: 0,
            decorate: false,
        }
    }
}

/// What was rendered.
#[derive(Debug, Clone)]
pub struct RenderReport {
    pub image: image::RgbaImage,
    pub frames: u32,
    pub settled: bool,
    pub stats: StreamStats,
    pub buildings: BuildingStats,
    pub networks: crate::network::render::NetworkStats,
    /// Errors reported while streaming (failed nodes and tiles, network layers that failed).
    pub messages: Vec<String>,
    pub seconds: f64,
    /// Median time of a frame of the settled view (main schedule, render, GPU), when timed.
    pub frame_ms: Option<f64>,
    /// How the points were drawn ([`RenderPath::Auto`] resolved).
    pub render_path: RenderPath,
    /// The compute rasterizer used 64-bit atomics.
    pub atomics_64: bool,
    /// The colouring chosen from the data, and why (when no colour mode was asked for).
    pub color_choice: Option<(crate::pointcloud::style::ColorMode, &'static str)>,
}

/// An offscreen app: build it, then call [`Offscreen::update`] / [`Offscreen::capture`].
pub struct Offscreen {
    pub app: App,
    target: Handle<Image>,
    pub camera: Entity,
}

impl Offscreen {
    /// Builds the app and its GPU device. Without any GPU (not even lavapipe) Bevy panics
    /// while creating the device; that becomes an error here.
    pub fn new(setup: ViewerSetup, width: u32, height: u32) -> Result<Self, crate::Error> {
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::build(setup, width, height)
        }))
        .unwrap_or_else(|_| {
            Err("no usable GPU adapter: install a Vulkan driver (e.g. `apt-get install mesa-vulkan-drivers` for software rendering) or run on a machine with a GPU".into())
        });
        Ok(built?)
    }

    fn build(setup: ViewerSetup, width: u32, height: u32) -> Result<Self, String> {
        let mut app = App::new();
        app.add_plugins(
            DefaultPlugins
                .set(WindowPlugin {
                    primary_window: None,
                    exit_condition: ExitCondition::DontExit,
                    ..default()
                })
                .set(RenderPlugin {
                    synchronous_pipeline_compilation: true,
                    ..default()
                })
                .disable::<PipelinedRenderingPlugin>()
                .disable::<bevy::winit::WinitPlugin>(),
        );
        let camera = add_twin(&mut app, setup, f64::from(width) / f64::from(height.max(1)));
        disable_camera_input(&mut app);
        // The GPU device is created asynchronously: wait for it (the runner's first step).
        let started = Instant::now();
        while app.plugins_state() == PluginsState::Adding {
            bevy::tasks::tick_global_task_pools_on_main_thread();
            if started.elapsed() > Duration::from_secs(60) {
                return Err("no GPU adapter after 60 s (install mesa-vulkan-drivers for software rendering)".into());
            }
        }
        app.finish();
        app.cleanup();
        if app.world().get_resource::<RenderDevice>().is_none() {
            return Err(
                "no GPU adapter found (install mesa-vulkan-drivers for software rendering)".into(),
            );
        }
        let mut image =
            Image::new_target_texture(width, height, TextureFormat::Rgba8UnormSrgb, None);
        image.texture_descriptor.usage |= TextureUsages::COPY_SRC;
        let target = app.world_mut().resource_mut::<Assets<Image>>().add(image);
        let camera = app
            .world_mut()
            .spawn((
                camera_bundle(camera),
                RenderTarget::Image(target.clone().into()),
            ))
            .id();
        Ok(Self {
            app,
            target,
            camera,
        })
    }

    /// One frame, waiting for the GPU to finish it.
    pub fn update(&mut self) {
        self.app.update();
        self.wait_for_gpu();
    }

    /// Blocks until the GPU has finished what was submitted.
    pub fn wait_for_gpu(&self) {
        if let Some(device) = self.app.world().get_resource::<RenderDevice>() {
            let _ = device.wgpu_device().poll(PollType::Wait {
                submission_index: None,
                timeout: None,
            });
        }
    }

    pub fn clouds(&self) -> &PointClouds {
        self.app.world().resource::<PointClouds>()
    }

    pub fn buildings(&self) -> &Buildings {
        self.app.world().resource::<Buildings>()
    }

    pub fn networks(&self) -> &crate::network::render::Networks {
        self.app
            .world()
            .resource::<crate::network::render::Networks>()
    }

    pub fn camera_mut(&mut self) -> Mut<'_, ViewerCamera> {
        self.app
            .world_mut()
            .get_mut::<ViewerCamera>(self.camera)
            .expect("the offscreen camera entity lives as long as the app")
    }

    /// Runs frames until streaming has settled for a few frames in a row, or `timeout`.
    /// Returns (frames run, settled).
    pub fn settle(&mut self, timeout: Duration) -> (u32, bool) {
        let started = Instant::now();
        let mut frames = 0;
        let mut calm = 0;
        while started.elapsed() < timeout {
            self.update();
            frames += 1;
            if crate::front::twin::twin_settled(self.app.world()) {
                calm += 1;
                if calm >= 3 {
                    return (frames, true);
                }
            } else {
                calm = 0;
                // Nothing to draw yet: let the workers run instead of spinning.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        (frames, false)
    }

    /// Reads the current frame back.
    pub fn capture(&mut self) -> Result<image::RgbaImage, crate::Error> {
        let slot: Arc<Mutex<Option<Image>>> = Arc::default();
        let sink = slot.clone();
        self.app
            .world_mut()
            .spawn(Screenshot::image(self.target.clone()))
            .observe(move |captured: On<ScreenshotCaptured>| {
                if let Ok(mut s) = sink.lock() {
                    *s = Some(captured.image.clone());
                }
            });
        for _ in 0..30 {
            self.update();
            let taken = slot.lock().map_err(|e| e.to_string())?.take();
            if let Some(image) = taken {
                return image
                    .try_into_dynamic()
                    .map(|d| d.to_rgba8())
                    .map_err(|e| crate::Error::Refused(format!("screenshot: {e}")));
            }
        }
        Err(crate::Error::Refused(
            "the screenshot never arrived (30 frames)".into(),
        ))
    }
}

/// Renders one frame of `setup` once streaming has settled.
pub fn render(setup: ViewerSetup, options: RenderOptions) -> Result<RenderReport, crate::Error> {
    render_with(setup, options, |_| {})
}

/// [`render`] with `prepare` run on the app before its first frame (e.g. to insert a
/// [`crate::scenario::view::ScenarioView`]).
pub fn render_with(
    setup: ViewerSetup,
    options: RenderOptions,
    prepare: impl FnOnce(&mut App),
) -> Result<RenderReport, crate::Error> {
    let started = Instant::now();
    let mut offscreen = Offscreen::new(setup, options.width, options.height)?;
    prepare(&mut offscreen.app);
    let (frames, settled) = offscreen.settle(options.timeout);
    let mut image = offscreen.capture()?;
    if options.decorate {
        let size = UVec2::new(image.width(), image.height());
        let world = offscreen.app.world_mut();
        let notes = world
            .get_resource::<crate::front::project::Project>()
            .map(|p| p.annotations.clone())
            .unwrap_or_default();
        let decorations = crate::front::decorate::decorations_of(world, size, &notes);
        crate::front::decorate::draw(&mut image, &decorations);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut times: Vec<f64> = (0..options.timed_frames)
        .map(|_| {
            let t = Instant::now();
            offscreen.update();
            offscreen.wait_for_gpu();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let settings = offscreen
        .app
        .world()
        .resource::<crate::pointcloud::PointCloudSettings>()
        .clone();
    Ok(RenderReport {
        image,
        frames,
        settled,
        stats: offscreen.clouds().stats.clone(),
        buildings: offscreen.buildings().stats.clone(),
        networks: offscreen.networks().stats.clone(),
        messages: offscreen
            .clouds()
            .messages
            .iter()
            .chain(&offscreen.buildings().messages)
            .chain(&offscreen.networks().messages)
            .cloned()
            .collect(),
        seconds,
        frame_ms: times.get(times.len() / 2).copied(),
        render_path: settings.render_path,
        atomics_64: settings.render_path == RenderPath::Compute && settings.atomics_64,
        color_choice: offscreen.clouds().color_choice,
    })
}
