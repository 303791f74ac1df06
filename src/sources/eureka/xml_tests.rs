//! Tests of the Eureka XML parser against the public XML fixtures in
//! `tests/fixtures/eureka` and against the JSON parser's rules.

use proptest::prelude::*;

use super::*;
use crate::model::InstanceSample;
use crate::sources::eureka::json::reconcile_hashcode;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/eureka/",
            $name
        ))
    };
}

/// Every application with its readable instances.
fn apps(body: &str) -> Vec<(String, Vec<InstanceSample>)> {
    parse_apps(body.as_bytes())
        .unwrap()
        .into_iter()
        .map(|a| (a.name, a.instances.unwrap()))
        .collect()
}

/// `(instance_id, app, status, port)` of every instance, in document order.
fn summary(body: &str) -> Vec<(String, String, String, Option<u16>)> {
    let all = apps(body).into_iter().flat_map(|(_, list)| list);
    all.map(|i| (i.instance_id, i.app, i.status, i.port))
        .collect()
}

fn row(id: &str, app: &str, status: &str, port: u16) -> (String, String, String, Option<u16>) {
    (id.into(), app.into(), status.into(), Some(port))
}

/// One application `A` holding the given `<instance>` elements.
fn wrap(instances: &str) -> String {
    format!("<applications><application><name>A</name>{instances}</application></applications>")
}

fn only_instance(body: &str) -> InstanceSample {
    let mut all = apps(body).pop().unwrap().1;
    assert_eq!(all.len(), 1);
    all.pop().unwrap()
}

#[test]
fn prometheus_two_apps_four_instances() {
    let body = fixture!("prometheus_apps_2apps_4instances.xml");
    let (config, meta) = ("CONFIG-SERVICE", "META-SERVICE");
    let want = [
        row(
            "config-service001.test.com:config-service:8080",
            config,
            "UP",
            8080,
        ),
        row(
            "config-service002.test.com:config-service:8080",
            config,
            "UP",
            8080,
        ),
        row(
            "meta-service002.test.com:meta-service:8080",
            meta,
            "UP",
            8080,
        ),
        row(
            "meta-service001.test.com:meta-service:8080",
            meta,
            "UP",
            8080,
        ),
    ];
    assert_eq!(summary(body), want);
    let doc = parse_document(body.as_bytes()).unwrap();
    assert_eq!(doc.hashcode.as_deref(), Some("UP_4_"));
    assert_eq!(reconcile_hashcode(&doc.apps), "UP_4_");
    assert_eq!(apps_hashcode(body.as_bytes()).as_deref(), Some("UP_4_"));
}

#[test]
fn prometheus_fields_and_free_form_metadata() {
    let body = fixture!("prometheus_apps_2apps_4instances.xml");
    let (config, meta) = ("CONFIG-SERVICE", "META-SERVICE");
    let got = apps(body);
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [config, meta]);
    let first = &got[0].1[0];
    assert_eq!(
        first.host_name.as_deref(),
        Some("config-service001.test.com")
    );
    assert_eq!(first.ip_addr.as_deref(), Some("192.133.83.31"));
    assert_eq!(
        first.health_check_url.as_deref(),
        Some("http://config-service001.test.com 8080/health"),
        "the typo of the source is kept as written"
    );
    assert_eq!(first.metadata.len(), 1);
    assert_eq!(
        first.metadata["instanceId"],
        "config-service001.test.com:config-service:8080"
    );
    assert_eq!(first.overridden_status.as_deref(), Some("UNKNOWN"));
    assert_eq!(first.action_type.as_deref(), Some("ADDED"));
    let meta_md = &got[1].1[0].metadata;
    assert_eq!(meta_md["management.port"], "8090");
    assert_eq!(meta_md["project"], "meta-service");
}

