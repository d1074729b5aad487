//! The bookkeeping behind the web build's `fetch` source: which byte ranges of which URLs have
//! arrived, which are on their way, which failed, under one memory cap.
//!
//! Browsers cannot block on a request, so readers there work in two steps: they ask for a
//! range; if it is not here yet the ask starts a request (at most [`FetchCache::max_in_flight`]
//! at once) and the reader tries again later. Everything here is plain data, so it is tested on
//! every target; the requests themselves live in `io::fetch` (wasm only).

use std::collections::HashMap;
use std::sync::Arc;

/// What a reader wants of a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Want {
    /// `len` bytes at `offset` (an HTTP range request).
    Range { offset: u64, len: u64 },
    /// The whole resource (a plain GET).
    Whole,
}

/// Small reads are rounded up to this many bytes, so that a header and the records after it
/// come in one request.
pub const MIN_RANGE: u64 = 64 * 1024;

/// The state of a want.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Its bytes are here.
    Here,
    /// Its request failed (until [`FetchCache::forget_failure`]; then the next ask fetches
    /// again).
    Failed(String),
    /// Not here yet: a request is on its way or will start on a later ask.
    Waiting,
}

/// What a completed request brought.
#[derive(Debug, Clone)]
pub struct Arrived {
    /// Offset of the first byte in the resource.
    pub offset: u64,
    pub bytes: Vec<u8>,
    /// The resource's total size when the answer said it (`Content-Range`, or a whole body).
    pub total_len: Option<u64>,
}

#[derive(Debug)]
struct Block {
    offset: u64,
    bytes: Arc<[u8]>,
    last_used: u64,
}

#[derive(Debug, Default)]
struct Resource {
    len: Option<u64>,
    blocks: Vec<Block>,
    on_its_way: Vec<Want>,
    failed: HashMap<Want, String>,
    bytes_fetched: u64,
    requests: u64,
}

impl Resource {
    /// The blocks that hold `len` bytes at `offset` between them, in order (a read may span
    /// blocks that arrived apart); `None` when a byte of it is missing.
    fn covering(&self, offset: u64, len: u64) -> Option<Vec<usize>> {
        let end = offset + len;
        let mut at = offset;
        let mut parts = Vec::new();
        if len == 0 {
            return Some(parts);
        }
        loop {
            // Of the blocks holding byte `at`, the one reaching furthest.
            let (i, block_end) = self
                .blocks
                .iter()
                .enumerate()
                .map(|(i, b)| (i, b.offset, b.offset + b.bytes.len() as u64))
                .filter(|&(_, start, stop)| start <= at && at < stop)
                .map(|(i, _, stop)| (i, stop))
                .max_by_key(|&(_, stop)| stop)?;
            parts.push(i);
            at = block_end;
            if at >= end {
                return Some(parts);
            }
        }
    }

    /// The range a want stands for, once the size is known (`Whole` needs the size); a range
    /// past the end of a resource of known size stops at its end.
    fn span(&self, want: Want) -> Option<(u64, u64)> {
        match (want, self.len) {
            (Want::Range { offset, len }, Some(total)) => {
                Some((offset, len.min(total.saturating_sub(offset))))
            }
            (Want::Range { offset, len }, None) => Some((offset, len)),
            (Want::Whole, len) => len.map(|len| (0, len)),
        }
    }
}

/// Fetched blocks of every URL, least recently used dropped first beyond the cap.
#[derive(Debug)]
pub struct FetchCache {
    resources: HashMap<String, Resource>,
    clock: u64,
    bytes: u64,
    cap_bytes: u64,
    in_flight: usize,
    /// Requests running at once (browsers queue more per host anyway).
    pub max_in_flight: usize,
    /// Asks that found nothing here yet, ever: tells a retry loop whether trying again helps.
    misses: u64,
}

/// A request to start: the URL and what to ask for.
pub type Start = (String, Want);

impl FetchCache {
    pub fn new(cap_bytes: u64, max_in_flight: usize) -> Self {
        Self {
            resources: HashMap::new(),
            clock: 0,
            bytes: 0,
            cap_bytes,
            in_flight: 0,
            max_in_flight,
            misses: 0,
        }
    }

