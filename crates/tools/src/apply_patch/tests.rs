use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::*;

fn write(dir: &Path, rel: &str, contents: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, contents).unwrap();
}

fn read(dir: &Path, rel: &str) -> String {
    fs::read_to_string(dir.join(rel)).unwrap()
}

fn wrap(body: &str) -> String {
    format!("*** Begin Patch\n{body}*** End Patch\n")
}

#[test]
fn add_file() {
    let dir = tempfile::tempdir().unwrap();
    let (changes, summary) = apply_patch(
        &wrap("*** Add File: sub/dir/new.txt\n+hello\n+world\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "sub/dir/new.txt"), "hello\nworld\n");
    assert_eq!(
        summary,
        "Success. Updated the following files:\nA sub/dir/new.txt\n"
    );
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, ChangeKind::Add);
    assert_eq!(changes[0].path, dir.path().join("sub/dir/new.txt"));
    assert_eq!(changes[0].display_path, "sub/dir/new.txt");
}

#[test]
fn add_overwrites_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "old\n");
    apply_patch(&wrap("*** Add File: a.txt\n+new\n"), dir.path()).unwrap();
    assert_eq!(read(dir.path(), "a.txt"), "new\n");
}

#[test]
fn delete_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "gone.txt", "bye\n");
    let (changes, summary) = apply_patch(&wrap("*** Delete File: gone.txt\n"), dir.path()).unwrap();
    assert!(!dir.path().join("gone.txt").exists());
    assert_eq!(
        summary,
        "Success. Updated the following files:\nD gone.txt\n"
    );
    assert_eq!(changes[0].kind, ChangeKind::Delete);
}

#[test]
fn delete_missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = apply_patch(&wrap("*** Delete File: nope.txt\n"), dir.path()).unwrap_err();
    let abs = dir.path().join("nope.txt");
    assert_eq!(
        err.to_string(),
        format!(
            "Failed to delete file {}: No such file or directory (os error 2)",
            abs.display()
        )
    );
}

#[test]
fn update_missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        apply_patch(&wrap("*** Update File: nope.txt\n@@\n-a\n+b\n"), dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Failed to read file to update {}: No such file or directory (os error 2)",
            dir.path().join("nope.txt").display()
        )
    );
}

#[test]
fn update_single_chunk() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", "one\ntwo\nthree\n");
    let (_, summary) = apply_patch(
        &wrap("*** Update File: f.txt\n@@\n one\n-two\n+TWO\n three\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "f.txt"), "one\nTWO\nthree\n");
    assert_eq!(summary, "Success. Updated the following files:\nM f.txt\n");
}

#[test]
fn update_several_chunks() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", "a\nb\nc\nd\ne\nf\ng\n");
    apply_patch(
        &wrap("*** Update File: f.txt\n@@\n a\n-b\n+B\n c\n@@\n e\n-f\n+F1\n+F2\n g\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "f.txt"), "a\nB\nc\nd\ne\nF1\nF2\ng\n");
}

#[test]
fn chunks_are_matched_in_order() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", "x\ny\nx\ny\n");
    // The second chunk must land on the second `x`, after the first chunk.
    apply_patch(
        &wrap("*** Update File: f.txt\n@@\n-x\n+first\n@@\n-x\n+second\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "f.txt"), "first\ny\nsecond\ny\n");
}

#[test]
fn context_anchor_selects_the_right_occurrence() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m.py",
        "def bar():\n    return 1\n\ndef foo():\n    return 1\n",
    );
    apply_patch(
        &wrap("*** Update File: m.py\n@@ def foo\n-    return 1\n+    return 2\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        read(dir.path(), "m.py"),
        "def bar():\n    return 1\n\ndef foo():\n    return 2\n"
    );
}

#[test]
fn context_anchor_is_whitespace_tolerant() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m.py",
        "class A:\n    def foo(self):   \n        pass\n",
    );
    apply_patch(
        &wrap("*** Update File: m.py\n@@ def foo(self):\n-        pass\n+        return 3\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        read(dir.path(), "m.py"),
        "class A:\n    def foo(self):   \n        return 3\n"
    );
}

#[test]
fn missing_context_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.py", "def bar():\n    pass\n");
    let err = apply_patch(
        &wrap("*** Update File: m.py\n@@ def foo\n-    pass\n+    return\n"),
        dir.path(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Failed to find context 'def foo' in {} (hunk 1)",
            dir.path().join("m.py").display()
        )
    );
}

