//! 3D Tiles `tileset.json` (1.0 and 1.1) as an arena of tiles with bounding volumes in the
//! tileset's root frame, external tilesets grafted below their tiles, and content URIs that cannot
//! leave the tileset's root.
//!
//! "World" in this module is the frame of the root tileset's root tile before any transform:
//! normally ECEF (EPSG:4978), the frame `region` volumes are defined in.

use bevy::math::{DMat4, DVec3};
use serde_json::{Map, Value};

pub mod bounds;
pub mod implicit;
pub mod uri;

pub use crate::georef::{ecef_from_geodetic, geodetic_from_ecef};
pub use bounds::*;
use implicit::{ImplicitTile, ImplicitTiling, SubdivisionScheme, TileCoord};
pub use uri::TileUri;

/// One content of one tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentKey {
    pub tile: TileId,
    /// Index into the tile's contents, or [`ContentKey::SUBTREE`].
    pub content: u32,
}

impl ContentKey {
    /// `content` of a request for the implicit subtree rooted at the tile.
    pub const SUBTREE: u32 = u32::MAX;

    pub fn subtree(tile: TileId) -> ContentKey {
        ContentKey {
            tile,
            content: Self::SUBTREE,
        }
    }
}

/// What went wrong reading a tileset or resolving one of its URIs.
#[derive(Debug, thiserror::Error)]
pub enum TilesetError {
    #[error("{source_name}: not valid JSON: {error}")]
    Json {
        source_name: String,
        #[source]
        error: serde_json::Error,
    },
    #[error("{source_name}: {path}: {message}")]
    Invalid {
        source_name: String,
        path: String,
        message: String,
    },
    #[error("content \"{reference}\" of {owner} escapes the tileset root {root}: {why}")]
    UnsafeUri {
        reference: String,
        owner: String,
        root: String,
        why: String,
    },
    #[error("bad tileset location \"{location}\": {why}")]
    BadLocation { location: String, why: String },
    #[error("tile {tile} does not exist (the tileset has {count} tiles)")]
    NoSuchTile { tile: u32, count: usize },
    #[error("tile {tile} has no {what} waiting to be attached")]
    NothingToAttach { tile: u32, what: &'static str },
    #[error("{uri} belongs to root {found}, not to this tileset's root {expected}")]
    ForeignBase {
        uri: String,
        found: String,
        expected: String,
    },
    #[error("subtree {uri}: {error}")]
    Subtree {
        uri: String,
        #[source]
        error: super::implicit::SubtreeError,
    },
    #[error("more than {} tiles", u32::MAX)]
    TooManyTiles,
}

impl TilesetError {
    /// Names the tile that owns a URI which failed to resolve.
    fn with_owner(self, owner: &str) -> Self {
        match self {
            TilesetError::UnsafeUri {
                reference,
                root,
                why,
                ..
            } => TilesetError::UnsafeUri {
                reference,
                owner: owner.to_owned(),
                root,
                why,
            },
            other => other,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The tileset
// ---------------------------------------------------------------------------------------------

/// Index of a tile in [`Tileset`]'s arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId(pub u32);

impl TileId {
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for TileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refine {
    Replace,
    Add,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UpAxis {
    X,
    #[default]
    Y,
    Z,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Asset {
    pub version: String,
    pub tileset_version: Option<String>,
    /// `gltfUpAxis` (1.0 era); glTF content is Y-up unless this says otherwise.
    pub gltf_up_axis: UpAxis,
}

/// One `tileset.json`: the root one (document 0) or an external one attached later.
#[derive(Clone, Debug)]
pub struct TilesetDocument {
    /// Where the JSON came from; its contents resolve against this.
    pub base: TileUri,
    pub asset: Asset,
    pub geometric_error: f64,
    pub metadata: Option<Value>,
    /// 1.1 `schema` (inline) and `schemaUri` (resolved).
    pub schema: Option<Value>,
    pub schema_uri: Option<TileUri>,
    pub groups: Vec<Value>,
    /// 1.0 `properties` (per-feature min/max summaries).
    pub properties: Option<Value>,
    pub extensions_used: Vec<String>,
    pub extensions_required: Vec<String>,
}

/// Whether a link to more tiles (external tileset, implicit subtree) has been followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    Pending,
    Attached,
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentKind {
    /// b3dm, pnts, i3dm, cmpt, glb, gltf...: something to decode and draw.
    Model,
    /// A `.json` content: another tileset to attach below this tile.
    ExternalTileset(LinkState),
}

#[derive(Clone, Debug)]
pub struct Content {
    pub uri: TileUri,
    pub kind: ContentKind,
    pub metadata: Option<Value>,
    /// Index into the owning document's `groups`.
    pub group: Option<u32>,
    /// The content's own tighter volume, when given.
    pub bounds: Option<Bounds>,
    /// Up axis of glTF in this content (from its tileset's asset).
    pub up_axis: UpAxis,
}

#[derive(Clone, Debug)]
pub struct Tile {
    pub parent: Option<TileId>,
    /// In file order (implicit tiles: Morton order).
    pub children: Vec<TileId>,
    pub depth: u32,
    /// Product of the transforms from the root down to this tile.
    pub world_from_tile: DMat4,
    /// The volume as written, in the tile frame.
    pub volume: BoundingVolume,
    pub bounds: Bounds,
    pub geometric_error: f64,
    pub refine: Refine,
    pub contents: Vec<Content>,
    /// `viewerRequestVolume`: the tile is only considered while the eye is inside.
    pub request_volume: Option<Bounds>,
    pub metadata: Option<Value>,
    /// Index into [`Tileset::documents`].
    pub document: u32,
    /// Set for tiles of an implicit tileset.
    pub implicit: Option<ImplicitTile>,
}

/// A tileset: its documents and an arena of tiles, root first.
#[derive(Clone, Debug)]
pub struct Tileset {
    pub(super) tiles: Vec<Tile>,
    pub(super) documents: Vec<TilesetDocument>,
    pub(super) implicit: Vec<ImplicitTiling>,
}

impl Tileset {
    /// Parses a root `tileset.json` read from `base`.
    pub fn parse(json: &[u8], base: &TileUri) -> Result<Tileset, TilesetError> {
        let mut tileset = Tileset {
            tiles: Vec::new(),
            documents: Vec::new(),
            implicit: Vec::new(),
        };
        tileset.parse_document(json, base, None)?;
        Ok(tileset)
    }

    /// Grafts the external tileset `json`, read from `base` (the URI of the tile's `.json`
    /// content), below `tile`: its root becomes a child and inherits the tile's transform.
    pub fn attach_external(
        &mut self,
        tile: TileId,
        json: &[u8],
        base: &TileUri,
    ) -> Result<(), TilesetError> {
        let index = self.pending_external(tile)?;
        if let Some(doc) = self.documents.first()
            && !doc.base.same_root(base)
        {
            return Err(TilesetError::ForeignBase {
                uri: base.as_str().to_owned(),
                found: base.root(),
                expected: doc.base.root(),
            });
        }
        self.parse_document(json, base, Some(tile))?;
        self.tiles[tile.index()].contents[index].kind =
            ContentKind::ExternalTileset(LinkState::Attached);
        Ok(())
    }

    /// Records that an external tileset or subtree could not be loaded, so traversal stops
    /// asking for it.
    pub fn fail_link(&mut self, key: ContentKey, reason: String) -> Result<(), TilesetError> {
        let count = self.tiles.len();
        let tile = self
            .tiles
            .get_mut(key.tile.index())
            .ok_or(TilesetError::NoSuchTile {
                tile: key.tile.0,
                count,
            })?;
        if key.content == ContentKey::SUBTREE {
            if let Some((_, state)) = tile.implicit.as_mut().and_then(|i| i.subtree.as_mut()) {
                *state = LinkState::Failed(reason);
                return Ok(());
            }
            return Err(TilesetError::NothingToAttach {
                tile: key.tile.0,
                what: "subtree",
            });
        }
        match tile.contents.get_mut(key.content as usize) {
            Some(Content {
                kind: ContentKind::ExternalTileset(state),
                ..
            }) => {
                *state = LinkState::Failed(reason);
                Ok(())
            }
            _ => Err(TilesetError::NothingToAttach {
                tile: key.tile.0,
                what: "external tileset",
            }),
        }
    }

    fn pending_external(&self, tile: TileId) -> Result<usize, TilesetError> {
        let t = self.tile(tile).ok_or(TilesetError::NoSuchTile {
            tile: tile.0,
            count: self.tiles.len(),
        })?;
        t.contents
            .iter()
            .position(|c| c.kind == ContentKind::ExternalTileset(LinkState::Pending))
            .ok_or(TilesetError::NothingToAttach {
                tile: tile.0,
                what: "external tileset",
            })
    }

    pub fn root(&self) -> TileId {
        TileId(0)
    }

    pub fn tile(&self, id: TileId) -> Option<&Tile> {
        self.tiles.get(id.index())
    }

    /// All tiles; index with [`TileId::index`].
    pub fn tiles(&self) -> &[Tile] {
        &self.tiles
    }

    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }

    /// The root `tileset.json` first, then external ones in the order they were attached.
    pub fn documents(&self) -> &[TilesetDocument] {
        &self.documents
    }

    pub fn implicit_tilings(&self) -> &[ImplicitTiling] {
        &self.implicit
    }

    pub fn content(&self, key: ContentKey) -> Option<&Content> {
        self.tile(key.tile)?.contents.get(key.content as usize)
    }

    /// A tileset made in code (tests, benchmarks): one root tile, with an optional content
    /// resolved against `base`.
    pub fn with_root(
        base: TileUri,
        volume: BoundingVolume,
        geometric_error: f64,
        refine: Refine,
        content_uri: Option<&str>,
    ) -> Result<Tileset, TilesetError> {
        let world_from_tile = DMat4::IDENTITY;
        let mut tileset = Tileset {
            tiles: vec![Tile {
                parent: None,
                children: Vec::new(),
                depth: 0,
                world_from_tile,
                volume,
                bounds: volume.bounds(&world_from_tile),
                geometric_error,
                refine,
                contents: Vec::new(),
                request_volume: None,
                metadata: None,
                document: 0,
                implicit: None,
            }],
            documents: vec![TilesetDocument {
                base,
                asset: Asset {
                    version: "1.1".to_owned(),
                    tileset_version: None,
                    gltf_up_axis: UpAxis::Y,
                },
                geometric_error,
                metadata: None,
                schema: None,
                schema_uri: None,
                groups: Vec::new(),
                properties: None,
                extensions_used: Vec::new(),
                extensions_required: Vec::new(),
            }],
            implicit: Vec::new(),
        };
        if let Some(uri) = content_uri {
            let doc = &tileset.documents[0];
            let content = make_content(doc, doc.base.join(uri)?, None, None, None);
            tileset.tiles[0].contents.push(content);
        }
        Ok(tileset)
    }

    /// Adds a tile made in code below `parent`, with an optional content resolved against
    /// `parent`'s document. The refinement is inherited when `refine` is `None`.
    pub fn add_tile(
        &mut self,
        parent: TileId,
        volume: BoundingVolume,
        geometric_error: f64,
        refine: Option<Refine>,
        content_uri: Option<&str>,
    ) -> Result<TileId, TilesetError> {
        let p = self.tile(parent).ok_or(TilesetError::NoSuchTile {
            tile: parent.0,
            count: self.tiles.len(),
        })?;
        let document = p.document;
        let doc = &self.documents[document as usize];
        let contents = match content_uri {
            Some(uri) => vec![make_content(doc, doc.base.join(uri)?, None, None, None)],
            None => Vec::new(),
        };
        let world_from_tile = p.world_from_tile;
        let tile = Tile {
            parent: Some(parent),
            children: Vec::new(),
            depth: p.depth + 1,
            world_from_tile,
            volume,
            bounds: volume.bounds(&world_from_tile),
            geometric_error,
            refine: refine.unwrap_or(p.refine),
            contents,
            request_volume: None,
            metadata: None,
            document,
            implicit: None,
        };
        self.push_tile(tile)
    }

    /// Appends a tile and links it into its parent's children.
    pub(super) fn push_tile(&mut self, tile: Tile) -> Result<TileId, TilesetError> {
        let id = TileId(u32::try_from(self.tiles.len()).map_err(|_| TilesetError::TooManyTiles)?);
        if let Some(parent) = tile.parent {
            self.tiles[parent.index()].children.push(id);
        }
        self.tiles.push(tile);
        Ok(id)
    }

    /// Parses one document; on error the arena is left as it was.
    fn parse_document(
        &mut self,
        json: &[u8],
        base: &TileUri,
        parent: Option<TileId>,
    ) -> Result<(), TilesetError> {
        let source_name = base.as_str().to_owned();
        let value: Value = serde_json::from_slice(json).map_err(|error| TilesetError::Json {
            source_name: source_name.clone(),
            error,
        })?;
        let ctx = Ctx {
            source_name: &source_name,
        };
        let top = ctx.object(&value, "the tileset")?;
        let asset_obj = ctx
            .field(top, "asset")
            .ok_or_else(|| ctx.invalid("tileset", "\"asset\" is missing"))?;
        let asset_obj = ctx.object(asset_obj, "asset")?;
        let version = ctx
            .string(asset_obj, "version", "asset")?
            .ok_or_else(|| ctx.invalid("asset", "\"version\" is missing"))?;
        let gltf_up_axis = match ctx.string(asset_obj, "gltfUpAxis", "asset")? {
            None => UpAxis::Y,
            Some(axis) => match axis.to_ascii_uppercase().as_str() {
                "X" => UpAxis::X,
                "Y" => UpAxis::Y,
                "Z" => UpAxis::Z,
                _ => {
                    return Err(ctx.invalid(
                        "asset",
                        format!("\"gltfUpAxis\" must be X, Y or Z, found \"{axis}\""),
                    ));
                }
            },
        };
        let asset = Asset {
            version,
            tileset_version: ctx.string(asset_obj, "tilesetVersion", "asset")?,
            gltf_up_axis,
        };
        let root_value = ctx
            .field(top, "root")
            .ok_or_else(|| ctx.invalid("tileset", "\"root\" tile is missing"))?;
        let root_obj = ctx.object(root_value, "root")?;
        let root_error = ctx
            .number(root_obj, "geometricError", "root")?
            .unwrap_or(0.0);
        let geometric_error = ctx
            .number(top, "geometricError", "tileset")?
            .unwrap_or(root_error);
        let schema_uri = match ctx.string(top, "schemaUri", "tileset")? {
            Some(uri) => Some(
                base.join(&uri)
                    .map_err(|e| e.with_owner("the tileset's schemaUri"))?,
            ),
            None => None,
        };
        let groups = match ctx.field(top, "groups") {
            Some(Value::Array(groups)) => groups.clone(),
            Some(_) => return Err(ctx.invalid("tileset", "\"groups\" must be an array")),
            None => Vec::new(),
        };
        let strings = |key: &str| -> Result<Vec<String>, TilesetError> {
            match top.get(key) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_owned).ok_or_else(|| {
                            ctx.invalid("tileset", format!("\"{key}\" must list strings"))
                        })
                    })
                    .collect(),
                Some(_) => Err(ctx.invalid("tileset", format!("\"{key}\" must be an array"))),
            }
        };
        let document = TilesetDocument {
            base: base.clone(),
            asset,
            geometric_error,
            metadata: top.get("metadata").cloned(),
            schema: top.get("schema").cloned(),
            schema_uri,
            groups,
            properties: top.get("properties").cloned(),
            extensions_used: strings("extensionsUsed")?,
            extensions_required: strings("extensionsRequired")?,
        };

        let tiles_before = self.tiles.len();
        let implicit_before = self.implicit.len();
        let document_index = u32::try_from(self.documents.len()).map_err(|_| {
            ctx.invalid("tileset", "too many external tilesets attached".to_owned())
        })?;
        self.documents.push(document);
        let (world_from_parent, depth, refine) = match parent {
            Some(p) => {
                let t = &self.tiles[p.index()];
                (t.world_from_tile, t.depth + 1, t.refine)
            }
            None => (DMat4::IDENTITY, 0, Refine::Replace),
        };
        let result = self.parse_tile(
            &ctx,
            root_obj,
            "root",
            TileParent {
                id: parent,
                world_from_parent,
                depth,
                refine,
                document: document_index,
            },
        );
        if let Err(error) = result {
            // Unlink and drop whatever this document added.
            if let Some(p) = parent {
                let first = tiles_before as u32;
                self.tiles[p.index()].children.retain(|c| c.0 < first);
            }
            self.tiles.truncate(tiles_before);
            self.implicit.truncate(implicit_before);
            self.documents.pop();
            return Err(error);
        }
        Ok(())
    }

    fn parse_tile(
        &mut self,
        ctx: &Ctx<'_>,
        obj: &Map<String, Value>,
        path: &str,
        parent: TileParent,
    ) -> Result<TileId, TilesetError> {
        let transform = match ctx.field(obj, "transform") {
            Some(v) => {
                let m: [f64; 16] = ctx.numbers(v, &format!("{path}.transform"))?;
                DMat4::from_cols_array(&m)
            }
            None => DMat4::IDENTITY,
        };
        let world_from_tile = parent.world_from_parent * transform;
        let volume_value = ctx
            .field(obj, "boundingVolume")
            .ok_or_else(|| ctx.invalid(path, "\"boundingVolume\" is missing"))?;
        let volume = ctx.volume(volume_value, &format!("{path}.boundingVolume"))?;
        let geometric_error = ctx
            .number(obj, "geometricError", path)?
            .ok_or_else(|| ctx.invalid(path, "\"geometricError\" is missing"))?;
        if geometric_error < 0.0 {
            return Err(ctx.invalid(
                path,
                format!("\"geometricError\" must not be negative, found {geometric_error}"),
            ));
        }
        let refine = match ctx.string(obj, "refine", path)? {
            None => parent.refine,
            Some(r) if r.eq_ignore_ascii_case("REPLACE") => Refine::Replace,
            Some(r) if r.eq_ignore_ascii_case("ADD") => Refine::Add,
            Some(r) => {
                return Err(ctx.invalid(
                    path,
                    format!("\"refine\" must be REPLACE or ADD, found \"{r}\""),
                ));
            }
        };
        let request_volume = match ctx.field(obj, "viewerRequestVolume") {
            Some(v) => Some(
                ctx.volume(v, &format!("{path}.viewerRequestVolume"))?
                    .bounds(&world_from_tile),
            ),
            None => None,
        };
        let document = &self.documents[parent.document as usize];

        // Content: `content` (uri, or 1.0-era url), 1.1 `contents`, or 3DTILES_multiple_contents.
        let mut content_values: Vec<(&Value, String)> = Vec::new();
        if let Some(c) = ctx.field(obj, "content") {
            let multiple = c
                .get("extensions")
                .and_then(|e| e.get("3DTILES_multiple_contents"))
                .and_then(|m| m.get("contents"));
            match multiple {
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        content_values.push((item, format!("{path}.content.contents[{i}]")));
                    }
                }
                _ => content_values.push((c, format!("{path}.content"))),
            }
        }
        match ctx.field(obj, "contents") {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    content_values.push((item, format!("{path}.contents[{i}]")));
                }
            }
            Some(_) => return Err(ctx.invalid(path, "\"contents\" must be an array")),
            None => {}
        }

        let implicit_value = obj.get("implicitTiling").or_else(|| {
            obj.get("extensions")
                .and_then(|e| e.get("3DTILES_implicit_tiling"))
        });

        let mut contents = Vec::with_capacity(content_values.len());
        let mut templates = Vec::new();
        for (value, content_path) in &content_values {
            let c = ctx.object(value, content_path)?;
            let uri = match (
                ctx.string(c, "uri", content_path)?,
                ctx.string(c, "url", content_path)?,
            ) {
                (Some(uri), _) | (None, Some(uri)) => uri,
                (None, None) => {
                    return Err(ctx.invalid(content_path, "\"uri\" is missing"));
                }
            };
            let group = match ctx.number(c, "group", content_path)? {
                Some(g) if g >= 0.0 && g.fract() == 0.0 && g <= u32::MAX as f64 => Some(g as u32),
                Some(g) => {
                    return Err(ctx.invalid(
                        content_path,
                        format!("\"group\" must be a non-negative integer, found {g}"),
                    ));
                }
                None => None,
            };
            let bounds = match ctx.field(c, "boundingVolume") {
                Some(v) => Some(
                    ctx.volume(v, &format!("{content_path}.boundingVolume"))?
                        .bounds(&world_from_tile),
                ),
                None => None,
            };
            let metadata = c.get("metadata").cloned();
            let owner = format!("tile {path}");
            if implicit_value.is_some() {
                // A template: check that every expansion stays inside by trying one.
                document
                    .base
                    .join(&super::implicit::expand_template(
                        &uri,
                        TileCoord::default(),
                    ))
                    .map_err(|e| e.with_owner(&owner))?;
                templates.push(super::implicit::ContentTemplate {
                    uri,
                    metadata,
                    group,
                });
            } else {
                let resolved = document.base.join(&uri).map_err(|e| e.with_owner(&owner))?;
                contents.push(make_content(document, resolved, metadata, group, bounds));
            }
        }

        let implicit = match implicit_value {
            Some(v) => {
                if obj
                    .get("children")
                    .and_then(Value::as_array)
                    .is_some_and(|c| !c.is_empty())
                {
                    return Err(ctx.invalid(
                        path,
                        "a tile with \"implicitTiling\" must not have \"children\"",
                    ));
                }
                let tiling =
                    self.parse_implicit(ctx, v, path, volume, world_from_tile, templates)?;
                Some(tiling)
            }
            None => None,
        };

        let depth = parent.depth;
        let id = self.push_tile(Tile {
            parent: parent.id,
            children: Vec::new(),
            depth,
            world_from_tile,
            volume,
            bounds: volume.bounds(&world_from_tile),
            geometric_error,
            refine,
            contents,
            request_volume,
            metadata: obj.get("metadata").cloned(),
            document: parent.document,
            implicit: None,
        })?;
        if let Some(mut tiling) = implicit {
            tiling.root_tile = id;
            tiling.root_depth = depth;
            tiling.root_geometric_error = geometric_error;
            tiling.refine = refine;
            let index =
                u32::try_from(self.implicit.len()).map_err(|_| TilesetError::TooManyTiles)?;
            let subtree_uri = tiling
                .subtree_uri_of(TileCoord::default())
                .map_err(|e| e.with_owner(&format!("the implicit tiling of tile {path}")))?;
            self.implicit.push(tiling);
            self.tiles[id.index()].implicit = Some(ImplicitTile {
                tiling: index,
                coord: TileCoord::default(),
                subtree: Some((subtree_uri, LinkState::Pending)),
            });
        }

        match ctx.field(obj, "children") {
            Some(Value::Array(children)) => {
                for (i, child) in children.iter().enumerate() {
                    let child_path = format!("{path}.children[{i}]");
                    let child_obj = ctx.object(child, &child_path)?;
                    self.parse_tile(
                        ctx,
                        child_obj,
                        &child_path,
                        TileParent {
                            id: Some(id),
                            world_from_parent: world_from_tile,
                            depth: parent.depth + 1,
                            refine,
                            document: parent.document,
                        },
                    )?;
                }
            }
            Some(_) => return Err(ctx.invalid(path, "\"children\" must be an array")),
            None => {}
        }
        Ok(id)
    }

    fn parse_implicit(
        &self,
        ctx: &Ctx<'_>,
        value: &Value,
        tile_path: &str,
        volume: BoundingVolume,
        world_from_tile: DMat4,
        contents: Vec<super::implicit::ContentTemplate>,
    ) -> Result<ImplicitTiling, TilesetError> {
        let path = format!("{tile_path}.implicitTiling");
        let obj = ctx.object(value, &path)?;
        let scheme = match ctx.string(obj, "subdivisionScheme", &path)? {
            Some(s) if s.eq_ignore_ascii_case("QUADTREE") => SubdivisionScheme::Quadtree,
            Some(s) if s.eq_ignore_ascii_case("OCTREE") => SubdivisionScheme::Octree,
            Some(s) => {
                return Err(ctx.invalid(
                    &path,
                    format!("\"subdivisionScheme\" must be QUADTREE or OCTREE, found \"{s}\""),
                ));
            }
            None => return Err(ctx.invalid(&path, "\"subdivisionScheme\" is missing")),
        };
        let level_count = |key: &str, max: u32| -> Result<u32, TilesetError> {
            let n = ctx
                .number(obj, key, &path)?
                .ok_or_else(|| ctx.invalid(&path, format!("\"{key}\" is missing")))?;
            if n < 1.0 || n.fract() != 0.0 || n > max as f64 {
                return Err(ctx.invalid(
                    &path,
                    format!("\"{key}\" must be an integer from 1 to {max}, found {n}"),
                ));
            }
            Ok(n as u32)
        };
        let subtree_levels = level_count("subtreeLevels", scheme.max_subtree_levels())?;
        // 1.0-era extension called it maximumLevel (the last level, not a count).
        let available_levels = if obj.contains_key("availableLevels") {
            level_count("availableLevels", 31)?
        } else {
            level_count("maximumLevel", 30)? + 1
        };
        let subtrees = ctx
            .field(obj, "subtrees")
            .ok_or_else(|| ctx.invalid(&path, "\"subtrees\" is missing"))?;
        let subtrees = ctx.object(subtrees, &format!("{path}.subtrees"))?;
        let subtree_uri = ctx
            .string(subtrees, "uri", &format!("{path}.subtrees"))?
            .ok_or_else(|| ctx.invalid(&format!("{path}.subtrees"), "\"uri\" is missing"))?;
        if matches!(volume, BoundingVolume::Sphere { .. }) {
            return Err(ctx.invalid(
                tile_path,
                "implicit tiling needs a box or region bounding volume, not a sphere",
            ));
        }
        let document = self.documents.len().saturating_sub(1) as u32;
        let base = self
            .documents
            .last()
            .map(|d| d.base.clone())
            .ok_or_else(|| ctx.invalid(tile_path, "no document"))?;
        Ok(ImplicitTiling {
            scheme,
            subtree_levels,
            available_levels,
            subtree_uri,
            contents,
            root_volume: volume,
            world_from_tile,
            root_geometric_error: 0.0,
            refine: Refine::Replace,
            document,
            base,
            root_tile: TileId(0),
            root_depth: 0,
        })
    }
}

