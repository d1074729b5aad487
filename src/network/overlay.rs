//! The network overlay (pure): what is shown and how, the GPU-ready geometry of spans, sites
//! and antenna sectors, and screen-space picking and label placement.
//!
//! # How it works
//! A network becomes a few meshes, one per [`CHUNK_M`] square of the twin (f32 offsets from
//! the chunk's f64 origin, as for point nodes and building tiles):
//! - each span segment is a quad whose vertices carry both ends; the vertex shader
//!   (`shaders/network/overlay.wgsl`) widens it to [`OverlayStyle::line_width_px`] on screen;
//! - each site is a quad expanded on screen into a symbol chosen by its kind;
//! - each antenna sector is a flat fan in the world, [`Sector::radius_m`] long, along its
//!   azimuth and tilt, blended over the scene.
//!
//! Every vertex carries its feature's status, kind, operator, in-service day and capacity, so
//! filtering, the time slider and the colour mode are a uniform update in the shader: the main
//! thread does nothing per frame for 10⁵ spans. [`NetworkFilter::shows`] is the same test on
//! the CPU, for picking, labels and the legend's counts.

use super::model::{Day, Network, Site, SiteKind, Status};
use crate::georef::world_from_crs;
use bevy::math::{DMat4, DVec2, DVec3};
use serde_json::Value;
use std::collections::HashMap;

/// Side of the squares the overlay's meshes are cut into, metres.
pub const CHUNK_M: f64 = 2048.0;

/// Statuses in shader order ([`status_index`]).
pub const STATUS_NAMES: [&str; 4] = ["planned", "built", "lit", "unknown"];
/// Colours of the statuses (sRGB): planned orange, built blue, lit green, unknown grey.
pub const STATUS_COLORS: [[u8; 3]; 4] = [
    [245, 158, 40],
    [60, 140, 235],
    [40, 200, 90],
    [170, 170, 170],
];

pub fn status_index(status: &Status) -> u32 {
    match status {
        Status::Planned => 0,
        Status::Built => 1,
        Status::Lit => 2,
        Status::Unknown(_) => 3,
    }
}

/// Feature kinds in shader order ([`kind_index`]); spans are the last.
pub const KIND_NAMES: [&str; 8] = [
    "central office (NRO)",
    "street cabinet (PM)",
    "distribution point (PBO)",
    "mast",
    "antenna",
    "building",
    "other site",
    "fibre span",
];
/// [`KIND_NAMES`] index of spans.
pub const SPAN_KIND: u32 = 7;
/// Symbol size of each kind on screen, pixels (spans: unused).
pub const KIND_SIZE_PX: [f32; 8] = [18.0, 14.0, 9.0, 15.0, 10.0, 8.0, 9.0, 0.0];

pub fn kind_index(kind: &SiteKind) -> u32 {
    match kind {
        SiteKind::CentralOffice => 0,
        SiteKind::Cabinet => 1,
        SiteKind::DistributionPoint => 2,
        SiteKind::Mast => 3,
        SiteKind::Antenna => 4,
        SiteKind::Building => 5,
        SiteKind::Other(_) => 6,
    }
}

/// Operators get a shader index: the 31 most frequent 1..=31, the others and "none" 0.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OperatorIndex {
    /// Names by index − 1, most frequent first.
    pub names: Vec<String>,
}

impl OperatorIndex {
    pub const MAX: usize = 31;

    pub fn of<'a>(networks: impl IntoIterator<Item = &'a Network>) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for network in networks {
            let operators = network
                .sites
                .iter()
                .map(|s| &s.operator)
                .chain(network.spans.iter().map(|s| &s.operator));
            for name in operators.flatten() {
                *counts.entry(name.as_str()).or_default() += 1;
            }
        }
        let mut names: Vec<(&str, usize)> = counts.into_iter().collect();
        names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        Self {
            names: names
                .into_iter()
                .take(Self::MAX)
                .map(|(n, _)| n.to_owned())
                .collect(),
        }
    }

    pub fn index(&self, operator: Option<&str>) -> u32 {
        operator
            .and_then(|o| self.names.iter().position(|n| n == o))
            .map_or(0, |i| i as u32 + 1)
    }

    /// The label of index `i` (0: every other operator, and none).
    pub fn label(&self, i: u32) -> &str {
        match i {
            0 => "other / none",
            i => self.names.get(i as usize - 1).map_or("?", String::as_str),
        }
    }
}

