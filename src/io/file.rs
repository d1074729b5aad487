//! A local file read with positioned reads (no shared cursor, so threads can read at once).

use super::{ByteSource, SourceError, check_range};
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};

/// A byte source over a local file.
#[derive(Debug)]
pub struct FileSource {
    name: String,
    file: File,
    len: u64,
    fetched: AtomicU64,
    requests: AtomicU64,
}

impl FileSource {
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let open_error = |error| SourceError::Open {
            source_name: name.clone(),
            error,
        };
        let file = File::open(path).map_err(open_error)?;
        let metadata = file.metadata().map_err(open_error)?;
        if metadata.is_dir() {
            return Err(open_error(std::io::Error::other("is a directory")));
        }
        Ok(Self {
            len: metadata.len(),
            name,
            file,
            fetched: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        })
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file.seek_read(buf, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        offset += n as u64;
    }
    Ok(())
}

impl ByteSource for FileSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> Result<u64, SourceError> {
        Ok(self.len)
    }
    fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>, SourceError> {
        check_range(&self.name, offset, len, self.len)?;
        let mut buf = vec![0; len as usize];
        read_exact_at(&self.file, &mut buf, offset).map_err(|error| SourceError::Io {
            source_name: self.name.clone(),
            offset,
            error,
        })?;
        self.fetched.fetch_add(len, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(buf)
    }
    fn bytes_fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }
    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}
