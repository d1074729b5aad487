//! The demo town's telecom network (an FTTH tree from one central office through street
//! cabinets and distribution points to every building, and three radio masts) as an RFC 7946
//! GeoJSON FeatureCollection that the viewer reads like any other network file.
//!
//! # How it works
//! Everything stands on the town's street grid ([`crate::demo`]): intersection (i, j) is where
//! the street centre lines x = 80 i + 6 and y = 80 j + 6 cross (local metres from
//! [`DEMO_ORIGIN_L93`]), for every such line inside the town. Block (i, j), north-east of
//! intersection (i, j), belongs to zone (⌊(i + 2) / 4⌋, ⌊(j + 2) / 4⌋): 4 × 4 blocks around
//! intersection (4a, 4b), where the zone's cabinet stands (clamped into the town, or moved to
//! the zone's nearest intersection clear of the river). The central office takes the free
//! intersection nearest the town centre; cabinets are ranked by distance from it into four
//! build phases, which give the status and in-service date of everything their zone holds.
//!
//! A feeder runs from the office along the office's street row, then up or down the cabinet's
//! street column. Each intersection's east and north street segments are distribution spans of
//! its block's zone, so every segment is covered once. Street stretches over the water are
//! aerial (on a bridge): feeders are cut into sections there, so that only those are.
//!
//! Positions go Lambert-93 → ECEF → WGS84 longitude/latitude with 9 decimals (about 0.1 mm),
//! without z: the viewer drapes the network on the scanned ground.

#[cfg(not(target_arch = "wasm32"))]
use std::path::{Path, PathBuf};

use bevy::math::DVec3;
use serde_json::{Map, Value, json};

use crate::demo::buildings::demo_buildings;
use crate::demo::{
    BLOCK_M, DEMO_ORIGIN_L93, RIVER_HALF_WIDTH_M, STREET_M, hash2, river_distance, side_m,
};
use crate::georef::{GeoFrame, geodetic_from_ecef};

/// Who runs the fibre network.
const FIBRE_OPERATOR: &str = "Jumeau Fibre";
const NRO_ID: &str = "NRO-1";
const NRO_IN_SERVICE: &str = "2019-03-01";
/// Blocks along each side of a cabinet's zone.
const ZONE_BLOCKS: i64 = 4;
const FEEDER_FIBRES: u32 = 144;
const DISTRIBUTION_FIBRES: u32 = 24;
/// Share of distribution spans on poles rather than in ducts.
const AERIAL_SHARE: f64 = 0.2;
/// `hash2` salts, apart from those of the scan (1–13).
const AERIAL_SALT: u64 = 0x4A55_4D45_4155_0001;
const MAST_SALT: u64 = 0x4A55_4D45_4155_0002;
/// Sites keep at least half a street from the water's edge.
const RIVER_CLEARANCE_M: f64 = STREET_M / 2.0;
/// Step at which a street segment is checked against the river.
const RIVER_STEP_M: f64 = 0.5;

/// A build phase: what a cabinet's zone (cabinet, feeder, spans, points, buildings) has reached
/// by 2026-11-29, and when it was or will be put in service.
struct Phase {
    status: &'static str,
    in_service: &'static str,
}

/// Phases by rank of the cabinet's distance from the central office (quartiles).
const PHASES: [Phase; 4] = [
    Phase {
        status: "lit",
        in_service: "2020-09-01",
    },
    Phase {
        status: "lit",
        in_service: "2022-03-01",
    },
    Phase {
        status: "built",
        in_service: "2025-10-01",
    },
    Phase {
        status: "planned",
        in_service: "2027-06-01",
    },
];

/// Radio masts: operator, in-service date and where wanted, as fractions of the town's side
/// (each takes the nearest free intersection).
const MASTS: [(&str, &str, [f64; 2]); 3] = [
    ("Orange", "2016-04-01", [0.25, 0.75]),
    ("SFR", "2017-09-01", [0.75, 0.7]),
    ("Bouygues Telecom", "2018-11-01", [0.5, 0.2]),
];
const MAST_HEIGHT_M: f64 = 30.0;
const ANTENNA_HEIGHT_M: f64 = 28.0;
const SECTORS: u32 = 3;
const ANTENNA_BEAMWIDTH_DEG: f64 = 65.0;
const ANTENNA_TILT_DEG: f64 = 4.0;
const ANTENNA_BAND: &str = "n78";
const ANTENNA_POWER_DBW: f64 = 30.0;
/// 3.5 GHz (n78) 5G opened in France at the end of 2020.
const ANTENNA_IN_SERVICE: &str = "2021-06-01";

