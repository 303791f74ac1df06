//! The stats CSV read as it arrives: chunks in (from the Runtime API socket or the
//! stats page's body), each complete row handed to a [`RowSink`] and forgotten,
//! only the unfinished last row kept. The rules are those of [`super::parse`]
//! (header first, columns by name, at most [`super::MAX_COLUMNS`], rows of the
//! wrong width skipped, CRLF, blank lines, quoted cells that may hold commas and
//! newlines), so a round's answer is never held whole: what remains of it is what
//! the sink builds, e.g. the per-backend server lists of [`BackendIndex`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use memchr::memchr2;

use super::{
    Header, KNOWN, RawCell, RowKind, Slots, Span, backend_status, header_at, is_internal, kind_of,
    listen_hints, plain_row, quoted_row, same_as, sample_of,
};
use crate::model::{BackendSample, FastMap, FetchStatus, Payload, SameRead, TargetState};

/// A byte-order mark, skipped at the start of the answer.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What receives each well-formed row of the table.
pub trait RowSink {
    fn row(&mut self, row: &RowView<'_>);
}

/// One row while the reader looks at it.
pub struct RowView<'a> {
    text: &'a str,
    header: &'a Header,
    known: [Span; KNOWN.len()],
    /// Cells that had to be unquoted, by position.
    decoded: Vec<(usize, String)>,
}

impl Slots for RowView<'_> {
    fn slot(&self, slot: usize) -> Option<&str> {
        let at = self.header.known[slot]?;
        let span = self.known[slot];
        let cell = if span == Span::DECODED {
            self.decoded
                .iter()
                .find(|(p, _)| *p == at)
                .map(|(_, s)| s.as_str())
        } else {
            self.text.get(span.start as usize..span.end as usize)
        };
        cell.filter(|c| !c.is_empty())
    }

    fn header(&self) -> &Header {
        self.header
    }
}

impl RowView<'_> {
    /// What the row describes (see [`super::Row::kind`]).
    pub fn kind(&self) -> RowKind {
        kind_of(self)
    }

    /// The proxy name (`pxname`), empty when missing.
    pub fn pxname(&self) -> &str {
        Slots::pxname(self)
    }
}

enum Stage {
    /// Before the header line.
    Start,
    Rows(Box<Header>),
    /// Not a stats CSV: the rest is ignored, the error given at the end.
    Failed(String),
}

/// Where the search for the end of the current row is, once a quote was seen in it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    CellStart,
    Plain,
    Inside,
    /// A `"` inside a quoted cell: closing it, or the first half of `""`.
    Seen,
}

/// Reads a stats CSV chunk by chunk into `S`.
pub struct Reader<S> {
    /// The unfinished rows: `pending[start..]` (compacted after each chunk).
    pending: Vec<u8>,
    start: usize,
    /// How far the current row was searched for its end, and the quoting there
    /// (`None`: no quote seen in it yet).
    scanned: usize,
    quote: Option<Quote>,
    bom_checked: bool,
    stage: Stage,
    cells: Vec<RawCell>,
    skipped_rows: usize,
    sink: S,
}

impl<S: RowSink> Reader<S> {
    pub fn new(sink: S) -> Reader<S> {
        Reader {
            pending: Vec::new(),
            start: 0,
            scanned: 0,
            quote: None,
            bom_checked: false,
            stage: Stage::Start,
            cells: Vec::new(),
            skipped_rows: 0,
            sink,
        }
    }

    /// Reads the next bytes of the answer.
    pub fn feed(&mut self, chunk: &[u8]) {
        if matches!(self.stage, Stage::Failed(_)) {
            return;
        }
        self.pending.extend_from_slice(chunk);
        if !self.bom_checked && !self.check_bom(false) {
            return;
        }
        while let Some(end) = self.row_end() {
            self.take_row(end);
            self.start = end + 1;
            self.scanned = self.start;
            if matches!(self.stage, Stage::Failed(_)) {
                self.pending = Vec::new();
                (self.start, self.scanned) = (0, 0);
                return;
            }
        }
        self.pending.drain(..self.start);
        self.scanned -= self.start;
        self.start = 0;
    }

