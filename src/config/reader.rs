//! Typed lookups in the parsed TOML tree. Every lookup that fails records a
//! [`ConfigError`] with the line and key path and returns `None`, so parsing
//! goes on and reports every problem at once.

use std::ops::Range;
use std::time::Duration;

use toml_edit::{Item, TableLike};

use super::env;
use super::error::ConfigError;

/// Looks up an environment variable.
pub(super) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Collects errors while the tree is read.
pub(super) struct Reader<'a> {
    text: &'a str,
    file: &'a str,
    env: Env<'a>,
    errors: Vec<ConfigError>,
    /// Findings that do not stop the configuration from being used.
    warnings: Vec<ConfigError>,
    /// Byte offsets of every `\n`, to find a line with a binary search (counting
    /// from the start for every key made 10,000 sources take seconds).
    newlines: Vec<usize>,
}

/// A table or inline table with its key path and line.
#[derive(Clone)]
pub(super) struct Node<'t> {
    pub table: &'t dyn TableLike,
    pub path: String,
    pub line: usize,
}

/// A key that is present, with its item, key path and line.
pub(super) struct Entry<'t> {
    pub item: &'t Item,
    pub path: String,
    pub line: usize,
}

/// One element of a string list, with its key path and line.
pub(super) struct ListItem {
    pub value: String,
    /// The value as written in the file, for messages (see [`quoted`]).
    pub shown: String,
    pub path: String,
    pub line: usize,
}

impl Entry<'_> {
    /// The string value as written in the file, for messages (see [`quoted`]).
    pub fn shown(&self) -> String {
        quoted(self.item.as_str().unwrap_or_default())
    }
}

/// A string value for an error message: as written in the file, so a
/// value that came from a `${VAR}` reference (perhaps a secret) is never shown.
pub(super) fn quoted(raw: &str) -> String {
    if raw.contains("${") {
        format!("\"{raw}\" (after variable substitution)")
    } else {
        format!("\"{raw}\"")
    }
}

/// The good elements of a string list; `complete` is false when some
/// element was bad (and reported).
pub(super) struct Strings {
    pub items: Vec<ListItem>,
    pub complete: bool,
}

impl Strings {
    /// The items when every element was good.
    pub fn all(self) -> Option<Vec<ListItem>> {
        self.complete.then_some(self.items)
    }
}

