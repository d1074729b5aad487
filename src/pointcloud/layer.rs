//! A point-cloud layer as a model: its COPC sources (opened now or tiles of a virtual point
//! cloud opened when the view reaches them), its bounds, and the colouring its data calls for.
//! Pure: the streaming systems ([`super::streaming`]) drive it.

use super::copc::{CopcReader, NodeDecoder};
use super::fetch::SourceId;
use super::las::LasError;
use super::octree::VoxelKey;
use super::style::ColorMode;
use crate::io::ByteSource;
use crate::spatial::{Aabb as CrsAabb, Failure, retry_delay};
use bevy::math::DVec3;
use std::collections::HashMap;
use std::sync::Arc;

/// What the points of a node say about colouring them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ColorEvidence {
    /// The points carry colours that are not all the same (all zero is no colour at all).
    pub rgb_varies: bool,
    /// More than one classification code.
    pub classes_vary: bool,
}

/// The colouring a user expects of points: their colours when they vary, else their classes
/// when several, else elevation; with the reason, for the panel.
pub fn choose_color(evidence: ColorEvidence) -> (ColorMode, &'static str) {
    if evidence.rgb_varies {
        (ColorMode::Rgb, "the points carry colours")
    } else if evidence.classes_vary {
        (
            ColorMode::Classification,
            "no colours in the points, several classes",
        )
    } else {
        (
            ColorMode::Elevation,
            "no colours and a single class in the points",
        )
    }
}

/// Names a node of a source of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub source: SourceId,
    pub key: VoxelKey,
}

/// One COPC file of a layer, opened for streaming.
pub struct StreamSource {
    pub name: String,
    pub reader: CopcReader<Arc<dyn ByteSource>>,
    pub(crate) bytes: Arc<dyn ByteSource>,
    pub(crate) decoder: Arc<NodeDecoder>,
    pub(crate) failures: HashMap<VoxelKey, Failure>,
}

impl StreamSource {
    pub fn open(name: &str, bytes: Arc<dyn ByteSource>) -> Result<Self, LasError> {
        Self::from_reader(name, CopcReader::open(bytes)?)
    }

    /// Streams from a reader already opened.
    pub fn from_reader(
        name: &str,
        reader: CopcReader<Arc<dyn ByteSource>>,
    ) -> Result<Self, LasError> {
        let bytes = reader.file.source.clone();
        let decoder = Arc::new(reader.decoder()?);
        Ok(Self {
            name: name.to_owned(),
            reader,
            bytes,
            decoder,
            failures: HashMap::new(),
        })
    }

    /// The same data moved by `d` in the CRS: header offset and bounds, octree cube. Points
    /// decode `d` away and stream as any other source; the benchmarks lay copies of one
    /// generated dataset side by side with it.
    pub fn translated(mut self, d: DVec3) -> Result<Self, LasError> {
        let reader = &mut self.reader;
        let header = &mut reader.file.header;
        for (a, v) in d.to_array().into_iter().enumerate() {
            header.offset[a] += v;
            header.min[a] += v;
            header.max[a] += v;
        }
        reader.info.cube.center += d;
        reader.hierarchy.cube.center += d;
        self.decoder = Arc::new(reader.decoder()?);
        Ok(self)
    }

    /// The data bounds from the header, in the CRS.
    pub fn bounds(&self) -> CrsAabb {
        let h = &self.reader.file.header;
        CrsAabb {
            min: DVec3::from(h.min),
            max: DVec3::from(h.max),
        }
    }

    /// Notes that `key` failed (it is asked for again after a back-off); returns the message
    /// for the panel and the log, naming the source and the node.
    pub(crate) fn record_failure(&mut self, key: VoxelKey, error: String) -> String {
        let failure = Failure::record(&mut self.failures, key, error);
        format!(
            "{}: node {key} failed (attempt {}, retried in {} s): {}",
            self.name,
            failure.attempts,
            retry_delay(failure.attempts).as_secs(),
            failure.error
        )
    }
}

