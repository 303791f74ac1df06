//! Eureka sources: the native REST API (JSON or XML, full registry or deltas) and
//! FAgent.

pub mod agent;
pub mod delta;
pub mod json;
mod json_apps;
mod json_fields;
pub mod lease;
pub mod native;
mod raw;
#[cfg(test)]
mod reference;
pub mod xml;
mod xml_frames;
mod xml_names;
mod xml_reader;

use crate::model::AppSample;

/// A parsed registry document (`GET apps` or `GET apps/delta`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// Its applications, each with its instances or its own error.
    pub apps: Vec<AppSample>,
    /// The `apps__hashcode` it announces; `None` when it has none.
    pub hashcode: Option<String>,
}

/// Why a registry document was not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// It holds more instances than allowed; reading stopped there.
    TooLarge,
    /// It cannot be read: the text says why.
    Unreadable(String),
}

impl ParseError {
    /// The error as text, for callers that only report it.
    pub fn into_message(self) -> String {
        match self {
            ParseError::TooLarge => "Eureka answer holds more instances than allowed".into(),
            ParseError::Unreadable(why) => why,
        }
    }
}

/// Parses a registry document in whichever form it came: XML when the
/// `Content-Type` names xml or the body starts with `<` (after whitespace and a
/// byte order mark), JSON otherwise.
pub fn parse_document(body: &[u8], content_type: Option<&str>) -> Result<Document, String> {
    parse_document_within(body, content_type, usize::MAX).map_err(ParseError::into_message)
}

/// [`parse_document`] refusing a document of more than `max_instances` instances
/// (instance objects or elements, counted while reading, which stops at the first
/// one past the limit).
pub fn parse_document_within(
    body: &[u8],
    content_type: Option<&str>,
    max_instances: usize,
) -> Result<Document, ParseError> {
    if is_xml(body, content_type) {
        xml::parse_document_within(body, max_instances)
    } else {
        json::parse_document_within(body, max_instances)
    }
}

/// Whether an answer is XML (see [`parse_document`]).
pub fn is_xml(body: &[u8], content_type: Option<&str>) -> bool {
    let named = content_type.is_some_and(|t| t.to_ascii_lowercase().contains("xml"));
    let body = crate::sources::fagent::trim_bom(body);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    named || first == Some(&b'<')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_follows_the_content_type_then_the_first_byte() {
        assert!(is_xml(b"{}", Some("application/xml")));
        assert!(is_xml(b"{}", Some("Text/XML; charset=utf-8")));
        assert!(is_xml(b"\xEF\xBB\xBF \n <applications/>", None));
        assert!(is_xml(b"<applications/>", Some("application/json")));
        assert!(!is_xml(
            b" {\"applications\":null}",
            Some("application/json")
        ));
        assert!(!is_xml(b"", None));
        let xml = b"<applications><apps__hashcode>UP_1_</apps__hashcode></applications>";
        let doc = parse_document(xml, None).unwrap();
        assert_eq!(doc.hashcode.as_deref(), Some("UP_1_"));
        let json = br#"{"applications":{"apps__hashcode":"UP_1_"}}"#;
        assert_eq!(parse_document(json, Some("application/json")).unwrap(), doc);
    }

    #[test]
    fn instances_are_counted_while_reading_and_reading_stops_past_the_limit() {
        // Both documents break after their second instance: only a parser that
        // stopped at it can tell a limit of 1 was passed.
        let json = br#"{"applications":{"application":{"name":"A","instance":[{"instanceId":"a"},{"instanceId":"b"},!!!"#;
        let xml = b"<applications><application><name>A</name><instance><instanceId>a</instanceId>\
                    </instance><instance><instanceId>b</instanceId></instance><<<";
        for body in [&json[..], &xml[..]] {
            assert_eq!(
                parse_document_within(body, None, 1),
                Err(ParseError::TooLarge)
            );
            let err = parse_document_within(body, None, 2).unwrap_err();
            assert!(matches!(err, ParseError::Unreadable(_)), "{err:?}");
        }
        let whole = br#"{"application":[{"name":"A","instance":[{"instanceId":"a"},null]},{"name":"B","instance":{"instanceId":"b"}}]}"#;
        assert_eq!(
            parse_document_within(whole, None, 1),
            Err(ParseError::TooLarge)
        );
        let doc = parse_document_within(whole, None, 2).unwrap();
        assert_eq!(doc.apps.len(), 2);
    }
}
