//! The tree-based XML parser (XML converted into a JSON object for the JSON
//! parser): the reference for the streaming one. Parser for the native Eureka REST API in XML (what servers answer without a JSON
//! `Accept` header, and what older servers and rewriting proxies send anyway).
//!
//! The document is read with a streaming reader into the same object shape the
//! JSON codec writes (attributes as `@name`, an element's text beside attributes as
//! `$`, repeated elements as lists, empty elements as null), then handed to the JSON
//! parser, so both forms follow exactly the same rules.

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::{Map, Value};

use super::json;
use crate::model::AppSample;
use crate::sources::eureka::Document;
use crate::sources::fagent::{body_snippet, trim_bom};

/// Deepest element nesting accepted; Eureka documents are six levels deep.
const MAX_DEPTH: usize = 32;

/// Parses an `<applications>` document, or a bare `<application>` (as
/// `GET apps/{APP}` answers), with the semantics of [`json::parse_apps`].
pub fn parse_apps(body: &[u8]) -> Result<Vec<AppSample>, String> {
    parse_document(body).map(|doc| doc.apps)
}

/// Parses a document once into its applications and the hashcode it announces.
pub fn parse_document(body: &[u8]) -> Result<Document, String> {
    let (name, value) = read_root(body)?;
    if name != "applications" && name != "application" {
        return Err(format!(
            "Eureka XML answer has neither <applications> nor <application> at its root \
             (it has <{}>){}",
            name.chars().take(40).collect::<String>(),
            body_snippet(body)
        ));
    }
    let hashcode = (name == "applications")
        .then(|| hashcode_of(&value))
        .flatten();
    let mut root = Map::new();
    root.insert(name, value);
    Ok(Document {
        apps: json::apps_of(&root)?,
        hashcode,
    })
}

/// The `apps__hashcode` an XML document announces, if it has one. An empty
/// `<apps__hashcode/>` (an empty registry) is the empty hashcode.
pub fn apps_hashcode(body: &[u8]) -> Option<String> {
    let (name, value) = read_root(body).ok()?;
    (name == "applications")
        .then(|| hashcode_of(&value))
        .flatten()
}

fn hashcode_of(applications: &Value) -> Option<String> {
    match applications.get("apps__hashcode")? {
        Value::String(s) => Some(s.clone()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// An element being read: its name and the object or text it becomes.
struct Open {
    name: String,
    fields: Map<String, Value>,
    text: String,
}

impl Open {
    fn new(start: &BytesStart<'_>) -> Result<Open, String> {
        let name = start.local_name().as_ref().to_string();
        let mut fields = Map::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| format!("bad attribute in <{name}>: {e}"))?;
            let key = attr.key.local_name().as_ref().to_string();
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| format!("bad attribute value in <{name}>: {e}"))?;
            fields.insert(format!("@{key}"), Value::String(value.into_owned()));
        }
        Ok(Open {
            name,
            fields,
            text: String::new(),
        })
    }

    /// The element as JSON: an object when it has attributes or children (its text
    /// under `$` beside attributes), otherwise its trimmed text, null when blank.
    fn finish(self) -> (String, Value) {
        let text = self.text.trim();
        let value = match (self.fields.is_empty(), text.is_empty()) {
            (true, true) => Value::Null,
            (true, false) => Value::String(text.to_string()),
            (false, _) => {
                let mut fields = self.fields;
                let has_children = fields.keys().any(|k| !k.starts_with('@'));
                if !has_children && !text.is_empty() {
                    fields.insert("$".to_string(), Value::String(text.to_string()));
                }
                Value::Object(fields)
            }
        };
        (self.name, value)
    }

    /// Adds a finished child; a repeated name becomes a list in document order.
    fn add(&mut self, (name, value): (String, Value)) {
        match self.fields.get_mut(&name) {
            None => {
                self.fields.insert(name, value);
            }
            Some(Value::Array(list)) => list.push(value),
            Some(first) => {
                let first = first.take();
                self.fields.insert(name, Value::Array(vec![first, value]));
            }
        }
    }
}

/// The root element's name and value, or why the body is not a usable XML document.
fn read_root(body: &[u8]) -> Result<(String, Value), String> {
    let mut reader = Reader::from_reader(trim_bom(body));
    let mut stack: Vec<Open> = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| {
            let at = reader.error_position();
            format!(
                "Eureka answer is not well-formed XML: {e} (at byte {at}){}",
                body_snippet(body)
            )
        })?;
        let done = match event {
            Event::Start(start) => open(&mut stack, Open::new(&start).map_err(not_xml)?)?,
            Event::Empty(start) => close(&mut stack, Open::new(&start).map_err(not_xml)?),
            Event::End(_) => match stack.pop() {
                Some(element) => close(&mut stack, element),
                None => None,
            },
            Event::Text(t) => add_text(&mut stack, &t.xml10_content()),
            Event::CData(t) => add_text(&mut stack, &t.xml10_content()),
            Event::GeneralRef(r) => add_text(&mut stack, &resolve(&r)),
            Event::Eof => return Err(unfinished(&stack, body)),
            _ => None,
        };
        if let Some(root) = done {
            return Ok(root);
        }
    }
}

/// Pushes an opened element; too deep a document is refused.
fn open(stack: &mut Vec<Open>, element: Open) -> Result<Option<(String, Value)>, String> {
    if stack.len() >= MAX_DEPTH {
        return Err(format!(
            "Eureka answer is unusable: XML elements nested deeper than {MAX_DEPTH} levels"
        ));
    }
    stack.push(element);
    Ok(None)
}

/// Finishes an element into its parent; the finished root is returned.
fn close(stack: &mut [Open], element: Open) -> Option<(String, Value)> {
    let finished = element.finish();
    match stack.last_mut() {
        Some(parent) => {
            parent.add(finished);
            None
        }
        None => Some(finished),
    }
}

fn add_text(stack: &mut [Open], text: &str) -> Option<(String, Value)> {
    if let Some(top) = stack.last_mut() {
        top.text.push_str(text);
    }
    None
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

/// The error for a document that ends before its root element closes.
fn unfinished(stack: &[Open], body: &[u8]) -> String {
    match stack.last() {
        Some(open) => format!(
            "Eureka answer is not well-formed XML: it ends inside <{}> (truncated?){}",
            open.name.chars().take(40).collect::<String>(),
            body_snippet(body)
        ),
        None => format!("Eureka answer has no XML element{}", body_snippet(body)),
    }
}

fn not_xml(why: String) -> String {
    format!("Eureka answer is not well-formed XML: {why}")
}
