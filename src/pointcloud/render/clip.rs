//! The clip volume on the GPU: [`ClipUniform`] is [`Clipping`] (twin CRS) moved into the
//! camera-relative render frame, read by `shaders/common/clip.wgsl` in both point render paths
//! and in the buildings' material. Rebuilt whenever the eye moves, so no Lambert-93 magnitude
//! reaches the GPU.

use crate::spatial::clip::{Clipping, Keep, MAX_POLYGON_VERTICES};
use bevy::math::{DVec3, Vec4};
use bevy::render::render_resource::ShaderType;

/// Must match `Clip` in `shaders/common/clip.wgsl`.
#[derive(Debug, Clone, Copy, PartialEq, ShaderType)]
pub struct ClipUniform {
    pub flags: u32,
    pub polygon_count: u32,
    pub planes: [Vec4; 6],
    pub section: Vec4,
    pub polygon: [Vec4; MAX_POLYGON_VERTICES / 2],
}

impl Default for ClipUniform {
    fn default() -> Self {
        Self {
            flags: 0,
            polygon_count: 0,
            planes: [Vec4::ZERO; 6],
            section: Vec4::ZERO,
            polygon: [Vec4::ZERO; MAX_POLYGON_VERTICES / 2],
        }
    }
}

impl ClipUniform {
    /// `clip` in the render frame whose origin is `eye` (CRS): x east, y up, z south.
    pub fn new(clip: &Clipping, eye: DVec3) -> Self {
        let mut out = Self::default();
        if let Some(b) = &clip.clip_box {
            out.flags |= 1;
            let (lo, hi) = (
                DVec3::from_array(b.min) - eye,
                DVec3::from_array(b.max) - eye,
            );
            // World x = CRS x, world y = CRS z, world z = −CRS y.
            out.planes = [
                Vec4::new(1.0, 0.0, 0.0, -lo.x as f32),
                Vec4::new(-1.0, 0.0, 0.0, hi.x as f32),
                Vec4::new(0.0, 1.0, 0.0, -lo.z as f32),
                Vec4::new(0.0, -1.0, 0.0, hi.z as f32),
                Vec4::new(0.0, 0.0, -1.0, -lo.y as f32),
                Vec4::new(0.0, 0.0, 1.0, hi.y as f32),
            ];
        }
        if (3..=MAX_POLYGON_VERTICES).contains(&clip.polygon.len()) {
            out.flags |= 2;
            out.polygon_count = clip.polygon.len() as u32;
            let world = |[x, y]: [f64; 2]| [(x - eye.x) as f32, (eye.y - y) as f32];
            for (slot, pair) in out.polygon.iter_mut().zip(clip.polygon.chunks(2)) {
                let a = world(pair[0]);
                let b = pair.get(1).map_or(a, |v| world(*v));
                *slot = Vec4::new(a[0], a[1], b[0], b[1]);
            }
        }
        if let Some(s) = &clip.section {
            out.flags |= 4;
            let n = DVec3::from_array(s.normal).normalize();
            let w = (eye - DVec3::from_array(s.point)).dot(n);
            out.section = Vec4::new(n.x as f32, n.z as f32, -n.y as f32, w as f32);
        }
        if clip.keep == Keep::Outside && out.flags & 3 != 0 {
            out.flags |= 8;
        }
        out
    }

    /// The CPU twin of the shader's `clip_keeps`, for render-frame positions (the tests check
    /// that it agrees with [`Clipping::keeps`]; nothing else draws on the CPU).
    #[cfg(test)]
    fn keeps(&self, p: [f32; 3]) -> bool {
        let p = Vec4::new(p[0], p[1], p[2], 1.0);
        if self.flags & 4 != 0 && self.section.dot(p) > 0.0 {
            return false;
        }
        if self.flags & 3 == 0 {
            return true;
        }
        let mut inside = self.flags & 1 == 0 || self.planes.iter().all(|q| q.dot(p) >= 0.0);
        if inside && self.flags & 2 != 0 {
            let ring: Vec<[f64; 2]> = (0..self.polygon_count as usize)
                .map(|i| {
                    let v = self.polygon[i / 2];
                    let (x, z) = if i % 2 == 0 { (v.x, v.y) } else { (v.z, v.w) };
                    [f64::from(x), f64::from(z)]
                })
                .collect();
            inside = crate::spatial::clip::in_polygon(
                &ring,
                bevy::math::DVec2::new(f64::from(p.x), f64::from(p.z)),
            );
        }
        inside == (self.flags & 8 == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::clip::{ClipBox, Section};

    /// At Lambert-93 magnitudes, the render-frame uniform keeps exactly what the CRS rule keeps
    /// for points more than a millimetre from a boundary.
    #[test]
    fn the_gpu_rule_agrees_with_the_crs_rule_at_lambert_93_magnitudes() {
        let (x0, y0) = (652_345.25, 6_862_789.75);
        let clips = [
            Clipping {
                clip_box: Some(ClipBox {
                    min: [x0 - 20.0, y0 - 10.0, 30.0],
                    max: [x0 + 15.0, y0 + 25.0, 45.0],
                }),
                ..Default::default()
            },
            Clipping {
                keep: Keep::Outside,
                polygon: vec![
                    [x0 - 30.0, y0 - 30.0],
                    [x0 + 30.0, y0 - 20.0],
                    [x0 + 5.0, y0 + 2.0],
                    [x0 + 25.0, y0 + 30.0],
                    [x0 - 25.0, y0 + 28.0],
                ],
                section: Some(Section {
                    point: [x0, y0, 40.0],
                    normal: [0.3, -0.2, 1.0],
                }),
                ..Default::default()
            },
        ];
        let eye = DVec3::new(x0 + 80.0, y0 - 150.0, 120.0);
        let mut kept = [0, 0];
        for (k, clip) in clips.iter().enumerate() {
            let gpu = ClipUniform::new(clip, eye);
            for i in 0..4000 {
                let f = |n: u32| f64::from((i * n + 7) % 997) / 997.0;
                let p = DVec3::new(
                    x0 - 40.0 + 80.0 * f(37),
                    y0 - 40.0 + 80.0 * f(61),
                    25.0 + 25.0 * f(89),
                );
                let world = crate::georef::world_from_crs(p - eye);
                assert_eq!(gpu.keeps(world), clip.keeps(p), "clip {k}, point {p}");
                kept[k] += usize::from(clip.keeps(p));
            }
        }
        // Both rules keep some and cut some: the comparison tests something.
        assert!(kept.iter().all(|&n| n > 200 && n < 3800), "{kept:?}");
    }
}
