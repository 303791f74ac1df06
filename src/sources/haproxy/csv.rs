//! Parser for HAProxy's stats CSV, as served by the stats page (`/stats;csv`) and by
//! the Runtime API (`show stat`). Bytes in, a [`CsvTable`] or an error text out; no I/O.
//!
//! Columns are looked up by the names in the `# pxname,svname,...` header line, never
//! by position: the columns after `-` differ from one HAProxy version to the next.
//!
//! The table keeps the answer's text once and, per row, where its cells are: the
//! columns a poll reads are located while parsing, any other cell is found on demand.
//! A table of 10,000 backends is about 11 MB of text; copying each of its 1.2 million
//! cells into a string of its own would cost more than fetching it.

use std::collections::HashMap;
use std::sync::Arc;

use memchr::{memchr, memchr2};

use crate::model::{BackendSample, ServerRead, ServerRecord, ServerSample, Shared, intern};

/// How many characters of an unexpected body an error message quotes.
const SNIPPET_CHARS: usize = 80;

/// The columns located while parsing, in slot order.
const KNOWN: [&str; 10] = [
    "pxname",
    "svname",
    "type",
    "status",
    "weight",
    "check_status",
    "lastchg",
    "addr",
    "mode",
    "downtime",
];
const PXNAME: usize = 0;
const SVNAME: usize = 1;
const TYPE: usize = 2;
const STATUS: usize = 3;
const WEIGHT: usize = 4;
const CHECK_STATUS: usize = 5;
const LASTCHG: usize = 6;
const ADDR: usize = 7;
const MODE: usize = 8;
const DOWNTIME: usize = 9;

/// A parsed stats CSV: the column names and every well-formed row, in order.
#[derive(Clone, Debug)]
pub struct CsvTable {
    body: Arc<Body>,
    rows: Vec<Row>,
    /// Rows skipped because their number of cells differs from the header's.
    pub skipped_rows: usize,
}

impl PartialEq for CsvTable {
    fn eq(&self, other: &Self) -> bool {
        self.body.header == other.body.header
            && self.skipped_rows == other.skipped_rows
            && self.rows == other.rows
    }
}

/// The answer's text and its header.
#[derive(Debug)]
struct Body {
    text: String,
    header: Header,
}

/// Column names, their positions, and which positions are located while parsing.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
    /// The position of each [`KNOWN`] column, if the header has it.
    known: [Option<usize>; KNOWN.len()],
    /// How many cells of a row must be located to reach every known column.
    located: usize,
    /// The slot of each position before `located` (the later ones have none).
    slot_at: Vec<Option<usize>>,
}

/// Where a cell's text is: `text[start..end]`, or, for a cell that needs unquoting
/// (`""` inside quotes), in the row's `decoded` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    const ABSENT: Span = Span { start: 0, end: 0 };
    const DECODED: Span = Span {
        start: u32::MAX,
        end: u32::MAX,
    };
}

/// One line of the CSV: a frontend, backend, server or listener.
#[derive(Clone, Debug)]
pub struct Row {
    body: Arc<Body>,
    /// The row's raw text (more than one line when a quoted cell holds a newline).
    line: Span,
    known: [Span; KNOWN.len()],
    /// Cells that had to be unquoted, by position.
    decoded: Vec<(usize, String)>,
}

impl PartialEq for Row {
    fn eq(&self, other: &Self) -> bool {
        self.body.header.names.len() == other.body.header.names.len()
            && self
                .body
                .header
                .names
                .iter()
                .all(|name| self.get(name) == other.get(name))
    }
}

impl Eq for Row {}

/// What a row describes, from its `type` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// `type` 0, `svname` `FRONTEND`.
    Frontend,
    /// `type` 1, `svname` `BACKEND`.
    Backend,
    /// `type` 2: one `server` line.
    Server,
    /// `type` 3: one `bind` line (with `option socket-stats`).
    Listener,
    /// A `type` this parser does not know.
    Other,
}

