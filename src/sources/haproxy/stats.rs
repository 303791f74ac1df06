//! One HAProxy instance read through its stats page (`source = "stats"`) or its
//! Runtime API (`source = "socket"`), shared by every backend poller of that
//! instance.
//!
//! Polls that fall due together share one fetch: the first poll of a round waits
//! until no other poll has joined for a short window (at most [`MAX_GATHER`]), then
//! one request is made (scoped to the backend when it is alone, the whole table
//! otherwise) and each poller takes its own rows. One fetch per instance is in
//! flight at a time: polls that fall due meanwhile gather for the next one, so a
//! slow HAProxy never has two table dumps running for us and the daemon never holds
//! two tables of it. Each backend keeps its own breaker, status and events.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::csv::stream::{BackendIndex, Bases, Discovery, Reader, RowSink};
use super::socket::RuntimeApi;
use super::table::{self, Ask};
use crate::config::Secret;
use crate::model::{BackendSample, FastMap, Payload, TargetState};
use crate::sources::client::Endpoint;
use crate::sources::{FetchError, FetchErrorKind};

/// A round starts once no poll has joined it for this long.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(25);
/// The longest a round gathers polls (10,000 pollers falling due together take a
/// while to all get there).
pub const MAX_GATHER: Duration = Duration::from_millis(500);

/// How the instance is reached.
#[derive(Clone, Debug, PartialEq)]
pub enum Transport {
    /// The stats page, e.g. `http://lb1:8404/stats`, with optional Basic auth.
    Http {
        page: Endpoint,
        username: Option<String>,
        password: Option<Secret>,
    },
    /// The Runtime API.
    Runtime(RuntimeApi),
}

impl Transport {
    /// The words naming the instance in errors.
    pub fn label(&self) -> &str {
        match self {
            Transport::Http { page, .. } => &page.label,
            Transport::Runtime(api) => &api.label,
        }
    }
}

/// Every backend of one fetch (its status and servers), indexed once for the whole
/// round, built while the answer is read.
type Index = FastMap<Arc<str>, Payload>;
type Outcome = Option<Arc<Result<Index, FetchError>>>;

/// A poll that waits for its round without a task of its own: the round answers
/// it once its fetch ends, on the round's task. 10,000 backends of one instance
/// wait at every round, so what waits is the waiter alone (tens of bytes), not a
/// suspended poll.
pub trait RoundWaiter: Send {
    /// Whether this poll brings news (its answer changes what is known): such
    /// waiters are answered first, so a change is not queued behind thousands
    /// of routine reads.
    fn urgent(&self, _round: RoundOutcome<'_>) -> bool {
        false
    }

    /// The backend this poll reads and its committed state, when the round may
    /// compare the backend's rows with that state instead of keeping them
    /// ([`BackendIndex::with_bases`]).
    fn basis(&self) -> Option<(Arc<str>, Arc<TargetState>)> {
        None
    }

    /// Called once, with the round's outcome.
    fn answer(self: Box<Self>, round: RoundOutcome<'_>);
}

/// The outcome of a round as a waiter sees it.
#[derive(Clone, Copy)]
pub struct RoundOutcome<'a> {
    source: &'a StatsSource,
    result: &'a Result<Index, FetchError>,
}

impl RoundOutcome<'_> {
    /// The read of `backend` (in full, or the same as its basis), or why there
    /// is none.
    pub fn backend(&self, backend: &str) -> Result<Payload, FetchError> {
        let index = self.result.as_ref().map_err(Clone::clone)?;
        index.get(backend).cloned().ok_or_else(|| {
            self.source.error(
                format!("has no backend named \"{backend}\""),
                FetchErrorKind::NotFound,
            )
        })
    }

    /// The status and servers of `backend` in full, or why there are none.
    pub fn sample(&self, backend: &str) -> Result<Arc<BackendSample>, FetchError> {
        match self.backend(backend)? {
            Payload::Servers(sample) => Ok(sample),
            Payload::Same(same) => Ok(Arc::new(same.sample())),
            Payload::Applications(_) => Err(self.source.error(
                format!("read no servers for backend \"{backend}\""),
                FetchErrorKind::Protocol,
            )),
        }
    }

    /// The reader whose round this is.
    pub fn source(&self) -> &StatsSource {
        self.source
    }
}

struct Round {
    /// The backend of the first poll, while every poll of the round is for it:
    /// such a round asks for that backend alone.
    only: Option<String>,
    /// Polls that joined.
    polls: usize,
    rx: watch::Receiver<Outcome>,
    last_join: Instant,
    /// The largest `max_servers` of the polls in the round: no backend's list is
    /// read further than one past it.
    max_servers: usize,
    /// Polls answered by the round itself ([`StatsSource::wait_in_round`]).
    waiters: Vec<Box<dyn RoundWaiter>>,
}

