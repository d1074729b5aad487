//! The planner's camera: orbit / pan / zoom with mouse and touch, a fly mode with keys,
//! double-click to focus a point. The camera lives in the CRS in f64; Bevy's camera stays at the
//! origin of the render frame (camera-relative rendering) and only gets the rotation.

pub mod gestures;
mod picking;

use crate::georef::world_from_crs;
use crate::spatial::Aabb as CrsAabb;
use crate::spatial::View;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::math::DVec3;
use bevy::prelude::*;
pub use picking::{Picker, Pickers, add_picker, pick_along};

/// Orbit camera state in the CRS (x east, y north, z up).
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct ViewerCamera {
    /// The point orbited around.
    pub focus: DVec3,
    /// Metres from the eye to `focus`.
    pub distance: f64,
    /// Heading of the view direction, radians clockwise from north.
    pub yaw: f64,
    /// Angle of the view direction above the horizon (negative: looking down).
    pub pitch: f64,
    pub fov_y: f64,
    pub fly: bool,
}

impl ViewerCamera {
    /// A camera that frames `aabb` from the south, 45° above the horizon, as close as it can
    /// while every corner stays on screen (with a small margin).
    pub fn framing(aabb: &CrsAabb, aspect: f64) -> Self {
        let radius = (aabb.size().length() * 0.5).max(1.0);
        let mut camera = Self {
            focus: aabb.center(),
            distance: radius,
            yaw: 0.0,
            pitch: -std::f64::consts::FRAC_PI_4,
            fov_y: 1.0,
            fly: false,
        };
        let fits = |camera: &Self| {
            let view = camera.lod_view(aspect, 1000.0);
            aabb.corners().iter().all(|p| {
                let c = view.clip_from_world * p.extend(1.0);
                c.w > 0.0 && (c.x / c.w).abs() <= 0.95 && (c.y / c.w).abs() <= 0.95
            })
        };
        // The bounding sphere always fits from here; bisect down to the tightest distance.
        let (mut near, mut far) = (
            radius * 0.05,
            radius / (0.5f64 * camera.fov_y.min(camera.fov_y * aspect)).sin(),
        );
        for _ in 0..40 {
            camera.distance = 0.5 * (near + far);
            if fits(&camera) {
                far = camera.distance;
            } else {
                near = camera.distance;
            }
        }
        camera.distance = far;
        camera
    }

    /// A camera at `eye` looking at `target`.
    pub fn look_at(eye: DVec3, target: DVec3) -> Self {
        let d = target - eye;
        let distance = d.length().max(1e-3);
        Self {
            focus: target,
            distance,
            yaw: d.x.atan2(d.y),
            pitch: (d.z / distance).clamp(-1.0, 1.0).asin(),
            fov_y: 1.0,
            fly: false,
        }
    }

    /// The same camera (its field of view) moved to look from `eye` at `target` (orbiting).
    pub fn set_look_at(&mut self, eye: DVec3, target: DVec3) {
        *self = Self {
            fov_y: self.fov_y,
            ..Self::look_at(eye, target)
        };
    }

    /// Unit view direction in the CRS.
    pub fn forward(&self) -> DVec3 {
        DVec3::new(
            self.pitch.cos() * self.yaw.sin(),
            self.pitch.cos() * self.yaw.cos(),
            self.pitch.sin(),
        )
    }

    pub fn eye(&self) -> DVec3 {
        self.focus - self.forward() * self.distance
    }

    /// Unit vector to the right of the view, horizontal.
    pub fn right(&self) -> DVec3 {
        DVec3::new(self.yaw.cos(), -self.yaw.sin(), 0.0)
    }

    /// The same camera for level-of-detail selection.
    pub fn lod_view(&self, aspect: f64, viewport_height_px: f64) -> View {
        let eye = self.eye();
        let up = if self.pitch.abs() > 1.55 {
            DVec3::new(self.yaw.sin(), self.yaw.cos(), 0.0)
        } else {
            DVec3::Z
        };
        View::look_at(eye, self.focus, up, self.fov_y, aspect, viewport_height_px)
    }

    /// Turns the view around the focus (orbit) or around the eye (fly).
    pub fn rotate(&mut self, d_yaw: f64, d_pitch: f64) {
        let eye = self.eye();
        self.yaw = (self.yaw + d_yaw).rem_euclid(std::f64::consts::TAU);
        self.pitch = (self.pitch + d_pitch).clamp(-1.56, 1.56);
        if self.fly {
            self.focus = eye + self.forward() * self.distance;
        }
    }

