//! Tile contents as models, off the ECS: a content's model and pose (b3dm and GLB as they
//! are, i3dm instances expanded, composites merged), and [`for_each_finest_content`], the walk
//! over a whole tileset's most detailed contents that the scenarios rasterise into the
//! terrain's surface.

use super::bake::{BakedContent, ModelPose, bake, z_up_from_y_up};
use super::layer::{BuildingLayer, fetch};
use super::model::Model;
use super::tiles3d::content::{InstanceModel, TileContent, parse_content};
use super::tiles3d::tileset::{
    ContentKey, ContentKind, LinkState, Refine, Tile, TileId, TileUri, Tileset, UpAxis,
};
use bevy::math::{DMat4, DVec3};

/// The model a tile content draws, with the pose to bake it with: b3dm/glb as they are, i3dm
/// instances expanded (one copy of the model per instance, its batch ID as feature ID), the
/// models of a composite merged.
pub fn content_model(
    content: TileContent,
    pose: ModelPose,
    uri: &TileUri,
    depth: u32,
) -> Result<(Model, ModelPose), String> {
    match content {
        TileContent::Model {
            glb,
            rtc_center,
            batch,
            ..
        } => {
            let mut model = super::gltf::decode_glb(&glb).map_err(|e| e.to_string())?;
            if model.rtc_center.is_none() {
                model.rtc_center = rtc_center;
            }
            if model.properties.is_none() {
                model.properties = batch;
            }
            Ok((model, pose))
        }
        TileContent::Instances {
            model,
            instances,
            batch,
        } => {
            let glb = match model {
                InstanceModel::Embedded(glb) => glb,
                InstanceModel::Uri(reference) => {
                    let model_uri = uri.join(&reference).map_err(|e| e.to_string())?;
                    fetch(&model_uri)?
                }
            };
            let model = super::gltf::decode_glb(&glb).map_err(|e| e.to_string())?;
            let instance_from_model = pose.tile_from_model(model.rtc_center);
            let mut expanded = Model {
                materials: model.materials.clone(),
                textures: model.textures.clone(),
                properties: batch,
                ..Model::default()
            };
            for (index, instance) in instances.iter().enumerate() {
                let tile_from_instance = DMat4::from_scale_rotation_translation(
                    DVec3::from_array(instance.scale),
                    instance.rotation,
                    DVec3::from_array(instance.position),
                );
                let feature = instance.batch_id.unwrap_or(index as u32);
                for primitive in &model.primitives {
                    let mut copy = primitive.clone();
                    copy.model_from_mesh =
                        tile_from_instance * instance_from_model * primitive.model_from_mesh;
                    copy.feature_ids = Some(vec![feature; copy.positions.len()]);
                    expanded.primitives.push(copy);
                }
            }
            let pose = ModelPose {
                frame_from_tile: pose.frame_from_tile,
                tile_from_gltf: DMat4::IDENTITY,
            };
            Ok((expanded, pose))
        }
        TileContent::Points { positions, .. } => Err(format!(
            "pnts point tiles inside composite tiles ({} points) are not drawn yet",
            positions.len()
        )),
        TileContent::Composite(inner) => {
            if depth > 8 {
                return Err("composite tiles nested too deep".into());
            }
            let mut merged = Model::default();
            let tile_pose = ModelPose {
                frame_from_tile: pose.frame_from_tile,
                tile_from_gltf: DMat4::IDENTITY,
            };
            for content in inner {
                let (model, inner_pose) = content_model(content, pose, uri, depth + 1)?;
                // Bring each inner model into the tile frame, so one pose fits them all.
                let tile_from_model = inner_pose.tile_from_model(model.rtc_center);
                let (materials, textures) = (merged.materials.len(), merged.textures.len());
                // One property table per model: the first one wins, later features go without.
                let keeps_features = merged.properties.is_none() || model.properties.is_none();
                merged.properties = merged.properties.or(model.properties);
                merged.textures.extend(model.textures);
                merged
                    .materials
                    .extend(model.materials.into_iter().map(|mut m| {
                        m.base_color_texture = m.base_color_texture.map(|t| t + textures);
                        m
                    }));
                for mut primitive in model.primitives {
                    primitive.model_from_mesh = tile_from_model * primitive.model_from_mesh;
                    primitive.material = primitive.material.map(|m| m + materials);
                    if !keeps_features {
                        primitive.feature_ids = None;
                    }
                    merged.primitives.push(primitive);
                }
            }
            Ok((merged, tile_pose))
        }
    }
}

/// Turns a content's glTF into the tileset's Z-up frame. glTF is Y-up; only 3D Tiles 1.0
/// tilesets may say otherwise (`asset.gltfUpAxis`, deprecated in 1.1, where real tilesets such
/// as 3DBAG's write "Z" over Y-up content).
pub fn content_up_axis(tileset: &Tileset, tile: &Tile, content: u32) -> DMat4 {
    let version_1_0 = tileset
        .documents()
        .get(tile.document as usize)
        .is_some_and(|d| d.asset.version.starts_with("1.0") || d.asset.version == "0.0");
    let axis = tile
        .contents
        .get(content as usize)
        .map_or(UpAxis::Y, |c| c.up_axis);
    match (version_1_0, axis) {
        (true, UpAxis::Z) => DMat4::IDENTITY,
        (true, UpAxis::X) => DMat4::from_rotation_z(std::f64::consts::FRAC_PI_2),
        _ => z_up_from_y_up(),
    }
}

