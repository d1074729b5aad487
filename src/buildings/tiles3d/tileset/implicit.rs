//! 3D Tiles 1.1 implicit tiling: `.subtree` files, Morton-order availability, and the tiles a
//! loaded subtree adds to the arena (with their subdivided volumes and content URIs).
//!
//! # How it works
//! A tile with `implicitTiling` is the root of a quadtree or octree whose tiles are not listed.
//! Each subtree file covers `subtreeLevels` levels below its root tile and says, bit by bit,
//! which tiles exist, which have content and which child subtrees exist. Bits are numbered level
//! by level; within a level by the Morton code of the tile's coordinates relative to the subtree
//! root. [`Tileset::attach_subtree`] turns the available tiles into arena tiles and leaves a
//! placeholder tile, with a pending subtree, for every available child subtree.

use bevy::math::DMat4;
use serde_json::Value;

use super::{
    BoundingVolume, LinkState, Refine, Tile, TileId, TileUri, Tileset, TilesetError, make_content,
};

/// What was wrong in a `.subtree` file.
#[derive(Debug, thiserror::Error)]
pub enum SubtreeError {
    #[error("{len} bytes is too short for a subtree header (24 bytes)")]
    TooShort { len: usize },
    #[error("unsupported subtree version {version} (expected 1)")]
    Version { version: u32 },
    #[error(
        "header says {json} JSON + {binary} binary bytes but the file has {available} after the header"
    )]
    ChunkLengths {
        json: u64,
        binary: u64,
        available: usize,
    },
    #[error("not a subtree: neither the \"subt\" magic nor JSON")]
    Magic,
    #[error("subtree JSON is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    #[error("buffer {index} lives in external file \"{uri}\", which is not supported")]
    ExternalBuffer { index: usize, uri: String },
    #[error("{what} has {have} bytes but {levels} levels need {need_bits} bits")]
    BitstreamTooShort {
        what: String,
        have: usize,
        need_bits: u64,
        levels: u32,
    },
    #[error(
        "the subtree has {found} contentAvailability entries but the tileset has {expected} content templates"
    )]
    ContentCount { found: usize, expected: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubdivisionScheme {
    Quadtree,
    Octree,
}

impl SubdivisionScheme {
    /// Children per tile.
    pub fn branching(self) -> u64 {
        match self {
            SubdivisionScheme::Quadtree => 4,
            SubdivisionScheme::Octree => 8,
        }
    }

    /// Bits of Morton code per level.
    pub fn bits_per_level(self) -> u32 {
        match self {
            SubdivisionScheme::Quadtree => 2,
            SubdivisionScheme::Octree => 3,
        }
    }

    /// Largest `subtreeLevels` accepted: keeps availability bitstreams under 2^31 bits.
    pub fn max_subtree_levels(self) -> u32 {
        match self {
            SubdivisionScheme::Quadtree => 15,
            SubdivisionScheme::Octree => 10,
        }
    }
}

/// Global coordinates of an implicit tile: level below the implicit root and x/y(/z) on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TileCoord {
    pub level: u32,
    pub x: u32,
    pub y: u32,
    pub z: u32,
}

impl TileCoord {
    /// Child number `child` (Morton order: bit 0 = x, bit 1 = y, bit 2 = z).
    pub fn child(self, child: u64) -> TileCoord {
        TileCoord {
            level: self.level + 1,
            x: 2 * self.x + (child & 1) as u32,
            y: 2 * self.y + ((child >> 1) & 1) as u32,
            z: 2 * self.z + ((child >> 2) & 1) as u32,
        }
    }
}

/// Interleaves the bits of x and y (x in the even bits).
pub fn morton2(x: u32, y: u32) -> u64 {
    spread2(x) | (spread2(y) << 1)
}

/// Inverse of [`morton2`].
pub fn demorton2(m: u64) -> (u32, u32) {
    (compact2(m), compact2(m >> 1))
}