/// A street intersection: (column i, row j).
type Node = (i64, i64);

/// Local metres of street centre line `k` (x of column k, y of row k).
fn centre_line_m(k: i64) -> f64 {
    k as f64 * BLOCK_M + STREET_M / 2.0
}

fn node_m((i, j): Node) -> [f64; 2] {
    [centre_line_m(i), centre_line_m(j)]
}

/// The zone index of block (or intersection) index `k` along one axis.
fn zone_of(k: i64) -> i64 {
    (k + ZONE_BLOCKS / 2).div_euclid(ZONE_BLOCKS)
}

fn distance2(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// Whether a site may stand at `p`: on dry land, half a street from the water.
fn clear_of_river(p: [f64; 2]) -> bool {
    river_distance(p[0], p[1]) >= RIVER_HALF_WIDTH_M + RIVER_CLEARANCE_M
}

/// Whether the straight street stretch from `a` to `b` passes over the water.
fn over_river(a: [f64; 2], b: [f64; 2]) -> bool {
    let steps = (distance2(a, b).sqrt() / RIVER_STEP_M).ceil().max(1.0) as usize;
    (0..=steps).any(|s| {
        let t = s as f64 / steps as f64;
        river_distance(a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])) < RIVER_HALF_WIDTH_M
    })
}

/// A street cabinet and the zone it serves.
struct Cabinet {
    node: Node,
    zone: Node,
    phase: usize,
    id: String,
}

/// Where the network's sites stand on the street grid.
struct Layout {
    /// Index of the last street centre line inside the town (the same along x and y).
    last: i64,
    nro: Node,
    /// In zone order (row by row); a zone wholly in the river has none.
    cabinets: Vec<Cabinet>,
    /// (operator, in-service date, intersection) of each mast that found a free intersection.
    masts: Vec<(&'static str, &'static str, Node)>,
}

impl Layout {
    fn of(points: u64) -> Self {
        let side = side_m(points);
        let last = ((side - STREET_M / 2.0) / BLOCK_M).floor().max(0.0) as i64;
        let dry: Vec<Node> = (0..=last)
            .flat_map(|j| (0..=last).map(move |i| (i, j)))
            .filter(|n| clear_of_river(node_m(*n)))
            .collect();

        let mut cabinets = Vec::new();
        for zone_j in 0..=zone_of(last) {
            for zone_i in 0..=zone_of(last) {
                let wanted = (
                    (zone_i * ZONE_BLOCKS).min(last),
                    (zone_j * ZONE_BLOCKS).min(last),
                );
                let in_zone = dry
                    .iter()
                    .copied()
                    .filter(|n| zone_of(n.0) == zone_i && zone_of(n.1) == zone_j);
                if let Some(node) = nearest(in_zone, node_m(wanted)) {
                    cabinets.push(Cabinet {
                        node,
                        zone: (zone_i, zone_j),
                        phase: 0,
                        id: format!("PM-{:02}-{:02}", node.0, node.1),
                    });
                }
            }
        }

        let cabinet_nodes: Vec<Node> = cabinets.iter().map(|c| c.node).collect();
        let has_cabinet = |n: &Node| cabinet_nodes.contains(n);
        let centre = [side / 2.0, side / 2.0];
        let free = dry.iter().copied().filter(|n| !has_cabinet(n));
        // A town too small for both shares the cabinet's intersection.
        let nro = nearest(free, centre)
            .or_else(|| nearest(dry.iter().copied(), centre))
            .unwrap_or((0, 0));

        let mut ranked: Vec<usize> = (0..cabinets.len()).collect();
        let from_nro = by_distance(node_m(nro));
        ranked.sort_by(|&a, &b| from_nro(&cabinets[a].node, &cabinets[b].node));
        let count = cabinets.len();
        for (rank, index) in ranked.into_iter().enumerate() {
            cabinets[index].phase = rank * PHASES.len() / count;
        }

        let mut masts: Vec<(&str, &str, Node)> = Vec::new();
        for (operator, in_service, at) in MASTS {
            let free = dry
                .iter()
                .copied()
                .filter(|n| *n != nro && !has_cabinet(n) && masts.iter().all(|m| m.2 != *n));
            if let Some(node) = nearest(free, [at[0] * side, at[1] * side]) {
                masts.push((operator, in_service, node));
            }
        }
        Self {
            last,
            nro,
            cabinets,
            masts,
        }
    }