    /// Moves eye and focus together: `right` and `up` in metres on the screen plane.
    pub fn pan(&mut self, right: f64, up: f64) {
        let screen_up = self.right().cross(self.forward());
        self.focus += self.right() * right + screen_up * up;
    }

    /// Moves towards the focus by `factor` of the distance (< 1 zooms in).
    pub fn zoom(&mut self, factor: f64) {
        self.distance = (self.distance * factor).clamp(0.05, 1.0e7);
    }

    /// Moves eye and focus along the view (fly mode), in metres.
    pub fn advance(&mut self, forward: f64, right: f64, up: f64) {
        self.focus += self.forward() * forward + self.right() * right + DVec3::Z * up;
    }

    /// Orbits around `point` from where the eye is now.
    pub fn focus_on(&mut self, point: DVec3) {
        *self = Self {
            fov_y: self.fov_y,
            fly: self.fly,
            ..Self::look_at(self.eye(), point)
        };
    }

    /// The rotation of Bevy's camera (Y-up render frame).
    pub fn rotation(&self) -> Quat {
        let [x, y, z] = world_from_crs(self.forward());
        Transform::default()
            .looking_to(Vec3::new(x, y, z), Vec3::Y)
            .rotation
    }
}

/// The camera the streaming follows, in the CRS (set by the camera systems each frame).
#[derive(Resource, Debug, Clone, Copy)]
pub struct StreamingView {
    pub view: View,
    /// Camera position in the CRS: the origin of the render frame.
    pub eye: DVec3,
    /// Distance from the eye to what the camera looks at, metres.
    pub focus_distance: f64,
}

/// What the view clips away (box, polygon, section plane: [`crate::spatial::clip`]), in the
/// CRS: the point renderers and the buildings draw only what it keeps, and picking skips the
/// rest.
#[derive(Resource, Debug, Clone, Default, PartialEq)]
pub struct ClipVolume(pub crate::spatial::Clipping);

/// Order: input, then the camera state is pushed to Bevy and to streaming.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum CameraSystems {
    Input,
    Apply,
}

/// Largest pointer travel (px) between press and release that still counts as a click.
pub const CLICK_SLOP_PX: f32 = 4.0;

/// A left click (press and release close together, not on the panel): the cursor position at
/// the release, in whatever pixels `cursor` is given. `pressed_at` is the caller's memory of
/// the press (a `Local`).
pub fn left_click(
    buttons: &ButtonInput<MouseButton>,
    cursor: Option<Vec2>,
    pressed_at: &mut Option<Vec2>,
    input: Option<&CameraInput>,
) -> Option<Vec2> {
    if buttons.just_pressed(MouseButton::Left) {
        *pressed_at = cursor;
    }
    if !buttons.just_released(MouseButton::Left) {
        return None;
    }
    let (start, cursor) = (pressed_at.take()?, cursor?);
    let on_panel = input.is_some_and(|i| i.captured_by_ui);
    (start.distance(cursor) <= CLICK_SLOP_PX && !on_panel).then_some(cursor)
}

/// What a tool needs to turn a left click into rays: the mouse, the panel's capture, the
/// cursor, the press remembered, the viewer cameras.
#[derive(bevy::ecs::system::SystemParam)]
pub struct Clicks<'w, 's> {
    buttons: Option<Res<'w, ButtonInput<MouseButton>>>,
    input: Option<Res<'w, CameraInput>>,
    windows: Query<'w, 's, &'static Window>,
    pressed_at: Local<'s, Option<Vec2>>,
    cameras: Query<
        'w,
        's,
        (
            &'static ViewerCamera,
            &'static Camera,
            &'static GlobalTransform,
        ),
    >,
}

impl Clicks<'_, '_> {
    /// The rays under a left click (see [`left_click`]), one a viewer camera: (eye, unit
    /// direction) in the CRS; none without a click (or without a mouse: tests, tools).
    pub fn rays(&mut self) -> Vec<(DVec3, DVec3)> {
        let Some(buttons) = self.buttons.as_deref() else {
            return Vec::new();
        };
        let cursor = self.windows.iter().find_map(Window::cursor_position);
        let Some(cursor) = left_click(buttons, cursor, &mut self.pressed_at, self.input.as_deref())
        else {
            return Vec::new();
        };
        self.cameras
            .iter()
            .filter_map(|(rig, camera, transform)| {
                let ray = camera.viewport_to_world(transform, cursor).ok()?;
                let d = ray.direction;
                let direction = crate::georef::crs_from_world([d.x, d.y, d.z]).normalize();
                Some((rig.eye(), direction))
            })
            .collect()
    }