/// `parent.key`, or `key` at the root.
pub(super) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl<'a> Reader<'a> {
    /// A reader over `text`, which came from `file`.
    pub fn new(text: &'a str, file: &'a str, env: Env<'a>) -> Self {
        let newlines = text.match_indices('\n').map(|(i, _)| i).collect();
        Reader {
            text,
            file,
            env,
            errors: Vec::new(),
            warnings: Vec::new(),
            newlines,
        }
    }

    /// The errors and the warnings recorded so far, each sorted by line.
    pub fn into_findings(mut self) -> (Vec<ConfigError>, Vec<ConfigError>) {
        self.errors.sort_by_key(|e| e.line);
        self.warnings.sort_by_key(|e| e.line);
        (self.errors, self.warnings)
    }

    /// Records a warning: the value is used, but the operator should know.
    pub fn warn(&mut self, line: usize, key: impl Into<String>, message: impl Into<String>) {
        let before = self.errors.len();
        self.error(line, key, message);
        self.warnings.extend(self.errors.drain(before..));
    }

    /// The 1-based line where `span` starts (1 when unknown).
    pub fn line(&self, span: Option<Range<usize>>) -> usize {
        span.map_or(1, |s| {
            let end = s.start.min(self.text.len());
            self.newlines.partition_point(|&n| n < end) + 1
        })
    }

    /// The source text covered by `span`, if any.
    pub fn snippet(&self, span: Option<Range<usize>>) -> Option<&'a str> {
        span.and_then(|s| self.text.get(s))
    }

    /// Records a problem.
    pub fn error(&mut self, line: usize, key: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line,
            key: key.into(),
            message: message.into(),
        });
    }

    /// Records a wrong-type problem for `entry`.
    pub fn wrong_type(&mut self, entry: &Entry<'_>, expected: &str) {
        let found = entry.item.type_name();
        let message = format!("expected {expected}, found {found}");
        self.error(entry.line, entry.path.clone(), message);
    }

    /// The root table of a document.
    pub fn root<'t>(&self, table: &'t dyn TableLike) -> Node<'t> {
        Node {
            table,
            path: String::new(),
            line: 1,
        }
    }

    /// The entry for `key` in `node`, if present.
    pub fn entry<'t>(&self, node: &Node<'t>, key: &str) -> Option<Entry<'t>> {
        let (k, item) = node.table.get_key_value(key)?;
        Some(Entry {
            item,
            path: join(&node.path, key),
            line: self.line(k.span()),
        })
    }

    /// Records every key of `node` that is not in `allowed`.
    pub fn check_keys(&mut self, node: &Node<'_>, allowed: &[&str]) {
        let unknown: Vec<(String, usize)> = node
            .table
            .iter()
            .filter(|(key, _)| !allowed.contains(key))
            .map(|(key, _)| {
                let span = node.table.key(key).and_then(|k| k.span());
                (key.to_string(), self.line(span))
            })
            .collect();
        for (key, line) in unknown {
            let message = unknown_key_message(&key, allowed);
            self.error(line, join(&node.path, &key), message);
        }
    }

    /// Records a missing required key of `node`.
    pub fn missing(&mut self, node: &Node<'_>, key: &str, hint: &str) {
        let message = format!("required key is missing; {hint}");
        self.error(node.line, join(&node.path, key), message);
    }

    /// `entry` as a table (`[x]`, `x = { ... }` or dotted keys).
    pub fn table<'t>(&mut self, entry: &Entry<'t>) -> Option<Node<'t>> {
        match entry.item.as_table_like() {
            Some(table) => Some(Node {
                table,
                path: entry.path.clone(),
                line: entry.line,
            }),
            None => {
                self.wrong_type(entry, "a table");
                None
            }
        }
    }

    /// `entry` as a list of tables (`[[x]]` or `x = [{ ... }, ...]`).
    pub fn tables<'t>(&mut self, entry: &Entry<'t>) -> Option<Vec<Node<'t>>> {
        let path = |i: usize| format!("{}[{i}]", entry.path);
        if let Some(array) = entry.item.as_array_of_tables() {
            let nodes = array.iter().enumerate().map(|(i, t)| Node {
                table: t as &dyn TableLike,
                path: path(i),
                line: self.line(t.span()),
            });
            return Some(nodes.collect());
        }
        let array = entry
            .item
            .as_array()
            .filter(|a| a.iter().all(|v| v.is_inline_table()));
        let Some(array) = array else {
            self.wrong_type(entry, "an array of tables ([[...]])");
            return None;
        };
        let nodes = array.iter().enumerate().filter_map(|(i, v)| {
            let table = v.as_inline_table()? as &dyn TableLike;
            let line = self.line(v.span());
            Some(Node {
                table,
                path: path(i),
                line,
            })
        });
        Some(nodes.collect())
    }

    /// `entry` as a string, with `${VAR}` references substituted.
    pub fn string(&mut self, entry: &Entry<'_>) -> Option<String> {
        match entry.item.as_str() {
            Some(raw) => self.substitute(raw, entry.line, &entry.path),
            None => {
                self.wrong_type(entry, "a string");
                None
            }
        }
    }

    /// `entry` as a string that must not be empty after substitution.
    pub fn non_empty_string(&mut self, entry: &Entry<'_>) -> Option<String> {
        let value = self.string(entry)?;
        if value.is_empty() {
            self.error(entry.line, entry.path.clone(), "must not be empty");
            return None;
        }
        Some(value)
    }

    fn substitute(&mut self, raw: &str, line: usize, path: &str) -> Option<String> {
        match env::substitute(raw, self.env) {
            Ok(value) => Some(value),
            Err(problems) => {
                for problem in problems {
                    self.error(line, path, problem);
                }
                None
            }
        }
    }

    /// `entry` as a boolean.
    pub fn boolean(&mut self, entry: &Entry<'_>) -> Option<bool> {
        let value = entry.item.as_bool();
        if value.is_none() {
            self.wrong_type(entry, "true or false");
        }
        value
    }

    /// `entry` as an integer.
    pub fn integer(&mut self, entry: &Entry<'_>) -> Option<i64> {
        let value = entry.item.as_integer();
        if value.is_none() {
            self.wrong_type(entry, "an integer");
        }
        value
    }

    /// `entry` as a number (a float, or an integer taken as a float).
    pub fn number(&mut self, entry: &Entry<'_>) -> Option<f64> {
        let item = entry.item;
        let value = item
            .as_float()
            .or_else(|| item.as_integer().map(|i| i as f64));
        if value.is_none() {
            self.wrong_type(entry, "a number");
        }
        value
    }

    /// `entry` as a duration string such as `"10s"`, `"200ms"` or `"5m"`.
    pub fn duration(&mut self, entry: &Entry<'_>) -> Option<Duration> {
        if entry.item.as_str().is_none() {
            self.wrong_type(entry, "a duration string such as \"10s\" or \"200ms\"");
            return None;
        }
        let text = self.string(entry)?;
        match humantime::parse_duration(text.trim()) {
            Ok(duration) => Some(duration),
            Err(e) => {
                let message = format!(
                    "{} is not a duration ({e}); write a number with a unit, \
                     such as \"10s\", \"200ms\" or \"5m\"",
                    entry.shown()
                );
                self.error(entry.line, entry.path.clone(), message);
                None
            }
        }
    }

    /// `entry` as an array of non-empty strings (each substituted). Every bad
    /// element is reported and left out; `None` when it is not an array.
    pub fn string_list(&mut self, entry: &Entry<'_>) -> Option<Strings> {
        let Some(array) = entry.item.as_array() else {
            self.wrong_type(entry, "an array of strings");
            return None;
        };
        let mut items = Vec::new();
        let mut ok = true;
        for (i, value) in array.iter().enumerate() {
            let line = self.line(value.span()).max(entry.line);
            let path = format!("{}[{i}]", entry.path);
            let Some(raw) = value.as_str() else {
                let found = value.type_name();
                self.error(line, path, format!("expected a string, found {found}"));
                ok = false;
                continue;
            };
            match self.substitute(raw, line, &path) {
                Some(s) if s.is_empty() => {
                    self.error(line, path, "must not be an empty string");
                    ok = false;
                }
                Some(value) => {
                    let shown = quoted(raw);
                    items.push(ListItem {
                        value,
                        shown,
                        path,
                        line,
                    })
                }
                None => ok = false,
            }
        }
        Some(Strings {
            items,
            complete: ok,
        })
    }
}

fn unknown_key_message(key: &str, allowed: &[&str]) -> String {
    let list = allowed.join(", ");
    let close = allowed
        .iter()
        .filter(|a| edit_distance(key, a) <= 2)
        .min_by_key(|a| edit_distance(key, a));
    match close {
        Some(guess) => format!("unknown key (did you mean `{guess}`?); allowed keys here: {list}"),
        None => format!("unknown key; allowed keys here: {list}"),
    }
}

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}
