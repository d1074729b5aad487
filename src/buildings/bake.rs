//! Baking decoded models into the twin's frame: every vertex goes mesh → tileset frame → twin
//! CRS in f64, then is stored as a small f32 offset from one origin per content (camera-relative
//! rendering, as for point-cloud nodes). The baked geometry also serves picking.
//!
//! Pure: runs on the worker threads, no GPU types.

use super::model::{Model, PropertyTable};
use crate::georef::GeoFrame;
use bevy::math::{DMat3, DMat4, DVec3};

/// How a tileset's (or a model's) own frame maps to the twin's CRS.
#[derive(Clone, Debug)]
pub enum Placement {
    /// The frame is Earth-centred (ECEF, what geo-referenced 3D Tiles use): each vertex goes
    /// through the exact map of the twin's [`GeoFrame`].
    Earth(GeoFrame),
    /// The frame is local metres, z up, placed by an affine map (`--place`, local tilesets).
    Local(DMat4),
}

impl Placement {
    /// Twin coordinates of a point of the placed frame.
    pub fn crs_from_frame(&self, p: DVec3) -> Result<DVec3, String> {
        match self {
            Placement::Earth(frame) => Ok(frame.crs_from_ecef(p)?),
            Placement::Local(m) => Ok(m.transform_point3(p)),
        }
    }

    /// The affine map from the placed frame to the twin, exact for local frames and
    /// linearised at `at` for Earth frames.
    pub fn crs_from_frame_affine(&self, at: DVec3) -> Result<DMat4, String> {
        match self {
            Placement::Earth(frame) => Ok(frame.crs_from_ecef_affine(at)?),
            Placement::Local(m) => Ok(*m),
        }
    }
}

/// glTF is Y-up; 3D Tiles and the twin are Z-up: (x, y, z) → (x, −z, y).
pub fn z_up_from_y_up() -> DMat4 {
    DMat4::from_cols_array(&[
        1.0, 0.0, 0.0, 0.0, //
        0.0, 0.0, 1.0, 0.0, //
        0.0, -1.0, 0.0, 0.0, //
        0.0, 0.0, 0.0, 1.0,
    ])
}

/// One primitive in the twin frame.
#[derive(Clone, Debug, Default)]
pub struct BakedPart {
    /// CRS axes (x east, y north, z up), metres from [`BakedContent::origin`].
    pub positions: Vec<[f32; 3]>,
    /// Unit normals in CRS axes, when the model had them.
    pub normals: Option<Vec<[f32; 3]>>,
    pub uvs: Option<Vec<[f32; 2]>>,
    pub colors: Option<Vec<[f32; 4]>>,
    /// Counter-clockwise triangles seen from outside (winding fixed for mirroring transforms).
    pub indices: Vec<u32>,
    pub feature_ids: Option<Vec<u32>>,
    pub material: Option<usize>,
}

/// One tile content (or model) ready for the GPU and for picking.
#[derive(Clone, Debug, Default)]
pub struct BakedContent {
    /// f64 origin in the twin CRS.
    pub origin: DVec3,
    /// Radius around `origin` holding every vertex.
    pub radius: f64,
    pub parts: Vec<BakedPart>,
    pub materials: Vec<super::model::Material>,
    pub textures: Vec<super::model::Texture>,
    pub properties: Option<PropertyTable>,
}

impl BakedContent {
    pub fn vertex_count(&self) -> usize {
        self.parts.iter().map(|p| p.positions.len()).sum()
    }

    pub fn triangle_count(&self) -> usize {
        self.parts.iter().map(|p| p.indices.len() / 3).sum()
    }

    /// The nearest triangle hit by a ray from `origin` (CRS) along `direction`: distance and
    /// feature ID (`None` when the triangle has none).
    pub fn ray_hit(&self, origin: DVec3, direction: DVec3) -> Option<(f64, Option<u32>)> {
        self.ray_hit_kept(origin, direction, &crate::spatial::Clipping::default())
    }