    /// The first viewer camera's distance to what it looks at, metres.
    pub fn distance(&self) -> Option<f64> {
        self.cameras.iter().next().map(|(rig, _, _)| rig.distance)
    }
}

/// Input handling can be switched off (the render command, a kiosk tour, egui capturing input).
#[derive(Resource, Debug, Clone, Copy)]
pub struct CameraInput {
    pub enabled: bool,
    /// The panel has the pointer or keyboard this frame.
    pub captured_by_ui: bool,
}

/// Physical pixels of the window covered by a panel on the left. The 3D view keeps the whole
/// window but shifts its centre into the free part (an off-centre projection), so what the
/// camera looks at sits in the middle of what the user can see.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq)]
pub struct ViewInset {
    pub left_px: f32,
}

/// The camera rig: each frame the [`ViewerCamera`] is pushed to Bevy's camera and published as
/// the [`StreamingView`] the capabilities stream for. Moving the rig is up to the app, or to
/// [`CameraControllerPlugin`].
pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<CameraInput>()
        .init_resource::<ViewInset>()
        .init_resource::<Pickers>()
        .init_resource::<ClipVolume>()
        .configure_sets(
            PostUpdate,
            (CameraSystems::Input, CameraSystems::Apply).chain(),
        )
        .add_systems(PostUpdate, apply_camera.in_set(CameraSystems::Apply));
}

/// The planner's camera controller: orbit, pan and zoom with mouse and touch, fly with the keys,
/// double-click to focus on what lies under the cursor. Off while [`CameraInput`] says so.
pub struct CameraControllerPlugin;

impl Plugin for CameraControllerPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<CameraInput>().add_systems(
            PostUpdate,
            (
                orbit_with_mouse,
                orbit_with_touch,
                fly_with_keys,
                focus_on_double_click,
            )
                .run_if(|input: Res<CameraInput>| input.enabled && !input.captured_by_ui)
                .in_set(CameraSystems::Input),
        );
    }
}

impl Default for CameraInput {
    fn default() -> Self {
        Self {
            enabled: true,
            captured_by_ui: false,
        }
    }
}

/// Metres per pixel at the focus distance.
fn metres_per_pixel(camera: &ViewerCamera, viewport_height: f32) -> f64 {
    2.0 * camera.distance * (camera.fov_y * 0.5).tan() / f64::from(viewport_height.max(1.0))
}

fn viewport_height(camera: &Camera) -> f32 {
    camera.logical_viewport_size().map_or(600.0, |s| s.y)
}

fn orbit_with_mouse(
    buttons: Res<ButtonInput<MouseButton>>,
    keys: Res<ButtonInput<KeyCode>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    mut cameras: Query<(&mut ViewerCamera, &Camera)>,
) {
    for (mut rig, camera) in &mut cameras {
        let delta = motion.delta;
        let shift = keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
        if delta != Vec2::ZERO {
            if buttons.pressed(MouseButton::Right)
                || buttons.pressed(MouseButton::Middle)
                || (buttons.pressed(MouseButton::Left) && shift)
            {
                let m = metres_per_pixel(&rig, viewport_height(camera));
                rig.pan(-f64::from(delta.x) * m, f64::from(delta.y) * m);
            } else if buttons.pressed(MouseButton::Left) {
                rig.rotate(f64::from(delta.x) * 0.005, -f64::from(delta.y) * 0.005);
            }
        }
        let lines = match scroll.unit {
            MouseScrollUnit::Line => scroll.delta.y,
            MouseScrollUnit::Pixel => scroll.delta.y / 40.0,
        };
        if lines != 0.0 {
            rig.zoom(0.85f64.powf(f64::from(lines)));
        }
    }
}

