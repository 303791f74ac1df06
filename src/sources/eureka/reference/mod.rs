//! The tree-based Eureka parsers the streaming ones replaced (the JSON document
//! read into a `serde_json::Value`, XML converted into one), kept as the reference
//! the streaming parsers are checked against: for any input, the same
//! applications, instances, hashcode and errors.

#[allow(dead_code)]
mod json;
mod lease;
#[allow(dead_code)]
mod xml;

use proptest::prelude::*;
use serde_json::json;

/// Every key the parsers read, and a few they do not.
const KEYS: &[&str] = &[
    "applications",
    "application",
    "instance",
    "name",
    "instanceId",
    "hostName",
    "app",
    "ipAddr",
    "status",
    "overriddenStatus",
    "overriddenstatus",
    "actionType",
    "port",
    "securePort",
    "$",
    "@enabled",
    "metadata",
    "@class",
    "dataCenterInfo",
    "instance-id",
    "leaseInfo",
    "lease_info",
    "lastRenewalTimestamp",
    "renewalTimestamp",
    "durationInSecs",
    "lastUpdatedTimestamp",
    "apps__hashcode",
    "vipAddress",
];

/// An error without the position serde_json names (which differs by a column
/// where a value that is not read is skipped rather than decoded).
fn unplaced(e: &str) -> String {
    match (e.find(" at line "), e.find(" (body starts")) {
        (Some(at), Some(end)) if at < end => format!("{}{}", &e[..at], &e[end..]),
        _ => e.to_string(),
    }
}

fn same_json(body: &[u8]) {
    let new = super::json::parse_document(body);
    let old = json::parse_document(body);
    match (&new, &old) {
        (Err(n), Err(o)) => assert_eq!(
            unplaced(n),
            unplaced(o),
            "{}",
            String::from_utf8_lossy(body)
        ),
        _ => assert_eq!(new, old, "{}", String::from_utf8_lossy(body)),
    }
    assert_eq!(
        super::json::apps_hashcode(body),
        json::apps_hashcode(body),
        "{}",
        String::from_utf8_lossy(body)
    );
}

/// How both XML parsers begin the message for a body that is not well-formed.
const NOT_XML: &str = "Eureka answer is not well-formed XML: ";

fn same_xml(body: &[u8]) {
    let new = super::xml::parse_document(body);
    let old = xml::parse_document(body);
    match (&new, &old) {
        // Each reader words what it found its own way (and quick-xml may stop at a
        // different fault of the same body): both must find the body not
        // well-formed.
        (Err(n), Err(o)) if n.starts_with(NOT_XML) && o.starts_with(NOT_XML) => {}
        _ => assert_eq!(new, old, "{}", String::from_utf8_lossy(body)),
    }
    assert_eq!(
        super::xml::apps_hashcode(body),
        xml::apps_hashcode(body),
        "{}",
        String::from_utf8_lossy(body)
    );
}

/// XML built from the element names Eureka documents use, with and without
/// attributes, entities and repeated elements.
fn eurekaish_xml() -> impl Strategy<Value = String> {
    let name = proptest::sample::select(
        KEYS.iter()
            .filter(|k| !k.starts_with(['$', '@']))
            .copied()
            .collect::<Vec<_>>(),
    );
    let leaf = prop_oneof![
        "[ -~]{0,8}".prop_map(|t| t.replace(['<', '&'], "")),
        Just(" 8080 ".to_string()),
        Just("&amp;&#32;&x;".to_string()),
        Just(String::new()),
        Just("<!-- c --> 1 <![CDATA[<&>]]>".to_string()),
        Just("a\r\n&#x9;&#13;b\r".to_string()),
        Just("<?pi x?><e a='&quot;1&#10;\t2' b=\"\"/>".to_string()),
    ];
    leaf.prop_recursive(6, 64, 5, move |inner| {
        let attrs = prop_oneof![
            Just(""),
            Just(" enabled=\"true\""),
            Just(" enabled=\"false\" class=\"x\""),
            Just(" class=\"java.util.Collections$EmptyMap\""),
        ];
        (name.clone(), prop::collection::vec(inner, 0..5), attrs)
            .prop_map(|(n, children, attr)| format!("<{n}{attr}>{}</{n}>", children.concat()))
    })
}