#[test]
fn unified_diff_style_context_header_is_tolerated() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m.py",
        "def bar():\n    x = 1\ndef foo():\n    x = 1\n",
    );
    apply_patch(
        &wrap("*** Update File: m.py\n@@ -3,2 +3,2 @@ def foo():\n-    x = 1\n+    x = 2\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        read(dir.path(), "m.py"),
        "def bar():\n    x = 1\ndef foo():\n    x = 2\n"
    );
}

#[test]
fn end_of_file_anchor_matches_the_last_occurrence() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", "end\nmiddle\nend\n");
    apply_patch(
        &wrap("*** Update File: f.txt\n@@\n-end\n+END\n*** End of File\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "f.txt"), "end\nmiddle\nEND\n");
}

#[test]
fn pure_addition_at_end_of_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", "a\nb");
    apply_patch(
        &wrap("*** Update File: f.txt\n@@\n+c\n*** End of File\n"),
        dir.path(),
    )
    .unwrap();
    // Codex always writes a trailing newline.
    assert_eq!(read(dir.path(), "f.txt"), "a\nb\nc\n");
}

#[test]
fn pure_addition_after_context_anchor() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.py", "import os\n\ndef main():\n    pass\n");
    apply_patch(
        &wrap("*** Update File: f.py\n@@ import os\n+import sys\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        read(dir.path(), "f.py"),
        "import os\nimport sys\n\ndef main():\n    pass\n"
    );
}

#[test]
fn move_and_edit() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/old.rs", "fn a() {}\nfn b() {}\n");
    let (changes, summary) = apply_patch(
        &wrap(
            "*** Update File: src/old.rs\n*** Move to: src/new/new.rs\n@@\n-fn b() {}\n+fn c() {}\n",
        ),
        dir.path(),
    )
    .unwrap();
    assert!(!dir.path().join("src/old.rs").exists());
    assert_eq!(read(dir.path(), "src/new/new.rs"), "fn a() {}\nfn c() {}\n");
    assert_eq!(
        summary,
        "Success. Updated the following files:\nM src/new/new.rs\n"
    );
    assert_eq!(changes[0].path, dir.path().join("src/old.rs"));
    assert_eq!(
        changes[0].move_path.as_deref(),
        Some(dir.path().join("src/new/new.rs").as_path())
    );
}

#[test]
fn pure_rename_without_chunks() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "keep\n");
    apply_patch(
        &wrap("*** Update File: a.txt\n*** Move to: b.txt\n"),
        dir.path(),
    )
    .unwrap();
    assert!(!dir.path().join("a.txt").exists());
    assert_eq!(read(dir.path(), "b.txt"), "keep\n");
}

const WORKED_EXAMPLE: &str = "*** Begin Patch
*** Update File: README.md
*** Move to: docs/README.txt
@@
 # inventory
+
+Moved by a patch.
*** Update File: Makefile
@@
 test:
-\tPYTHONPATH=src python3 -m unittest discover -s tests -q
+\tPYTHONPATH=src python3 -m unittest discover -s tests -v
*** End of File
*** Delete File: .gitignore
*** Add File: notes/todo.md
+# TODO
+- nothing
*** End Patch
";

#[test]
fn worked_example() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "README.md", "# inventory\n");
    write(
        root,
        "Makefile",
        "test:\n\tPYTHONPATH=src python3 -m unittest discover -s tests -q\n",
    );
    write(root, ".gitignore", "*.pyc\n");

    let plan = plan_patch(WORKED_EXAMPLE, root).unwrap();
    let listed: Vec<(PathBuf, ChangeKind, Option<PathBuf>)> = plan
        .changes()
        .iter()
        .map(|c| (c.path.clone(), c.kind, c.move_path.clone()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (root.join(".gitignore"), ChangeKind::Delete, None),
            (root.join("Makefile"), ChangeKind::Update, None),
            (
                root.join("README.md"),
                ChangeKind::Update,
                Some(root.join("docs/README.txt"))
            ),
            (root.join("notes/todo.md"), ChangeKind::Add, None),
        ]
    );
    // Planning never writes.
    assert!(root.join(".gitignore").exists());
    assert!(!root.join("notes").exists());

    let summary = plan.commit().unwrap();
    assert_eq!(
        summary,
        "Success. Updated the following files:\nA notes/todo.md\nM docs/README.txt\nM Makefile\nD .gitignore\n"
    );
    assert_eq!(
        read(root, "docs/README.txt"),
        "# inventory\n\nMoved by a patch.\n"
    );
    assert!(!root.join("README.md").exists());
    assert_eq!(
        read(root, "Makefile"),
        "test:\n\tPYTHONPATH=src python3 -m unittest discover -s tests -v\n"
    );
    assert!(!root.join(".gitignore").exists());
    assert_eq!(read(root, "notes/todo.md"), "# TODO\n- nothing\n");
}

