//! The COPC octree: voxel keys, node bounds and a hierarchy that can grow page by page.

use crate::spatial::Aabb;
use bevy::math::DVec3;
use std::collections::HashMap;

/// An octree node address: level and integer position at that level (COPC/EPT naming).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct VoxelKey {
    pub level: i32,
    pub x: i32,
    pub y: i32,
    pub z: i32,
}

impl VoxelKey {
    pub const ROOT: Self = Self {
        level: 0,
        x: 0,
        y: 0,
        z: 0,
    };

    /// Child `i` in 0..8: bit 0 is +x, bit 1 is +y, bit 2 is +z.
    pub fn child(self, i: usize) -> Self {
        let i = i as i32;
        Self {
            level: self.level + 1,
            x: (self.x << 1) | (i & 1),
            y: (self.y << 1) | ((i >> 1) & 1),
            z: (self.z << 1) | ((i >> 2) & 1),
        }
    }

    pub fn parent(self) -> Option<Self> {
        (self.level > 0).then(|| Self {
            level: self.level - 1,
            x: self.x >> 1,
            y: self.y >> 1,
            z: self.z >> 1,
        })
    }

    /// Which child of its parent this key is (inverse of [`VoxelKey::child`]).
    pub fn child_index(self) -> usize {
        ((self.x & 1) | ((self.y & 1) << 1) | ((self.z & 1) << 2)) as usize
    }

    /// Whether the key lies inside the octree at its level (COPC files are untrusted input).
    pub fn is_valid(self) -> bool {
        (0..31).contains(&self.level)
            && [self.x, self.y, self.z]
                .iter()
                .all(|&c| c >= 0 && i64::from(c) < (1i64 << self.level))
    }
}

impl std::fmt::Display for VoxelKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}-{}", self.level, self.x, self.y, self.z)
    }
}

/// The root cube of the octree.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Cube {
    pub center: DVec3,
    pub halfsize: f64,
}

impl Cube {
    /// Bounds of the node `key`.
    pub fn bounds(&self, key: VoxelKey) -> Aabb {
        let size = 2.0 * self.halfsize / f64::from(1u32 << key.level.clamp(0, 31) as u32);
        let min = self.center - DVec3::splat(self.halfsize)
            + DVec3::new(f64::from(key.x), f64::from(key.y), f64::from(key.z)) * size;
        Aabb {
            min,
            max: min + DVec3::splat(size),
        }
    }

    /// The key at `level` of the node holding `p` (clamped into the cube).
    pub fn key_at(&self, p: DVec3, level: i32) -> VoxelKey {
        let cells = f64::from(1u32 << level as u32);
        let rel = (p - (self.center - DVec3::splat(self.halfsize))) / (2.0 * self.halfsize) * cells;
        let max = (1i64 << level) - 1;
        let cell = |v: f64| (v.floor() as i64).clamp(0, max) as i32;
        VoxelKey {
            level,
            x: cell(rel.x),
            y: cell(rel.y),
            z: cell(rel.z),
        }
    }
}

/// Where a node's compressed points are, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct NodeData {
    pub offset: u64,
    pub byte_size: u64,
    pub point_count: u64,
}

/// A hierarchy page not read yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRef {
    pub offset: u64,
    pub byte_size: u64,
}

/// Sentinel for "no child" in [`Node::children`].
pub const NO_NODE: u32 = u32::MAX;

/// One node of the hierarchy, with its children as indices for fast traversal.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub key: VoxelKey,
    /// `None` while the node is only known through an unread page.
    pub data: Option<NodeData>,
    /// The page that describes this node and its subtree, when not read yet.
    pub page: Option<PageRef>,
    pub children: [u32; 8],
}

/// The octree hierarchy: nodes in a flat list (root first) with a key index.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    pub cube: Cube,
    /// Point spacing at the root; halves at each level.
    pub spacing: f64,
    nodes: Vec<Node>,
    index: HashMap<VoxelKey, u32>,
}