/// Which features are shown.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkFilter {
    /// By [`status_index`].
    pub statuses: [bool; 4],
    /// By [`kind_index`] ([`SPAN_KIND`] for spans).
    pub kinds: [bool; 8],
    /// Bit `i` hides operator index `i` ([`OperatorIndex`]).
    pub hidden_operators: u32,
    /// The time slider: only features in service on or before this day (features without a
    /// date are always shown). `None`: no time filter.
    pub until: Option<Day>,
}

impl Default for NetworkFilter {
    fn default() -> Self {
        Self {
            statuses: [true; 4],
            kinds: [true; 8],
            hidden_operators: 0,
            until: None,
        }
    }
}

impl NetworkFilter {
    pub fn shows(&self, status: u32, kind: u32, operator: u32, day: Option<Day>) -> bool {
        self.statuses[status as usize]
            && self.kinds[kind as usize]
            && (self.hidden_operators >> operator) & 1 == 0
            && match (self.until, day) {
                (Some(until), Some(day)) => day <= until,
                _ => true,
            }
    }
}

/// What colours the overlay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NetworkColor {
    #[default]
    Status,
    /// Spans by fibre count (elevation ramp up to the layer's largest); sites by status.
    Capacity,
    /// A palette colour per operator index.
    Operator,
}

impl NetworkColor {
    pub const ALL: [Self; 3] = [Self::Status, Self::Capacity, Self::Operator];

    pub fn label(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Capacity => "capacity",
            Self::Operator => "operator",
        }
    }

    pub fn shader_index(self) -> u32 {
        self as u32
    }
}

/// How the overlay is drawn (shared by every layer).
#[derive(Clone, Debug, PartialEq)]
pub struct OverlayStyle {
    pub color: NetworkColor,
    pub line_width_px: f32,
    /// Multiplies [`KIND_SIZE_PX`].
    pub symbol_scale: f32,
    pub sectors: bool,
    /// Draw over everything: the network shows through buildings, trees and the ground.
    pub xray: bool,
}

impl Default for OverlayStyle {
    fn default() -> Self {
        Self {
            color: NetworkColor::Status,
            line_width_px: 4.0,
            symbol_scale: 1.0,
            sectors: true,
            xray: false,
        }
    }
}

/// An antenna's sector, from its `azimuth_deg`, `beamwidth_deg` (65° when absent),
/// `tilt_deg` (0°) and `range_m` ([`Sector::RADIUS_M`]) properties.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sector {
    /// Clockwise from north.
    pub azimuth_deg: f64,
    pub beamwidth_deg: f64,
    /// Downwards.
    pub tilt_deg: f64,
    /// Length of the drawn wedge.
    pub radius_m: f64,
}

impl Sector {
    /// Length of a sector drawn without a `range_m`: a symbol of where it points, not a
    /// coverage (that is the radio scenario's job).
    pub const RADIUS_M: f64 = 80.0;

    /// The sector of a site with a numeric `azimuth_deg` property.
    pub fn of(site: &Site) -> Option<Self> {
        let number = |key: &str| {
            site.properties
                .get(key)
                .and_then(Value::as_f64)
                .filter(|v| v.is_finite())
        };
        Some(Self {
            azimuth_deg: number("azimuth_deg")?,
            beamwidth_deg: number("beamwidth_deg").unwrap_or(65.0).clamp(1.0, 360.0),
            tilt_deg: number("tilt_deg").unwrap_or(0.0).clamp(-45.0, 45.0),
            radius_m: number("range_m")
                .filter(|r| *r > 0.0)
                .unwrap_or(Self::RADIUS_M),
        })
    }