impl CsvTable {
    /// The column names, in header order (the trailing empty column included).
    pub fn columns(&self) -> &[String] {
        &self.body.header.names
    }

    /// Whether the header names this column.
    pub fn has_column(&self, name: &str) -> bool {
        self.body.header.index.contains_key(name)
    }

    /// Every well-formed row, in the order HAProxy wrote them.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }
}

impl Row {
    /// The cell of the named column; `None` when the column is absent or the cell empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        let header = &self.body.header;
        let at = *header.index.get(name)?;
        let cell = match header.slot_at.get(at).copied().flatten() {
            Some(slot) => self.resolve(self.known[slot], at),
            None => self.cell_at(at),
        };
        cell.filter(|c| !c.is_empty())
    }

    /// A located column's cell; `None` when the column is absent or the cell empty.
    fn slot(&self, slot: usize) -> Option<&str> {
        let at = self.body.header.known[slot]?;
        self.resolve(self.known[slot], at).filter(|c| !c.is_empty())
    }

    fn resolve(&self, span: Span, at: usize) -> Option<&str> {
        if span == Span::DECODED {
            return self
                .decoded
                .iter()
                .find(|(p, _)| *p == at)
                .map(|(_, s)| s.as_str());
        }
        self.body.text.get(span.start as usize..span.end as usize)
    }

    /// Finds a cell that was not located while parsing.
    fn cell_at(&self, at: usize) -> Option<&str> {
        let text = &self.body.text;
        let line = &text.as_bytes()[..self.line.end as usize];
        let mut from = self.line.start as usize;
        for position in 0.. {
            let (cell, stop) = scan_cell(line, from);
            if position == at {
                return self.resolve(cell.span(), at);
            }
            if stop >= line.len() {
                return None;
            }
            from = stop + 1;
        }
        None
    }

    /// The named cell as an unsigned number; `None` when empty, negative or too large.
    pub fn get_u64(&self, name: &str) -> Option<u64> {
        self.get(name)?.trim().parse().ok()
    }

    /// The proxy name (`pxname`), empty when missing.
    pub fn pxname(&self) -> &str {
        self.slot(PXNAME).unwrap_or("")
    }

    /// The server, listener, `FRONTEND` or `BACKEND` name (`svname`), empty when missing.
    pub fn svname(&self) -> &str {
        self.slot(SVNAME).unwrap_or("")
    }

    /// What the row describes: from `type`, or from `svname` when `type` is missing.
    pub fn kind(&self) -> RowKind {
        kind_of(self)
    }
}

/// The located cells of a row, wherever its text is kept: in a [`CsvTable`], or
/// only while the streaming reader ([`stream`]) looks at it.
trait Slots {
    /// A located column's cell; `None` when the column is absent or the cell empty.
    fn slot(&self, slot: usize) -> Option<&str>;
    /// The header the row was read with.
    fn header(&self) -> &Header;

    fn slot_u64(&self, slot: usize) -> Option<u64> {
        self.slot(slot)?.trim().parse().ok()
    }

    fn pxname(&self) -> &str {
        self.slot(PXNAME).unwrap_or("")
    }

    fn svname(&self) -> &str {
        self.slot(SVNAME).unwrap_or("")
    }
}

impl Slots for Row {
    fn slot(&self, slot: usize) -> Option<&str> {
        Row::slot(self, slot)
    }

    fn header(&self) -> &Header {
        &self.body.header
    }
}

/// What a row describes: from `type`, or from `svname` when `type` is missing.
fn kind_of(row: &impl Slots) -> RowKind {
    match row.slot(TYPE).map(str::trim) {
        Some("0") => RowKind::Frontend,
        Some("1") => RowKind::Backend,
        Some("2") => RowKind::Server,
        Some("3") => RowKind::Listener,
        Some(_) => RowKind::Other,
        None => kind_from_svname(row),
    }
}