/// Interleaves the low 21 bits of x, y and z (x in bits 0, 3, 6...).
pub fn morton3(x: u32, y: u32, z: u32) -> u64 {
    spread3(x) | (spread3(y) << 1) | (spread3(z) << 2)
}

/// Inverse of [`morton3`].
pub fn demorton3(m: u64) -> (u32, u32, u32) {
    (compact3(m), compact3(m >> 1), compact3(m >> 2))
}

fn spread2(v: u32) -> u64 {
    let mut x = v as u64;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

fn compact2(m: u64) -> u32 {
    let mut x = m & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    ((x | (x >> 16)) & 0xFFFF_FFFF) as u32
}

fn spread3(v: u32) -> u64 {
    let mut x = (v as u64) & 0x1F_FFFF;
    x = (x | (x << 32)) & 0x001F_0000_0000_FFFF;
    x = (x | (x << 16)) & 0x001F_0000_FF00_00FF;
    x = (x | (x << 8)) & 0x100F_00F0_0F00_F00F;
    x = (x | (x << 4)) & 0x10C3_0C30_C30C_30C3;
    (x | (x << 2)) & 0x1249_2492_4924_9249
}

fn compact3(m: u64) -> u32 {
    let mut x = m & 0x1249_2492_4924_9249;
    x = (x | (x >> 2)) & 0x10C3_0C30_C30C_30C3;
    x = (x | (x >> 4)) & 0x100F_00F0_0F00_F00F;
    x = (x | (x >> 8)) & 0x001F_0000_FF00_00FF;
    x = (x | (x >> 16)) & 0x001F_0000_0000_FFFF;
    ((x | (x >> 32)) & 0x1F_FFFF) as u32
}

/// Bit index of the first tile of relative `level` in a subtree's tile availability:
/// (N^level - 1) / (N - 1).
pub fn level_offset(scheme: SubdivisionScheme, level: u32) -> u64 {
    let n = scheme.branching();
    (n.pow(level) - 1) / (n - 1)
}

/// One content template of an implicit tileset (`{level}`, `{x}`, `{y}`, `{z}`).
#[derive(Clone, Debug)]
pub struct ContentTemplate {
    pub uri: String,
    pub metadata: Option<Value>,
    pub group: Option<u32>,
}

/// `implicitTiling` of one tile, with what is needed to make its descendants.
#[derive(Clone, Debug)]
pub struct ImplicitTiling {
    pub scheme: SubdivisionScheme,
    pub subtree_levels: u32,
    pub available_levels: u32,
    /// `subtrees.uri` template.
    pub subtree_uri: String,
    /// One per `contentAvailability` entry of the subtrees.
    pub contents: Vec<ContentTemplate>,
    /// The implicit root's volume in its tile frame (box or region).
    pub root_volume: BoundingVolume,
    pub world_from_tile: DMat4,
    pub root_geometric_error: f64,
    pub refine: Refine,
    /// Document the templates resolve against.
    pub document: u32,
    pub base: TileUri,
    pub root_tile: TileId,
    pub root_depth: u32,
}

/// Substitutes `{level}`, `{x}`, `{y}` and `{z}`.
pub fn expand_template(template: &str, coord: TileCoord) -> String {
    template
        .replace("{level}", &coord.level.to_string())
        .replace("{x}", &coord.x.to_string())
        .replace("{y}", &coord.y.to_string())
        .replace("{z}", &coord.z.to_string())
}

impl ImplicitTiling {
    pub fn subtree_uri_of(&self, coord: TileCoord) -> Result<TileUri, TilesetError> {
        self.base.join(&expand_template(&self.subtree_uri, coord))
    }

    /// Volume of the tile at `coord`: the root volume cut in 2^level along x and y (and z or
    /// height for octrees).
    pub fn volume_of(&self, coord: TileCoord) -> BoundingVolume {
        let cells = (1u64 << coord.level) as f64;
        let octree = self.scheme == SubdivisionScheme::Octree;
        match self.root_volume {
            BoundingVolume::Box { center, half_axes } => {
                let t = |i: u32| (2.0 * i as f64 + 1.0) / cells - 1.0;
                let z_cells = if octree { cells } else { 1.0 };
                let tz = if octree { t(coord.z) } else { 0.0 };
                BoundingVolume::Box {
                    center: center
                        + half_axes[0] * t(coord.x)
                        + half_axes[1] * t(coord.y)
                        + half_axes[2] * tz,
                    half_axes: [
                        half_axes[0] / cells,
                        half_axes[1] / cells,
                        half_axes[2] / z_cells,
                    ],
                }
            }
            BoundingVolume::Region {
                west,
                south,
                east,
                north,
                min_height,
                max_height,
            } => {
                let east = if east < west {
                    east + std::f64::consts::TAU
                } else {
                    east
                };
                let lerp = |a: f64, b: f64, i: u32, n: f64| a + (b - a) * i as f64 / n;
                let wrap = |lon: f64| {
                    if lon > std::f64::consts::PI {
                        lon - std::f64::consts::TAU
                    } else {
                        lon
                    }
                };
                let (min_h, max_h) = if octree {
                    (
                        lerp(min_height, max_height, coord.z, cells),
                        lerp(min_height, max_height, coord.z + 1, cells),
                    )
                } else {
                    (min_height, max_height)
                };
                BoundingVolume::Region {
                    west: wrap(lerp(west, east, coord.x, cells)),
                    south: lerp(south, north, coord.y, cells),
                    east: wrap(lerp(west, east, coord.x + 1, cells)),
                    north: lerp(south, north, coord.y + 1, cells),
                    min_height: min_h,
                    max_height: max_h,
                }
            }
            // Refused when parsing; keep the root volume rather than panic.
            BoundingVolume::Sphere { .. } => self.root_volume,
        }
    }

    fn geometric_error_of(&self, coord: TileCoord) -> f64 {
        self.root_geometric_error / (1u64 << coord.level) as f64
    }
}

/// Where a tile sits in an implicit tileset.
#[derive(Clone, Debug, PartialEq)]
pub struct ImplicitTile {
    /// Index into [`Tileset::implicit_tilings`].
    pub tiling: u32,
    pub coord: TileCoord,
    /// For subtree roots: the subtree file and whether it has been attached.
    pub subtree: Option<(TileUri, LinkState)>,
}

/// One availability bitstream, or a constant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Availability {
    Constant(bool),
    /// Bit `i` is bit `i % 8` of byte `i / 8`.
    Bits(Vec<u8>),
}