    /// The end of the answer: reads its last row; the sink, or why the answer is
    /// not a stats CSV.
    pub fn finish(mut self) -> Result<S, String> {
        if !self.bom_checked {
            self.check_bom(true);
        }
        if matches!(self.stage, Stage::Failed(_)) {
            self.pending.clear();
        }
        if self.start < self.pending.len() {
            self.take_row(self.pending.len());
        }
        match self.stage {
            Stage::Start => Err("empty answer where HAProxy stats CSV was expected".to_string()),
            Stage::Failed(why) => Err(why),
            Stage::Rows(_) => Ok(self.sink),
        }
    }

    /// Rows skipped so far because their number of cells differs from the header's.
    pub fn skipped_rows(&self) -> usize {
        self.skipped_rows
    }

    /// Skips a byte-order mark at the start; whether that could be decided (the
    /// first bytes may be a mark's start and the rest still to come).
    fn check_bom(&mut self, at_end: bool) -> bool {
        let head = &self.pending[..self.pending.len().min(BOM.len())];
        if !at_end && head.len() < BOM.len() && BOM.starts_with(head) {
            return false;
        }
        if head == BOM {
            (self.start, self.scanned) = (BOM.len(), BOM.len());
        }
        self.bom_checked = true;
        true
    }

    /// Where the row at `start` ends (its `\n`), if it is complete: the first `\n`
    /// outside a quoted cell. Searches each byte once, however the chunks fall.
    fn row_end(&mut self) -> Option<usize> {
        let b = &self.pending;
        if self.quote.is_none() {
            match memchr2(b'\n', b'"', &b[self.scanned..]) {
                None => {
                    self.scanned = b.len();
                    return None;
                }
                Some(o) if b[self.scanned + o] == b'\n' => return Some(self.scanned + o),
                // A quote: the row is searched again from its start, cell by cell.
                Some(_) => (self.quote, self.scanned) = (Some(Quote::CellStart), self.start),
            }
        }
        let mut state = self.quote.unwrap_or(Quote::CellStart);
        for (i, &c) in b.iter().enumerate().skip(self.scanned) {
            state = match (state, c) {
                (Quote::Inside, b'"') => Quote::Seen,
                (Quote::Inside, _) => Quote::Inside,
                (Quote::Seen | Quote::CellStart, b'"') => Quote::Inside,
                (_, b',') => Quote::CellStart,
                (_, b'\n') => {
                    self.quote = None;
                    return Some(i);
                }
                _ => Quote::Plain,
            };
        }
        (self.quote, self.scanned) = (Some(state), b.len());
        None
    }

    /// Reads the row `pending[start..end]` (without its `\n`): the header, a data
    /// row, or a blank line.
    fn take_row(&mut self, end: usize) {
        let raw = &self.pending[self.start..end];
        if raw
            .iter()
            .all(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c'))
        {
            return;
        }
        if raw.len() >= u32::MAX as usize {
            self.stage = Stage::Failed("HAProxy stats CSV row larger than 4 GiB".into());
            return;
        }
        // `from_utf8` checks a word at a time; the lossy reading (byte by byte)
        // only for a row that is not UTF-8.
        let text = match std::str::from_utf8(raw) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(raw),
        };
        match &self.stage {
            Stage::Start => {
                self.stage = match header_at(&text, 0) {
                    Ok((header, _)) => Stage::Rows(Box::new(header)),
                    Err(why) => Stage::Failed(why),
                };
            }
            Stage::Rows(header) => {
                let row = read_row(&text, header, &mut self.cells);
                match row {
                    Some(row) => self.sink.row(&row),
                    None => self.skipped_rows += 1,
                }
            }
            Stage::Failed(_) => {}
        }
    }
}

