//! A bounded pool of worker threads with a replaceable priority queue: what every streaming
//! layer (point-cloud nodes, 3D Tiles content) uses to fetch and decode off the main thread.
//!
//! The queue is replaced as the camera moves, so requests no longer wanted are cancelled before
//! they start; a task already running, or answered but not yet collected, is never queued
//! twice; results come back through a channel. With 0 workers nothing runs until [`WorkerPool::run_inline`] is called (for
//! single-threaded targets and tests).

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

/// Main-thread time per frame for tasks of a pool without workers (the web build), so the page
/// stays responsive: at least one task runs each frame.
pub const INLINE_TIME_PER_FRAME: std::time::Duration = std::time::Duration::from_millis(12);

/// One unit of work: fetch + decode + prepare, run on a worker.
pub trait Task: Send + 'static {
    /// What identifies a task across frames (two tasks with one key are the same request).
    type Key: Eq + Hash + Clone + Send + 'static;
    type Output: Send + 'static;
    fn key(&self) -> Self::Key;
    fn run(self) -> Self::Output;
    /// Whether [`Task::run`] can proceed without waiting. Tasks whose bytes come from a source
    /// that cannot block (the web build's `fetch`) start their requests here and say no until
    /// the bytes have arrived; [`WorkerPool::run_inline`] skips them meanwhile.
    fn ready(&self) -> bool {
        true
    }
}

struct Queue<T: Task> {
    tasks: VecDeque<T>,
    /// Tasks a worker has taken and not yet answered.
    in_flight: HashSet<T::Key>,
    shutdown: bool,
}