/// The fallback for CSVs without a usable `type` cell.
fn kind_from_svname(row: &impl Slots) -> RowKind {
    match row.svname() {
        "FRONTEND" => RowKind::Frontend,
        "BACKEND" => RowKind::Backend,
        "" => RowKind::Other,
        _ if row.header().known[TYPE].is_some() => RowKind::Other,
        _ => RowKind::Server,
    }
}

/// How a raw cell is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quoting {
    /// As is.
    Plain,
    /// `"text"` with no `""` inside: the text between the quotes.
    Quoted,
    /// Anything else starting with `"`: must be unquoted into a string of its own.
    Escaped,
}

/// One cell as found in the text, before unquoting.
#[derive(Clone, Copy, Debug)]
struct RawCell {
    start: usize,
    end: usize,
    quoting: Quoting,
}

impl RawCell {
    fn span(&self) -> Span {
        match self.quoting {
            Quoting::Plain => span(self.start, self.end),
            Quoting::Quoted => span(self.start + 1, self.end - 1),
            Quoting::Escaped => Span::DECODED,
        }
    }
}

/// The cell starting at `at`, and where it stopped: at the `,` or `\n` after it, or
/// at the end of `b`. A cell that starts with `"` runs to the next lone `"` (so it
/// may hold commas and newlines), then to the next `,` or `\n`. A `\r` before a `\n`
/// is not part of the cell.
fn scan_cell(b: &[u8], at: usize) -> (RawCell, usize) {
    let mut quoting = Quoting::Plain;
    let mut from = at;
    if b.get(at) == Some(&b'"') {
        quoting = Quoting::Quoted;
        let mut i = at + 1;
        loop {
            match memchr(b'"', &b[i..]) {
                None => {
                    let cell = RawCell {
                        start: at,
                        end: b.len(),
                        quoting: Quoting::Escaped,
                    };
                    return (cell, b.len());
                }
                Some(o) if b.get(i + o + 1) == Some(&b'"') => {
                    quoting = Quoting::Escaped;
                    i += o + 2;
                }
                Some(o) => {
                    from = i + o + 1;
                    break;
                }
            }
        }
    }
    // Cells are short (most are a few digits): a plain loop beats a vectorised search.
    let stop = b[from..]
        .iter()
        .position(|&c| c == b',' || c == b'\n')
        .map_or(b.len(), |o| from + o);
    let mut end = stop;
    if b.get(stop) != Some(&b',') && end > at && b[end - 1] == b'\r' {
        end -= 1;
    }
    if quoting == Quoting::Quoted && end != from {
        quoting = Quoting::Escaped;
    }
    let cell = RawCell {
        start: at,
        end,
        quoting,
    };
    (cell, stop)
}

/// Unquotes a raw cell that starts with `"`: it ends at the next lone `"`, `""`
/// inside stands for one `"`, and anything after the closing quote is kept as is.
fn unquote(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().skip(1).peekable();
    let mut quoted = true;
    while let Some(c) = chars.next() {
        if !quoted || c != '"' {
            out.push(c);
        } else if chars.next_if_eq(&'"').is_some() {
            out.push('"');
        } else {
            quoted = false;
        }
    }
    out
}

/// Splits one row starting at `at` into `cells`; returns where the next row starts.
/// Keeps at most `max` cells (the rest are only counted, so a hostile row costs no
/// memory); returns where the next row starts and how many cells the row has.
fn scan_row(b: &[u8], mut at: usize, cells: &mut Vec<RawCell>, max: usize) -> (usize, usize) {
    cells.clear();
    let mut count = 0;
    loop {
        let (cell, stop) = scan_cell(b, at);
        count += 1;
        if cells.len() < max {
            cells.push(cell);
        }
        if stop >= b.len() {
            return (b.len(), count);
        }
        at = stop + 1;
        if b[stop] == b'\n' {
            return (at, count);
        }
    }
}

