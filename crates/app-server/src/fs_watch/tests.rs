//! Against the real inotify: each test watches something in its own temp dir and waits for
//! the batches (the window is 200 ms, so waits are generous but bounded).

use std::sync::mpsc::Receiver;

use super::*;

const WAIT: Duration = Duration::from_secs(5);

fn sink() -> (Sink, Receiver<FsChangedNotification>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let sink: Sink = Box::new(move |n| {
        let _ = tx.lock().map(|tx| tx.send(n));
    });
    (sink, rx)
}

fn watch(w: &Watches, conn: u64, id: &str, path: &Path) -> Receiver<FsChangedNotification> {
    let (s, rx) = sink();
    let got = w.add(conn, id.into(), path.to_path_buf(), s).unwrap();
    assert_eq!(got, path);
    rx
}

/// Batches until one lists every path in `want` (paths of all batches so far, as strings).
fn wait_for(rx: &Receiver<FsChangedNotification>, want: &[&Path]) -> Vec<FsChangedNotification> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let all: Vec<String> = seen
            .iter()
            .flat_map(|n: &FsChangedNotification| n.changed_paths.clone())
            .collect();
        if want.iter().all(|p| all.contains(&p.display().to_string())) {
            return seen;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(n) => seen.push(n),
            Err(_) => panic!("no batch listing {want:?}; got {seen:?}"),
        }
    }
}

fn quiet(rx: &Receiver<FsChangedNotification>, for_: Duration) {
    if let Ok(n) = rx.recv_timeout(for_) {
        panic!("unexpected batch {n:?}");
    }
}

#[test]
fn a_directory_reports_its_children_batched() {
    let dir = tempfile::tempdir().unwrap();
    let w = Watches::default();
    let rx = watch(&w, 1, "d", dir.path());
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    std::fs::write(&a, "1").unwrap();
    std::fs::write(&b, "2").unwrap();
    let batches = wait_for(&rx, &[&a, &b]);
    // Two creations within the window make one batch, sorted, under the watch's id.
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0].watch_id, "d");
    assert_eq!(
        batches[0].changed_paths,
        [a.display().to_string(), b.display().to_string()]
    );
    // A burst of writes to one file is one path in one batch.
    for i in 0..50 {
        std::fs::write(&a, i.to_string()).unwrap();
    }
    let batches = wait_for(&rx, &[&a]);
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0].changed_paths, [a.display().to_string()]);
    std::fs::remove_file(&b).unwrap();
    wait_for(&rx, &[&b]);
    // Not recursive: a grandchild is not reported (its directory's creation was).
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    wait_for(&rx, &[&sub]);
    std::fs::write(sub.join("deep.txt"), "x").unwrap();
    quiet(&rx, DEBOUNCE * 3);
}

#[test]
fn a_file_survives_atomic_saves_and_recreation() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("config.toml");
    std::fs::write(&f, "a").unwrap();
    let w = Watches::default();
    let rx = watch(&w, 1, "f", &f);
    // A sibling is not the file.
    std::fs::write(dir.path().join("other"), "x").unwrap();
    quiet(&rx, DEBOUNCE * 2);
    // Editors save by writing a temp file and renaming it over the original.
    let tmp = dir.path().join(".config.toml.swp");
    std::fs::write(&tmp, "b").unwrap();
    std::fs::rename(&tmp, &f).unwrap();
    let batches = wait_for(&rx, &[&f]);
    assert!(batches
        .iter()
        .all(|b| b.changed_paths == [f.display().to_string()]));
    std::fs::remove_file(&f).unwrap();
    wait_for(&rx, &[&f]);
    std::fs::write(&f, "c").unwrap();
    wait_for(&rx, &[&f]);
    std::fs::write(&f, "d").unwrap();
    wait_for(&rx, &[&f]);
}

#[test]
fn a_missing_path_is_reported_when_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a/b/FETCH_HEAD");
    let w = Watches::default();
    let rx = watch(&w, 1, "later", &target);
    std::fs::create_dir(dir.path().join("a")).unwrap();
    std::fs::create_dir(dir.path().join("a/b")).unwrap();
    // Give the watch time to move down to a/b before the file appears there.
    std::thread::sleep(DEBOUNCE);
    quiet(&rx, Duration::ZERO);
    std::fs::write(&target, "x").unwrap();
    let batches = wait_for(&rx, &[&target]);
    assert_eq!(batches[0].changed_paths, [target.display().to_string()]);
    // Now it is watched as a file: a modification shows.
    std::fs::write(&target, "y").unwrap();
    wait_for(&rx, &[&target]);
}

#[test]
fn paths_are_reported_as_requested_through_symlinks_and_dots() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let w = Watches::default();
    let (s, rx) = sink();
    let asked = format!("{}/./x/../link", dir.path().display());
    let got = w.add(1, "l".into(), absolute(&asked).unwrap(), s).unwrap();
    assert_eq!(got, link);
    std::fs::write(real.join("n.txt"), "x").unwrap();
    wait_for(&rx, &[&link.join("n.txt")]);
}

