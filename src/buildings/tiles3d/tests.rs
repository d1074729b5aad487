//! Traversal over tilesets read from files: implicit subtrees requested and expanded, request
//! volumes. Here, above both, so that the tileset model and the traversal stay one-way.

use super::tileset::implicit::tests::{coords, implicit_tileset, three_level_subtree};
use super::tileset::tests::{content_named, load};
use super::tileset::*;
use super::traverse::{DEFAULT_MAX_SSE_PX, RequestKind, View, select};
use bevy::math::DVec3;

#[test]
fn pending_root_subtree_is_requested() {
    let tileset = implicit_tileset(3, 3);
    assert_eq!(tileset.len(), 1);
    let view = View::look_at_infinite(
        DVec3::new(0.0, -300.0, 200.0),
        DVec3::ZERO,
        DVec3::Z,
        1.0,
        [800.0, 600.0],
    );
    let selection = select(&tileset, &view, DEFAULT_MAX_SSE_PX, &|_| true);
    assert!(selection.render.is_empty());
    assert_eq!(selection.requests.len(), 1);
    let request = &selection.requests[0];
    assert_eq!(request.kind, RequestKind::Subtree);
    assert_eq!(request.key, ContentKey::subtree(tileset.root()));
    assert_eq!(
        request.uri.as_str(),
        "/data/implicit/subtrees/0/0/0.subtree"
    );
}

#[test]
fn subtree_expands_to_the_available_tiles() {
    let mut tileset = implicit_tileset(3, 3);
    tileset
        .attach_subtree(tileset.root(), &three_level_subtree())
        .unwrap();
    assert_eq!(
        coords(&tileset),
        [
            (0, 0, 0),
            (1, 0, 0),
            (2, 0, 0),
            (2, 1, 1),
            (1, 1, 0),
            (1, 1, 1),
            (2, 2, 2),
            (2, 3, 2),
            (2, 2, 3),
            (2, 3, 3),
        ]
    );
    let tiles = tileset.tiles();
    assert!(tiles[0].contents.is_empty(), "the root has no content");
    assert_eq!(tiles[0].children.len(), 3);
    let last = &tiles[9];
    assert_eq!(last.depth, 2);
    assert_eq!(last.geometric_error, 25.0);
    assert_eq!(last.refine, Refine::Replace);
    assert_eq!(last.contents.len(), 1);
    assert_eq!(
        last.contents[0].uri.as_str(),
        "/data/implicit/content/2/3/3.glb"
    );
    assert_eq!(last.bounds.obb.center, DVec3::new(75.0, 75.0, 0.0));
    assert_eq!(
        last.bounds.obb.half_axes,
        [DVec3::X * 25.0, DVec3::Y * 25.0, DVec3::Z * 10.0]
    );
    assert_eq!(tiles[1].bounds.obb.center, DVec3::new(-50.0, -50.0, 0.0));
    assert_eq!(
        tiles[1].contents[0].uri.as_str(),
        "/data/implicit/content/1/0/0.glb"
    );
    assert_eq!(
        tileset.tiles()[0]
            .implicit
            .as_ref()
            .unwrap()
            .subtree
            .as_ref()
            .unwrap()
            .1,
        LinkState::Attached
    );
    // A second copy of the same subtree is refused.
    assert!(
        tileset
            .attach_subtree(tileset.root(), &three_level_subtree())
            .is_err()
    );

    // Looking at it from above with everything loaded: the level-2 leaves and the level-1
    // tile without children are drawn; the missing (1, 0, 1) quadrant is a hole by design.
    let view = View::look_at_infinite(
        DVec3::new(0.0, 0.0, 150.0),
        DVec3::ZERO,
        DVec3::Y,
        1.2,
        [1000.0, 1000.0],
    );
    let selection = select(&tileset, &view, DEFAULT_MAX_SSE_PX, &|_| true);
    let drawn: Vec<(u32, u32, u32)> = selection
        .render
        .iter()
        .map(|k| {
            let c = tileset
                .tile(k.tile)
                .unwrap()
                .implicit
                .as_ref()
                .unwrap()
                .coord;
            (c.level, c.x, c.y)
        })
        .collect();
    assert_eq!(
        drawn,
        [
            (2, 0, 0),
            (2, 1, 1),
            (1, 1, 0),
            (2, 2, 2),
            (2, 3, 2),
            (2, 2, 3),
            (2, 3, 3)
        ]
    );
}

#[test]
fn child_subtrees_become_pending_placeholders() {
    let mut tileset = implicit_tileset(2, 4);
    let all = r#"{"tileAvailability":{"constant":1},"contentAvailability":[{"constant":1}],
                      "childSubtreeAvailability":{"constant":1}}"#;
    tileset
        .attach_subtree(tileset.root(), all.as_bytes())
        .unwrap();
    assert_eq!(tileset.len(), 1 + 4 + 16);
    let placeholders: Vec<&Tile> = tileset.tiles().iter().filter(|t| t.depth == 2).collect();
    assert_eq!(placeholders.len(), 16);
    for p in &placeholders {
        assert!(p.contents.is_empty());
        let implicit = p.implicit.as_ref().unwrap();
        let (uri, state) = implicit.subtree.as_ref().unwrap();
        assert_eq!(*state, LinkState::Pending);
        assert_eq!(
            uri.as_str(),
            format!(
                "/data/implicit/subtrees/2/{}/{}.subtree",
                implicit.coord.x, implicit.coord.y
            )
        );
    }
    let view = View::look_at_infinite(
        DVec3::new(0.0, 0.0, 60.0),
        DVec3::ZERO,
        DVec3::Y,
        1.2,
        [1000.0, 1000.0],
    );
    let selection = select(&tileset, &view, DEFAULT_MAX_SSE_PX, &|_| true);
    assert!(
        selection
            .requests
            .iter()
            .any(|r| r.kind == RequestKind::Subtree)
    );

    // The level-2 subtree reaches the last available level (3): no further placeholders.
    let placeholder = TileId(5);
    tileset.attach_subtree(placeholder, all.as_bytes()).unwrap();
    assert_eq!(tileset.len(), 21 + 4);
    let deepest = tileset.tile(TileId(24)).unwrap();
    assert_eq!(deepest.depth, 3);
    assert!(deepest.implicit.as_ref().unwrap().subtree.is_none());
    assert_eq!(deepest.geometric_error, 12.5);
}

#[test]
fn viewer_request_volume_shows_points_only_from_inside() {
    let Some(tileset) = load("cesium_TilesetWithRequestVolume") else {
        return;
    };
    let points = content_named(&tileset, "/points.pnts").unwrap();
    let building = content_named(&tileset, "/building.b3dm").unwrap();
    let center = tileset.tile(points.tile).unwrap().bounds.sphere.center;
    let up = center.normalize();
    let east = DVec3::Z.cross(up).normalize();
    let all_ready = |_: ContentKey| true;
    let view = |eye: DVec3| View::look_at_infinite(eye, center, up, 1.0, [1920.0, 1080.0]);

    let far = select(
        &tileset,
        &view(center + up * 2000.0 + east * 10.0),
        DEFAULT_MAX_SSE_PX,
        &all_ready,
    );
    assert!(far.render.contains(&building));
    assert!(!far.render.contains(&points));
    assert!(!far.requests.iter().any(|r| r.key == points));

    let near = select(
        &tileset,
        &view(center + east * 5.0 + up * 2.0),
        DEFAULT_MAX_SSE_PX,
        &all_ready,
    );
    assert!(near.render.contains(&points));
}