/// The fast path for a row without quotes (every row HAProxy writes unless a check
/// message needs quoting): cells are split at commas with a vectorised search.
/// Fills in the located cells; returns where the next row starts and how many cells
/// the row has, or `None` when the line has a quote.
fn plain_row(
    b: &[u8],
    at: usize,
    header: &Header,
    known: &mut [Span; KNOWN.len()],
) -> Option<(usize, usize)> {
    let rest = &b[at..];
    let len = memchr2(b'\n', b'"', rest).unwrap_or(rest.len());
    if rest.get(len) == Some(&b'"') {
        return None;
    }
    let next = (at + len + 1).min(b.len());
    let mut end = len;
    if end > 0 && rest[end - 1] == b'\r' {
        end -= 1;
    }
    let line = &rest[..end];
    let mut cell_start = 0;
    let mut position = 0;
    for (i, &byte) in line.iter().enumerate() {
        if byte != b',' {
            continue;
        }
        if let Some(slot) = header.slot_at[position] {
            known[slot] = span(at + cell_start, at + i);
        }
        cell_start = i + 1;
        position += 1;
        if position == header.located {
            let rest = memchr::memchr_iter(b',', &line[cell_start..]).count();
            return Some((next, position + rest + 1));
        }
    }
    if let Some(slot) = header.slot_at.get(position).copied().flatten() {
        known[slot] = span(at + cell_start, at + line.len());
    }
    Some((next, position + 1))
}

fn span(start: usize, end: usize) -> Span {
    Span {
        start: start as u32,
        end: end as u32,
    }
}

/// Most columns a header may have. HAProxy 2.6 writes about 100 and each version
/// adds a few; a header far wider is not HAProxy's, and reading it would cost
/// memory in proportion.
pub const MAX_COLUMNS: usize = 1000;

/// Parses a stats CSV body. The first non-blank line must be the `# pxname,svname,...`
/// header; anything else (an HTML login page, `No such proxy.`) is an error quoting it.
/// CRLF line ends, blank lines and the socket's trailing empty line are tolerated. A row
/// whose cell count differs from the header's is skipped and counted.
pub fn parse(body: &[u8]) -> Result<CsvTable, String> {
    parse_owned(body.to_vec())
}

/// [`parse`], keeping the body without copying it.
pub fn parse_owned(body: Vec<u8>) -> Result<CsvTable, String> {
    let text = match String::from_utf8(body) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    if text.len() >= u32::MAX as usize {
        return Err("HAProxy stats CSV larger than 4 GiB".into());
    }
    let b = text.as_bytes();
    let mut at = if text.starts_with('\u{feff}') { 3 } else { 0 };
    at = skip_blank_lines(&text, at);
    if at >= b.len() {
        return Err("empty answer where HAProxy stats CSV was expected".to_string());
    }
    let (header, next) = header_at(&text, at)?;
    let (rows, skipped_rows) = parse_rows(&text, &header, next);
    let body = Arc::new(Body { text, header });
    let rows = rows
        .into_iter()
        .map(|(line, known, decoded)| Row {
            body: Arc::clone(&body),
            line,
            known,
            decoded,
        })
        .collect();
    Ok(CsvTable {
        body,
        rows,
        skipped_rows,
    })
}

type RowParts = (Span, [Span; KNOWN.len()], Vec<(usize, String)>);

/// A row with a quote (rare): every cell is located, the known ones noted in
/// `known`. Gives the row's end, its number of cells and the unquoted text of
/// each escaped cell by position.
fn quoted_row(
    text: &str,
    at: usize,
    header: &Header,
    cells: &mut Vec<RawCell>,
    known: &mut [Span; KNOWN.len()],
) -> (usize, usize, Vec<(usize, String)>) {
    let width = header.names.len();
    let (next, count) = scan_row(text.as_bytes(), at, cells, width + 1);
    for (slot, position) in header.known.iter().enumerate() {
        if let Some(cell) = position.and_then(|p| cells.get(p)) {
            known[slot] = cell.span();
        }
    }
    let decoded = cells
        .iter()
        .enumerate()
        .filter(|(_, c)| c.quoting == Quoting::Escaped)
        .map(|(p, c)| (p, unquote(&text[c.start..c.end])))
        .collect();
    (next, count, decoded)
}

