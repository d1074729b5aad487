//! Fuzzes the LAS header/VLR/EVLR parser, the LAZ chunk table and node decoding, and the COPC
//! hierarchy reader: any bytes must give a value or an error, never a panic or an abort.
#![no_main]

use jumeau::io::MemorySource;
use jumeau::pointcloud::las::LasFile;
use jumeau::pointcloud::{Attributes, CopcReader};
use libfuzzer_sys::fuzz_target;

/// libfuzzer-sys aborts on every panic, even one that is caught. The `laz` crate panics on some
/// corrupt chunks (e.g. `decoders.rs: sym < 1 << 16`); Jumeau catches those around each decode
/// and returns an error, so they are not findings. A panic anywhere else still aborts.
fn abort_unless_in_laz() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_laz = info
            .location()
            .is_some_and(|l| l.file().contains("/laz-0."));
        if !in_laz {
            default_hook(info);
            std::process::abort();
        }
    }));
}

fuzz_target!(init: abort_unless_in_laz(), |data: &[u8]| {
    if let Ok(file) = LasFile::open(MemorySource::new("fuzz.laz", data.to_vec())) {
        for block in file.blocks.iter().take(4) {
            let _ = file.decode_block(block, laz::DecompressionSelection::all());
        }
    }
    if let Ok(mut reader) = CopcReader::open(MemorySource::new("fuzz.copc.laz", data.to_vec())) {
        let _ = reader.load_all_pages();
        let keys: Vec<_> = reader.hierarchy.nodes().iter().take(4).map(|n| n.key).collect();
        for key in keys {
            let _ = reader.read_node(key, Attributes::ALL);
        }
    }
});
