//! Point-cloud fetch-and-decode jobs on a [`crate::jobs::WorkerPool`]: node and hierarchy-page
//! requests run off the main thread, the queue is replaced as the camera moves (requests no
//! longer wanted are cancelled before they start), and results come back through a channel.
//!
//! The pool knows nothing of Bevy; the streaming systems own one, feed it each frame, and give
//! it a `prepare` step that turns a decoded chunk into what the GPU needs, also off the main thread.

use super::copc::{Attributes, NodeDecoder, PointChunk};
use super::octree::{NodeData, PageRef, VoxelKey};
use crate::io::ByteSource;
use crate::jobs::{Task, WorkerPool};
use std::sync::Arc;

/// Which source of which layer a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId {
    pub layer: u16,
    pub source: u16,
}

/// One thing to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// A node's compressed points, decoded into a [`PointChunk`].
    Node { key: VoxelKey, data: NodeData },
    /// A hierarchy page describing the subtree of `key`.
    Page { key: VoxelKey, page: PageRef },
}

impl Request {
    pub fn key(&self) -> VoxelKey {
        match self {
            Request::Node { key, .. } | Request::Page { key, .. } => *key,
        }
    }
}

/// A request with everything a worker needs to carry it out.
#[derive(Clone)]
pub struct Job {
    pub id: SourceId,
    pub request: Request,
    pub source: Arc<dyn ByteSource>,
    pub decoder: Arc<NodeDecoder>,
    pub attributes: Attributes,
}

/// What came back for a job.
#[derive(Debug)]
pub enum Outcome<P> {
    Node {
        id: SourceId,
        key: VoxelKey,
        /// Compressed bytes fetched for it.
        fetched_bytes: u64,
        result: Result<P, String>,
    },
    Page {
        id: SourceId,
        key: VoxelKey,
        page: PageRef,
        result: Result<Vec<u8>, String>,
    },
}

/// Turns a decoded chunk into what the caller keeps (run on the worker).
pub type Prepare<P> = Arc<dyn Fn(PointChunk) -> P + Send + Sync>;

/// A job with the prepare step it ends with: the unit the worker pool runs.
struct PointTask<P> {
    job: Job,
    prepare: Prepare<P>,
}

impl<P: Send + 'static> Task for PointTask<P> {
    type Key = (SourceId, Request);
    type Output = Outcome<P>;

    fn key(&self) -> Self::Key {
        (self.job.id, self.job.request)
    }

    fn run(self) -> Outcome<P> {
        run(&self.job, &*self.prepare)
    }

    fn ready(&self) -> bool {
        match self.job.request {
            Request::Node { data, .. } => self.job.source.ready(data.offset, data.byte_size),
            Request::Page { page, .. } => self.job.source.ready(page.offset, page.byte_size),
        }
    }
}

/// The worker pool of the point-cloud layers. Dropping it stops the workers once their current
/// job is done.
pub struct FetchPool<P: Send + 'static> {
    pool: WorkerPool<PointTask<P>>,
    prepare: Prepare<P>,
}

impl<P: Send + 'static> FetchPool<P> {
    /// A pool of `workers` threads (the concurrency limit). With 0 workers, nothing runs until
    /// [`FetchPool::run_inline`] is called (for single-threaded targets and tests).
    pub fn new(workers: usize, prepare: Prepare<P>) -> Self {
        Self {
            pool: WorkerPool::new(workers, "jumeau-fetch"),
            prepare,
        }
    }

    pub fn workers(&self) -> usize {
        self.pool.workers()
    }

    /// Replaces the queued jobs (highest priority first). Queued jobs that are not in `jobs`
    /// any more are cancelled; jobs a worker already runs are not queued again.
    pub fn replace_queue(&self, jobs: Vec<Job>) {
        self.pool.replace_queue(
            jobs.into_iter()
                .map(|job| PointTask {
                    job,
                    prepare: self.prepare.clone(),
                })
                .collect(),
        );
    }

    /// (jobs waiting for a worker, jobs being worked on)
    pub fn load(&self) -> (usize, usize) {
        self.pool.load()
    }

    /// Runs ready jobs on the calling thread when the pool has no worker (the web build).
    pub fn run_inline_if_single_threaded(&self) {
        self.pool.run_inline_if_single_threaded();
    }

    /// Results that arrived since the last call.
    pub fn try_results(&self) -> Vec<Outcome<P>> {
        self.pool.try_results()
    }

    /// Runs up to `max_jobs` queued jobs whose bytes are here on the calling thread, for at
    /// most about `max_time`.
    pub fn run_inline(&self, max_jobs: usize, max_time: std::time::Duration) {
        self.pool.run_inline(max_jobs, max_time);
    }
}