    /// The wedge's rim, `steps + 1` points from one edge to the other, relative to the apex.
    pub fn rim(&self, steps: usize) -> Vec<DVec3> {
        let (az, half) = (
            self.azimuth_deg.to_radians(),
            self.beamwidth_deg.to_radians() / 2.0,
        );
        let (horizontal, down) = (
            self.radius_m * self.tilt_deg.to_radians().cos(),
            self.radius_m * self.tilt_deg.to_radians().sin(),
        );
        (0..=steps)
            .map(|i| {
                let a = az - half + 2.0 * half * i as f64 / steps as f64;
                DVec3::new(a.sin() * horizontal, a.cos() * horizontal, -down)
            })
            .collect()
    }
}

/// Primitive of a vertex (bits 16–17 of [`OverlayMesh::info`]).
pub const PRIMITIVE_LINE: u32 = 0;
pub const PRIMITIVE_SYMBOL: u32 = 1;
pub const PRIMITIVE_WEDGE: u32 = 2;

/// A day the shader reads as "no date".
pub const NO_DAY: f32 = -1.0e9;

/// Vertex arrays of one mesh. Positions are in Bevy's axes relative to the chunk origin.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OverlayMesh {
    pub positions: Vec<[f32; 3]>,
    /// Lines: the segment's other end; others: unused.
    pub others: Vec<[f32; 3]>,
    /// Corner (bits 0–1), status (2–3), kind (4–6), operator (8–12), primitive (16–17).
    pub info: Vec<u32>,
    /// In-service day ([`NO_DAY`] when unknown) and capacity in fibres (0 when unknown).
    pub values: Vec<[f32; 2]>,
    /// Feature number: sites first, then spans (`sites.len() + span index`).
    pub features: Vec<u32>,
    pub indices: Vec<u32>,
}

impl OverlayMesh {
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// GPU bytes of the mesh (vertices of 44 bytes, u32 indices).
    pub fn gpu_bytes(&self) -> u64 {
        (self.positions.len() * 44 + self.indices.len() * 4) as u64
    }

    /// The two triangles of the quad whose four vertices start at `base`.
    fn push_quad(&mut self, base: u32) {
        self.indices
            .extend_from_slice(&[base, base + 1, base + 2, base + 2, base + 1, base + 3]);
    }

    fn push_vertex(
        &mut self,
        position: [f32; 3],
        other: [f32; 3],
        info: u32,
        values: [f32; 2],
        feature: u32,
    ) {
        self.positions.push(position);
        self.others.push(other);
        self.info.push(info);
        self.values.push(values);
        self.features.push(feature);
    }
}

/// The meshes of one chunk of the overlay.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OverlayChunk {
    /// Twin CRS position the vertices are relative to.
    pub origin: DVec3,
    /// Spans and site symbols (opaque).
    pub opaque: OverlayMesh,
    /// Antenna sectors (blended).
    pub sectors: OverlayMesh,
}

fn packed(status: u32, kind: u32, operator: u32, primitive: u32) -> u32 {
    (status << 2) | (kind << 4) | (operator << 8) | (primitive << 16)
}

fn day_value(day: Option<Day>) -> f32 {
    day.map_or(NO_DAY, |d| d.0 as f32)
}

/// The chunk holding `p`, created empty (origin at its centre, at `p`'s height) if needed.
fn chunk_at(chunks: &mut HashMap<(i64, i64), OverlayChunk>, p: DVec3) -> &mut OverlayChunk {
    let key = (
        (p.x / CHUNK_M).floor() as i64,
        (p.y / CHUNK_M).floor() as i64,
    );
    chunks.entry(key).or_insert_with(|| OverlayChunk {
        origin: DVec3::new(
            (key.0 as f64 + 0.5) * CHUNK_M,
            (key.1 as f64 + 0.5) * CHUNK_M,
            p.z,
        ),
        ..Default::default()
    })
}

