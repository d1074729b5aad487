//! Malformed files and misbehaving servers: every one gives an error that names the file and
//! what was wrong — never a panic, never a huge allocation from a lying header.
//!
//! The fixtures are generated here from a small valid file written by the demo generator.

use byteorder::{ByteOrder, LittleEndian as LE};
use jumeau::io::http::{HttpSettings, HttpSource};
use jumeau::io::test_server::{Behaviour, serve};
use jumeau::io::{ByteSource, MemorySource};
use jumeau::pointcloud::convert::{ConvertSettings, convert};
use jumeau::pointcloud::las::LasFile;
use jumeau::pointcloud::{Attributes, CopcReader, VoxelKey};
use laz::DecompressionSelection;
use std::sync::Arc;
use std::time::Duration;

/// A valid 120 000-point LAZ (format 7, Lambert-93) and its COPC conversion, as bytes; built
/// once and shared by the tests of this file.
fn fixtures() -> (Vec<u8>, Vec<u8>) {
    static FIXTURES: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    FIXTURES.get_or_init(build_fixtures).clone()
}

fn build_fixtures() -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let laz = dir.path().join("town.laz");
    jumeau::demo::write_demo_laz(&laz, 120_000, 3, &indicatif::ProgressBar::hidden()).unwrap();
    let copc = dir.path().join("town.copc.laz");
    let file =
        LasFile::open(Arc::new(jumeau::io::FileSource::open(&laz).unwrap()) as Arc<dyn ByteSource>)
            .unwrap();
    convert(&[file], &copc, &ConvertSettings::default()).unwrap();
    (std::fs::read(&laz).unwrap(), std::fs::read(&copc).unwrap())
}

fn open_las(name: &str, bytes: Vec<u8>) -> Result<LasFile<MemorySource>, String> {
    LasFile::open(MemorySource::new(name, bytes)).map_err(|e| e.to_string())
}

/// The error of opening `source` as COPC, as text (the test fails if it opens).
fn copc_open_error(source: impl ByteSource) -> String {
    match CopcReader::open(source) {
        Ok(_) => panic!("expected an error, the file opened"),
        Err(e) => e.to_string(),
    }
}

/// Decodes every block; the first error as text.
fn read_all(file: &LasFile<MemorySource>) -> Result<u64, String> {
    let mut n = 0;
    for b in &file.blocks {
        let records = file
            .decode_block(b, DecompressionSelection::all())
            .map_err(|e| e.to_string())?;
        n += records.len() as u64 / u64::from(file.header.point_record_len);
    }
    Ok(n)
}

