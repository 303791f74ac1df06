//! Eureka sources: the native REST API (JSON or XML, full registry or deltas) and
//! FAgent.

pub mod agent;
pub mod delta;
pub mod json;
pub mod lease;
pub mod native;
pub mod xml;

use crate::model::AppSample;

/// A parsed registry document (`GET apps` or `GET apps/delta`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// Its applications, each with its instances or its own error.
    pub apps: Vec<AppSample>,
    /// The `apps__hashcode` it announces; `None` when it has none.
    pub hashcode: Option<String>,
}

/// Parses a registry document in whichever form it came: XML when the
/// `Content-Type` names xml or the body starts with `<` (after whitespace and a
/// byte order mark), JSON otherwise.
pub fn parse_document(body: &[u8], content_type: Option<&str>) -> Result<Document, String> {
    if is_xml(body, content_type) {
        xml::parse_document(body)
    } else {
        json::parse_document(body)
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
}
