//! HTTP(S) byte source: one range request per read, bounded retries with back-off, a clear
//! error naming the URL and the range when the server says no.

use super::{ByteSource, SourceError, check_range};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Retry and timeout policy for HTTP sources.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// Time allowed for one whole request (connect, headers, body).
    pub timeout: Duration,
    /// Wait before the first retry; doubled at each further retry.
    pub first_backoff: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            attempts: 4,
            timeout: Duration::from_secs(30),
            first_backoff: Duration::from_millis(200),
        }
    }
}

/// `end` of a request for the whole resource (sent without a `Range` header).
const WHOLE: u64 = u64::MAX;
/// The most a whole-resource GET reads (a tile or a tileset JSON is far smaller).
const MAX_WHOLE_BYTES: u64 = 1 << 30;

/// A remote file read with `Range: bytes=a-b` requests.
pub struct HttpSource {
    url: String,
    agent: ureq::Agent,
    settings: HttpSettings,
    len: OnceLock<u64>,
    fetched: AtomicU64,
    requests: AtomicU64,
}

/// What one attempt produced: a final answer, or a failure worth retrying.
enum Attempt {
    Done(Result<(u16, Option<u64>, Vec<u8>), SourceError>),
    Retry(String),
}

impl HttpSource {
    pub fn new(url: &str, settings: HttpSettings) -> Result<Self, SourceError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(settings.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Self {
            url: url.to_owned(),
            agent,
            settings,
            len: OnceLock::new(),
            fetched: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        })
    }

    /// One GET of `offset..end` (exclusive end), retried on connection errors and 5xx/429.
    fn get_range(&self, offset: u64, end: u64) -> Result<(u16, Option<u64>, Vec<u8>), SourceError> {
        let mut last_error = String::new();
        let mut backoff = self.settings.first_backoff;
        for attempt in 0..self.settings.attempts.max(1) {
            if attempt > 0 {
                std::thread::sleep(backoff);
                backoff *= 2;
            }
            match self.attempt(offset, end) {
                Attempt::Done(result) => return result,
                Attempt::Retry(error) => {
                    log::warn!("{}: attempt {} failed: {error}", self.url, attempt + 1);
                    last_error = error;
                }
            }
        }
        Err(SourceError::Unreachable {
            source_name: self.url.clone(),
            attempts: self.settings.attempts.max(1),
            last_error,
        })
    }

    fn attempt(&self, offset: u64, end: u64) -> Attempt {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let range = format!("bytes={}-{}", offset, end.saturating_sub(1));
        let whole = offset == 0 && end == WHOLE;
        let request = self.agent.get(&self.url);
        let request = if whole {
            request
        } else {
            request.header("Range", &range)
        };
        let response = match request.call() {
            Ok(response) => response,
            Err(error) => return Attempt::Retry(error.to_string()),
        };
        let status = response.status().as_u16();
        if status >= 500 || status == 429 {
            return Attempt::Retry(format!("HTTP {status} for bytes {offset}..{end}"));
        }
        if whole && status == 200 {
            return self.read_body(response, status, None, MAX_WHOLE_BYTES, offset, end);
        }
        if status == 200 {
            // The whole file is coming: a range server is required to stream.
            return Attempt::Done(Err(SourceError::NoRangeSupport {
                source_name: self.url.clone(),
                status,
            }));
        }
        if status != 206 {
            return Attempt::Done(Err(SourceError::HttpStatus {
                source_name: self.url.clone(),
                status,
                offset,
                end,
            }));
        }
        let total = response
            .headers()
            .get("content-range")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit('/').next())
            .and_then(|total| total.trim().parse::<u64>().ok());
        self.read_body(response, status, total, end - offset, offset, end)
    }

    fn read_body(
        &self,
        mut response: ureq::http::Response<ureq::Body>,
        status: u16,
        total: Option<u64>,
        limit: u64,
        offset: u64,
        end: u64,
    ) -> Attempt {
        let body = response
            .body_mut()
            .with_config()
            .limit(limit.saturating_add(1))
            .read_to_vec();
        match body {
            Ok(body) => {
                self.fetched.fetch_add(body.len() as u64, Ordering::Relaxed);
                Attempt::Done(Ok((status, total, body)))
            }
            Err(error) => Attempt::Retry(format!(
                "reading the body of bytes {offset}..{end}: {error}"
            )),
        }
    }
}

impl ByteSource for HttpSource {
    fn name(&self) -> &str {
        &self.url
    }

    fn len(&self) -> Result<u64, SourceError> {
        if let Some(len) = self.len.get() {
            return Ok(*len);
        }
        // A one-byte range request tells the total size in Content-Range without a HEAD
        // (some static hosts answer HEAD differently from GET).
        let (status, total, _) = self.get_range(0, 1)?;
        let len = match (status, total) {
            (206, Some(total)) => total,
            (status, _) => {
                return Err(SourceError::NoRangeSupport {
                    source_name: self.url.clone(),
                    status,
                });
            }
        };
        Ok(*self.len.get_or_init(|| len))
    }

    fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>, SourceError> {
        let total = self.len()?;
        check_range(&self.url, offset, len, total)?;
        if len == 0 {
            return Ok(Vec::new());
        }
        let (status, _, body) = self.get_range(offset, offset + len)?;
        if status != 206 {
            return Err(SourceError::NoRangeSupport {
                source_name: self.url.clone(),
                status,
            });
        }
        if body.len() as u64 != len {
            return Err(SourceError::ShortRead {
                source_name: self.url.clone(),
                offset,
                wanted: len,
                available: body.len() as u64,
            });
        }
        Ok(body)
    }

    /// One plain GET (no range needed: tiles and tileset JSON come from any static server).
    fn read_all(&self) -> Result<Vec<u8>, SourceError> {
        let (status, _, body) = self.get_range(0, WHOLE)?;
        if status != 200 && status != 206 {
            return Err(SourceError::HttpStatus {
                source_name: self.url.clone(),
                status,
                offset: 0,
                end: WHOLE,
            });
        }
        Ok(body)
    }

    fn bytes_fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}
