//! Screen-space-error traversal: which tile contents to draw for one view, and which files
//! (contents, external tilesets, subtrees) to fetch next, most important first.
//!
//! # How it works
//! A depth-first walk from the root skips tiles outside the frustum or whose
//! `viewerRequestVolume` does not hold the eye, and refines a tile when its screen-space error
//! (`geometricError × sse_factor / distance`) exceeds the limit. Each visit reports whether the
//! tile's area is covered by loaded content. A REPLACE tile whose refinement is not covered yet
//! keeps drawing itself instead of its children (no holes while children load) and its
//! descendants' requests still go out; ADD tiles draw their own content and their children's.
//! Tiles whose content is an external tileset or an implicit subtree always refine once
//! attached, and ask for it while pending.

use bevy::math::{DVec3, DVec4};

use super::tileset::implicit::ImplicitTile;
use super::tileset::{
    BoundingVolume, ContentKind, LinkState, Refine, Tile, TileId, TileUri, Tileset, TilesetError,
};

/// Eye distances below this (inside a volume) count as this, so SSE stays finite and ordered.
const MIN_DISTANCE_M: f64 = 1e-3;

pub use super::tileset::ContentKey;

pub use crate::spatial::View;

/// The screen-space error (pixels) above which a tile is refined, unless a layer says otherwise.
pub const DEFAULT_MAX_SSE_PX: f64 = 16.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// A model to decode ([`ContentKind::Model`]).
    Content,
    /// A `tileset.json` for [`Tileset::attach_external`].
    ExternalTileset,
    /// A `.subtree` for [`Tileset::attach_subtree`]; the key's content is
    /// [`ContentKey::SUBTREE`].
    Subtree,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub key: ContentKey,
    pub uri: TileUri,
    pub kind: RequestKind,
    /// Screen-space error of the tile, in pixels: bigger is more urgent.
    pub priority: f64,
    /// Eye to tile volume; breaks priority ties (closer first).
    pub distance_m: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    /// Contents to draw this frame, in traversal order (parents before children).
    pub render: Vec<ContentKey>,
    /// Files to fetch, most important first.
    pub requests: Vec<Request>,
    /// Tiles looked at, culled ones included.
    pub visited: usize,
}

/// Picks the contents to draw for `view` and the files to fetch; `ready` says whether a
/// content is decoded and can be drawn now.
pub fn select(
    tileset: &Tileset,
    view: &View,
    max_sse_px: f64,
    ready: &dyn Fn(ContentKey) -> bool,
) -> Selection {
    let mut walker = Walker {
        tiles: tileset.tiles(),
        eye: view.position,
        planes: view.unit_planes(),
        sse_factor: view.sse_factor(),
        max_sse_px,
        ready,
        selection: Selection::default(),
    };
    if !tileset.is_empty() {
        walker.visit(tileset.root());
    }
    walker.selection.requests.sort_by(|a, b| {
        b.priority
            .total_cmp(&a.priority)
            .then(a.distance_m.total_cmp(&b.distance_m))
    });
    walker.selection
}

struct Walker<'a> {
    tiles: &'a [Tile],
    /// The view in the tileset's frame: eye, unit frustum planes, screen-space error factor.
    eye: DVec3,
    planes: [DVec4; 6],
    sse_factor: f64,
    max_sse_px: f64,
    ready: &'a dyn Fn(ContentKey) -> bool,
    selection: Selection,
}

