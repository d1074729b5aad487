//! The network model (pure): sites and spans in the twin CRS, with what reading them left out.

use glam::DVec3;
use serde_json::{Map, Value};

/// What a site is. Recognised names cover French FTTH vocabulary (NRO/PM/PBO), the Open Fibre
/// Data Standard's node types and radio sites; anything else is kept as [`SiteKind::Other`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteKind {
    /// Central office / NRO (nœud de raccordement optique) / OFDS `pop`.
    CentralOffice,
    /// Street cabinet / PM (point de mutualisation).
    Cabinet,
    /// Distribution point / PBO (point de branchement optique).
    DistributionPoint,
    Mast,
    Antenna,
    Building,
    /// An unrecognised kind, as written in the source (empty when the source gave none).
    Other(String),
}

impl SiteKind {
    /// The kind a source name stands for (case and separators ignored).
    pub fn from_name(name: &str) -> Self {
        match squash(name).as_str() {
            "centraloffice" | "co" | "nro" | "pop" | "pointofpresence" | "exchange" => {
                Self::CentralOffice
            }
            "cabinet" | "streetcabinet" | "pm" | "sro" | "pointdemutualisation" => Self::Cabinet,
            "distributionpoint" | "dp" | "pbo" | "pointdebranchementoptique" => {
                Self::DistributionPoint
            }
            "mast" | "tower" | "pylone" | "pylon" => Self::Mast,
            "antenna" | "antenne" => Self::Antenna,
            "building" | "batiment" => Self::Building,
            _ => Self::Other(name.to_owned()),
        }
    }
}

/// How far a site or span has got. OFDS `proposed`/`planned`/`underConstruction` are
/// [`Status::Planned`], `inactive` is [`Status::Built`] (in place, not carrying traffic) and
/// `operational` is [`Status::Lit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Planned,
    Built,
    Lit,
    /// A status this model does not map, as written (empty when the source gave none).
    Unknown(String),
}

impl Status {
    /// The status a source value stands for; `None` when the value is not recognised.
    pub fn from_name(name: &str) -> Option<Self> {
        match squash(name).as_str() {
            "planned" | "proposed" | "underconstruction" | "construction" | "projet" | "etude" => {
                Some(Self::Planned)
            }
            "built" | "inactive" | "installed" | "construit" | "dark" => Some(Self::Built),
            "lit" | "operational" | "active" | "inservice" | "enservice" => Some(Self::Lit),
            // Known to OFDS but outside this model's three stages: kept, not an issue.
            "decommissioned" => Some(Self::Unknown(name.to_owned())),
            _ => None,
        }
    }
}

/// Lower-case ASCII letters and digits only, so `Under construction` matches
/// `underConstruction`.
fn squash(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A network node: an office, cabinet, distribution point, mast, antenna or building.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    pub id: String,
    pub kind: SiteKind,
    pub status: Status,
    /// Twin CRS (x east, y north, z up, metres).
    pub position: DVec3,
    /// Every property of the source feature, unchanged.
    pub properties: Map<String, Value>,
}

/// A link between sites: a fibre span, a duct, a road used as a route.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub id: String,
    pub status: Status,
    /// Number of fibres (OFDS `fibreCount`), when the source says.
    pub capacity_fibres: Option<u32>,
    /// Vertices in the twin CRS, at least two.
    pub path: Vec<DVec3>,
    /// Every property of the source feature, unchanged.
    pub properties: Map<String, Value>,
}

/// Something a reader could not take in as it was; the rest of the file still loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestIssue {
    /// Index of the feature in the file's `features` array; `None` for the file as a whole
    /// (e.g. an unknown `crs` member).
    pub feature: Option<usize>,
    pub reason: String,
}

impl std::fmt::Display for IngestIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.feature {
            Some(index) => write!(f, "feature {index}: {}", self.reason),
            None => write!(f, "{}", self.reason),
        }
    }
}

/// Sites and spans of one or more sources, in the twin CRS.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Network {
    pub sites: Vec<Site>,
    pub spans: Vec<Span>,
    /// What was skipped or only partly understood, in reading order.
    pub issues: Vec<IngestIssue>,
}

impl Network {
    /// Axis-aligned bounds (min, max) of every site and span vertex; `None` when empty.
    pub fn bounds(&self) -> Option<(DVec3, DVec3)> {
        let points = self
            .sites
            .iter()
            .map(|s| s.position)
            .chain(self.spans.iter().flat_map(|s| s.path.iter().copied()));
        points.fold(None, |acc, p| match acc {
            None => Some((p, p)),
            Some((lo, hi)) => Some((lo.min(p), hi.max(p))),
        })
    }

    /// Total number of span vertices.
    pub fn span_vertex_count(&self) -> usize {
        self.spans.iter().map(|s| s.path.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ofds_and_french_names_map_to_kinds_and_statuses() {
        assert_eq!(SiteKind::from_name("pop"), SiteKind::CentralOffice);
        assert_eq!(SiteKind::from_name("NRO"), SiteKind::CentralOffice);
        assert_eq!(SiteKind::from_name("PM"), SiteKind::Cabinet);
        assert_eq!(SiteKind::from_name("PBO"), SiteKind::DistributionPoint);
        assert_eq!(
            SiteKind::from_name("manhole"),
            SiteKind::Other("manhole".into())
        );
        assert_eq!(Status::from_name("operational"), Some(Status::Lit));
        assert_eq!(
            Status::from_name("underConstruction"),
            Some(Status::Planned)
        );
        assert_eq!(Status::from_name("inactive"), Some(Status::Built));
        assert_eq!(Status::from_name("sideways"), None);
    }

    #[test]
    fn bounds_cover_sites_and_span_vertices() {
        let mut net = Network::default();
        assert_eq!(net.bounds(), None);
        net.sites.push(Site {
            id: "a".into(),
            kind: SiteKind::Mast,
            status: Status::Lit,
            position: DVec3::new(1.0, 5.0, 0.0),
            properties: Map::new(),
        });
        net.spans.push(Span {
            id: "s".into(),
            status: Status::Planned,
            capacity_fibres: Some(12),
            path: vec![DVec3::new(-1.0, 2.0, 3.0), DVec3::new(4.0, 2.0, -3.0)],
            properties: Map::new(),
        });
        assert_eq!(
            net.bounds(),
            Some((DVec3::new(-1.0, 2.0, -3.0), DVec3::new(4.0, 5.0, 3.0)))
        );
        assert_eq!(net.span_vertex_count(), 2);
    }
}
