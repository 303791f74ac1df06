//! Parser for HAProxy's stats CSV, as served by the stats page (`/stats;csv`) and by
//! the Runtime API (`show stat`). Bytes in, a [`CsvTable`] or an error text out; no I/O.
//!
//! Columns are looked up by the names in the `# pxname,svname,...` header line, never
//! by position: the columns after `-` differ from one HAProxy version to the next.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::ServerSample;

/// How many characters of an unexpected body an error message quotes.
const SNIPPET_CHARS: usize = 80;

/// A parsed stats CSV: the column names and every well-formed row, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvTable {
    header: Arc<Header>,
    rows: Vec<Row>,
    /// Rows skipped because their number of cells differs from the header's.
    pub skipped_rows: usize,
}

/// Column names and their positions.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

/// One line of the CSV: a frontend, backend, server or listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    header: Arc<Header>,
    cells: Vec<String>,
}

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
        &self.header.names
    }

    /// Whether the header names this column.
    pub fn has_column(&self, name: &str) -> bool {
        self.header.index.contains_key(name)
    }

    /// Every well-formed row, in the order HAProxy wrote them.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }
}

impl Row {
    /// The cell of the named column; `None` when the column is absent or the cell empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        let at = *self.header.index.get(name)?;
        self.cells
            .get(at)
            .map(String::as_str)
            .filter(|cell| !cell.is_empty())
    }

    /// The named cell as an unsigned number; `None` when empty, negative or too large.
    pub fn get_u64(&self, name: &str) -> Option<u64> {
        self.get(name)?.trim().parse().ok()
    }

    /// The proxy name (`pxname`), empty when missing.
    pub fn pxname(&self) -> &str {
        self.get("pxname").unwrap_or("")
    }

    /// The server, listener, `FRONTEND` or `BACKEND` name (`svname`), empty when missing.
    pub fn svname(&self) -> &str {
        self.get("svname").unwrap_or("")
    }

    /// What the row describes: from `type`, or from `svname` when `type` is missing.
    pub fn kind(&self) -> RowKind {
        match self.get("type").map(str::trim) {
            Some("0") => RowKind::Frontend,
            Some("1") => RowKind::Backend,
            Some("2") => RowKind::Server,
            Some("3") => RowKind::Listener,
            Some(_) => RowKind::Other,
            None => self.kind_from_svname(),
        }
    }

    /// The fallback for CSVs without a usable `type` cell.
    fn kind_from_svname(&self) -> RowKind {
        match self.svname() {
            "FRONTEND" => RowKind::Frontend,
            "BACKEND" => RowKind::Backend,
            "" => RowKind::Other,
            _ if self.header.index.contains_key("type") => RowKind::Other,
            _ => RowKind::Server,
        }
    }
}

/// Parses a stats CSV body. The first non-blank line must be the `# pxname,svname,...`
/// header; anything else (an HTML login page, `No such proxy.`) is an error quoting it.
/// CRLF line ends, blank lines and the socket's trailing empty line are tolerated. A row
/// whose cell count differs from the header's is skipped and counted.
pub fn parse(body: &[u8]) -> Result<CsvTable, String> {
    let text = String::from_utf8_lossy(body);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = logical_lines(text)
        .into_iter()
        .filter(|line| !line.trim().is_empty());
    let first = lines
        .next()
        .ok_or_else(|| "empty answer where HAProxy stats CSV was expected".to_string())?;
    let header = Arc::new(parse_header(first)?);
    let mut table = CsvTable {
        header: Arc::clone(&header),
        rows: Vec::new(),
        skipped_rows: 0,
    };
    for line in lines {
        let cells = split_cells(line);
        if cells.len() == header.names.len() {
            let header = Arc::clone(&header);
            table.rows.push(Row { header, cells });
        } else {
            table.skipped_rows += 1;
        }
    }
    Ok(table)
}

/// The header line: `# ` then comma-separated names, with `pxname` and `svname`.
fn parse_header(line: &str) -> Result<Header, String> {
    let Some(rest) = line.trim_start().strip_prefix('#') else {
        return Err(format!(
            "not HAProxy stats CSV: no `# pxname,svname,...` header line, the answer starts with {:?}",
            snippet(line)
        ));
    };
    let names: Vec<String> = split_cells(rest)
        .into_iter()
        .map(|name| name.trim().to_string())
        .collect();
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
    Ok(Header { names, index })
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

/// Splits the text into lines at `\n` outside double quotes, dropping a `\r` before it.
fn logical_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (at, byte) in text.bytes().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                lines.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
        .into_iter()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect()
}