/// The pool. Dropping it stops the workers once their current task is done.
pub struct WorkerPool<T: Task> {
    shared: Arc<(Mutex<Queue<T>>, Condvar)>,
    results: Mutex<Receiver<(T::Key, T::Output)>>,
    sender: Sender<(T::Key, T::Output)>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl<T: Task> WorkerPool<T> {
    /// A pool of `workers` threads (the concurrency limit) named `name-i`.
    pub fn new(workers: usize, name: &str) -> Self {
        let shared = Arc::new((
            Mutex::new(Queue {
                tasks: VecDeque::new(),
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
                std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || worker(&shared, &sender))
                    .ok()
            })
            .collect();
        Self {
            shared,
            results: Mutex::new(results),
            sender,
            threads,
        }
    }

    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Replaces the queued tasks (highest priority first). Queued tasks that are not in `tasks`
    /// any more are cancelled; tasks a worker already runs are not queued again.
    pub fn replace_queue(&self, tasks: Vec<T>) {
        let (lock, wake) = &*self.shared;
        let mut queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh: VecDeque<T> = tasks
            .into_iter()
            .filter(|t| !queue.in_flight.contains(&t.key()))
            .collect();
        queue.tasks = fresh;
        wake.notify_all();
    }

    /// Queues `tasks` after those already waiting (nothing is cancelled).
    pub fn push(&self, tasks: Vec<T>) {
        let (lock, wake) = &*self.shared;
        let mut queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
        queue.tasks.extend(tasks);
        wake.notify_all();
    }

    /// (tasks waiting for a worker, tasks being worked on)
    pub fn load(&self) -> (usize, usize) {
        let (lock, _) = &*self.shared;
        let queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
        (queue.tasks.len(), queue.in_flight.len())
    }

    /// Whether a task with this key is waiting or running.
    pub fn is_pending(&self, key: &T::Key) -> bool {
        let (lock, _) = &*self.shared;
        let queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
        queue.in_flight.contains(key) || queue.tasks.iter().any(|t| &t.key() == key)
    }

    /// For a pool without workers (single-threaded targets): runs what is ready, within
    /// [`INLINE_TIME_PER_FRAME`]. Does nothing when threads do the work.
    pub fn run_inline_if_single_threaded(&self) {
        if self.threads.is_empty() {
            self.run_inline(usize::MAX, INLINE_TIME_PER_FRAME);
        }
    }

    /// Results that arrived since the last call. Their tasks leave the in-flight set only now:
    /// until the caller holds a result, the task counts as running and is never queued again.
    pub fn try_results(&self) -> Vec<T::Output> {
        let received: Vec<(T::Key, T::Output)> = self
            .results
            .lock()
            .map(|r| r.try_iter().collect())
            .unwrap_or_default();
        if received.is_empty() {
            return Vec::new();
        }
        let (lock, _) = &*self.shared;
        let mut queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
        received
            .into_iter()
            .map(|(key, output)| {
                queue.in_flight.remove(&key);
                output
            })
            .collect()
    }

    /// Runs up to `max_tasks` queued tasks that are [`Task::ready`] on the calling thread, in
    /// priority order, for at most about `max_time`.
    pub fn run_inline(&self, max_tasks: usize, max_time: std::time::Duration) {
        let started = bevy::platform::time::Instant::now();
        for _ in 0..max_tasks {
            if started.elapsed() > max_time {
                break;
            }
            let task = {
                let (lock, _) = &*self.shared;
                let mut queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
                let first_ready = queue.tasks.iter().position(Task::ready);
                first_ready.and_then(|i| queue.tasks.remove(i))
            };
            match task {
                Some(task) => {
                    let key = task.key();
                    lock_in_flight(&self.shared, key.clone());
                    let _ = self.sender.send((key, task.run()));
                }
                None => break,
            }
        }
    }
}

impl<T: Task> Drop for WorkerPool<T> {
    fn drop(&mut self) {
        let (lock, wake) = &*self.shared;
        lock.lock().unwrap_or_else(PoisonError::into_inner).shutdown = true;
        wake.notify_all();
        // Workers blocked in a slow request finish it on their own; don't wait for them.
        self.threads.clear();
    }
}

fn lock_in_flight<T: Task>(shared: &(Mutex<Queue<T>>, Condvar), key: T::Key) {
    let (lock, _) = shared;
    lock.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .in_flight
        .insert(key);
}

fn worker<T: Task>(shared: &(Mutex<Queue<T>>, Condvar), results: &Sender<(T::Key, T::Output)>) {
    let (lock, wake) = shared;
    loop {
        let task = {
            let mut queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if queue.shutdown {
                    return;
                }
                if let Some(task) = queue.tasks.pop_front() {
                    queue.in_flight.insert(task.key());
                    break task;
                }
                queue = wake.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let key = task.key();
        if results.send((key, task.run())).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Count(u32, Arc<AtomicUsize>);
    impl Task for Count {
        type Key = u32;
        type Output = u32;
        fn key(&self) -> u32 {
            self.0
        }
        fn run(self) -> u32 {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0 * 10
        }
    }

    #[test]
    fn replaced_tasks_never_run() {
        let runs = Arc::new(AtomicUsize::new(0));
        let pool = WorkerPool::new(0, "test");
        pool.replace_queue(vec![Count(1, runs.clone()), Count(2, runs.clone())]);
        assert!(pool.is_pending(&2));
        pool.replace_queue(vec![Count(3, runs.clone())]);
        assert!(!pool.is_pending(&2));
        pool.run_inline(10, std::time::Duration::from_secs(60));
        // Answered but not yet collected: asking again must not run it twice.
        pool.replace_queue(vec![Count(3, runs.clone())]);
        assert_eq!(pool.load(), (0, 1));
        assert_eq!(pool.try_results(), vec![30]);
        assert_eq!(pool.load(), (0, 0));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn pushed_tasks_join_the_queue_without_cancelling_it() {
        let runs = Arc::new(AtomicUsize::new(0));
        let pool = WorkerPool::new(0, "test");
        pool.replace_queue(vec![Count(1, runs.clone())]);
        pool.push(vec![Count(2, runs.clone())]);
        assert_eq!(pool.load(), (2, 0));
        pool.run_inline(10, std::time::Duration::from_secs(60));
        assert_eq!(pool.try_results(), vec![10, 20], "in queue order");
    }

    /// A task whose bytes arrive when the test says so.
    struct Waiting(u32, Arc<std::sync::atomic::AtomicBool>);
    impl Task for Waiting {
        type Key = u32;
        type Output = u32;
        fn key(&self) -> u32 {
            self.0
        }
        fn run(self) -> u32 {
            self.0
        }
        fn ready(&self) -> bool {
            self.1.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn inline_runs_skip_tasks_whose_bytes_have_not_arrived() {
        let arrived = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let here = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let pool = WorkerPool::new(0, "test");
        // The first task in priority order waits; the second can run now.
        pool.replace_queue(vec![Waiting(1, arrived.clone()), Waiting(2, here)]);
        pool.run_inline_if_single_threaded();
        assert_eq!(pool.try_results(), vec![2]);
        assert!(pool.is_pending(&1), "still queued, not dropped");
        pool.run_inline_if_single_threaded();
        assert!(pool.try_results().is_empty());
        arrived.store(true, Ordering::SeqCst);
        pool.run_inline_if_single_threaded();
        assert_eq!(pool.try_results(), vec![1]);
    }

    #[test]
    fn threads_answer_every_task() {
        let runs = Arc::new(AtomicUsize::new(0));
        let pool = WorkerPool::new(2, "test");
        pool.replace_queue((0..20).map(|i| Count(i, runs.clone())).collect());
        let mut got = vec![];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while got.len() < 20 && std::time::Instant::now() < deadline {
            got.extend(pool.try_results());
            std::thread::yield_now();
        }
        got.sort();
        assert_eq!(got, (0..20).map(|i| i * 10).collect::<Vec<_>>());
    }
}
