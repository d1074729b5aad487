//! A bounded pool of fetch-and-decode workers: node and hierarchy-page requests run off the main
//! thread, the queue is replaced as the camera moves (requests no longer wanted are cancelled
//! before they start), and results come back through a channel.
//!
//! The pool knows nothing of Bevy; the streaming systems own one, feed it each frame, and give
//! it a `prepare` step that turns a decoded chunk into what the GPU needs, also off the main thread.

use super::copc::{Attributes, NodeDecoder, PointChunk};
use super::octree::{NodeData, PageRef, VoxelKey};
use crate::io::ByteSource;
use std::collections::{HashSet, VecDeque};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

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

struct Queue {
    jobs: VecDeque<Job>,
    /// Jobs a worker has taken and not yet answered.
    in_flight: HashSet<(SourceId, Request)>,
    shutdown: bool,
}

/// Turns a decoded chunk into what the caller keeps (run on the worker).
pub type Prepare<P> = Arc<dyn Fn(PointChunk) -> P + Send + Sync>;

/// The worker pool. Dropping it stops the workers once their current job is done.
pub struct FetchPool<P> {
    shared: Arc<(Mutex<Queue>, Condvar)>,
    results: Mutex<Receiver<Outcome<P>>>,
    sender: Sender<Outcome<P>>,
    prepare: Prepare<P>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl<P: Send + 'static> FetchPool<P> {
    /// A pool of `workers` threads (the concurrency limit). With 0 workers, nothing runs until
    /// [`FetchPool::run_inline`] is called (for single-threaded targets and tests).
    pub fn new(workers: usize, prepare: Prepare<P>) -> Self {
        let shared = Arc::new((
            Mutex::new(Queue {
                jobs: VecDeque::new(),
                in_flight: HashSet::new(),
                shutdown: false,
            }),
            Condvar::new(),
        ));
        let (sender, results) = channel();
        let threads = (0..workers)
            .filter_map(|i| {
                let shared = shared.clone();
                let sender = sender.clone();
                let prepare = prepare.clone();
                std::thread::Builder::new()
                    .name(format!("jumeau-fetch-{i}"))
                    .spawn(move || worker(&shared, &sender, &prepare))
                    .ok()
            })
            .collect();
        Self {
            shared,
            results: Mutex::new(results),
            sender,
            prepare,
            threads,
        }
    }

    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Replaces the queued jobs (highest priority first). Queued jobs that are not in `jobs`
    /// any more are cancelled; jobs a worker already runs are not queued again.
    pub fn replace_queue(&self, jobs: Vec<Job>) {
        let (lock, wake) = &*self.shared;
        let mut queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh: VecDeque<Job> = jobs
            .into_iter()
            .filter(|j| !queue.in_flight.contains(&(j.id, j.request)))
            .collect();
        queue.jobs = fresh;
        wake.notify_all();
    }

    /// (jobs waiting for a worker, jobs being worked on)
    pub fn load(&self) -> (usize, usize) {
        let (lock, _) = &*self.shared;
        let queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
        (queue.jobs.len(), queue.in_flight.len())
    }

    /// Results that arrived since the last call.
    pub fn try_results(&self) -> Vec<Outcome<P>> {
        self.results
            .lock()
            .map(|r| r.try_iter().collect())
            .unwrap_or_default()
    }

    /// Runs up to `max_jobs` queued jobs on the calling thread.
    pub fn run_inline(&self, max_jobs: usize) {
        for _ in 0..max_jobs {
            let job = {
                let (lock, _) = &*self.shared;
                lock.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .jobs
                    .pop_front()
            };
            match job {
                Some(job) => {
                    let _ = self.sender.send(run(&job, &*self.prepare));
                }
                None => break,
            }
        }
    }
}

impl<P> Drop for FetchPool<P> {
    fn drop(&mut self) {
        let (lock, wake) = &*self.shared;
        lock.lock().unwrap_or_else(PoisonError::into_inner).shutdown = true;
        wake.notify_all();
        // Workers blocked in a slow request finish it on their own; don't wait for them.
        self.threads.clear();
    }
}

fn worker<P>(shared: &(Mutex<Queue>, Condvar), results: &Sender<Outcome<P>>, prepare: &Prepare<P>) {
    let (lock, wake) = shared;
    loop {
        let job = {
            let mut queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if queue.shutdown {
                    return;
                }
                if let Some(job) = queue.jobs.pop_front() {
                    queue.in_flight.insert((job.id, job.request));
                    break job;
                }
                queue = wake.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let sent = results.send(run(&job, &**prepare));
        // Leave the in-flight set only once the result is in the channel: the main thread never
        // sees a job as neither running nor answered, so it never queues it twice.
        lock.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .in_flight
            .remove(&(job.id, job.request));
        if sent.is_err() {
            return;
        }
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
        let laz = dir.path().join("t.laz");
        crate::demo::write_demo_laz(&laz, 300_000, 2, &indicatif::ProgressBar::hidden()).unwrap();
        let copc = dir.path().join("t.copc.laz");
        let file =
            crate::pointcloud::las::LasFile::open(crate::io::FileSource::open(&laz).unwrap())
                .unwrap();
        crate::pointcloud::convert::convert(&[file], &copc, &Default::default()).unwrap();
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
        pool.run_inline(10);
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