/// Cuts `network` into chunk meshes.
pub fn build_chunks(network: &Network, operators: &OperatorIndex) -> Vec<OverlayChunk> {
    let mut chunks: HashMap<(i64, i64), OverlayChunk> = HashMap::new();
    for (i, site) in network.sites.iter().enumerate() {
        if !site.position.is_finite() {
            continue;
        }
        let chunk = chunk_at(&mut chunks, site.position);
        let local = world_from_crs(site.position - chunk.origin);
        let (status, kind) = (status_index(&site.status), kind_index(&site.kind));
        let operator = operators.index(site.operator.as_deref());
        let values = [day_value(site.in_service), 0.0];
        let feature = i as u32;
        let base = chunk.opaque.positions.len() as u32;
        for corner in 0..4 {
            chunk.opaque.push_vertex(
                local,
                [0.0; 3],
                packed(status, kind, operator, PRIMITIVE_SYMBOL) | corner,
                values,
                feature,
            );
        }
        chunk.opaque.push_quad(base);
        if let Some(sector) = Sector::of(site) {
            let info = packed(status, kind, operator, PRIMITIVE_WEDGE);
            let apex = chunk.sectors.positions.len() as u32;
            chunk
                .sectors
                .push_vertex(local, [0.0; 3], info, values, feature);
            let rim = sector.rim(12);
            for p in &rim {
                let at = world_from_crs(site.position + *p - chunk.origin);
                chunk
                    .sectors
                    .push_vertex(at, [0.0; 3], info, values, feature);
            }
            for k in 0..rim.len() as u32 - 1 {
                chunk
                    .sectors
                    .indices
                    .extend_from_slice(&[apex, apex + 1 + k, apex + 2 + k]);
            }
        }
    }
    let first_span = network.sites.len() as u32;
    for (i, span) in network.spans.iter().enumerate() {
        let status = status_index(&span.status);
        let operator = operators.index(span.operator.as_deref());
        let info = packed(status, SPAN_KIND, operator, PRIMITIVE_LINE);
        let values = [
            day_value(span.in_service),
            span.capacity_fibres.map_or(0.0, |c| c as f32),
        ];
        let feature = first_span + i as u32;
        for pair in span.path.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if !(a.is_finite() && b.is_finite()) {
                continue;
            }
            let chunk = chunk_at(&mut chunks, a);
            let (pa, pb) = (
                world_from_crs(a - chunk.origin),
                world_from_crs(b - chunk.origin),
            );
            let base = chunk.opaque.positions.len() as u32;
            // Corner bit 0: side of the line; bit 1: which end.
            for corner in 0..4u32 {
                let (this, other) = if corner & 2 == 0 { (pa, pb) } else { (pb, pa) };
                chunk
                    .opaque
                    .push_vertex(this, other, info | corner, values, feature);
            }
            chunk.opaque.push_quad(base);
        }
    }
    let mut chunks: Vec<OverlayChunk> = chunks.into_values().collect();
    chunks.sort_by(|a, b| {
        (a.origin.y, a.origin.x)
            .partial_cmp(&(b.origin.y, b.origin.x))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    chunks
}

/// A feature of a layer's network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Feature {
    Site(usize),
    Span(usize),
}

/// Screen-space projection of the twin for picking and labels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Screen {
    /// Clip space from CRS coordinates (wgpu depth 0..1).
    pub clip_from_world: DMat4,
    pub size_px: DVec2,
}

impl Screen {
    /// Pixel position (origin top-left) of a CRS point in front of the camera.
    pub fn project(&self, p: DVec3) -> Option<DVec2> {
        let c = self.clip_from_world * p.extend(1.0);
        if c.w <= 1e-9 {
            return None;
        }
        let ndc = c.truncate() / c.w;
        Some(DVec2::new(
            (ndc.x + 1.0) * 0.5 * self.size_px.x,
            (1.0 - ndc.y) * 0.5 * self.size_px.y,
        ))
    }
}

