//! Parser for the native Eureka REST API in XML (what servers answer without a JSON
//! `Accept` header, and what older servers and rewriting proxies send anyway).
//!
//! The document is read with a small reader of its own (`xml_reader`) straight
//! into the model, each element typed by where it is (`xml_frames`; an instance's
//! fields that hold text alone go into it without a frame of their own, their
//! text borrowed from the document until it is kept), with the rules of the JSON
//! parser: an element counts as the JSON codec writes it (attributes as `@name`,
//! text beside attributes as `$`, repeated elements as lists, empty elements as
//! null), so both forms give the same result for the same registry. Only metadata
//! is built as JSON values, to be written as the JSON parser writes it.

use super::json_apps::Apps;
use super::raw::Key;
use super::xml_frames::{
    ContainerXml, Frame, Kind, SHAPE, Slot, deliver, deliver_text, finish_app, is_text,
};
use super::xml_names::{Open, attributes, child_kind};
use super::xml_reader::{Reader, Tag, Text, Token, XmlError, XmlErrorKind, cdata_text};
use super::{Document, ParseError};
use crate::model::AppSample;
use crate::sources::fagent::{body_snippet, trim_bom};

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
    stack: Vec<Frame<'b>>,
    /// The root element's local name, once it is open.
    root: &'b str,
    instances: usize,
    limit: usize,
}

/// Why a document was not read to the end of its root element.
enum Failure {
    Xml(XmlError),
    TooLarge,
}

/// Reads the document up to the end of its root element.
fn read(body: &[u8], limit: usize) -> Result<Root, ParseError> {
    let input = trim_bom(body);
    let mut st = State {
        stack: Vec::new(),
        root: "",
        instances: 0,
        limit,
    };
    let root = Reader::new(input)
        .map_err(Failure::Xml)
        .and_then(|mut reader| st.read(&mut reader));
    match root {
        Ok(Some(root)) => root_of(root, st.root, body).map_err(ParseError::Unreadable),
        Ok(None) => Err(unreadable(format!(
            "Eureka answer has no XML element{}",
            body_snippet(body)
        ))),
        Err(Failure::TooLarge) => Err(ParseError::TooLarge),
        Err(Failure::Xml(e)) => Err(unreadable(xml_error(&e, body))),
    }
}

/// The message for a body that is not well-formed XML.
fn xml_error(e: &XmlError, body: &[u8]) -> String {
    match &e.kind {
        XmlErrorKind::TooDeep => format!(
            "Eureka answer is unusable: XML elements nested deeper than {} levels",
            super::xml_reader::MAX_DEPTH
        ),
        XmlErrorKind::Truncated(_) => format!(
            "Eureka answer is not well-formed XML: {}{}",
            e.kind,
            body_snippet(body)
        ),
        _ => format!(
            "Eureka answer is not well-formed XML: {e}{}",
            body_snippet(body)
        ),
    }
}

fn unreadable(why: String) -> ParseError {
    ParseError::Unreadable(why)
}