    /// The cabinet serving the block (or intersection) `node`.
    fn cabinet_of(&self, node: Node) -> Option<&Cabinet> {
        let zone = (zone_of(node.0), zone_of(node.1));
        self.cabinets.iter().find(|c| c.zone == zone)
    }
}

/// Orders intersections by distance from `to`, ties by row then column.
fn by_distance(to: [f64; 2]) -> impl Fn(&Node, &Node) -> std::cmp::Ordering {
    move |a, b| {
        distance2(node_m(*a), to)
            .total_cmp(&distance2(node_m(*b), to))
            .then((a.1, a.0).cmp(&(b.1, b.0)))
    }
}

/// The intersection of `nodes` nearest `to`.
fn nearest(nodes: impl Iterator<Item = Node>, to: [f64; 2]) -> Option<Node> {
    nodes.min_by(by_distance(to))
}

/// The route of a feeder: along `from`'s row to `to`'s column, then along that column, with a
/// vertex at every intersection passed.
fn feeder_route(from: Node, to: Node) -> Vec<Node> {
    let mut route = vec![from];
    let (mut i, mut j) = from;
    while i != to.0 {
        i += (to.0 - i).signum();
        route.push((i, j));
    }
    while j != to.1 {
        j += (to.1 - j).signum();
        route.push((i, j));
    }
    route
}

/// A route cut where it goes onto or off a bridge: (over the river, its intersections).
fn river_sections(route: &[Node]) -> Vec<(bool, &[Node])> {
    let aerial: Vec<bool> = route
        .windows(2)
        .map(|w| over_river(node_m(w[0]), node_m(w[1])))
        .collect();
    let mut sections = Vec::new();
    let mut start = 0;
    for k in 1..=aerial.len() {
        if k == aerial.len() || aerial[k] != aerial[start] {
            sections.push((aerial[start], &route[start..=k]));
            start = k;
        }
    }
    sections
}

fn deployment(aerial: bool) -> &'static str {
    if aerial { "aerial" } else { "underground" }
}

fn round9(degrees: f64) -> f64 {
    (degrees * 1e9).round() / 1e9
}

/// Writes features in WGS84 longitude/latitude from the town's local metres.
struct Features {
    frame: GeoFrame,
    features: Vec<Value>,
}

impl Features {
    fn lon_lat(&self, local: [f64; 2]) -> Result<Value, String> {
        let crs = DVec3::new(
            DEMO_ORIGIN_L93[0] + local[0],
            DEMO_ORIGIN_L93[1] + local[1],
            0.0,
        );
        let (lon, lat, _) = geodetic_from_ecef(self.frame.ecef_from_crs(crs)?);
        Ok(json!([round9(lon.to_degrees()), round9(lat.to_degrees())]))
    }

    fn point(&mut self, at: [f64; 2], properties: Value) -> Result<(), String> {
        let coordinates = self.lon_lat(at)?;
        self.features.push(json!({
            "type": "Feature",
            "properties": properties,
            "geometry": { "type": "Point", "coordinates": coordinates },
        }));
        Ok(())
    }

    /// A span through intersections `route`, its length added to its properties.
    fn span(&mut self, route: &[Node], mut properties: Value) -> Result<(), String> {
        let coordinates = route
            .iter()
            .map(|n| self.lon_lat(node_m(*n)))
            .collect::<Result<Vec<_>, _>>()?;
        let length_m: f64 = route
            .windows(2)
            .map(|w| distance2(node_m(w[0]), node_m(w[1])).sqrt())
            .sum();
        if let Value::Object(p) = &mut properties {
            p.insert("length_m".into(), json!(length_m));
        }
        self.features.push(json!({
            "type": "Feature",
            "properties": properties,
            "geometry": { "type": "LineString", "coordinates": coordinates },
        }));
        Ok(())
    }
}

/// The demo town of `points` points' network as a GeoJSON FeatureCollection (WGS84 lon/lat, no
/// z): sites (`nro`, `pm`, `pbo`, `mast`, `antenna`, `building`) then spans (feeders, then
/// distribution), each with `id`, `kind`, `status` and `in_service`.
pub fn demo_network_geojson(points: u64) -> Value {
    // Lambert-93 is in the built-in CRS table and the town lies well inside its domain.
    demo_network(points).expect("the demo town projects to WGS84")
}

