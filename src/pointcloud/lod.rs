//! Level-of-detail selection: which octree nodes to show for a camera and a point budget.
//!
//! Potree's rule: nodes are visited in order of projected screen size (biggest first), frustum
//! culled, and refined only while their point spacing is still visible on screen; the walk stops
//! when the next node would exceed the point budget. Parents always come before their children.

use super::octree::{Hierarchy, NO_NODE, VoxelKey};
use crate::spatial::{Aabb, View};
use bevy::math::{DVec3, DVec4};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// How many points may be shown, and when refining stops paying off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointBudget {
    pub max_points: u64,
    /// A node is refined while its point spacing covers at least this many pixels.
    pub min_spacing_px: f64,
}

impl PointBudget {
    pub fn points(max_points: u64) -> Self {
        Self {
            max_points,
            min_spacing_px: 1.0,
        }
    }
}

impl From<u64> for PointBudget {
    fn from(max_points: u64) -> Self {
        Self::points(max_points)
    }
}

/// One node chosen for display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectedNode {
    pub index: u32,
    pub key: VoxelKey,
    pub point_count: u64,
    /// Projected size of the node's bounding sphere, in pixels (the priority).
    pub screen_size_px: f64,
}

/// The result of [`select_nodes`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// In display priority order; parents before children.
    pub nodes: Vec<SelectedNode>,
    /// Nodes the camera wants whose hierarchy page is not loaded yet.
    pub pages_wanted: Vec<VoxelKey>,
    pub total_points: u64,
}

struct Candidate {
    priority: f64,
    source: u32,
    index: u32,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // Ties broken by source and index so the result does not depend on heap internals.
        self.priority
            .total_cmp(&other.priority)
            .then(other.source.cmp(&self.source))
            .then(other.index.cmp(&self.index))
    }
}

fn outside(planes: &[DVec4; 6], aabb: &Aabb) -> bool {
    planes.iter().any(|p| {
        let n = p.truncate();
        let positive = DVec3::select(n.cmpge(DVec3::ZERO), aabb.max, aabb.min);
        n.dot(positive) + p.w < 0.0
    })
}

/// Chooses the nodes to show. Pure: same inputs, same output; no I/O.
pub fn select_nodes(
    hierarchy: &Hierarchy,
    view: &View,
    budget: impl Into<PointBudget>,
) -> Selection {
    let across = select_across(&[SelectSource::Open(hierarchy)], view, budget);
    Selection {
        nodes: across.nodes.into_iter().map(|(_, n)| n).collect(),
        pages_wanted: across.pages_wanted.into_iter().map(|(_, k)| k).collect(),
        total_points: across.total_points,
    }
}

/// One source of a selection across several (the tiles of a layer, the layers of a twin).
#[derive(Debug, Clone, Copy)]
pub enum SelectSource<'a> {
    /// A source whose hierarchy is (partly) read.
    Open(&'a Hierarchy),
    /// A tile known by its bounds only (a VPC's): wanted open when the walk reaches it.
    Lazy(Aabb),
}

/// The result of [`select_across`]; indices are into its `sources`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SelectionAcross {
    /// In display priority order across all sources; parents before children.
    pub nodes: Vec<(usize, SelectedNode)>,
    pub pages_wanted: Vec<(usize, VoxelKey)>,
    /// Lazy sources the walk reached, biggest on screen first: to open.
    pub tiles_wanted: Vec<usize>,
    pub total_points: u64,
}

/// A lazy tile is wanted open once it covers this many pixels on screen.
pub const OPEN_TILE_MIN_PX: f64 = 8.0;