/// The shown feature nearest `cursor_px` within `radius_px` (sites win over spans at equal
/// distance, being drawn on top). Returns it with its distance in pixels.
pub fn pick(
    network: &Network,
    filter: &NetworkFilter,
    operators: &OperatorIndex,
    screen: &Screen,
    cursor_px: DVec2,
    radius_px: f64,
) -> Option<(Feature, f64)> {
    let mut best: Option<(Feature, f64)> = None;
    let mut consider = |feature, d: f64| {
        if d <= radius_px && best.is_none_or(|(_, b)| d < b) {
            best = Some((feature, d));
        }
    };
    for (i, site) in network.sites.iter().enumerate() {
        let operator = operators.index(site.operator.as_deref());
        let kind = kind_index(&site.kind);
        if !filter.shows(status_index(&site.status), kind, operator, site.in_service) {
            continue;
        }
        if let Some(p) = screen.project(site.position) {
            // The symbol's own radius counts as a hit.
            let half = f64::from(KIND_SIZE_PX[kind as usize]) * 0.5;
            consider(
                Feature::Site(i),
                (p.distance(cursor_px) - half).max(0.0) * 0.999,
            );
        }
    }
    for (i, span) in network.spans.iter().enumerate() {
        let operator = operators.index(span.operator.as_deref());
        if !filter.shows(
            status_index(&span.status),
            SPAN_KIND,
            operator,
            span.in_service,
        ) {
            continue;
        }
        let projected: Vec<Option<DVec2>> = span.path.iter().map(|p| screen.project(*p)).collect();
        for pair in projected.windows(2) {
            if let [Some(a), Some(b)] = pair {
                consider(Feature::Span(i), segment_distance(cursor_px, *a, *b));
            }
        }
    }
    best
}

fn segment_distance(p: DVec2, a: DVec2, b: DVec2) -> f64 {
    let ab = b - a;
    let t = if ab.length_squared() > 0.0 {
        ((p - a).dot(ab) / ab.length_squared()).clamp(0.0, 1.0)
    } else {
        0.0
    };
    p.distance(a + ab * t)
}

/// Distribution points (many, small) are labelled only this close to the eye, metres.
pub const DP_LABEL_RANGE_M: f64 = 250.0;

/// A label placed on screen.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// Anchor (the site's symbol centre), pixels from the top-left.
    pub at_px: DVec2,
    pub text: String,
    pub site: usize,
}

/// Labels for the shown sites of the labelled kinds (offices, cabinets, masts, and distribution
/// points nearer than [`DP_LABEL_RANGE_M`]), most important and nearest first, skipping any
/// whose box would overlap one already placed, at most `max`.
/// A label's box is `char_px` per character wide and `line_px` high, right of the anchor.
pub fn place_labels(
    network: &Network,
    filter: &NetworkFilter,
    operators: &OperatorIndex,
    screen: &Screen,
    eye: DVec3,
    (char_px, line_px): (f64, f64),
    max: usize,
) -> Vec<Label> {
    let mut candidates: Vec<(u32, f64, usize, DVec2)> = network
        .sites
        .iter()
        .enumerate()
        .filter_map(|(i, site)| {
            let kind = kind_index(&site.kind);
            let distance = site.position.distance(eye);
            if kind > 3 || (kind == 2 && distance > DP_LABEL_RANGE_M) {
                return None;
            }
            let operator = operators.index(site.operator.as_deref());
            if !filter.shows(status_index(&site.status), kind, operator, site.in_service) {
                return None;
            }
            let p = screen.project(site.position)?;
            let inside =
                p.x >= 0.0 && p.y >= 0.0 && p.x < screen.size_px.x && p.y < screen.size_px.y;
            inside.then_some((kind, distance, i, p))
        })
        .collect();
    candidates.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut placed: Vec<(Label, DVec2, DVec2)> = Vec::new();
    for (kind, _, i, p) in candidates {
        if placed.len() >= max {
            break;
        }
        let text = network.sites[i].id.clone();
        let offset = f64::from(KIND_SIZE_PX[kind as usize]) * 0.5 + 2.0;
        let lo = DVec2::new(p.x + offset, p.y - line_px * 0.5);
        let hi = lo + DVec2::new(char_px * text.chars().count() as f64, line_px);
        let overlaps = placed
            .iter()
            .any(|(_, a, b)| lo.x < b.x && hi.x > a.x && lo.y < b.y && hi.y > a.y);
        if !overlaps {
            placed.push((
                Label {
                    at_px: p,
                    text,
                    site: i,
                },
                lo,
                hi,
            ));
        }
    }
    placed.into_iter().map(|(label, _, _)| label).collect()
}

