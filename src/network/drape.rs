//! Draping (pure): network z set from the terrain's ground model ([`GroundModel`]).
//!
//! # How it works
//!
//! [`drape`] puts sites on the ground and
//! every span vertex at the ground minus a burial depth (underground) or plus a line height
//! (aerial): each span segment is densified to the cell size so it follows the terrain, then
//! thinned back to the vertices the terrain needs ([`DrapeSettings::tolerance_m`]).

use super::model::{Network, SiteKind};
pub use crate::terrain::ground::{BUILDING_CLASS, GROUND_CLASS, GroundModel};
use bevy::math::DVec3;
use serde_json::{Map, Value};

/// Height of a building's service marker above its roof.
const ROOF_MARKER_M: f64 = 0.5;

/// Puts the sites of kind building (per-building service points) on the roof under them,
/// where `roofs` (a model of class 6 heights) has one above the ground; returns how many moved.
pub fn place_on_roofs(network: &mut Network, roofs: &GroundModel) -> usize {
    let mut moved = 0;
    for site in &mut network.sites {
        if site.kind != SiteKind::Building {
            continue;
        }
        if let Some(roof) = roofs.height_at(site.position.x, site.position.y)
            && roof > site.position.z
        {
            site.position.z = roof + ROOF_MARKER_M;
            moved += 1;
        }
    }
    moved
}

/// Where a span runs, which decides its height relative to the ground.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deployment {
    /// In a duct or trench: [`DrapeSettings::underground_depth_m`] below the ground.
    Underground,
    /// On poles: [`DrapeSettings::aerial_height_m`] above the ground.
    Aerial,
}

impl Deployment {
    /// Property names read, in this order (case ignored): OFDS-like `deployment`, generic
    /// `installation`, GraceTHD `mode_pose`.
    pub const PROPERTIES: [&str; 3] = ["deployment", "installation", "mode_pose"];

    /// The deployment a span's properties state; `None` when none of
    /// [`Deployment::PROPERTIES`] holds a recognised value.
    pub fn of(properties: &Map<String, Value>) -> Option<Self> {
        properties
            .iter()
            .filter(|(key, _)| {
                Self::PROPERTIES
                    .iter()
                    .any(|name| key.eq_ignore_ascii_case(name))
            })
            .filter_map(|(_, value)| value.as_str())
            .find_map(Self::from_name)
    }

    /// The deployment a value such as `underground`, `Souterrain`, `aérien` or `overhead`
    /// names.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
        if has(&[
            "underground",
            "souterrain",
            "buried",
            "enterr",
            "duct",
            "conduite",
        ]) {
            Some(Self::Underground)
        } else if has(&["aerial", "aérien", "aerien", "overhead", "façade", "facade"]) {
            Some(Self::Aerial)
        } else {
            None
        }
    }
}

/// How [`drape`] places the network relative to the ground.
#[derive(Clone, Debug, PartialEq)]
pub struct DrapeSettings {
    /// Height of a site above the ground when it has no numeric `height_m` property.
    pub site_offset_m: f64,
    /// Depth of underground spans below the ground.
    pub underground_depth_m: f64,
    /// Height of aerial spans above the ground.
    pub aerial_height_m: f64,
    /// Deployment of spans whose properties do not say.
    pub default_deployment: Deployment,
    /// Vertices added to follow the terrain are dropped again where the line without them
    /// stays within this height of the ground model (flat ground needs none).
    pub tolerance_m: f64,
}

impl Default for DrapeSettings {
    fn default() -> Self {
        Self {
            site_offset_m: 0.0,
            underground_depth_m: 0.8,
            aerial_height_m: 6.0,
            default_deployment: Deployment::Underground,
            tolerance_m: 0.1,
        }
    }
}