#[test]
fn prometheus_empty_registry_has_the_empty_hashcode() {
    let body = fixture!("prometheus_apps_empty.xml").as_bytes();
    let doc = parse_document(body).unwrap();
    assert_eq!(doc.apps, Vec::new());
    assert_eq!(doc.hashcode.as_deref(), Some(""));
    assert_eq!(reconcile_hashcode(&doc.apps), "");
    for empty in [
        "<applications/>",
        "<applications>\n</applications>",
        "<application/>",
    ] {
        assert_eq!(parse_apps(empty.as_bytes()), Ok(Vec::new()), "{empty}");
    }
}

#[test]
fn asgard_amazon_instances_are_identified_by_their_instance_id() {
    let body = fixture!("asgard_apps_amazon.xml");
    let want = [
        row("i-89e4a4c1", "EMP_UI", "UP", 7001),
        row("i-9856bcf4", "EXAMPLECONTENTSERVER", "UP", 7001),
    ];
    assert_eq!(summary(body), want);
    let got = apps(body);
    let emp = &got[0].1[0];
    assert_eq!(emp.host_name.as_deref(), Some("10.261.13.199"));
    assert_eq!(emp.metadata.len(), 4);
    assert_eq!(emp.metadata["route53NamePrefix"], "empui.us-east-1");
    assert!(
        got[1].1[0].metadata.is_empty(),
        "EmptyMap metadata is empty"
    );
    let doc = parse_document(body.as_bytes()).unwrap();
    assert_eq!(doc.hashcode, None, "this document has no apps__hashcode");
}

#[test]
fn asgard_bare_instance_is_not_a_registry_but_its_instance_parses() {
    let body = fixture!("asgard_instance_amazon.xml");
    let err = parse_apps(body.as_bytes()).unwrap_err();
    assert!(err.contains("(it has <instance>)"), "{err}");
    let inst = only_instance(&wrap(body));
    assert_eq!(inst.instance_id, "i-deadbeef");
    assert_eq!((inst.app.as_str(), inst.port), ("FISHFOOD", Some(7001)));
    assert_eq!(
        inst.status_page_url.as_deref(),
        Some("http://ec2-68-201-34-107.us-west-2.compute.amazonaws.com:7001/Status")
    );
}

#[test]
fn a_bare_application_root_parses() {
    let body = "<application><name>FOO</name><instance><instanceId>f1</instanceId>\
                <status>DOWN</status><port enabled=\"true\">80</port></instance></application>";
    assert_eq!(summary(body), [row("f1", "FOO", "DOWN", 80)]);
}

#[test]
fn identity_falls_back_and_an_unidentifiable_instance_fails_its_app_alone() {
    let by_host = wrap("<instance><hostName>h1</hostName><status>UP</status></instance>");
    assert_eq!(only_instance(&by_host).instance_id, "h1");
    let body = "<applications><application><name>BAD</name><instance><status>UP</status>\
                </instance></application><application><name>GOOD</name><instance>\
                <instanceId>g1</instanceId></instance></application></applications>";
    let got = parse_apps(body.as_bytes()).unwrap();
    let err = got[0].instances.clone().unwrap_err();
    assert!(
        err.contains("BAD") && err.contains("cannot be identified"),
        "{err}"
    );
    let good = got[1].instances.as_ref().unwrap();
    assert_eq!(
        (good[0].instance_id.as_str(), good[0].status.as_str()),
        ("g1", "UNKNOWN")
    );
}

#[test]
fn overridden_status_prefers_the_camel_case_spelling() {
    let both = wrap(
        "<instance><instanceId>i</instanceId><status>UP</status>\
         <overriddenstatus>DOWN</overriddenstatus>\
         <overriddenStatus>OUT_OF_SERVICE</overriddenStatus></instance>",
    );
    assert_eq!(
        only_instance(&both).overridden_status.as_deref(),
        Some("OUT_OF_SERVICE")
    );
    let legacy = wrap(
        "<instance><instanceId>i</instanceId><overriddenstatus>DOWN</overriddenstatus></instance>",
    );
    assert_eq!(
        only_instance(&legacy).overridden_status.as_deref(),
        Some("DOWN")
    );
}