impl Availability {
    pub fn is_available(&self, index: u64) -> bool {
        match self {
            Availability::Constant(c) => *c,
            Availability::Bits(bytes) => usize::try_from(index / 8)
                .ok()
                .and_then(|i| bytes.get(i))
                .is_some_and(|b| (b >> (index % 8)) & 1 == 1),
        }
    }

    fn check_len(&self, what: &str, need_bits: u64, levels: u32) -> Result<(), SubtreeError> {
        if let Availability::Bits(bytes) = self
            && (bytes.len() as u64) * 8 < need_bits
        {
            return Err(SubtreeError::BitstreamTooShort {
                what: what.to_owned(),
                have: bytes.len(),
                need_bits,
                levels,
            });
        }
        Ok(())
    }
}

/// A parsed `.subtree` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Subtree {
    pub tile_availability: Availability,
    /// One per content template.
    pub content_availability: Vec<Availability>,
    pub child_subtree_availability: Availability,
    /// `subtreeMetadata`, kept as JSON (property tables are not decoded).
    pub subtree_metadata: Option<Value>,
}

impl Subtree {
    /// Parses a binary (`subt` magic) or JSON-only subtree file.
    pub fn parse(bytes: &[u8]) -> Result<Subtree, SubtreeError> {
        let (json, binary): (&[u8], &[u8]) = if bytes.starts_with(b"subt") {
            if bytes.len() < 24 {
                return Err(SubtreeError::TooShort { len: bytes.len() });
            }
            let word = |at: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&bytes[at..at + 8]);
                u64::from_le_bytes(b)
            };
            let version = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
            if version != 1 {
                return Err(SubtreeError::Version { version });
            }
            let (json_len, binary_len) = (word(8), word(16));
            let available = bytes.len() - 24;
            let bad = || SubtreeError::ChunkLengths {
                json: json_len,
                binary: binary_len,
                available,
            };
            let json_end = usize::try_from(json_len)
                .ok()
                .and_then(|l| 24usize.checked_add(l))
                .filter(|&e| e <= bytes.len())
                .ok_or_else(bad)?;
            let binary_end = usize::try_from(binary_len)
                .ok()
                .and_then(|l| json_end.checked_add(l))
                .filter(|&e| e <= bytes.len())
                .ok_or_else(bad)?;
            (&bytes[24..json_end], &bytes[json_end..binary_end])
        } else if bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{')
        {
            (bytes, &[])
        } else {
            return Err(SubtreeError::Magic);
        };
        let value: Value = serde_json::from_slice(trim_padding(json))?;
        let field = |name: &str, message: String| SubtreeError::Field {
            field: name.to_owned(),
            message,
        };

        let buffers: Vec<&[u8]> = match value.get("buffers") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    if let Some(uri) = b.get("uri").and_then(Value::as_str) {
                        return Err(SubtreeError::ExternalBuffer {
                            index: i,
                            uri: uri.to_owned(),
                        });
                    }
                    let len = index_field(b, "byteLength", &format!("buffers[{i}]"))?.ok_or_else(
                        || field(&format!("buffers[{i}]"), "\"byteLength\" is missing".into()),
                    )?;
                    binary.get(..len).ok_or_else(|| {
                        field(
                            &format!("buffers[{i}].byteLength"),
                            format!("{len} bytes but the binary chunk has {}", binary.len()),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(field("buffers", "must be an array".into())),
        };
        let views: Vec<&[u8]> = match value.get("bufferViews") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let name = format!("bufferViews[{i}]");
                    let buffer = index_field(v, "buffer", &name)?
                        .ok_or_else(|| field(&name, "\"buffer\" is missing".into()))?;
                    let offset = index_field(v, "byteOffset", &name)?.unwrap_or(0);
                    let len = index_field(v, "byteLength", &name)?
                        .ok_or_else(|| field(&name, "\"byteLength\" is missing".into()))?;
                    let data = buffers.get(buffer).ok_or_else(|| {
                        field(&name, format!("buffer {buffer} does not exist"))
                    })?;
                    offset
                        .checked_add(len)
                        .and_then(|end| data.get(offset..end))
                        .ok_or_else(|| {
                            field(
                                &name,
                                format!(
                                    "bytes {offset}..{offset}+{len} lie outside buffer {buffer} ({} bytes)",
                                    data.len()
                                ),
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(field("bufferViews", "must be an array".into())),
        };
        let availability = |v: &Value, name: &str| -> Result<Availability, SubtreeError> {
            if let Some(c) = v.get("constant") {
                return match c.as_u64() {
                    Some(0) => Ok(Availability::Constant(false)),
                    Some(1) => Ok(Availability::Constant(true)),
                    _ => Err(field(
                        name,
                        format!("\"constant\" must be 0 or 1, found {c}"),
                    )),
                };
            }
            // "bufferView" is the name used by the 1.0-era extension.
            let key = if v.get("bitstream").is_some() {
                "bitstream"
            } else {
                "bufferView"
            };
            let view = index_field(v, key, name)?
                .ok_or_else(|| field(name, "needs \"bitstream\" or \"constant\"".into()))?;
            let data = views
                .get(view)
                .ok_or_else(|| field(name, format!("bufferView {view} does not exist")))?;
            Ok(Availability::Bits(data.to_vec()))
        };
        let tile_availability = availability(
            value
                .get("tileAvailability")
                .ok_or_else(|| field("tileAvailability", "is missing".into()))?,
            "tileAvailability",
        )?;
        let content_availability = match value.get("contentAvailability") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| availability(v, &format!("contentAvailability[{i}]")))
                .collect::<Result<_, _>>()?,
            // The 1.0-era extension had a single object.
            Some(v @ Value::Object(_)) => vec![availability(v, "contentAvailability")?],
            Some(_) => return Err(field("contentAvailability", "must be an array".into())),
        };
        let child_subtree_availability = availability(
            value
                .get("childSubtreeAvailability")
                .ok_or_else(|| field("childSubtreeAvailability", "is missing".into()))?,
            "childSubtreeAvailability",
        )?;
        Ok(Subtree {
            tile_availability,
            content_availability,
            child_subtree_availability,
            subtree_metadata: value.get("subtreeMetadata").cloned(),
        })
    }

    /// Checks the bitstreams are long enough for `levels` levels of `scheme`.
    pub fn validate(
        &self,
        scheme: SubdivisionScheme,
        levels: u32,
        content_templates: usize,
    ) -> Result<(), SubtreeError> {
        let tiles = level_offset(scheme, levels);
        self.tile_availability
            .check_len("tileAvailability", tiles, levels)?;
        for (i, a) in self.content_availability.iter().enumerate() {
            a.check_len(&format!("contentAvailability[{i}]"), tiles, levels)?;
        }
        self.child_subtree_availability.check_len(
            "childSubtreeAvailability",
            scheme.branching().pow(levels),
            levels,
        )?;
        if self.content_availability.len() != content_templates {
            return Err(SubtreeError::ContentCount {
                found: self.content_availability.len(),
                expected: content_templates,
            });
        }
        Ok(())
    }
}

/// JSON chunks are padded with spaces or NULs to 8 bytes.
fn trim_padding(json: &[u8]) -> &[u8] {
    let end = json
        .iter()
        .rposition(|&b| b != 0 && b != b' ')
        .map_or(0, |i| i + 1);
    &json[..end]
}

fn index_field(v: &Value, key: &str, owner: &str) -> Result<Option<usize>, SubtreeError> {
    match v.get(key) {
        None => Ok(None),
        Some(n) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| SubtreeError::Field {
                field: format!("{owner}.{key}"),
                message: format!("must be a non-negative integer, found {n}"),
            }),
    }
}