impl Hierarchy {
    pub fn new(cube: Cube, spacing: f64) -> Self {
        Self {
            cube,
            spacing,
            nodes: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The keys of the loaded nodes that hold points.
    pub fn keys_with_points(&self) -> impl Iterator<Item = VoxelKey> + '_ {
        self.nodes
            .iter()
            .filter(|n| n.data.is_some_and(|d| d.point_count > 0))
            .map(|n| n.key)
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, index: u32) -> &Node {
        &self.nodes[index as usize]
    }

    pub fn get(&self, key: VoxelKey) -> Option<&Node> {
        self.index.get(&key).map(|&i| &self.nodes[i as usize])
    }

    /// Index of the root node, if known.
    pub fn root(&self) -> Option<u32> {
        self.index.get(&VoxelKey::ROOT).copied()
    }

    /// Adds (or completes) a node; links it to its parent when the parent is known.
    /// Nodes whose parent is missing are kept but unreachable from the root.
    pub fn insert(&mut self, key: VoxelKey, data: Option<NodeData>, page: Option<PageRef>) -> u32 {
        if let Some(&i) = self.index.get(&key) {
            let node = &mut self.nodes[i as usize];
            if data.is_some() {
                node.data = data;
                node.page = None;
            } else if page.is_some() && node.data.is_none() {
                node.page = page;
            }
            return i;
        }
        let i = self.nodes.len() as u32;
        self.nodes.push(Node {
            key,
            data,
            page,
            children: [NO_NODE; 8],
        });
        self.index.insert(key, i);
        if let Some(parent) = key.parent().and_then(|p| self.index.get(&p).copied()) {
            self.nodes[parent as usize].children[key.child_index()] = i;
        }
        // Children may have arrived first (pages are not ordered).
        for c in 0..8 {
            if let Some(&child) = self.index.get(&key.child(c)) {
                self.nodes[i as usize].children[c] = child;
            }
        }
        i
    }

    /// Forgets the pending page of `key` (read, or found not to describe it).
    pub fn clear_page(&mut self, key: VoxelKey) {
        if let Some(&i) = self.index.get(&key) {
            self.nodes[i as usize].page = None;
        }
    }

    /// Total points over the nodes known so far.
    pub fn known_points(&self) -> u64 {
        self.nodes
            .iter()
            .filter_map(|n| n.data)
            .map(|d| d.point_count)
            .sum()
    }

    /// Keys whose subtree page is still unread.
    pub fn pending_pages(&self) -> impl Iterator<Item = (VoxelKey, PageRef)> + '_ {
        self.nodes.iter().filter_map(|n| n.page.map(|p| (n.key, p)))
    }

    /// Point spacing of nodes at `level`.
    pub fn spacing_at(&self, level: i32) -> f64 {
        self.spacing / f64::from(1u32 << level.clamp(0, 31) as u32)
    }

    /// The spacing of the `points` points of node `key` as they are drawn: its level's sampling
    /// spacing, or wider when it holds fewer points than a surface across its cube at that
    /// spacing would (a leaf keeps what is left: at street level its points are far apart and
    /// must be drawn larger to close the ground), at most four times wider (a node of a few
    /// stray points must not draw them as blobs).
    pub fn point_spacing(&self, key: VoxelKey, points: u64) -> f64 {
        let side = 2.0 * self.cube.halfsize / f64::from(1u32 << key.level.clamp(0, 31) as u32);
        let grid = self.spacing_at(key.level);
        (side / (points.max(1) as f64).sqrt()).clamp(grid, 4.0 * grid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_and_parent_round_trip() {
        let key = VoxelKey {
            level: 3,
            x: 5,
            y: 2,
            z: 7,
        };
        for i in 0..8 {
            let child = key.child(i);
            assert_eq!(child.parent(), Some(key));
            assert_eq!(child.child_index(), i);
            assert!(child.is_valid());
        }
        assert_eq!(VoxelKey::ROOT.parent(), None);
        assert!(
            !VoxelKey {
                level: 1,
                x: 2,
                y: 0,
                z: 0
            }
            .is_valid()
        );
    }

    #[test]
    fn child_bounds_tile_the_parent() {
        let cube = Cube {
            center: DVec3::new(100.0, 200.0, 10.0),
            halfsize: 8.0,
        };
        let root = cube.bounds(VoxelKey::ROOT);
        assert_eq!(root.min, DVec3::new(92.0, 192.0, 2.0));
        let c7 = cube.bounds(VoxelKey::ROOT.child(7));
        assert_eq!(c7.min, root.center());
        assert_eq!(c7.max, root.max);
        assert_eq!(
            cube.key_at(DVec3::new(99.0, 201.0, 3.0), 1),
            VoxelKey::ROOT.child(2)
        );
    }

    #[test]
    fn nodes_link_whatever_order_they_arrive_in() {
        let mut h = Hierarchy::new(
            Cube {
                center: DVec3::ZERO,
                halfsize: 1.0,
            },
            0.1,
        );
        let data = |n| {
            Some(NodeData {
                offset: 0,
                byte_size: 1,
                point_count: n,
            })
        };
        let child = VoxelKey::ROOT.child(3);
        let c = h.insert(child, data(5), None);
        let r = h.insert(VoxelKey::ROOT, data(7), None);
        assert_eq!(h.node(r).children[3], c);
        assert_eq!(h.known_points(), 12);
    }
}
