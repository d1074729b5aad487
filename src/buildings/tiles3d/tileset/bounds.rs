//! Bounding volumes (box, region, sphere) in the tileset's root frame, as oriented boxes and
//! spheres for culling and screen-space error.

use crate::georef::ecef_from_geodetic;
use bevy::math::{DMat4, DVec3, DVec4};

/// A bounding volume as written in the tileset, in its tile's frame (regions: always geodetic).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BoundingVolume {
    Box {
        center: DVec3,
        half_axes: [DVec3; 3],
    },
    /// Radians and metres; `east < west` crosses the antimeridian.
    Region {
        west: f64,
        south: f64,
        east: f64,
        north: f64,
        min_height: f64,
        max_height: f64,
    },
    Sphere {
        center: DVec3,
        radius: f64,
    },
}

impl BoundingVolume {
    /// The volume in the world frame. Regions ignore the transform, as the specification says.
    pub fn bounds(&self, world_from_tile: &DMat4) -> Bounds {
        match *self {
            BoundingVolume::Box { center, half_axes } => Bounds::from_obb(Obb {
                center: world_from_tile.transform_point3(center),
                half_axes: half_axes.map(|h| world_from_tile.transform_vector3(h)),
            }),
            BoundingVolume::Sphere { center, radius } => {
                let scale = [
                    world_from_tile.x_axis,
                    world_from_tile.y_axis,
                    world_from_tile.z_axis,
                ]
                .iter()
                .map(|c| c.truncate().length())
                .fold(0.0, f64::max);
                Bounds::from_sphere(Sphere {
                    center: world_from_tile.transform_point3(center),
                    radius: radius * scale,
                })
            }
            BoundingVolume::Region {
                west,
                south,
                east,
                north,
                min_height,
                max_height,
            } => Bounds::from_obb(region_obb(west, south, east, north, min_height, max_height)),
        }
    }
}

/// An OBB enclosing a geodetic region: an east/north/up box at the region's centre fitted around
/// a grid of samples on its bottom and top faces.
fn region_obb(west: f64, south: f64, east: f64, north: f64, min_h: f64, max_h: f64) -> Obb {
    let east = if east < west {
        east + std::f64::consts::TAU
    } else {
        east
    };
    let lon_c = 0.5 * (west + east);
    let lat_c = 0.5 * (south + north);
    let (sin_lon, cos_lon) = lon_c.sin_cos();
    let (sin_lat, cos_lat) = lat_c.sin_cos();
    let axes = [
        DVec3::new(-sin_lon, cos_lon, 0.0),
        DVec3::new(-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat),
        DVec3::new(cos_lat * cos_lon, cos_lat * sin_lon, sin_lat),
    ];
    let origin = ecef_from_geodetic(lon_c, lat_c, 0.0);
    let span = (east - west).max(north - south);
    let n = if span < 0.05 { 5 } else { 33 };
    let mut lo = DVec3::splat(f64::INFINITY);
    let mut hi = DVec3::splat(f64::NEG_INFINITY);
    for i in 0..n {
        let lon = west + (east - west) * i as f64 / (n - 1) as f64;
        for j in 0..n {
            let lat = south + (north - south) * j as f64 / (n - 1) as f64;
            for h in [min_h, max_h] {
                let d = ecef_from_geodetic(lon, lat, h) - origin;
                let local = DVec3::new(d.dot(axes[0]), d.dot(axes[1]), d.dot(axes[2]));
                lo = lo.min(local);
                hi = hi.max(local);
            }
        }
    }
    let mid = 0.5 * (lo + hi);
    let half = 0.5 * (hi - lo);
    Obb {
        center: origin + axes[0] * mid.x + axes[1] * mid.y + axes[2] * mid.z,
        half_axes: [axes[0] * half.x, axes[1] * half.y, axes[2] * half.z],
    }
}