impl Tileset {
    /// Expands the subtree file `bytes` below `tile` (a subtree root whose subtree is pending):
    /// adds its available tiles with their contents, and placeholders for child subtrees.
    pub fn attach_subtree(&mut self, tile: TileId, bytes: &[u8]) -> Result<(), TilesetError> {
        let count = self.tiles.len();
        let t = self
            .tiles
            .get(tile.index())
            .ok_or(TilesetError::NoSuchTile {
                tile: tile.0,
                count,
            })?;
        let Some(ImplicitTile {
            tiling,
            coord,
            subtree: Some((uri, LinkState::Pending)),
        }) = t.implicit.clone()
        else {
            return Err(TilesetError::NothingToAttach {
                tile: tile.0,
                what: "subtree",
            });
        };
        let Some(implicit) = self.implicit.get(tiling as usize).cloned() else {
            return Err(TilesetError::NothingToAttach {
                tile: tile.0,
                what: "subtree",
            });
        };
        let wrap = |error| TilesetError::Subtree {
            uri: uri.as_str().to_owned(),
            error,
        };
        let subtree = Subtree::parse(bytes).map_err(wrap)?;
        subtree
            .validate(
                implicit.scheme,
                implicit.subtree_levels,
                implicit.contents.len(),
            )
            .map_err(wrap)?;

        let tiles_before = self.tiles.len();
        let expanded = if subtree.tile_availability.is_available(0) {
            let mut expander = Expander {
                tileset: self,
                implicit: &implicit,
                subtree: &subtree,
                tiling,
            };
            expander.expand(tile, coord, 0, 0)
        } else {
            Ok(())
        };
        if let Err(error) = expanded {
            self.tiles.truncate(tiles_before);
            let first = tiles_before as u32;
            self.tiles[tile.index()].children.retain(|c| c.0 < first);
            self.tiles[tile.index()].contents.clear();
            return Err(error);
        }
        if let Some(ImplicitTile {
            subtree: Some((_, state)),
            ..
        }) = &mut self.tiles[tile.index()].implicit
        {
            *state = LinkState::Attached;
        }
        Ok(())
    }
}