pub(super) fn make_content(
    document: &TilesetDocument,
    uri: TileUri,
    metadata: Option<Value>,
    group: Option<u32>,
    bounds: Option<Bounds>,
) -> Content {
    let kind = if uri.extension().as_deref() == Some("json") {
        ContentKind::ExternalTileset(LinkState::Pending)
    } else {
        ContentKind::Model
    };
    Content {
        uri,
        kind,
        metadata,
        group,
        bounds,
        up_axis: document.asset.gltf_up_axis,
    }
}

struct TileParent {
    id: Option<TileId>,
    world_from_parent: DMat4,
    depth: u32,
    refine: Refine,
    document: u32,
}

/// Field access that names the file and the JSON path when something is wrong.
struct Ctx<'a> {
    source_name: &'a str,
}

impl Ctx<'_> {
    fn invalid(&self, path: &str, message: impl Into<String>) -> TilesetError {
        TilesetError::Invalid {
            source_name: self.source_name.to_owned(),
            path: path.to_owned(),
            message: message.into(),
        }
    }

    fn object<'v>(
        &self,
        value: &'v Value,
        path: &str,
    ) -> Result<&'v Map<String, Value>, TilesetError> {
        value.as_object().ok_or_else(|| {
            self.invalid(path, format!("must be an object, found {}", kind_of(value)))
        })
    }

    /// A field that is present and not null.
    fn field<'v>(&self, obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
        obj.get(key).filter(|v| !v.is_null())
    }

    fn number(
        &self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Option<f64>, TilesetError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_f64() {
                Some(n) if n.is_finite() => Ok(Some(n)),
                _ => Err(self.invalid(
                    path,
                    format!("\"{key}\" must be a number, found {}", kind_of(v)),
                )),
            },
        }
    }

    fn string(
        &self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Option<String>, TilesetError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.invalid(
                path,
                format!("\"{key}\" must be a string, found {}", kind_of(v)),
            )),
        }
    }

    fn numbers<const N: usize>(&self, value: &Value, path: &str) -> Result<[f64; N], TilesetError> {
        let items = value.as_array().ok_or_else(|| {
            self.invalid(
                path,
                format!("must be an array of {N} numbers, found {}", kind_of(value)),
            )
        })?;
        if items.len() != N {
            return Err(self.invalid(
                path,
                format!("must have {N} numbers, found {}", items.len()),
            ));
        }
        let mut out = [0.0; N];
        for (i, item) in items.iter().enumerate() {
            out[i] = item.as_f64().filter(|n| n.is_finite()).ok_or_else(|| {
                self.invalid(
                    path,
                    format!("item {i} must be a number, found {}", kind_of(item)),
                )
            })?;
        }
        Ok(out)
    }

    fn volume(&self, value: &Value, path: &str) -> Result<BoundingVolume, TilesetError> {
        let obj = self.object(value, path)?;
        if let Some(v) = self.field(obj, "box") {
            let b: [f64; 12] = self.numbers(v, &format!("{path}.box"))?;
            return Ok(BoundingVolume::Box {
                center: DVec3::new(b[0], b[1], b[2]),
                half_axes: [
                    DVec3::new(b[3], b[4], b[5]),
                    DVec3::new(b[6], b[7], b[8]),
                    DVec3::new(b[9], b[10], b[11]),
                ],
            });
        }
        if let Some(v) = self.field(obj, "region") {
            let r: [f64; 6] = self.numbers(v, &format!("{path}.region"))?;
            let [west, south, east, north, min_height, max_height] = r;
            let pi = std::f64::consts::PI;
            if [west, east].iter().any(|l| l.abs() > pi + 1e-9)
                || [south, north].iter().any(|l| l.abs() > pi / 2.0 + 1e-9)
                || south > north
                || min_height > max_height
            {
                return Err(self.invalid(
                    &format!("{path}.region"),
                    format!(
                        "must be [west, south, east, north] in radians then min <= max height, found {r:?}"
                    ),
                ));
            }
            return Ok(BoundingVolume::Region {
                west,
                south,
                east,
                north,
                min_height,
                max_height,
            });
        }
        if let Some(v) = self.field(obj, "sphere") {
            let s: [f64; 4] = self.numbers(v, &format!("{path}.sphere"))?;
            if s[3] < 0.0 {
                return Err(self.invalid(
                    &format!("{path}.sphere"),
                    format!("radius must not be negative, found {}", s[3]),
                ));
            }
            return Ok(BoundingVolume::Sphere {
                center: DVec3::new(s[0], s[1], s[2]),
                radius: s[3],
            });
        }
        let extension = obj
            .get("extensions")
            .and_then(Value::as_object)
            .and_then(|e| e.keys().next().cloned());
        Err(self.invalid(
            path,
            match extension {
                Some(name) => {
                    format!("needs a box, region or sphere (extension {name} is not supported)")
                }
                None => "needs a box, region or sphere".to_owned(),
            },
        ))
    }
}

