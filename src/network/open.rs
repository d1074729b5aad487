//! Opening a network file for the twin (native front end): read the bytes (path or URL),
//! ingest GeoJSON or CSV into the twin's frame, drape on the ground of the loaded point clouds,
//! and sum up what the user should know: ingest issues, unknown statuses, features outside the
//! twin, draping.

use super::drape::{DrapeSettings, drape, place_on_roofs};
use super::model::NetworkLayer;
use super::model::{Network, Status};
use crate::georef::GeoFrame;
use crate::io::ByteSource;
use crate::pointcloud::copc::CopcReader;
use crate::pointcloud::las::LasFile;
use crate::spatial::Aabb;
use crate::terrain::ground::{BUILDING_CLASS, GROUND_CLASS, GroundModel, copc_points, las_points};
use bevy::math::DVec3;
use std::sync::Arc;

/// Points read from the clouds' coarse levels to build the ground model.
pub const GROUND_POINTS: u64 = 4_000_000;
/// Issues listed one by one in a layer's notes (the rest are counted).
const LISTED_ISSUES: usize = 8;

/// Whether an input names a network file: `.geojson`, `.csv`, or a `.json` that is GeoJSON
/// rather than a 3D Tiles tileset (a local file's start is read to tell; a URL is a tileset
/// when its name says `tileset`).
pub fn is_network_input(input: &str) -> bool {
    let lower = input
        .split(['?', '#'])
        .next()
        .unwrap_or(input)
        .to_ascii_lowercase();
    if lower.ends_with(".geojson") || lower.ends_with(".csv") {
        return true;
    }
    if !lower.ends_with(".json") {
        return false;
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return !lower.rsplit('/').next().unwrap_or("").contains("tileset");
    }
    let mut start = vec![0u8; 4096];
    let read = std::fs::File::open(input)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut start))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&start[..read]);
    text.contains("\"Feature") && !text.contains("\"asset\"")
}

/// Where a network goes: the twin's frame, the clouds whose ground drapes it, the twin's
/// extent (to count features outside it). Clones share one [`Ground`].
#[derive(Clone)]
pub struct NetworkTarget {
    pub frame: GeoFrame,
    pub ground: Arc<Ground>,
    pub extent: Option<Aabb>,
    pub drape: DrapeSettings,
}

/// The point clouds a network is draped on, and their [`Surfaces`], read once for every
/// network layer that needs them.
pub struct Ground {
    sources: Vec<Arc<dyn ByteSource>>,
    surfaces: std::sync::OnceLock<Result<Option<Surfaces>, String>>,
}

impl Ground {
    pub fn new(sources: Vec<Arc<dyn ByteSource>>) -> Arc<Self> {
        Arc::new(Self {
            sources,
            surfaces: std::sync::OnceLock::new(),
        })
    }

    /// The surfaces of the sources ([`ground_of`]), built by the first caller; `Ok(None)`
    /// without sources or without ground points.
    pub fn surfaces(&self) -> Result<Option<&Surfaces>, String> {
        if self.sources.is_empty() {
            return Ok(None);
        }
        self.surfaces
            .get_or_init(|| ground_of(&self.sources))
            .as_ref()
            .map(Option::as_ref)
            .map_err(Clone::clone)
    }
}

/// A ground model from the coarse levels of COPC sources (every point of plain LAS/LAZ ones), with cells sized so that the model
/// holds about 4 million cells at most (1 m at best).
pub fn ground_of(sources: &[Arc<dyn ByteSource>]) -> Result<Option<Surfaces>, String> {
    let mut points = Vec::new();
    let per_source = GROUND_POINTS / sources.len().max(1) as u64;
    for source in sources {
        // COPC: its coarse levels; plain LAS/LAZ: every point.
        let read = match CopcReader::open(source.clone()) {
            Ok(mut reader) => copc_points(&mut reader, per_source),
            Err(_) => LasFile::open(source.clone()).and_then(|file| las_points(&file)),
        };
        points.extend(read.map_err(|e| format!("ground model: {e}"))?);
    }
    let (lo, hi) = points
        .iter()
        .filter(|(p, class)| *class == GROUND_CLASS && p.is_finite())
        .fold(
            (DVec3::INFINITY, DVec3::NEG_INFINITY),
            |(lo, hi), (p, _)| (lo.min(*p), hi.max(*p)),
        );
    if !lo.is_finite() {
        return Ok(None);
    }
    let area = (hi.x - lo.x).max(1.0) * (hi.y - lo.y).max(1.0);
    let cell_m = (area / 4.0e6).sqrt().max(1.0);
    let roofs = GroundModel::from_class(points.iter().copied(), cell_m, BUILDING_CLASS, 1);
    // The terrain's DTM, the one ground model the scenarios read too.
    Ok(
        crate::terrain::TerrainModels::from_points(&points, cell_m).map(|models| Surfaces {
            ground: GroundModel::from_raster(&models.dtm),
            roofs,
        }),
    )
}