struct Expander<'a> {
    tileset: &'a mut Tileset,
    implicit: &'a ImplicitTiling,
    subtree: &'a Subtree,
    tiling: u32,
}

impl Expander<'_> {
    /// Fills in tile `id` (available, at `relative_level` of the subtree with Morton index
    /// `morton`) and recurses into its available children.
    fn expand(
        &mut self,
        id: TileId,
        coord: TileCoord,
        relative_level: u32,
        morton: u64,
    ) -> Result<(), TilesetError> {
        let scheme = self.implicit.scheme;
        let bit = level_offset(scheme, relative_level) + morton;
        let document = &self.tileset.documents[self.implicit.document as usize];
        let mut contents = Vec::new();
        for (template, availability) in self
            .implicit
            .contents
            .iter()
            .zip(&self.subtree.content_availability)
        {
            if availability.is_available(bit) {
                let uri = self
                    .implicit
                    .base
                    .join(&expand_template(&template.uri, coord))?;
                contents.push(make_content(
                    document,
                    uri,
                    template.metadata.clone(),
                    template.group,
                    None,
                ));
            }
        }
        self.tileset.tiles[id.index()].contents = contents;
        if coord.level + 1 >= self.implicit.available_levels {
            return Ok(());
        }
        let last_level = relative_level + 1 == self.implicit.subtree_levels;
        for child in 0..scheme.branching() {
            let child_coord = coord.child(child);
            let child_morton = (morton << scheme.bits_per_level()) | child;
            if last_level {
                if self
                    .subtree
                    .child_subtree_availability
                    .is_available(child_morton)
                {
                    let uri = self.implicit.subtree_uri_of(child_coord)?;
                    let tile = self.make_tile(id, child_coord, Some((uri, LinkState::Pending)));
                    self.tileset.push_tile(tile)?;
                }
            } else {
                let child_bit = level_offset(scheme, relative_level + 1) + child_morton;
                if self.subtree.tile_availability.is_available(child_bit) {
                    let tile = self.make_tile(id, child_coord, None);
                    let child_id = self.tileset.push_tile(tile)?;
                    self.expand(child_id, child_coord, relative_level + 1, child_morton)?;
                }
            }
        }
        Ok(())
    }

    fn make_tile(
        &self,
        parent: TileId,
        coord: TileCoord,
        subtree: Option<(TileUri, LinkState)>,
    ) -> Tile {
        let volume = self.implicit.volume_of(coord);
        Tile {
            parent: Some(parent),
            children: Vec::new(),
            depth: self.implicit.root_depth + coord.level,
            world_from_tile: self.implicit.world_from_tile,
            volume,
            bounds: volume.bounds(&self.implicit.world_from_tile),
            geometric_error: self.implicit.geometric_error_of(coord),
            refine: self.implicit.refine,
            contents: Vec::new(),
            request_volume: None,
            metadata: None,
            document: self.implicit.document,
            implicit: Some(ImplicitTile {
                tiling: self.tiling,
                coord,
                subtree,
            }),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const TILESET: &str = r#"{
        "asset": {"version": "1.1"},
        "geometricError": 200,
        "root": {
            "boundingVolume": {"box": [0, 0, 0, 100, 0, 0, 0, 100, 0, 0, 0, 10]},
            "geometricError": 100,
            "refine": "REPLACE",
            "content": {"uri": "content/{level}/{x}/{y}.glb"},
            "implicitTiling": {
                "subdivisionScheme": "QUADTREE",
                "subtreeLevels": SUBTREE_LEVELS,
                "availableLevels": AVAILABLE_LEVELS,
                "subtrees": {"uri": "subtrees/{level}/{x}/{y}.subtree"}
            }
        }
    }"#;

    pub(crate) fn implicit_tileset(subtree_levels: u32, available_levels: u32) -> Tileset {
        let json = TILESET
            .replace("SUBTREE_LEVELS", &subtree_levels.to_string())
            .replace("AVAILABLE_LEVELS", &available_levels.to_string());
        let base = TileUri::local("/data/implicit".into())
            .join("tileset.json")
            .unwrap();
        Tileset::parse(json.as_bytes(), &base).unwrap()
    }

    /// A binary subtree file: "subt", version 1, JSON and binary lengths, padded chunks.
    pub(crate) fn subtree_file(json: &str, binary: &[u8]) -> Vec<u8> {
        let mut json = json.as_bytes().to_vec();
        while !json.len().is_multiple_of(8) {
            json.push(b' ');
        }
        let mut out = b"subt".to_vec();
        out.extend(1u32.to_le_bytes());
        out.extend((json.len() as u64).to_le_bytes());
        out.extend((binary.len() as u64).to_le_bytes());
        out.extend(json);
        out.extend(binary);
        out
    }

    /// Three levels: the root; level 1 without tile (0, 1); level 2 with (0, 0), (1, 1) under
    /// the first child and all four under (1, 1). Every tile but the root has content.
    pub(crate) fn three_level_subtree() -> Vec<u8> {
        // Tile bits 0, 1, 2, 4 | 5, 8 | 17..20; content bits the same without bit 0.
        let mut binary = vec![0u8; 16];
        binary[..3].copy_from_slice(&[0b0011_0111, 0b0000_0001, 0b0001_1110]);
        binary[8..11].copy_from_slice(&[0b0011_0110, 0b0000_0001, 0b0001_1110]);
        let json = r#"{"buffers":[{"byteLength":16}],
            "bufferViews":[{"buffer":0,"byteOffset":0,"byteLength":3},
                           {"buffer":0,"byteOffset":8,"byteLength":3}],
            "tileAvailability":{"bitstream":0,"availableCount":10},
            "contentAvailability":[{"bitstream":1,"availableCount":9}],
            "childSubtreeAvailability":{"constant":0}}"#;
        subtree_file(json, &binary)
    }

    pub(crate) fn coords(tileset: &Tileset) -> Vec<(u32, u32, u32)> {
        tileset
            .tiles()
            .iter()
            .map(|t| {
                let c = t.implicit.as_ref().unwrap().coord;
                (c.level, c.x, c.y)
            })
            .collect()
    }

    #[test]
    fn morton_codes_interleave_x_first() {
        assert_eq!(morton2(1, 0), 1);
        assert_eq!(morton2(0, 1), 2);
        assert_eq!(morton2(2, 0), 4);
        assert_eq!(morton2(3, 5), 39);
        assert_eq!(morton3(1, 1, 1), 7);
        assert_eq!(morton3(2, 0, 0), 8);
        assert_eq!(morton3(0, 0, 2), 32);
        for (x, y, z) in [(0, 0, 0), (12345, 678, 90), (0x1F_FFFF, 3, 0x10_0000)] {
            assert_eq!(demorton2(morton2(x, y)), (x, y));
            assert_eq!(demorton3(morton3(x, y, z)), (x, y, z));
        }
        assert_eq!(demorton2(morton2(u32::MAX, 7)), (u32::MAX, 7));
        assert_eq!(
            (0..4)
                .map(|l| level_offset(SubdivisionScheme::Quadtree, l))
                .collect::<Vec<_>>(),
            [0, 1, 5, 21]
        );
        assert_eq!(
            (0..4)
                .map(|l| level_offset(SubdivisionScheme::Octree, l))
                .collect::<Vec<_>>(),
            [0, 1, 9, 73]
        );
    }

    #[test]
    fn region_and_octree_subdivision() {
        let tiling = ImplicitTiling {
            scheme: SubdivisionScheme::Octree,
            subtree_levels: 2,
            available_levels: 3,
            subtree_uri: String::new(),
            contents: Vec::new(),
            root_volume: BoundingVolume::Region {
                west: -1.0,
                south: 0.0,
                east: 1.0,
                north: 0.8,
                min_height: 0.0,
                max_height: 100.0,
            },
            world_from_tile: DMat4::IDENTITY,
            root_geometric_error: 64.0,
            refine: Refine::Add,
            document: 0,
            base: TileUri::local("/x".into()),
            root_tile: TileId(0),
            root_depth: 0,
        };
        let coord = TileCoord {
            level: 2,
            x: 3,
            y: 1,
            z: 2,
        };
        assert_eq!(
            tiling.volume_of(coord),
            BoundingVolume::Region {
                west: 0.5,
                south: 0.2,
                east: 1.0,
                north: 0.4,
                min_height: 50.0,
                max_height: 75.0,
            }
        );
        assert_eq!(
            coord.child(5),
            TileCoord {
                level: 3,
                x: 7,
                y: 2,
                z: 5
            }
        );
    }

    #[test]
    fn malformed_subtrees_are_refused() {
        let mut tileset = implicit_tileset(3, 3);
        let root = tileset.root();
        let short = subtree_file(
            r#"{"buffers":[{"byteLength":1}],"bufferViews":[{"buffer":0,"byteLength":1}],
                "tileAvailability":{"bitstream":0},"contentAvailability":[{"constant":0}],
                "childSubtreeAvailability":{"constant":0}}"#,
            &[1],
        );
        let error = tileset
            .attach_subtree(root, &short)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("tileAvailability has 1 bytes but 3 levels need 21 bits"),
            "{error}"
        );
        let cases: [(&[u8], &str); 5] = [
            (b"subt\x02\0\0\0", "too short"),
            (b"nope", "not a subtree"),
            (
                b"subt\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                "version 2",
            ),
            (
                b"subt\x01\0\0\0\xff\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                "header says 255 JSON",
            ),
            (
                br#"{"tileAvailability":{"constant":1}}"#,
                "childSubtreeAvailability: is missing",
            ),
        ];
        for (bytes, expected) in cases {
            let error = tileset.attach_subtree(root, bytes).unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{error:?} should say {expected:?}"
            );
            assert!(
                error.starts_with("subtree /data/implicit/subtrees/0/0/0.subtree"),
                "{error}"
            );
        }
        let external = r#"{"buffers":[{"uri":"a.bin","byteLength":8}],
            "tileAvailability":{"constant":1},"childSubtreeAvailability":{"constant":0}}"#;
        let error = tileset
            .attach_subtree(root, external.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.contains("external file \"a.bin\""), "{error}");
        assert_eq!(tileset.len(), 1, "failed attaches add nothing");
        tileset
            .attach_subtree(root, &three_level_subtree())
            .unwrap();
    }

    #[test]
    fn implicit_templates_cannot_escape() {
        let json = TILESET
            .replace("SUBTREE_LEVELS", "2")
            .replace("AVAILABLE_LEVELS", "2")
            .replace("content/{level}", "../{level}");
        let base = TileUri::local("/data/implicit".into())
            .join("tileset.json")
            .unwrap();
        let error = Tileset::parse(json.as_bytes(), &base)
            .unwrap_err()
            .to_string();
        assert!(error.contains("escapes the tileset root"), "{error}");
    }
}