/// Every row after the header: where it and its located cells are.
fn parse_rows(text: &str, header: &Header, mut at: usize) -> (Vec<RowParts>, usize) {
    let b = text.as_bytes();
    let width = header.names.len();
    let mut rows = Vec::new();
    let mut skipped = 0;
    let mut cells = Vec::with_capacity(width + 1);
    loop {
        at = skip_blank_lines(text, at);
        if at >= b.len() {
            return (rows, skipped);
        }
        let start = at;
        let mut known = [Span::ABSENT; KNOWN.len()];
        let mut decoded = Vec::new();
        let count;
        if let Some((next, n)) = plain_row(b, at, header, &mut known) {
            (at, count) = (next, n);
        } else {
            (at, count, decoded) = quoted_row(text, at, header, &mut cells, &mut known);
        }
        if count != width {
            skipped += 1;
            continue;
        }
        rows.push((span(start, line_end(b, start, at)), known, decoded));
    }
}

/// The end of a row's text that starts at `start`, the next row starting at `next`:
/// without its `\n` and a `\r` before it.
fn line_end(b: &[u8], start: usize, next: usize) -> usize {
    let mut end = next;
    if end > start && b.get(end - 1) == Some(&b'\n') {
        end -= 1;
    }
    if end > start && b[end - 1] == b'\r' {
        end -= 1;
    }
    end
}

/// The start of the first line at or after `at` with something other than
/// whitespace on it.
fn skip_blank_lines(text: &str, mut at: usize) -> usize {
    let b = text.as_bytes();
    let mut line = at;
    while at < b.len() {
        match b[at] {
            b'\n' => line = at + 1,
            b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c' => {}
            _ => return line,
        }
        at += 1;
    }
    b.len()
}

/// Reads the header line starting at `at`; returns it and where the next row starts.
fn header_at(text: &str, at: usize) -> Result<(Header, usize), String> {
    let mut cells = Vec::new();
    let (next, width) = scan_row(text.as_bytes(), at, &mut cells, MAX_COLUMNS);
    if width > MAX_COLUMNS {
        return Err(format!(
            "not HAProxy stats CSV: the header line has {width} columns (HAProxy writes about 100; at most {MAX_COLUMNS} are read)"
        ));
    }
    Ok((parse_header(text, &cells)?, next))
}

/// The header line: `# ` then comma-separated names, with `pxname` and `svname`.
fn parse_header(text: &str, cells: &[RawCell]) -> Result<Header, String> {
    let line_end = cells.last().map_or(0, |c| c.end);
    let line = &text[cells.first().map_or(0, |c| c.start)..line_end];
    if !line.trim_start().starts_with('#') {
        return Err(format!(
            "not HAProxy stats CSV: no `# pxname,svname,...` header line, the answer starts with {:?}",
            snippet(line)
        ));
    }
    let mut names: Vec<String> = cells
        .iter()
        .map(|c| cell_text(text, c).trim().to_string())
        .collect();
    if let Some(name) = names.first_mut() {
        let rest = name.trim_start();
        *name = rest.strip_prefix('#').unwrap_or(rest).trim().to_string();
    }
    let mut index = HashMap::with_capacity(names.len());
    for (at, name) in names.iter().enumerate().rev() {
        if !name.is_empty() {
            index.insert(name.clone(), at);
        }
    }
    for needed in ["pxname", "svname"] {
        if !index.contains_key(needed) {
            return Err(format!(
                "not HAProxy stats CSV: the header line has no `{needed}` column: {:?}",
                snippet(line)
            ));
        }
    }
    let known = KNOWN.map(|name| index.get(name).copied());
    let located = known.iter().flatten().max().map_or(0, |p| p + 1);
    let slot_at = (0..located)
        .map(|p| known.iter().position(|k| *k == Some(p)))
        .collect();
    Ok(Header {
        slot_at,
        names,
        index,
        known,
        located,
    })
}