/// What [`drape`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrapeReport {
    /// Sites given a ground height.
    pub sites_draped: usize,
    /// Sites outside the ground model (their z unchanged).
    pub sites_outside: usize,
    /// Span vertices after draping (densified where the terrain bends, within
    /// [`DrapeSettings::tolerance_m`]).
    pub vertices_draped: usize,
    /// Span vertices inserted to follow the terrain.
    pub vertices_added: usize,
    /// Span vertices outside the ground model: kept, with their source (or interpolated) z.
    pub outside: usize,
    pub underground_spans: usize,
    pub aerial_spans: usize,
}

/// Sets the z of every site and span vertex of `network` from `ground`. Each span segment is
/// densified to the cell size (horizontally) and draped, then the inserted vertices the line
/// does not need to stay within [`DrapeSettings::tolerance_m`] of the terrain are dropped
/// again; the original vertices are kept. Nothing is dropped that the source had: vertices
/// outside the ground model keep their z and are counted in [`DrapeReport::outside`].
pub fn drape(network: &mut Network, ground: &GroundModel, settings: &DrapeSettings) -> DrapeReport {
    let mut report = DrapeReport::default();
    for site in &mut network.sites {
        let offset = site
            .properties
            .get("height_m")
            .and_then(Value::as_f64)
            .filter(|h| h.is_finite())
            .unwrap_or(settings.site_offset_m);
        match ground.height_at(site.position.x, site.position.y) {
            Some(z) => {
                site.position.z = z + offset;
                report.sites_draped += 1;
            }
            None => report.sites_outside += 1,
        }
    }
    for span in &mut network.spans {
        let deployment = Deployment::of(&span.properties).unwrap_or(settings.default_deployment);
        let offset = match deployment {
            Deployment::Underground => {
                report.underground_spans += 1;
                -settings.underground_depth_m
            }
            Deployment::Aerial => {
                report.aerial_spans += 1;
                settings.aerial_height_m
            }
        };
        let before = span.path.len();
        if before < 2 {
            continue;
        }
        let mut draped: Vec<(DVec3, bool)> = Vec::with_capacity(before);
        for (i, pair) in span.path.windows(2).enumerate() {
            // One source segment, densified and draped, then thinned back to the vertices the
            // terrain needs.
            let piece: Vec<(DVec3, bool)> = densified(pair, ground.cell_m())
                .into_iter()
                .map(|v| match ground.height_at(v.x, v.y) {
                    Some(z) => (DVec3::new(v.x, v.y, z + offset), true),
                    None => (v, false),
                })
                .collect();
            let positions: Vec<DVec3> = piece.iter().map(|(v, _)| *v).collect();
            let keep = keep_for_tolerance(&positions, settings.tolerance_m);
            draped.extend(
                piece
                    .into_iter()
                    .zip(keep)
                    .skip(usize::from(i > 0))
                    .filter_map(|(v, k)| k.then_some(v)),
            );
        }
        report.vertices_draped += draped.iter().filter(|(_, on)| *on).count();
        report.outside += draped.iter().filter(|(_, on)| !*on).count();
        report.vertices_added += draped.len() - before;
        span.path = draped.into_iter().map(|(v, _)| v).collect();
    }
    report
}

/// Which vertices of a draped run to keep so that dropping the others changes no height by
/// more than `tolerance_m` (Douglas–Peucker on distance along the run and height); the ends
/// are always kept.
fn keep_for_tolerance(run: &[DVec3], tolerance_m: f64) -> Vec<bool> {
    let mut keep = vec![false; run.len()];
    if let (Some(first), Some(last)) = (keep.first_mut(), run.len().checked_sub(1)) {
        *first = true;
        keep[last] = true;
    }
    let along: Vec<f64> = std::iter::once(0.0)
        .chain(run.windows(2).scan(0.0, |d, w| {
            *d += w[0].truncate().distance(w[1].truncate());
            Some(*d)
        }))
        .collect();
    let mut stack = vec![(0, run.len().saturating_sub(1))];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let span = (along[b] - along[a]).max(1e-12);
        let (worst, error) = (a + 1..b)
            .map(|i| {
                let t = (along[i] - along[a]) / span;
                let z = run[a].z + (run[b].z - run[a].z) * t;
                (i, (run[i].z - z).abs())
            })
            .fold((a, -1.0), |best, c| if c.1 > best.1 { c } else { best });
        if error > tolerance_m || !error.is_finite() {
            keep[worst] = true;
            stack.push((a, worst));
            stack.push((worst, b));
        }
    }
    keep
}