fn kind_of(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string \"{}\"", s.chars().take(40).collect::<String>()),
        Value::Array(a) => format!("an array of {}", a.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn load(name: &str) -> Option<Tileset> {
        let dir = crate::testdata::shared_data(&format!("3dtiles/{name}"))?;
        let base = TileUri::local(dir).join("tileset.json").unwrap();
        let json = std::fs::read(base.local_path().unwrap()).unwrap();
        Some(Tileset::parse(&json, &base).unwrap())
    }

    pub(crate) fn content_named(tileset: &Tileset, name: &str) -> Option<ContentKey> {
        tileset.tiles().iter().enumerate().find_map(|(t, tile)| {
            tile.contents
                .iter()
                .position(|c| c.uri.as_str().ends_with(name))
                .map(|c| ContentKey {
                    tile: TileId(t as u32),
                    content: c as u32,
                })
        })
    }

    fn degrees(p: DVec3) -> (f64, f64, f64) {
        let (lon, lat, h) = geodetic_from_ecef(p);
        (lon.to_degrees(), lat.to_degrees(), h)
    }

    fn parse_err(json: &str) -> String {
        let base = TileUri::local("/data/ts".into())
            .join("tileset.json")
            .unwrap();
        Tileset::parse(json.as_bytes(), &base)
            .expect_err("the tileset should be refused")
            .to_string()
    }

    #[test]
    fn geodetic_round_trip() {
        let p = ecef_from_geodetic(0.3, -0.7, 123.0);
        let (lon, lat, h) = geodetic_from_ecef(p);
        assert!((lon - 0.3).abs() < 1e-12 && (lat + 0.7).abs() < 1e-12 && (h - 123.0).abs() < 1e-6);
    }

    #[test]
    fn request_volume_tileset_is_near_philadelphia() {
        let Some(tileset) = load("cesium_TilesetWithRequestVolume") else {
            return;
        };
        assert_eq!(tileset.len(), 4);
        assert_eq!(tileset.documents()[0].asset.version, "1.0");
        let root = &tileset.tiles()[0];
        assert_eq!(root.refine, Refine::Add);
        let (lon, lat, h) = degrees(root.bounds.sphere.center);
        assert!((lon + 75.61).abs() < 0.01, "lon {lon}");
        assert!((lat - 40.04).abs() < 0.01, "lat {lat}");
        assert!(h.abs() < 100.0, "height {h}");
        // The region is ~400 m x 700 m x 67 m: the sphere must enclose it but not much more.
        assert!(root.bounds.sphere.radius > 200.0 && root.bounds.sphere.radius < 600.0);
    }

    #[test]
    fn building_transform_places_it_inside_the_root_region() {
        let Some(tileset) = load("cesium_TilesetWithRequestVolume") else {
            return;
        };
        let key = content_named(&tileset, "/building.b3dm").unwrap();
        let tile = tileset.tile(key.tile).unwrap();
        assert_ne!(tile.world_from_tile, DMat4::IDENTITY);
        let (lon, lat, h) = geodetic_from_ecef(tile.bounds.obb.center);
        let BoundingVolume::Region {
            west,
            south,
            east,
            north,
            ..
        } = tileset.tiles()[0].volume
        else {
            panic!("root should be a region");
        };
        assert!(lon > west && lon < east, "lon {lon}");
        assert!(lat > south && lat < north, "lat {lat}");
        assert!(h > -10.0 && h < 100.0, "height {h}");
        // The tile transform scales the 1.87 m unit box by 5: the building is ~9 m wide.
        let width = 2.0 * tile.bounds.obb.half_axes[0].length();
        assert!((width - 18.7).abs() < 0.5, "width {width}");
    }

    #[test]
    fn external_city_tileset_attaches_below_its_tile() {
        let Some(mut tileset) = load("cesium_TilesetWithRequestVolume") else {
            return;
        };
        let key = content_named(&tileset, "city/tileset.json").unwrap();
        let content = tileset.content(key).unwrap().clone();
        assert_eq!(
            content.kind,
            ContentKind::ExternalTileset(LinkState::Pending)
        );
        let json = std::fs::read(content.uri.local_path().unwrap()).unwrap();
        tileset
            .attach_external(key.tile, &json, &content.uri)
            .unwrap();

        assert_eq!(tileset.len(), 4 + 5);
        assert_eq!(
            tileset.content(key).unwrap().kind,
            ContentKind::ExternalTileset(LinkState::Attached)
        );
        let city_root = tileset.tile(key.tile).unwrap().children[0];
        let city = tileset.tile(city_root).unwrap();
        assert_eq!(city.parent, Some(key.tile));
        assert_eq!(city.depth, 2);
        assert_eq!(city.document, 1);
        let names: Vec<String> = city
            .children
            .iter()
            .map(|c| {
                tileset.tile(*c).unwrap().contents[0]
                    .uri
                    .as_str()
                    .to_owned()
            })
            .collect();
        for (name, expected) in names.iter().zip(["ll", "lr", "ur", "ul"]) {
            assert!(
                name.ends_with(&format!("city/{expected}.b3dm")),
                "{name} should be city/{expected}.b3dm"
            );
        }
        // Attaching twice is refused, and leaves the tileset as it was.
        assert!(
            tileset
                .attach_external(key.tile, &json, &content.uri)
                .is_err()
        );
        assert_eq!(tileset.len(), 9);
    }

    #[test]
    fn failed_external_attach_leaves_the_tileset_unchanged() {
        let Some(mut tileset) = load("cesium_TilesetWithRequestVolume") else {
            return;
        };
        let key = content_named(&tileset, "city/tileset.json").unwrap();
        let uri = tileset.content(key).unwrap().uri.clone();
        let evil = br#"{"asset":{"version":"1.0"},"geometricError":1,"root":{"geometricError":1,
            "boundingVolume":{"sphere":[0,0,0,1]},
            "children":[{"geometricError":0,"boundingVolume":{"sphere":[0,0,0,1]},
                         "content":{"uri":"../../secret.b3dm"}}]}}"#;
        let error = tileset.attach_external(key.tile, evil, &uri).unwrap_err();
        assert!(
            error.to_string().contains(
                "content \"../../secret.b3dm\" of tile root.children[0] escapes the tileset root"
            ),
            "{error}"
        );
        assert_eq!(tileset.len(), 4);
        assert!(tileset.tile(key.tile).unwrap().children.is_empty());
        assert_eq!(tileset.documents().len(), 1);
        assert_eq!(
            tileset.content(key).unwrap().kind,
            ContentKind::ExternalTileset(LinkState::Pending)
        );
    }

    #[test]
    fn metadata_granularities_has_four_tiles_of_five_contents() {
        let Some(tileset) = load("cesium_MetadataGranularities") else {
            return;
        };
        let doc = &tileset.documents()[0];
        assert_eq!(doc.asset.version, "1.1");
        assert_eq!(doc.groups.len(), 2);
        assert!(doc.schema.is_some());
        assert_eq!(doc.metadata.as_ref().unwrap()["properties"]["tileCount"], 4);
        let leaves: Vec<&Tile> = tileset.tiles().iter().filter(|t| t.depth == 1).collect();
        assert_eq!(leaves.len(), 4);
        for leaf in &leaves {
            assert_eq!(leaf.contents.len(), 5);
            assert!(leaf.contents.iter().all(|c| c.kind == ContentKind::Model));
            assert_eq!(leaf.contents[0].group, Some(0));
            assert_eq!(leaf.contents[1].group, Some(1));
            assert!(leaf.metadata.is_some());
        }
        assert_eq!(
            leaves[0].contents[0].metadata.as_ref().unwrap()["properties"]["vertices"],
            1032
        );
        assert!(
            leaves[0].contents[0]
                .uri
                .as_str()
                .ends_with("house-3-0.glb")
        );
    }

    #[test]
    fn three_d_bag_box_is_in_zeeland() {
        let Some(tileset) = load("3dbag_tile_128") else {
            return;
        };
        let contents: Vec<&Content> = tileset.tiles().iter().flat_map(|t| &t.contents).collect();
        assert_eq!(contents.len(), 1);
        assert!(contents[0].uri.as_str().ends_with("128.glb"));
        assert_eq!(contents[0].up_axis, UpAxis::Z);
        let key = content_named(&tileset, "128.glb").unwrap();
        let center = tileset.tile(key.tile).unwrap().bounds.obb.center;
        assert!(
            (center - DVec3::new(4_000_524.0, 243_055.0, 4_945_177.0)).length() < 1.0,
            "{center}"
        );
        let (lon, lat, _) = degrees(center);
        assert!(
            (lon - 3.48).abs() < 0.05 && (lat - 51.2).abs() < 0.1,
            "{lon} {lat}"
        );
    }

    #[test]
    fn content_uris_cannot_leave_a_local_root() {
        let base = TileUri::local("/data/ts".into())
            .join("tileset.json")
            .unwrap();
        assert!(!base.is_remote());
        let escape = base.join("../x.b3dm").unwrap_err().to_string();
        assert!(
            escape.contains("escapes the tileset root /data/ts"),
            "{escape}"
        );
        assert_eq!(
            base.join("sub/../a.glb").unwrap().as_str(),
            "/data/ts/a.glb"
        );
        assert_eq!(
            base.join("./b/c%20d.glb").unwrap().as_str(),
            "/data/ts/b/c d.glb"
        );
        for bad in [
            "/etc/passwd",
            "file:///etc/passwd",
            "http://host/x.glb",
            "%2e%2e/x.glb",
            "sub/%2E%2E/%2e%2e/x.glb",
            "a%2f..%2f..%2fx.glb",
            "C:\\Windows\\x.glb",
            "sub\\..\\..\\x.glb",
            "//host/share/x.glb",
            "data:application/octet-stream;base64,AAAA",
            "",
        ] {
            assert!(base.join(bad).is_err(), "{bad:?} should be refused");
        }
        // A nested tileset resolves against its own folder and may climb back to the root.
        let nested = base.join("city/tileset.json").unwrap();
        assert_eq!(
            nested.join("ll.b3dm").unwrap().as_str(),
            "/data/ts/city/ll.b3dm"
        );
        assert_eq!(nested.join("../b.glb").unwrap().as_str(), "/data/ts/b.glb");
        assert!(nested.join("../../b.glb").is_err());
    }

    #[test]
    fn content_uris_cannot_leave_a_remote_root() {
        let base = TileUri::remote("https://Example.com/tiles/tileset.json?token=abc").unwrap();
        assert!(base.is_remote());
        assert_eq!(base.root(), "https://example.com/tiles/");
        assert_eq!(
            base.join("a/b.glb").unwrap().as_str(),
            "https://example.com/tiles/a/b.glb?token=abc"
        );
        assert_eq!(
            base.join("a/b.glb?v=2").unwrap().as_str(),
            "https://example.com/tiles/a/b.glb?v=2"
        );
        assert_eq!(
            base.join("../tiles/c.glb").unwrap().as_str(),
            "https://example.com/tiles/c.glb?token=abc"
        );
        assert!(base.join("https://example.com/tiles/d.glb").is_ok());
        assert!(base.join("/tiles/e.glb").is_ok());
        for bad in [
            "file:///etc/passwd",
            "http://other.host/x",
            "https://example.com/other/x.glb",
            "http://example.com/tiles/x.glb",
            "/other/x.glb",
            "../x.glb",
            "%2e%2e/x.glb",
            "//evil.com/tiles/x.glb",
            "javascript:alert(1)",
        ] {
            assert!(base.join(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(TileUri::remote("ftp://example.com/x.json").is_err());
        assert!(TileUri::remote("https:///x.json").is_err());
    }

    #[test]
    fn escaping_content_names_its_tile() {
        let error = parse_err(
            r#"{"asset":{"version":"1.0"},"geometricError":1,"root":{"geometricError":1,
            "boundingVolume":{"sphere":[0,0,0,1]},"content":{"url":"../x.b3dm"}}}"#,
        );
        assert!(
            error.contains("content \"../x.b3dm\" of tile root escapes the tileset root /data/ts"),
            "{error}"
        );
    }

    #[test]
    fn malformed_tilesets_give_clear_errors() {
        let volume = r#""boundingVolume":{"sphere":[0,0,0,1]}"#;
        let cases = [
            (
                r#"{"asset":{"version":"1.0"},"geometricError":1}"#.to_owned(),
                "\"root\" tile is missing",
            ),
            (
                r#"{"asset":{"version":"1.0"},"geometricError":1,"root":{"geometricError":1,
                "boundingVolume":{"box":[0,0,0,1,0,0,0,1,0,0,0]}}}"#
                    .to_owned(),
                "root.boundingVolume.box: must have 12 numbers, found 11",
            ),
            (
                format!(
                    r#"{{"asset":{{"version":"1.0"}},"geometricError":1,"root":{{"geometricError":1,{volume},
                    "children":[{{"geometricError":"big",{volume}}}]}}}}"#
                ),
                "root.children[0]: \"geometricError\" must be a number, found string \"big\"",
            ),
            (
                format!(r#"{{"asset":{{"version":"1.0"}},"root":{{{volume}}}}}"#),
                "root: \"geometricError\" is missing",
            ),
            (
                format!(
                    r#"{{"asset":{{"version":"1.0"}},"root":{{"geometricError":1,{volume},"refine":"MAYBE"}}}}"#
                ),
                "\"refine\" must be REPLACE or ADD, found \"MAYBE\"",
            ),
            (
                format!(
                    r#"{{"asset":{{"version":"1.0"}},"root":{{"geometricError":1,{volume},"transform":[1,0,0]}}}}"#
                ),
                "root.transform: must have 16 numbers, found 3",
            ),
            (
                r#"{"asset":{"version":"1.0"},"root":{"geometricError":1,"boundingVolume":{}}}"#
                    .to_owned(),
                "root.boundingVolume: needs a box, region or sphere",
            ),
            (r#"{"root":{}}"#.to_owned(), "\"asset\" is missing"),
            ("{\"asset\":".to_owned(), "not valid JSON"),
            ("[]".to_owned(), "must be an object"),
        ];
        for (json, expected) in cases {
            let error = parse_err(&json);
            assert!(
                error.contains(expected),
                "{error:?} should say {expected:?}"
            );
            assert!(
                error.starts_with("/data/ts/tileset.json"),
                "{error:?} should name the file"
            );
        }
    }

    #[test]
    fn refine_is_inherited_and_transforms_accumulate() {
        let json = r#"{"asset":{"version":"1.1"},"geometricError":10,"root":{
            "geometricError":10,"boundingVolume":{"box":[0,0,0,1,0,0,0,1,0,0,0,1]},
            "transform":[1,0,0,0, 0,1,0,0, 0,0,1,0, 100,0,0,1],
            "children":[{"geometricError":5,"refine":"ADD",
                "transform":[2,0,0,0, 0,2,0,0, 0,0,2,0, 0,10,0,1],
                "boundingVolume":{"box":[1,0,0,1,0,0,0,1,0,0,0,1]},
                "children":[{"geometricError":0,"boundingVolume":{"sphere":[0,0,0,1]}}]}]}}"#;
        let base = TileUri::local("/t".into()).join("tileset.json").unwrap();
        let tileset = Tileset::parse(json.as_bytes(), &base).unwrap();
        let tiles = tileset.tiles();
        assert_eq!(tiles[0].refine, Refine::Replace);
        assert_eq!(tiles[1].refine, Refine::Add);
        assert_eq!(tiles[2].refine, Refine::Add);
        // Child box centre (1,0,0): scaled by 2 and moved by (0,10,0), then moved by (100,0,0).
        assert!((tiles[1].bounds.obb.center - DVec3::new(102.0, 10.0, 0.0)).length() < 1e-9);
        assert!((tiles[1].bounds.obb.half_axes[0].length() - 2.0).abs() < 1e-9);
        assert!((tiles[2].bounds.sphere.radius - 2.0).abs() < 1e-9);
        assert_eq!(tiles[2].depth, 2);
    }
}