impl<'b> State<'b> {
    /// Reads tokens up to the end of the root element: the root's frame, or `None`
    /// for a body without an element.
    fn read(&mut self, reader: &mut Reader<'b>) -> Result<Option<Frame<'b>>, Failure> {
        loop {
            // Blank text only matters inside elements whose text is kept.
            if !self.stack.last().is_some_and(Frame::keeps_text) {
                reader.skip_blank();
            }
            let root = match reader.next_token().map_err(Failure::Xml)? {
                Token::Start(tag) => self.start(&tag, reader)?,
                Token::End => self.close(),
                Token::Text(t) => {
                    self.text(t);
                    None
                }
                Token::CData(t) => {
                    if let Some(top) = self.stack.last_mut() {
                        top.add_text(cdata_text(t));
                    }
                    None
                }
                Token::Eof => return Ok(None),
            };
            if root.is_some() {
                return Ok(root);
            }
        }
    }

    /// Opens an element inside the current one (or as the root). One that holds
    /// text alone (a field, or content that does not matter) is read to its end
    /// at once, without being stacked. The root's frame when the root closed.
    fn start(
        &mut self,
        tag: &Tag<'b>,
        reader: &mut Reader<'b>,
    ) -> Result<Option<Frame<'b>>, Failure> {
        let name = tag.local_name();
        let (kind, slot) = match self.stack.last_mut() {
            None => {
                self.root = name;
                (root_kind(name), Slot::None)
            }
            Some(parent) => {
                parent.children = true;
                match &parent.kind {
                    Kind::Generic(_) => (Kind::Generic(Open::default()), Slot::None),
                    parent => child_kind(parent, name),
                }
            }
        };
        // A field that holds text alone, or content that does not matter, goes
        // straight to its parent.
        let direct = !tag.empty
            && match (&kind, self.stack.last()) {
                (Kind::Skip, Some(_)) => true,
                (Kind::Leaf(_), Some(parent)) => {
                    !tag.has_attributes()
                        && matches!(parent.kind, Kind::Instance(_) | Kind::Lease(..))
                }
                _ => false,
            };
        if direct && let Some(text) = reader.text_and_end().map_err(Failure::Xml)? {
            if let Some(parent) = self.stack.last_mut() {
                deliver_text(parent, slot, text);
            }
            return Ok(None);
        }
        let mut frame = self.frame(tag, kind, slot)?;
        if tag.empty {
            return Ok(self.closed(frame));
        }
        let leaf = matches!(
            frame.kind,
            Kind::Leaf(_) | Kind::Port { .. } | Kind::Skip | Kind::Generic(_)
        );
        if leaf && let Some(text) = reader.text_and_end().map_err(Failure::Xml)? {
            if !matches!(frame.kind, Kind::Skip) {
                text_into(&mut frame, text);
            }
            return Ok(self.closed(frame));
        }
        self.stack.push(frame);
        Ok(None)
    }

    /// The frame of an opened element; instances counted.
    fn frame(&mut self, tag: &Tag<'_>, kind: Kind<'b>, slot: Slot) -> Result<Frame<'b>, Failure> {
        if let Kind::Generic(_) = kind {
            let open = if slot == Slot::Field(Key::Metadata) {
                Open::metadata(tag)
            } else {
                Open::new(tag)
            };
            let attrs = open.attrs;
            return Ok(Frame::new(Kind::Generic(open), slot, attrs));
        }
        let (attrs, enabled) = attributes(tag);
        let kind = match kind {
            Kind::Port { text, .. } => Kind::Port { enabled, text },
            Kind::Instance(_) => {
                self.instances += 1;
                if self.instances > self.limit {
                    return Err(Failure::TooLarge);
                }
                kind
            }
            other => other,
        };
        Ok(Frame::new(kind, slot, attrs))
    }

    /// Closes the current element; the root's frame when it was the root.
    fn close(&mut self) -> Option<Frame<'b>> {
        let frame = self.stack.pop()?;
        self.closed(frame)
    }

    /// Hands a closed element to its parent; the root's frame is returned.
    fn closed(&mut self, frame: Frame<'b>) -> Option<Frame<'b>> {
        match self.stack.last_mut() {
            Some(parent) => {
                deliver(parent, frame);
                None
            }
            None => Some(frame),
        }
    }

    /// Character data, decoded only where it is kept.
    fn text(&mut self, t: Text<'b>) {
        if let Some(top) = self.stack.last_mut() {
            text_into(top, t);
        }
    }
}

/// Character data into an element, decoded only where it is kept (elsewhere only
/// whether it is blank matters).
fn text_into<'b>(frame: &mut Frame<'b>, t: Text<'b>) {
    if frame.keeps_text() || (!frame.text && !t.is_blank()) {
        frame.add_text(t.decoded());
    }
}

/// What the root element is by its name; any other root is read to its end and
/// refused then.
fn root_kind<'b>(name: &str) -> Kind<'b> {
    match name {
        "applications" => Kind::Container(Box::default()),
        "application" => Kind::App(Box::default()),
        _ => Kind::Skip,
    }
}

/// The document of a closed root element (`name` its local name).
fn root_of(root: Frame<'_>, name: &str, body: &[u8]) -> Result<Root, String> {
    let (object, text) = (root.object(), is_text(&root));
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
            name.chars().take(40).collect::<String>(),
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

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
