//! A plain Bevy app that shows a Jumeau twin beside its own UI: it adds [`JumeauPlugin`] (the
//! streaming twin) and [`CameraControllerPlugin`] (orbit, pan, zoom), but not Jumeau's panel;
//! its own egui window says what the twin shows and puts the camera back over the data.
//!
//! ```sh
//! cargo run --release --example embed_in_bevy_app                 # the demo twin
//! cargo run --release --example embed_in_bevy_app -- tile.copc.laz buildings/tileset.json
//! ```

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, egui};
use jumeau::camera::{ViewerCamera, frame_cameras};
use jumeau::front::opening::Opening;
use jumeau::front::twin::twin_bounds;
use jumeau::pointcloud::PointClouds;
use jumeau::{CameraControllerPlugin, JumeauPlugin, camera_bundle};

fn main() {
    let inputs: Vec<String> = std::env::args().skip(1).collect();
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window {
            title: "My planning app, with a Jumeau twin".into(),
            ..default()
        }),
        ..default()
    }))
    .add_plugins((JumeauPlugin::default(), CameraControllerPlugin))
    .add_plugins(EguiPlugin::default())
    .add_systems(Startup, spawn_camera)
    .add_systems(EguiPrimaryContextPass, my_window);
    if inputs.is_empty() {
        // The demo town, generated on first run into the cache folder.
        let job = Box::new(jumeau::front::app::open_demo_twin);
        jumeau::front::opening::start(&mut app, "the demo twin", true, job);
    } else {
        // The one call that opens data into the twin, from anywhere that has the world.
        jumeau::open(app.world_mut(), inputs);
    }
    app.run();
}

/// The twin streams for whichever camera carries a [`ViewerCamera`]; the first data opened
/// frames it.
fn spawn_camera(mut commands: Commands) {
    let rig = ViewerCamera::look_at(
        bevy::math::DVec3::new(0.0, -300.0, 200.0),
        bevy::math::DVec3::ZERO,
    );
    commands.spawn(camera_bundle(rig));
}

/// The app's own UI: what the twin shows, and a button that frames the camera on it again.
fn my_window(
    mut commands: Commands,
    mut contexts: EguiContexts,
    clouds: Res<PointClouds>,
    opening: Option<Res<Opening>>,
) -> Result {
    egui::Window::new("My app").show(contexts.ctx_mut()?, |ui| {
        match &opening {
            Some(opening) => {
                let (stage, _) = opening.stage();
                ui.label(format!("opening {}: {stage}", opening.what));
            }
            None => {
                let stats = &clouds.stats;
                ui.label(format!("{} layers", clouds.layers.len()));
                ui.label(format!("{} points shown", stats.points_shown));
            }
        }
        for message in clouds.messages.iter().rev().take(3) {
            ui.colored_label(egui::Color32::LIGHT_RED, message);
        }
        if ui.button("Frame the data").clicked() {
            commands.queue(|world: &mut World| {
                if let Some(bounds) = twin_bounds(world) {
                    frame_cameras(world, &bounds);
                }
            });
        }
    });
    Ok(())
}