/// A header cell's text, unquoted.
fn cell_text(text: &str, cell: &RawCell) -> String {
    match cell.span() {
        Span::DECODED => unquote(&text[cell.start..cell.end]),
        s => text[s.start as usize..s.end as usize].to_string(),
    }
}

/// The start of a line, for error messages.
fn snippet(line: &str) -> String {
    let line = line.trim();
    let mut out: String = line.chars().take(SNIPPET_CHARS).collect();
    if line.chars().count() > SNIPPET_CHARS {
        out.push('…');
    }
    out
}

/// The servers of one backend, from the rows whose `pxname` is exactly `backend` (the
/// stats page's `scope=` is a case-insensitive substring match, so `scope=be_app` also
/// returns `be_app_canary`). `None` when the table has neither a `BACKEND` row nor a
/// server row for that name: no such backend. Server rows alone (a `show stat <b> 4 -1`
/// answer) are enough. Empty or unparsable numbers become `None`, never an error.
pub fn servers_of(table: &CsvTable, backend: &str) -> Option<Vec<ServerSample>> {
    backend_of(table, backend).map(|b| b.servers)
}

/// [`servers_of`] with the status of the backend's `BACKEND` row.
pub fn backend_of(table: &CsvTable, backend: &str) -> Option<BackendSample> {
    let mut found = None;
    for row in table.rows.iter().filter(|row| row.pxname() == backend) {
        add_row(&mut found, row);
    }
    found
}

/// Adds a `BACKEND` row's status or a server row to the backend's sample.
fn add_row(sample: &mut Option<BackendSample>, row: &Row) {
    match row.kind() {
        RowKind::Backend => {
            let sample = sample.get_or_insert_default();
            if sample.status.is_none() {
                sample.status = backend_status(row);
            }
        }
        RowKind::Server => sample
            .get_or_insert_default()
            .servers
            .extend(sample_of(row)),
        _ => {}
    }
}

/// A `BACKEND` row's status without its `(up/total)` count: `UP`, `DOWN`.
fn backend_status(row: &impl Slots) -> Option<Shared> {
    let status = row.slot(STATUS)?;
    let word = status.split_once('(').map_or(status, |(w, _)| w).trim();
    (!word.is_empty()).then(|| intern(word))
}

/// Every backend of the table with its servers, in one pass (a poll round shares one
/// table among many backends). Same rules as [`servers_of`].
pub fn servers_by_backend(table: &CsvTable) -> HashMap<String, BackendSample> {
    let mut out: HashMap<String, BackendSample> = HashMap::new();
    for row in &table.rows {
        let kind = row.kind();
        if !matches!(kind, RowKind::Backend | RowKind::Server) {
            continue;
        }
        let name = row.pxname();
        let sample = match out.get_mut(name) {
            Some(sample) => sample,
            None => out.entry(name.to_string()).or_default(),
        };
        match kind {
            RowKind::Server => sample.servers.extend(sample_of(row)),
            _ if sample.status.is_none() => sample.status = backend_status(row),
            _ => {}
        }
    }
    out
}

/// One server row as a sample; `None` when it has no name.
fn sample_of(row: &impl Slots) -> Option<ServerSample> {
    let name = row.svname().trim();
    if name.is_empty() {
        return None;
    }
    let text = |slot: usize| row.slot(slot).map(str::to_string);
    Some(ServerSample {
        name: name.to_string(),
        status: intern(row.slot(STATUS).unwrap_or("UNKNOWN")),
        weight: weight(row),
        check_status: row.slot(CHECK_STATUS).map(intern),
        last_change_s: row.slot_u64(LASTCHG),
        addr: text(ADDR),
    })
}