/// One finger orbits, two fingers drag to pan, pinch to zoom and twist to turn the view; a
/// double tap focuses on what lies under it ([`gestures`]).
fn orbit_with_touch(
    mut commands: Commands,
    touches: Res<Touches>,
    time: Res<Time>,
    mut started: Local<std::collections::HashMap<u64, (f64, Vec2)>>,
    mut taps: Local<gestures::Taps>,
    mut cameras: Query<(Entity, &mut ViewerCamera, &Camera, &GlobalTransform)>,
) {
    let now = time.elapsed_secs_f64();
    for touch in touches.iter_just_pressed() {
        started.insert(touch.id(), (now, touch.position()));
    }
    let mut double_tap = None;
    for touch in touches.iter_just_released() {
        if let Some(start) = started.remove(&touch.id()) {
            double_tap = double_tap.or(taps.lifted(start, (now, touch.position())));
        }
    }
    for touch in touches.iter_just_canceled() {
        started.remove(&touch.id());
    }
    let fingers: Vec<(Vec2, Vec2)> = touches
        .iter()
        .map(|t| (t.previous_position(), t.position()))
        .collect();
    let g = gestures::gesture(&fingers);
    for (entity, mut rig, camera, transform) in &mut cameras {
        if g.orbit != Vec2::ZERO {
            rig.rotate(f64::from(g.orbit.x) * 0.005, -f64::from(g.orbit.y) * 0.005);
        }
        if g.pan != Vec2::ZERO {
            let m = metres_per_pixel(&rig, viewport_height(camera));
            rig.pan(-f64::from(g.pan.x) * m, f64::from(g.pan.y) * m);
        }
        if g.zoom != 1.0 {
            rig.zoom(f64::from(g.zoom));
        }
        if g.twist != 0.0 {
            rig.rotate(f64::from(g.twist), 0.0);
        }
        if let Some(at) = double_tap {
            focus_at(&mut commands, (entity, &rig, camera, transform), at);
        }
    }
}

/// F toggles fly mode; WASD / arrows move, Q/E down/up, speed follows the distance.
fn fly_with_keys(
    keys: Res<ButtonInput<KeyCode>>,
    time: Res<Time>,
    mut cameras: Query<&mut ViewerCamera>,
) {
    for mut rig in &mut cameras {
        if keys.just_pressed(KeyCode::KeyF) {
            rig.fly = !rig.fly;
        }
        let axis = |plus: [KeyCode; 2], minus: [KeyCode; 2]| {
            f64::from(u8::from(keys.any_pressed(plus)))
                - f64::from(u8::from(keys.any_pressed(minus)))
        };
        let forward = axis(
            [KeyCode::KeyW, KeyCode::ArrowUp],
            [KeyCode::KeyS, KeyCode::ArrowDown],
        );
        let right = axis(
            [KeyCode::KeyD, KeyCode::ArrowRight],
            [KeyCode::KeyA, KeyCode::ArrowLeft],
        );
        let up = axis(
            [KeyCode::KeyE, KeyCode::PageUp],
            [KeyCode::KeyQ, KeyCode::PageDown],
        );
        if forward != 0.0 || right != 0.0 || up != 0.0 {
            let speed = rig.distance.max(1.0) * 0.8 * time.delta_secs_f64();
            rig.advance(forward * speed, right * speed, up * speed);
        }
    }
}

fn focus_on_double_click(
    mut commands: Commands,
    buttons: Res<ButtonInput<MouseButton>>,
    time: Res<Time>,
    mut last_click: Local<Option<f64>>,
    windows: Query<&Window>,
    cameras: Query<(Entity, &ViewerCamera, &Camera, &GlobalTransform)>,
) {
    if !buttons.just_pressed(MouseButton::Left) {
        return;
    }
    let now = time.elapsed_secs_f64();
    let double = last_click.is_some_and(|t| now - t < 0.35);
    *last_click = Some(now);
    if !double {
        return;
    }
    let Some(cursor) = windows.iter().find_map(Window::cursor_position) else {
        return;
    };
    for (entity, rig, camera, transform) in &cameras {
        focus_at(&mut commands, (entity, rig, camera, transform), cursor);
    }
}

/// Focuses a camera on the nearest of what the capabilities draw (points, walls) under the
/// screen position `at`.
fn focus_at(
    commands: &mut Commands,
    (entity, rig, camera, transform): (Entity, &ViewerCamera, &Camera, &GlobalTransform),
    at: Vec2,
) {
    let Ok(ray) = camera.viewport_to_world(transform, at) else {
        return;
    };
    let d = ray.direction;
    let direction = crate::georef::crs_from_world([d.x, d.y, d.z]);
    let eye = rig.eye();
    commands.queue(move |world: &mut World| {
        let nearest = world
            .get_resource::<Pickers>()
            .and_then(|pickers| pickers.nearest(world, eye, direction));
        if let (Some(point), Some(mut rig)) = (nearest, world.get_mut::<ViewerCamera>(entity)) {
            rig.focus_on(point);
        }
    });
}

