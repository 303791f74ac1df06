//! Parser for the native Eureka REST API in XML (what servers answer without a JSON
//! `Accept` header, and what older servers and rewriting proxies send anyway).
//!
//! The document is read with a streaming reader straight into the model, each
//! element typed by where it is (`xml_frames`), with the rules of the JSON parser:
//! an element counts as the JSON codec writes it (attributes as `@name`, text
//! beside attributes as `$`, repeated elements as lists, empty elements as null),
//! so both forms give the same result for the same registry. Only metadata is
//! built as JSON values, to be written as the JSON parser writes it.

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use super::json_apps::Apps;
use super::xml_frames::{ContainerXml, Frame, Kind, SHAPE, Slot, deliver, finish_app, is_text};
use super::xml_names::{Open, attributes, child_kind, local_name};
use super::{Document, ParseError};
use crate::model::AppSample;
use crate::sources::fagent::{body_snippet, trim_bom};

/// Deepest element nesting accepted; Eureka documents are six levels deep.
const MAX_DEPTH: usize = 32;

/// Parses an `<applications>` document, or a bare `<application>` (as
/// `GET apps/{APP}` answers), with the semantics of [`super::json::parse_apps`].
pub fn parse_apps(body: &[u8]) -> Result<Vec<AppSample>, String> {
    parse_document(body).map(|doc| doc.apps)
}

/// Parses a document once into its applications and the hashcode it announces.
pub fn parse_document(body: &[u8]) -> Result<Document, String> {
    parse_document_within(body, usize::MAX).map_err(ParseError::into_message)
}

/// [`parse_document`] refusing a document of more than `max_instances`
/// `<instance>` elements: reading stops at the first one past the limit.
pub fn parse_document_within(body: &[u8], max_instances: usize) -> Result<Document, ParseError> {
    let root = read(body, max_instances)?;
    Ok(Document {
        apps: root.apps.map_err(ParseError::Unreadable)?,
        hashcode: root.hashcode,
    })
}

/// The `apps__hashcode` an XML document announces, if it has one. An empty
/// `<apps__hashcode/>` (an empty registry) is the empty hashcode.
pub fn apps_hashcode(body: &[u8]) -> Option<String> {
    read(body, usize::MAX).ok()?.hashcode
}

/// A document read to the end of its root element.
struct Root {
    apps: Apps,
    hashcode: Option<String>,
}

/// The reader's state: open elements and the instances counted so far.
struct State<'b> {
    body: &'b [u8],
    stack: Vec<Frame>,
    instances: usize,
    limit: usize,
}

/// Reads the document up to the end of its root element.
fn read(body: &[u8], limit: usize) -> Result<Root, ParseError> {
    let input = trim_bom(body);
    let mut reader = Reader::from_reader(input);
    let mut st = State {
        body: input,
        stack: Vec::new(),
        instances: 0,
        limit,
    };
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let at = reader.error_position();
            unreadable(format!(
                "Eureka answer is not well-formed XML: {e} (at byte {at}){}",
                body_snippet(body)
            ))
        })?;
        let done = match event {
            Event::Start(start) => st.open(at, &start).map(|()| None)?,
            Event::Empty(start) => {
                st.open(at, &start)?;
                st.close()
            }
            Event::End(_) => st.close(),
            Event::Text(t) => st.raw_text(&t, || t.xml10_content()),
            Event::CData(t) => st.text(&t.xml10_content()),
            Event::GeneralRef(r) => st.text(&resolve(&r)),
            Event::Eof => return Err(unreadable(st.unfinished(body))),
            _ => None,
        };
        if let Some(root) = done {
            return root.map_err(ParseError::Unreadable);
        }
    }
}

fn unreadable(why: String) -> ParseError {
    ParseError::Unreadable(why)
}

