//! The `GET apps` document of a Eureka server, in the modern Jackson JSON codec form
//! and in the XStream XML form (docs/protocols/eureka.md §4).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::epoch_ms;
use super::eureka_delta::Action;
use super::registry::Entry;

/// One instance with everything both forms write.
struct Inst {
    instance_id: Option<String>,
    host_name: Option<String>,
    app: String,
    ip_addr: String,
    status: String,
    overridden_status: &'static str,
    port: u16,
    url_base: String,
    vip_address: String,
    registered_ms: u64,
    renewed_ms: u64,
    updated_ms: u64,
    action_type: &'static str,
}

/// The registry as served: applications by upper-cased name, and the hashcode.
pub(crate) struct View {
    apps: BTreeMap<String, Vec<Inst>>,
    hashcode: String,
}

/// Builds the view of `entries` with their actions and the registry's `hashcode`;
/// `with_ids(app)` says whether that app's instances carry their `instanceId` and
/// `hostName`.
pub(crate) fn view<'a>(
    entries: impl IntoIterator<Item = (&'a Entry, Action)>,
    hashcode: String,
    with_ids: impl Fn(&str) -> bool,
) -> View {
    let renewed_ms = epoch_ms();
    let mut apps: BTreeMap<String, Vec<Inst>> = BTreeMap::new();
    for (entry, action) in entries {
        let app = entry.sim.app.to_uppercase();
        let inst = inst(entry, action, with_ids(&app), renewed_ms);
        apps.entry(app).or_default().push(inst);
    }
    View { apps, hashcode }
}

fn inst(entry: &Entry, action: Action, with_ids: bool, renewed_ms: u64) -> Inst {
    let i = &entry.sim;
    let host = if with_ids { &i.host_name } else { &i.ip_addr };
    let overridden_status = match i.status.as_str() {
        "OUT_OF_SERVICE" => "OUT_OF_SERVICE",
        _ => "UNKNOWN",
    };
    Inst {
        instance_id: with_ids.then(|| i.instance_id.clone()),
        host_name: with_ids.then(|| i.host_name.clone()),
        app: i.app.to_uppercase(),
        ip_addr: i.ip_addr.clone(),
        status: i.status.clone(),
        overridden_status,
        port: i.port,
        url_base: format!("http://{host}:{}", i.port),
        vip_address: i.app.to_lowercase(),
        registered_ms: entry.registered_ms,
        renewed_ms: renewed_ms.saturating_sub(entry.renewal_lag_ms),
        updated_ms: entry.updated_ms,
        action_type: action.as_str(),
    }
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    applications: JsonApps<'a>,
}

#[derive(Serialize)]
struct JsonApps<'a> {
    #[serde(rename = "versions__delta")]
    versions_delta: &'static str,
    #[serde(rename = "apps__hashcode")]
    apps_hashcode: &'a str,
    application: Vec<JsonApp<'a>>,
}

#[derive(Serialize)]
struct JsonApp<'a> {
    name: &'a str,
    instance: Vec<JsonInst<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonInst<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    instance_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_name: Option<&'a str>,
    app: &'a str,
    ip_addr: &'a str,
    status: &'a str,
    overridden_status: &'a str,
    port: JsonPort,
    secure_port: JsonPort,
    country_id: u32,
    data_center_info: JsonDataCenter,
    lease_info: JsonLease,
    metadata: JsonMetadata,
    home_page_url: String,
    status_page_url: String,
    health_check_url: String,
    vip_address: &'a str,
    secure_vip_address: &'a str,
    is_coordinating_discovery_server: &'static str,
    last_updated_timestamp: String,
    last_dirty_timestamp: String,
    action_type: &'static str,
}

#[derive(Serialize)]
struct JsonPort {
    #[serde(rename = "$")]
    port: u16,
    #[serde(rename = "@enabled")]
    enabled: &'static str,
}

#[derive(Serialize)]
struct JsonDataCenter {
    #[serde(rename = "@class")]
    class: &'static str,
    name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonLease {
    renewal_interval_in_secs: u32,
    duration_in_secs: u32,
    registration_timestamp: u64,
    last_renewal_timestamp: u64,
    eviction_timestamp: u64,
    service_up_timestamp: u64,
}

#[derive(Serialize)]
struct JsonMetadata {
    #[serde(rename = "@class")]
    class: &'static str,
}

const DEFAULT_DATA_CENTER: &str = "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo";
const EMPTY_MAP: &str = "java.util.Collections$EmptyMap";

fn json_inst(i: &Inst) -> JsonInst<'_> {
    JsonInst {
        instance_id: i.instance_id.as_deref(),
        host_name: i.host_name.as_deref(),
        app: &i.app,
        ip_addr: &i.ip_addr,
        status: &i.status,
        overridden_status: i.overridden_status,
        port: JsonPort {
            port: i.port,
            enabled: "true",
        },
        secure_port: JsonPort {
            port: 443,
            enabled: "false",
        },
        country_id: 1,
        data_center_info: JsonDataCenter {
            class: DEFAULT_DATA_CENTER,
            name: "MyOwn",
        },
        lease_info: json_lease(i),
        metadata: JsonMetadata { class: EMPTY_MAP },
        home_page_url: format!("{}/", i.url_base),
        status_page_url: format!("{}/info", i.url_base),
        health_check_url: format!("{}/health", i.url_base),
        vip_address: &i.vip_address,
        secure_vip_address: &i.vip_address,
        is_coordinating_discovery_server: "false",
        last_updated_timestamp: i.updated_ms.to_string(),
        last_dirty_timestamp: i.updated_ms.to_string(),
        action_type: i.action_type,
    }
}