/// Shown features by kind and by status, for the legend.
pub fn counts(
    network: &Network,
    filter: &NetworkFilter,
    operators: &OperatorIndex,
) -> ([usize; 8], [usize; 4]) {
    let mut kinds = [0; 8];
    let mut statuses = [0; 4];
    let sites = network.sites.iter().map(|s| {
        (
            status_index(&s.status),
            kind_index(&s.kind),
            s.operator.as_deref(),
            s.in_service,
        )
    });
    let spans = network.spans.iter().map(|s| {
        (
            status_index(&s.status),
            SPAN_KIND,
            s.operator.as_deref(),
            s.in_service,
        )
    });
    for (status, kind, operator, day) in sites.chain(spans) {
        if filter.shows(status, kind, operators.index(operator), day) {
            kinds[kind as usize] += 1;
            statuses[status as usize] += 1;
        }
    }
    (kinds, statuses)
}

/// Earliest and latest in-service days of a network, for the time slider's range.
pub fn day_range<'a>(networks: impl IntoIterator<Item = &'a Network>) -> Option<(Day, Day)> {
    networks
        .into_iter()
        .flat_map(|n| {
            n.sites
                .iter()
                .map(|s| s.in_service)
                .chain(n.spans.iter().map(|s| s.in_service))
        })
        .flatten()
        .fold(None, |acc, d| match acc {
            None => Some((d, d)),
            Some((lo, hi)) => Some((lo.min(d), hi.max(d))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::model::Span;
    use crate::spatial::View;
    use serde_json::{Map, json};

    fn site(id: &str, kind: SiteKind, status: Status, at: DVec3, properties: Value) -> Site {
        Site {
            id: id.into(),
            kind,
            status,
            position: at,
            operator: None,
            in_service: None,
            properties: properties.as_object().cloned().unwrap_or_default(),
        }
    }

    fn span(id: &str, status: Status, path: Vec<DVec3>) -> Span {
        Span {
            id: id.into(),
            status,
            capacity_fibres: Some(144),
            path,
            operator: Some("Jumeau Fibre".into()),
            in_service: Day::parse("2022-05-01"),
            properties: Map::new(),
        }
    }

    /// A cabinet, an antenna facing east and a span crossing a chunk border, in Lambert-93.
    fn network() -> Network {
        let base = DVec3::new(350_000.0, 6_788_000.0, 40.0);
        Network {
            sites: vec![
                site("PM-1", SiteKind::Cabinet, Status::Lit, base, json!({})),
                site(
                    "ANT-1",
                    SiteKind::Antenna,
                    Status::Built,
                    base + DVec3::new(100.0, 0.0, 28.0),
                    json!({"azimuth_deg": 90.0, "tilt_deg": 10.0}),
                ),
            ],
            spans: vec![span(
                "S-1",
                Status::Planned,
                vec![
                    base,
                    base + DVec3::new(0.0, 400.0, 0.0),
                    base + DVec3::new(-800.0, 400.0, 0.0),
                ],
            )],
            issues: Vec::new(),
        }
    }

    #[test]
    fn chunks_hold_symbols_segments_and_sectors_as_small_offsets() {
        let net = network();
        let operators = OperatorIndex::of([&net]);
        assert_eq!(operators.names, vec!["Jumeau Fibre".to_owned()]);
        let chunks = build_chunks(&net, &operators);
        // 350 000 / 2048 = 170.9 and 349 200 / 2048 = 170.5: one column; 6 788 000 / 2048 =
        // 3314.4 and 6 788 400 / 2048 = 3314.6: one row.
        assert_eq!(chunks.len(), 1);
        let chunk = &chunks[0];
        assert_eq!(chunk.origin.x, 170.5 * CHUNK_M);
        // 2 site quads + 2 segment quads.
        assert_eq!(chunk.opaque.positions.len(), 16);
        assert_eq!(chunk.opaque.indices.len(), 24);
        let far = chunk
            .opaque
            .positions
            .iter()
            .map(|p| p.iter().fold(0f32, |m, v| m.max(v.abs())))
            .fold(0f32, f32::max);
        assert!(far < 2.0 * CHUNK_M as f32, "offsets stay small: {far}");
        // The cabinet's symbol: lit (2), cabinet (1), no operator (0), symbol primitive.
        assert_eq!(chunk.opaque.info[0] >> 2 & 3, 2);
        assert_eq!(chunk.opaque.info[0] >> 4 & 7, 1);
        assert_eq!(chunk.opaque.info[0] >> 16 & 3, PRIMITIVE_SYMBOL);
        // The first segment: planned, span kind, operator 1, both ends carried.
        let seg = 8;
        assert_eq!(chunk.opaque.info[seg] >> 4 & 7, SPAN_KIND);
        assert_eq!(chunk.opaque.info[seg] >> 8 & 31, 1);
        assert_eq!(chunk.opaque.positions[seg], chunk.opaque.others[seg + 2]);
        let start = world_from_crs(net.spans[0].path[0] - chunk.origin);
        let end = world_from_crs(net.spans[0].path[1] - chunk.origin);
        assert_eq!(chunk.opaque.positions[seg], start);
        assert_eq!(chunk.opaque.others[seg], end);
        assert_eq!(
            chunk.opaque.values[seg],
            [Day::parse("2022-05-01").unwrap().0 as f32, 144.0]
        );
        assert_eq!(
            chunk.opaque.features[seg], 2,
            "spans are numbered after the sites"
        );
        // The antenna's sector: an apex and a 13-point rim, 12 triangles.
        assert_eq!(chunk.sectors.positions.len(), 14);
        assert_eq!(chunk.sectors.indices.len(), 36);
    }

    #[test]
    fn far_apart_features_get_their_own_chunks() {
        let mut net = network();
        net.spans[0].path[2].x += 5.0 * CHUNK_M;
        let last = net.spans[0].path[2] + DVec3::new(10.0, 0.0, 0.0);
        net.spans[0].path.push(last);
        let chunks = build_chunks(&net, &OperatorIndex::default());
        assert_eq!(chunks.len(), 2);
        let segments: usize = chunks.iter().map(|c| c.opaque.indices.len() / 6).sum();
        assert_eq!(segments, 2 + 3);
    }

    #[test]
    fn a_sector_points_along_its_azimuth_and_tilts_down() {
        let net = network();
        let sector = Sector::of(&net.sites[1]).unwrap();
        assert_eq!(sector.beamwidth_deg, 65.0);
        let rim = sector.rim(2);
        assert!(rim[1].x > 75.0 && rim[1].y.abs() < 1e-9, "{:?}", rim[1]);
        assert!((rim[1].z + 80.0 * 10f64.to_radians().sin()).abs() < 1e-9);
        assert!(
            rim[0].y > 0.0 && rim[2].y < 0.0,
            "65° wide, centred on east"
        );
        assert_eq!(Sector::of(&net.sites[0]), None, "no azimuth: no sector");
    }

    #[test]
    fn the_filter_hides_by_status_kind_operator_and_date() {
        let mut filter = NetworkFilter::default();
        let day = Day::parse("2024-01-01");
        assert!(filter.shows(2, 1, 3, day));
        filter.statuses[2] = false;
        assert!(!filter.shows(2, 1, 3, day));
        filter = NetworkFilter {
            hidden_operators: 1 << 3,
            ..Default::default()
        };
        assert!(!filter.shows(0, 1, 3, day) && filter.shows(0, 1, 2, day));
        filter = NetworkFilter {
            until: Day::parse("2023-12-31"),
            ..Default::default()
        };
        assert!(!filter.shows(0, 1, 0, day), "built after the slider's day");
        assert!(filter.shows(0, 1, 0, None), "undated features always show");
        filter.kinds[SPAN_KIND as usize] = false;
        assert!(!filter.shows(0, SPAN_KIND, 0, None));
    }

    /// Looking straight down on the network's first site from 1 km, 1000 px square.
    fn screen_above(net: &Network) -> Screen {
        let target = net.sites[0].position;
        let view = View::look_at(
            target + DVec3::new(0.0, -1.0, 1000.0),
            target,
            DVec3::Z,
            1.0,
            1.0,
            1000.0,
        );
        Screen {
            clip_from_world: view.clip_from_world,
            size_px: DVec2::splat(1000.0),
        }
    }

    #[test]
    fn a_click_picks_the_nearest_shown_site_or_span() {
        let net = network();
        let operators = OperatorIndex::of([&net]);
        let screen = screen_above(&net);
        let filter = NetworkFilter::default();
        let cabinet = screen.project(net.sites[0].position).unwrap();
        assert!((cabinet - DVec2::splat(500.0)).length() < 1.0, "{cabinet}");
        let pick_at = |p: DVec2, filter: &NetworkFilter| {
            pick(&net, filter, &operators, &screen, p, 8.0).map(|(f, _)| f)
        };
        assert_eq!(
            pick_at(cabinet + DVec2::new(3.0, 3.0), &filter),
            Some(Feature::Site(0))
        );
        // Half-way up the span's first segment (north is up on screen).
        let mid = screen
            .project(net.sites[0].position + DVec3::new(0.0, 200.0, 0.0))
            .unwrap();
        assert_eq!(
            pick_at(mid + DVec2::new(5.0, 0.0), &filter),
            Some(Feature::Span(0))
        );
        assert_eq!(pick_at(mid + DVec2::new(40.0, 0.0), &filter), None);
        let no_planned = NetworkFilter {
            statuses: [false, true, true, true],
            ..Default::default()
        };
        assert_eq!(
            pick_at(mid, &no_planned),
            None,
            "hidden features are not picked"
        );
    }

    #[test]
    fn labels_do_not_overlap_and_offices_come_first() {
        let mut net = network();
        let base = net.sites[0].position;
        net.sites.push(site(
            "NRO-1",
            SiteKind::CentralOffice,
            Status::Lit,
            base + DVec3::new(0.5, 0.0, 0.0),
            json!({}),
        ));
        net.sites.push(site(
            "PM-2",
            SiteKind::Cabinet,
            Status::Lit,
            base + DVec3::new(-300.0, 0.0, 0.0),
            json!({}),
        ));
        let operators = OperatorIndex::of([&net]);
        let screen = screen_above(&net);
        let eye = base + DVec3::new(0.0, -1.0, 1000.0);
        let labels = place_labels(
            &net,
            &NetworkFilter::default(),
            &operators,
            &screen,
            eye,
            (7.0, 14.0),
            10,
        );
        let texts: Vec<&str> = labels.iter().map(|l| l.text.as_str()).collect();
        // PM-1 sits under NRO-1's label (0.5 m apart): only the office is labelled there; the
        // antenna is not a labelled kind.
        assert_eq!(texts, vec!["NRO-1", "PM-2"]);
        let one = place_labels(
            &net,
            &NetworkFilter::default(),
            &operators,
            &screen,
            eye,
            (7.0, 14.0),
            1,
        );
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn legend_counts_follow_the_filter_and_days_span_the_network() {
        let net = network();
        let operators = OperatorIndex::of([&net]);
        let (kinds, statuses) = counts(&net, &NetworkFilter::default(), &operators);
        assert_eq!(kinds[1] + kinds[4] + kinds[SPAN_KIND as usize], 3);
        assert_eq!(statuses, [1, 1, 1, 0]);
        let hide = NetworkFilter {
            hidden_operators: 1 << 1,
            ..Default::default()
        };
        assert_eq!(counts(&net, &hide, &operators).0[SPAN_KIND as usize], 0);
        let day = Day::parse("2022-05-01").unwrap();
        assert_eq!(day_range([&net]), Some((day, day)));
    }
}