impl<'a> Walker<'a> {
    /// Visits `id`; true when its area needs nothing more: culled, or covered by ready content.
    fn visit(&mut self, id: TileId) -> bool {
        self.selection.visited += 1;
        let tiles = self.tiles;
        let tile: &'a Tile = &tiles[id.index()];
        let eye = self.eye;
        if let Some(volume) = &tile.request_volume
            && !volume.contains(eye)
        {
            return true;
        }
        if !self
            .planes
            .iter()
            .all(|plane| tile.bounds.touches_positive_side(*plane))
        {
            return true;
        }
        let distance = tile.bounds.distance(eye);
        let sse = tile.geometric_error * self.sse_factor / distance.max(MIN_DISTANCE_M);

        let mut link_pending = false;
        let mut link_attached = false;
        if let Some(ImplicitTile {
            subtree: Some((uri, LinkState::Pending)),
            ..
        }) = &tile.implicit
        {
            link_pending = true;
            self.request(
                ContentKey::subtree(id),
                uri,
                RequestKind::Subtree,
                sse,
                distance,
            );
        }
        let mut drawable = 0usize;
        for (i, content) in tile.contents.iter().enumerate() {
            match &content.kind {
                ContentKind::Model => drawable += 1,
                ContentKind::ExternalTileset(LinkState::Pending) => {
                    link_pending = true;
                    let key = ContentKey {
                        tile: id,
                        content: i as u32,
                    };
                    self.request(
                        key,
                        &content.uri,
                        RequestKind::ExternalTileset,
                        sse,
                        distance,
                    );
                }
                ContentKind::ExternalTileset(LinkState::Attached) => link_attached = true,
                ContentKind::ExternalTileset(LinkState::Failed(_)) => {}
            }
        }

        let refine =
            link_pending || link_attached || (sse > self.max_sse_px && !tile.children.is_empty());
        if !refine {
            return self.draw_own(id, tile, sse, distance);
        }
        match tile.refine {
            Refine::Add => {
                let own = self.draw_own(id, tile, sse, distance);
                let children = self.visit_children(tile);
                own && children && !link_pending
            }
            Refine::Replace => {
                let mark = self.selection.render.len();
                if self.visit_children(tile) && !link_pending {
                    return true;
                }
                if drawable == 0 {
                    // Nothing to stand in: let the children show what they have, and let an
                    // ancestor with content cover the area instead.
                    return false;
                }
                if self.own_ready(id, tile) {
                    self.selection.render.truncate(mark);
                    self.draw_own(id, tile, sse, distance)
                } else {
                    self.request_own(id, tile, sse, distance);
                    false
                }
            }
        }
    }

    fn visit_children(&mut self, tile: &'a Tile) -> bool {
        let mut covered = true;
        for &child in &tile.children {
            covered &= self.visit(child);
        }
        covered
    }

    fn models(
        id: TileId,
        tile: &Tile,
    ) -> impl Iterator<Item = (ContentKey, &super::tileset::Content)> {
        tile.contents
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == ContentKind::Model)
            .map(move |(i, c)| {
                (
                    ContentKey {
                        tile: id,
                        content: i as u32,
                    },
                    c,
                )
            })
    }

    fn own_ready(&self, id: TileId, tile: &Tile) -> bool {
        Self::models(id, tile).all(|(key, _)| (self.ready)(key))
    }

    /// Draws the tile's ready contents, requests the others; true when all were ready.
    fn draw_own(&mut self, id: TileId, tile: &Tile, sse: f64, distance: f64) -> bool {
        let mut all_ready = true;
        for (key, content) in Self::models(id, tile) {
            if (self.ready)(key) {
                self.selection.render.push(key);
            } else {
                all_ready = false;
                self.request(key, &content.uri, RequestKind::Content, sse, distance);
            }
        }
        all_ready
    }

    fn request_own(&mut self, id: TileId, tile: &Tile, sse: f64, distance: f64) {
        for (key, content) in Self::models(id, tile) {
            if !(self.ready)(key) {
                self.request(key, &content.uri, RequestKind::Content, sse, distance);
            }
        }
    }

    fn request(
        &mut self,
        key: ContentKey,
        uri: &TileUri,
        kind: RequestKind,
        sse: f64,
        distance: f64,
    ) {
        self.selection.requests.push(Request {
            key,
            uri: uri.clone(),
            kind,
            priority: sse,
            distance_m: distance,
        });
    }
}