#[test]
fn unwatch_stops_batches_and_ids_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let w = Watches::default();
    let rx = watch(&w, 1, "d", dir.path());
    let (s, _rx2) = sink();
    let e = w
        .add(1, "d".into(), dir.path().to_path_buf(), s)
        .unwrap_err();
    assert_eq!(e.message, "watchId already exists: d");
    // The same id on another connection is another watch.
    let rx_other = watch(&w, 2, "d", dir.path());
    // Pending changes are dropped with the watch: nothing arrives after unwatch.
    std::fs::write(dir.path().join("x"), "1").unwrap();
    assert!(w.remove(1, "d"));
    quiet(&rx, DEBOUNCE * 3);
    // ... but the other connection's watch still reports.
    wait_for(&rx_other, &[&dir.path().join("x")]);
    // Gone already, or never there: nothing to remove.
    assert!(!w.remove(1, "d"));
    assert!(!w.remove(1, "nope"));
    assert!(w.remove(2, "d"));
    assert_eq!((w.count(), w.os_watch_count()), (0, 0));
}

#[test]
fn closing_a_connection_drops_only_its_watches_and_their_os_watches() {
    let dir = tempfile::tempdir().unwrap();
    let w = Watches::default();
    let _a = watch(&w, 1, "a", dir.path());
    let _b = watch(&w, 1, "b", &dir.path().join("f"));
    let _c = watch(&w, 2, "c", dir.path());
    // Three watches, one shared OS watch of the directory.
    assert_eq!((w.count(), w.os_watch_count()), (3, 1));
    w.connection_closed(1);
    assert_eq!((w.count(), w.os_watch_count()), (1, 1));
    w.connection_closed(2);
    assert_eq!((w.count(), w.os_watch_count()), (0, 0));
}

#[test]
fn a_connection_has_a_watch_cap() {
    let dir = tempfile::tempdir().unwrap();
    let w = Watches::default();
    for i in 0..MAX_WATCHES_PER_CONNECTION {
        let (s, _) = sink();
        w.add(1, i.to_string(), dir.path().to_path_buf(), s)
            .unwrap();
    }
    let (s, _) = sink();
    let e = w
        .add(1, "one more".into(), dir.path().to_path_buf(), s)
        .unwrap_err();
    assert!(e.message.contains("fs/unwatch one first"), "{}", e.message);
    let (s, _) = sink();
    w.add(2, "other connection".into(), dir.path().to_path_buf(), s)
        .unwrap();
}

#[test]
fn relative_paths_and_long_ids_are_refused() {
    let e = absolute("src/main.rs").unwrap_err();
    assert_eq!(e.code, wright_protocol::jsonrpc::INVALID_PARAMS);
    assert!(
        e.message.contains("`path` must be an absolute path"),
        "{}",
        e.message
    );
    assert_eq!(absolute("/a/./b/../c").unwrap(), Path::new("/a/c"));
    assert_eq!(absolute("/..").unwrap(), Path::new("/"));
}

/// Routing without the OS: too many distinct paths collapse the batch to the watched path.
#[test]
fn a_flood_collapses_to_the_watched_path() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().to_path_buf();
    let mut reg = Registry::default();
    let (s, rx) = sink();
    let key: Key = (1, "w".into());
    reg.acquire(&target, &key).unwrap();
    reg.watches.insert(
        key.clone(),
        Watch {
            sink: s,
            target: target.clone(),
            resolved: resolve(&target),
            generation: 1,
            pending: BTreeSet::new(),
            overflowed: false,
            scheduled: false,
        },
    );
    let now = Instant::now();
    let kind = EventKind::Create(notify::event::CreateKind::File);
    let paths: Vec<PathBuf> = (0..MAX_PENDING_PATHS + 1)
        .map(|i| target.join(format!("f{i}")))
        .collect();
    reg.route(&kind, &paths, now);
    // Nothing before the window closes, then one batch naming the directory.
    assert_eq!(reg.flush_due(now), Some(now + DEBOUNCE));
    assert!(rx.try_recv().is_err());
    assert_eq!(reg.flush_due(now + DEBOUNCE), None);
    let n = rx.try_recv().unwrap();
    assert_eq!(n.changed_paths, [target.display().to_string()]);
    // Under the cap, the paths themselves.
    reg.route(&kind, &paths[..3], now);
    reg.flush_due(now + DEBOUNCE);
    assert_eq!(rx.try_recv().unwrap().changed_paths.len(), 3);
    // A lost-events overflow tells every watch to look again.
    reg.overflow_all(now);
    reg.flush_due(now + DEBOUNCE);
    assert_eq!(
        rx.try_recv().unwrap().changed_paths,
        [target.display().to_string()]
    );
}
