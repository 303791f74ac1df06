//! Tests of the store: sequence, retention, index, faults, gaps and repair.

use super::*;
use crate::model::{EventData, NoData, TargetKind, TargetMeta};
use std::io::{Seek, SeekFrom, Write};

fn draft(target: &str) -> EventDraft {
    EventDraft {
        target: target.into(),
        data: EventData::PollingEnabled(NoData {}),
    }
}

fn state(id: &str) -> TargetState {
    TargetState::new(&TargetMeta {
        id: id.into(),
        kind: TargetKind::HaproxyBackend,
        group: "g".into(),
        source: crate::model::SourceKind::Agent,
        backend_name: Some("b".into()),
        failure_threshold: 3,
    })
}

#[test]
fn sequence_continues_after_reopen_and_retention_prunes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/w.redb");
    {
        let store = Store::open(&path, 3).unwrap();
        let ev = store
            .commit(
                &[Change::Full(Arc::new(state("t")))],
                vec![draft("t"), draft("u")],
                Ts(1),
            )
            .unwrap();
        assert_eq!(ev.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        store
            .commit(&[], vec![draft("t"), draft("t"), draft("t")], Ts(2))
            .unwrap();
    }
    let store = Store::open(&path, 3).unwrap();
    assert_eq!(store.next_seq(), 6);
    assert_eq!(store.oldest_seq().unwrap(), Some(3));
    assert_eq!(store.load_targets().unwrap(), vec![state("t")]);
    let ev = store.events(0, 10, Some("t")).unwrap();
    assert_eq!(
        ev.iter().map(|e| e.last_seq()).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert!(
        store.events(0, 10, Some("u")).unwrap().is_empty(),
        "pruned from the index too"
    );
    assert_eq!(store.events(3, 1, None).unwrap()[0].last_seq(), 4);
    let mut polled = state("t");
    polled.last_fetch_at.set(Some(Ts(4)));
    polled.last_success_at.set(Some(Ts(4)));
    store
        .commit(
            &[Change::PollTimes(Arc::new(polled.clone()))],
            vec![],
            Ts(4),
        )
        .unwrap();
    assert_eq!(store.load_targets().unwrap(), vec![polled]);
    store
        .commit(&[Change::Removed("t".into())], vec![], Ts(3))
        .unwrap();
    assert!(store.load_targets().unwrap().is_empty());
}

#[test]
fn a_second_open_of_the_same_file_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.redb");
    let _first = Store::open(&path, 10).unwrap();
    let err = Store::open(&path, 10).err().unwrap();
    assert!(matches!(err, StoreError::AlreadyOpen(_)), "{err}");
    assert!(err.to_string().contains("already in use"));
}

fn filled(path: &Path, events: usize) -> Store {
    let store = Store::open(path, 100_000).unwrap();
    let ids = ["a", "b", "c"];
    let changes: Vec<Change> = ids
        .iter()
        .map(|i| Change::Full(Arc::new(state(i))))
        .collect();
    store.commit(&changes, vec![], Ts(1)).unwrap();
    for chunk in 0..events / 100 {
        let drafts = (0..100).map(|i| draft(ids[(chunk + i) % 3])).collect();
        store.commit(&[], drafts, Ts(2)).unwrap();
    }
    store
}

fn zero_page(path: &Path, page: u64) {
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(page * 4096)).unwrap();
    f.write_all(&[0u8; 4096]).unwrap();
}

#[test]
fn a_damaged_page_is_refused_at_start_and_repair_salvages_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.redb");
    drop(filled(&path, 1500));
    let pages = std::fs::metadata(&path).unwrap().len() / 4096;
    let (mut refused, mut repaired) = (0, 0);
    for page in (0..pages).step_by(5) {
        let copy = dir.path().join(format!("p{page}.redb"));
        std::fs::copy(&path, &copy).unwrap();
        zero_page(&copy, page);
        match Store::open(&copy, 100_000) {
            Ok(store) => {
                assert!(store.events(0, 10_000, None).is_ok());
                continue;
            }
            Err(StoreError::Damaged { detail, .. }) => assert!(!detail.is_empty()),
            Err(e) => panic!("page {page}: not reported as damaged: {e}"),
        }
        refused += 1;
        let Ok(report) = repair::repair(&copy, 100_000) else {
            continue;
        };
        repaired += 1;
        assert!(report.kept.exists(), "the damaged file is kept");
        assert_eq!(
            report.events as u64 + report.events_skipped,
            1500,
            "page {page}: {report}"
        );
        let store = Store::open(&copy, 100_000).unwrap();
        assert_eq!(store.next_seq(), 1501, "page {page}");
        let all = store.events(0, 10_000, None).unwrap();
        assert_eq!(all.len(), report.events, "page {page}");
    }
    assert!(
        refused > 0 && repaired > 0,
        "{refused} refused, {repaired} repaired of {pages} pages"
    );
}