/// A data row's located cells; `None` when its number of cells differs from the
/// header's.
fn read_row<'a>(
    text: &'a str,
    header: &'a Header,
    cells: &mut Vec<RawCell>,
) -> Option<RowView<'a>> {
    let b = text.as_bytes();
    let width = header.names.len();
    let mut known = [Span::ABSENT; KNOWN.len()];
    let (count, decoded) = match plain_row(b, 0, header, &mut known) {
        Some((_, count)) => (count, Vec::new()),
        None => {
            let (_, count, decoded) = quoted_row(text, 0, header, cells, &mut known);
            (count, decoded)
        }
    };
    (count == width).then_some(RowView {
        text,
        header,
        known,
        decoded,
    })
}

/// Every backend of the table with its `BACKEND` row's status and its servers,
/// built while reading (the same rules as [`super::servers_by_backend`]). A
/// backend's list stops growing one server past `max_servers`, so a table with
/// too many servers costs no more than that and is still seen as too large.
///
/// A backend given a basis (its committed state, [`BackendIndex::with_bases`]) is
/// compared with it row by row: while its rows read as the basis's servers, only
/// their `lastchg` is kept, and a backend that reads the same to the end is a
/// [`Payload::Same`]. A round of 10,000 unchanged backends then holds no server
/// list at all. The first row that differs turns the backend into a full read.
///
/// HAProxy writes the rows of a proxy together: a row of the proxy read last goes
/// straight to it, and only a row of another proxy looks its name up.
#[derive(Debug, Default)]
pub struct BackendIndex {
    /// Each name is one string, shared with `at` and, for a backend with a
    /// basis, with the key of `bases`: a round allocates no name it was given.
    backends: Vec<(Arc<str>, Building)>,
    at: FastMap<Arc<str>, usize>,
    max_servers: usize,
    bases: Bases,
}

/// Committed states by backend name, to compare the rows with. The names are
/// the pollers' own (`Arc` clones), so building the map allocates none.
pub type Bases = Arc<FastMap<Arc<str>, Arc<TargetState>>>;

/// One backend while its rows are read.
#[derive(Debug, Default)]
struct Building {
    sample: BackendSample,
    /// Its basis and the `lastchg` of each row so far, while every server row
    /// has read as the basis's server of the same rank.
    same: Option<(Arc<TargetState>, Vec<Option<u64>>)>,
}

impl Building {
    /// Gives up the comparison: the rows that matched become samples again.
    fn full(&mut self) {
        if let Some((basis, lastchg)) = self.same.take() {
            let kept = basis.servers.iter().zip(lastchg);
            let mut servers: Vec<_> = kept.map(|(r, l)| r.sample(l)).collect();
            servers.append(&mut self.sample.servers);
            self.sample.servers = servers;
        }
    }

    /// Compares server row `row` with the basis's server of the same rank: its
    /// `lastchg` kept when it reads the same, a full read from here on if not.
    fn compare(&mut self, row: &RowView<'_>) {
        let Some((basis, lastchg)) = &mut self.same else {
            return;
        };
        let server = basis.servers.get(lastchg.len());
        match server.and_then(|r| same_as(row, r)) {
            Some(l) => lastchg.push(l),
            None => {
                self.full();
                self.sample.servers.extend(sample_of(row));
            }
        }
    }

    /// The backend's read once the table is complete.
    fn finish(mut self) -> Payload {
        let status = &self.sample.status;
        let whole = self.same.take_if(|(basis, lastchg)| {
            lastchg.len() == basis.servers.len() && *status == basis.backend_state
        });
        if let Some((basis, lastchg)) = whole {
            return Payload::Same(Arc::new(SameRead {
                basis,
                last_change_s: lastchg.into_boxed_slice(),
            }));
        }
        self.full();
        self.sample.servers.shrink_to_fit();
        Payload::Servers(Arc::new(self.sample))
    }
}

impl BackendIndex {
    /// An empty index keeping at most `max_servers + 1` servers per backend.
    pub fn new(max_servers: usize) -> BackendIndex {
        BackendIndex {
            max_servers,
            ..BackendIndex::default()
        }
    }

    /// [`BackendIndex::new`], comparing the backends of `bases` with their
    /// committed states (only states of a successful read are compared).
    pub fn with_bases(max_servers: usize, bases: Bases) -> BackendIndex {
        BackendIndex {
            max_servers,
            bases,
            ..BackendIndex::default()
        }
    }