/// One walk over several sources with one heap and one budget: nodes of every source compete
/// by screen size (Potree's rule), so a 10⁴-tile layer costs a frustum test per tile and then
/// only what the budget reaches. Pure: same inputs, same output; no I/O.
pub fn select_across(
    sources: &[SelectSource],
    view: &View,
    budget: impl Into<PointBudget>,
) -> SelectionAcross {
    let budget = budget.into();
    let planes = view.planes();
    let pixels_per_radian = view.projection_scale_y * view.viewport_height_px * 0.5;
    let mut selection = SelectionAcross::default();
    let priority_of = |aabb: &Aabb| {
        let radius = aabb.size().length() * 0.5;
        let distance = (aabb.center() - view.position).length();
        if distance <= radius {
            f64::INFINITY
        } else {
            radius / distance * pixels_per_radian
        }
    };
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (source, s) in sources.iter().enumerate() {
        let (bounds, index) = match s {
            SelectSource::Open(h) => match h.root() {
                Some(root) => (h.cube.bounds(VoxelKey::ROOT), root),
                None => continue,
            },
            SelectSource::Lazy(bounds) => (*bounds, NO_NODE),
        };
        if !outside(&planes, &bounds) {
            heap.push(Candidate {
                priority: priority_of(&bounds),
                source: source as u32,
                index,
            });
        }
    }
    while let Some(Candidate {
        priority,
        source,
        index,
    }) = heap.pop()
    {
        let hierarchy = match sources[source as usize] {
            SelectSource::Open(h) => h,
            SelectSource::Lazy(_) => {
                if priority >= OPEN_TILE_MIN_PX {
                    selection.tiles_wanted.push(source as usize);
                }
                continue;
            }
        };
        let node = hierarchy.node(index);
        let Some(data) = node.data else {
            if node.page.is_some() {
                selection.pages_wanted.push((source as usize, node.key));
            }
            continue;
        };
        if selection.total_points + data.point_count > budget.max_points {
            break;
        }
        selection.total_points += data.point_count;
        selection.nodes.push((
            source as usize,
            SelectedNode {
                index,
                key: node.key,
                point_count: data.point_count,
                screen_size_px: priority,
            },
        ));
        // Refine while this level's spacing is still bigger than a pixel or so on screen.
        let aabb = hierarchy.cube.bounds(node.key);
        let distance = (aabb.center() - view.position).length().max(1e-9);
        let spacing_px = hierarchy.spacing_at(node.key.level) / distance * pixels_per_radian;
        if spacing_px < budget.min_spacing_px && priority.is_finite() {
            continue;
        }
        for &child in node.children.iter().filter(|&&c| c != NO_NODE) {
            let child_box = hierarchy.cube.bounds(hierarchy.node(child).key);
            if !outside(&planes, &child_box) {
                heap.push(Candidate {
                    priority: priority_of(&child_box),
                    source,
                    index: child,
                });
            }
        }
    }
    selection
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointcloud::octree::{Cube, NodeData};
    use proptest::prelude::*;

    /// A full octree of `depth` levels over a 1 km cube, `points` per node.
    fn full_tree(depth: i32, points: u64) -> Hierarchy {
        let mut h = Hierarchy::new(
            Cube {
                center: DVec3::new(500.0, 500.0, 500.0),
                halfsize: 500.0,
            },
            10.0,
        );
        let mut level = vec![VoxelKey::ROOT];
        for _ in 0..depth {
            let mut next = Vec::new();
            for key in level {
                h.insert(
                    key,
                    Some(NodeData {
                        offset: 0,
                        byte_size: 1,
                        point_count: points,
                    }),
                    None,
                );
                next.extend((0..8).map(|i| key.child(i)));
            }
            level = next;
        }
        h
    }

    fn overview() -> View {
        View::look_at(
            DVec3::new(500.0, -1500.0, 2000.0),
            DVec3::new(500.0, 500.0, 500.0),
            DVec3::Z,
            1.0,
            1.5,
            1000.0,
        )
    }

    #[test]
    fn respects_budget_and_puts_parents_first() {
        let h = full_tree(5, 1000);
        let s = select_nodes(&h, &overview(), 50_000);
        assert!(s.total_points <= 50_000);
        assert_eq!(s.nodes.len(), 50);
        let mut seen = std::collections::HashSet::new();
        for n in &s.nodes {
            if let Some(parent) = n.key.parent() {
                assert!(seen.contains(&parent), "{} came before its parent", n.key);
            }
            seen.insert(n.key);
        }
        assert_eq!(s.nodes[0].key, VoxelKey::ROOT);
    }

    #[test]
    fn culls_what_is_behind_the_camera() {
        let h = full_tree(4, 10);
        // Standing at the west edge looking west: only nodes near x = 0 can be seen.
        let view = View::look_at(
            DVec3::new(1.0, 500.0, 500.0),
            DVec3::new(-100.0, 500.0, 500.0),
            DVec3::Z,
            1.0,
            1.0,
            500.0,
        );
        let s = select_nodes(&h, &view, 1_000_000);
        assert!(
            s.nodes
                .iter()
                .all(|n| h.cube.bounds(n.key).min.x < 1.0 + 1e-9)
        );
        assert!(s.nodes.len() < 1 + 8 + 64 + 512);
        let everything = PointBudget {
            max_points: 1_000_000,
            min_spacing_px: 0.0,
        };
        let all = select_nodes(&h, &overview(), everything);
        assert_eq!(all.nodes.len(), 1 + 8 + 64 + 512);
    }

    #[test]
    fn far_cameras_stop_refining() {
        let h = full_tree(5, 10);
        let far = View::look_at(
            DVec3::new(500.0, -500_000.0, 500.0),
            DVec3::new(500.0, 500.0, 500.0),
            DVec3::Z,
            1.0,
            1.0,
            500.0,
        );
        let s = select_nodes(&h, &far, 1_000_000);
        assert_eq!(s.nodes.len(), 1);
    }

    /// An eye around the 1 km cube of [`full_tree`] (outside or inside it) and a target in it.
    fn eye_and_target() -> impl Strategy<Value = (DVec3, DVec3)> {
        (
            prop::array::uniform3(-2000.0f64..3000.0),
            prop::array::uniform3(100.0f64..900.0),
        )
            .prop_map(|(e, t)| (DVec3::from(e), DVec3::from(t)))
            .prop_filter("eye and target apart", |(e, t)| (*e - *t).length() > 1.0)
    }

    fn view_from(eye: DVec3, target: DVec3) -> View {
        View::look_at(eye, target, DVec3::Z, 1.0, 1.5, 1000.0)
    }

    proptest! {
        /// The nodes a budget selects are the first ones a larger budget selects: more points
        /// never take a node away.
        #[test]
        fn a_larger_budget_selects_a_superset(
            (eye, target) in eye_and_target(),
            small in 1u64..300_000,
            extra in 0u64..2_000_000,
        ) {
            let h = full_tree(5, 1000);
            let view = view_from(eye, target);
            let a = select_nodes(&h, &view, small);
            let b = select_nodes(&h, &view, small + extra);
            prop_assert!(a.total_points <= small);
            let keys = |s: &Selection| s.nodes.iter().map(|n| n.key).collect::<Vec<_>>();
            prop_assert_eq!(&keys(&b)[..a.nodes.len()], &keys(&a)[..]);
        }

        /// Walking towards the target never coarsens what stays in view: a node shown from
        /// afar that (with its ancestors) got nearer and is still in the frustum is shown.
        #[test]
        fn moving_closer_never_coarsens(
            (eye, target) in eye_and_target(),
            step in 0.05f64..0.95,
        ) {
            let h = full_tree(5, 1000);
            let unlimited = PointBudget { max_points: u64::MAX, min_spacing_px: 1.0 };
            let near_eye = eye + (target - eye) * step;
            let (far, near) = (view_from(eye, target), view_from(near_eye, target));
            let shown_near: std::collections::HashSet<VoxelKey> =
                select_nodes(&h, &near, unlimited).nodes.iter().map(|n| n.key).collect();
            let planes = near.planes();
            let stays = |key: VoxelKey| {
                let b = h.cube.bounds(key);
                !outside(&planes, &b)
                    && (b.center() - near_eye).length() <= (b.center() - eye).length()
            };
            for n in select_nodes(&h, &far, unlimited).nodes {
                let mut chain = Some(n.key);
                let mut all_stay = true;
                while let Some(key) = chain {
                    all_stay &= stays(key);
                    chain = key.parent();
                }
                if all_stay {
                    prop_assert!(shown_near.contains(&n.key), "{} shown from afar only", n.key);
                }
            }
        }
    }

    #[test]
    fn unread_pages_are_reported() {
        let mut h = full_tree(1, 10);
        h.insert(
            VoxelKey::ROOT.child(0),
            None,
            Some(crate::pointcloud::octree::PageRef {
                offset: 10,
                byte_size: 32,
            }),
        );
        let s = select_nodes(&h, &overview(), 1_000_000);
        assert_eq!(s.pages_wanted, vec![VoxelKey::ROOT.child(0)]);
    }
}