#[test]
fn text_is_unescaped_and_odd_values_are_tolerated() {
    let body = wrap(
        "<instance><instanceId> a&amp;b&#33;&#x3F;&lt;&custom; </instanceId><hostName><![CDATA[h<1>]]>\
         </hostName><port enabled=\"false\">http</port><status></status>\
         <metadata><k>v &quot;q&quot;</k><empty/><nested><x>1</x></nested></metadata></instance>",
    );
    let inst = only_instance(&body);
    assert_eq!(inst.instance_id, "a&b!?<&custom;");
    assert_eq!(inst.host_name.as_deref(), Some("h<1>"));
    assert_eq!((inst.port, inst.status.as_str()), (None, "UNKNOWN"));
    assert_eq!(inst.metadata["k"], "v \"q\"");
    assert!(
        !inst.metadata.contains_key("empty"),
        "an empty element is null"
    );
    assert_eq!(inst.metadata["nested"], r#"{"x":"1"}"#);
}

#[test]
fn unusable_documents_are_clear_errors() {
    let full = fixture!("prometheus_apps_2apps_4instances.xml");
    let cases = [
        (&full[..full.len() / 2], "not well-formed XML"),
        (
            "<applications><application>",
            "it ends inside <application> (truncated?)",
        ),
        ("<applications></application>", "not well-formed XML"),
        (
            "<html><body>502 Bad Gateway</body></html>",
            "(it has <html>)",
        ),
        ("", "has no XML element"),
        ("<?xml version=\"1.0\"?>", "has no XML element"),
        (
            "<applications><a b=c/></applications>",
            "not well-formed XML",
        ),
    ];
    for (body, want) in cases {
        let err = parse_apps(body.as_bytes()).unwrap_err();
        assert!(err.contains(want), "{body:?}: {err}");
    }
    let deep = "<applications>".to_string() + &"<a>".repeat(10_000);
    let err = parse_apps(deep.as_bytes()).unwrap_err();
    assert!(err.contains("nested deeper than 32 levels"), "{err}");
    assert!(
        parse_apps(b"\xEF\xBB\xBF<applications/>")
            .unwrap()
            .is_empty()
    );
}

/// XML text built from the element names Eureka documents use.
fn eurekaish_xml() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("applications"),
        Just("application"),
        Just("instance"),
        Just("name"),
        Just("instanceId"),
        Just("hostName"),
        Just("status"),
        Just("port"),
        Just("metadata"),
        Just("dataCenterInfo"),
        Just("instance-id"),
        Just("apps__hashcode"),
    ];
    let leaf = "[ -~]{0,8}".prop_map(|t| t.replace(['<', '&'], ""));
    leaf.prop_recursive(6, 64, 5, move |inner| {
        (
            name.clone(),
            prop::collection::vec(inner, 0..5),
            any::<bool>(),
        )
            .prop_map(|(n, children, attr)| {
                let attr = if attr {
                    " enabled=\"true\" class=\"x\""
                } else {
                    ""
                };
                format!("<{n}{attr}>{}</{n}>", children.concat())
            })
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_document(&body);
        let _ = apps_hashcode(&body);
    }

    #[test]
    fn arbitrary_eureka_xml_never_panics(xml in eurekaish_xml()) {
        for doc in [xml.clone(), format!("<applications><application><name>A</name>{xml}</application></applications>")] {
            if let Ok(apps) = parse_apps(doc.as_bytes()) {
                let _ = reconcile_hashcode(&apps);
                for app in &apps {
                    prop_assert!(!app.name.is_empty());
                    for inst in app.instances.iter().flatten() {
                        prop_assert!(!inst.instance_id.is_empty() && !inst.status.is_empty());
                    }
                }
            }
        }
    }
}

