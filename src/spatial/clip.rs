//! Clipping (pure): a box and/or a polygon (a vertical prism) keep what lies inside them or what
//! lies outside, and a section plane cuts away one side. The same rule runs on the CPU (here:
//! picking, exports) and on the GPU (`shaders/common/clip.wgsl`, both point render paths and the
//! buildings), in the twin CRS; a project file stores it as written here.

use bevy::math::{DVec2, DVec3};
use serde::{Deserialize, Serialize};

/// The most polygon vertices the GPU takes (two per `vec4` of the clip uniform).
pub const MAX_POLYGON_VERTICES: usize = 64;

/// Which side of the clip region stays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    #[default]
    Inside,
    Outside,
}

/// An axis-aligned box of the twin CRS.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipBox {
    pub min: [f64; 3],
    pub max: [f64; 3],
}

/// A plane through `point`: what lies on the side `normal` points to is cut away.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub point: [f64; 3],
    pub normal: [f64; 3],
}

/// The clipping of the view. The region is the box, the polygon's prism, or both together
/// (their intersection); no region and no section: nothing is clipped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clipping {
    #[serde(default)]
    pub keep: Keep,
    #[serde(default, rename = "box", skip_serializing_if = "Option::is_none")]
    pub clip_box: Option<ClipBox>,
    /// The polygon's vertices (x, y), not closed; at least 3, at most
    /// [`MAX_POLYGON_VERTICES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub polygon: Vec<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<Section>,
}

impl Clipping {
    /// Whether anything is clipped.
    pub fn is_active(&self) -> bool {
        self.has_region() || self.section.is_some()
    }

    /// Whether a box or a polygon is set.
    pub fn has_region(&self) -> bool {
        self.clip_box.is_some() || self.polygon.len() >= 3
    }

    /// What is wrong with it, in words: a box whose min exceeds its max, a polygon of fewer
    /// than 3 or more than [`MAX_POLYGON_VERTICES`] vertices, a section without a normal.
    pub fn check(&self) -> Result<(), String> {
        if let Some(b) = &self.clip_box
            && (0..3).any(|k| b.min[k].partial_cmp(&b.max[k]).is_none_or(|o| o.is_gt()))
        {
            return Err(format!(
                "the clip box's min {:?} is not below its max {:?}",
                b.min, b.max
            ));
        }
        if !self.polygon.is_empty() && self.polygon.len() < 3 {
            return Err(format!(
                "the clip polygon has {} vertices: it needs at least 3",
                self.polygon.len()
            ));
        }
        if self.polygon.len() > MAX_POLYGON_VERTICES {
            return Err(format!(
                "the clip polygon has {} vertices: at most {MAX_POLYGON_VERTICES} are drawn",
                self.polygon.len()
            ));
        }
        if let Some(s) = &self.section
            && DVec3::from_array(s.normal).length() == 0.0
        {
            return Err("the section plane's normal is zero".into());
        }
        Ok(())
    }

    /// Whether `p` (twin CRS) stays drawn.
    pub fn keeps(&self, p: DVec3) -> bool {
        if let Some(s) = &self.section
            && (p - DVec3::from_array(s.point)).dot(DVec3::from_array(s.normal)) > 0.0
        {
            return false;
        }
        if !self.has_region() {
            return true;
        }
        let inside = self.clip_box.is_none_or(|b| {
            p.cmpge(DVec3::from_array(b.min)).all() && p.cmple(DVec3::from_array(b.max)).all()
        }) && (self.polygon.len() < 3 || in_polygon(&self.polygon, p.truncate()));
        inside == (self.keep == Keep::Inside)
    }

    /// Whether the box `min..max` (twin CRS) may hold something kept (false: all of it is
    /// clipped away), to skip whole nodes and contents.
    pub fn may_keep(&self, min: DVec3, max: DVec3) -> bool {
        let corners = (0..8).map(|i| {
            DVec3::new(
                if i & 1 == 0 { min.x } else { max.x },
                if i & 2 == 0 { min.y } else { max.y },
                if i & 4 == 0 { min.z } else { max.z },
            )
        });
        if let Some(s) = &self.section {
            let (q, n) = (DVec3::from_array(s.point), DVec3::from_array(s.normal));
            if corners.clone().all(|c| (c - q).dot(n) > 0.0) {
                return false;
            }
        }
        if self.keep == Keep::Inside
            && let Some(b) = &self.clip_box
        {
            let (lo, hi) = (DVec3::from_array(b.min), DVec3::from_array(b.max));
            if max.cmplt(lo).any() || min.cmpgt(hi).any() {
                return false;
            }
        }
        true
    }
}

