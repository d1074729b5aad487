//! What lies under the cursor, asked of every capability that draws something: each registers a
//! [`Picker`] from its plugin, and a double click focuses the camera on the nearest hit. The
//! camera knows no capability; they know the camera.

use bevy::math::DVec3;
use bevy::prelude::*;

/// The first surface a capability draws along a ray (`eye`, unit `direction`, both in the CRS).
pub type Picker = fn(&World, DVec3, DVec3) -> Option<DVec3>;

/// The pickers of the capabilities in this app.
#[derive(Resource, Default)]
pub struct Pickers(Vec<Picker>);

impl Pickers {
    /// The nearest hit along the ray among all pickers.
    pub fn nearest(&self, world: &World, eye: DVec3, direction: DVec3) -> Option<DVec3> {
        self.0
            .iter()
            .filter_map(|pick| pick(world, eye, direction))
            .min_by(|a, b| (*a - eye).length().total_cmp(&(*b - eye).length()))
    }
}

/// For each ray (eye, unit direction: [`super::Clicks::rays`]), asks every picker for the
/// nearest surface drawn along it, then hands the hit (`None`: nothing there) to `on_hit`
/// with the world, once the commands run.
pub fn pick_along(
    commands: &mut Commands,
    rays: Vec<(DVec3, DVec3)>,
    on_hit: fn(&mut World, Option<DVec3>),
) {
    for (eye, direction) in rays {
        commands.queue(move |world: &mut World| {
            let hit = world
                .get_resource::<Pickers>()
                .and_then(|pickers| pickers.nearest(world, eye, direction));
            on_hit(world, hit);
        });
    }
}

/// Lets the camera's picking ask `picker` (called by a capability's plugin).
pub fn add_picker(app: &mut App, picker: Picker) {
    app.init_resource::<Pickers>();
    app.world_mut().resource_mut::<Pickers>().0.push(picker);
}
