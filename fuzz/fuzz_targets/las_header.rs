//! Fuzzes the LAS header/VLR/EVLR parser, the LAZ chunk table and node decoding, and the COPC
//! hierarchy reader: any bytes must give a value or an error, never a panic or an abort.
#![no_main]

use jumeau::io::MemorySource;
use jumeau::pointcloud::las::LasFile;
use jumeau::pointcloud::{Attributes, CopcReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