    /// [`Self::ray_hit`] among the surfaces `clip` keeps (what the view draws).
    pub fn ray_hit_kept(
        &self,
        origin: DVec3,
        direction: DVec3,
        clip: &crate::spatial::Clipping,
    ) -> Option<(f64, Option<u32>)> {
        let clipping = clip.is_active();
        let direction = direction.normalize();
        // Skip contents the ray misses by their bounding sphere.
        let to_centre = self.origin - origin;
        let along = to_centre.dot(direction);
        if (to_centre - direction * along).length_squared() > self.radius * self.radius {
            return None;
        }
        let local_origin = origin - self.origin;
        let mut best: Option<(f64, Option<u32>)> = None;
        for part in &self.parts {
            for tri in part.indices.chunks_exact(3) {
                let [a, b, c] = [tri[0], tri[1], tri[2]].map(|i| {
                    part.positions
                        .get(i as usize)
                        .map(|p| DVec3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2])))
                });
                let (Some(a), Some(b), Some(c)) = (a, b, c) else {
                    continue;
                };
                if let Some(t) = ray_triangle(local_origin, direction, a, b, c)
                    && best.is_none_or(|(d, _)| t < d)
                    && (!clipping || clip.keeps(origin + direction * t))
                {
                    let feature = part
                        .feature_ids
                        .as_ref()
                        .and_then(|ids| ids.get(tri[0] as usize).copied())
                        .filter(|&id| id != u32::MAX);
                    best = Some((t, feature));
                }
            }
        }
        best
    }
}

/// Möller–Trumbore, both faces: the distance along the ray, if it hits in front.
fn ray_triangle(origin: DVec3, direction: DVec3, a: DVec3, b: DVec3, c: DVec3) -> Option<f64> {
    let (e1, e2) = (b - a, c - a);
    let p = direction.cross(e2);
    let det = e1.dot(p);
    if det.abs() < 1e-12 {
        return None;
    }
    let inv = 1.0 / det;
    let s = origin - a;
    let u = s.dot(p) * inv;
    if !(0.0..=1.0).contains(&u) {
        return None;
    }
    let q = s.cross(e1);
    let v = direction.dot(q) * inv;
    if v < 0.0 || u + v > 1.0 {
        return None;
    }
    let t = e2.dot(q) * inv;
    (t > 1e-6).then_some(t)
}

/// How a model's glTF scene sits in the placed frame: the tile's transform, then (3D Tiles
/// order) the RTC centre in the Z-up tile frame, then the glTF up-axis turn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPose {
    pub frame_from_tile: DMat4,
    /// glTF axes to tile axes (usually [`z_up_from_y_up`]).
    pub tile_from_gltf: DMat4,
}

impl ModelPose {
    /// The matrix from the model's scene (after its node transforms) to the placed frame.
    pub fn frame_from_model(&self, rtc_center: Option<[f64; 3]>) -> DMat4 {
        self.frame_from_tile * self.tile_from_model(rtc_center)
    }

    /// The matrix from the model's scene to the tile frame: the up-axis turn, then the RTC
    /// centre (a Z-up tile-frame offset).
    pub fn tile_from_model(&self, rtc_center: Option<[f64; 3]>) -> DMat4 {
        let rtc = DMat4::from_translation(rtc_center.map_or(DVec3::ZERO, DVec3::from_array));
        rtc * self.tile_from_gltf
    }
}