fn json_lease(i: &Inst) -> JsonLease {
    JsonLease {
        renewal_interval_in_secs: 30,
        duration_in_secs: 90,
        registration_timestamp: i.registered_ms,
        last_renewal_timestamp: i.renewed_ms,
        eviction_timestamp: 0,
        service_up_timestamp: i.registered_ms,
    }
}

/// The JSON document, as `Accept: application/json` gets it.
pub(crate) fn to_json(view: &View) -> String {
    let application = view.apps.iter().map(|(name, insts)| JsonApp {
        name,
        instance: insts.iter().map(json_inst).collect(),
    });
    let doc = JsonDoc {
        applications: JsonApps {
            versions_delta: "1",
            apps_hashcode: &view.hashcode,
            application: application.collect(),
        },
    };
    serde_json::to_string(&doc).unwrap_or_default()
}

/// The XML document, as any other `Accept` header (or none) gets it.
pub(crate) fn to_xml(view: &View) -> String {
    let mut out = String::from("<applications>\n  <versions__delta>1</versions__delta>\n");
    match view.hashcode.as_str() {
        "" => out.push_str("  <apps__hashcode/>\n"),
        code => out.push_str(&format!("  <apps__hashcode>{code}</apps__hashcode>\n")),
    }
    for (name, insts) in &view.apps {
        out.push_str(&format!(
            "  <application>\n    <name>{}</name>\n",
            escape(name)
        ));
        for i in insts {
            xml_inst(&mut out, i);
        }
        out.push_str("  </application>\n");
    }
    out.push_str("</applications>\n");
    out
}

fn xml_inst(out: &mut String, i: &Inst) {
    out.push_str("    <instance>\n");
    let mut e = |tag: &str, value: &str| {
        let _ = writeln!(out, "      <{tag}>{}</{tag}>", escape(value));
    };
    if let Some(id) = &i.instance_id {
        e("instanceId", id);
    }
    if let Some(host) = &i.host_name {
        e("hostName", host);
    }
    e("app", &i.app);
    e("ipAddr", &i.ip_addr);
    e("status", &i.status);
    e("overriddenstatus", i.overridden_status);
    let _ = writeln!(out, "      <port enabled=\"true\">{}</port>", i.port);
    out.push_str("      <securePort enabled=\"false\">443</securePort>\n");
    out.push_str("      <countryId>1</countryId>\n");
    let _ = writeln!(
        out,
        "      <dataCenterInfo class=\"{DEFAULT_DATA_CENTER}\">"
    );
    out.push_str("        <name>MyOwn</name>\n      </dataCenterInfo>\n");
    xml_lease(out, i);
    let _ = writeln!(out, "      <metadata class=\"{EMPTY_MAP}\"/>");
    xml_tail(out, i);
}

fn xml_lease(out: &mut String, i: &Inst) {
    let reg = i.registered_ms;
    out.push_str("      <leaseInfo>\n");
    for (tag, value) in [
        ("renewalIntervalInSecs", 30),
        ("durationInSecs", 90),
        ("registrationTimestamp", reg),
        ("lastRenewalTimestamp", i.renewed_ms),
        ("evictionTimestamp", 0),
        ("serviceUpTimestamp", reg),
    ] {
        let _ = writeln!(out, "        <{tag}>{value}</{tag}>");
    }
    out.push_str("      </leaseInfo>\n");
}

fn xml_tail(out: &mut String, i: &Inst) {
    let updated = i.updated_ms.to_string();
    for (tag, value) in [
        ("homePageUrl", format!("{}/", i.url_base)),
        ("statusPageUrl", format!("{}/info", i.url_base)),
        ("healthCheckUrl", format!("{}/health", i.url_base)),
        ("vipAddress", i.vip_address.clone()),
        ("secureVipAddress", i.vip_address.clone()),
        ("isCoordinatingDiscoveryServer", "false".to_string()),
        ("lastUpdatedTimestamp", updated.clone()),
        ("lastDirtyTimestamp", updated),
        ("actionType", i.action_type.to_string()),
    ] {
        let _ = writeln!(out, "      <{tag}>{}</{tag}>", escape(&value));
    }
    out.push_str("    </instance>\n");
}

/// Escapes text for an XML element.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
