use super::*;

fn tree(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, f).unwrap();
    }
    dir
}

fn run(query: &str, roots: &[PathBuf]) -> SearchResults {
    search(
        query,
        roots,
        &SearchOptions::default(),
        &AtomicBool::new(false),
    )
    .unwrap()
}

fn paths(r: &SearchResults) -> Vec<&str> {
    r.matches.iter().map(|m| m.path.as_str()).collect()
}

#[test]
fn finds_files_and_directories_relative_to_the_root() {
    let dir = tree(&["src/main.rs", "src/lib.rs", "README.md"]);
    let r = run("main", &[dir.path().to_path_buf()]);
    assert_eq!(paths(&r), ["src/main.rs"]);
    let m = &r.matches[0];
    assert_eq!(
        (m.root, m.kind, m.file_name()),
        (0, MatchKind::File, "main.rs")
    );
    let r = run("src", &[dir.path().to_path_buf()]);
    assert_eq!(r.matches[0].path, "src");
    assert_eq!(r.matches[0].kind, MatchKind::Directory);
}

#[test]
fn gitignore_is_honoured_inside_a_repository_and_dot_git_is_never_searched() {
    let dir = tree(&[
        ".gitignore",
        "keep/wanted_target.txt",
        "build/wanted_target.txt",
        ".hidden/wanted_target.txt",
        ".git/wanted_target.txt",
    ]);
    std::fs::write(dir.path().join(".gitignore"), "build/\n").unwrap();
    let r = run("wanted_target", &[dir.path().to_path_buf()]);
    // The ignored file exists; it is the rule that keeps it out.
    assert!(dir.path().join("build/wanted_target.txt").is_file());
    assert_eq!(
        paths(&r),
        [".hidden/wanted_target.txt", "keep/wanted_target.txt"]
    );
}

#[test]
fn gitignore_outside_a_repository_does_not_apply_but_dot_ignore_does() {
    let dir = tree(&["a/zzfile.txt", "b/zzfile.txt", "c/zzfile.txt"]);
    std::fs::write(dir.path().join(".gitignore"), "a/\n").unwrap();
    std::fs::write(dir.path().join(".ignore"), "b/\n").unwrap();
    let r = run("zzfile", &[dir.path().to_path_buf()]);
    assert_eq!(paths(&r), ["a/zzfile.txt", "c/zzfile.txt"]);
}

#[test]
fn ranking_prefers_contiguous_matches() {
    let dir = tree(&[
        "docs/configuration.md",
        "src/config.rs",
        "src/c/o/n/f/i/g.rs",
        "cxoxnxfxixg.txt",
    ]);
    let r = run("config", &[dir.path().to_path_buf()]);
    // Contiguous matches at a component start (tied, so by path) beat scattered ones.
    assert_eq!(
        paths(&r),
        [
            "docs/configuration.md",
            "src/config.rs",
            "src/c/o/n/f/i/g.rs",
            "cxoxnxfxixg.txt"
        ]
    );
    // Sorted by score, then path.
    for w in r.matches.windows(2) {
        assert!(
            w[0].score > w[1].score || (w[0].score == w[1].score && w[0].path < w[1].path),
            "{w:?}"
        );
    }
    assert_eq!(r.matches[0].score, r.matches[1].score);
    assert!(r.matches[1].score > r.matches[2].score);
}

#[test]
fn indices_point_at_the_matched_characters() {
    let dir = tree(&["src/fuzzy_search.rs", "notes/é_fz.txt"]);
    let r = run("fzsr", &[dir.path().to_path_buf()]);
    let m = r
        .matches
        .iter()
        .find(|m| m.path == "src/fuzzy_search.rs")
        .unwrap();
    let chars: Vec<char> = m.path.chars().collect();
    let picked: String = m.indices.iter().map(|&i| chars[i as usize]).collect();
    assert_eq!(picked.to_lowercase(), "fzsr", "{m:?}");
    assert!(m.indices.windows(2).all(|w| w[0] < w[1]));
    // Indices count characters, not bytes.
    let r = run("fz", &[dir.path().to_path_buf()]);
    let m = r
        .matches
        .iter()
        .find(|m| m.path == "notes/é_fz.txt")
        .unwrap();
    let chars: Vec<char> = m.path.chars().collect();
    let picked: String = m.indices.iter().map(|&i| chars[i as usize]).collect();
    assert_eq!(picked, "fz", "{m:?}");
}

