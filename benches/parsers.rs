//! Parser benchmarks (divan): HAProxy stats CSV with 1,000 backends × 4 servers,
//! Eureka `GET apps` documents with 5,000 instances in JSON and in XML, and a round
//! of delta fetches of 20 Eureka servers × 500 instances.
//!
//! `cargo bench --bench parsers` (or `scripts/bench parsers`).
//!
//! The CSV repeats real rows of `tests/fixtures/haproxy/cli_show_stat.csv` (the four
//! servers and the BACKEND row of `be_app`) under the names `be_00001..`. The Eureka
//! documents are the ones `EurekaSim` serves (its JSON and XML codecs, shaped like
//! the fixtures), fetched once over loopback before the benchmarks start. The delta
//! documents are `GET apps/delta` of a 500-instance `EurekaSim` after 10 of its
//! instances went DOWN.

use std::sync::LazyLock;

use watchpost::sources::eureka::delta::{DeltaOutcome, DeltaState};
use watchpost::sources::eureka::{json, xml};
use watchpost::sources::haproxy::csv;

const BACKENDS: usize = 1000;
const INSTANCES: usize = 5000;
/// Eureka servers of a delta round, and instances of each.
const DELTA_SERVERS: usize = 20;
const DELTA_INSTANCES: usize = 500;
/// Instances of each server that changed since the last poll.
const DELTA_CHANGED: usize = 10;

fn main() {
    divan::main();
}

/// The `show stat` answer of `n` backends × 4 servers, built from the capture.
fn stats_csv(n: usize) -> Vec<u8> {
    // Relative to the package root, where cargo runs benchmarks.
    let path = "tests/fixtures/haproxy/cli_show_stat.csv";
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    let header = lines.next().expect("a header line");
    let rows: Vec<&str> = lines.filter(|l| l.starts_with("be_app,")).collect();
    assert_eq!(
        rows.len(),
        5,
        "be_app has 4 servers and a BACKEND row in the capture"
    );
    let mut out = format!("{header}\n");
    for l in text.lines().filter(|l| l.starts_with("stats,")) {
        out.push_str(l);
        out.push('\n');
    }
    for b in 1..=n {
        for row in &rows {
            out.push_str(&format!("be_{b:05}"));
            out.push_str(&row["be_app".len()..]);
            out.push('\n');
        }
    }
    out.push('\n');
    out.into_bytes()
}

static CSV: LazyLock<Vec<u8>> = LazyLock::new(|| stats_csv(BACKENDS));
static TABLE: LazyLock<csv::CsvTable> =
    LazyLock::new(|| csv::parse(&CSV).expect("the generated CSV parses"));
static EUREKA: LazyLock<(Vec<u8>, Vec<u8>)> = LazyLock::new(eureka_documents);
static DELTA: LazyLock<DeltaDocs> = LazyLock::new(delta_documents);

/// Parses the whole answer: what one `socket`/`stats` round does once.
#[divan::bench]
fn haproxy_csv_parse_1000x4(b: divan::Bencher) {
    b.counter(divan::counter::BytesCount::new(CSV.len()))
        .bench(|| csv::parse(divan::black_box(&CSV)).expect("parses"));
}

/// Takes one backend's servers out of the parsed table: what each backend's poller
/// does with the shared answer (once per backend per round).
#[divan::bench]
fn haproxy_servers_of_one_backend(b: divan::Bencher) {
    let table = &*TABLE;
    b.bench(|| csv::servers_of(table, divan::black_box("be_00500")).expect("found"));
}

/// Every backend's servers from one parsed table, one `servers_of` scan per backend:
/// a round of 1,000 pollers before the table was indexed once per round.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn haproxy_servers_of_all_1000(b: divan::Bencher) {
    let table = &*TABLE;
    let names: Vec<String> = (1..=BACKENDS).map(|i| format!("be_{i:05}")).collect();
    b.bench(|| {
        names
            .iter()
            .map(|n| csv::servers_of(table, n).map_or(0, |s| s.len()))
            .sum::<usize>()
    });
}

/// Every backend's servers in one pass over the table: what one round does since
/// the shared reader indexes the table once (`csv::servers_by_backend`).
#[divan::bench(sample_count = 20)]
fn haproxy_servers_by_backend_1000(b: divan::Bencher) {
    let table = &*TABLE;
    b.bench(|| csv::servers_by_backend(table).len());
}

/// Backend discovery (`backends = "*"`) on the same table.
#[divan::bench(sample_count = 10)]
fn haproxy_discover_backends_1000(b: divan::Bencher) {
    let table = &*TABLE;
    b.bench(|| csv::backends(table).len());
}

#[divan::bench]
fn eureka_json_parse_5000(b: divan::Bencher) {
    let doc = &EUREKA.0;
    b.counter(divan::counter::BytesCount::new(doc.len()))
        .bench(|| json::parse_document(divan::black_box(doc)).expect("parses"));
}

#[divan::bench]
fn eureka_xml_parse_5000(b: divan::Bencher) {
    let doc = &EUREKA.1;
    b.counter(divan::counter::BytesCount::new(doc.len()))
        .bench(|| xml::parse_document(divan::black_box(doc)).expect("parses"));
}

/// Only the events of the XML document, nothing done with them: what the XML
/// reader alone costs, the floor under `eureka_xml_parse_5000`.
#[divan::bench]
fn eureka_xml_events_only_5000(b: divan::Bencher) {
    let doc = &EUREKA.1;
    b.counter(divan::counter::BytesCount::new(doc.len()))
        .bench(|| {
            let mut reader = quick_xml::Reader::from_reader(divan::black_box(&doc[..]));
            let mut n = 0usize;
            loop {
                match reader.read_event() {
                    Ok(quick_xml::events::Event::Eof) | Err(_) => return n,
                    Ok(_) => n += 1,
                }
            }
        });
}

