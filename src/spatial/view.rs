//! The one camera model of level-of-detail selection: point clouds, tilesets and overlays
//! cull and refine against it.

use super::Aabb;
use bevy::math::{DMat4, DVec3, DVec4};

/// A perspective camera in the dataset's CRS (f64, so Lambert-93 coordinates keep their precision).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub position: DVec3,
    /// Clip space from CRS coordinates (projection × view), wgpu depth range 0..1.
    pub clip_from_world: DMat4,
    /// `projection[1][1]`: 1 / tan(fov_y / 2).
    pub projection_scale_y: f64,
    pub viewport_height_px: f64,
}

impl View {
    /// A camera at `eye` looking at `target`, with `up` the CRS's up axis (usually +Z).
    pub fn look_at(
        eye: DVec3,
        target: DVec3,
        up: DVec3,
        fov_y_radians: f64,
        aspect: f64,
        viewport_height_px: f64,
    ) -> Self {
        let view = DMat4::look_at_rh(eye, target, up);
        let distance = (target - eye).length().max(1e-3);
        let projection =
            DMat4::perspective_rh(fov_y_radians, aspect, distance * 1e-4, distance * 1e4);
        Self {
            position: eye,
            clip_from_world: projection * view,
            projection_scale_y: projection.y_axis.y,
            viewport_height_px,
        }
    }

    /// A camera that frames `aabb` whole: from the south, 45° above the horizon.
    pub fn framing(aabb: &Aabb, fov_y_radians: f64, aspect: f64, viewport_height_px: f64) -> Self {
        let radius = aabb.size().length() * 0.5;
        let fov = if aspect < 1.0 {
            fov_y_radians * aspect
        } else {
            fov_y_radians
        };
        let distance = radius / (fov * 0.5).sin();
        let direction = DVec3::new(0.0, -1.0, 1.0).normalize();
        Self::look_at(
            aabb.center() + direction * distance,
            aabb.center(),
            DVec3::Z,
            fov_y_radians,
            aspect,
            viewport_height_px,
        )
    }

    /// A camera at `eye` looking at `target` with no far plane (near plane 0.1 m), for a
    /// viewport of `viewport_px` (width, height).
    pub fn look_at_infinite(
        eye: DVec3,
        target: DVec3,
        up: DVec3,
        fov_y_radians: f64,
        viewport_px: [f64; 2],
    ) -> Self {
        let aspect = viewport_px[0] / viewport_px[1].max(1.0);
        let projection = DMat4::perspective_infinite_rh(fov_y_radians, aspect, 0.1);
        Self::from_clip_from_world(
            projection * DMat4::look_at_rh(eye, target, up),
            eye,
            fov_y_radians,
            viewport_px[1],
        )
    }

    /// The view of any projection × view matrix (any depth convention, reversed or infinite
    /// far planes included) of a camera at `eye` with a vertical field of `fov_y_radians`.
    pub fn from_clip_from_world(
        clip_from_world: DMat4,
        eye: DVec3,
        fov_y_radians: f64,
        viewport_height_px: f64,
    ) -> Self {
        Self {
            position: eye,
            clip_from_world,
            projection_scale_y: 1.0 / (0.5 * fov_y_radians).tan(),
            viewport_height_px,
        }
    }

    /// The same camera in another frame: `world_from_frame` maps that frame's coordinates to
    /// this view's (an affine map, e.g. a tileset's root frame linearised at its centre), and
    /// `frame_from_world` is its inverse.
    pub fn in_frame(&self, world_from_frame: DMat4, frame_from_world: DMat4) -> Self {
        Self {
            position: frame_from_world.transform_point3(self.position),
            clip_from_world: self.clip_from_world * world_from_frame,
            ..*self
        }
    }

    /// Frustum planes (Gribb–Hartmann), normals pointing inwards: `n·p + d ≥ 0` inside.
    pub fn planes(&self) -> [DVec4; 6] {
        let m = self.clip_from_world.transpose();
        let (r0, r1, r2, r3) = (m.x_axis, m.y_axis, m.z_axis, m.w_axis);
        [r3 + r0, r3 - r0, r3 + r1, r3 - r1, r2, r3 - r2]
    }

    /// [`View::planes`] with unit normals, so that `n·p + d` is a distance in metres; a plane
    /// with no normal (the far plane of an infinite projection) never culls.
    pub fn unit_planes(&self) -> [DVec4; 6] {
        self.planes().map(|p| {
            let len = p.truncate().length();
            if len > 1e-12 {
                p / len
            } else {
                DVec4::new(0.0, 0.0, 0.0, 1.0)
            }
        })
    }

    /// Pixels per metre of size at one metre of distance: a screen-space error is
    /// `geometric error × sse_factor / distance`.
    pub fn sse_factor(&self) -> f64 {
        0.5 * self.viewport_height_px * self.projection_scale_y
    }
}