#[test]
fn matching_tolerates_trailing_whitespace() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", "alpha   \nbeta\t\ngamma\n");
    apply_patch(
        &wrap("*** Update File: f.txt\n@@\n alpha\n-beta\n+BETA\n gamma\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "f.txt"), "alpha\nBETA\ngamma\n");
}

#[test]
fn matching_tolerates_different_indentation() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.py", "if x:\n\tdo()\n\tmore()\n");
    apply_patch(
        &wrap("*** Update File: f.py\n@@\n if x:\n-    do()\n+    done()\n     more()\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "f.py"), "if x:\n    done()\n    more()\n");
}

#[test]
fn matching_normalises_unicode_punctuation() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "f.txt",
        "range 1\u{2013}2 \u{2014} \u{201C}quoted\u{201D} it\u{2019}s\u{00A0}here\n",
    );
    apply_patch(
        &wrap("*** Update File: f.txt\n@@\n-range 1-2 - \"quoted\" it's here\n+replaced\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "f.txt"), "replaced\n");
}

#[test]
fn failure_in_second_file_leaves_first_untouched() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "a1\na2\n");
    write(dir.path(), "b.txt", "b1\nb2\nb3\n");
    let err = apply_patch(
        &wrap(
            "*** Update File: a.txt\n@@\n-a1\n+A1\n*** Update File: b.txt\n@@\n-b1\n+B1\n@@\n-nope\n-nada\n+x\n",
        ),
        dir.path(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Failed to find expected lines in {} (hunk 2 of that file):\nnope\nnada",
            dir.path().join("b.txt").display()
        )
    );
    assert_eq!(read(dir.path(), "a.txt"), "a1\na2\n");
    assert_eq!(read(dir.path(), "b.txt"), "b1\nb2\nb3\n");
}

#[test]
fn missing_begin_marker() {
    let err = parse_patch("*** Add File: a\n+x\n*** End Patch\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid patch: The first line of the patch must be '*** Begin Patch'"
    );
}

#[test]
fn missing_end_marker() {
    let err = parse_patch("*** Begin Patch\n*** Add File: a\n+x\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid patch: The last line of the patch must be '*** End Patch'"
    );
    let err = parse_patch("*** Begin Patch").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid patch: The last line of the patch must be '*** End Patch'"
    );
}

#[test]
fn invalid_hunk_header_reports_line() {
    let err = parse_patch("*** Begin Patch\n*** Frobnicate File: a\n*** End Patch").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid hunk at line 2, '*** Frobnicate File: a' is not a valid hunk header. Valid hunk headers: '*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'"
    );
}

#[test]
fn empty_update_hunk_is_an_error() {
    let err = parse_patch("*** Begin Patch\n*** Update File: a.txt\n*** End Patch").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid hunk at line 2, Update file hunk for path 'a.txt' is empty"
    );
}

#[test]
fn bad_chunk_line_is_an_error() {
    let err = parse_patch("*** Begin Patch\n*** Update File: a.txt\n@@\nbogus\n*** End Patch")
        .unwrap_err();
    assert!(err
        .to_string()
        .starts_with("invalid hunk at line 4, Unexpected line found in update hunk: 'bogus'"));
}

#[test]
fn heredoc_wrapper_and_loose_whitespace_are_tolerated() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", "x\n");
    for text in [
        "apply_patch <<'EOF'\n*** Begin Patch\n*** Update File: f.txt\n@@\n-x\n+y\n*** End Patch\nEOF\n",
        "<<EOF\n*** Begin Patch\n*** Update File: f.txt\n@@\n-y\n+z\n*** End Patch\nEOF",
        "\n  *** Begin Patch  \n*** Update File: f.txt  \n@@ \n-z\n+w\n   *** End Patch",
    ] {
        apply_patch(text, dir.path()).unwrap();
    }
    assert_eq!(read(dir.path(), "f.txt"), "w\n");
}

#[test]
fn parse_produces_expected_structure() {
    let patch = parse_patch(
        "*** Begin Patch\n*** Update File: a.rs\n*** Move to: b.rs\n@@ fn main\n ctx\n-old\n+new\n*** End of File\n*** Delete File: c\n*** End Patch",
    )
    .unwrap();
    assert_eq!(
        patch.hunks,
        vec![
            Hunk::Update {
                path: PathBuf::from("a.rs"),
                move_to: Some(PathBuf::from("b.rs")),
                chunks: vec![UpdateChunk {
                    context: Some("fn main".to_string()),
                    old_lines: vec!["ctx".to_string(), "old".to_string()],
                    new_lines: vec!["ctx".to_string(), "new".to_string()],
                    is_end_of_file: true,
                }],
            },
            Hunk::Delete {
                path: PathBuf::from("c")
            },
        ]
    );
}

