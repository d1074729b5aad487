//! Buildings of 3D Tiles tilesets and glTF models in the scenarios' terrain: each input is
//! placed in the twin as the viewer places it, its most detailed contents are rasterised on
//! the terrain's grid ([`crate::terrain::mesh`]) and raised into the DSM, and each cell keeps
//! the feature it came from, so that buildings carry their use.

use super::buildings::{CellFeatures, use_of};
use crate::buildings::bake::BakedContent;
use crate::buildings::contents::for_each_finest_content;
use crate::buildings::open::open_buildings;
use crate::georef::{Crs, GeoFrame, VerticalDatum};
use crate::terrain::TerrainModels;
use crate::terrain::mesh::MeshSurface;
use bevy::math::DVec3;

/// A face this far above the ground makes a building cell: lower ones are floors, slabs and
/// terraces, which the ground already accounts for.
pub const MIN_BUILDING_HEIGHT_M: f32 = 1.0;

/// Most tiles a tileset may grow to while its external tilesets and subtrees are followed.
const MAX_TILES: usize = 200_000;

/// What the building inputs brought to the terrain.
#[derive(Debug, Default)]
pub struct Raised {
    pub features: CellFeatures,
    /// Per input: what was rasterised, and anything it could not read.
    pub notes: Vec<String>,
}

/// Rasterises the building `inputs` (tilesets, models) into `models`: Earth-centred ones
/// through the twin's `crs` (its heights in the datum its point clouds use), local ones at
/// the terrain's centre on its lowest ground, as `jumeau view` places them beside the clouds.
/// An input that cannot be opened or placed, or none of whose contents can be read, is an
/// error naming it; contents that fail among others that load are named in the notes.
pub fn raise_buildings(
    models: &mut TerrainModels,
    crs: Option<&Crs>,
    inputs: &[String],
) -> Result<Raised, (String, String)> {
    let mut raised = Raised::default();
    if inputs.is_empty() {
        return Ok(raised);
    }
    let frame = match crs.and_then(Crs::horizontal_code) {
        Some(code) => Some(
            GeoFrame::projected(code)
                .map_err(|e| (format!("EPSG:{code}"), e.to_string()))?
                .with_vertical(VerticalDatum::of_crs(crs).0),
        ),
        None => None,
    };
    let grid = models.grid();
    let (lo, hi) = grid.extent();
    let lowest = models.dtm.range().map_or(0.0, |r| f64::from(r.0));
    let centre = ((lo + hi) / 2.0).extend(lowest);
    let mut surface = MeshSurface::new(grid);
    let uses = &mut raised.features.uses;
    for input in inputs {
        let fail = |reason: String| (input.clone(), reason);
        let opened = open_buildings(input).map_err(|e| fail(e.to_string()))?;
        let (mut layer, warning) = opened
            .into_layer(frame.as_ref(), None, Some(centre))
            .map_err(|e| fail(e.to_string()))?;
        raised.notes.extend(warning);
        let walk = for_each_finest_content(&mut layer, MAX_TILES, &mut |baked| {
            add_content(&mut surface, uses, baked);
        });
        if walk.contents == 0 && !walk.failures.is_empty() {
            return Err(fail(walk.failures.join("; ")));
        }
        raised.notes.push(format!(
            "{input}: {} content(s), {} triangles in the surface model",
            walk.contents, walk.triangles
        ));
        raised.notes.extend(walk.failures);
    }
    raised.features.cell = models.raise_to(&surface, MIN_BUILDING_HEIGHT_M);
    Ok(raised)
}

/// Rasterises one content: its features get labels from `uses.len()` on (their use beside
/// each), and its triangles without a feature one more label.
pub fn add_content(
    surface: &mut MeshSurface,
    uses: &mut Vec<Option<String>>,
    baked: &BakedContent,
) {
    let base = uses.len() as u32;
    let ids = baked
        .parts
        .iter()
        .filter_map(|p| p.feature_ids.as_ref())
        .flatten()
        .filter(|&&id| id != u32::MAX)
        .max()
        .map_or(0, |&m| m as usize + 1);
    let count = baked.properties.as_ref().map_or(ids, |t| t.count.max(ids));
    uses.extend((0..count).map(|f| baked.properties.as_ref().and_then(|t| use_of(t, f))));
    uses.push(None);
    let unlabelled = base + count as u32;
    for part in &baked.parts {
        let at = |i: u32| {
            part.positions
                .get(i as usize)
                .map(|p| baked.origin + DVec3::from_array(p.map(f64::from)))
        };
        for tri in part.indices.chunks_exact(3) {
            let (Some(a), Some(b), Some(c)) = (at(tri[0]), at(tri[1]), at(tri[2])) else {
                continue;
            };
            let label = part
                .feature_ids
                .as_ref()
                .and_then(|ids| ids.get(tri[0] as usize))
                .filter(|&&id| (id as usize) < count)
                .map_or(unlabelled, |&id| base + id);
            surface.add_triangle([a, b, c], label);
        }
    }
}
