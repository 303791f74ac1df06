//! Answers as large as the fleet (every target, every backend with its servers,
//! `/metrics`): a few megabytes each at 10,000 backends. Readers that fetch them
//! faster than they read them would each hold one in memory; the gate lets only
//! [`AT_ONCE`] be built and sent at a time, the others wait their turn. The
//! permit is held until the last chunk of the body is handed to the connection.

use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::web::Bytes;
use futures_util::StreamExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Large answers built or being sent at once.
pub const AT_ONCE: usize = 2;
/// Size of the chunks a large body is sent in.
pub const CHUNK: usize = 64 * 1024;

/// The gate of large answers.
#[derive(Clone)]
pub struct Gate(Arc<Semaphore>);

impl Default for Gate {
    fn default() -> Gate {
        Gate(Arc::new(Semaphore::new(AT_ONCE)))
    }
}

impl Gate {
    /// Waits for a turn; `None` only if the gate is closed (never, in practice).
    pub async fn turn(&self) -> Option<OwnedSemaphorePermit> {
        self.0.clone().acquire_owned().await.ok()
    }

    /// Waits for a turn, builds the body with `build` and answers it.
    pub async fn answer(
        &self,
        content_type: &'static str,
        build: impl FnOnce() -> Vec<u8>,
    ) -> HttpResponse {
        match self.turn().await {
            Some(turn) => send(turn, content_type, build()),
            None => HttpResponse::ServiceUnavailable().finish(),
        }
    }

    /// [`Gate::answer`] of a value as JSON.
    pub async fn json<T: serde::Serialize>(&self, value: impl FnOnce() -> T) -> HttpResponse {
        self.answer("application/json", || {
            serde_json::to_vec(&value()).unwrap_or_else(|_| b"{}".to_vec())
        })
        .await
    }
}

/// Answers `body`, keeping `turn` until its last chunk is handed to the connection.
pub fn send(turn: OwnedSemaphorePermit, content_type: &'static str, body: Vec<u8>) -> HttpResponse {
    let body = Bytes::from(body);
    let len = body.len();
    let chunks: Vec<Bytes> = (0..len)
        .step_by(CHUNK)
        .map(|at| body.slice(at..(at + CHUNK).min(len)))
        .collect();
    let last = chunks.len().saturating_sub(1);
    let mut turn = Some(turn);
    let stream =
        futures_util::stream::iter(chunks.into_iter().enumerate()).map(move |(i, chunk)| {
            if i == last {
                turn.take();
            }
            Ok::<_, std::convert::Infallible>(chunk)
        });
    HttpResponse::Ok()
        .insert_header(("content-type", content_type))
        .no_chunking(len as u64)
        .streaming(stream)
}

/// Answers `head` and then the chunks of `rest`, each built only when the
/// connection takes the one before (chunked transfer: the length is not known in
/// advance), keeping `turn` until the body is done with.
pub fn stream(
    turn: OwnedSemaphorePermit,
    content_type: &'static str,
    head: Vec<u8>,
    rest: impl Iterator<Item = Bytes> + 'static,
) -> HttpResponse {
    let chunks = std::iter::once(Bytes::from(head)).chain(rest);
    let stream = futures_util::stream::iter(chunks).map(move |chunk| {
        let _held = &turn;
        Ok::<_, std::convert::Infallible>(chunk)
    });
    HttpResponse::Ok()
        .insert_header(("content-type", content_type))
        .streaming(stream)
}