#[test]
fn case_is_ignored() {
    let dir = tree(&["Makefile"]);
    assert_eq!(
        paths(&run("makefile", &[dir.path().to_path_buf()])),
        ["Makefile"]
    );
    assert_eq!(
        paths(&run("MAKEFILE", &[dir.path().to_path_buf()])),
        ["Makefile"]
    );
}

#[test]
fn the_limit_keeps_the_best() {
    let names: Vec<String> = (0..300)
        .map(|i| format!("d{}/file_{i:03}.txt", i % 7))
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let dir = tree(&refs);
    let opts = SearchOptions {
        limit: 10,
        threads: 3,
        ..SearchOptions::default()
    };
    let r = search(
        "file_1",
        &[dir.path().to_path_buf()],
        &opts,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(r.matches.len(), 10);
    assert!(r.total_matches >= 100, "{}", r.total_matches);
    // Same answer with one thread: the merge of per-thread heaps loses nothing.
    let one = SearchOptions {
        threads: 1,
        ..opts.clone()
    };
    let r1 = search(
        "file_1",
        &[dir.path().to_path_buf()],
        &one,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(r.matches, r1.matches);
}

#[test]
fn empty_query_or_no_roots_match_nothing() {
    let dir = tree(&["a.txt"]);
    assert!(run("", &[dir.path().to_path_buf()]).matches.is_empty());
    assert!(run("   ", &[dir.path().to_path_buf()]).matches.is_empty());
    assert!(run("a", &[]).matches.is_empty());
}

#[test]
fn several_roots_report_which_root() {
    let a = tree(&["alpha_one.txt"]);
    let b = tree(&["alpha_two.txt"]);
    let r = run("alpha", &[a.path().to_path_buf(), b.path().to_path_buf()]);
    let got: Vec<(usize, &str)> = r
        .matches
        .iter()
        .map(|m| (m.root, m.path.as_str()))
        .collect();
    assert_eq!(got, [(0, "alpha_one.txt"), (1, "alpha_two.txt")]);
}

#[test]
fn a_raised_flag_cancels() {
    let dir = tree(&["x.txt"]);
    let flag = AtomicBool::new(true);
    assert_eq!(
        search(
            "x",
            &[dir.path().to_path_buf()],
            &SearchOptions::default(),
            &flag
        ),
        Err(SearchError::Cancelled)
    );
}

#[test]
fn cancelling_mid_walk_stops_it() {
    let names: Vec<String> = (0..3000).map(|i| format!("d{}/f{i}.txt", i % 50)).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let dir = tree(&refs);
    let flag = AtomicBool::new(false);
    let root = [dir.path().to_path_buf()];
    let opts = SearchOptions {
        threads: 1,
        ..SearchOptions::default()
    };
    std::thread::scope(|s| {
        let h = s.spawn(|| search("f", &root, &opts, &flag));
        flag.store(true, Ordering::Relaxed);
        let r = h.join().unwrap();
        // Either it noticed (the usual case) or it had already finished.
        match r {
            Err(SearchError::Cancelled) => {}
            Ok(r) => assert_eq!(r.visited, 3051),
        }
    });
}

#[test]
fn the_entry_cap_truncates() {
    let names: Vec<String> = (0..100).map(|i| format!("f{i}.txt")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let dir = tree(&refs);
    let opts = SearchOptions {
        max_entries: 20,
        threads: 1,
        ..SearchOptions::default()
    };
    let r = search(
        "f",
        &[dir.path().to_path_buf()],
        &opts,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(r.truncated);
    assert!(r.total_matches < 100);
}

#[test]
fn symlinks_are_listed_not_followed() {
    let dir = tree(&["real/inner_thing.txt"]);
    std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("linkdir")).unwrap();
    let r = run("linkdir", &[dir.path().to_path_buf()]);
    assert_eq!(paths(&r), ["linkdir"]);
    assert_eq!(r.matches[0].kind, MatchKind::Directory);
    let r = run("inner_thing", &[dir.path().to_path_buf()]);
    assert_eq!(paths(&r), ["real/inner_thing.txt"]);
}