/// One delta poll of each of 20 sources of 500 instances: parse the delta and
/// apply it to the source's local copy (hashcode check and the registry handed on
/// included). Applying the same delta again leaves a copy as it was, so the copies
/// are made once.
#[divan::bench(sample_count = 50)]
fn eureka_json_delta_20x500(b: divan::Bencher) {
    let docs = &*DELTA;
    let states = delta_states(&docs.full_json, json::parse_document);
    b.counter(divan::counter::BytesCount::new(
        docs.json.len() * DELTA_SERVERS,
    ))
    .bench(|| delta_round(&states, &docs.json, json::parse_document));
}

#[divan::bench(sample_count = 50)]
fn eureka_xml_delta_20x500(b: divan::Bencher) {
    let docs = &*DELTA;
    let states = delta_states(&docs.full_xml, xml::parse_document);
    b.counter(divan::counter::BytesCount::new(
        docs.xml.len() * DELTA_SERVERS,
    ))
    .bench(|| delta_round(&states, &docs.xml, xml::parse_document));
}

type Parse = fn(&[u8]) -> Result<watchpost::sources::eureka::Document, String>;

/// 20 delta-enabled sources holding the full registry.
fn delta_states(full: &[u8], parse: Parse) -> Vec<DeltaState> {
    (0..DELTA_SERVERS)
        .map(|_| {
            let state = DeltaState::new(true);
            state.replace(parse(full).expect("the full registry parses").apps);
            state
        })
        .collect()
}

/// Every source parses its delta and applies it; the instances it then reports.
fn delta_round(states: &[DeltaState], delta: &[u8], parse: Parse) -> usize {
    let mut n = 0;
    for state in states {
        let doc = parse(divan::black_box(delta)).expect("the delta parses");
        match state.apply(&doc) {
            DeltaOutcome::Applied(apps) => n += apps.len(),
            DeltaOutcome::Refetch(why) => panic!("the delta applies: {why}"),
        }
    }
    n
}

/// A full registry and a delta of it, each as JSON and as XML.
struct DeltaDocs {
    full_json: Vec<u8>,
    full_xml: Vec<u8>,
    json: Vec<u8>,
    xml: Vec<u8>,
}

/// `GET apps` of a 500-instance `EurekaSim`, then `GET apps/delta` after
/// 10 instances went DOWN, as JSON and as XML.
fn delta_documents() -> DeltaDocs {
    actix_web::rt::System::new().block_on(async move {
        let sim = watchpost::sim::EurekaSim::start(
            ([127, 0, 0, 1], 0).into(),
            sim_instances(DELTA_INSTANCES),
        )
        .await
        .expect("EurekaSim starts");
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let get = async |path: &str, accept: &str| {
            let resp = client
                .get(format!("{}/{path}", sim.url()))
                .header("accept", accept)
                .send()
                .await
                .expect("GET");
            resp.bytes().await.expect("body").to_vec()
        };
        let full_json = get("apps", "application/json").await;
        let full_xml = get("apps", "application/xml").await;
        sim.forget_recent_changes();
        for j in (0..DELTA_INSTANCES).step_by(DELTA_INSTANCES / DELTA_CHANGED) {
            let id = format!("h{j}.sim.local:app{:03}:8080", j / 10);
            sim.set_instance_status(&id, "DOWN");
        }
        let json = get("apps/delta", "application/json").await;
        let xml = get("apps/delta", "application/xml").await;
        sim.stop().await;
        let doc = json::parse_document(&json).expect("the delta parses");
        let n: usize = doc
            .apps
            .iter()
            .map(|a| a.instances.as_ref().map_or(0, Vec::len))
            .sum();
        assert_eq!(n, DELTA_CHANGED, "the delta holds the changed instances");
        DeltaDocs {
            full_json,
            full_xml,
            json,
            xml,
        }
    })
}

/// `n` instances UP, 10 per application, as the benchmarks' simulators hold them.
fn sim_instances(n: usize) -> Vec<watchpost::sim::SimInstance> {
    (0..n)
        .map(|j| {
            let app = format!("app{:03}", j / 10);
            watchpost::sim::SimInstance::up(
                &app,
                &format!("h{j}.sim.local"),
                &format!("10.1.{}.{}", j / 250, j % 250),
                8080,
            )
        })
        .collect()
}

/// `GET /eureka/apps` of an `EurekaSim` with 5,000 instances, as JSON and as XML.
fn eureka_documents() -> (Vec<u8>, Vec<u8>) {
    let instances = sim_instances(INSTANCES);
    actix_web::rt::System::new().block_on(async move {
        let sim = watchpost::sim::EurekaSim::start(([127, 0, 0, 1], 0).into(), instances)
            .await
            .expect("EurekaSim starts");
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let url = format!("{}/apps", sim.url());
        let get = async |accept: &str| {
            let resp = client
                .get(&url)
                .header("accept", accept)
                .send()
                .await
                .expect("GET apps");
            resp.bytes().await.expect("body").to_vec()
        };
        let json = get("application/json").await;
        let xml = get("application/xml").await;
        sim.stop().await;
        let parsed = json::parse_document(&json).expect("JSON parses");
        let n: usize = parsed
            .apps
            .iter()
            .map(|a| a.instances.as_ref().map_or(0, Vec::len))
            .sum();
        assert_eq!(n, INSTANCES, "every instance is in the JSON document");
        assert!(xml.starts_with(b"<"), "the XML document is XML");
        (json, xml)
    })
}
