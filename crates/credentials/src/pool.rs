//! The bounded pool password hashing runs in. Argon2id takes 19 MiB and tens of milliseconds per
//! hash; run unbounded, a few hundred concurrent sign-ins would take gigabytes and every core. The
//! pool runs at most `workers` hashes at once (on the blocking threads) and lets at most `queue`
//! more wait; beyond that it answers [`PoolError::Busy`] at once, without hashing anything.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

/// Why the pool did not run a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Every worker is busy and the queue is full: try again later.
    #[error("too many password checks at once")]
    Busy,
    /// The job failed (a hashing error, or the worker thread panicked).
    #[error("a password job failed")]
    Failed,
}

/// A bounded pool of password workers with a bounded wait queue.
#[derive(Debug, Clone)]
pub struct PasswordPool {
    workers: Arc<Semaphore>,
    /// Jobs admitted (running or waiting), at most `capacity`.
    admitted: Arc<AtomicUsize>,
    capacity: usize,
}

/// Counts one admitted job until it is dropped (finished, or abandoned while waiting).
struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordPool {
    /// A pool of `workers` (at least one) with `queue` places to wait.
    pub fn new(workers: usize, queue: usize) -> PasswordPool {
        let workers = workers.max(1);
        PasswordPool {
            workers: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: workers + queue,
        }
    }

    /// Runs `job` on a worker once one is free, or answers [`PoolError::Busy`] at once when the
    /// workers and the queue are full.
    pub async fn run<T, F>(&self, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let admitted = self
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            });
        if admitted.is_err() {
            return Err(PoolError::Busy);
        }
        let admission = Admission(self.admitted.clone());
        let permit = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PoolError::Failed)?;
        // The permit and the admission go with the job, so a caller that stops waiting does not
        // free the worker before the hash is done.
        tokio::task::spawn_blocking(move || {
            let _held = (permit, admission);
            job()
        })
        .await
        .map_err(|_| PoolError::Failed)
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

    #[tokio::test]
    async fn a_full_pool_answers_busy_and_recovers() {
        let pool = PasswordPool::new(1, 1);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(std::sync::Mutex::new(wait));
        let mut jobs = Vec::new();
        for _ in 0..2 {
            let pool = pool.clone();
            let wait = wait.clone();
            jobs.push(tokio::spawn(async move {
                pool.run(move || {
                    let _ = wait.lock().map(|w| w.recv());
                })
                .await
            }));
        }
        // Wait until both jobs are admitted (one running, one queued).
        for _ in 0..200 {
            if pool.admitted.load(Ordering::Acquire) == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(pool.run(|| ()).await, Err(PoolError::Busy));
        release.send(()).unwrap();
        release.send(()).unwrap();
        for job in jobs {
            assert_eq!(job.await.unwrap(), Ok(()));
        }
        assert_eq!(pool.run(|| 7).await, Ok(7));
        let hash = pool.hash_password("pw".into()).await.unwrap();
        assert_eq!(
            pool.verify_password("pw".into(), Some(hash)).await,
            Ok(true)
        );
        assert_eq!(pool.verify_password("pw".into(), None).await, Ok(false));
    }
}
