//! `jumeau bench vpc`: a commune of tiles as one layer. The CPU of one selection over a
//! 10⁴-tile virtual point cloud (target ≤ 1 ms a frame), and the bytes an overview of a 36-tile
//! VPC fetches over HTTP (target ≤ 5 % of all the tiles' bytes), with the tiles' headers
//! fetched only when the walk reaches them.

use crate::io::{self, ByteSource};
use crate::pointcloud::CopcReader;
use crate::pointcloud::lod::{PointBudget, SelectSource, select_across};
use crate::pointcloud::octree::{Cube, Hierarchy, NodeData, VoxelKey};
use crate::spatial::Aabb;
use crate::spatial::View;
use bevy::math::DVec3;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Options of `jumeau bench vpc`.
#[derive(Debug, Clone, clap::Args)]
pub struct VpcBench {
    /// Tiles of the large VPC whose selection is timed (a square grid of 1 km tiles).
    #[arg(long, default_value_t = 10_000)]
    pub tiles: usize,
    /// Tiles a side of the VPC served over HTTP (36 = 6 × 6).
    #[arg(long, default_value_t = 6)]
    pub http_side: u32,
    /// Points of each tile of the VPC served over HTTP.
    #[arg(long, default_value_t = 1_000_000)]
    pub tile_points: u64,
    #[arg(long, default_value_t = 1_000_000)]
    pub budget: u64,
    /// Selections timed per view (median reported).
    #[arg(long, default_value_t = 200)]
    pub runs: usize,
    /// Work folder for the generated tiles (default: the user cache folder).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

/// A tile's hierarchy as a terrain gives it: 4 children a node (the lower half of z), `depth`
/// levels, over the 1 km tile at `origin`.
fn tile_hierarchy(origin: DVec3, depth: i32) -> Hierarchy {
    let cube = Cube {
        center: origin + DVec3::new(500.0, 500.0, 500.0),
        halfsize: 500.0,
    };
    let mut h = Hierarchy::new(cube, 1000.0 / 128.0);
    let mut level = vec![VoxelKey::ROOT];
    for _ in 0..depth {
        let mut next = Vec::new();
        for key in level {
            h.insert(
                key,
                Some(NodeData {
                    offset: 0,
                    byte_size: 1,
                    point_count: 16_000,
                }),
                None,
            );
            next.extend([0, 1, 2, 3].map(|i| key.child(i)));
        }
        level = next;
    }
    h
}

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The CPU of one selection over `tiles` tiles: (view name, median ms, tiles wanted open,
/// nodes selected).
fn large_vpc_selection(
    tiles: usize,
    budget: u64,
    runs: usize,
) -> Vec<(&'static str, f64, usize, usize)> {
    let side = (tiles as f64).sqrt().ceil() as usize;
    let origin = DVec3::new(600_000.0, 6_600_000.0, 0.0);
    let bounds: Vec<Aabb> = (0..tiles)
        .map(|i| {
            let min =
                origin + DVec3::new((i % side) as f64 * 1000.0, (i / side) as f64 * 1000.0, 0.0);
            Aabb {
                min,
                max: min + DVec3::new(1000.0, 1000.0, 120.0),
            }
        })
        .collect();
    let all = bounds.iter().fold(bounds[0], |a, b| a.union(b));
    // At street level, in the middle tile: it and its eight neighbours are open.
    let middle = (side / 2) * side + side / 2;
    let centre = bounds[middle].center();
    let street = View::look_at(
        DVec3::new(centre.x, centre.y, 2.0),
        DVec3::new(centre.x + 300.0, centre.y + 200.0, 0.0),
        DVec3::Z,
        1.0,
        16.0 / 9.0,
        1080.0,
    );
    let open: Vec<(usize, Hierarchy)> = (0..tiles)
        .filter(|&i| {
            let (c, r) = (i % side, i / side);
            c.abs_diff(middle % side) <= 1 && r.abs_diff(middle / side) <= 1
        })
        .map(|i| (i, tile_hierarchy(bounds[i].min, 6)))
        .collect();
    let overview = View::framing(&all, 1.0, 16.0 / 9.0, 1080.0);
    let mut out = Vec::new();
    for (name, view, with_open) in [
        ("overview", overview, false),
        ("street level", street, true),
    ] {
        let sources: Vec<SelectSource> = (0..tiles)
            .map(
                |i| match open.iter().find(|(t, _)| *t == i).filter(|_| with_open) {
                    Some((_, h)) => SelectSource::Open(h),
                    None => SelectSource::Lazy(bounds[i]),
                },
            )
            .collect();
        let mut times = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            let s = select_across(&sources, &view, PointBudget::points(budget));
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            last = Some(s);
        }
        let s = last.unwrap_or_default();
        out.push((name, median_ms(times), s.tiles_wanted.len(), s.nodes.len()));
    }
    out
}

/// What the overview of a VPC served over HTTP fetched.
struct Overview {
    fetched: u64,
    /// Bytes of all the tiles.
    total: u64,
    tiles_opened: usize,
    points: u64,
    nodes: usize,
}

/// A tile opened: its bytes (they count what was fetched) and its reader.
type OpenedTile = (Arc<dyn ByteSource>, CopcReader<Arc<dyn ByteSource>>);

fn overview_over_http(vpc_url: &str, budget: u64) -> Result<Overview, Box<dyn std::error::Error>> {
    let vpc_source = io::open(vpc_url)?;
    let vpc_bytes = vpc_source.read_all()?;
    let tiles = crate::pointcloud::vpc::read_vpc(&vpc_bytes, vpc_url)?;
    let mut fetched = vpc_bytes.len() as u64;
    let mut total = 0;
    let mut readers: Vec<Option<OpenedTile>> = tiles.iter().map(|_| None).collect();
    let all = tiles
        .iter()
        .map(|t| t.bounds)
        .reduce(|a, b| a.union(&b))
        .ok_or("an empty VPC")?;
    let view = View::framing(&all, 1.0, 16.0 / 9.0, 1080.0);
    // What the streaming does frame after frame: open the tiles the walk reaches, read the
    // pages it wants, until the selection stops changing; then fetch its nodes.
    let selection = loop {
        let sources: Vec<SelectSource> = tiles
            .iter()
            .zip(&readers)
            .map(|(t, r)| match r {
                Some((_, reader)) => SelectSource::Open(&reader.hierarchy),
                None => SelectSource::Lazy(t.bounds),
            })
            .collect();
        let s = select_across(&sources, &view, PointBudget::points(budget));
        drop(sources);
        if s.tiles_wanted.is_empty() && s.pages_wanted.is_empty() {
            break s;
        }
        for &i in &s.tiles_wanted {
            let bytes = io::open(&tiles[i].href)?;
            readers[i] = Some((bytes.clone(), CopcReader::open(bytes)?));
        }
        for &(i, key) in &s.pages_wanted {
            if let Some((_, reader)) = readers[i].as_mut() {
                reader.load_page(key)?;
            }
        }
    };
    for &(i, node) in &selection.nodes {
        if let Some((_, reader)) = &readers[i] {
            reader.fetch_node(node.key)?;
        }
    }
    for (tile, reader) in tiles.iter().zip(&readers) {
        match reader {
            Some((bytes, _)) => {
                fetched += bytes.bytes_fetched();
                total += bytes.len()?;
            }
            None => total += io::open(&tile.href)?.len()?,
        }
    }
    Ok(Overview {
        fetched,
        total,
        tiles_opened: readers.iter().flatten().count(),
        points: selection.total_points,
        nodes: selection.nodes.len(),
    })
}

/// `jumeau bench vpc`.
pub fn run(options: VpcBench) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "selection over a {}-tile VPC (one walk, budget {}, median of {}):",
        options.tiles, options.budget, options.runs
    );
    for (name, ms, wanted, nodes) in
        large_vpc_selection(options.tiles, options.budget, options.runs)
    {
        println!(
            "  {name}: {ms:.3} ms CPU ({}), {wanted} tiles wanted open, {nodes} nodes selected",
            if ms <= 1.0 {
                "≤ 1 ms: met"
            } else {
                "over the 1 ms target"
            }
        );
    }
    let work = options
        .work_dir
        .unwrap_or_else(|| crate::front::paths::cache_dir().join("bench-vpc"));
    let side = options.http_side;
    let count = u64::from(side * side);
    let points = options.tile_points * count;
    let copc_dir = work.join(format!("copc-{side}x{side}-{points}"));
    let vpc = copc_dir.join("tiles.vpc");
    if !vpc.exists() {
        let laz_dir = work.join(format!("laz-{side}x{side}-{points}"));
        eprintln!(
            "generating {count} tiles of {} points...",
            options.tile_points
        );
        let bar = indicatif::ProgressBar::new(points);
        crate::demo::write_demo_tiles(&laz_dir, points, side, 3, &bar)?;
        bar.finish_and_clear();
        crate::pointcloud::tiles::convert_tiles(
            &laz_dir,
            &copc_dir,
            crate::pointcloud::tiles::Shard::default(),
            &Default::default(),
        )?;
        std::fs::remove_dir_all(&laz_dir)?;
    }
    let server = io::test_server::serve_folder(&copc_dir, io::test_server::Behaviour::Ranges)?;
    let o = overview_over_http(&format!("{}tiles.vpc", server.url), options.budget)?;
    let share = 100.0 * o.fetched as f64 / o.total as f64;
    println!(
        "overview of a {count}-tile VPC over HTTP (1920×1080, budget {}): {} tiles opened, {} nodes, {} points; fetched {} of {} bytes ({share:.2} %, {})",
        options.budget,
        o.tiles_opened,
        o.nodes,
        o.points,
        o.fetched,
        o.total,
        if share <= 5.0 {
            "≤ 5 %: met"
        } else {
            "over the 5 % target"
        }
    );
    Ok(())
}
