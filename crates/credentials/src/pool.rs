//! The bounded pool password hashing runs in. Argon2id takes 19 MiB and tens of milliseconds per
//! hash; run unbounded, a few hundred concurrent sign-ins would take gigabytes and every core. The
//! pool has a fixed set of `workers` threads of its own (so at most that many hashes run at once,
//! and the memory their allocator keeps is bounded by them too) and a queue of `queue` places;
//! when both are full it answers [`PoolError::Busy`] at once, without hashing anything.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

/// Why the pool did not run a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Every worker is busy and the queue is full: try again later.
    #[error("too many password checks at once")]
    Busy,
    /// The job failed (a hashing error, or the worker stopped).
    #[error("a password job failed")]
    Failed,
}

type Job = Box<dyn FnOnce() + Send>;

/// A bounded pool of password workers with a bounded wait queue. Clones share the workers; they
/// stop when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct PasswordPool {
    jobs: SyncSender<Job>,
    workers: usize,
}

fn work(jobs: Arc<Mutex<Receiver<Job>>>) {
    loop {
        let job = {
            let receiver = jobs.lock().unwrap_or_else(PoisonError::into_inner);
            receiver.recv()
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // every sender is gone
        }
    }
}

impl PasswordPool {
    /// A pool of `workers` threads (at least one) with `queue` places to wait. A job counts as
    /// waiting from the moment it is accepted until a worker takes it.
    pub fn new(workers: usize, queue: usize) -> PasswordPool {
        let workers = workers.max(1);
        // A zero-length channel would only hand jobs to workers already waiting; one place is the
        // least the queue keeps.
        let (jobs, receiver) = sync_channel::<Job>(queue.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        let mut started = 0;
        for n in 0..workers {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || work(receiver));
            match spawned {
                Ok(_) => started += 1,
                Err(err) => tracing::error!(error = %err, "starting a password worker failed"),
            }
        }
        PasswordPool {
            jobs,
            workers: started,
        }
    }

    /// How many workers run.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Runs `job` on a worker once one is free, or answers [`PoolError::Busy`] at once when the
    /// queue is full.
    pub async fn run<T, F>(&self, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have stopped waiting; the answer is then dropped.
            let _ = done.send(job());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(PoolError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(PoolError::Failed),
        }
        result.await.map_err(|_| PoolError::Failed)
    }

    /// Hashes a password (Argon2id, random salt).
    pub async fn hash_password(&self, password: String) -> Result<String, PoolError> {
        self.run(move || crate::password::hash_password(&password))
            .await?
            .map_err(|_| PoolError::Failed)
    }

    /// Checks a password against a stored Argon2 hash (or a dummy one when there is none, so that
    /// refusals take as long as a wrong password).
    pub async fn verify_password(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, PoolError> {
        self.run(move || crate::password::verify_password(&password, stored.as_deref()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[tokio::test]
    async fn a_full_pool_answers_busy_and_recovers() {
        let pool = PasswordPool::new(1, 1);
        assert_eq!(pool.workers(), 1);
        let (started, running) = channel::<()>();
        let (release, wait) = channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        // One job runs (and waits to be released), one waits in the queue.
        let first = {
            let pool = pool.clone();
            let wait = wait.clone();
            tokio::spawn(async move {
                pool.run(move || {
                    let _ = started.send(());
                    let _ = wait.lock().map(|w| w.recv());
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || running.recv())
            .await
            .unwrap()
            .unwrap();
        let second = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        // On this single-threaded runtime the second job is accepted (its first poll) while
        // the test sleeps; then the queue's one place is taken.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(pool.run(|| 3).await, Err(PoolError::Busy));
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(()));
        assert_eq!(second.await.unwrap(), Ok(2));
        assert_eq!(pool.run(|| 7).await, Ok(7));
        let hash = pool.hash_password("pw".into()).await.unwrap();
        assert_eq!(
            pool.verify_password("pw".into(), Some(hash)).await,
            Ok(true)
        );
        assert_eq!(pool.verify_password("pw".into(), None).await, Ok(false));
    }
}
