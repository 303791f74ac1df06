//! Answers as large as the fleet (every target, every backend with its servers,
//! `/metrics`): a few megabytes each at 10,000 backends. Readers that fetch them
//! faster than they read them would each hold one in memory; the gate lets only
//! [`AT_ONCE`] be built and sent at a time, the others wait their turn. The
//! permit is held until the last chunk of the body is handed to the connection.
//!
//! The lists of targets and of backends are built once per committed version
//! ([`Version`]): a request that comes while a body of the same version is still
//! being sent shares it (it costs no memory of its own). A shared body holds its
//! turn until the last request has sent it, so no more than [`AT_ONCE`] bodies
//! exist at once, shared or not; nothing is kept after.

use std::sync::{Arc, Mutex, Weak};

use actix_web::HttpResponse;
use actix_web::web::Bytes;
use futures_util::StreamExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::actors::status::{Snapshot, StatusHandle};

/// Large answers built or being sent at once.
pub const AT_ONCE: usize = 2;
/// Size of the chunks a large body is sent in.
pub const CHUNK: usize = 64 * 1024;

/// The gate of large answers.
#[derive(Clone)]
pub struct Gate {
    turns: Arc<Semaphore>,
    recent: Arc<Mutex<[Option<Recent>; Shared::COUNT]>>,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            turns: Arc::new(Semaphore::new(AT_ONCE)),
            recent: Arc::default(),
        }
    }
}

/// The answers whose bodies requests of the same version share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shared {
    /// `/api/targets`.
    Targets,
    /// `/api/haproxy/backends`.
    Backends,
}

impl Shared {
    const COUNT: usize = 2;

    fn slot(self) -> usize {
        match self {
            Shared::Targets => 0,
            Shared::Backends => 1,
        }
    }
}

/// What a body was built from: the committed snapshot and the count of commits
/// (a routine commit refreshes poll times in place, then counts itself: a body
/// built during the refresh is never shared after it).
#[derive(Clone, Debug)]
pub struct Version {
    snapshot: Weak<Snapshot>,
    commits: u64,
}

impl Version {
    /// The committed snapshot and its version, as of now.
    pub fn now(status: &StatusHandle) -> (Arc<Snapshot>, Version) {
        let commits = status
            .counters()
            .commits
            .load(std::sync::atomic::Ordering::Relaxed);
        let snapshot = status.snapshot();
        let version = Version {
            // The weak reference keeps the snapshot's address from being reused.
            snapshot: Arc::downgrade(&snapshot),
            commits,
        };
        (snapshot, version)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.commits == other.commits && Weak::ptr_eq(&self.snapshot, &other.snapshot)
    }
}

/// The last body of one kind, while some request still sends it.
struct Recent {
    version: Version,
    body: Weak<Built>,
}

/// A shared body and the turn it was built in, released with the body.
struct Built {
    bytes: Vec<u8>,
    _turn: OwnedSemaphorePermit,
}

/// A shared body as the owner of the chunks sent.
struct Body(Arc<Built>);

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        &self.0.bytes
    }
}

impl Gate {
    /// Waits for a turn; `None` only if the gate is closed (never, in practice).
    pub async fn turn(&self) -> Option<OwnedSemaphorePermit> {
        self.turns.clone().acquire_owned().await.ok()
    }

    /// Waits for a turn, builds the body with `build` and answers it.
    pub async fn answer(
        &self,
        content_type: &'static str,
        build: impl FnOnce() -> Vec<u8>,
    ) -> HttpResponse {
        match self.turn().await {
            Some(turn) => send(Some(turn), content_type, Bytes::from(build())),
            None => HttpResponse::ServiceUnavailable().finish(),
        }
    }

    /// [`Gate::answer`] of a value as JSON.
    pub async fn json<T: serde::Serialize>(&self, value: impl FnOnce() -> T) -> HttpResponse {
        self.answer(JSON, || to_json(&value())).await
    }