/// Even–odd test of `p` against the ring `polygon` (not closed).
pub fn in_polygon(polygon: &[[f64; 2]], p: DVec2) -> bool {
    let mut inside = false;
    let n = polygon.len();
    for i in 0..n {
        let a = DVec2::from_array(polygon[i]);
        let b = DVec2::from_array(polygon[(i + n - 1) % n]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    const X0: f64 = 652_000.0;
    const Y0: f64 = 6_862_000.0;

    fn boxed(keep: Keep) -> Clipping {
        Clipping {
            keep,
            clip_box: Some(ClipBox {
                min: [X0, Y0, 30.0],
                max: [X0 + 10.0, Y0 + 20.0, 40.0],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_box_keeps_its_inside_or_its_outside() {
        let inside = DVec3::new(X0 + 5.0, Y0 + 19.999, 35.0);
        let above = DVec3::new(X0 + 5.0, Y0 + 10.0, 40.001);
        assert!(boxed(Keep::Inside).keeps(inside));
        assert!(!boxed(Keep::Inside).keeps(above));
        assert!(!boxed(Keep::Outside).keeps(inside));
        assert!(boxed(Keep::Outside).keeps(above));
        assert!(Clipping::default().keeps(above) && !Clipping::default().is_active());
    }

    #[test]
    fn a_polygon_clips_a_vertical_prism_and_a_section_one_side() {
        // An L: the notch at the top right is outside.
        let l = vec![
            [X0, Y0],
            [X0 + 20.0, Y0],
            [X0 + 20.0, Y0 + 10.0],
            [X0 + 10.0, Y0 + 10.0],
            [X0 + 10.0, Y0 + 20.0],
            [X0, Y0 + 20.0],
        ];
        let clip = Clipping {
            polygon: l,
            ..Default::default()
        };
        assert!(clip.keeps(DVec3::new(X0 + 15.0, Y0 + 5.0, -100.0)));
        assert!(clip.keeps(DVec3::new(X0 + 5.0, Y0 + 15.0, 900.0)));
        assert!(!clip.keeps(DVec3::new(X0 + 15.0, Y0 + 15.0, 0.0)));
        let section = Clipping {
            section: Some(Section {
                point: [X0, Y0, 35.0],
                normal: [0.0, 0.0, 1.0],
            }),
            ..Default::default()
        };
        assert!(section.keeps(DVec3::new(X0 + 1e4, Y0, 34.999)));
        assert!(!section.keeps(DVec3::new(X0, Y0, 35.001)));
        let low = DVec3::new(X0, Y0, 0.0);
        assert!(!section.may_keep(low + DVec3::Z * 36.0, low + DVec3::Z * 50.0));
        assert!(section.may_keep(low, low + DVec3::Z * 50.0));
    }

    #[test]
    fn whole_boxes_outside_are_skipped_only_when_nothing_in_them_stays() {
        let clip = boxed(Keep::Inside);
        let far = DVec3::new(X0 + 100.0, Y0, 30.0);
        assert!(!clip.may_keep(far, far + 1.0));
        assert!(clip.may_keep(DVec3::new(X0 + 9.0, Y0, 0.0), far + 1.0));
        assert!(boxed(Keep::Outside).may_keep(far, far + 1.0));
    }

    #[test]
    fn bad_clips_say_what_is_wrong() {
        let mut clip = boxed(Keep::Inside);
        clip.clip_box.as_mut().unwrap().min[2] = 50.0;
        assert!(clip.check().unwrap_err().contains("not below its max"));
        let two = Clipping {
            polygon: vec![[0.0, 0.0], [1.0, 1.0]],
            ..Default::default()
        };
        assert!(two.check().unwrap_err().contains("at least 3"));
        let many = Clipping {
            polygon: vec![[0.0, 0.0]; 65],
            ..Default::default()
        };
        assert!(many.check().unwrap_err().contains("at most 64"));
    }
}