fn demo_network(points: u64) -> Result<Value, String> {
    let layout = Layout::of(points);
    let mut out = Features {
        frame: crate::demo::demo_frame()?,
        features: Vec::new(),
    };
    out.point(
        node_m(layout.nro),
        json!({
            "id": NRO_ID,
            "kind": "nro",
            "status": "lit",
            "operator": FIBRE_OPERATOR,
            "in_service": NRO_IN_SERVICE,
        }),
    )?;
    for cabinet in &layout.cabinets {
        let phase = &PHASES[cabinet.phase];
        out.point(
            node_m(cabinet.node),
            json!({
                "id": cabinet.id,
                "kind": "pm",
                "status": phase.status,
                "operator": FIBRE_OPERATOR,
                "in_service": phase.in_service,
                "phase": cabinet.phase,
                "nro": NRO_ID,
            }),
        )?;
    }
    for j in 0..=layout.last {
        for i in 0..=layout.last {
            let node = (i, j);
            let Some(cabinet) = layout.cabinet_of(node) else {
                continue;
            };
            if node == layout.nro || node == cabinet.node || !clear_of_river(node_m(node)) {
                continue;
            }
            let phase = &PHASES[cabinet.phase];
            out.point(
                node_m(node),
                json!({
                    "id": format!("PBO-{i:02}-{j:02}"),
                    "kind": "pbo",
                    "status": phase.status,
                    "operator": FIBRE_OPERATOR,
                    "in_service": phase.in_service,
                    "pm": cabinet.id,
                }),
            )?;
        }
    }
    for (m, &(operator, in_service, node)) in layout.masts.iter().enumerate() {
        let mast_id = format!("MAST-{}", m + 1);
        out.point(
            node_m(node),
            json!({
                "id": mast_id,
                "kind": "mast",
                "status": "lit",
                "operator": operator,
                "in_service": in_service,
                "height_m": MAST_HEIGHT_M,
            }),
        )?;
        let rotation_deg = (hash2(node.0, node.1, MAST_SALT) * 120.0).floor();
        for s in 0..SECTORS {
            out.point(
                node_m(node),
                json!({
                    "id": format!("ANT-{}-{}", m + 1, s + 1),
                    "kind": "antenna",
                    "status": "lit",
                    "operator": operator,
                    "in_service": ANTENNA_IN_SERVICE,
                    "mast": mast_id,
                    "height_m": ANTENNA_HEIGHT_M,
                    "azimuth_deg": (rotation_deg + f64::from(s) * 360.0 / f64::from(SECTORS)) % 360.0,
                    "beamwidth_deg": ANTENNA_BEAMWIDTH_DEG,
                    "tilt_deg": ANTENNA_TILT_DEG,
                    "band": ANTENNA_BAND,
                    "power_dbw": ANTENNA_POWER_DBW,
                }),
            )?;
        }
    }
    for building in demo_buildings(points) {
        let centre = [
            (building.footprint_min[0] + building.footprint_max[0]) / 2.0,
            (building.footprint_min[1] + building.footprint_max[1]) / 2.0,
        ];
        let mut properties = Map::new();
        properties.insert("id".into(), building.id.clone().into());
        properties.insert("kind".into(), "building".into());
        match layout.cabinet_of((building.block[0], building.block[1])) {
            Some(cabinet) => {
                let phase = &PHASES[cabinet.phase];
                properties.insert("status".into(), phase.status.into());
                properties.insert("in_service".into(), phase.in_service.into());
                properties.insert("pm".into(), cabinet.id.clone().into());
            }
            None => {
                properties.insert("status".into(), "planned".into());
            }
        }
        out.point(centre, Value::Object(properties))?;
    }
    for cabinet in &layout.cabinets {
        let phase = &PHASES[cabinet.phase];
        let route = feeder_route(layout.nro, cabinet.node);
        if route.len() < 2 {
            continue;
        }
        let (i, j) = cabinet.node;
        for (k, (aerial, section)) in river_sections(&route).into_iter().enumerate() {
            out.span(
                section,
                json!({
                    "id": format!("SPAN-F-{i:02}-{j:02}-{}", k + 1),
                    "kind": "feeder",
                    "status": phase.status,
                    "operator": FIBRE_OPERATOR,
                    "in_service": phase.in_service,
                    "fibreCount": FEEDER_FIBRES,
                    "deployment": deployment(aerial),
                    "pm": cabinet.id,
                    "section": k + 1,
                }),
            )?;
        }
    }
    for j in 0..=layout.last {
        for i in 0..=layout.last {
            let Some(cabinet) = layout.cabinet_of((i, j)) else {
                continue;
            };
            let phase = &PHASES[cabinet.phase];
            let neighbours = [("E", (i + 1, j), 0), ("N", (i, j + 1), 1)];
            for (direction, next, salt) in neighbours {
                if next.0 > layout.last || next.1 > layout.last {
                    continue;
                }
                let aerial = over_river(node_m((i, j)), node_m(next))
                    || hash2(i * 2 + salt, j, AERIAL_SALT) < AERIAL_SHARE;
                out.span(
                    &[(i, j), next],
                    json!({
                        "id": format!("SPAN-D-{i:02}-{j:02}-{direction}"),
                        "kind": "distribution",
                        "status": phase.status,
                        "operator": FIBRE_OPERATOR,
                        "in_service": phase.in_service,
                        "fibreCount": DISTRIBUTION_FIBRES,
                        "deployment": deployment(aerial),
                        "pm": cabinet.id,
                    }),
                )?;
            }
        }
    }
    Ok(json!({
        "type": "FeatureCollection",
        "name": format!("Jumeau demo network ({points} points)"),
        "features": out.features,
    }))
}