#[test]
fn malformed_files_give_named_errors() {
    let (laz, _) = fixtures();
    let valid = open_las("valid.laz", laz.clone()).unwrap();
    assert_eq!(read_all(&valid).unwrap(), 120_000);

    let e = open_las(
        "photo.jpg",
        b"\xff\xd8\xff\xe0 not a point cloud at all".to_vec(),
    )
    .unwrap_err();
    assert!(
        e.contains("photo.jpg") && e.contains("not a LAS/LAZ file"),
        "{e}"
    );

    let e = open_las("empty.laz", Vec::new()).unwrap_err();
    assert!(e.contains("empty.laz"), "{e}");

    let e = open_las("cut-header.laz", laz[..200].to_vec()).unwrap_err();
    assert!(
        e.contains("cut-header.laz") && e.contains("truncated"),
        "{e}"
    );

    // A header that claims 10^12 points.
    let mut lying = laz.clone();
    LE::write_u64(&mut lying[247..], 1_000_000_000_000);
    let e = open_las("lying-count.laz", lying).unwrap_err();
    assert!(
        e.contains("lying-count.laz") && e.contains("1000000000000"),
        "{e}"
    );

    // Same in an uncompressed LAS: the field is named.
    let mut las = laz.clone();
    las[104] = 7; // pretend uncompressed
    LE::write_u64(&mut las[247..], 1_000_000_000_000);
    let e = open_las("lying-count.las", las).unwrap_err();
    assert!(
        e.contains("number_of_point_records") && e.contains("room for only"),
        "{e}"
    );

    // A record length that does not match the LAZ items.
    let mut bad_len = laz.clone();
    LE::write_u16(&mut bad_len[105..], 40);
    let e = open_las("record-length.laz", bad_len).unwrap_err();
    assert!(
        e.contains("record-length.laz") && e.contains("point_data_record_length"),
        "{e}"
    );

    // A record length shorter than the format.
    let mut short = laz.clone();
    LE::write_u16(&mut short[105..], 10);
    let e = open_las("short-record.laz", short).unwrap_err();
    assert!(
        e.contains("point_data_record_length") && e.contains("shorter"),
        "{e}"
    );

    // Offset to point data past the end.
    let mut far = laz.clone();
    LE::write_u32(&mut far[96..], u32::MAX);
    let e = open_las("far.laz", far).unwrap_err();
    assert!(e.contains("offset_to_point_data"), "{e}");

    // VLR count that cannot fit.
    let mut vlrs = laz.clone();
    LE::write_u32(&mut vlrs[100..], 4_000_000);
    let e = open_las("vlrs.laz", vlrs).unwrap_err();
    assert!(e.contains("number_of_vlrs"), "{e}");

    // Chunk table offset pointing outside the file.
    let data_start = LE::read_u32(&laz[96..]) as usize;
    let mut table = laz.clone();
    LE::write_i64(&mut table[data_start..], i64::MAX);
    let e = open_las("chunk-offset.laz", table).unwrap_err();
    assert!(
        e.contains("chunk-offset.laz") && e.contains("chunk table"),
        "{e}"
    );

    // A corrupted chunk table body: garbage bytes where the table is.
    let table_at = LE::read_i64(&laz[data_start..]) as usize;
    let mut garbage = laz.clone();
    for (i, b) in garbage[table_at + 4..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(97).wrapping_add(13);
    }
    match open_las("chunk-table.laz", garbage) {
        Err(e) => assert!(e.contains("chunk-table.laz"), "{e}"),
        Ok(file) => assert!(read_all(&file).is_err()),
    }

    // Truncated point data: the header and table survive, the chunks do not.
    let mut truncated = laz[..laz.len() / 2].to_vec();
    truncated.extend_from_slice(&laz[table_at..]);
    match open_las("truncated.laz", truncated) {
        Err(e) => assert!(e.contains("truncated.laz"), "{e}"),
        Ok(file) => {
            let e = read_all(&file).unwrap_err();
            assert!(e.contains("truncated.laz"), "{e}");
        }
    }

    // Corrupted compressed bytes inside a chunk: an error (or wrong values), never a crash.
    let mut noisy = laz.clone();
    for b in &mut noisy[data_start + 5000..data_start + 9000] {
        *b ^= 0x5a;
    }
    if let Ok(file) = open_las("noisy.laz", noisy) {
        let _ = read_all(&file);
    }
}

#[test]
fn malformed_copc_gives_named_errors_and_keeps_what_loaded() {
    let (laz, copc) = fixtures();
    let e = copc_open_error(MemorySource::new("plain.laz", laz));
    assert!(
        e.contains("plain.laz") && e.contains("not a COPC file"),
        "{e}"
    );

    let reader = CopcReader::open(MemorySource::new("ok.copc.laz", copc.clone())).unwrap();
    let root = reader.hierarchy.get(VoxelKey::ROOT).unwrap().data.unwrap();
    // Break the root node's bytes: that node fails, the others still decode.
    let mut broken = copc.clone();
    for b in &mut broken[root.offset as usize..(root.offset + root.byte_size / 2) as usize] {
        *b = 0xff;
    }
    let reader = CopcReader::open(MemorySource::new("broken.copc.laz", broken)).unwrap();
    let ok_nodes = reader
        .hierarchy
        .nodes()
        .iter()
        .filter(|n| n.key != VoxelKey::ROOT && n.data.is_some())
        .count();
    let other = reader
        .hierarchy
        .nodes()
        .iter()
        .find(|n| n.key != VoxelKey::ROOT && n.data.is_some())
        .unwrap()
        .key;
    assert!(ok_nodes > 0);
    assert_eq!(
        reader.read_node(other, Attributes::ALL).unwrap().len(),
        reader
            .hierarchy
            .get(other)
            .unwrap()
            .data
            .unwrap()
            .point_count as usize
    );
    if let Err(e) = reader.read_node(VoxelKey::ROOT, Attributes::ALL) {
        assert!(e.to_string().contains("broken.copc.laz"), "{e}");
    }

    // A layer size in the root chunk's layer table claiming ~4 GiB (found by fuzzing: the LAZ
    // decoder used to allocate it). PF7: the first point is 36 raw bytes, then the count, then
    // the layer sizes; the first size is the xy/returns layer.
    let mut huge = copc.clone();
    LE::write_u32(&mut huge[root.offset as usize + 36 + 4..], 0xffff_fff0);
    let reader = CopcReader::open(MemorySource::new("huge-layer.copc.laz", huge)).unwrap();
    let e = reader
        .read_node(VoxelKey::ROOT, Attributes::ALL)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("huge-layer.copc.laz") && e.contains("layers declare"),
        "{e}"
    );

    // A hierarchy entry pointing past the end of the file.
    let info_at = 375 + 54;
    let hier = LE::read_u64(&copc[info_at + 40..]) as usize;
    let mut bad = copc.clone();
    LE::write_u64(&mut bad[hier + 16..], u64::MAX / 2);
    let e = copc_open_error(MemorySource::new("bad-hier.copc.laz", bad));
    assert!(
        e.contains("bad-hier.copc.laz") && e.contains("hierarchy entry"),
        "{e}"
    );

    // A key outside the octree.
    let mut key = copc.clone();
    LE::write_i32(&mut key[hier..], 40);
    let e = copc_open_error(MemorySource::new("bad-key.copc.laz", key));
    assert!(e.contains("outside the octree"), "{e}");
}