/// Bakes `model` posed in the placed frame by `pose`.
pub fn bake(model: Model, pose: ModelPose, placement: &Placement) -> Result<BakedContent, String> {
    let Model {
        primitives,
        materials,
        textures,
        properties,
        rtc_center,
    } = model;
    let frame_from_model = pose.frame_from_model(rtc_center);
    // First pass: every vertex in the twin CRS, f64.
    let mut crs_positions: Vec<Vec<DVec3>> = Vec::with_capacity(primitives.len());
    let (mut lo, mut hi) = (DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY));
    for primitive in &primitives {
        let m = frame_from_model * primitive.model_from_mesh;
        let points = primitive
            .positions
            .iter()
            .map(|p| placement.crs_from_frame(m.transform_point3(DVec3::from(p.map(f64::from)))))
            .collect::<Result<Vec<_>, _>>()?;
        for p in &points {
            if !p.is_finite() {
                return Err("a vertex lands at a non-finite position in the twin".into());
            }
            lo = lo.min(*p);
            hi = hi.max(*p);
        }
        crs_positions.push(points);
    }
    let origin = if lo.x.is_finite() {
        (lo + hi) * 0.5
    } else {
        DVec3::ZERO
    };
    let radius = if lo.x.is_finite() {
        (hi - lo).length() * 0.5
    } else {
        0.0
    };
    let mut parts = Vec::with_capacity(primitives.len());
    for (primitive, points) in primitives.into_iter().zip(crs_positions) {
        // Linearised where the primitive is: its node may carry the whole Earth-centred
        // offset, so the model's own origin can be the Earth's centre.
        let frame_from_mesh = frame_from_model * primitive.model_from_mesh;
        let at = primitive
            .positions
            .first()
            .map_or(DVec3::ZERO, |p| DVec3::from(p.map(f64::from)));
        let crs_affine = placement.crs_from_frame_affine(frame_from_mesh.transform_point3(at))?;
        let linear = DMat3::from_mat4(crs_affine * frame_from_mesh);
        let normal_matrix = linear.inverse().transpose();
        let mut indices = primitive.indices;
        if linear.determinant() < 0.0 {
            for tri in indices.chunks_exact_mut(3) {
                tri.swap(1, 2);
            }
        }
        let normals = primitive.normals.map(|normals| {
            normals
                .iter()
                .map(|n| {
                    let n = (normal_matrix * DVec3::from(n.map(f64::from))).normalize_or_zero();
                    [n.x as f32, n.y as f32, n.z as f32]
                })
                .collect()
        });
        parts.push(BakedPart {
            positions: points
                .iter()
                .map(|p| (*p - origin).as_vec3().to_array())
                .collect(),
            normals,
            uvs: primitive.uvs,
            colors: primitive.colors,
            indices,
            feature_ids: primitive.feature_ids,
            material: primitive.material,
        });
    }
    Ok(BakedContent {
        origin,
        radius,
        parts,
        materials,
        textures,
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildings::model::Primitive;

    /// A 10 m cube (Y-up glTF convention: y is the height), feature 7.
    fn cube_model() -> Model {
        let mut positions = vec![];
        let mut indices = vec![];
        // Two triangles per face of a unit cube scaled by 10.
        let faces: [[[f32; 3]; 4]; 6] = [
            [[0., 0., 0.], [1., 0., 0.], [1., 1., 0.], [0., 1., 0.]],
            [[0., 0., 1.], [0., 1., 1.], [1., 1., 1.], [1., 0., 1.]],
            [[0., 0., 0.], [0., 1., 0.], [0., 1., 1.], [0., 0., 1.]],
            [[1., 0., 0.], [1., 0., 1.], [1., 1., 1.], [1., 1., 0.]],
            [[0., 0., 0.], [0., 0., 1.], [1., 0., 1.], [1., 0., 0.]],
            [[0., 1., 0.], [1., 1., 0.], [1., 1., 1.], [0., 1., 1.]],
        ];
        for face in faces {
            let base = positions.len() as u32;
            positions.extend(face.iter().map(|p| p.map(|c| c * 10.0)));
            indices.extend([base, base + 1, base + 2, base, base + 2, base + 3]);
        }
        let n = positions.len();
        Model {
            primitives: vec![Primitive {
                model_from_mesh: DMat4::IDENTITY,
                positions,
                indices,
                feature_ids: Some(vec![7; n]),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn pose(frame_from_tile: DMat4) -> ModelPose {
        ModelPose {
            frame_from_tile,
            tile_from_gltf: z_up_from_y_up(),
        }
    }

    #[test]
    fn the_rtc_centre_is_a_tile_frame_offset_not_a_gltf_one() {
        let mut model = cube_model();
        model.rtc_center = Some([1000.0, 2000.0, 3000.0]);
        let baked = bake(
            model,
            pose(DMat4::IDENTITY),
            &Placement::Local(DMat4::IDENTITY),
        )
        .unwrap();
        // Z-up tile frame: the cube (5, −5, 5 around its centre) moved by the RTC centre as is.
        assert!((baked.origin - DVec3::new(1005.0, 1995.0, 3005.0)).length() < 1e-9);
    }

    #[test]
    fn a_placed_model_lands_where_asked_with_its_height_up() {
        let place = DVec3::new(292_500.0, 6_832_500.0, 50.0);
        let placement = Placement::Local(DMat4::from_translation(place));
        let baked = bake(cube_model(), pose(DMat4::IDENTITY), &placement).unwrap();
        // Y-up 0..10 became z 50..60; glTF +z (towards the viewer) became −y (south).
        assert!((baked.origin - DVec3::new(292_505.0, 6_832_495.0, 55.0)).length() < 1e-9);
        let zs: Vec<f32> = baked.parts[0].positions.iter().map(|p| p[2]).collect();
        assert_eq!(zs.iter().cloned().fold(f32::MAX, f32::min), -5.0);
        assert_eq!(zs.iter().cloned().fold(f32::MIN, f32::max), 5.0);
        // A ray straight down onto the roof hits at 100 − 60 = 40 m, feature 7.
        let (t, feature) = baked
            .ray_hit(place + DVec3::new(5.0, -5.0, 50.0), DVec3::NEG_Z)
            .unwrap();
        assert!((t - 40.0).abs() < 1e-6, "{t}");
        assert_eq!(feature, Some(7));
        // A ray beside the cube misses.
        assert!(
            baked
                .ray_hit(place + DVec3::new(15.0, -5.0, 50.0), DVec3::NEG_Z)
                .is_none()
        );
    }

    #[test]
    fn earth_frame_content_is_placed_through_the_projection() {
        let frame = GeoFrame::projected(2154).unwrap();
        let at = crate::georef::ecef_from_geodetic(
            (-2.517_f64).to_radians(),
            48.465_f64.to_radians(),
            60.0,
        );
        // A tile transform that puts the model at `at` in ECEF with an ENU orientation.
        let (lon, lat, _) = crate::georef::geodetic_from_ecef(at);
        let ecef_from_enu =
            DMat4::from_mat3(crate::georef::enu_from_ecef_rotation(lon, lat).transpose());
        let tile = DMat4::from_translation(at) * ecef_from_enu;
        let baked = bake(cube_model(), pose(tile), &Placement::Earth(frame.clone())).unwrap();
        // The cube's centre is 5 m east, 5 m south and 5 m up of `at` on the ground, turned by
        // the grid convergence (≈ 4° this far west of Lambert-93's central meridian).
        let offset = baked.origin - frame.crs_from_ecef(at).unwrap();
        assert!((offset.length() - 75f64.sqrt()).abs() < 0.01, "{offset}");
        assert!((offset.z - 5.0).abs() < 0.01, "{offset}");
        let turn = offset.y.atan2(offset.x) - (-5f64).atan2(5.0);
        assert!(
            (turn.to_degrees() + 4.0).abs() < 0.2,
            "{}",
            turn.to_degrees()
        );
        // Still 10 m high.
        let zs = baked.parts[0].positions.iter().map(|p| p[2]);
        let (lo, hi) = zs.fold((f32::MAX, f32::MIN), |(l, h), z| (l.min(z), h.max(z)));
        assert!(((hi - lo) - 10.0).abs() < 0.01);
    }

    #[test]
    fn mirroring_transforms_keep_triangles_facing_out() {
        let mirror = DMat4::from_scale(DVec3::new(-1.0, 1.0, 1.0));
        let mirrored = ModelPose {
            frame_from_tile: mirror,
            tile_from_gltf: DMat4::IDENTITY,
        };
        let baked = bake(cube_model(), mirrored, &Placement::Local(DMat4::IDENTITY)).unwrap();
        let original = cube_model().primitives[0].indices.clone();
        assert_eq!(baked.parts[0].indices[1], original[2]);
        assert_eq!(baked.parts[0].indices[2], original[1]);
    }
}