#[test]
fn empty_line_in_chunk_is_context() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "f.py",
        "def a():\n    pass\n\ndef b():\n    pass\n",
    );
    apply_patch(
        &wrap("*** Update File: f.py\n@@\n     pass\n\n def b():\n-    pass\n+    return 1\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        read(dir.path(), "f.py"),
        "def a():\n    pass\n\ndef b():\n    return 1\n"
    );
}

#[test]
fn trailing_blank_line_before_next_header_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", "a\nb\n");
    write(dir.path(), "g.txt", "c\n");
    apply_patch(
        &wrap("*** Update File: f.txt\n@@\n-a\n+A\n b\n\n*** Delete File: g.txt\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "f.txt"), "A\nb\n");
}

#[test]
fn crlf_files_stay_crlf() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "w.txt", "one\r\ntwo\r\n");
    apply_patch(
        &wrap("*** Update File: w.txt\n@@\n one\n-two\n+2\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "w.txt"), "one\r\n2\r\n");
}

#[test]
fn blank_lines_are_preserved_at_end_of_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", "a\nb\n\n");
    apply_patch(&wrap("*** Update File: f.txt\n@@\n-a\n+A\n"), dir.path()).unwrap();
    assert_eq!(read(dir.path(), "f.txt"), "A\nb\n\n");
}

#[test]
fn two_updates_of_the_same_file_are_applied_in_sequence() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", "a\nb\n");
    let (changes, summary) = apply_patch(
        &wrap("*** Update File: f.txt\n@@\n-a\n+A\n*** Update File: ./f.txt\n@@\n-b\n+B\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "f.txt"), "A\nB\n");
    assert_eq!(changes.len(), 1);
    assert_eq!(summary, "Success. Updated the following files:\nM f.txt\n");
}

#[test]
fn conflicting_hunks_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.txt", "a\n");
    let err = apply_patch(
        &wrap("*** Delete File: f.txt\n*** Update File: f.txt\n@@\n-a\n+b\n"),
        dir.path(),
    )
    .unwrap_err();
    assert!(matches!(err, PatchError::Conflict { .. }), "{err}");
    assert!(err
        .to_string()
        .contains(&dir.path().join("f.txt").display().to_string()));
    assert_eq!(read(dir.path(), "f.txt"), "a\n");

    write(dir.path(), "g.txt", "g\n");
    let err = apply_patch(
        &wrap("*** Update File: g.txt\n*** Move to: h.txt\n*** Add File: h.txt\n+x\n"),
        dir.path(),
    )
    .unwrap_err();
    assert!(matches!(err, PatchError::Conflict { .. }), "{err}");
    assert!(dir.path().join("g.txt").exists());
    assert!(!dir.path().join("h.txt").exists());
}

#[test]
fn add_under_a_regular_file_fails_at_plan_time() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "blocker", "i am a file\n");
    let err = plan_patch(&wrap("*** Add File: blocker/x.txt\n+x\n"), dir.path()).unwrap_err();
    assert!(err.to_string().contains("is not a directory"), "{err}");
}

#[test]
fn commit_failure_rolls_back_earlier_changes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a_update.txt", "old\n");
    write(root, "b_delete.txt", "doomed\n");
    write(root, "c_moved.txt", "moving\n");
    let plan = plan_patch(
        &wrap(
            "*** Update File: a_update.txt\n@@\n-old\n+new\n\
             *** Delete File: b_delete.txt\n\
             *** Update File: c_moved.txt\n*** Move to: d/e/c.txt\n@@\n-moving\n+moved\n\
             *** Add File: d/new.txt\n+fresh\n\
             *** Add File: z/blocked/x.txt\n+never\n",
        ),
        root,
    )
    .unwrap();
    // A directory that must be created is now a regular file: the last write
    // fails after all the others went through (changes commit in path order).
    write(root, "z", "in the way\n");

    let err = plan.commit().unwrap_err();
    assert!(
        matches!(
            err,
            PatchError::Io {
                action: "Failed to create parent directories for",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&root.join("z/blocked/x.txt").display().to_string()),
        "{err}"
    );
    assert_eq!(read(root, "a_update.txt"), "old\n");
    assert_eq!(read(root, "b_delete.txt"), "doomed\n");
    assert_eq!(read(root, "c_moved.txt"), "moving\n");
    assert!(!root.join("d").exists(), "created directories are removed");
    assert_eq!(read(root, "z"), "in the way\n");
    let mut names: Vec<String> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["a_update.txt", "b_delete.txt", "c_moved.txt", "z"],
        "no temp files left behind"
    );
}