/// An oriented box: centre and three half-axes (f64, world frame).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Obb {
    pub center: DVec3,
    pub half_axes: [DVec3; 3],
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sphere {
    pub center: DVec3,
    pub radius: f64,
}

/// A tile's volume in the world frame, with what traversal needs precomputed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub obb: Obb,
    /// Encloses `obb`.
    pub sphere: Sphere,
    /// The volume is a sphere (or a box too skewed for the box distance): use `sphere`.
    pub sphere_only: bool,
    /// Unit directions of the half-axes (completed to a basis where a half-axis is zero).
    axes: [DVec3; 3],
    half_lengths: [f64; 3],
}

impl Bounds {
    pub fn from_obb(obb: Obb) -> Bounds {
        let h = obb.half_axes;
        let radius = [
            h[0] + h[1] + h[2],
            h[0] + h[1] - h[2],
            h[0] - h[1] + h[2],
            h[1] + h[2] - h[0],
        ]
        .iter()
        .map(|c| c.length())
        .fold(0.0, f64::max);
        let half_lengths = h.map(|a| a.length());
        let scale = half_lengths.iter().copied().fold(0.0, f64::max);
        let tiny = scale * 1e-12;
        let mut axes = [DVec3::X, DVec3::Y, DVec3::Z];
        let degenerate: Vec<usize> = (0..3).filter(|&i| half_lengths[i] <= tiny).collect();
        for i in 0..3 {
            if half_lengths[i] > tiny {
                axes[i] = h[i] / half_lengths[i];
            }
        }
        match degenerate.as_slice() {
            [i] => {
                let (j, k) = ((i + 1) % 3, (i + 2) % 3);
                axes[*i] = axes[j].cross(axes[k]).normalize_or(DVec3::Z);
            }
            [i, j] => {
                let k = 3 - i - j;
                let (a, b) = axes[k].any_orthonormal_pair();
                axes[*i] = a;
                axes[*j] = b;
            }
            _ => {}
        }
        let skewed = (0..3).any(|i| {
            let j = (i + 1) % 3;
            half_lengths[i] > tiny && half_lengths[j] > tiny && axes[i].dot(axes[j]).abs() > 1e-6
        });
        Bounds {
            obb,
            sphere: Sphere {
                center: obb.center,
                radius,
            },
            sphere_only: skewed,
            axes,
            half_lengths: if skewed { [0.0; 3] } else { half_lengths },
        }
    }

    pub fn from_sphere(sphere: Sphere) -> Bounds {
        let r = sphere.radius;
        Bounds {
            obb: Obb {
                center: sphere.center,
                half_axes: [DVec3::X * r, DVec3::Y * r, DVec3::Z * r],
            },
            sphere,
            sphere_only: true,
            axes: [DVec3::X, DVec3::Y, DVec3::Z],
            half_lengths: [r; 3],
        }
    }

    /// Distance from `p` to the volume; zero inside.
    #[inline]
    pub fn distance(&self, p: DVec3) -> f64 {
        let d = p - self.obb.center;
        if self.sphere_only {
            return (d.length() - self.sphere.radius).max(0.0);
        }
        let mut sum = 0.0;
        for i in 0..3 {
            let excess = (d.dot(self.axes[i]).abs() - self.half_lengths[i]).max(0.0);
            sum += excess * excess;
        }
        sum.sqrt()
    }

    pub fn contains(&self, p: DVec3) -> bool {
        self.distance(p) <= 0.0
    }

    /// False when the volume lies entirely on the negative side of plane `n·p + d`.
    #[inline]
    pub fn touches_positive_side(&self, plane: DVec4) -> bool {
        let n = plane.truncate();
        let s = n.dot(self.sphere.center) + plane.w;
        if s >= -self.sphere.radius * n.length() {
            if self.sphere_only || s >= 0.0 {
                return true;
            }
            let h = self.obb.half_axes;
            let r = n.dot(h[0]).abs() + n.dot(h[1]).abs() + n.dot(h[2]).abs();
            return s >= -r;
        }
        false
    }
}