/// Points every viewer camera at `bounds`, framed for the part of its viewport the panel
/// leaves free.
pub fn frame_cameras(world: &mut World, bounds: &CrsAabb) {
    let inset = world
        .get_resource::<ViewInset>()
        .map_or(0.0, |i| f64::from(i.left_px));
    let mut cameras = world.query::<(&mut ViewerCamera, &Camera)>();
    for (mut rig, camera) in cameras.iter_mut(world) {
        let size = camera
            .physical_viewport_size()
            .unwrap_or(UVec2::new(4, 3))
            .as_dvec2();
        let aspect = (size.x - inset).max(1.0) / size.y.max(1.0);
        *rig = ViewerCamera::framing(bounds, aspect);
    }
}

/// Pushes the rig to Bevy's camera (rotation, near plane, off-centre projection beside the
/// panel) and to streaming (LOD view, origin).
fn apply_camera(
    mut commands: Commands,
    inset: Res<ViewInset>,
    mut cameras: Query<(&ViewerCamera, &mut Camera, &mut Transform, &mut Projection)>,
) {
    for (rig, mut camera, mut transform, mut projection) in &mut cameras {
        transform.translation = Vec3::ZERO;
        transform.rotation = rig.rotation();
        let size = camera
            .physical_viewport_size()
            .unwrap_or(UVec2::new(800, 600));
        let inset_px = (inset.left_px.max(0.0) as u32).min(size.x.saturating_sub(1));
        // The virtual image is wider by the panel; the window shows its left part, so the
        // image centre lands in the middle of the free area.
        let sub_view = (inset_px > 0).then(|| bevy::camera::SubCameraView {
            full_size: UVec2::new(size.x + inset_px, size.y),
            offset: Vec2::ZERO,
            size,
        });
        if camera.sub_camera_view != sub_view {
            camera.sub_camera_view = sub_view;
        }
        let aspect = f64::from(size.x + inset_px) / f64::from(size.y.max(1));
        if let Projection::Perspective(p) = &mut *projection {
            p.fov = rig.fov_y as f32;
            p.near = (rig.distance * 1e-3).clamp(0.01, 10.0) as f32;
            p.far = (rig.distance * 1e3).max(1e4) as f32;
        }
        commands.insert_resource(StreamingView {
            view: rig.lod_view(aspect, f64::from(size.y)),
            eye: rig.eye(),
            focus_distance: rig.distance,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_at_round_trips_eye_and_focus() {
        let eye = DVec3::new(700_100.0, 6_600_050.0, 120.0);
        let target = DVec3::new(700_000.0, 6_600_000.0, 50.0);
        let rig = ViewerCamera::look_at(eye, target);
        assert!((rig.eye() - eye).length() < 1e-6, "{}", rig.eye());
        assert!((rig.focus - target).length() < 1e-9);
    }

    #[test]
    fn orbit_keeps_the_focus_and_distance_fly_keeps_the_eye() {
        let mut rig = ViewerCamera::look_at(DVec3::new(0.0, -100.0, 100.0), DVec3::ZERO);
        rig.rotate(0.7, 0.2);
        assert!((rig.focus - DVec3::ZERO).length() < 1e-9);
        assert!((rig.eye().length() - rig.distance).abs() < 1e-9);
        rig.fly = true;
        let eye = rig.eye();
        rig.rotate(-1.2, -0.3);
        assert!((rig.eye() - eye).length() < 1e-6);
    }

    #[test]
    fn camera_looks_where_the_lod_view_looks() {
        let rig = ViewerCamera::look_at(DVec3::new(10.0, -50.0, 30.0), DVec3::new(0.0, 0.0, 0.0));
        // The focus projects to the centre of the LOD view's clip space.
        let view = rig.lod_view(1.5, 600.0);
        let clip = view.clip_from_world * rig.focus.extend(1.0);
        assert!((clip.x / clip.w).abs() < 1e-9 && (clip.y / clip.w).abs() < 1e-9);
        // And Bevy's camera forward is the same direction in the render frame.
        let forward = rig.rotation() * Vec3::NEG_Z;
        let [x, y, z] = world_from_crs(rig.forward());
        assert!(forward.distance(Vec3::new(x, y, z)) < 1e-5);
    }

    #[test]
    fn framing_sees_the_whole_box() {
        let aabb = CrsAabb {
            min: DVec3::new(292_000.0, 6_832_000.0, 43.0),
            max: DVec3::new(293_000.0, 6_833_000.0, 108.0),
        };
        let rig = ViewerCamera::framing(&aabb, 16.0 / 9.0);
        let view = rig.lod_view(16.0 / 9.0, 720.0);
        for p in aabb.corners() {
            let c = view.clip_from_world * p.extend(1.0);
            assert!(
                c.w > 0.0 && (c.x / c.w).abs() <= 1.0 && (c.y / c.w).abs() <= 1.0,
                "{p}"
            );
        }
    }
}

/// An app with the camera's input resources and systems, for tests of what moves the camera.
#[cfg(test)]
pub(crate) fn test_app_with_input() -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .init_resource::<ButtonInput<MouseButton>>()
        .init_resource::<ButtonInput<KeyCode>>()
        .init_resource::<AccumulatedMouseMotion>()
        .init_resource::<AccumulatedMouseScroll>()
        .init_resource::<bevy::input::touch::Touches>();
    plugin(&mut app);
    app.add_plugins(CameraControllerPlugin);
    app
}

#[cfg(test)]
mod input_tests {
    use super::*;

    fn app_with_camera() -> (App, Entity) {
        let mut app = test_app_with_input();
        let rig = ViewerCamera::look_at(DVec3::new(0.0, -100.0, 100.0), DVec3::ZERO);
        let camera = app
            .world_mut()
            .spawn((
                rig,
                Camera::default(),
                Transform::default(),
                Projection::Perspective(PerspectiveProjection::default()),
            ))
            .id();
        (app, camera)
    }

    fn rig(app: &App, camera: Entity) -> ViewerCamera {
        *app.world().get::<ViewerCamera>(camera).unwrap()
    }

    #[test]
    fn a_panel_shifts_the_view_centre_into_the_free_area() {
        let (mut app, camera) = app_with_camera();
        app.update();
        assert_eq!(
            app.world().get::<Camera>(camera).unwrap().sub_camera_view,
            None
        );
        let narrow = app.world().resource::<StreamingView>().view.clip_from_world;
        app.world_mut().resource_mut::<ViewInset>().left_px = 200.0;
        app.update();
        // Without a window the viewport is 800×600: a 1000-wide virtual image, its left 800 px
        // shown, so the focus lands 100 px right of the window centre: mid free area.
        let sub = app.world().get::<Camera>(camera).unwrap().sub_camera_view;
        assert_eq!(
            sub,
            Some(bevy::camera::SubCameraView {
                full_size: UVec2::new(1000, 600),
                offset: Vec2::ZERO,
                size: UVec2::new(800, 600),
            })
        );
        // Streaming selects for the whole virtual image (wider, same height).
        let wide = app.world().resource::<StreamingView>().view.clip_from_world;
        assert!(wide.x_axis.x < narrow.x_axis.x * 0.9);
        assert!((wide.y_axis.y - narrow.y_axis.y).abs() < 1e-9);
    }

    #[test]
    fn left_drag_orbits_wheel_zooms_right_drag_pans() {
        let (mut app, camera) = app_with_camera();
        app.update();
        let start = rig(&app, camera);

        app.world_mut()
            .resource_mut::<ButtonInput<MouseButton>>()
            .press(MouseButton::Left);
        app.world_mut()
            .resource_mut::<AccumulatedMouseMotion>()
            .delta = Vec2::new(100.0, 0.0);
        app.update();
        let orbited = rig(&app, camera);
        assert!((orbited.yaw - start.yaw).abs() > 0.1, "yaw {}", orbited.yaw);
        assert_eq!(orbited.focus, start.focus);

        let mut buttons = app.world_mut().resource_mut::<ButtonInput<MouseButton>>();
        buttons.release(MouseButton::Left);
        buttons.press(MouseButton::Right);
        app.update();
        let panned = rig(&app, camera);
        assert!((panned.focus - start.focus).length() > 1.0);
        assert!((panned.distance - start.distance).abs() < 1e-9);

        app.world_mut()
            .resource_mut::<ButtonInput<MouseButton>>()
            .release(MouseButton::Right);
        app.world_mut()
            .resource_mut::<AccumulatedMouseMotion>()
            .delta = Vec2::ZERO;
        app.world_mut()
            .resource_mut::<AccumulatedMouseScroll>()
            .delta = Vec2::new(0.0, 2.0);
        app.update();
        let zoomed = rig(&app, camera);
        assert!((zoomed.distance - panned.distance * 0.85f64.powi(2)).abs() < 1e-6);
        // The streaming view follows the rig.
        let view = app.world().resource::<StreamingView>();
        assert!((view.eye - zoomed.eye()).length() < 1e-9);
    }

    /// Sends touch phases (finger id, phase, position) as a window would.
    fn touch(app: &mut App, fingers: &[(u64, bevy::input::touch::TouchPhase, Vec2)]) {
        for &(id, phase, position) in fingers {
            app.world_mut()
                .write_message(bevy::input::touch::TouchInput {
                    phase,
                    position,
                    window: Entity::PLACEHOLDER,
                    force: None,
                    id,
                });
        }
        app.update();
    }

    #[test]
    fn fingers_orbit_pan_pinch_and_twist_the_camera() {
        use bevy::input::touch::TouchPhase::{Ended, Moved, Started};
        let (mut app, camera) = app_with_camera();
        app.add_message::<bevy::input::touch::TouchInput>()
            .add_systems(PreUpdate, bevy::input::touch::touch_screen_input_system);
        app.update();
        let start = rig(&app, camera);
        let (a, b) = (Vec2::new(300.0, 300.0), Vec2::new(500.0, 300.0));
        touch(&mut app, &[(1, Started, a), (2, Started, b)]);
        // Spread to twice the distance: zoom in by half, the focus stays.
        touch(
            &mut app,
            &[
                (1, Moved, Vec2::new(200.0, 300.0)),
                (2, Moved, Vec2::new(600.0, 300.0)),
            ],
        );
        let pinched = rig(&app, camera);
        assert!(
            (pinched.distance - start.distance * 0.5).abs() < 1e-6,
            "{} → {}",
            start.distance,
            pinched.distance
        );
        assert!((pinched.focus - start.focus).length() < 1e-9);
        // Turn the line between the fingers by 90°: the view turns by 90°.
        touch(
            &mut app,
            &[
                (1, Moved, Vec2::new(400.0, 100.0)),
                (2, Moved, Vec2::new(400.0, 500.0)),
            ],
        );
        let twisted = rig(&app, camera);
        let turned = (twisted.yaw - pinched.yaw).rem_euclid(std::f64::consts::TAU);
        assert!(
            (turned - std::f64::consts::FRAC_PI_2).abs() < 1e-4,
            "{turned}"
        );
        // Both fingers move down together: a pan.
        touch(
            &mut app,
            &[
                (1, Moved, Vec2::new(400.0, 150.0)),
                (2, Moved, Vec2::new(400.0, 550.0)),
            ],
        );
        let panned = rig(&app, camera);
        assert!((panned.focus - twisted.focus).length() > 1.0);
        assert!((panned.distance - twisted.distance).abs() < 1e-9);
        touch(
            &mut app,
            &[
                (1, Ended, Vec2::new(400.0, 150.0)),
                (2, Ended, Vec2::new(400.0, 550.0)),
            ],
        );
        // One finger: an orbit.
        touch(&mut app, &[(3, Started, a)]);
        touch(&mut app, &[(3, Moved, a + Vec2::new(100.0, 0.0))]);
        let orbited = rig(&app, camera);
        assert!((orbited.yaw - panned.yaw).abs() > 0.1);
        assert_eq!(orbited.focus, panned.focus);
    }

    #[test]
    fn the_panel_keeps_the_pointer_from_the_camera() {
        let (mut app, camera) = app_with_camera();
        app.update();
        let start = rig(&app, camera);
        app.world_mut().resource_mut::<CameraInput>().captured_by_ui = true;
        app.world_mut()
            .resource_mut::<ButtonInput<MouseButton>>()
            .press(MouseButton::Left);
        app.world_mut()
            .resource_mut::<AccumulatedMouseMotion>()
            .delta = Vec2::new(100.0, 40.0);
        app.update();
        assert_eq!(rig(&app, camera), start);
    }
}