#[cfg(not(target_arch = "wasm32"))]
/// The demo network of the town of `points` points as `dir/demo-network-{points}.geojson`,
/// written the first time and reused after.
pub fn demo_network_file(dir: &Path, points: u64) -> Result<PathBuf, String> {
    let path = dir.join(format!("demo-network-{points}.geojson"));
    if path.exists() {
        return Ok(path);
    }
    let bytes = serde_json::to_vec_pretty(&demo_network(points)?)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Written aside then renamed: an interrupted run leaves no truncated file to reuse.
    let partial = dir.join(format!("demo-network-{points}.geojson.partial"));
    std::fs::write(&partial, bytes).map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, VecDeque};

    use super::*;
    use crate::demo::DEMO_TWIN_POINTS;
    use crate::network::ingest::read_geojson_in_frame;
    use crate::network::model::{Network, Site, SiteKind, Span, Status};

    /// A town of about 447 m: 6 × 6 intersections, 2 × 2 zones.
    const POINTS: u64 = 2_000_000;
    /// How close a read-back position must be to where it was meant, metres.
    const TOLERANCE_M: f64 = 0.01;

    fn read_back(points: u64) -> Network {
        let bytes = serde_json::to_vec(&demo_network_geojson(points)).unwrap();
        let frame = crate::demo::demo_frame().unwrap();
        let net = read_geojson_in_frame(&bytes, "demo", &frame).unwrap();
        assert!(net.issues.is_empty(), "{:?}", net.issues);
        net
    }

    /// Local metres of a twin position.
    fn local(p: DVec3) -> [f64; 2] {
        [p.x - DEMO_ORIGIN_L93[0], p.y - DEMO_ORIGIN_L93[1]]
    }

    /// The street centre line index of a local coordinate, when it lies on one.
    fn on_centre_line(v: f64) -> Option<i64> {
        let k = ((v - STREET_M / 2.0) / BLOCK_M).round();
        ((v - centre_line_m(k as i64)).abs() < TOLERANCE_M).then_some(k as i64)
    }

    /// The intersection at a twin position, when it is at one.
    fn intersection(p: DVec3) -> Option<Node> {
        let [x, y] = local(p);
        Some((on_centre_line(x)?, on_centre_line(y)?))
    }

    fn of_kind(net: &Network, kind: SiteKind) -> Vec<&Site> {
        net.sites.iter().filter(|s| s.kind == kind).collect()
    }

    fn text<'a>(properties: &'a Map<String, Value>, key: &str) -> &'a str {
        properties[key].as_str().unwrap()
    }

    /// Site counts by kind name and span counts by (kind, status), and the spans' length (m).
    fn census(net: &Network) -> (BTreeMap<String, usize>, BTreeMap<String, usize>, f64) {
        let mut sites = BTreeMap::new();
        for site in &net.sites {
            *sites
                .entry(text(&site.properties, "kind").to_owned())
                .or_default() += 1;
        }
        let mut spans = BTreeMap::new();
        let mut length_m = 0.0;
        for span in &net.spans {
            let key = format!(
                "{} {}",
                text(&span.properties, "kind"),
                text(&span.properties, "status")
            );
            *spans.entry(key).or_default() += 1;
            length_m += span
                .path
                .windows(2)
                .map(|w| (w[1] - w[0]).truncate().length())
                .sum::<f64>();
        }
        (sites, spans, length_m)
    }

    #[test]
    fn every_kind_is_there_in_the_intended_numbers_and_states() {
        let net = read_back(POINTS);
        let side = side_m(POINTS);
        let last = ((side - 6.0) / 80.0).floor() as i64;
        assert_eq!(last, 5);
        let per_axis = (last + 2) / 4 + 1;
        let cabinets = (per_axis * per_axis) as usize;
        let intersections = ((last + 1) * (last + 1)) as usize;
        let wet = (0..=last)
            .flat_map(|j| (0..=last).map(move |i| (i, j)))
            .filter(|&(i, j)| {
                river_distance(centre_line_m(i), centre_line_m(j)) < RIVER_HALF_WIDTH_M + 6.0
            })
            .count();
        assert!(wet > 0, "the river crosses this town");

        let nro = of_kind(&net, SiteKind::CentralOffice);
        assert_eq!(nro.len(), 1);
        assert_eq!(
            (nro[0].id.as_str(), &nro[0].status),
            ("NRO-1", &Status::Lit)
        );
        assert_eq!(nro[0].operator.as_deref(), Some("Jumeau Fibre"));
        assert_eq!(nro[0].in_service.unwrap().to_string(), "2019-03-01");

        let pms = of_kind(&net, SiteKind::Cabinet);
        assert_eq!(pms.len(), cabinets);
        // Phases are distance quartiles: with 4 cabinets, one each, the nearest lit first.
        let mut by_distance: Vec<&&Site> = pms.iter().collect();
        by_distance.sort_by(|a, b| {
            let d = |s: &Site| (s.position - nro[0].position).length();
            d(a).total_cmp(&d(b))
        });
        let phases: Vec<(Status, String)> = by_distance
            .iter()
            .map(|s| (s.status.clone(), s.in_service.unwrap().to_string()))
            .collect();
        assert_eq!(
            phases,
            [
                (Status::Lit, "2020-09-01".to_owned()),
                (Status::Lit, "2022-03-01".to_owned()),
                (Status::Built, "2025-10-01".to_owned()),
                (Status::Planned, "2027-06-01".to_owned()),
            ]
        );

        let pbos = of_kind(&net, SiteKind::DistributionPoint);
        assert_eq!(pbos.len(), intersections - wet - cabinets - 1);

        let masts = of_kind(&net, SiteKind::Mast);
        let operators: BTreeSet<&str> =
            masts.iter().filter_map(|m| m.operator.as_deref()).collect();
        assert_eq!(
            operators,
            BTreeSet::from(["Bouygues Telecom", "Orange", "SFR"])
        );
        let antennas = of_kind(&net, SiteKind::Antenna);
        assert_eq!(antennas.len(), 9);
        for mast in &masts {
            assert_eq!(mast.properties["height_m"], 30.0);
            let sectors: Vec<&&Site> = antennas
                .iter()
                .filter(|a| a.properties["mast"] == mast.id.as_str())
                .collect();
            assert_eq!(sectors.len(), 3);
            let mut azimuths: Vec<f64> = sectors
                .iter()
                .map(|a| {
                    assert_eq!(a.position, mast.position);
                    assert_eq!(a.operator, mast.operator);
                    assert_eq!(a.status, Status::Lit);
                    assert_eq!(a.properties["height_m"], 28.0);
                    assert_eq!(a.properties["band"], "n78");
                    a.properties["azimuth_deg"].as_f64().unwrap()
                })
                .collect();
            azimuths.sort_by(f64::total_cmp);
            assert!(azimuths[0] >= 0.0 && azimuths[2] < 360.0, "{azimuths:?}");
            assert_eq!(azimuths[1] - azimuths[0], 120.0);
            assert_eq!(azimuths[2] - azimuths[1], 120.0);
        }
        // Well spread: no two masts within two blocks of each other.
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let d = (masts[a].position - masts[b].position).length();
            assert!(
                d > 2.0 * BLOCK_M,
                "{} and {}: {d} m",
                masts[a].id,
                masts[b].id
            );
        }

        let buildings = of_kind(&net, SiteKind::Building);
        let expected: Vec<String> = demo_buildings(POINTS).into_iter().map(|b| b.id).collect();
        let found: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
        assert_eq!(found, expected);
        assert_eq!(
            net.sites.len(),
            1 + cabinets + pbos.len() + 3 + 9 + expected.len()
        );

        let distribution: Vec<&Span> = net
            .spans
            .iter()
            .filter(|s| s.properties["kind"] == "distribution")
            .collect();
        assert_eq!(distribution.len(), (2 * last * (last + 1)) as usize);
        assert!(distribution.iter().all(|s| s.capacity_fibres == Some(24)));
        let feeders: Vec<&Span> = net
            .spans
            .iter()
            .filter(|s| s.properties["kind"] == "feeder")
            .collect();
        assert!(feeders.len() >= cabinets);
        assert!(feeders.iter().all(|s| s.capacity_fibres == Some(144)));
        assert_eq!(net.spans.len(), distribution.len() + feeders.len());

        let ids: BTreeSet<&str> = net
            .sites
            .iter()
            .map(|s| s.id.as_str())
            .chain(net.spans.iter().map(|s| s.id.as_str()))
            .collect();
        assert_eq!(
            ids.len(),
            net.sites.len() + net.spans.len(),
            "ids are unique"
        );
    }

    #[test]
    fn each_zone_takes_the_state_of_its_cabinet() {
        let net = read_back(POINTS);
        let pms: BTreeMap<&str, &Site> = of_kind(&net, SiteKind::Cabinet)
            .into_iter()
            .map(|s| (s.id.as_str(), s))
            .collect();
        // A cabinet's zone: blocks (and intersections) i with ⌊(i + 2) / 4⌋ equal to its own.
        let zone = |node: Node| ((node.0 + 2).div_euclid(4), (node.1 + 2).div_euclid(4));
        let pm_zone = |pm: &Site| zone(intersection(pm.position).unwrap());
        let check = |what: &str, properties: &Map<String, Value>, status, day, at: Node| {
            let pm = pms[text(properties, "pm")];
            assert_eq!(pm_zone(pm), zone(at), "{what} served from outside its zone");
            assert_eq!((&pm.status, pm.in_service), (status, day), "{what}");
        };
        for site in &net.sites {
            match site.kind {
                SiteKind::DistributionPoint => check(
                    &site.id,
                    &site.properties,
                    &site.status,
                    site.in_service,
                    intersection(site.position).unwrap(),
                ),
                SiteKind::Building => {
                    let [x, y] = local(site.position);
                    let block = ((x / BLOCK_M).floor() as i64, (y / BLOCK_M).floor() as i64);
                    check(
                        &site.id,
                        &site.properties,
                        &site.status,
                        site.in_service,
                        block,
                    );
                }
                _ => {}
            }
        }
        for span in &net.spans {
            let start = intersection(span.path[0]).unwrap();
            let end = intersection(*span.path.last().unwrap()).unwrap();
            let pm = pms[text(&span.properties, "pm")];
            assert_eq!((&span.status, span.in_service), (&pm.status, pm.in_service));
            if span.properties["kind"] == "distribution" {
                // The east or north segment of its start intersection.
                assert_eq!(span.path.len(), 2);
                let step = (end.0 - start.0, end.1 - start.1);
                assert!(step == (1, 0) || step == (0, 1), "{}: {step:?}", span.id);
                check(
                    &span.id,
                    &span.properties,
                    &span.status,
                    span.in_service,
                    start,
                );
            }
        }
    }

    #[test]
    fn everything_stands_on_the_streets_inside_the_town_and_out_of_the_river() {
        let net = read_back(POINTS);
        let side = side_m(POINTS);
        for site in &net.sites {
            let [x, y] = local(site.position);
            assert!(
                (-TOLERANCE_M..=side + TOLERANCE_M).contains(&x)
                    && (-TOLERANCE_M..=side + TOLERANCE_M).contains(&y),
                "{} at ({x}, {y}) is outside the {side} m town",
                site.id
            );
            assert!(
                river_distance(x, y) >= RIVER_HALF_WIDTH_M,
                "{} is in the river",
                site.id
            );
            if site.kind != SiteKind::Building {
                assert!(intersection(site.position).is_some(), "{}", site.id);
            }
        }
        let mut aerial = 0;
        for span in &net.spans {
            for p in &span.path {
                let [x, y] = local(*p);
                assert!(
                    on_centre_line(x).is_some() || on_centre_line(y).is_some(),
                    "{}: ({x}, {y}) is off the street centre lines",
                    span.id
                );
                assert!(x <= side && y <= side, "{}", span.id);
            }
            for end in [span.path[0], *span.path.last().unwrap()] {
                assert!(
                    intersection(end).is_some(),
                    "{} ends between intersections",
                    span.id
                );
            }
            let wet = span.path.windows(2).any(|w| {
                (0..=160).any(|s| {
                    let [x, y] = local(w[0].lerp(w[1], f64::from(s) / 160.0));
                    river_distance(x, y) < RIVER_HALF_WIDTH_M
                })
            });
            let deployment = text(&span.properties, "deployment");
            if wet {
                assert_eq!(
                    deployment, "aerial",
                    "{} crosses the river underground",
                    span.id
                );
            }
            aerial += usize::from(deployment == "aerial");
        }
        assert!(
            aerial > 0 && aerial < net.spans.len() / 2,
            "{aerial} aerial spans"
        );
    }

    #[test]
    fn the_central_office_reaches_every_cabinet_through_feeders() {
        let net = read_back(POINTS);
        let nro = intersection(of_kind(&net, SiteKind::CentralOffice)[0].position).unwrap();
        let mut links: BTreeMap<Node, Vec<Node>> = BTreeMap::new();
        let mut feeder_ends: BTreeMap<String, BTreeSet<Node>> = BTreeMap::new();
        for span in net
            .spans
            .iter()
            .filter(|s| s.properties["kind"] == "feeder")
        {
            let nodes: Vec<Node> = span
                .path
                .iter()
                .map(|p| intersection(*p).unwrap())
                .collect();
            for w in nodes.windows(2) {
                links.entry(w[0]).or_default().push(w[1]);
                links.entry(w[1]).or_default().push(w[0]);
            }
            feeder_ends
                .entry(text(&span.properties, "pm").to_owned())
                .or_default()
                .extend([nodes[0], *nodes.last().unwrap()]);
        }
        let mut reached = BTreeSet::from([nro]);
        let mut queue = VecDeque::from([nro]);
        while let Some(node) = queue.pop_front() {
            for next in links.get(&node).into_iter().flatten() {
                if reached.insert(*next) {
                    queue.push_back(*next);
                }
            }
        }
        for pm in of_kind(&net, SiteKind::Cabinet) {
            let node = intersection(pm.position).unwrap();
            assert!(reached.contains(&node), "{} is not connected", pm.id);
            assert!(
                feeder_ends[&pm.id].contains(&node),
                "no feeder of {} ends there",
                pm.id
            );
        }
    }

    #[test]
    fn the_default_twin_has_hundreds_of_spans_and_a_few_thousand_sites() {
        let net = read_back(DEMO_TWIN_POINTS);
        let (sites, spans, length_m) = census(&net);
        eprintln!("sites {sites:?}\nspans {spans:?}\nspan length {length_m:.0} m");
        // 18 × 18 intersections: 612 street segments, 25 cabinets.
        assert_eq!(sites["nro"], 1);
        assert_eq!(sites["pm"], 25);
        assert_eq!(sites["mast"], 3);
        assert_eq!(sites["antenna"], 9);
        assert_eq!(sites["building"], demo_buildings(DEMO_TWIN_POINTS).len());
        assert!(sites["building"] > net.sites.len() / 2, "{sites:?}");
        assert!((250..=324).contains(&sites["pbo"]), "{sites:?}");
        assert!(net.sites.len() < 3_000, "{sites:?}");
        let distribution: usize = spans
            .iter()
            .filter(|(k, _)| k.starts_with("distribution"))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(distribution, 612);
        assert!((637..=800).contains(&net.spans.len()), "{spans:?}");
        for status in ["lit", "built", "planned"] {
            assert!(spans[&format!("distribution {status}")] > 0, "{spans:?}");
            assert!(spans[&format!("feeder {status}")] > 0, "{spans:?}");
        }
        let aerial = net
            .spans
            .iter()
            .filter(|s| {
                s.properties["kind"] == "distribution" && s.properties["deployment"] == "aerial"
            })
            .count();
        assert!(
            (90..=200).contains(&aerial),
            "{aerial} aerial distribution spans"
        );
        // 612 × 80 m of streets plus feeders of up to 2 × 9 blocks each.
        assert!((612.0 * 80.0..612.0 * 80.0 + 25.0 * 18.0 * 80.0).contains(&length_m));
    }

    #[test]
    fn the_file_is_written_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = demo_network_file(dir.path(), POINTS).unwrap();
        assert_eq!(path, dir.path().join("demo-network-2000000.geojson"));
        let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(written, demo_network_geojson(POINTS));
        std::fs::write(&path, b"{}").unwrap();
        assert_eq!(demo_network_file(dir.path(), POINTS).unwrap(), path);
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
    }
}