/// A square quadtree `size_m` wide centred on the origin (x east, y north, z up, 50 m tall) with
/// `levels` levels (9 levels = 87,381 tiles), one content per tile (`{level}/{x}/{y}.glb`), the
/// geometric error halving per level from `size_m / 8` and zero on the last level.
pub fn synthetic_tileset(
    levels: u32,
    size_m: f64,
    refine: Refine,
) -> Result<Tileset, TilesetError> {
    const HEIGHT_M: f64 = 50.0;
    let error = |level: u32| {
        if level + 1 >= levels {
            0.0
        } else {
            size_m / 8.0 / (1u64 << level) as f64
        }
    };
    let volume = |level: u32, x: u32, y: u32| {
        let cells = (1u64 << level) as f64;
        let cell = size_m / cells;
        BoundingVolume::Box {
            center: DVec3::new(
                -0.5 * size_m + (x as f64 + 0.5) * cell,
                -0.5 * size_m + (y as f64 + 0.5) * cell,
                0.5 * HEIGHT_M,
            ),
            half_axes: [
                DVec3::X * 0.5 * cell,
                DVec3::Y * 0.5 * cell,
                DVec3::Z * 0.5 * HEIGHT_M,
            ],
        }
    };
    let mut tileset = Tileset::with_root(
        TileUri::local("synthetic".into()),
        volume(0, 0, 0),
        error(0),
        refine,
        Some("0/0/0.glb"),
    )?;
    let mut level_tiles = vec![(tileset.root(), 0u32, 0u32)];
    for level in 1..levels {
        let mut next = Vec::with_capacity(level_tiles.len() * 4);
        for &(parent, px, py) in &level_tiles {
            for child in 0..4u32 {
                let (x, y) = (2 * px + (child & 1), 2 * py + (child >> 1));
                let uri = format!("{level}/{x}/{y}.glb");
                let id = tileset.add_tile(
                    parent,
                    volume(level, x, y),
                    error(level),
                    None,
                    Some(&uri),
                )?;
                next.push((id, x, y));
            }
        }
        level_tiles = next;
    }
    Ok(tileset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::math::DMat4;

    const SIZE_M: f64 = 10_000.0;
    const FOVY: f64 = std::f64::consts::FRAC_PI_3;
    const VIEWPORT: [f64; 2] = [1920.0, 1080.0];

    fn all_ready(_: ContentKey) -> bool {
        true
    }

    fn key(tile: TileId) -> ContentKey {
        ContentKey { tile, content: 0 }
    }

    /// Looking across the tileset from low above its south-west corner.
    fn corner_view() -> View {
        View::look_at_infinite(
            DVec3::new(-4900.0, -4900.0, 150.0),
            DVec3::new(0.0, 0.0, 0.0),
            DVec3::Z,
            FOVY,
            VIEWPORT,
        )
    }

    fn depth_of(tileset: &Tileset, key: &ContentKey) -> u32 {
        tileset.tile(key.tile).unwrap().depth
    }

    #[test]
    fn corner_view_selects_deep_tiles_near_and_shallow_far() {
        let tileset = synthetic_tileset(9, SIZE_M, Refine::Replace).unwrap();
        assert_eq!(tileset.len(), 87_381);
        let view = corner_view();
        let selection = select(&tileset, &view, DEFAULT_MAX_SSE_PX, &all_ready);
        assert!(selection.requests.is_empty());
        // The nearest visible ground, ~300 m ahead, is drawn with the deepest level.
        let ahead = DVec3::new(view.position.x + 198.0, view.position.y + 198.0, 10.0);
        let near: Vec<&ContentKey> = selection
            .render
            .iter()
            .filter(|k| tileset.tile(k.tile).unwrap().bounds.contains(ahead))
            .collect();
        assert_eq!(near.len(), 1, "exactly one tile covers the ground ahead");
        assert_eq!(depth_of(&tileset, near[0]), 8);
        let far: Vec<u32> = selection
            .render
            .iter()
            .filter(|k| tileset.tile(k.tile).unwrap().bounds.distance(view.position) > 8000.0)
            .map(|k| depth_of(&tileset, k))
            .collect();
        assert!(!far.is_empty());
        assert!(
            far.iter().all(|&d| d <= 4),
            "far tiles should be shallow: {far:?}"
        );
        // REPLACE: no selected tile is an ancestor of another.
        for k in &selection.render {
            let mut parent = tileset.tile(k.tile).unwrap().parent;
            while let Some(p) = parent {
                assert!(!selection.render.contains(&key(p)));
                parent = tileset.tile(p).unwrap().parent;
            }
        }
        assert!(
            selection.visited < tileset.len() / 10,
            "visited {}",
            selection.visited
        );
    }

    #[test]
    fn add_refinement_also_draws_ancestors() {
        let replace = synthetic_tileset(6, SIZE_M, Refine::Replace).unwrap();
        let add = synthetic_tileset(6, SIZE_M, Refine::Add).unwrap();
        let view = corner_view();
        let r = select(&replace, &view, DEFAULT_MAX_SSE_PX, &all_ready);
        let a = select(&add, &view, DEFAULT_MAX_SSE_PX, &all_ready);
        let root = key(replace.root());
        assert!(!r.render.contains(&root));
        assert!(a.render.contains(&root));
        // Every REPLACE tile is drawn under ADD too, plus each drawn tile's ancestors.
        assert!(r.render.iter().all(|k| a.render.contains(k)));
        assert!(a.render.len() > r.render.len());
        for k in &a.render {
            if let Some(p) = add.tile(k.tile).unwrap().parent {
                assert!(a.render.contains(&key(p)));
            }
        }
    }

    #[test]
    fn parent_stays_until_every_visible_child_is_ready() {
        let tileset = synthetic_tileset(2, 1000.0, Refine::Replace).unwrap();
        let root = tileset.root();
        let children = tileset.tile(root).unwrap().children.clone();
        assert_eq!(children.len(), 4);
        let view = View::look_at_infinite(
            DVec3::new(0.0, 0.0, 200.0),
            DVec3::ZERO,
            DVec3::Y,
            FOVY,
            VIEWPORT,
        );
        let missing = children[2];
        let loading = select(&tileset, &view, DEFAULT_MAX_SSE_PX, &|k: ContentKey| {
            k.tile != missing
        });
        assert_eq!(loading.render, vec![key(root)]);
        assert_eq!(loading.requests.len(), 1);
        assert_eq!(loading.requests[0].key, key(missing));
        assert_eq!(loading.requests[0].kind, RequestKind::Content);
        assert!(loading.requests[0].uri.as_str().ends_with("1/0/1.glb"));

        let loaded = select(&tileset, &view, DEFAULT_MAX_SSE_PX, &all_ready);
        let expected: Vec<ContentKey> = children.iter().map(|c| key(*c)).collect();
        assert_eq!(loaded.render, expected);
        assert!(loaded.requests.is_empty());

        // Before the root itself is loaded, whatever children are ready are shown.
        let cold = select(&tileset, &view, DEFAULT_MAX_SSE_PX, &|k: ContentKey| {
            k.tile == children[0]
        });
        assert_eq!(cold.render, vec![key(children[0])]);
        assert_eq!(cold.requests.len(), 4);
    }

    #[test]
    fn tiles_behind_the_camera_are_culled() {
        let tileset = synthetic_tileset(7, SIZE_M, Refine::Replace).unwrap();
        let eye = DVec3::new(0.0, 0.0, 100.0);
        let view = View::look_at_infinite(
            eye,
            DVec3::new(1000.0, 0.0, 100.0),
            DVec3::Z,
            FOVY,
            VIEWPORT,
        );
        let selection = select(&tileset, &view, DEFAULT_MAX_SSE_PX, &all_ready);
        assert!(!selection.render.is_empty());
        for k in &selection.render {
            let obb = tileset.tile(k.tile).unwrap().bounds.obb;
            let max_x = obb.center.x + obb.half_axes[0].x.abs();
            assert!(max_x >= eye.x, "tile {} lies behind the camera", k.tile);
        }
        let looking_back = View::look_at_infinite(
            eye,
            DVec3::new(-1000.0, 0.0, 100.0),
            DVec3::Z,
            FOVY,
            VIEWPORT,
        );
        let back = select(&tileset, &looking_back, DEFAULT_MAX_SSE_PX, &all_ready);
        assert!(
            back.render
                .iter()
                .all(|k| !selection.render.contains(k) || {
                    let obb = tileset.tile(k.tile).unwrap().bounds.obb;
                    obb.center.x - obb.half_axes[0].x.abs() <= eye.x
                })
        );
    }

    #[test]
    fn requests_come_most_important_first() {
        let tileset = synthetic_tileset(6, SIZE_M, Refine::Replace).unwrap();
        let selection = select(&tileset, &corner_view(), DEFAULT_MAX_SSE_PX, &|_| false);
        assert!(selection.render.is_empty());
        assert!(selection.requests.len() > 10);
        assert_eq!(selection.requests[0].key, key(tileset.root()));
        for pair in selection.requests.windows(2) {
            assert!(pair[0].priority >= pair[1].priority);
        }
        let mut keys: Vec<ContentKey> = selection.requests.iter().map(|r| r.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(
            keys.len(),
            selection.requests.len(),
            "no duplicate requests"
        );
    }

    #[test]
    fn viewer_outside_the_frustum_planes_of_a_reversed_projection_still_culls() {
        // Bevy's infinite reversed-Z projection: near plane from row 3 - row 2, no far plane.
        let tileset = synthetic_tileset(5, SIZE_M, Refine::Replace).unwrap();
        let eye = DVec3::new(0.0, 0.0, 100.0);
        let (fovy, aspect, near) = (FOVY, 16.0 / 9.0, 0.1);
        let f = 1.0 / (0.5 * fovy).tan();
        let clip_from_view = DMat4::from_cols(
            DVec4::new(f / aspect, 0.0, 0.0, 0.0),
            DVec4::new(0.0, f, 0.0, 0.0),
            DVec4::new(0.0, 0.0, 0.0, -1.0),
            DVec4::new(0.0, 0.0, near, 0.0),
        );
        let view_from_world = DMat4::look_at_rh(eye, DVec3::new(1000.0, 0.0, 100.0), DVec3::Z);
        let view = View::from_clip_from_world(clip_from_view * view_from_world, eye, fovy, 1080.0);
        let selection = select(&tileset, &view, DEFAULT_MAX_SSE_PX, &all_ready);
        assert!(!selection.render.is_empty());
        for k in &selection.render {
            let obb = tileset.tile(k.tile).unwrap().bounds.obb;
            assert!(obb.center.x + obb.half_axes[0].x.abs() >= eye.x);
        }
    }

    /// `cargo test --release -- --ignored --nocapture select_time` prints the traversal time.
    #[test]
    #[ignore]
    fn select_time_on_a_hundred_thousand_tiles() {
        let tileset = synthetic_tileset(9, SIZE_M, Refine::Replace).unwrap();
        for (name, view, max_sse_px) in [
            ("corner, low, oblique", corner_view(), DEFAULT_MAX_SSE_PX),
            (
                "centre, 3 km up, looking down",
                View::look_at_infinite(
                    DVec3::new(0.0, 0.0, 3000.0),
                    DVec3::ZERO,
                    DVec3::Y,
                    FOVY,
                    VIEWPORT,
                ),
                DEFAULT_MAX_SSE_PX,
            ),
            (
                "centre, 300 m up, horizon",
                View::look_at_infinite(
                    DVec3::new(0.0, 0.0, 300.0),
                    DVec3::new(5000.0, 0.0, 0.0),
                    DVec3::Z,
                    FOVY,
                    VIEWPORT,
                ),
                DEFAULT_MAX_SSE_PX,
            ),
            (
                "worst case: whole tileset in view, every tile refined",
                View::look_at_infinite(
                    DVec3::new(0.0, 0.0, 12_000.0),
                    DVec3::ZERO,
                    DVec3::Y,
                    FOVY,
                    VIEWPORT,
                ),
                0.0,
            ),
        ] {
            let runs = 200;
            let start = std::time::Instant::now();
            let mut last = Selection::default();
            for _ in 0..runs {
                last = select(&tileset, &view, max_sse_px, &all_ready);
            }
            let per_frame = start.elapsed() / runs;
            println!(
                "{name}: {per_frame:?} per select over {} tiles: visited {}, render {}",
                tileset.len(),
                last.visited,
                last.render.len()
            );
        }
    }
}