#[test]
fn an_unreadable_event_is_a_gap_and_the_rest_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("w.redb"), 100).unwrap();
    store
        .commit(
            &[],
            vec![draft("t"), draft("t"), draft("t"), draft("u")],
            Ts(1),
        )
        .unwrap();
    {
        let db = store.db().unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(EVENTS)
            .unwrap()
            .insert(2, b"{\"seq\":2,\"ts\"".as_slice())
            .unwrap();
        tx.open_table(EVENTS)
            .unwrap()
            .insert(3, b"\xff\xfe".as_slice())
            .unwrap();
        tx.commit().unwrap();
    }
    let page = store.events(0, 10, None).unwrap();
    let shape: Vec<_> = page
        .iter()
        .map(|i| serde_json::to_value(i).unwrap())
        .collect();
    assert_eq!(shape[0]["seq"], 1);
    assert_eq!(
        shape[1],
        serde_json::json!({"type": "gap", "from": 2, "to": 3, "reason": "unreadable"})
    );
    assert_eq!(shape[2]["seq"], 4);
    let of_t = store.events(0, 10, Some("t")).unwrap();
    assert_eq!(of_t.len(), 2, "{of_t:?}");
    let u = store.unreadable();
    assert_eq!((u.count, u.first, u.last), (2, Some(2), Some(3)));
}

#[test]
fn a_closed_store_refuses_writes_until_reopened_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("w.redb"), 100).unwrap();
    store.commit(&[], vec![draft("t")], Ts(1)).unwrap();
    store.close();
    let err = store.commit(&[], vec![draft("t")], Ts(2)).unwrap_err();
    assert_eq!(err.fault(), Some(Fault::Closed), "{err}");
    store.reopen().unwrap();
    let ev = store.commit(&[], vec![draft("t")], Ts(3)).unwrap();
    assert_eq!(ev[0].seq, 2, "the failed batch consumed no number");
    assert_eq!(store.events(0, 10, None).unwrap().len(), 2);
}

#[test]
fn an_index_missing_from_an_older_file_is_built_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.redb");
    {
        let store = Store::open(&path, 100).unwrap();
        store
            .commit(&[], vec![draft("t"), draft("u"), draft("t")], Ts(1))
            .unwrap();
        let db = store.db().unwrap();
        let tx = db.begin_write().unwrap();
        tx.delete_table(log::BY_TARGET).unwrap();
        tx.open_table(META).unwrap().remove(log::INDEXED).unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path, 100).unwrap();
    let seqs: Vec<u64> = store
        .events(0, 10, Some("t"))
        .unwrap()
        .iter()
        .map(|i| i.last_seq())
        .collect();
    assert_eq!(seqs, vec![1, 3]);
}

/// A commit hands back each event with the very text it stored, which is what the
/// hub sends to WebSocket clients.
#[test]
fn a_commit_returns_each_event_with_its_stored_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("w.redb"), 100).unwrap();
    let done = store
        .commit_with(&[], vec![draft("t"), draft("u")], Ts(7), &|_| Ok(()))
        .unwrap();
    assert_eq!(done.events.len(), 2);
    assert_eq!(done.json.len(), 2);
    let read = store.events(0, 10, None).unwrap();
    assert_eq!(read.len(), 2);
    for ((e, text), item) in done.events.iter().zip(&done.json).zip(&read) {
        assert_eq!(&**text, serde_json::to_string(e).unwrap());
        assert_eq!(
            serde_json::to_string(item).unwrap(),
            &**text,
            "read back as written"
        );
    }
}