/// What [`for_each_finest_content`] went through.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Walk {
    /// Contents baked and handed over.
    pub contents: usize,
    pub triangles: usize,
    /// Point-cloud (pnts) contents passed over: they are not a surface.
    pub point_contents: usize,
    /// What could not be read, each naming the URI.
    pub failures: Vec<String>,
}

/// Bakes every content of `layer` that its most detailed view draws, one at a time, into
/// `visit`: external tilesets and implicit subtrees are followed first (up to `max_tiles`
/// tiles), then each tile's own contents are taken when nothing below it has any or when its
/// children add to it (`refine: ADD`). A content that cannot be read is named in
/// [`Walk::failures`] and the walk goes on.
pub fn for_each_finest_content(
    layer: &mut BuildingLayer,
    max_tiles: usize,
    visit: &mut dyn FnMut(&BakedContent),
) -> Walk {
    let mut walk = Walk::default();
    attach_links(&mut layer.tileset, max_tiles, &mut walk.failures);
    let tileset = &layer.tileset;
    let tiles = tileset.tiles();
    // Children come after their parents in the arena: one backward pass finds the tiles that
    // have drawable content below them.
    let mut content_below = vec![false; tiles.len()];
    for (i, tile) in tiles.iter().enumerate().rev() {
        let own = tile.contents.iter().any(|c| c.kind == ContentKind::Model);
        if let Some(parent) = tile.parent
            && (own || content_below[i])
        {
            content_below[parent.index()] = true;
        }
    }
    for (i, tile) in tiles.iter().enumerate() {
        if content_below[i] && tile.refine != Refine::Add {
            continue;
        }
        for (c, content) in tile.contents.iter().enumerate() {
            if content.kind != ContentKind::Model {
                continue;
            }
            let pose = ModelPose {
                frame_from_tile: tile.world_from_tile,
                tile_from_gltf: content_up_axis(tileset, tile, c as u32),
            };
            let baked = fetch(&content.uri).and_then(|bytes| {
                let parsed = parse_content(&bytes).map_err(|e| e.to_string())?;
                if let TileContent::Points { .. } = parsed {
                    return Ok(None);
                }
                let (model, pose) = content_model(parsed, pose, &content.uri, 0)?;
                bake(model, pose, &layer.placement).map(Some)
            });
            match baked {
                Ok(Some(baked)) => {
                    walk.contents += 1;
                    walk.triangles += baked.triangle_count();
                    visit(&baked);
                }
                Ok(None) => walk.point_contents += 1,
                Err(e) => walk.failures.push(format!("{}: {e}", content.uri.as_str())),
            }
        }
    }
    walk
}

/// Follows every external tileset and implicit subtree of `tileset` until none is pending or
/// it holds `max_tiles` tiles; one that cannot be read is marked failed and named.
fn attach_links(tileset: &mut Tileset, max_tiles: usize, failures: &mut Vec<String>) {
    loop {
        let mut pending: Vec<(ContentKey, TileUri)> = Vec::new();
        for (i, tile) in tileset.tiles().iter().enumerate() {
            let id = TileId(i as u32);
            if let Some((uri, LinkState::Pending)) =
                tile.implicit.as_ref().and_then(|t| t.subtree.as_ref())
            {
                pending.push((ContentKey::subtree(id), uri.clone()));
            }
            for (c, content) in tile.contents.iter().enumerate() {
                if content.kind == ContentKind::ExternalTileset(LinkState::Pending) {
                    let key = ContentKey {
                        tile: id,
                        content: c as u32,
                    };
                    pending.push((key, content.uri.clone()));
                }
            }
        }
        if pending.is_empty() || tileset.len() >= max_tiles {
            return;
        }
        for (key, uri) in pending {
            let attached = fetch(&uri).and_then(|bytes| {
                if key.content == ContentKey::SUBTREE {
                    tileset.attach_subtree(key.tile, &bytes)
                } else {
                    tileset.attach_external(key.tile, &bytes, &uri)
                }
                .map_err(|e| e.to_string())
            });
            if let Err(e) = attached {
                failures.push(format!("{}: {e}", uri.as_str()));
                // Marks it so the next round does not ask again.
                let _ = tileset.fail_link(key, e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildings::open::{choose_frame, open_buildings};

    /// Walks a shared tileset placed in a local frame at its own centre.
    fn walk(folder: &str) -> Option<Walk> {
        let path = crate::testdata::shared_data(&format!("3dtiles/{folder}/tileset.json"))?;
        let opened = open_buildings(&path.display().to_string()).unwrap();
        let frame = choose_frame(None, None, &[opened.centre()]).unwrap();
        let (mut layer, _) = opened.into_layer(frame.as_ref(), None, None).unwrap();
        Some(for_each_finest_content(&mut layer, 1000, &mut |_| {}))
    }

    #[test]
    fn the_walk_follows_external_tilesets_and_skips_points() {
        // The root adds an external tileset of four 10-box b3dm tiles, a detailed building
        // and a pnts tile.
        let Some(w) = walk("cesium_TilesetWithRequestVolume") else {
            return;
        };
        assert_eq!(w.failures, Vec::<String>::new());
        assert_eq!((w.contents, w.point_contents), (5, 1));
        assert_eq!(w.triangles, 4 * 120 + 66_094);
        let bag = walk("3dbag_tile_128").unwrap();
        assert_eq!((bag.contents, bag.triangles), (1, 51_062));
    }
}
