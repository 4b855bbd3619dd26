use super::*;

fn params(query: &str, roots: &[&Path], token: Option<&str>) -> FuzzyFileSearchParams {
    FuzzyFileSearchParams {
        query: query.into(),
        roots: roots.iter().map(|r| r.display().to_string()).collect(),
        cancellation_token: token.map(String::from),
    }
}

use std::path::Path;

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join(".git")).unwrap();
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::create_dir_all(p.join("target/debug")).unwrap();
    std::fs::write(p.join(".gitignore"), "target/\n").unwrap();
    std::fs::write(p.join("src/widget_factory.rs"), "").unwrap();
    std::fs::write(p.join("target/debug/widget_factory.rs"), "").unwrap();
    dir
}

#[tokio::test]
async fn finds_files_with_indices_and_honours_gitignore() {
    let dir = repo();
    let s = Searches::default();
    let r = s
        .run(
            1,
            params("wfact", &[dir.path()], None),
            SearchOptions::default(),
        )
        .await
        .unwrap();
    assert!(dir.path().join("target/debug/widget_factory.rs").is_file());
    assert_eq!(r.files.len(), 1, "{r:?}");
    let f = &r.files[0];
    assert_eq!(f.root, dir.path().display().to_string());
    assert_eq!(f.path, "src/widget_factory.rs");
    assert_eq!(f.file_name, "widget_factory.rs");
    assert_eq!(f.match_type, FuzzyFileSearchMatchType::File);
    let chars: Vec<char> = f.path.chars().collect();
    let picked: String = f
        .indices
        .as_ref()
        .unwrap()
        .iter()
        .map(|&i| chars[i as usize])
        .collect();
    assert_eq!(picked, "wfact");
    // Nothing left in flight.
    assert!(lock(&s.inner.running).searches.is_empty());
}

#[tokio::test]
async fn empty_query_or_roots_answer_no_files() {
    let dir = repo();
    let s = Searches::default();
    let opts = SearchOptions::default;
    assert!(s
        .run(1, params("", &[dir.path()], None), opts())
        .await
        .unwrap()
        .files
        .is_empty());
    assert!(s
        .run(1, params("widget", &[], None), opts())
        .await
        .unwrap()
        .files
        .is_empty());
}

/// Holds every walking slot so searches queue up in flight, deterministically.
async fn hold_all(s: &Searches) -> tokio::sync::SemaphorePermit<'_> {
    s.inner
        .permits
        .acquire_many(MAX_RUNNING as u32)
        .await
        .unwrap()
}

async fn in_flight(s: &Searches, n: usize) {
    for _ in 0..500 {
        if lock(&s.inner.running).searches.len() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("never {n} searches in flight");
}

use std::time::Duration;

#[tokio::test]
async fn a_later_search_with_the_same_token_cancels_the_earlier() {
    let dir = repo();
    let s = Searches::default();
    let held = hold_all(&s).await;
    let first = tokio::spawn({
        let s = s.clone();
        let p = params("widget", &[dir.path()], Some("picker"));
        async move { s.run(1, p, SearchOptions::default()).await }
    });
    in_flight(&s, 1).await;
    // Another connection's token of the same name is not the same token.
    let other = tokio::spawn({
        let s = s.clone();
        let p = params("widget", &[dir.path()], Some("picker"));
        async move { s.run(2, p, SearchOptions::default()).await }
    });
    in_flight(&s, 2).await;
    let second = tokio::spawn({
        let s = s.clone();
        let p = params("factory", &[dir.path()], Some("picker"));
        async move { s.run(1, p, SearchOptions::default()).await }
    });
    in_flight(&s, 3).await;
    drop(held);
    let first = first.await.unwrap().unwrap();
    let other = other.await.unwrap().unwrap();
    let second = second.await.unwrap().unwrap();
    assert!(first.files.is_empty(), "{first:?}");
    assert_eq!(other.files.len(), 1);
    assert_eq!(second.files[0].path, "src/widget_factory.rs");
}

#[tokio::test]
async fn a_closed_connection_stops_its_searches() {
    let dir = repo();
    let s = Searches::default();
    let held = hold_all(&s).await;
    let search = tokio::spawn({
        let s = s.clone();
        let p = params("widget", &[dir.path()], None);
        async move { s.run(7, p, SearchOptions::default()).await }
    });
    in_flight(&s, 1).await;
    s.connection_closed(7);
    drop(held);
    assert!(search.await.unwrap().unwrap().files.is_empty());
}

#[tokio::test]
async fn bad_params_are_named() {
    let dir = repo();
    let s = Searches::default();
    let run = |p| {
        let s = s.clone();
        async move { s.run(1, p, SearchOptions::default()).await.unwrap_err() }
    };
    let e = run(params("x", &[Path::new("relative/dir")], None)).await;
    assert_eq!(e.code, wright_protocol::jsonrpc::INVALID_PARAMS);
    assert!(
        e.message.contains("`roots[0]` must be an absolute path"),
        "{}",
        e.message
    );
    let file = dir.path().join("src/widget_factory.rs");
    let e = run(params("x", &[dir.path(), &file], None)).await;
    assert!(
        e.message.contains("`roots[1]`") && e.message.contains("not a directory"),
        "{}",
        e.message
    );
    let e = run(params(
        "x",
        &[dir.path(), &dir.path().join("missing")],
        None,
    ))
    .await;
    assert!(e.message.contains("`roots[1]`"), "{}", e.message);
    let e = run(params(
        &"q".repeat(MAX_QUERY_CHARS + 1),
        &[dir.path()],
        None,
    ))
    .await;
    assert!(e.message.contains("`query`"), "{}", e.message);
    let many: Vec<&Path> = (0..=MAX_ROOTS).map(|_| dir.path()).collect();
    let e = run(params("x", &many, None)).await;
    assert!(e.message.contains("`roots`"), "{}", e.message);
}

#[tokio::test]
async fn a_connection_has_an_in_flight_cap() {
    let dir = repo();
    let s = Searches::default();
    let held = hold_all(&s).await;
    let mut queued = Vec::new();
    for _ in 0..MAX_IN_FLIGHT_PER_CONNECTION {
        let s2 = s.clone();
        let p = params("widget", &[dir.path()], None);
        queued.push(tokio::spawn(async move {
            s2.run(1, p, SearchOptions::default()).await
        }));
    }
    in_flight(&s, MAX_IN_FLIGHT_PER_CONNECTION).await;
    let e = s
        .run(
            1,
            params("widget", &[dir.path()], None),
            SearchOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, wright_protocol::jsonrpc::INVALID_REQUEST);
    drop(held);
    for q in queued {
        assert_eq!(q.await.unwrap().unwrap().files.len(), 1);
    }
}