/// Splits one line into cells. A cell that starts with `"` is quoted: it ends at the
/// next lone `"`, and `""` inside it stands for one `"`. The trailing comma HAProxy
/// writes yields a last, empty cell.
fn split_cells(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c != '"' {
                cell.push(c);
            } else if chars.next_if_eq(&'"').is_some() {
                cell.push('"');
            } else {
                quoted = false;
            }
        } else if c == ',' {
            cells.push(std::mem::take(&mut cell));
            at_start = true;
            continue;
        } else if c == '"' && at_start {
            quoted = true;
        } else {
            cell.push(c);
        }
        at_start = false;
    }
    cells.push(cell);
    cells
}

/// The servers of one backend, from the rows whose `pxname` is exactly `backend` (the
/// stats page's `scope=` is a case-insensitive substring match, so `scope=be_app` also
/// returns `be_app_canary`). `None` when the table has neither a `BACKEND` row nor a
/// server row for that name: no such backend. Server rows alone (a `show stat <b> 4 -1`
/// answer) are enough. Empty or unparsable numbers become `None`, never an error.
pub fn servers_of(table: &CsvTable, backend: &str) -> Option<Vec<ServerSample>> {
    let mut found = false;
    let mut servers = Vec::new();
    for row in table.rows.iter().filter(|row| row.pxname() == backend) {
        match row.kind() {
            RowKind::Backend => found = true,
            RowKind::Server => {
                found = true;
                servers.extend(sample_of(row));
            }
            _ => {}
        }
    }
    found.then_some(servers)
}

/// Every backend of the table with its servers, in one pass (a poll round shares one
/// table among many backends). Same rules as [`servers_of`].
pub fn servers_by_backend(
    table: &CsvTable,
) -> std::collections::HashMap<String, Vec<ServerSample>> {
    let mut out: std::collections::HashMap<String, Vec<ServerSample>> =
        std::collections::HashMap::new();
    for row in &table.rows {
        match row.kind() {
            RowKind::Backend => {
                out.entry(row.pxname().to_string()).or_default();
            }
            RowKind::Server => {
                let servers = out.entry(row.pxname().to_string()).or_default();
                servers.extend(sample_of(row));
            }
            _ => {}
        }
    }
    out
}

/// One server row as a sample; `None` when it has no name.
fn sample_of(row: &Row) -> Option<ServerSample> {
    let name = row.svname().trim();
    if name.is_empty() {
        return None;
    }
    let text = |column: &str| row.get(column).map(str::to_string);
    Some(ServerSample {
        name: name.to_string(),
        status: text("status").unwrap_or_else(|| "UNKNOWN".to_string()),
        weight: row.get_u64("weight").and_then(|w| u32::try_from(w).ok()),
        check_status: text("check_status"),
        last_change_s: row.get_u64("lastchg"),
        addr: text("addr"),
    })
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
    let mut names: Vec<String> = Vec::new();
    for row in &table.rows {
        let name = row.pxname();
        if row.kind() != RowKind::Backend || name.is_empty() || is_internal(name) {
            continue;
        }
        if names.iter().any(|n| n == name) || is_stats_listen(table, row) {
            continue;
        }
        names.push(name.to_string());
    }
    names
}

/// Names HAProxy gives its own, non-configured proxies.
fn is_internal(name: &str) -> bool {
    name.starts_with("GLOBAL") || name.starts_with('<') || name == "MASTER"
}

/// Whether this `BACKEND` row is the backend half of a serverless `listen` stats section.
fn is_stats_listen(table: &CsvTable, backend_row: &Row) -> bool {
    let name = backend_row.pxname();
    let http = backend_row.get("mode").map(str::trim) == Some("http");
    let has_frontend = table
        .rows
        .iter()
        .any(|row| row.pxname() == name && row.kind() == RowKind::Frontend);
    http && has_frontend && !has_servers(table, backend_row)
}

/// Whether anything in the table shows that this backend has servers.
fn has_servers(table: &CsvTable, backend_row: &Row) -> bool {
    let name = backend_row.pxname();
    let server_row = table
        .rows
        .iter()
        .any(|row| row.pxname() == name && row.kind() == RowKind::Server);
    server_row
        || backend_row.get("downtime").is_some()
        || status_total(backend_row.get("status").unwrap_or("")).is_some_and(|n| n > 0)
}

/// The total from a `BACKEND` status like `UP (3/4)`.
fn status_total(status: &str) -> Option<u64> {
    let inner = status.split_once('(')?.1.split_once(')')?.0;
    inner.split_once('/')?.1.trim().parse().ok()
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "csv_edge_tests.rs"]
mod edge_tests;