    /// [`Gate::json`] of an answer built from the committed `version`: the body
    /// of the same version is shared while a request still sends it.
    pub async fn json_shared<T: serde::Serialize>(
        &self,
        kind: Shared,
        version: Version,
        value: impl FnOnce() -> T,
    ) -> HttpResponse {
        if let Some(body) = self.recent(kind, &version) {
            return send(None, JSON, body);
        }
        let Some(turn) = self.turn().await else {
            return HttpResponse::ServiceUnavailable().finish();
        };
        // Built by another request while this one waited for its turn.
        if let Some(body) = self.recent(kind, &version) {
            return send(None, JSON, body);
        }
        let body = Arc::new(Built {
            bytes: to_json(&value()),
            _turn: turn,
        });
        self.lock()[kind.slot()] = Some(Recent {
            version,
            body: Arc::downgrade(&body),
        });
        send(None, JSON, Bytes::from_owner(Body(body)))
    }

    /// The body of `kind` built from `version`, if a request still holds it.
    fn recent(&self, kind: Shared, version: &Version) -> Option<Bytes> {
        let recent = self.lock();
        let last = recent[kind.slot()].as_ref()?;
        if last.version != *version {
            return None;
        }
        last.body.upgrade().map(|b| Bytes::from_owner(Body(b)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, [Option<Recent>; Shared::COUNT]> {
        self.recent.lock().unwrap_or_else(|p| p.into_inner())
    }
}

const JSON: &str = "application/json";

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// Answers `body`, keeping `turn` (if any) until its last chunk is handed to the
/// connection.
fn send(
    mut turn: Option<OwnedSemaphorePermit>,
    content_type: &'static str,
    body: Bytes,
) -> HttpResponse {
    let len = body.len();
    let chunks: Vec<Bytes> = (0..len)
        .step_by(CHUNK)
        .map(|at| body.slice(at..(at + CHUNK).min(len)))
        .collect();
    let last = chunks.len().saturating_sub(1);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn version(snapshot: &Arc<Snapshot>, commits: u64) -> Version {
        Version {
            snapshot: Arc::downgrade(snapshot),
            commits,
        }
    }

    async fn text(r: HttpResponse) -> String {
        let bytes = actix_web::body::to_bytes(r.into_body()).await.ok().unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn a_body_is_shared_while_sent_and_rebuilt_for_a_new_version_or_once_sent() {
        let gate = Gate::default();
        let builds = Cell::new(0);
        let build = |n: u32| {
            builds.set(builds.get() + 1);
            vec![n]
        };
        let (s1, s2) = (Arc::new(Snapshot::default()), Arc::new(Snapshot::default()));

        let first = gate
            .json_shared(Shared::Targets, version(&s1, 7), || build(1))
            .await;
        // While the first is not sent, the same version shares its body, and
        // takes no turn.
        let same = gate
            .json_shared(Shared::Targets, version(&s1, 7), || build(2))
            .await;
        assert_eq!(builds.get(), 1);
        assert_eq!(gate.turns.available_permits(), AT_ONCE - 1);
        // Another kind, another commit count, another snapshot: built anew.
        let other = gate
            .json_shared(Shared::Backends, version(&s1, 7), || build(3))
            .await;
        assert_eq!(text(other).await, "[3]");
        let later = gate
            .json_shared(Shared::Targets, version(&s1, 8), || build(4))
            .await;
        assert_eq!(text(later).await, "[4]");
        let newer = gate
            .json_shared(Shared::Targets, version(&s2, 7), || build(5))
            .await;
        assert_eq!(text(newer).await, "[5]");
        assert_eq!(builds.get(), 4);
        assert_eq!(text(first).await, "[1]");
        // The body keeps its turn while a request still sends it.
        assert_eq!(gate.turns.available_permits(), AT_ONCE - 1);
        assert_eq!(text(same).await, "[1]");
        assert_eq!(gate.turns.available_permits(), AT_ONCE);
        // Every body has been sent: nothing is kept, the next request builds.
        let again = gate
            .json_shared(Shared::Targets, version(&s1, 7), || build(6))
            .await;
        assert_eq!(text(again).await, "[6]");
        assert_eq!(builds.get(), 5);
    }
}
