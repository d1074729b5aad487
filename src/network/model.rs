//! The network model (pure): sites and spans in the twin CRS, with what reading them left out.

use bevy::math::DVec3;
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
            "building" | "batiment" | "immeuble" | "imb" => Self::Building,
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

/// A calendar day, counted from 1970-01-01 (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

impl Day {
    /// The day of a date written `YYYY-MM-DD`, `YYYY-MM` (the 1st), `YYYY` (1 January),
    /// `DD/MM/YYYY` (French order) or an ISO date-time (its date part); `None` otherwise.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let date = text.split(['T', ' ']).next().unwrap_or(text);
        let numbers: Vec<&str> = date.split(['-', '/']).collect();
        let number = |s: &str| -> Option<i32> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let (y, m, d) = match numbers.as_slice() {
            [y] if y.len() == 4 => (number(y)?, 1, 1),
            [y, m] if y.len() == 4 => (number(y)?, number(m)?, 1),
            [y, m, d] if y.len() == 4 => (number(y)?, number(m)?, number(d)?),
            [d, m, y] if y.len() == 4 => (number(y)?, number(m)?, number(d)?),
            _ => return None,
        };
        Self::from_ymd(y, m, d)
    }

    /// The day of a year, month (1–12) and day of month; `None` for an impossible date.
    pub fn from_ymd(year: i32, month: i32, day: i32) -> Option<Self> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let lengths = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if !(1..=12).contains(&month) || day < 1 || day > lengths[(month - 1) as usize] {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Self(era * 146_097 + doe - 719_468))
    }

    /// (year, month, day of month).
    pub fn ymd(self) -> (i32, i32, i32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i32::from(month <= 2);
        (year, month, day)
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// A network node: an office, cabinet, distribution point, mast, antenna or building.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    pub id: String,
    pub kind: SiteKind,
    pub status: Status,
    /// Twin CRS (x east, y north, z up, metres).
    pub position: DVec3,
    /// Who runs it (`operator`, `operateur`, OFDS `physicalInfrastructureProvider.name`).
    pub operator: Option<String>,
    /// When it was (or is planned to be) put in service, as a [`Day`].
    pub in_service: Option<Day>,
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
    /// Who runs it (see [`Site::operator`]).
    pub operator: Option<String>,
    /// When it was (or is planned to be) put in service.
    pub in_service: Option<Day>,
    /// Every property of the source feature, unchanged.
    pub properties: Map<String, Value>,
}

/// Something a reader could not take in as it was; the rest of the file still loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestIssue {
    pub at: IssueAt,
    pub reason: String,
}

/// Where in its source an [`IngestIssue`] lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueAt {
    /// The file as a whole (e.g. an unknown GeoJSON `crs` member).
    File,
    /// Index of a feature in a GeoJSON file's `features` array.
    Feature(usize),
    /// A line of a text file, from 1 (a CSV header is line 1).
    Line(usize),
}

impl std::fmt::Display for IngestIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            IssueAt::File => write!(f, "{}", self.reason),
            IssueAt::Feature(index) => write!(f, "feature {index}: {}", self.reason),
            IssueAt::Line(line) => write!(f, "line {line}: {}", self.reason),
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
    fn days_parse_in_iso_and_french_order_and_print_back() {
        assert_eq!(Day::parse("1970-01-01"), Some(Day(0)));
        assert_eq!(Day::parse("2000-03-01"), Some(Day(11_017)));
        assert_eq!(Day::parse("01/03/2000"), Day::parse("2000-03-01"));
        assert_eq!(Day::parse("2024-06"), Day::parse("2024-06-01"));
        assert_eq!(Day::parse("2024"), Day::parse("2024-01-01"));
        assert_eq!(Day::parse("2023-05-17T10:00:00Z"), Day::parse("2023-05-17"));
        assert_eq!(Day::parse("2023-02-29"), None);
        assert_eq!(Day::parse("soon"), None);
        assert_eq!(Day::parse("1969-12-31"), Some(Day(-1)));
        for text in ["2024-02-29", "1999-12-31", "2100-03-01", "1900-02-28"] {
            assert_eq!(Day::parse(text).unwrap().to_string(), text);
        }
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
            operator: None,
            in_service: None,
            properties: Map::new(),
        });
        net.spans.push(Span {
            id: "s".into(),
            status: Status::Planned,
            capacity_fibres: Some(12),
            path: vec![DVec3::new(-1.0, 2.0, 3.0), DVec3::new(4.0, 2.0, -3.0)],
            operator: None,
            in_service: None,
            properties: Map::new(),
        });
        assert_eq!(
            net.bounds(),
            Some((DVec3::new(-1.0, 2.0, -3.0), DVec3::new(4.0, 5.0, 3.0)))
        );
        assert_eq!(net.span_vertex_count(), 2);
    }
}

/// One network layer: a file (or the demo), ingested and draped.
#[derive(Debug, Clone)]
pub struct NetworkLayer {
    pub name: String,
    pub network: Network,
    pub visible: bool,
    /// Things the user should know about this layer (ingest issues summarised, draping).
    pub notes: Vec<String>,
}

/// Reads a layer; runs on a worker thread.
pub type LoadLayer = Box<dyn FnOnce() -> Result<NetworkLayer, String> + Send>;
