//! Storage faults on the real binary: a damaged state file stops start-up with the
//! way out and `watchpost repair` salvages it without losing a readable event; a
//! full disk (a small tmpfs) makes health say so, shows targets as stale, and
//! recovers by itself when space returns, with nothing lost or invented.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use watchpost::actors::store::{Store, StoreError, repair};
use watchpost::sim::Fault;

use super::restart::{Fixture, status_of, until};
use super::{Deadline, FAST, Proc, SLOW, bin, events};

fn zero_page(path: &Path, page: u64) {
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(page * 4096)).unwrap();
    f.write_all(&[0u8; 4096]).unwrap();
}

/// A page whose zeroing is refused at start-up and can be repaired, one that keeps
/// events if there is one (tried on copies).
fn damageable_page(path: &Path) -> u64 {
    let pages = std::fs::metadata(path).unwrap().len() / 4096;
    let mut any = None;
    for page in 1..pages {
        let copy = path.with_extension(format!("try{page}"));
        std::fs::copy(path, &copy).unwrap();
        zero_page(&copy, page);
        let refused = matches!(Store::open(&copy, 10_000), Err(StoreError::Damaged { .. }));
        let repaired = refused
            .then(|| repair::repair(&copy, 10_000).ok())
            .flatten();
        match repaired {
            Some(r) if r.events > 0 => return page,
            Some(_) => any = any.or(Some(page)),
            None => {}
        }
    }
    any.unwrap_or_else(|| panic!("no page of {pages} is both damaging and repairable"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_file_stops_start_up_clearly_and_repair_keeps_every_readable_event() {
    let f = Fixture::start().await;
    let mut d = f.run("first", &FAST).await;
    let beta = f.id("beta");
    until(&mut d, "beta polled", |c| status_of(c, &beta) == "success").await;
    let before = events(&mut d).await;
    d.term();
    assert!(d.wait_exit(30).await.success());

    let state = f.dir().join("state.redb");
    zero_page(&state, damageable_page(&state));
    let (config, port) = f.config("damaged", &SLOW);
    let cfg = config.to_str().unwrap();
    let mut d = Proc::spawn(f.dir(), "damaged", &["run", "--config", cfg], &[], port);
    let status = d.wait_exit(30).await;
    let (_, err) = d.output();
    assert_eq!(status.code(), Some(1), "{err}");
    for words in [
        "cannot start: the state file",
        "is damaged",
        "watchpost repair",
    ] {
        assert!(err.contains(words), "{words:?} missing from: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");

    let out = Command::new(bin())
        .args(["repair", "--config", cfg])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("salvaged") && said.contains(".damaged-"),
        "{said}"
    );

    let mut d = f.run("repaired", &SLOW).await;
    let after = events(&mut d).await;
    for e in &after {
        assert!(before.contains(e), "an event changed or was invented: {e}");
    }
    let health = d.json("/api/health").await;
    let last = before.last().unwrap()["seq"].as_u64().unwrap();
    assert!(health["last_seq"].as_u64().unwrap() <= last, "{health}");
}

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let opts = format!("size={size}");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &opts, "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes a file until the file system is full.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    while f.write_all(&chunk).and_then(|()| f.sync_data()).is_ok() {}
}

async fn wait_health(d: &mut Proc, what: &str, pred: impl Fn(u16, &Value) -> bool) -> Value {
    let deadline = Deadline::new(what, std::time::Duration::from_secs(60));
    loop {
        let (code, h) = d.get("/api/health").await;
        if pred(code, &h) {
            return h;
        }
        deadline.tick(&h).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_reported_and_recovers_by_itself() {
    let f = Fixture::start().await;
    let Some(mnt) = Tmpfs::mount(&f.dir().join("mnt"), "6m") else {
        eprintln!(
            "SKIPPED a_full_disk_is_reported_and_recovers_by_itself: cannot mount a tmpfs here (needs root and mount rights)"
        );
        return;
    };
    let (config, port) = f.config("full", &FAST);
    let text = std::fs::read_to_string(&config).unwrap();
    let on_tmpfs = mnt.0.join("state.redb");
    let text = text.replace(
        &format!("{:?}", f.dir().join("state.redb")),
        &format!("{on_tmpfs:?}"),
    );
    std::fs::write(&config, text).unwrap();
    let mut d = Proc::run(f.dir(), "full", &config, port).await;
    let beta = f.id("beta");
    until(&mut d, "beta polled", |c| status_of(c, &beta) == "success").await;
    let before = events(&mut d).await;

    let filler = mnt.0.join("filler");
    fill(&filler);
    f.agent.set_backend_fault("beta", Some(Fault::Status(404)));
    let h = wait_health(&mut d, "health 503 on a full disk", |c, h| {
        c == 503 && h["storage"] == "error"
    })
    .await;
    assert!(h["failing"].to_string().contains("storage"), "{h}");
    assert_eq!(d.get("/healthz").await.0, 503);
    let backends = d.json("/api/haproxy/backends").await;
    for b in backends["backends"].as_array().unwrap() {
        assert_eq!(b["stale"], true, "{b}");
    }

    std::fs::remove_file(&filler).unwrap();
    wait_health(&mut d, "storage recovered", |c, h| {
        c == 200 && h["storage"] == "ok"
    })
    .await;
    let c = until(&mut d, "beta failed, recorded", |c| {
        status_of(c, &beta) == "failed"
    })
    .await;
    let after = c.events;
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "committed events changed"
    );
    let seqs: Vec<u64> = after.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let failed = after[before.len()..]
        .iter()
        .filter(|e| e["type"] == "fetch_failed" && e["target"] == beta.as_str())
        .count();
    assert_eq!(failed, 1, "{after:#?}");
    assert_eq!(
        d.json("/api/haproxy/backends").await["backends"][0]["stale"],
        false
    );
    d.term();
    assert!(d.wait_exit(30).await.success());
}
