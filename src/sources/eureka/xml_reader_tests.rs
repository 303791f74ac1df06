//! Tests of the XML reader: tokens, what it refuses, and bodies cut anywhere.

use super::*;

/// The tokens of a body, each written out: `<name k=v>` (`/>` when empty), `</>`,
/// text as decoded (blank text left out), `[cdata]`.
fn tokens(body: &str) -> Result<Vec<String>, XmlError> {
    let mut reader = Reader::new(body.as_bytes())?;
    let mut out = Vec::new();
    loop {
        let token = match reader.next_token()? {
            Token::Eof => return Ok(out),
            Token::Start(tag) => {
                let attrs: String = tag
                    .attributes()
                    .map(|a| format!(" {}={}", a.name, a.value()))
                    .collect();
                let end = if tag.empty { "/>" } else { ">" };
                format!("<{}{attrs}{end}", tag.name)
            }
            Token::End => "</>".to_string(),
            Token::Text(t) if t.is_blank() => continue,
            Token::Text(t) => t.decoded().into_owned(),
            Token::CData(t) => format!("[{}]", cdata_text(t)),
        };
        out.push(token);
    }
}

/// The error a body gives.
fn error(body: &str) -> XmlError {
    match tokens(body) {
        Ok(tokens) => panic!("{body:?} was read: {tokens:?}"),
        Err(e) => e,
    }
}

fn kind(body: &str) -> XmlErrorKind {
    error(body).kind
}