#[test]
fn commit_refuses_to_clobber_concurrent_edits() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "a\n");
    write(dir.path(), "b.txt", "b\n");
    let plan = plan_patch(
        &wrap("*** Update File: a.txt\n@@\n-a\n+A\n*** Update File: b.txt\n@@\n-b\n+B\n"),
        dir.path(),
    )
    .unwrap();
    write(dir.path(), "b.txt", "edited meanwhile\n");
    let err = plan.commit().unwrap_err();
    assert!(matches!(err, PatchError::ChangedOnDisk { .. }), "{err}");
    assert_eq!(read(dir.path(), "a.txt"), "a\n");
    assert_eq!(read(dir.path(), "b.txt"), "edited meanwhile\n");
}

#[cfg(unix)]
#[test]
fn update_keeps_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "run.sh", "echo a\n");
    let path = dir.path().join("run.sh");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    apply_patch(
        &wrap("*** Update File: run.sh\n@@\n-echo a\n+echo b\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "run.sh"), "echo b\n");
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o755
    );
}

#[cfg(unix)]
#[test]
fn update_through_symlink_edits_the_target() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "real.txt", "x\n");
    std::os::unix::fs::symlink("real.txt", dir.path().join("link.txt")).unwrap();
    apply_patch(&wrap("*** Update File: link.txt\n@@\n-x\n+y\n"), dir.path()).unwrap();
    assert!(fs::symlink_metadata(dir.path().join("link.txt"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read(dir.path(), "real.txt"), "y\n");
}

#[test]
fn absolute_paths_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let abs = dir.path().join("abs.txt");
    let elsewhere = tempfile::tempdir().unwrap();
    let (changes, summary) = apply_patch(
        &wrap(&format!("*** Add File: {}\n+x\n", abs.display())),
        elsewhere.path(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "abs.txt"), "x\n");
    assert_eq!(changes[0].path, abs);
    assert_eq!(
        summary,
        format!(
            "Success. Updated the following files:\nA {}\n",
            abs.display()
        )
    );
}

#[test]
fn stacked_context_markers_narrow_the_search() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m.py",
        "class A:\n    def f(self):\n        return 0\nclass B:\n    def f(self):\n        return 0\n",
    );
    apply_patch(
        &wrap("*** Update File: m.py\n@@ class B:\n@@     def f(self):\n-        return 0\n+        return 1\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        read(dir.path(), "m.py"),
        "class A:\n    def f(self):\n        return 0\nclass B:\n    def f(self):\n        return 1\n"
    );
}

#[test]
fn add_file_tolerates_blank_lines_without_plus() {
    let patch =
        parse_patch("*** Begin Patch\n*** Add File: a.md\n+# A\n\n+text\n\n*** End Patch").unwrap();
    assert_eq!(
        patch.hunks,
        vec![Hunk::Add {
            path: PathBuf::from("a.md"),
            contents: "# A\n\ntext\n".to_string()
        }]
    );
}

#[test]
fn supplied_text_is_patched_instead_of_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "on disk\n");
    let patch = wrap("*** Update File: a.txt\n@@\n-in buffer\n+patched\n");
    // The disk does not have the lines the patch replaces: planning from it fails.
    assert!(plan_patch(&patch, dir.path()).is_err());
    let supplied = HashMap::from([(dir.path().join("a.txt"), "in buffer\n".to_string())]);
    let plan = plan_patch_with(&patch, dir.path(), &supplied).unwrap();
    let contents = plan.contents();
    assert_eq!(contents[0].1.as_deref(), Some("in buffer\n"));
    assert_eq!(contents[0].2.as_deref(), Some("patched\n"));
}

#[test]
fn read_paths_lists_updates_moves_and_deletes_once_but_not_adds() {
    let cwd = Path::new("/w");
    let patch = wrap(
        "*** Add File: new.txt\n+x\n*** Update File: ./a.txt\n@@\n-a\n+b\n*** Update File: a.txt\n@@\n-b\n+c\n*** Update File: m.txt\n*** Move to: n.txt\n@@\n-m\n+n\n*** Delete File: sub/../gone.txt\n",
    );
    assert_eq!(
        read_paths(&patch, cwd).unwrap(),
        vec![
            PathBuf::from("/w/a.txt"),
            PathBuf::from("/w/m.txt"),
            PathBuf::from("/w/gone.txt")
        ]
    );
}