    /// Where `want` of `url` stands. When it is neither here nor on its way and a request slot
    /// is free, returns the request the caller must start (then report with [`Self::arrived`] or
    /// [`Self::failed`]).
    pub fn ask(&mut self, url: &str, want: Want) -> (State, Option<Start>) {
        let resource = self.resources.entry(url.to_owned()).or_default();
        if let Some(error) = resource.failed.get(&want) {
            return (State::Failed(error.clone()), None);
        }
        if let Some((offset, len)) = resource.span(want)
            && let Some(parts) = resource.covering(offset, len)
        {
            self.clock += 1;
            for i in parts {
                resource.blocks[i].last_used = self.clock;
            }
            return (State::Here, None);
        }
        self.misses += 1;
        if resource.on_its_way.contains(&want) || self.in_flight >= self.max_in_flight {
            return (State::Waiting, None);
        }
        resource.on_its_way.push(want);
        resource.requests += 1;
        self.in_flight += 1;
        (State::Waiting, Some((url.to_owned(), want)))
    }

    /// Drops the failure of `want` once it was reported, so that the next ask fetches again.
    pub fn forget_failure(&mut self, url: &str, want: Want) {
        if let Some(resource) = self.resources.get_mut(url) {
            resource.failed.remove(&want);
        }
    }

    /// Whether a range is here, in one block or several (without copying it).
    pub fn has(&self, url: &str, offset: u64, len: u64) -> bool {
        self.resources
            .get(url)
            .is_some_and(|r| r.covering(offset, len).is_some())
    }

    /// The bytes of a range that is here (in one block or several).
    pub fn read(&mut self, url: &str, offset: u64, len: u64) -> Option<Vec<u8>> {
        let resource = self.resources.get_mut(url)?;
        let parts = resource.covering(offset, len)?;
        self.clock += 1;
        let mut out = Vec::with_capacity(len as usize);
        for i in parts {
            let block = &mut resource.blocks[i];
            block.last_used = self.clock;
            let at = offset + out.len() as u64;
            let start = (at - block.offset) as usize;
            let take = (block.bytes.len() - start).min(len as usize - out.len());
            out.extend_from_slice(&block.bytes[start..start + take]);
        }
        Some(out)
    }

    /// The total size of `url`, once an answer told it.
    pub fn len(&self, url: &str) -> Option<u64> {
        self.resources.get(url)?.len
    }

    /// Records the answer to a request started by [`Self::ask`]. An answer shorter than what
    /// was asked (and not cut by the end of the resource) is a failure of that want: asking
    /// again would only bring the same short answer.
    pub fn arrived(&mut self, url: &str, want: Want, arrived: Arrived) {
        self.finish(url, want);
        let resource = self.resources.entry(url.to_owned()).or_default();
        if arrived.total_len.is_some() {
            resource.len = arrived.total_len;
        }
        resource.bytes_fetched += arrived.bytes.len() as u64;
        self.clock += 1;
        self.bytes += arrived.bytes.len() as u64;
        let (got_offset, got) = (arrived.offset, arrived.bytes.len() as u64);
        resource.blocks.push(Block {
            offset: arrived.offset,
            bytes: arrived.bytes.into(),
            last_used: self.clock,
        });
        if let Some((offset, len)) = resource.span(want)
            && resource.covering(offset, len).is_none()
        {
            resource.failed.insert(
                want,
                format!(
                    "short answer: asked for bytes {offset}..{}, got {got_offset}..{}",
                    offset + len,
                    got_offset + got
                ),
            );
        }
        self.evict();
    }

    /// Records that a request started by [`Self::ask`] failed: asks of the same want get the
    /// error until it is forgotten.
    pub fn failed(&mut self, url: &str, want: Want, error: String) {
        self.finish(url, want);
        self.resources
            .entry(url.to_owned())
            .or_default()
            .failed
            .insert(want, error);
    }