    /// The backends, each read in full or as the same as its basis.
    pub fn into_reads(self) -> FastMap<Arc<str>, Payload> {
        let mut out = FastMap::with_capacity_and_hasher(self.backends.len(), Default::default());
        for (name, building) in self.backends {
            out.insert(name, building.finish());
        }
        out
    }

    /// The backends read in full, each server list at its final size.
    pub fn into_map(self) -> FastMap<Arc<str>, Arc<BackendSample>> {
        let mut out = FastMap::with_capacity_and_hasher(self.backends.len(), Default::default());
        for (name, mut building) in self.backends {
            building.full();
            building.sample.servers.shrink_to_fit();
            out.insert(name, Arc::new(building.sample));
        }
        out
    }

    /// The backend `name`, added if new.
    fn building(&mut self, name: &str) -> &mut Building {
        let last = self.backends.len().checked_sub(1);
        let i = match last {
            Some(i) if *self.backends[i].0 == *name => i,
            _ => match self.at.get(name) {
                Some(&i) => i,
                None => {
                    let i = self.backends.len();
                    let (key, basis) = match self.bases.get_key_value(name) {
                        Some((key, basis)) => (key.clone(), Some(basis)),
                        None => (Arc::from(name), None),
                    };
                    self.at.insert(key.clone(), i);
                    let same = basis
                        .filter(|b| b.last_fetch_status == FetchStatus::Success)
                        .map(|b| (b.clone(), Vec::with_capacity(b.servers.len())));
                    let building = Building {
                        sample: BackendSample::default(),
                        same,
                    };
                    self.backends.push((key, building));
                    i
                }
            },
        };
        &mut self.backends[i].1
    }
}

impl RowSink for BackendIndex {
    fn row(&mut self, row: &RowView<'_>) {
        let kind = row.kind();
        if !matches!(kind, RowKind::Backend | RowKind::Server) {
            return;
        }
        let max_servers = self.max_servers;
        let b = self.building(row.pxname());
        match kind {
            // A row without a name is no server, as in `sample_of`.
            RowKind::Server if row.svname().trim().is_empty() => {}
            RowKind::Server if b.same.is_some() => b.compare(row),
            RowKind::Server if b.sample.servers.len() <= max_servers => {
                b.sample.servers.extend(sample_of(row))
            }
            RowKind::Backend if b.sample.status.is_none() => b.sample.status = backend_status(row),
            _ => {}
        }
    }
}

/// The backends a poller can watch (the rules of [`super::backends`]), found while
/// reading: each `BACKEND` row is kept as a candidate, decided once the whole
/// table is known.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Per proxy: whether it has a `FRONTEND` row, whether it has a server row.
    seen: HashMap<Box<str>, (bool, bool)>,
    /// `BACKEND` rows in order: name, mode `http`, servers shown on the row.
    candidates: Vec<(Box<str>, bool, bool)>,
}

impl RowSink for Discovery {
    fn row(&mut self, row: &RowView<'_>) {
        let name = row.pxname();
        match row.kind() {
            RowKind::Frontend => self.seen.entry(name.into()).or_default().0 = true,
            RowKind::Server => self.seen.entry(name.into()).or_default().1 = true,
            RowKind::Backend if !name.is_empty() && !is_internal(name) => {
                let (http, row_servers) = listen_hints(row);
                self.candidates.push((name.into(), http, row_servers));
            }
            _ => {}
        }
    }
}

impl Discovery {
    /// The backends, in the order of their `BACKEND` rows.
    pub fn names(self) -> Vec<String> {
        let mut listed = HashSet::new();
        let mut names = Vec::new();
        for (name, http, row_servers) in self.candidates {
            let (frontend, server) = self.seen.get(&name).copied().unwrap_or_default();
            let stats_listen = http && frontend && !(server || row_servers);
            if stats_listen || listed.contains(&name) {
                continue;
            }
            names.push(name.to_string());
            listed.insert(name);
        }
        names
    }
}

#[cfg(test)]
#[path = "csv_stream_tests.rs"]
mod tests;