/// `path` with evenly spaced vertices inserted (z interpolated) so that no segment is longer
/// than `max_segment_m` horizontally; existing vertices are kept as they are.
pub fn densified(path: &[DVec3], max_segment_m: f64) -> Vec<DVec3> {
    if !(max_segment_m.is_finite() && max_segment_m > 0.0) {
        return path.to_vec();
    }
    let Some(&first) = path.first() else {
        return Vec::new();
    };
    let source = path;
    let mut path = Vec::with_capacity(source.len());
    path.push(first);
    for pair in source.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let length = a.truncate().distance(b.truncate());
        // Bounded so that a corrupt coordinate cannot ask for billions of vertices.
        let pieces = (length / max_segment_m).ceil().clamp(1.0, 1e6) as usize;
        path.extend((1..pieces).map(|i| a.lerp(b, i as f64 / pieces as f64)));
        path.push(b);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::model::{Site, SiteKind, Span, Status};
    use crate::pointcloud::{CopcReader, las::LasFile};
    use crate::terrain::ground::{copc_points, las_points};
    use crate::testdata::shared_data;
    use bevy::math::DVec2;

    const TILE: &str = "lidar/test_semis_2023_0292_6833_LA93_IGN69.laz";

    fn tile_points() -> Option<Vec<(DVec3, u8)>> {
        let path = shared_data(TILE)?;
        let file = LasFile::open(crate::io::FileSource::open(path).unwrap()).unwrap();
        Some(las_points(&file).unwrap())
    }

    fn span(properties: Map<String, Value>, path: Vec<DVec3>) -> Span {
        Span {
            id: "s".into(),
            status: Status::Planned,
            capacity_fibres: None,
            path,
            operator: None,
            in_service: None,
            properties,
        }
    }

    fn percentile(sorted: &[f64], q: f64) -> f64 {
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    }

    #[test]
    fn building_service_points_go_on_their_roof_and_nothing_else_moves() {
        // A 4 m × 4 m flat roof at 20 m on 1 m cells, ground at 0 around it.
        let mut points = Vec::new();
        for i in 0..20 {
            for j in 0..20 {
                let (x, y) = (f64::from(i) + 0.5, f64::from(j) + 0.5);
                let on_roof = (8.0..12.0).contains(&x) && (8.0..12.0).contains(&y);
                points.push(if on_roof {
                    (DVec3::new(x, y, 20.0), BUILDING_CLASS)
                } else {
                    (DVec3::new(x, y, 0.0), GROUND_CLASS)
                });
            }
        }
        let roofs = GroundModel::from_class(points.into_iter(), 1.0, BUILDING_CLASS, 1).unwrap();
        let site = |id: &str, kind: SiteKind, x: f64| Site {
            id: id.into(),
            kind,
            status: Status::Lit,
            position: DVec3::new(x, 10.0, 0.0),
            operator: None,
            in_service: None,
            properties: Map::new(),
        };
        let mut network = Network {
            sites: vec![
                site("on", SiteKind::Building, 10.0),
                site("cabinet", SiteKind::Cabinet, 10.0),
                site("street", SiteKind::Building, 18.0),
            ],
            ..Network::default()
        };
        assert_eq!(place_on_roofs(&mut network, &roofs), 1);
        assert!((network.sites[0].position.z - 20.5).abs() < 1e-9);
        assert_eq!(network.sites[1].position.z, 0.0);
        assert_eq!(
            network.sites[2].position.z, 0.0,
            "no roof there: stays on the ground"
        );
    }

    #[test]
    fn copc_ground_input_takes_whole_coarse_levels_up_to_the_budget() {
        let Some(path) = shared_data("lidar/1.2-with-color.copc.laz") else {
            return;
        };
        let open = || CopcReader::open(crate::io::FileSource::open(&path).unwrap()).unwrap();
        let mut reader = open();
        let all = copc_points(&mut reader, u64::MAX).unwrap();
        assert_eq!(all.len(), 1065, "every level fits");
        let root = reader
            .hierarchy
            .get(crate::pointcloud::VoxelKey::ROOT)
            .and_then(|n| n.data)
            .unwrap()
            .point_count as usize;
        let coarse = copc_points(&mut open(), 1).unwrap();
        assert_eq!(
            coarse.len(),
            root,
            "at least the root, however small the budget"
        );
        assert!(coarse.len() < all.len());
        // Positions are the file's, not node-relative offsets.
        let h = &reader.file.header;
        assert!(
            all.iter()
                .all(|(p, _)| p.x >= h.min[0] - 0.01 && p.x <= h.max[0] + 0.01)
        );
        assert!(all.iter().any(|(_, class)| *class == GROUND_CLASS));
    }

    #[test]
    fn ground_model_reproduces_lidar_ground_points() {
        let Some(points) = tile_points() else { return };
        let ground = GroundModel::from_points(points.iter().copied(), 2.0).unwrap();
        let class2: Vec<DVec3> = points
            .iter()
            .filter(|(_, c)| *c == GROUND_CLASS)
            .map(|(p, _)| *p)
            .collect();
        assert!(class2.len() >= 500, "{} ground points", class2.len());
        let step = class2.len() / 500;
        let mut errors: Vec<f64> = class2
            .iter()
            .step_by(step)
            .take(500)
            .map(|p| (ground.height_at(p.x, p.y).unwrap() - p.z).abs())
            .collect();
        errors.sort_by(f64::total_cmp);
        let within = errors.iter().filter(|e| **e < 0.5).count();
        eprintln!(
            "{} points, {} ground; |height_at - z| over {}: median {:.3} m, 95th {:.3} m, max {:.3} m, {} within 0.5 m",
            points.len(),
            class2.len(),
            errors.len(),
            percentile(&errors, 0.5),
            percentile(&errors, 0.95),
            errors[errors.len() - 1],
            within
        );
        assert!(
            within * 100 >= errors.len() * 95,
            "{within} of {}",
            errors.len()
        );
        let (lo, hi) = ground.extent();
        assert_eq!(ground.height_at(lo.x - 1.0, lo.y + 1.0), None);
        assert_eq!(ground.height_at(hi.x + 1.0, hi.y - 1.0), None);
    }

    #[test]
    fn ign_lines_are_draped_below_the_lidar_ground() {
        let (Some(points), Some(lines)) = (
            tile_points(),
            shared_data("vector/ign_Lignes_3d_0292_6833.geojson"),
        ) else {
            return;
        };
        let ground = GroundModel::from_points(points.iter().copied(), 2.0).unwrap();
        let bytes = std::fs::read(&lines).unwrap();
        let frame = crate::georef::GeoFrame::projected(2154).unwrap();
        let mut network =
            crate::network::ingest::read_geojson_in_frame(&bytes, "lines", &frame).unwrap();
        let original = network.clone();
        assert!(!network.spans.is_empty());
        let settings = DrapeSettings::default();
        let report = drape(&mut network, &ground, &settings);
        eprintln!("{report:?}");

        let (mut inside, mut outside) = (0, 0);
        for (draped, source) in network.spans.iter().zip(&original.spans) {
            // Densifying keeps every source vertex (x, y), in order, endpoints included.
            let mut rest = draped.path.iter();
            for v in &source.path {
                assert!(rest.any(|d| d.truncate() == v.truncate()), "{}", source.id);
            }
            assert_eq!(draped.path[0].truncate(), source.path[0].truncate());
            assert_eq!(
                draped.path.last().unwrap().truncate(),
                source.path.last().unwrap().truncate()
            );
            // Between its vertices the line stays within 0.5 m of the ground model, checked every 0.5 m
            // (the thinning tolerance holds at the cell-spaced samples it looked at; the
            // bilinear surface may bend a little more in between).
            for pair in draped.path.windows(2) {
                for v in densified(pair, 0.5) {
                    if let Some(z) = ground.height_at(v.x, v.y) {
                        let want = z - settings.underground_depth_m;
                        assert!((v.z - want).abs() <= 0.5, "{v}: {want}");
                    }
                }
            }
            for v in &draped.path {
                match ground.height_at(v.x, v.y) {
                    Some(z) => {
                        inside += 1;
                        assert!((v.z - (z - settings.underground_depth_m)).abs() < 0.5);
                    }
                    None => outside += 1,
                }
            }
        }
        assert_eq!(report.vertices_draped, inside);
        assert_eq!(report.outside, outside);
        assert_eq!(report.underground_spans, network.spans.len());
        assert_eq!(
            report.vertices_added,
            network.span_vertex_count() - original.span_vertex_count()
        );
        assert!(inside > 0, "no vertex on the tile");

        // Independently of the model: a draped vertex sits `depth` below the nearest lidar
        // ground point within 1.5 m.
        let class2: Vec<DVec3> = points
            .iter()
            .filter(|(_, c)| *c == GROUND_CLASS)
            .map(|(p, _)| *p)
            .collect();
        let (mut near, mut agree) = (0, 0);
        for v in network.spans.iter().flat_map(|s| &s.path) {
            if ground.height_at(v.x, v.y).is_none() {
                continue;
            }
            let nearest = class2.iter().min_by(|a, b| {
                let (da, db) = (
                    a.truncate().distance(v.truncate()),
                    b.truncate().distance(v.truncate()),
                );
                da.total_cmp(&db)
            });
            if let Some(p) = nearest.filter(|p| p.truncate().distance(v.truncate()) < 1.5) {
                near += 1;
                agree += usize::from((v.z + settings.underground_depth_m - p.z).abs() < 0.5);
            }
        }
        eprintln!("{agree} of {near} draped vertices within 0.5 m of the nearest ground point");
        assert!(near > 0 && agree * 100 >= near * 95, "{agree} of {near}");
    }

    /// A ground z = 0.1·x on 1 m cells over [0, 10]², with a 2×2 hole filled from around.
    fn plane() -> GroundModel {
        let points = (0..100).flat_map(|i| {
            let (x, y) = ((i % 10) as f64 + 0.5, (i / 10) as f64 + 0.5);
            let hole = (4.0..6.0).contains(&x) && (4.0..6.0).contains(&y);
            let class = if hole { 6 } else { GROUND_CLASS };
            [
                (DVec3::new(x, y, 0.1 * x), class),
                (DVec3::new(x, y, 30.0), 5),
            ]
        });
        GroundModel::from_points(points, 1.0).unwrap()
    }

    #[test]
    fn plane_is_interpolated_bilinearly_and_offsets_follow_deployment() {
        let ground = plane();
        assert_eq!(ground.extent(), (DVec2::ZERO, DVec2::splat(10.0)));
        for (x, y) in [(0.5, 0.5), (3.2, 7.9), (8.75, 1.1), (2.0, 2.0)] {
            let z = ground.height_at(x, y).unwrap();
            // Heights are stored as f32, like every terrain raster: a micrometre.
            assert!((z - 0.1 * x).abs() < 1e-6, "({x}, {y}): {z}");
        }
        // The half cell along the border takes the border cell's height.
        assert!((ground.height_at(0.0, 5.0).unwrap() - 0.05).abs() < 1e-6);
        // Filled from the neighbours: the mean of the filled cells around, close to the plane.
        for (x, want) in [(4.5, 0.45), (5.5, 0.55)] {
            let z = ground.height_at(x, 4.5).unwrap();
            assert!((z - want).abs() < 0.05, "hole at x = {x}: {z}");
        }
        assert_eq!(ground.height_at(-0.1, 5.0), None);
        assert_eq!(ground.height_at(5.0, 10.1), None);
        assert!(GroundModel::from_points(std::iter::empty(), 1.0).is_none());
        assert!(GroundModel::from_points([(DVec3::ZERO, 5)].into_iter(), 1.0).is_none());
        assert!(GroundModel::from_points([(DVec3::ZERO, 2)].into_iter(), 0.0).is_none());

        let props = |key: &str, value: &str| {
            let mut map = Map::new();
            map.insert(key.into(), value.into());
            map
        };
        let line = vec![DVec3::new(1.0, 1.0, 99.0), DVec3::new(9.0, 1.0, 99.0)];
        let mut mast = props("kind", "mast");
        mast.insert("height_m".into(), 25.0.into());
        let mut network = Network {
            spans: vec![
                span(props("Deployment", "Underground"), line.clone()),
                span(props("installation", "AÉRIEN"), line.clone()),
                span(
                    Map::new(),
                    vec![DVec3::new(8.0, 8.0, 7.0), DVec3::new(14.0, 8.0, 7.0)],
                ),
            ],
            sites: vec![
                Site {
                    id: "m".into(),
                    kind: SiteKind::Mast,
                    status: Status::Lit,
                    position: DVec3::new(5.0, 2.0, 0.0),
                    operator: None,
                    in_service: None,
                    properties: mast,
                },
                Site {
                    id: "far".into(),
                    kind: SiteKind::Cabinet,
                    status: Status::Lit,
                    position: DVec3::new(50.0, 2.0, 3.0),
                    operator: None,
                    in_service: None,
                    properties: Map::new(),
                },
            ],
            issues: Vec::new(),
        };
        // On a plane no vertex is needed to follow the ground: the spans keep their own.
        let mut thin = network.clone();
        let report = drape(&mut thin, &ground, &DrapeSettings::default());
        assert_eq!(thin.spans[0].path.len(), 2, "{:?}", thin.spans[0].path);
        assert_eq!(thin.spans[1].path.len(), 2);
        assert!((thin.spans[0].path[1].z - (0.9 - 0.8)).abs() < 1e-6);
        assert_eq!(report.vertices_added, thin.span_vertex_count() - 6);
        // With no tolerance every cell-sized step is kept.
        let settings = DrapeSettings {
            tolerance_m: -1.0,
            ..DrapeSettings::default()
        };
        let report = drape(&mut network, &ground, &settings);
        assert_eq!(
            report,
            DrapeReport {
                sites_draped: 1,
                sites_outside: 1,
                // 8 m on 1 m cells: 7 inserted twice; 6 m: 5 inserted.
                vertices_added: 7 + 7 + 5,
                vertices_draped: 9 + 9 + 3,
                outside: 4,
                underground_spans: 2,
                aerial_spans: 1,
            }
        );
        assert!((network.sites[0].position.z - 25.5).abs() < 1e-9);
        assert_eq!(network.sites[1].position.z, 3.0);
        for (span, offset) in network.spans[..2].iter().zip([-0.8, 6.0]) {
            assert_eq!(span.path.len(), 9);
            for v in &span.path {
                assert!((v.z - (0.1 * v.x + offset)).abs() < 1e-6, "{v}");
            }
        }
        let last = &network.spans[2].path;
        assert_eq!(last.len(), 7);
        assert!((last[0].z - (0.8 - 0.8)).abs() < 1e-6);
        // Past x = 10 the vertices keep their (interpolated) source z.
        assert_eq!(last[6], DVec3::new(14.0, 8.0, 7.0));
        assert_eq!(last[3].z, 7.0);
    }

    #[test]
    fn deployment_is_read_from_english_and_french_values() {
        assert_eq!(
            Deployment::from_name("Souterrain"),
            Some(Deployment::Underground)
        );
        assert_eq!(Deployment::from_name("aérien"), Some(Deployment::Aerial));
        assert_eq!(Deployment::from_name("overhead"), Some(Deployment::Aerial));
        assert_eq!(Deployment::from_name("unknown"), None);
    }
}