/// The `lastchg` of server row `row` when the row reads as `record` (what makes a
/// read routine: name, status, weight, check status and address, as
/// [`sample_of`] would take them); `None` when it does not.
fn same_as(row: &impl Slots, record: &ServerRecord) -> Option<Option<u64>> {
    let read = ServerRead {
        name: row.svname().trim(),
        status: row.slot(STATUS).unwrap_or("UNKNOWN"),
        weight: weight(row),
        check_status: row.slot(CHECK_STATUS),
        addr: row.slot(ADDR),
    };
    (read == record.read()).then(|| row.slot_u64(LASTCHG))
}

/// A row's `weight`, when it fits.
fn weight(row: &impl Slots) -> Option<u32> {
    row.slot_u64(WEIGHT).and_then(|w| u32::try_from(w).ok())
}

/// The backends a poller can watch, in the order of their `BACKEND` rows (config order).
///
/// A proxy is listed when it has a `BACKEND` row (type 1), so a pure `frontend` such as
/// the fixtures' `frontend stats` (which has only a `FRONTEND` row) never is. Excluded
/// as well:
/// - internal proxies: names starting with `GLOBAL` or `<` (e.g. `<HTTPCLIENT>`) and
///   `MASTER`;
/// - a `listen` section serving the stats page: its `BACKEND` row has `mode` `http`,
///   it has a `FRONTEND` row, and it has no servers at all. "No servers" means no
///   server row in the table, no `(up/total)` count above zero in the `BACKEND` status
///   (added by `;up` / `;no-maint`), and an empty `downtime` on the `BACKEND` row
///   (HAProxy fills it in only for proxies that have servers). A `listen` section with
///   servers is a real backend.
///
/// Tables without `FRONTEND` rows (`show stat -1 2 -1`) cannot show the second case.
pub fn backends(table: &CsvTable) -> Vec<String> {
    #[derive(Default)]
    struct Seen {
        frontend: bool,
        server: bool,
        listed: bool,
    }
    let mut seen: HashMap<&str, Seen> = HashMap::new();
    for row in &table.rows {
        let entry = seen.entry(row.pxname()).or_default();
        match row.kind() {
            RowKind::Frontend => entry.frontend = true,
            RowKind::Server => entry.server = true,
            _ => {}
        }
    }
    let mut names = Vec::new();
    for row in &table.rows {
        let name = row.pxname();
        if row.kind() != RowKind::Backend || name.is_empty() || is_internal(name) {
            continue;
        }
        let Some(entry) = seen.get_mut(name) else {
            continue;
        };
        if entry.listed || is_stats_listen(row, entry.frontend, entry.server) {
            continue;
        }
        entry.listed = true;
        names.push(name.to_string());
    }
    names
}

/// Names HAProxy gives its own, non-configured proxies.
fn is_internal(name: &str) -> bool {
    name.starts_with("GLOBAL") || name.starts_with('<') || name == "MASTER"
}

/// Whether this `BACKEND` row is the backend half of a serverless `listen` stats
/// section, given whether its proxy has a `FRONTEND` row and any server row.
fn is_stats_listen(backend_row: &impl Slots, has_frontend: bool, server_row: bool) -> bool {
    let (http, row_servers) = listen_hints(backend_row);
    http && has_frontend && !(server_row || row_servers)
}

/// What a `BACKEND` row says for [`is_stats_listen`]: whether its mode is `http`,
/// and whether the row itself shows servers (a `downtime`, a `(up/total)` count
/// above zero).
fn listen_hints(backend_row: &impl Slots) -> (bool, bool) {
    let http = backend_row.slot(MODE).map(str::trim) == Some("http");
    let has_servers = backend_row.slot(DOWNTIME).is_some()
        || status_total(backend_row.slot(STATUS).unwrap_or("")).is_some_and(|n| n > 0);
    (http, has_servers)
}

/// The total from a `BACKEND` status like `UP (3/4)`.
fn status_total(status: &str) -> Option<u64> {
    let inner = status.split_once('(')?.1.split_once(')')?.0;
    inner.split_once('/')?.1.trim().parse().ok()
}

#[path = "csv_stream.rs"]
pub mod stream;

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "csv_edge_tests.rs"]
mod edge_tests;