/// What the point clouds tell about the surface: the ground (class 2) and the roofs (class 6).
pub struct Surfaces {
    pub ground: GroundModel,
    pub roofs: Option<GroundModel>,
}

/// Why a network file could not be opened into the twin. Its text names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The file or URL cannot be read.
    #[error(transparent)]
    Unreadable(#[from] crate::io::SourceError),
    #[error("{name}: a CSV needs a mapping file naming its columns; {mapping}: {source}")]
    NoMapping {
        name: String,
        mapping: String,
        #[source]
        source: std::io::Error,
    },
    /// Not GeoJSON, OFDS or CSV as its mapping says, or in a CRS that cannot be placed.
    #[error(transparent)]
    Ingest(#[from] super::ingest::IngestError),
    /// The ground model of the point clouds could not be read.
    #[error("{0}")]
    Ground(String),
}

/// While callers above still speak in strings: `?` turns the error into its text.
impl From<NetworkError> for String {
    fn from(error: NetworkError) -> Self {
        error.to_string()
    }
}

/// Reads, ingests and drapes `input` (see the module doc). CSV needs its mapping file
/// (`mapping`, else `<stem>.mapping.toml` beside the CSV).
pub fn open_network(
    input: &str,
    target: &NetworkTarget,
    mapping: Option<&std::path::Path>,
) -> Result<NetworkLayer, NetworkError> {
    let bytes = crate::io::open(input).and_then(|s| s.read_all())?;
    let name = crate::io::file_name(input).to_owned();
    let lower = input.to_ascii_lowercase();
    let mut network = if lower.ends_with(".csv") {
        let mapping_path = match mapping {
            Some(path) => path.to_owned(),
            None => super::csv::CsvMapping::sidecar_path(std::path::Path::new(input)),
        };
        let text =
            std::fs::read_to_string(&mapping_path).map_err(|source| NetworkError::NoMapping {
                name: name.clone(),
                mapping: mapping_path.display().to_string(),
                source,
            })?;
        let mapping =
            super::csv::CsvMapping::from_toml(&text, &mapping_path.display().to_string())?;
        super::csv::read_csv_in_frame(&bytes, &name, &mapping, &target.frame)?
    } else {
        super::ingest::read_geojson_in_frame(&bytes, &name, &target.frame)?
    };
    let mut notes = issue_notes(&network);
    if let Some(extent) = &target.extent {
        let outside = outside_extent(&network, extent);
        if outside > 0 {
            notes.push(format!(
                "{outside} feature(s) lie outside the twin's extent (shown anyway)"
            ));
        }
    }
    if !target.ground.sources.is_empty() {
        match target.ground.surfaces().map_err(NetworkError::Ground)? {
            Some(Surfaces { ground, roofs }) => {
                let report = drape(&mut network, ground, &target.drape);
                let on_roofs = roofs
                    .as_ref()
                    .map_or(0, |r| place_on_roofs(&mut network, r));
                if on_roofs > 0 {
                    notes.push(format!(
                        "{on_roofs} building service point(s) placed on their roofs"
                    ));
                }
                notes.push(format!(
                    "draped on a {:.1} m ground model from the LiDAR's class 2 points: {} \
                     sites, {} span vertices ({} underground and {} aerial spans); {} \
                     outside the ground model kept their own height",
                    ground.cell_m(),
                    report.sites_draped,
                    report.vertices_draped,
                    report.underground_spans,
                    report.aerial_spans,
                    report.sites_outside + report.outside
                ));
            }
            None => notes.push(
                "not draped: the point clouds have no ground (class 2) points; heights are \
                 the file's"
                    .into(),
            ),
        }
    }
    Ok(NetworkLayer {
        name,
        network,
        visible: true,
        notes,
    })
}

/// Ingest issues summed up: a count, unknown statuses, then the first few.
fn issue_notes(network: &Network) -> Vec<String> {
    let mut notes = Vec::new();
    let unknown = network
        .sites
        .iter()
        .map(|s| &s.status)
        .chain(network.spans.iter().map(|s| &s.status))
        .filter(|s| matches!(s, Status::Unknown(text) if !text.is_empty()))
        .count();
    if unknown > 0 {
        notes.push(format!(
            "{unknown} feature(s) with a status outside planned/built/lit (shown as unknown)"
        ));
    }
    if !network.issues.is_empty() {
        notes.push(format!(
            "{} problem(s) while reading (the rest loaded):",
            network.issues.len()
        ));
        notes.extend(
            network
                .issues
                .iter()
                .take(LISTED_ISSUES)
                .map(|i| format!("  {i}")),
        );
        if network.issues.len() > LISTED_ISSUES {
            notes.push(format!(
                "  … and {} more",
                network.issues.len() - LISTED_ISSUES
            ));
        }
    }
    notes
}

/// Sites outside `extent` (in plan) and spans with no vertex inside it.
pub fn outside_extent(network: &Network, extent: &Aabb) -> usize {
    let inside = |p: &DVec3| {
        p.x >= extent.min.x && p.x <= extent.max.x && p.y >= extent.min.y && p.y <= extent.max.y
    };
    network
        .sites
        .iter()
        .filter(|s| !inside(&s.position))
        .count()
        + network
            .spans
            .iter()
            .filter(|s| !s.path.iter().any(inside))
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::shared_data;

    fn ign_target() -> Option<NetworkTarget> {
        let tile = shared_data("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz")?;
        let source: Arc<dyn ByteSource> = Arc::new(crate::io::FileSource::open(&tile).unwrap());
        Some(NetworkTarget {
            frame: GeoFrame::projected(2154).unwrap(),
            ground: Ground::new(vec![source]),
            extent: Some(Aabb {
                min: DVec3::new(292_000.0, 6_832_000.0, 43.0),
                max: DVec3::new(293_000.0, 6_833_000.0, 108.0),
            }),
            drape: DrapeSettings::default(),
        })
    }

    #[test]
    fn ign_lines_are_draped_under_the_ground_and_counted_outside_the_tile() {
        let (Some(target), Some(lines)) = (
            ign_target(),
            shared_data("vector/ign_Lignes_3d_0292_6833.geojson"),
        ) else {
            return;
        };
        let layer = open_network(&lines.display().to_string(), &target, None).unwrap();
        assert_eq!(layer.network.spans.len(), 48);
        let outside = outside_extent(&layer.network, target.extent.as_ref().unwrap());
        assert!(outside > 0 && outside < 48, "{outside}");
        let notes = layer.notes.join("\n");
        assert!(
            notes.contains(&format!(
                "{outside} feature(s) lie outside the twin's extent"
            )),
            "{notes}"
        );
        assert!(notes.contains("draped on a 1.0 m ground model"), "{notes}");
        // Inside the tile every vertex left the file's constant 49.99 m for the ground − 0.8 m.
        let inside: Vec<f64> = layer
            .network
            .spans
            .iter()
            .flat_map(|s| &s.path)
            .filter(|p| {
                p.x > 292_010.0 && p.x < 292_990.0 && p.y > 6_832_010.0 && p.y < 6_832_990.0
            })
            .map(|p| p.z)
            .collect();
        assert!(inside.len() > 20, "{} vertices inside", inside.len());
        assert!(
            inside
                .iter()
                .all(|z| (z - 49.99).abs() > 1e-6 && *z > 40.0 && *z < 110.0)
        );
    }

    #[test]
    fn bad_network_files_fail_with_their_name_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let target = NetworkTarget {
            frame: GeoFrame::projected(2154).unwrap(),
            ground: Ground::new(Vec::new()),
            extent: None,
            drape: DrapeSettings::default(),
        };
        let broken = dir.path().join("broken.geojson");
        std::fs::write(&broken, "{\"type\": \"FeatureCollection\", \"features\": [").unwrap();
        let error = open_network(&broken.display().to_string(), &target, None).unwrap_err();
        assert!(matches!(error, NetworkError::Ingest(_)), "{error:?}");
        let error = error.to_string();
        assert!(
            error.contains("broken.geojson") && error.contains("not JSON"),
            "{error}"
        );
        let csv = dir.path().join("sites.csv");
        std::fs::write(&csv, "id;x;y\n1;2;3\n").unwrap();
        let error = open_network(&csv.display().to_string(), &target, None).unwrap_err();
        assert!(matches!(error, NetworkError::NoMapping { .. }), "{error:?}");
        assert!(error.to_string().contains("sites.mapping.toml"), "{error}");
        let missing = open_network("/nonexistent/net.geojson", &target, None).unwrap_err();
        assert!(
            matches!(missing, NetworkError::Unreadable(_)),
            "{missing:?}"
        );
        assert!(missing.to_string().contains("net.geojson"), "{missing}");
    }

    #[test]
    fn an_arcep_style_csv_opens_with_its_sidecar_mapping_and_drapes_on_the_tile() {
        let Some(target) = ign_target() else { return };
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("immeubles.csv");
        std::fs::write(
            &csv,
            "imb_id;x;y;imb_etat;date_mes\n\
             IMB-1;292450,5;6832700;deployé;01/03/2021\n\
             IMB-2;292600;6832500;en cours de déploiement;\n\
             IMB-3;292700;6832600;cassé;2020\n\
             IMB-4;292800;nord;deployé;2020\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("immeubles.mapping.toml"),
            "crs = \"EPSG:2154\"\nkind = \"building\"\n[columns]\nx = \"x\"\ny = \"y\"\n\
             id = \"imb_id\"\nstatus = \"imb_etat\"\ndate = \"date_mes\"\n[status]\n\
             \"deployé\" = \"lit\"\n\"en cours de déploiement\" = \"planned\"\n",
        )
        .unwrap();
        let layer = open_network(&csv.display().to_string(), &target, None).unwrap();
        let sites = &layer.network.sites;
        assert_eq!(sites.len(), 3, "the row without a y is left out");
        assert_eq!(sites[0].id, "IMB-1");
        assert_eq!(sites[0].status, Status::Lit);
        assert_eq!(sites[0].position.x, 292_450.5);
        assert_eq!(
            sites[0].in_service,
            crate::network::model::Day::parse("2021-03-01")
        );
        assert_eq!(sites[1].status, Status::Planned);
        // Draped: on the tile's ground (or a roof), not at the file's missing z of 0.
        assert!(sites.iter().all(|s| s.position.z > 40.0), "{sites:?}");
        let notes = layer.notes.join("\n");
        assert!(
            notes.contains("1 feature(s) with a status outside"),
            "{notes}"
        );
        assert!(notes.contains("line 5"), "{notes}");
    }

    #[test]
    fn network_inputs_are_told_from_tilesets() {
        assert!(is_network_input("a/b/fibre.GeoJSON"));
        assert!(is_network_input("http://x/antennes.csv?v=2"));
        assert!(is_network_input("https://x/routes.json"));
        assert!(!is_network_input("https://x/city/tileset.json"));
        let dir = tempfile::tempdir().unwrap();
        let (geojson, tileset) = (dir.path().join("a.json"), dir.path().join("b.json"));
        std::fs::write(&geojson, r#"{"type": "FeatureCollection", "features": []}"#).unwrap();
        std::fs::write(&tileset, r#"{"asset": {"version": "1.1"}, "root": {}}"#).unwrap();
        assert!(is_network_input(&geojson.display().to_string()));
        assert!(!is_network_input(&tileset.display().to_string()));
        assert!(!is_network_input("scan.copc.laz"));
    }
}