/// The shared reader of one HAProxy instance.
pub struct StatsSource {
    pub transport: Transport,
    /// The round gathering polls, if any.
    round: Mutex<Option<Round>>,
    /// Held by the round whose fetch is in flight.
    fetching: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for StatsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsSource")
            .field("transport", &self.transport)
            .finish()
    }
}

impl PartialEq for StatsSource {
    fn eq(&self, other: &Self) -> bool {
        self.transport == other.transport
    }
}

impl StatsSource {
    /// A reader of `transport` with no round in progress. Pollers share one per
    /// instance through a [`StatsRegistry`].
    pub fn new(transport: Transport) -> StatsSource {
        StatsSource {
            transport,
            round: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Round>> {
        self.round.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The status and servers of `backend`, from a fetch shared with the other
    /// pollers whose polls fall in the same window. A backend with more than
    /// `max_servers` servers comes with one more than that, not all of them.
    pub async fn servers(
        self: &Arc<Self>,
        client: &reqwest::Client,
        backend: &str,
        timeout: Duration,
        max_servers: usize,
    ) -> Result<Arc<BackendSample>, FetchError> {
        let mut rx = self.join(client, backend, timeout, max_servers, None);
        let outcome = loop {
            if let Some(o) = rx.borrow_and_update().clone() {
                break o;
            }
            if rx.changed().await.is_err() {
                return Err(self.error(
                    "the shared fetch was abandoned".into(),
                    FetchErrorKind::Abandoned,
                ));
            }
        };
        let round = RoundOutcome {
            source: self,
            result: &outcome,
        };
        round.sample(backend)
    }

    /// Joins `backend`'s poll to the gathering round (or starts one) like
    /// [`StatsSource::servers`], with `waiter` answered by the round when its fetch
    /// ends instead of a future waiting for it.
    pub fn wait_in_round(
        self: &Arc<Self>,
        client: &reqwest::Client,
        backend: &str,
        timeout: Duration,
        max_servers: usize,
        waiter: Box<dyn RoundWaiter>,
    ) {
        self.join(client, backend, timeout, max_servers, Some(waiter));
    }

    fn join(
        self: &Arc<Self>,
        client: &reqwest::Client,
        backend: &str,
        timeout: Duration,
        max_servers: usize,
        waiter: Option<Box<dyn RoundWaiter>>,
    ) -> watch::Receiver<Outcome> {
        let mut guard = self.lock();
        if let Some(round) = guard.as_mut() {
            if round.only.as_deref().is_some_and(|b| b != backend) {
                round.only = None;
            }
            round.polls += 1;
            round.last_join = Instant::now();
            round.max_servers = round.max_servers.max(max_servers);
            round.waiters.extend(waiter);
            return round.rx.clone();
        }
        let (tx, rx) = watch::channel(None);
        *guard = Some(Round {
            only: Some(backend.to_string()),
            polls: 1,
            rx: rx.clone(),
            last_join: Instant::now(),
            max_servers,
            waiters: waiter.into_iter().collect(),
        });
        let (me, client) = (self.clone(), client.clone());
        tokio::spawn(async move {
            let began = Instant::now();
            me.gather().await;
            let _turn = me.fetching.lock().await;
            let (scope, polls, max_servers, waiters) =
                me.lock().take().map_or_else(Default::default, |r| {
                    (r.only, r.polls, r.max_servers, r.waiters)
                });
            let waited = began.elapsed();
            let bases: Bases = Arc::new(waiters.iter().filter_map(|w| w.basis()).collect());
            let ask = scope.as_deref().map_or(Ask::Servers, Ask::Backend);
            let mut result = me.index(&client, ask, timeout, max_servers, &bases).await;
            // The Runtime API scopes by the first proxy of that name, which is a
            // frontend when a frontend and a backend share it: read the full table.
            if let (Some(b), Ok(found)) = (&scope, &result)
                && !found.contains_key(b.as_str())
            {
                result = me
                    .index(&client, Ask::Servers, timeout, max_servers, &bases)
                    .await;
            }
            tracing::debug!(
                source = me.transport.label(),
                polls,
                waited_ms = waited.as_millis() as u64,
                fetched_ms = (began.elapsed() - waited).as_millis() as u64,
                ok = result.is_ok(),
                "shared stats round"
            );
            let result = Arc::new(result);
            let round = RoundOutcome {
                source: &me,
                result: &result,
            };
            let (news, routine): (Vec<_>, Vec<_>) =
                waiters.into_iter().partition(|w| w.urgent(round));
            for w in news.into_iter().chain(routine) {
                w.answer(round);
            }
            let _ = tx.send(Some(result));
        });
        rx
    }

    /// Waits until the gathering round has had no new poll for [`COALESCE_WINDOW`],
    /// or for [`MAX_GATHER`].
    async fn gather(&self) {
        let started = Instant::now();
        loop {
            let quiet_for = self.lock().as_ref().map(|r| r.last_join.elapsed());
            let wait = match quiet_for {
                Some(q) if q < COALESCE_WINDOW => COALESCE_WINDOW - q,
                _ => return,
            };
            let left = MAX_GATHER.saturating_sub(started.elapsed());
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(wait.min(left)).await;
        }
    }

    fn error(&self, what: String, kind: FetchErrorKind) -> FetchError {
        FetchError::new(kind, format!("{} {what}", self.transport.label()))
    }

    /// One fetch of the table (of one backend, or of every backend and server),
    /// indexed by backend while it is read.
    async fn index(
        &self,
        client: &reqwest::Client,
        ask: Ask<'_>,
        timeout: Duration,
        max_servers: usize,
        bases: &Bases,
    ) -> Result<Index, FetchError> {
        let index = BackendIndex::with_bases(max_servers, bases.clone());
        let read = self.read(client, ask, timeout, index);
        Ok(read.await?.into_reads())
    }

    /// Reads the answer to `ask` into `sink` as it arrives.
    async fn read<S: RowSink + Send>(
        &self,
        client: &reqwest::Client,
        ask: Ask<'_>,
        timeout: Duration,
        sink: S,
    ) -> Result<S, FetchError> {
        let mut reader = Reader::new(sink);
        let mut feed = |chunk: &[u8]| reader.feed(chunk);
        table::read(&self.transport, client, ask, timeout, &mut feed).await?;
        reader.finish().map_err(|e| {
            self.error(
                format!("sent unreadable stats: {e}"),
                FetchErrorKind::Protocol,
            )
        })
    }

    /// The backends of the instance (for `backends = "*"`): proxies with a BACKEND
    /// row, without frontends and the stats page itself.
    pub async fn backends(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
    ) -> Result<Vec<String>, FetchError> {
        let found = self.read(client, Ask::Proxies, timeout, Discovery::default());
        Ok(found.await?.names())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A Runtime API that answers every command with `table` after `delay` (a slow
    /// HAProxy), and counts connections and how many were open at once.
    struct SlowApi {
        addr: String,
        accepted: Arc<AtomicUsize>,
        most_at_once: Arc<AtomicUsize>,
        first: tokio::sync::Notify,
    }

    async fn slow_api(table: &'static str, delay: Duration) -> Arc<SlowApi> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = Arc::new(SlowApi {
            addr: format!("tcp://{}", listener.local_addr().unwrap()),
            accepted: Arc::new(AtomicUsize::new(0)),
            most_at_once: Arc::new(AtomicUsize::new(0)),
            first: tokio::sync::Notify::new(),
        });
        let open = Arc::new(AtomicUsize::new(0));
        let me = api.clone();
        tokio::spawn(async move {
            use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
            while let Ok((stream, _)) = listener.accept().await {
                me.accepted.fetch_add(1, Ordering::SeqCst);
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                me.most_at_once.fetch_max(now, Ordering::SeqCst);
                me.first.notify_one();
                let open = open.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut line = String::new();
                    let mut read = tokio::io::BufReader::new(read);
                    let _ = read.read_line(&mut line).await;
                    tokio::time::sleep(delay).await;
                    open.fetch_sub(1, Ordering::SeqCst);
                    let _ = write.write_all(table.as_bytes()).await;
                });
            }
        });
        api
    }

    #[tokio::test]
    async fn polls_due_during_a_slow_fetch_wait_for_it_and_share_the_next_one() {
        let table = "# pxname,svname,type,status,\n\
            b1,s1,2,UP,\nb1,BACKEND,1,UP,\n\
            b2,s1,2,DOWN,\nb2,BACKEND,1,DOWN,\n\
            b3,s1,2,UP,\nb3,BACKEND,1,UP,\n\n";
        // Far longer than the gathering window: without one fetch at a time, the
        // second round would connect while the first answer is still on its way.
        let api = slow_api(table, Duration::from_millis(400)).await;
        let source = Arc::new(StatsSource::new(Transport::Runtime(RuntimeApi::new(
            "slow",
            super::super::socket::RuntimeAddr::parse(&api.addr),
        ))));
        let client = reqwest::Client::new();
        let timeout = Duration::from_secs(5);
        let first = {
            let (source, client) = (source.clone(), client.clone());
            tokio::spawn(async move { source.servers(&client, "b1", timeout, 500).await })
        };
        api.first.notified().await;
        let later: Vec<_> = ["b2", "b3"]
            .into_iter()
            .map(|b| {
                let (source, client) = (source.clone(), client.clone());
                tokio::spawn(async move { source.servers(&client, b, timeout, 500).await })
            })
            .collect();
        let first = first.await.unwrap().unwrap();
        assert_eq!(&*first.servers[0].status, "UP");
        assert_eq!(first.status.as_deref(), Some("UP"));
        let mut statuses = Vec::new();
        for t in later {
            let b = t.await.unwrap().unwrap();
            statuses.push((b.servers[0].status.clone(), b.status.clone().unwrap()));
        }
        assert_eq!(
            statuses,
            [("DOWN".into(), "DOWN".into()), ("UP".into(), "UP".into())]
        );
        assert_eq!(
            api.most_at_once.load(Ordering::SeqCst),
            1,
            "two fetches at once"
        );
        assert_eq!(
            api.accepted.load(Ordering::SeqCst),
            2,
            "b2 and b3 share one fetch after b1's"
        );
    }

    /// Sends what the round answered for its backend; urgent when its backend
    /// is missing.
    struct Told(
        String,
        tokio::sync::mpsc::UnboundedSender<Result<String, FetchError>>,
    );

    impl RoundWaiter for Told {
        fn urgent(&self, round: RoundOutcome<'_>) -> bool {
            round.backend(&self.0).is_err()
        }

        fn answer(self: Box<Self>, round: RoundOutcome<'_>) {
            let read = round.sample(&self.0);
            let _ = self.1.send(read.map(|b| b.servers[0].status.to_string()));
        }
    }

    #[tokio::test]
    async fn waiters_share_the_round_of_waiting_polls_urgent_ones_answered_first() {
        let table = "# pxname,svname,type,status,\n\
            b1,s1,2,UP,\nb1,BACKEND,1,UP,\n\
            b2,s1,2,DOWN,\nb2,BACKEND,1,DOWN,\n\n";
        let api = slow_api(table, Duration::from_millis(100)).await;
        let addr = super::super::socket::RuntimeAddr::parse(&api.addr);
        let source = Arc::new(StatsSource::new(Transport::Runtime(RuntimeApi::new(
            "lb", addr,
        ))));
        let client = reqwest::Client::new();
        let timeout = Duration::from_secs(5);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for b in ["b2", "nope"] {
            let told = Box::new(Told(b.into(), tx.clone()));
            source.wait_in_round(&client, b, timeout, 500, told);
        }
        let polled = source.servers(&client, "b1", timeout, 500).await.unwrap();
        assert_eq!(&*polled.servers[0].status, "UP");
        let missing = rx.recv().await.unwrap().unwrap_err();
        assert_eq!(missing.kind, FetchErrorKind::NotFound, "{missing}");
        assert_eq!(rx.recv().await.unwrap().unwrap(), "DOWN");
        assert_eq!(
            api.accepted.load(Ordering::SeqCst),
            1,
            "one fetch for all three"
        );
    }

    #[tokio::test]
    async fn garbage_is_unreadable_and_long_lists_stop_past_the_limit() {
        let client = reqwest::Client::new();
        let timeout = Duration::from_secs(5);
        let source = |api: &SlowApi| {
            let addr = super::super::socket::RuntimeAddr::parse(&api.addr);
            Arc::new(StatsSource::new(Transport::Runtime(RuntimeApi::new(
                "t", addr,
            ))))
        };
        let html = slow_api("<html><body>login</body></html>\n\n", Duration::ZERO).await;
        let e = source(&html)
            .servers(&client, "be", timeout, 500)
            .await
            .unwrap_err();
        assert_eq!(e.kind, FetchErrorKind::Protocol, "{e}");
        assert!(
            e.message
                .contains("sent unreadable stats: not HAProxy stats CSV"),
            "{e}"
        );
        let table = "# pxname,svname,type,status,\n\
            be,s1,2,UP,\nbe,s2,2,UP,\nbe,s3,2,UP,\nbe,s4,2,UP,\nbe,BACKEND,1,UP,\n\n";
        let long = slow_api(table, Duration::ZERO).await;
        let sample = source(&long)
            .servers(&client, "be", timeout, 2)
            .await
            .unwrap();
        assert_eq!(sample.servers.len(), 3, "one past the limit, not all four");
        assert_eq!(sample.status.as_deref(), Some("UP"));
    }
}
