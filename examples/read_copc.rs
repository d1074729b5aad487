//! The library without the engine (the README's "As a library"): open a COPC file or URL, choose
//! the nodes a camera needs under a point budget, and read them with their classes.
//!
//! ```sh
//! cargo run --release --example read_copc -- tile.copc.laz   # or an http(s) URL
//! ```

use jumeau::io;
use jumeau::pointcloud::{Attributes, CopcReader, PointBudget, VoxelKey, select_nodes};
use jumeau::spatial::View;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let input = std::env::args()
        .nth(1)
        .ok_or("usage: read_copc FILE_OR_URL (a COPC file)")?;
    let mut reader = CopcReader::open(io::open(&input)?)?;
    let bounds = reader.hierarchy.cube.bounds(VoxelKey::ROOT);
    let view = View::framing(&bounds, 1.0, 16.0 / 9.0, 1080.0);
    let selection = select_nodes(&reader.hierarchy, &view, PointBudget::points(1_000_000));
    // Hierarchy pages load on demand.
    for key in &selection.pages_wanted {
        reader.load_page(*key)?;
    }
    let attributes = Attributes {
        classification: true,
        ..Default::default()
    };
    let mut ground = 0usize;
    let mut points = 0usize;
    for node in &selection.nodes {
        let chunk = reader.read_node(node.key, attributes)?;
        // chunk.positions are f32 offsets from chunk.origin (f64, in the file's CRS): GPU-ready.
        points += chunk.positions.len();
        ground += chunk
            .classification
            .iter()
            .flatten()
            .filter(|&&c| c == 2)
            .count();
    }
    println!(
        "{input}: {} nodes for a full view, {points} points, {ground} of them ground",
        selection.nodes.len()
    );
    Ok(())
}
