//! `Read + Seek` over a [`ByteSource`], with a read-ahead window so that small sequential reads
//! (headers, LAZ chunks) become few large range requests.

use super::{ByteSource, SourceError};
use std::io::{self, Read, Seek, SeekFrom};

/// Adapts a byte source to `std::io::Read + Seek` for parsers that want a stream.
pub struct RangeReader<'a> {
    source: &'a dyn ByteSource,
    len: u64,
    position: u64,
    window_start: u64,
    window: Vec<u8>,
    read_ahead: u64,
}

impl<'a> RangeReader<'a> {
    pub fn new(source: &'a dyn ByteSource, read_ahead: u64) -> Result<Self, SourceError> {
        Ok(Self {
            len: source.len()?,
            source,
            position: 0,
            window_start: 0,
            window: Vec::new(),
            read_ahead: read_ahead.max(1),
        })
    }
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.position >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let window_end = self.window_start + self.window.len() as u64;
        if self.position < self.window_start || self.position >= window_end {
            let len = (self.len - self.position).min(self.read_ahead.max(buf.len() as u64));
            self.window = self
                .source
                .read_range(self.position, len)
                .map_err(io::Error::other)?;
            self.window_start = self.position;
        }
        let start = (self.position - self.window_start) as usize;
        let n = buf.len().min(self.window.len() - start);
        buf[..n].copy_from_slice(&self.window[start..start + n]);
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for RangeReader<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the source",
            )
        })?;
        self.position = target;
        Ok(target)
    }
}
