//! Byte sources: a local file, bytes in memory or an HTTP(S) server with range requests, behind
//! one [`ByteSource`] trait so that every reader works the same on all of them.
//!
//! Readers never touch `std::fs` or the network themselves: they ask a source for byte ranges.
//! The web build reads through `fetch` ([`fetch_cache`] keeps what arrived).

#[cfg(target_arch = "wasm32")]
pub mod fetch;
pub mod fetch_cache;
#[cfg(not(target_arch = "wasm32"))]
mod file;
#[cfg(not(target_arch = "wasm32"))]
pub mod http;
mod memory;
mod range_reader;
#[cfg(not(target_arch = "wasm32"))]
pub mod test_server;

#[cfg(not(target_arch = "wasm32"))]
pub use file::FileSource;
pub use memory::MemorySource;
pub use range_reader::RangeReader;

use std::sync::Arc;

/// Why a byte range could not be read. Every variant names the source it came from.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{source_name}: cannot open: {error}")]
    Open {
        source_name: String,
        error: std::io::Error,
    },
    #[error(
        "{source_name}: short read at offset {offset}: asked for {wanted} bytes, the source has {available}"
    )]
    ShortRead {
        source_name: String,
        offset: u64,
        wanted: u64,
        available: u64,
    },
    #[error("{source_name}: read error at offset {offset}: {error}")]
    Io {
        source_name: String,
        offset: u64,
        error: std::io::Error,
    },
    #[error("{source_name}: HTTP {status} for bytes {offset}..{end}")]
    HttpStatus {
        source_name: String,
        status: u16,
        offset: u64,
        end: u64,
    },
    #[error("{source_name}: gave up after {attempts} attempts: {last_error}")]
    Unreachable {
        source_name: String,
        attempts: u32,
        last_error: String,
    },
    #[error(
        "{source_name}: the server ignored the range request (answered {status} instead of 206)"
    )]
    NoRangeSupport { source_name: String, status: u16 },
    /// The bytes are on their way (web build): ask again once they have arrived.
    #[error("{source_name}: bytes {offset}..{end} are still on their way")]
    NotYet {
        source_name: String,
        offset: u64,
        end: u64,
    },
    #[error("{source_name}: {error}")]
    Fetch { source_name: String, error: String },
}

/// A random-access source of bytes: the only way readers reach data.
///
/// Implementations must be cheap to share between threads (`Send + Sync`): node fetches run in
/// parallel.
pub trait ByteSource: Send + Sync {
    /// A human name for messages: the path or URL.
    fn name(&self) -> &str;
    /// Total size in bytes.
    fn len(&self) -> Result<u64, SourceError>;
    /// Whether the source holds no byte at all.
    fn is_empty(&self) -> Result<bool, SourceError> {
        Ok(self.len()? == 0)
    }
    /// Reads exactly `len` bytes at `offset`; a range past the end is a [`SourceError::ShortRead`].
    fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>, SourceError>;
    /// The whole resource (a tile, a tileset JSON).
    fn read_all(&self) -> Result<Vec<u8>, SourceError> {
        self.read_range(0, self.len()?)
    }
    /// Whether reading `len` bytes at `offset` can proceed without waiting (or fails at once).
    /// Sources that cannot block (the web build's `fetch`) start the request when it cannot;
    /// the others are always ready.
    fn ready(&self, _offset: u64, _len: u64) -> bool {
        true
    }
    /// Whether [`ByteSource::read_all`] can proceed without waiting, as for [`ByteSource::ready`].
    fn ready_all(&self) -> bool {
        true
    }
    /// Bytes actually fetched from the backing store so far (for streaming statistics).
    fn bytes_fetched(&self) -> u64;
    /// Number of requests made so far.
    fn requests(&self) -> u64;
}

impl<S: ByteSource + ?Sized> ByteSource for Arc<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn len(&self) -> Result<u64, SourceError> {
        (**self).len()
    }
    fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>, SourceError> {
        (**self).read_range(offset, len)
    }
    fn read_all(&self) -> Result<Vec<u8>, SourceError> {
        (**self).read_all()
    }
    fn ready(&self, offset: u64, len: u64) -> bool {
        (**self).ready(offset, len)
    }
    fn ready_all(&self) -> bool {
        (**self).ready_all()
    }
    fn bytes_fetched(&self) -> u64 {
        (**self).bytes_fetched()
    }
    fn requests(&self) -> u64 {
        (**self).requests()
    }
}

/// Opens a URL as a shared byte source (the web build reads everything through `fetch`).
#[cfg(target_arch = "wasm32")]
pub fn open(input: &str) -> Result<Arc<dyn ByteSource>, SourceError> {
    Ok(Arc::new(fetch::FetchSource::new(input)))
}

/// Opens a path or an `http(s)://` URL as a shared byte source.
#[cfg(not(target_arch = "wasm32"))]
pub fn open(input: &str) -> Result<Arc<dyn ByteSource>, SourceError> {
    if input.starts_with("http://") || input.starts_with("https://") {
        Ok(Arc::new(http::HttpSource::new(
            input,
            http::HttpSettings::default(),
        )?))
    } else {
        Ok(Arc::new(FileSource::open(input)?))
    }
}

/// Checks that `offset..offset+len` lies within a source of `total` bytes.
pub(crate) fn check_range(
    source_name: &str,
    offset: u64,
    len: u64,
    total: u64,
) -> Result<(), SourceError> {
    match offset.checked_add(len) {
        Some(end) if end <= total => Ok(()),
        _ => Err(SourceError::ShortRead {
            source_name: source_name.to_owned(),
            offset,
            wanted: len,
            available: total.saturating_sub(offset),
        }),
    }
}

/// The last part of a path or URL (`tile.laz` of `…/tiles/tile.laz` or `C:\data\tile.laz`).
pub fn file_name(input: &str) -> &str {
    input.rsplit(['/', '\\']).next().unwrap_or(input)
}

/// Workers fetching at once: the concurrency limit for HTTP and files alike.
pub const FETCH_WORKERS: usize = 4;