fn run<P>(job: &Job, prepare: &(dyn Fn(PointChunk) -> P + Send + Sync)) -> Outcome<P> {
    match job.request {
        Request::Node { key, data } => {
            let fetched = job.source.read_range(data.offset, data.byte_size);
            let fetched_bytes = fetched.as_ref().map_or(0, |b| b.len() as u64);
            let result = fetched.map_err(|e| e.to_string()).and_then(|bytes| {
                job.decoder
                    .decode(key, data, &bytes, job.attributes)
                    .map(prepare)
                    .map_err(|e| e.to_string())
            });
            Outcome::Node {
                id: job.id,
                key,
                fetched_bytes,
                result,
            }
        }
        Request::Page { key, page } => Outcome::Page {
            id: job.id,
            key,
            page,
            result: job
                .source
                .read_range(page.offset, page.byte_size)
                .map_err(|e| e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::MemorySource;
    use crate::pointcloud::CopcReader;

    /// A small COPC file in memory and its reader.
    fn small_copc() -> CopcReader<Arc<dyn ByteSource>> {
        let dir = tempfile::tempdir().unwrap();
        let copc = crate::pointcloud::convert::write_test_copc(dir.path(), 300_000);
        let bytes: Arc<dyn ByteSource> = Arc::new(MemorySource::new(
            "t.copc.laz",
            std::fs::read(&copc).unwrap(),
        ));
        let mut reader = CopcReader::open(bytes).unwrap();
        reader.load_all_pages().unwrap();
        reader
    }

    #[test]
    fn replaced_jobs_never_run_and_results_carry_prepared_nodes() {
        let reader = small_copc();
        let decoder = Arc::new(reader.decoder().unwrap());
        let source = reader.file.source.clone();
        let nodes: Vec<_> = reader
            .hierarchy
            .nodes()
            .iter()
            .filter_map(|n| n.data.map(|d| (n.key, d)))
            .take(3)
            .collect();
        assert_eq!(nodes.len(), 3);
        let job = |(key, data): (VoxelKey, NodeData)| Job {
            id: SourceId {
                layer: 0,
                source: 0,
            },
            request: Request::Node { key, data },
            source: source.clone(),
            decoder: decoder.clone(),
            attributes: Attributes::ALL,
        };
        // Prepared = the point count, computed on the worker side.
        let pool: FetchPool<usize> = FetchPool::new(0, Arc::new(|chunk: PointChunk| chunk.len()));
        pool.replace_queue(vec![job(nodes[0]), job(nodes[1])]);
        assert_eq!(pool.load(), (2, 0));
        // The camera moved: only the third node is wanted now.
        pool.replace_queue(vec![job(nodes[2])]);
        let requests_before = source.requests();
        pool.run_inline(10, std::time::Duration::from_secs(60));
        let results = pool.try_results();
        assert_eq!(results.len(), 1);
        match &results[0] {
            Outcome::Node {
                key,
                result,
                fetched_bytes,
                ..
            } => {
                assert_eq!(*key, nodes[2].0);
                assert_eq!(*result.as_ref().unwrap() as u64, nodes[2].1.point_count);
                assert_eq!(*fetched_bytes, nodes[2].1.byte_size);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            source.requests() - requests_before,
            1,
            "one range request per node"
        );
    }
}