impl State<'_> {
    /// Opens an element inside the current one (or as the root).
    fn open(&mut self, at: u64, start: &BytesStart<'_>) -> Result<(), ParseError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(unreadable(format!(
                "Eureka answer is unusable: XML elements nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let name = local_name(start);
        let (kind, slot) = match self.stack.last_mut() {
            None => (root_kind(name), Slot::None),
            Some(parent) => {
                parent.children = true;
                match &parent.kind {
                    Kind::Generic(_) => (Kind::Generic(Open::default()), Slot::None),
                    parent => child_kind(parent, name),
                }
            }
        };
        let frame = self.frame(at, start, kind, slot)?;
        self.stack.push(frame);
        Ok(())
    }

    /// The frame of an opened element, its attributes checked; instances counted.
    fn frame(
        &mut self,
        at: u64,
        start: &BytesStart<'_>,
        kind: Kind,
        slot: Slot,
    ) -> Result<Frame, ParseError> {
        let bad = |why: String| unreadable(format!("Eureka answer is not well-formed XML: {why}"));
        if let Kind::Generic(_) = kind {
            let open = Open::new(start).map_err(bad)?;
            let attrs = !open.fields.is_empty();
            return Ok(Frame::new(at, Kind::Generic(open), slot, attrs));
        }
        let (attrs, enabled) = attributes(start).map_err(bad)?;
        let kind = match kind {
            Kind::Port { text, .. } => Kind::Port { enabled, text },
            Kind::Instance(_) => {
                self.instances += 1;
                if self.instances > self.limit {
                    return Err(ParseError::TooLarge);
                }
                kind
            }
            other => other,
        };
        Ok(Frame::new(at, kind, slot, attrs))
    }

    /// Closes the current element; the root's end is the document.
    fn close(&mut self) -> Option<Result<Root, String>> {
        let frame = self.stack.pop()?;
        match self.stack.last_mut() {
            Some(parent) => {
                deliver(parent, frame);
                None
            }
            None => Some(root_of(frame, self.body)),
        }
    }

    /// Text as it is in the document (`raw`), decoded only where it is kept.
    fn raw_text<'t>(
        &mut self,
        raw: &str,
        decoded: impl FnOnce() -> std::borrow::Cow<'t, str>,
    ) -> Option<Result<Root, String>> {
        let top = self.stack.last_mut()?;
        if top.keeps_text() {
            top.add_text(&decoded());
        } else if !top.text && !raw.bytes().all(|b| b.is_ascii_whitespace()) {
            top.add_text(raw);
        }
        None
    }

    fn text(&mut self, t: &str) -> Option<Result<Root, String>> {
        if let Some(top) = self.stack.last_mut() {
            top.add_text(t);
        }
        None
    }

    /// The error for a document that ends before its root element closes.
    fn unfinished(&self, body: &[u8]) -> String {
        match self.stack.last() {
            Some(open) => format!(
                "Eureka answer is not well-formed XML: it ends inside <{}> (truncated?){}",
                name_at(self.body, open.at),
                body_snippet(body)
            ),
            None => format!("Eureka answer has no XML element{}", body_snippet(body)),
        }
    }
}

/// What the root element is by its name; any other root is read to its end and
/// refused then.
fn root_kind(name: &str) -> Kind {
    match name {
        "applications" => Kind::Container(Box::default()),
        "application" => Kind::App(Box::default()),
        _ => Kind::Skip,
    }
}

/// The document of a closed root element.
fn root_of(root: Frame, body: &[u8]) -> Result<Root, String> {
    let (object, text, at) = (root.object(), is_text(&root), root.at);
    if let Kind::App(_) = root.kind {
        let apps = match finish_app(root, 1) {
            _ if text => Err(SHAPE.into()),
            None => Ok(Vec::new()),
            Some(app) => app.map(|a| vec![a]).map_err(|e| e.message()),
        };
        return Ok(Root {
            apps,
            hashcode: None,
        });
    }
    match root.kind {
        Kind::Container(c) => Ok(Root {
            hashcode: if object { c.hashcode() } else { None },
            apps: container_apps(*c, object, text),
        }),
        _ => Err(format!(
            "Eureka XML answer has neither <applications> nor <application> at its root \
             (it has <{}>){}",
            name_at(body, at).chars().take(40).collect::<String>(),
            body_snippet(body)
        )),
    }
}

/// The applications of `<applications>`: none when it is empty, an error when it
/// is text only.
fn container_apps(c: ContainerXml, object: bool, text: bool) -> Apps {
    if object {
        c.apps()
    } else if text {
        Err("Eureka answer is unusable: \"applications\" is not a JSON object".into())
    } else {
        Ok(Vec::new())
    }
}

/// The local name of the element whose start tag begins at `at`.
fn name_at(body: &[u8], at: u64) -> String {
    let tag = usize::try_from(at)
        .ok()
        .and_then(|at| body.get(at + 1..))
        .unwrap_or_default();
    let end = tag
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
        .unwrap_or(tag.len());
    let qname = &tag[..end];
    let local = match qname.iter().position(|b| *b == b':') {
        Some(i) => &qname[i + 1..],
        None => qname,
    };
    String::from_utf8_lossy(local).into_owned()
}

/// The text of a character or predefined entity reference; unknown ones are kept
/// as written.
fn resolve(r: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return c.to_string();
    }
    let named = match &**r {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        other => return format!("&{other};"),
    };
    named.to_string()
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