#[test]
fn fixtures_and_known_cases_agree() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/eureka");
    for entry in std::fs::read_dir(dir).unwrap() {
        let body = std::fs::read(entry.unwrap().path()).unwrap();
        same_json(&body);
        same_xml(&body);
    }
    let json_cases = [
        r#"{"applications":{"application":{"name":"A","name":null,"instance":{"instanceId":"a","app":"X"}}}}"#,
        r#"{"application":[{"instance":[1,{"app":"Y"}]},{"name":"B","instance":{"hostName":"h","instance":[]}}]}"#,
        r#"{"applications":{},"applications":null,"apps__hashcode":"UP_1_"}"#,
        r#"{"b":1,"a":2,"c":3,"e":4,"d":5,"f":6,"g":7}"#,
        r#"{"application":{"name":"A","instance":{"instanceId":"i","metadata":{"a":"1","a":null,"n":{"y":1,"x":[1.5,-2,1e3]}},"port":{"$":"80","$":8081,"@enabled":true},"securePort":{"$":443,"@enabled":" TRUE "}}}}"#,
        r#"{"application":{"name":"A","instance":{"instanceId":"i","port":{"$":80,"@enabled":"false"},"securePort":{"$":443,"@enabled":"true"},"ipAddr":"::1","leaseInfo":7,"lease_info":{"durationInSecs":9}}}}"#,
        r#"{"application":{"name":"A","instance":{"instanceId":"i","status":1.0,"actionType":false,"lastUpdatedTimestamp":1.7e12,"dataCenterInfo":{"metadata":{"instance-id":" i-1 "},"metadata":[]}}}}"#,
        "{\"application\":{\"name\":\"A\\u0041\",\"inst\\u0061nce\":{\"instanceId\":\"\\u00e9\"}}}",
        r#"{"application":{"name":"A"}} trailing"#,
        r#"{"application":{"name":"A"}"#,
        "",
        " [1, 2] ",
        // Cut inside a number: both say where the document ended.
        "[-",
        "[1, -",
        r#"{"application":{"name":"A","x":-"#,
        r#"{"a":1e"#,
        r#"{"a":0."#,
        "[\n -",
        // An invalid number before the end stays one.
        "[-x, -",
    ];
    for body in json_cases {
        same_json(body.as_bytes());
    }
}

/// Every cut of the XML fixtures, and of a document with every kind of markup.
#[test]
fn cut_xml_documents_agree() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/eureka");
    let mut bodies: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "xml"))
        .map(|path| std::fs::read(path).unwrap())
        .collect();
    let markup = "\u{feff}<?xml version=\"1.0\"?>\r\n<!DOCTYPE applications>\
                  <applications><!-- c --><apps__hashcode>UP_1_</apps__hashcode>\
                  <application><name>A&amp;B</name><instance><instanceId><![CDATA[i<1>]]></instanceId>\
                  <port enabled='true'> 80 </port><metadata class=\"m\"><k a=\"&lt;\">v</k><e/></metadata>\
                  <status>UP</status></instance></application></applications>";
    bodies.push(markup.as_bytes().to_vec());
    for body in &bodies {
        for cut in 0..=body.len() {
            same_xml(&body[..cut]);
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_json_agrees(v in crate::testkit::json_with_keys(KEYS)) {
        let docs = [
            v.clone(),
            json!({"applications": {"application": v.clone(), "apps__hashcode": v.clone()}}),
            json!({"application": [{"name": "A", "instance": v.clone()}, v.clone()]}),
            json!({"application": {"name": "A", "instance": [{"instanceId": "i", "port": v.clone(), "metadata": v.clone(), "leaseInfo": v.clone(), "dataCenterInfo": v.clone()}]}}),
            json!({"application": {"instance": [v.clone(), {"instanceId": v.clone(), "status": v.clone(), "app": v.clone()}]}}),
        ];
        for doc in docs {
            same_json(&serde_json::to_vec(&doc).unwrap());
        }
    }

    #[test]
    fn arbitrary_bytes_agree(body in prop::collection::vec(any::<u8>(), 0..256)) {
        same_json(&body);
        same_xml(&body);
    }

    #[test]
    fn arbitrary_xml_agrees(x in eurekaish_xml()) {
        let docs = [
            x.clone(),
            format!("<applications>{x}</applications>"),
            format!("<applications><application><name>A</name>{x}</application></applications>"),
            format!("<application><name>A</name><instance><instanceId>i</instanceId>{x}</instance>{x}</application>"),
            format!("<applications><apps__hashcode>UP_1_</apps__hashcode><application>{x}<instance>{x}</instance></application>{x}</applications>"),
        ];
        for doc in docs {
            same_xml(doc.as_bytes());
        }
    }
}

/// Where the two differ on purpose: values of keys that are not read are skipped
/// without being decoded, so a number beyond `f64` or a string that is not UTF-8
/// there no longer makes the document unreadable.
#[test]
fn values_that_are_not_read_are_not_decoded() {
    for body in [
        &br#"{"application":{"name":"A","x":1e400}}"#[..],
        b"{\"application\":{\"name\":\"A\",\"x\":\"\xff\"}}",
    ] {
        let apps = super::json::parse_apps(body).unwrap();
        assert_eq!(apps[0].name, "A");
        let old = json::parse_document(body).unwrap_err();
        assert!(old.contains("not valid JSON"), "{old}");
    }
}