#[test]
fn a_document_with_every_kind_of_markup() {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
                <!DOCTYPE applications [ <!ENTITY x \"a>b\"> ]>\n\
                <!-- a registry -- with a double hyphen -->\n\
                <applications>\n  <?pi data?>\n  <apps__hashcode>UP_1_</apps__hashcode>\n\
                <port enabled=\"true\">80</port><securePort enabled='false' />\
                <dataCenterInfo class=\"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo\">\
                <name><![CDATA[My<Own>&]]></name></dataCenterInfo>\
                <metadata/><e:x xmlns:e=\"urn:e\">t</e:x ></applications>";
    let want = [
        "<applications>",
        "<apps__hashcode>",
        "UP_1_",
        "</>",
        "<port enabled=true>",
        "80",
        "</>",
        "<securePort enabled=false/>",
        "<dataCenterInfo class=com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo>",
        "<name>",
        "[My<Own>&]",
        "</>",
        "</>",
        "<metadata/>",
        "<e:x xmlns:e=urn:e>",
        "t",
        "</>",
        "</>",
    ];
    assert_eq!(tokens(body).unwrap(), want);
}

#[test]
fn the_predefined_entities_and_character_references_are_resolved() {
    let body = "<a>&amp;&lt;&gt;&quot;&apos;|&#38;&#x26;&#233;&#x1F600;</a>";
    assert_eq!(tokens(body).unwrap()[1], "&<>\"'|&&é😀");
    // What names no character is kept as written, in text.
    let kept = "<a>&custom; &#0; &#xD800; &#x110000; &#-1; &#+1; &#X41; &#x; &#; &;</a>";
    assert_eq!(
        tokens(kept).unwrap()[1],
        "&custom; &#0; &#xD800; &#x110000; &#-1; &#+1; &#X41; &#x; &#; &;"
    );
    let attr = "<a v=\"&amp;&lt;&gt;&quot;&apos;&#38;&#x26;\" w='&quot;x&quot;'/>";
    assert_eq!(tokens(attr).unwrap(), ["<a v=&<>\"'&& w=\"x\"/>"]);
}

#[test]
fn line_ends_are_normalised() {
    let body = "<a>1\r\n2\r3\n4<![CDATA[5\r\n6]]></a>";
    assert_eq!(tokens(body).unwrap()[1..3], ["1\n2\n3\n4", "[5\n6]"]);
    // In attribute values every white space character is a space.
    let attr = "<a v=\"1\r\n2\r3\n4\t5&#10;6\"/>";
    assert_eq!(tokens(attr).unwrap(), ["<a v=1 2 3 4 5\n6/>"]);
}

#[test]
fn attributes_are_read_in_every_form_xml_allows() {
    let body = "<a x = \"1\"\ty='2'\n z=\"a>b\" e=\"\" s='\"' d=\"'\"></a>";
    assert_eq!(
        tokens(body).unwrap(),
        ["<a x=1 y=2 z=a>b e= s=\" d='>", "</>"]
    );
}

#[test]
fn malformed_attributes_are_refused() {
    let cases = [
        ("<a b=c/>", XmlErrorKind::BadAttribute),
        ("<a b/>", XmlErrorKind::BadAttribute),
        ("<a b=/>", XmlErrorKind::BadAttribute),
        ("<a b=\"<\"/>", XmlErrorKind::BadAttribute),
        ("<a b=\"1\"c=\"2\"/>", XmlErrorKind::BadTag),
        ("<a \"b\"/>", XmlErrorKind::BadTag),
        (
            "<a b=\"1\" b='2'/>",
            XmlErrorKind::DuplicateAttribute("b".into()),
        ),
        ("<a b=\"&x;\"/>", XmlErrorKind::BadReference("x".into())),
        ("<a b=\"&#0;\"/>", XmlErrorKind::BadReference("#0".into())),
        ("<a b=\"&amp\"/>", XmlErrorKind::UnclosedReference),
        ("<a b=\"1/>", XmlErrorKind::Unclosed(Markup::AttributeValue)),
        ("<a b=", XmlErrorKind::Unclosed(Markup::Tag)),
    ];
    for (body, want) in cases {
        assert_eq!(kind(body), want, "{body}");
    }
    let many: String = (0..=MAX_ATTRIBUTES).map(|i| format!(" a{i}=''")).collect();
    assert_eq!(
        kind(&format!("<a{many}/>")),
        XmlErrorKind::TooManyAttributes
    );
    let enough: String = (0..MAX_ATTRIBUTES).map(|i| format!(" a{i}=''")).collect();
    assert!(tokens(&format!("<a{enough}/>")).is_ok());
}

#[test]
fn comments_cdata_and_processing_instructions_anywhere() {
    let body = "<!----><a><!-- <b> & --><![CDATA[]]><![CDATA[<b>&amp;]]]]><?x?>t</a><!-- after -->";
    assert_eq!(
        tokens(body).unwrap(),
        ["<a>", "[]", "[<b>&amp;]]]", "t", "</>"]
    );
}

#[test]
fn self_closing_elements_have_no_end_tag() {
    let body = "<a><b/><c x='1'/><d /></a>";
    assert_eq!(
        tokens(body).unwrap(),
        ["<a>", "<b/>", "<c x=1/>", "<d/>", "</>"]
    );
    assert_eq!(tokens("<a/>").unwrap(), ["<a/>"]);
}

#[test]
fn unbalanced_tags_are_refused() {
    let mismatched = XmlErrorKind::MismatchedEnd {
        expected: "b".into(),
        found: "a".into(),
    };
    assert_eq!(
        error("<a><b></a></b>"),
        XmlError {
            at: 6,
            kind: mismatched
        }
    );
    let prefixed = XmlErrorKind::MismatchedEnd {
        expected: "e:a".into(),
        found: "a".into(),
    };
    assert_eq!(kind("<e:a></a>"), prefixed);
    assert_eq!(kind("</a>"), XmlErrorKind::UnmatchedEnd("a".into()));
    assert_eq!(kind("<a><b></b>"), XmlErrorKind::Truncated("a".into()));
    assert_eq!(kind("<a><e:b>"), XmlErrorKind::Truncated("b".into()));
    assert_eq!(kind("<a></a x='1'>"), XmlErrorKind::BadTag);
    assert!(tokens("<a></a \t\r\n>").is_ok());
}

#[test]
fn bad_markup_is_refused_where_it_is() {
    let cases = [
        ("<>", XmlErrorKind::BadName, 1),
        ("< a>", XmlErrorKind::BadName, 1),
        ("<1a>", XmlErrorKind::BadName, 1),
        ("<-a>", XmlErrorKind::BadName, 1),
        ("<a\"b>", XmlErrorKind::BadTag, 2),
        ("<a/ >", XmlErrorKind::BadTag, 2),
        ("</>", XmlErrorKind::BadName, 2),
        ("<!foo>", XmlErrorKind::BadDeclaration, 0),
        ("<!doctype a>", XmlErrorKind::BadDeclaration, 0),
        ("x<", XmlErrorKind::Unclosed(Markup::Tag), 1),
        ("<a", XmlErrorKind::Unclosed(Markup::Tag), 0),
        ("<a x='1'", XmlErrorKind::Unclosed(Markup::Tag), 0),
        ("<a></a", XmlErrorKind::Unclosed(Markup::Tag), 3),
        ("<!-- x --", XmlErrorKind::Unclosed(Markup::Comment), 0),
        ("<!-->", XmlErrorKind::Unclosed(Markup::Comment), 0),
        ("<a><![CDATA[x]]", XmlErrorKind::Unclosed(Markup::CData), 3),
        (
            "<!DOCTYPE a [ > ",
            XmlErrorKind::Unclosed(Markup::Doctype),
            0,
        ),
        ("<!DOCTYPE a '>", XmlErrorKind::Unclosed(Markup::Doctype), 0),
        (
            "<?xml version='1.0'",
            XmlErrorKind::Unclosed(Markup::ProcessingInstruction),
            0,
        ),
        ("<a>x & y</a>", XmlErrorKind::UnclosedReference, 5),
        ("<a>&amp</a>", XmlErrorKind::UnclosedReference, 3),
        ("<a>&a&b;</a>", XmlErrorKind::UnclosedReference, 3),
        ("<a>&amp", XmlErrorKind::UnclosedReference, 3),
    ];
    for (body, want, at) in cases {
        assert_eq!(error(body), XmlError { at, kind: want }, "{body}");
    }
}

#[test]
fn only_utf8_is_read() {
    assert_eq!(
        Reader::new(b"<a>\xE9</a>").err(),
        Some(XmlError {
            at: 3,
            kind: XmlErrorKind::NotUtf8
        })
    );
    assert_eq!(tokens("<a>é</a>").unwrap(), ["<a>", "é", "</>"]);
    assert_eq!(tokens("<é:ü/>").unwrap(), ["<é:ü/>"]);
}

#[test]
fn nesting_is_bounded() {
    let nested = |n: usize| "<a>".repeat(n) + &"</a>".repeat(n);
    assert!(tokens(&nested(MAX_DEPTH)).is_ok());
    assert_eq!(kind(&nested(MAX_DEPTH + 1)), XmlErrorKind::TooDeep);
    let empty = "<a>".repeat(MAX_DEPTH) + "<b/>";
    assert_eq!(kind(&empty), XmlErrorKind::TooDeep);
    // A megabyte of open tags stops at the limit, without recursion.
    assert_eq!(kind(&"<a>".repeat(350_000)), XmlErrorKind::TooDeep);
}

#[test]
fn large_hostile_bodies_are_read_in_one_pass() {
    let n = 200_000;
    // Many references, comments and empty elements: read through.
    let refs = format!("<a>{}</a>", "&amp;&#x41;&x;".repeat(n));
    assert_eq!(tokens(&refs).unwrap()[1].len(), n * 5);
    let comments = format!("<a>{}</a>", "<!---->".repeat(n));
    assert_eq!(tokens(&comments).unwrap().len(), 2);
    let empties = format!("<a>{}</a>", "<b/>".repeat(n));
    assert_eq!(tokens(&empties).unwrap().len(), n + 2);
    // Markup left open at the start of a large body ends at once at the end.
    for open in ["<!--", "<![CDATA[", "<?", "<!DOCTYPE [", "<a b='"] {
        let body = format!("{open}{}", "x>".repeat(n));
        assert!(tokens(&body).is_err(), "{open}");
    }
}

#[test]
fn a_body_cut_anywhere_is_an_error_or_a_document() {
    let body = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/eureka/prometheus_apps_2apps_4instances.xml"
    ));
    let root_end = body.rfind('>').unwrap() + 1;
    for cut in 0..=body.len() {
        let Some(part) = body.get(..cut) else {
            continue;
        };
        let read = tokens(part);
        let parsed = super::super::xml::parse_document(part.as_bytes());
        if cut < root_end {
            // Before the root starts there is nothing to refuse yet.
            assert!(
                read.is_err() || !part.contains('<'),
                "cut at {cut} was read"
            );
            assert!(parsed.is_err(), "cut at {cut} was parsed");
        } else {
            assert!(read.is_ok() && parsed.is_ok(), "cut at {cut}");
        }
    }
    // The same with bytes: a cut inside a character is not UTF-8.
    let bytes = "<a>é</a>".as_bytes();
    for cut in 0..=bytes.len() {
        let _ = super::super::xml::parse_document(&bytes[..cut]);
    }
}