    fn finish(&mut self, url: &str, want: Want) {
        if let Some(resource) = self.resources.get_mut(url) {
            resource.on_its_way.retain(|w| *w != want);
        }
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Requests on their way.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Asks so far that found nothing here yet.
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Bytes received and requests made for `url`.
    pub fn traffic(&self, url: &str) -> (u64, u64) {
        self.resources
            .get(url)
            .map_or((0, 0), |r| (r.bytes_fetched, r.requests))
    }

    /// Bytes received for every URL together.
    pub fn total_fetched(&self) -> u64 {
        self.resources.values().map(|r| r.bytes_fetched).sum()
    }

    /// Bytes held now.
    pub fn held_bytes(&self) -> u64 {
        self.bytes
    }

    /// Drops the least recently used blocks until the cap holds, never the block that just
    /// arrived: a block larger than the cap stays (alone) until the next one, else its reader
    /// would fetch it again and again.
    fn evict(&mut self) {
        let newest = self.clock;
        while self.bytes > self.cap_bytes {
            let oldest = self
                .resources
                .iter()
                .flat_map(|(url, r)| {
                    r.blocks
                        .iter()
                        .enumerate()
                        .filter(|(_, b)| b.last_used != newest)
                        .map(move |(i, b)| (b.last_used, url, i))
                })
                .min_by_key(|(used, _, _)| *used)
                .map(|(_, url, i)| (url.clone(), i));
            let Some((url, i)) = oldest else { break };
            let resource = self.resources.get_mut(&url).expect("found above");
            let block = resource.blocks.swap_remove(i);
            self.bytes -= block.bytes.len() as u64;
            if self.bytes <= self.cap_bytes || self.resources.values().all(|r| r.blocks.is_empty())
            {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(offset: u64, len: u64) -> Want {
        Want::Range { offset, len }
    }

    #[test]
    fn a_range_is_fetched_once_then_read_from_any_block_that_covers_it() {
        let mut cache = FetchCache::new(1 << 20, 4);
        let (state, start) = cache.ask("u", range(0, 100));
        assert_eq!(state, State::Waiting);
        assert_eq!(start, Some(("u".to_owned(), range(0, 100))));
        // Asked again while on its way: no second request.
        assert_eq!(cache.ask("u", range(0, 100)), (State::Waiting, None));
        cache.arrived(
            "u",
            range(0, 100),
            Arrived {
                offset: 0,
                bytes: (0..100).collect(),
                total_len: Some(1000),
            },
        );
        assert_eq!(cache.in_flight(), 0);
        assert_eq!(cache.len("u"), Some(1000));
        // A smaller range inside the block is here without a request.
        assert_eq!(cache.ask("u", range(10, 5)).0, State::Here);
        assert_eq!(cache.read("u", 10, 5), Some(vec![10, 11, 12, 13, 14]));
        assert_eq!(cache.read("u", 90, 20), None, "past the block");
        assert_eq!(cache.traffic("u"), (100, 1));
    }

    #[test]
    fn requests_beyond_the_limit_wait_for_a_free_slot() {
        let mut cache = FetchCache::new(1 << 20, 2);
        assert!(cache.ask("u", range(0, 1)).1.is_some());
        assert!(cache.ask("u", range(1, 1)).1.is_some());
        assert_eq!(cache.ask("u", range(2, 1)), (State::Waiting, None));
        cache.failed("u", range(0, 1), "HTTP 404".into());
        assert!(
            cache.ask("u", range(2, 1)).1.is_some(),
            "a slot is free again"
        );
        // The failure stands until it is forgotten, then the range is fetched again.
        for _ in 0..2 {
            assert_eq!(
                cache.ask("u", range(0, 1)).0,
                State::Failed("HTTP 404".into())
            );
        }
        cache.forget_failure("u", range(0, 1));
        cache.failed("u", range(2, 1), "HTTP 500".into());
        assert!(cache.ask("u", range(0, 1)).1.is_some());
    }

    #[test]
    fn a_whole_resource_is_here_once_its_body_arrived() {
        let mut cache = FetchCache::new(1 << 20, 4);
        let (_, start) = cache.ask("t.json", Want::Whole);
        assert!(start.is_some());
        cache.arrived(
            "t.json",
            Want::Whole,
            Arrived {
                offset: 0,
                bytes: b"{}".to_vec(),
                total_len: Some(2),
            },
        );
        assert_eq!(cache.ask("t.json", Want::Whole).0, State::Here);
        assert_eq!(cache.read("t.json", 0, 2), Some(b"{}".to_vec()));
    }

    fn arrive(cache: &mut FetchCache, offset: u64, bytes: Vec<u8>, total_len: Option<u64>) {
        let want = range(offset, bytes.len() as u64);
        cache.arrived(
            "u",
            want,
            Arrived {
                offset,
                bytes,
                total_len,
            },
        );
    }

    #[test]
    fn a_read_spanning_two_blocks_is_served_without_a_request() {
        let mut cache = FetchCache::new(1 << 20, 4);
        cache.ask("u", range(0, 100));
        arrive(&mut cache, 0, (0..100).collect(), Some(1000));
        cache.ask("u", range(100, 100));
        arrive(&mut cache, 100, (100..200).collect(), Some(1000));
        assert_eq!(cache.ask("u", range(50, 100)), (State::Here, None));
        assert_eq!(
            cache.read("u", 50, 100),
            Some((50..150).collect::<Vec<u8>>())
        );
        assert!(cache.has("u", 0, 200));
        assert!(!cache.has("u", 150, 100), "bytes 200.. never came");
        assert_eq!(cache.traffic("u"), (200, 2));
    }

    #[test]
    fn a_block_larger_than_the_cap_stays_until_the_next_one_arrives() {
        let mut cache = FetchCache::new(100, 4);
        cache.ask("u", range(0, 50));
        arrive(&mut cache, 0, vec![1; 50], None);
        cache.ask("u", range(1000, 300));
        arrive(&mut cache, 1000, vec![2; 300], None);
        // The big block is kept (it is what the reader waits for), the older one goes.
        assert_eq!(cache.ask("u", range(1000, 300)), (State::Here, None));
        assert_eq!(cache.read("u", 1100, 2), Some(vec![2, 2]));
        assert!(!cache.has("u", 0, 50));
        assert_eq!(cache.held_bytes(), 300);
        assert_eq!(
            cache.traffic("u"),
            (350, 2),
            "fetched once, not again and again"
        );
        cache.ask("u", range(0, 50));
        arrive(&mut cache, 0, vec![1; 50], None);
        assert_eq!(cache.held_bytes(), 50, "the next block evicts it");
    }

    #[test]
    fn a_short_answer_fails_its_want_and_the_end_of_the_file_does_not() {
        let mut cache = FetchCache::new(1 << 20, 4);
        // 64 KiB asked at 900 of a 1000-byte file: the 100 bytes to its end are the answer.
        cache.ask("u", range(900, MIN_RANGE));
        cache.arrived(
            "u",
            range(900, MIN_RANGE),
            Arrived {
                offset: 900,
                bytes: vec![7; 100],
                total_len: Some(1000),
            },
        );
        assert_eq!(cache.ask("u", range(900, MIN_RANGE)), (State::Here, None));
        // 500 bytes asked, 200 came (a server or proxy that cut the body).
        cache.ask("u", range(0, 500));
        cache.arrived(
            "u",
            range(0, 500),
            Arrived {
                offset: 0,
                bytes: vec![1; 200],
                total_len: Some(1000),
            },
        );
        match cache.ask("u", range(0, 500)) {
            (State::Failed(why), None) => {
                assert!(
                    why.contains("short answer") && why.contains("0..200"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            cache.read("u", 0, 200),
            Some(vec![1; 200]),
            "what came is kept"
        );
    }

    #[test]
    fn the_least_recently_used_blocks_go_beyond_the_cap() {
        let mut cache = FetchCache::new(250, 8);
        for i in 0..3u64 {
            cache.ask("u", range(i * 100, 100));
            cache.arrived(
                "u",
                range(i * 100, 100),
                Arrived {
                    offset: i * 100,
                    bytes: vec![i as u8; 100],
                    total_len: None,
                },
            );
            if i == 1 {
                // Block 0 used after block 1 arrived: block 1 is the oldest now.
                assert!(cache.read("u", 0, 1).is_some());
            }
        }
        assert_eq!(cache.held_bytes(), 200);
        assert!(cache.read("u", 0, 100).is_some());
        assert!(cache.read("u", 100, 100).is_none());
        assert!(cache.read("u", 200, 100).is_some());
        assert_eq!(cache.total_fetched(), 300);
    }
}
