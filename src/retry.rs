//! Retries inside one poll: exponential backoff (the `backoff` crate, kept behind this
//! module) for transient errors only, bounded so that a poll with all its retries
//! ends before the next one is due.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use backoff::backoff::Backoff;
use backoff::{ExponentialBackoff, ExponentialBackoffBuilder};

use crate::config::RetryConfig;
use crate::sources::FetchError;

/// How one poller retries.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub retry: RetryConfig,
    /// Timeout of one request.
    pub timeout: Duration,
    /// The poll interval; retries stop in time for the next poll.
    pub interval: Duration,
}

impl RetryPolicy {
    /// The time a poll may spend, retries and their timeouts included: 90% of the
    /// interval, so a poll always ends before the next one is due.
    pub fn budget(&self) -> Duration {
        self.interval.mul_f64(0.9)
    }

    /// The backoff of a poll whose first attempt began `ago`: its
    /// `max_elapsed` counts from that attempt.
    fn backoff_since(&self, ago: Duration) -> Box<ExponentialBackoff> {
        let mut b = Box::new(self.backoff());
        b.start_time = b.start_time.checked_sub(ago).unwrap_or(b.start_time);
        b
    }

    fn backoff(&self) -> ExponentialBackoff {
        ExponentialBackoffBuilder::new()
            .with_initial_interval(self.retry.initial)
            .with_max_interval(self.retry.max)
            .with_multiplier(self.retry.multiplier)
            .with_randomization_factor(0.2)
            .with_max_elapsed_time(Some(self.retry.max_elapsed))
            .build()
    }
}

/// Runs `op` until it succeeds or fails with a permanent error. A retry starts only
/// within `max_elapsed` of the first attempt, and only if it can end (delay plus a
/// full timeout) within the budget. The last error names the number of attempts.
pub async fn run<T, F, Fut>(policy: &RetryPolicy, op: F) -> Result<T, FetchError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, FetchError>>,
{
    resume(policy, None, op).await
}

/// Like [`run`], for a poll whose first attempt was made elsewhere (by a shared
/// stats round), began at `.0` and failed with `.1`: the retries go on from it as
/// if `op` had made it.
pub async fn resume<T, F, Fut>(
    policy: &RetryPolicy,
    first: Option<(Instant, FetchError)>,
    mut op: F,
) -> Result<T, FetchError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, FetchError>>,
{
    let (started, mut failed) = match first {
        Some((at, e)) => (at, Some(e)),
        None => (Instant::now(), None),
    };
    let budget = policy.budget();
    // Built at the first failure, on the heap: most polls succeed at once, and
    // 10,000 of them can wait on one shared fetch.
    let mut backoff: Option<Box<ExponentialBackoff>> = None;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let err = match failed.take() {
            Some(e) => e,
            None => match op().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            },
        };
        let delay = if err.is_transient() {
            backoff
                .get_or_insert_with(|| policy.backoff_since(started.elapsed()))
                .next_backoff()
        } else {
            None
        };
        let fits = delay.is_some_and(|d| started.elapsed() + d + policy.timeout <= budget);
        match delay {
            // Boxed like the backoff: a timer is large, and rarely needed.
            Some(d) if fits => Box::pin(tokio::time::sleep(d)).await,
            _ => return Err(with_attempts(err, attempts)),
        }
    }
}

fn with_attempts(mut err: FetchError, attempts: u32) -> FetchError {
    if attempts > 1 {
        err.message = format!("{} (after {attempts} attempts)", err.message);
    }
    err
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::sources::FetchErrorKind;

    fn policy(max_elapsed_ms: u64) -> RetryPolicy {
        RetryPolicy {
            retry: RetryConfig {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(2),
                multiplier: 2.0,
                max_elapsed: Duration::from_millis(max_elapsed_ms),
            },
            timeout: Duration::from_millis(1),
            interval: Duration::from_secs(10),
        }
    }

    fn err(transient: bool) -> FetchError {
        let kind = if transient {
            FetchErrorKind::Timeout
        } else {
            FetchErrorKind::Protocol
        };
        FetchError::new(kind, "boom")
    }

    #[tokio::test]
    async fn a_first_attempt_made_elsewhere_counts_and_is_retried_only_if_transient() {
        let calls = AtomicU32::new(0);
        let op = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<u32, FetchError>(7)
        };
        let first = Some((Instant::now(), err(false)));
        let e = resume(&policy(5_000), first, op).await.unwrap_err();
        assert_eq!(e.message, "boom", "one attempt, and not repeated");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        let first = Some((Instant::now(), err(true)));
        assert_eq!(resume(&policy(5_000), first, op).await.unwrap(), 7);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the retry, not a new first attempt"
        );
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let out = run(&policy(5_000), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(err(true))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(out, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = run(&policy(5_000), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(err(false))
        })
        .await;
        assert_eq!(out.unwrap_err().message, "boom");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn retries_stop_within_the_budget_and_say_how_many() {
        let out: Result<(), _> = run(&policy(30), || async { Err(err(true)) }).await;
        let msg = out.unwrap_err().message;
        assert!(msg.starts_with("boom (after "), "{msg}");
    }

    #[test]
    fn budget_is_below_the_interval() {
        assert_eq!(policy(60_000).budget(), Duration::from_secs(9));
    }

    #[tokio::test]
    async fn a_timeout_longer_than_max_elapsed_still_allows_retries() {
        let mut p = policy(5);
        p.timeout = Duration::from_secs(1);
        let calls = AtomicU32::new(0);
        let out = run(&p, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 1 {
                Err(err(true))
            } else {
                Ok(1)
            }
        })
        .await;
        assert_eq!(out, Ok(1));
    }
}
