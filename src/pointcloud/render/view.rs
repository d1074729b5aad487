//! What the compute rasterizer knows of each 3D view this frame: its size, target format and a
//! uniform with its matrices, frustum planes and pixel scale.

use bevy::math::{Mat4, UVec2, Vec2, Vec4};
use bevy::prelude::*;
use bevy::render::camera::ExtractedCamera;
use bevy::render::render_resource::{ShaderType, TextureFormat, UniformBuffer};
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::view::{ExtractedView, ViewDepthTexture, ViewTarget};
use std::collections::HashMap;

/// Per-view data of the point passes. Must match `Frame` in `raster.wgsl`.
#[derive(Clone, ShaderType)]
pub struct RasterFrame {
    clip_from_world: Mat4,
    clip_from_view: Mat4,
    view_z: Vec4,
    planes: [Vec4; 6],
    size: Vec2,
    focal_px: f32,
    width: u32,
}

/// A 3D view of this frame.
pub struct PointView {
    pub size: UVec2,
    pub format: TextureFormat,
    pub clip_from_view: Mat4,
    pub frame: UniformBuffer<RasterFrame>,
}

/// Every 3D view of this frame (render-world view entity).
#[derive(Resource, Default)]
pub struct PointViews(pub HashMap<Entity, PointView>);

/// Fills [`PointViews`] (in `RenderSystems::PrepareResources`).
pub fn prepare_point_views(
    mut views: ResMut<PointViews>,
    targets: Query<(Entity, &ExtractedView, &ExtractedCamera, &ViewTarget), With<ViewDepthTexture>>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
) {
    views.0.clear();
    for (entity, view, camera, target) in &targets {
        let Some(size) = camera.physical_viewport_size.filter(|s| s.x > 0 && s.y > 0) else {
            continue;
        };
        let mut frame = UniformBuffer::from(raster_frame(
            view.clip_from_view,
            view.world_from_view.to_matrix(),
            size,
        ));
        frame.write_buffer(&device, &queue);
        views.0.insert(
            entity,
            PointView {
                size,
                format: target.main_texture_format(),
                clip_from_view: view.clip_from_view,
                frame,
            },
        );
    }
}

/// The frame uniform of a view: matrices, frustum planes and pixel size.
pub fn raster_frame(clip_from_view: Mat4, world_from_view: Mat4, size: UVec2) -> RasterFrame {
    let view_from_world = world_from_view.inverse();
    let clip_from_world = clip_from_view * view_from_world;
    let row = |m: &Mat4, i: usize| m.row(i);
    let (r0, r1, r2, r3) = (
        row(&clip_from_world, 0),
        row(&clip_from_world, 1),
        row(&clip_from_world, 2),
        row(&clip_from_world, 3),
    );
    RasterFrame {
        clip_from_world,
        clip_from_view,
        view_z: -view_from_world.row(2),
        // x, y within ±w; reverse-Z depth within [0, w].
        planes: [r3 + r0, r3 - r0, r3 + r1, r3 - r1, r2, r3 - r2],
        size: size.as_vec2(),
        focal_px: clip_from_view.y_axis.y * size.y as f32 * 0.5,
        width: size.x,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_planes_keep_what_the_camera_sees() {
        let frame = raster_frame(
            Mat4::perspective_infinite_reverse_rh(1.0, 4.0 / 3.0, 0.1),
            Mat4::IDENTITY,
            UVec2::new(320, 240),
        );
        let inside = |p: Vec3| {
            frame
                .planes
                .iter()
                .all(|pl| pl.truncate().dot(p) + pl.w >= 0.0)
        };
        assert!(inside(Vec3::new(0.0, 0.0, -10.0)));
        assert!(!inside(Vec3::new(0.0, 0.0, 10.0)), "behind the camera");
        assert!(!inside(Vec3::new(100.0, 0.0, -10.0)), "far right");
        assert!(!inside(Vec3::new(0.0, 0.0, -0.01)), "before the near plane");
        assert!((frame.view_z.dot(Vec4::new(0.0, 0.0, -10.0, 1.0)) - 10.0).abs() < 1e-5);
        assert!((frame.focal_px - 120.0 / (0.5f32).tan()).abs() < 1e-3);
    }
}