#[test]
fn endpoint_and_lease_come_from_the_xml_instance() {
    let inst = &apps(fixture!("prometheus_apps_2apps_4instances.xml"))[0].1[0];
    assert_eq!(inst.endpoint.as_deref(), Some("192.133.83.31:8080"));
    let lease = inst.lease.as_ref().unwrap();
    assert_eq!(lease.last_renewal_at, Some(crate::model::Ts(1596110179310)));
    assert_eq!(
        (lease.duration_s, lease.renewal_interval_s),
        (Some(90), Some(30))
    );
    assert_eq!(inst.last_updated_at, Some(crate::model::Ts(1596003469304)));
    let secure_only = wrap(
        "<instance><instanceId>i1</instanceId><ipAddr>10.0.0.9</ipAddr>\
         <port enabled=\"false\">80</port><securePort enabled=\"true\">8443</securePort></instance>",
    );
    assert_eq!(
        only_instance(&secure_only).endpoint.as_deref(),
        Some("10.0.0.9:8443")
    );
}

#[test]
fn markup_around_and_inside_a_registry_is_read_as_xml_means_it() {
    let body = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
                <!DOCTYPE applications [<!ELEMENT applications ANY>]>\r\n\
                <!-- served by a proxy -->\r\n\
                <e:applications xmlns:e=\"urn:eureka\"><e:apps__hashcode>UP_1_</e:apps__hashcode>\
                <application><name><!-- n --><![CDATA[A&B]]></name><instance>\
                <instanceId>i&#x31;<!-- one --></instanceId><hostName>h&amp;1</hostName>\
                <ipAddr>10.0.0.1</ipAddr><port enabled='true' >80</port >\
                <status><![CDATA[UP]]></status><vipAddress/><unknown><deep><deeper x=\"1\">\
                <instanceId>not this</instanceId></deeper></deep></unknown>\
                <metadata class=\"java.util.Collections$EmptyMap\"><k a=\"&lt;1&#10;\">v</k>\
                <cdata><![CDATA[<x>]]></cdata><crlf>a\r\nb</crlf><empty/></metadata>\
                </instance></application></e:applications>";
    let doc = parse_document(body.as_bytes()).unwrap();
    assert_eq!(doc.hashcode.as_deref(), Some("UP_1_"));
    assert_eq!(doc.apps[0].name, "A&B");
    let inst = &doc.apps[0].instances.as_ref().unwrap()[0];
    assert_eq!(inst.instance_id, "i1");
    assert_eq!(inst.host_name.as_deref(), Some("h&1"));
    assert_eq!(inst.endpoint.as_deref(), Some("10.0.0.1:80"));
    assert_eq!(inst.status, "UP");
    assert_eq!(inst.metadata["k"], r#"{"$":"v","@a":"<1\n"}"#);
    assert_eq!(inst.metadata["cdata"], "<x>");
    assert_eq!(inst.metadata["crlf"], "a\nb");
    assert!(!inst.metadata.contains_key("empty"));
    assert!(!inst.metadata.contains_key("class"));
}

#[test]
fn malformed_documents_name_what_is_wrong_and_where() {
    let cases = [
        (
            "<applications><a b='1' b='2'/></applications>",
            "attribute b is repeated (at byte 23)",
        ),
        (
            "<applications><a></b></applications>",
            "expected </a>, found </b> (at byte 17)",
        ),
        (
            "<applications>&nbsp</applications>",
            "`&` is not closed by `;` (at byte 14)",
        ),
        (
            "<applications><a x=\"&nbsp;\"/></applications>",
            "unknown reference &nbsp; in an attribute value (at byte 20)",
        ),
        ("<applications>\u{0}<", "it ends inside a tag (at byte 15)"),
        (
            "<applications><!-- ",
            "it ends inside a comment (at byte 14)",
        ),
    ];
    for (body, want) in cases {
        let err = parse_apps(body.as_bytes()).unwrap_err();
        assert!(
            err.starts_with("Eureka answer is not well-formed XML: ") && err.contains(want),
            "{body:?}: {err}"
        );
    }
    let err = parse_apps(b"<applications>\xff</applications>").unwrap_err();
    assert!(err.contains("it is not UTF-8 (at byte 14)"), "{err}");
    // Past the root element nothing is read.
    let doc = parse_document(b"<applications/><<<&&&").unwrap();
    assert_eq!(doc.apps, Vec::new());
}
