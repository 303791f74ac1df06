//! Parser benchmarks (divan): HAProxy stats CSV with 1,000 backends × 4 servers, and
//! Eureka `GET apps` documents with 5,000 instances in JSON and in XML.
//!
//! `cargo bench --bench parsers` (or `scripts/bench parsers`).
//!
//! The CSV repeats real rows of `tests/fixtures/haproxy/cli_show_stat.csv` (the four
//! servers and the BACKEND row of `be_app`) under the names `be_00001..`. The Eureka
//! documents are the ones `EurekaSim` serves (its JSON and XML codecs, shaped like
//! the fixtures), fetched once over loopback before the benchmarks start.

use std::sync::LazyLock;

use watchpost::sources::eureka::{json, xml};
use watchpost::sources::haproxy::csv;

const BACKENDS: usize = 1000;
const INSTANCES: usize = 5000;

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

/// `GET /eureka/apps` of an `EurekaSim` with 5,000 instances, as JSON and as XML.
fn eureka_documents() -> (Vec<u8>, Vec<u8>) {
    let instances = (0..INSTANCES)
        .map(|j| {
            let app = format!("app{:03}", j / 10);
            watchpost::sim::SimInstance::up(
                &app,
                &format!("h{j}.sim.local"),
                &format!("10.1.{}.{}", j / 250, j % 250),
                8080,
            )
        })
        .collect();
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
