//! The one axis-aligned box: bounds of nodes, tiles, layers and what the camera frames.

use bevy::math::DVec3;

/// An axis-aligned box in the dataset's CRS, f64 metres (or the file's units).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Aabb {
    pub min: DVec3,
    pub max: DVec3,
}

impl Aabb {
    pub fn center(&self) -> DVec3 {
        (self.min + self.max) * 0.5
    }
    pub fn size(&self) -> DVec3 {
        self.max - self.min
    }
    /// The smallest box holding both.
    pub fn union(&self, other: &Aabb) -> Aabb {
        Aabb {
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }

    /// The 8 corners (bit 0: x, bit 1: y, bit 2: z; 0 = min, 1 = max).
    pub fn corners(&self) -> [DVec3; 8] {
        std::array::from_fn(|i| {
            DVec3::select(
                bevy::math::BVec3::new(i & 1 != 0, i & 2 != 0, i & 4 != 0),
                self.max,
                self.min,
            )
        })
    }

    pub fn contains(&self, p: DVec3) -> bool {
        p.cmpge(self.min).all() && p.cmple(self.max).all()
    }
}