/// A layer: several sources (tiles) shown and styled together.
pub struct Layer {
    pub name: String,
    pub visible: bool,
    pub opacity: f32,
    pub sources: Vec<StreamSource>,
    /// Tiles known by their bounds and point count only (from a VPC): each is opened (header,
    /// root hierarchy page) when the view reaches it, and joins `sources`.
    pub tiles: Vec<LazyTile>,
}

/// A tile of a layer that is not opened yet.
#[derive(Debug, Clone)]
pub struct LazyTile {
    pub name: String,
    /// Path or URL of the COPC file.
    pub href: String,
    pub bounds: CrsAabb,
    pub point_count: u64,
    /// Its CRS as the VPC gives it.
    pub crs: Option<crate::georef::Crs>,
    pub state: TileState,
}

/// Where a [`LazyTile`] stands.
#[derive(Debug, Clone)]
pub enum TileState {
    /// Not asked for yet (out of view, or too small on screen).
    Waiting,
    /// Opened: it is `sources[index]` of its layer.
    Open(usize),
    /// Its opening failed; asked for again after a back-off.
    Failed(Failure),
}

impl Layer {
    pub fn new(name: impl Into<String>, sources: Vec<StreamSource>) -> Self {
        Self {
            name: name.into(),
            visible: true,
            opacity: 1.0,
            sources,
            tiles: Vec::new(),
        }
    }

    /// A layer of tiles opened as the view reaches them (a VPC's), and `sources` open already.
    pub fn with_tiles(
        name: impl Into<String>,
        sources: Vec<StreamSource>,
        tiles: Vec<LazyTile>,
    ) -> Self {
        Self {
            tiles,
            ..Self::new(name, sources)
        }
    }

    pub(crate) fn waiting_tiles(&self) -> impl Iterator<Item = &LazyTile> {
        self.tiles
            .iter()
            .filter(|t| !matches!(t.state, TileState::Open(_)))
    }

    pub fn bounds(&self) -> Option<CrsAabb> {
        self.sources
            .iter()
            .map(StreamSource::bounds)
            .chain(self.waiting_tiles().map(|t| t.bounds))
            .reduce(|a, b| a.union(&b))
    }

    /// The CRS of the layer's points: its first open source's, else its first tile's.
    pub fn crs(&self) -> Option<crate::georef::Crs> {
        self.sources
            .iter()
            .find_map(|s| crate::georef::crs_from_vlrs(&s.reader.file.vlrs))
            .or_else(|| self.tiles.iter().find_map(|t| t.crs.clone()))
    }

    pub fn total_points(&self) -> u64 {
        self.sources
            .iter()
            .map(|s| s.reader.file.header.point_count)
            .chain(self.waiting_tiles().map(|t| t.point_count))
            .sum()
    }
}

/// Opens one lazy tile off the main thread.
pub(crate) struct OpenTile {
    pub(crate) layer: usize,
    pub(crate) tile: usize,
    pub(crate) name: String,
    pub(crate) href: String,
}

impl crate::jobs::Task for OpenTile {
    type Key = (usize, usize);
    type Output = (usize, usize, Result<StreamSource, String>);

    fn key(&self) -> Self::Key {
        (self.layer, self.tile)
    }

    fn run(self) -> Self::Output {
        let opened = crate::io::open(&self.href)
            .map_err(|e| e.to_string())
            .and_then(|bytes| StreamSource::open(&self.name, bytes).map_err(|e| e.to_string()));
        (self.layer, self.tile, opened)
    }
}

/// Bounds of all `layers`, in the CRS.
pub fn layers_bounds(layers: &[Layer]) -> Option<CrsAabb> {
    layers
        .iter()
        .filter_map(Layer::bounds)
        .reduce(|a, b| a.union(&b))
}

/// The bytes behind every source of `layers` (what networks drape on: the clouds' ground).
pub fn layers_sources(layers: &[Layer]) -> Vec<Arc<dyn ByteSource>> {
    layers
        .iter()
        .flat_map(|l| &l.sources)
        .map(|s| s.reader.file.source.clone())
        .collect()
}
