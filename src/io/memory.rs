//! Bytes already in memory (tests, the web build, generated data).

use super::{ByteSource, SourceError, check_range};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A byte source over a shared buffer.
#[derive(Debug)]
pub struct MemorySource {
    name: String,
    bytes: Arc<[u8]>,
    fetched: AtomicU64,
    requests: AtomicU64,
}

impl MemorySource {
    pub fn new(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
            fetched: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }
}

impl ByteSource for MemorySource {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> Result<u64, SourceError> {
        Ok(self.bytes.len() as u64)
    }
    fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>, SourceError> {
        check_range(&self.name, offset, len, self.bytes.len() as u64)?;
        self.fetched.fetch_add(len, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        // In range: checked above, and the buffer length fits usize.
        Ok(self.bytes[offset as usize..(offset + len) as usize].to_vec())
    }
    fn bytes_fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }
    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}