fn http(url: &str) -> HttpSource {
    HttpSource::new(
        url,
        HttpSettings {
            attempts: 2,
            timeout: Duration::from_millis(800),
            first_backoff: Duration::from_millis(10),
        },
    )
    .unwrap()
}

#[test]
fn http_failures_name_the_url_and_what_happened() {
    let (_, copc) = fixtures();
    let bytes: Arc<[u8]> = copc.into();

    let not_found = serve(bytes.clone(), Behaviour::Status(404)).unwrap();
    let e = copc_open_error(http(&not_found.url));
    assert!(e.contains(&not_found.url) && e.contains("404"), "{e}");

    let failing = serve(bytes.clone(), Behaviour::Status(500)).unwrap();
    let e = copc_open_error(http(&failing.url));
    assert!(
        e.contains(&failing.url) && e.contains("gave up after 2 attempts") && e.contains("500"),
        "{e}"
    );
    assert_eq!(
        failing.requests.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "bounded retries"
    );

    let stalled = serve(bytes.clone(), Behaviour::Stall).unwrap();
    let started = std::time::Instant::now();
    let e = copc_open_error(http(&stalled.url));
    assert!(e.contains(&stalled.url) && e.contains("gave up"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));

    let short = serve(bytes.clone(), Behaviour::ShortBody).unwrap();
    let e = copc_open_error(http(&short.url));
    assert!(e.contains(&short.url), "{e}");

    let no_ranges = serve(bytes.clone(), Behaviour::NoRanges).unwrap();
    let e = copc_open_error(http(&no_ranges.url));
    assert!(e.contains("ignored the range request"), "{e}");

    let e = copc_open_error(http("http://127.0.0.1:9/nothing-listens-here"));
    assert!(e.contains("127.0.0.1:9") && e.contains("gave up"), "{e}");
}

#[test]
fn streaming_over_http_fetches_one_request_per_node_and_pages_on_demand() {
    let (_, copc) = fixtures();
    let total = copc.len() as u64;
    let server = serve(copc.into(), Behaviour::Ranges).unwrap();
    let source = Arc::new(http(&server.url));
    let reader = CopcReader::open(source.clone()).unwrap();
    let opened_with = source.requests();
    assert!(opened_with <= 6, "opening took {opened_with} requests");
    let known_nodes = reader
        .hierarchy
        .nodes()
        .iter()
        .filter(|n| n.data.is_some())
        .count();
    assert!(known_nodes >= 1);
    let before = source.requests();
    let chunk = reader.read_node(VoxelKey::ROOT, Attributes::ALL).unwrap();
    assert_eq!(source.requests() - before, 1, "one range request per node");
    assert!(!chunk.is_empty());
    assert!(
        source.bytes_fetched() < total,
        "opening and the root must not read the whole file"
    );
    let mut reader = reader;
    reader.load_all_pages().unwrap();
    assert_eq!(reader.hierarchy.pending_pages().count(), 0);
    assert_eq!(reader.hierarchy.known_points(), 120_000);
}

#[test]
fn a_geojson_file_alone_that_is_not_json_names_the_json_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sites.geojson");
    std::fs::write(
        &path,
        b"{\"type\": \"FeatureCollection\",\n \"features\": [,]}",
    )
    .unwrap();
    let error = jumeau::front::inputs::open_inputs(
        &[path.display().to_string()],
        dir.path(),
        None,
        &Default::default(),
        &indicatif::ProgressBar::hidden(),
    )
    .err()
    .expect("a file that is not JSON does not open");
    assert!(
        matches!(
            error,
            jumeau::Error::Network(jumeau::network::open::NetworkError::Ingest(_))
        ),
        "{error:?}"
    );
    let error = error.to_string();
    assert!(
        error.contains("sites.geojson") && error.contains("not JSON at line 2, column"),
        "{error}"
    );
    assert!(!error.contains("no position"), "{error}");
}
