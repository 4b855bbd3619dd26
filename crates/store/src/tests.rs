use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;

use super::search::{fts_query, searchable_text};
use super::*;

fn thread(id: &str, updated_at: i64) -> ThreadRecord {
    ThreadRecord {
        id: id.to_string(),
        created_at: updated_at - 10,
        updated_at,
        name: None,
        preview: String::new(),
        cwd: "/work".to_string(),
        model: "gpt-5".to_string(),
        model_provider: "openai".to_string(),
        source: "cli".to_string(),
        archived: false,
        forked_from: None,
        settings: json!({"sandbox": "workspace-write", "approval": "on-request"}),
        usage: json!({"input": 0, "output": 0}),
    }
}

fn turn(thread_id: &str, id: &str, status: &str) -> TurnRecord {
    TurnRecord {
        thread_id: thread_id.to_string(),
        id: id.to_string(),
        status: status.to_string(),
        error: None,
        started_at: Some(100),
        completed_at: None,
        duration_ms: None,
    }
}

fn user_msg(id: &str, text: &str) -> Value {
    json!({"type": "userMessage", "id": id, "content": [{"type": "text", "text": text}]})
}

fn agent_msg(id: &str, text: &str) -> Value {
    json!({"type": "agentMessage", "id": id, "text": text})
}

fn ids(page: &Page) -> Vec<String> {
    page.threads.iter().map(|t| t.id.clone()).collect()
}

fn fts_rows(store: &Store) -> i64 {
    store
        .conn()
        .query_row("SELECT COUNT(*) FROM items_fts", [], |r| r.get(0))
        .unwrap()
}

fn all_pages(store: &Store, mut q: ListQuery) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    loop {
        let page = store.list_threads(&q).unwrap();
        pages.push(ids(&page));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return pages,
        }
    }
}

#[test]
fn store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
}

#[test]
fn thread_round_trip_and_updates() {
    let store = Store::open_in_memory().unwrap();
    let mut t = thread("t1", 1000);
    t.name = Some("named".into());
    t.forked_from = Some("t0".into());
    t.settings = json!({"z": 1, "a": [1, 2, {"b": null}]});
    store.insert_thread(&t).unwrap();
    assert_eq!(store.get_thread("t1").unwrap(), Some(t.clone()));
    assert_eq!(store.get_thread("nope").unwrap(), None);
    // Key order of the opaque blobs is preserved.
    let got = store.get_thread("t1").unwrap().unwrap();
    assert_eq!(
        serde_json::to_string(&got.settings).unwrap(),
        r#"{"z":1,"a":[1,2,{"b":null}]}"#
    );
    // Duplicate id is an error.
    assert!(matches!(
        store.insert_thread(&t),
        Err(StoreError::Sqlite(_))
    ));

    store.set_name("t1", Some("renamed")).unwrap();
    assert_eq!(
        store.get_thread("t1").unwrap().unwrap().name.as_deref(),
        Some("renamed")
    );
    store.set_name("t1", None).unwrap();
    assert_eq!(store.get_thread("t1").unwrap().unwrap().name, None);
    assert!(matches!(store.set_name("x", Some("n")), Err(StoreError::NotFound(id)) if id == "x"));

    store.set_archived("t1", true).unwrap();
    assert!(store.get_thread("t1").unwrap().unwrap().archived);
    store.set_archived("t1", false).unwrap();
    assert!(!store.get_thread("t1").unwrap().unwrap().archived);
    assert!(matches!(
        store.set_archived("x", true),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn touch_sets_preview_only_when_empty() {
    let store = Store::open_in_memory().unwrap();
    store.insert_thread(&thread("t", 10)).unwrap();

    store.touch("t", 20, None, None, None).unwrap();
    let t = store.get_thread("t").unwrap().unwrap();
    assert_eq!((t.updated_at, t.preview.as_str()), (20, ""));
    assert_eq!(t.settings, thread("t", 10).settings);

    store
        .touch("t", 30, Some("first message"), Some(&json!({"s": 1})), None)
        .unwrap();
    let t = store.get_thread("t").unwrap().unwrap();
    assert_eq!(t.updated_at, 30);
    assert_eq!(t.preview, "first message");
    assert_eq!(t.settings, json!({"s": 1}));
    assert_eq!(t.usage, json!({"input": 0, "output": 0}));

    store
        .touch(
            "t",
            40,
            Some("second message"),
            None,
            Some(&json!({"input": 5})),
        )
        .unwrap();
    let t = store.get_thread("t").unwrap().unwrap();
    assert_eq!(t.updated_at, 40);
    assert_eq!(t.preview, "first message");
    assert_eq!(t.settings, json!({"s": 1}));
    assert_eq!(t.usage, json!({"input": 5}));

    assert!(matches!(
        store.touch("x", 1, None, None, None),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn pagination_55_threads_by_20() {
    let store = Store::open_in_memory().unwrap();
    // Several threads share an updated_at so the id tie-break matters.
    for i in 0..55 {
        store
            .insert_thread(&thread(&format!("t{i:02}"), 1000 + i / 3))
            .unwrap();
    }
    let q = ListQuery {
        limit: 20,
        ..Default::default()
    };
    let pages = all_pages(&store, q);
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![20, 20, 15]
    );
    let flat: Vec<String> = pages.concat();
    let mut expected: Vec<String> = (0..55).map(|i| format!("t{i:02}")).collect();
    // updated_at DESC then id DESC == id DESC here.
    expected.reverse();
    assert_eq!(flat, expected);
}

#[test]
fn pagination_stable_when_threads_are_inserted_between_pages() {
    let store = Store::open_in_memory().unwrap();
    for i in 0..55 {
        store
            .insert_thread(&thread(&format!("t{i:02}"), 1000 + i))
            .unwrap();
    }
    let mut q = ListQuery {
        limit: 20,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut extra = 0;
    loop {
        let page = store.list_threads(&q).unwrap();
        sizes.push(page.threads.len());
        seen.extend(ids(&page));
        // A new (newest) thread arrives between page fetches.
        store
            .insert_thread(&thread(&format!("new{extra}"), 5000 + extra))
            .unwrap();
        extra += 1;
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(sizes, vec![20, 20, 15]);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 55, "no duplicates");
    let expected: Vec<String> = (0..55).rev().map(|i| format!("t{i:02}")).collect();
    assert_eq!(seen, expected, "no gaps, order kept");

    // Default and capped limits.
    let page = store.list_threads(&ListQuery::default()).unwrap();
    assert_eq!(page.threads.len(), DEFAULT_LIST_LIMIT);
    assert!(page.next_cursor.is_some());
    let page = store
        .list_threads(&ListQuery {
            limit: 10_000,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.threads.len(), 55 + extra as usize);
    assert_eq!(page.next_cursor, None);
}

#[test]
fn threads_without_turns_can_be_left_out() {
    let store = Store::open_in_memory().unwrap();
    store.insert_thread(&thread("empty", 2)).unwrap();
    store.insert_thread(&thread("used", 1)).unwrap();
    store.upsert_turn(&turn("used", "u1", "completed")).unwrap();
    let ids = |with_turns| -> Vec<String> {
        let q = ListQuery {
            with_turns,
            ..Default::default()
        };
        let page = store.list_threads(&q).unwrap();
        page.threads.into_iter().map(|t| t.id).collect()
    };
    assert_eq!(ids(false), ["empty", "used"]);
    assert_eq!(ids(true), ["used"]);
}

#[test]
fn exact_page_boundary_has_no_next_cursor() {
    let store = Store::open_in_memory().unwrap();
    for i in 0..20 {
        store
            .insert_thread(&thread(&format!("t{i:02}"), i))
            .unwrap();
    }
    let page = store
        .list_threads(&ListQuery {
            limit: 20,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.threads.len(), 20);
    assert_eq!(page.next_cursor, None);
    let empty = Store::open_in_memory().unwrap();
    let page = empty.list_threads(&ListQuery::default()).unwrap();
    assert!(page.threads.is_empty());
    assert_eq!(page.next_cursor, None);
}

#[test]
fn invalid_cursor_is_an_error() {
    let store = Store::open_in_memory().unwrap();
    for c in ["", "garbage", "x:id"] {
        let q = ListQuery {
            cursor: Some(c.to_string()),
            ..Default::default()
        };
        assert!(matches!(
            store.list_threads(&q),
            Err(StoreError::InvalidCursor(_))
        ));
    }
    // Ids containing ':' round-trip through the cursor.
    for i in 0..3 {
        store
            .insert_thread(&thread(&format!("a:b:{i}"), 7))
            .unwrap();
    }
    let pages = all_pages(
        &store,
        ListQuery {
            limit: 1,
            ..Default::default()
        },
    );
    assert_eq!(pages.concat(), vec!["a:b:2", "a:b:1", "a:b:0"]);
}

#[test]
fn list_filters() {
    let store = Store::open_in_memory().unwrap();
    let mut a = thread("a", 1);
    a.preview = "Fix the Überflow bug".into();
    let mut b = thread("b", 2);
    b.cwd = "/other".into();
    b.name = Some("Refactor parser".into());
    let mut c = thread("c", 3);
    c.model_provider = "ollama".into();
    c.preview = "100% done_ok".into();
    let mut d = thread("d", 4);
    d.archived = true;
    d.preview = "archived parser work".into();
    for t in [&a, &b, &c, &d] {
        store.insert_thread(t).unwrap();
    }
    let list = |q: ListQuery| ids(&store.list_threads(&q).unwrap());

    assert_eq!(list(ListQuery::default()), vec!["c", "b", "a"]);
    assert_eq!(
        list(ListQuery {
            archived: true,
            ..Default::default()
        }),
        vec!["d"]
    );
    assert_eq!(
        list(ListQuery {
            cwd: Some("/other".into()),
            ..Default::default()
        }),
        vec!["b"]
    );
    assert_eq!(
        list(ListQuery {
            cwd: Some("/wor".into()),
            ..Default::default()
        }),
        Vec::<String>::new()
    );
    assert_eq!(
        list(ListQuery {
            model_providers: vec!["ollama".into()],
            ..Default::default()
        }),
        vec!["c"]
    );
    assert_eq!(
        list(ListQuery {
            model_providers: vec!["ollama".into(), "openai".into()],
            ..Default::default()
        }),
        vec!["c", "b", "a"]
    );
    // Search: name or preview, case-insensitive including non-ASCII, literal % and _.
    assert_eq!(
        list(ListQuery {
            search: Some("PARSER".into()),
            ..Default::default()
        }),
        vec!["b"]
    );
    assert_eq!(
        list(ListQuery {
            search: Some("überFLOW".into()),
            ..Default::default()
        }),
        vec!["a"]
    );
    assert_eq!(
        list(ListQuery {
            search: Some("0% done_".into()),
            ..Default::default()
        }),
        vec!["c"]
    );
    assert_eq!(
        list(ListQuery {
            search: Some("%".into()),
            ..Default::default()
        }),
        vec!["c"]
    );
    assert_eq!(
        list(ListQuery {
            search: Some("parser".into()),
            archived: true,
            ..Default::default()
        }),
        vec!["d"]
    );
    // Combined filters.
    assert_eq!(
        list(ListQuery {
            search: Some("parser".into()),
            cwd: Some("/work".into()),
            ..Default::default()
        }),
        Vec::<String>::new()
    );
}

#[test]
fn search_filter_paginates() {
    let store = Store::open_in_memory().unwrap();
    for i in 0..30 {
        let mut t = thread(&format!("t{i:02}"), i);
        t.preview = if i % 3 == 0 {
            "match me".into()
        } else {
            "other".into()
        };
        store.insert_thread(&t).unwrap();
    }
    let pages = all_pages(
        &store,
        ListQuery {
            limit: 4,
            search: Some("MATCH".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![4, 4, 2]
    );
    let expected: Vec<String> = (0..30)
        .rev()
        .filter(|i| i % 3 == 0)
        .map(|i| format!("t{i:02}"))
        .collect();
    assert_eq!(pages.concat(), expected);
}

#[test]
fn turns_round_trip() {
    let store = Store::open_in_memory().unwrap();
    store.insert_thread(&thread("t", 1)).unwrap();
    assert!(store.turns("t").unwrap().is_empty());
    store
        .upsert_turn(&turn("t", "turn-b", "inProgress"))
        .unwrap();
    store
        .upsert_turn(&turn("t", "turn-a", "inProgress"))
        .unwrap();
    let done = TurnRecord {
        status: "failed".into(),
        error: Some("boom".into()),
        completed_at: Some(200),
        duration_ms: Some(1234),
        ..turn("t", "turn-b", "")
    };
    store.upsert_turn(&done).unwrap();

    let turns = store.turns("t").unwrap();
    let got: Vec<&TurnRecord> = turns.iter().map(|(t, _)| t).collect();
    assert_eq!(got, vec![&done, &turn("t", "turn-a", "inProgress")]);

    assert!(matches!(
        store.upsert_turn(&turn("x", "t1", "completed")),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(store.turns("x"), Err(StoreError::NotFound(_))));
}

#[test]
fn put_item_appends_replaces_in_place_and_reindexes() {
    let store = Store::open_in_memory().unwrap();
    store.insert_thread(&thread("t", 1)).unwrap();
    store.upsert_turn(&turn("t", "u1", "inProgress")).unwrap();

    assert_eq!(
        store
            .put_item("t", "u1", &user_msg("i1", "hello world"))
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .put_item("t", "u1", &agent_msg("i2", "draft answer"))
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .put_item("t", "u1", &json!({"type": "fileChange", "id": "i3"}))
            .unwrap(),
        3
    );
    // Item of a turn not stored yet creates the turn.
    assert_eq!(
        store
            .put_item("t", "u2", &agent_msg("i4", "second turn"))
            .unwrap(),
        4
    );
    assert_eq!(fts_rows(&store), 3);

    // Replace i2: same seq, new content, FTS row replaced (count unchanged).
    assert_eq!(
        store
            .put_item("t", "u1", &agent_msg("i2", "final zebra answer"))
            .unwrap(),
        2
    );
    assert_eq!(fts_rows(&store), 3);
    assert!(store.search("draft", 10).unwrap().is_empty());
    let hits = store.search("zebra", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].item_id.as_deref(), Some("i2"));
    assert_eq!(hits[0].thread_id, "t");

    let turns = store.turns("t").unwrap();
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[0].0, turn("t", "u1", "inProgress"));
    assert_eq!(
        turns[0].1,
        vec![
            user_msg("i1", "hello world"),
            agent_msg("i2", "final zebra answer"),
            json!({"type": "fileChange", "id": "i3"}),
        ]
    );
    assert_eq!(turns[1].0.id, "u2");
    assert_eq!(turns[1].0.status, IMPLICIT_TURN_STATUS);
    assert_eq!(turns[1].1, vec![agent_msg("i4", "second turn")]);

    // Same item ids in another thread are independent.
    store.insert_thread(&thread("t2", 1)).unwrap();
    assert_eq!(
        store
            .put_item("t2", "u1", &agent_msg("i2", "other"))
            .unwrap(),
        1
    );
    assert_eq!(
        store.turns("t").unwrap()[0].1[1],
        agent_msg("i2", "final zebra answer")
    );

    // Errors.
    assert!(matches!(
        store.put_item("x", "u1", &agent_msg("i9", "x")),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.put_item("t", "u1", &json!({"type": "agentMessage"})),
        Err(StoreError::InvalidItem(_))
    ));
    assert!(matches!(
        store.put_item("t", "u1", &json!({"id": "i9"})),
        Err(StoreError::InvalidItem(_))
    ));
    assert!(matches!(
        store.put_item("t", "u1", &json!("string")),
        Err(StoreError::InvalidItem(_))
    ));
}

#[test]
fn replacing_with_unindexed_text_removes_fts_row() {
    let store = Store::open_in_memory().unwrap();
    store.insert_thread(&thread("t", 1)).unwrap();
    store.put_item("t", "u", &agent_msg("i", "")).unwrap();
    assert_eq!(fts_rows(&store), 0);
    store
        .put_item("t", "u", &agent_msg("i", "streamed text"))
        .unwrap();
    assert_eq!(fts_rows(&store), 1);
    store.put_item("t", "u", &agent_msg("i", "  ")).unwrap();
    assert_eq!(fts_rows(&store), 0);
    assert!(store.search("streamed", 10).unwrap().is_empty());
}

#[test]
fn indexed_text_per_item_type() {
    assert_eq!(
        searchable_text(&json!({"type": "userMessage", "id": "1", "content": [
            {"type": "text", "text": "a"}, {"type": "image", "url": "x"}, {"type": "text", "text": "b"}
        ]})),
        Some("a\nb".into())
    );
    assert_eq!(
        searchable_text(&json!({"type": "agentMessage", "id": "1", "text": "hi"})),
        Some("hi".into())
    );
    assert_eq!(
        searchable_text(&json!({"type": "plan", "id": "1", "text": "step"})),
        Some("step".into())
    );
    assert_eq!(
        searchable_text(
            &json!({"type": "reasoning", "id": "1", "summary": ["x", "y"], "content": ["secret"]})
        ),
        Some("x\ny".into())
    );
    assert_eq!(
        searchable_text(
            &json!({"type": "commandExecution", "id": "1", "command": "ls -la", "aggregatedOutput": "out"})
        ),
        Some("ls -la\nout".into())
    );
    assert_eq!(
        searchable_text(
            &json!({"type": "commandExecution", "id": "1", "command": "ls", "aggregatedOutput": null})
        ),
        Some("ls".into())
    );
    assert_eq!(
        searchable_text(&json!({"type": "fileChange", "id": "1"})),
        None
    );
    assert_eq!(
        searchable_text(&json!({"type": "agentMessage", "id": "1"})),
        None
    );

    // Output is capped at 8 KiB on a char boundary.
    let long = "é".repeat(10_000);
    let text = searchable_text(
        &json!({"type": "commandExecution", "id": "1", "command": "cat", "aggregatedOutput": long}),
    )
    .unwrap();
    let output = text.strip_prefix("cat\n").unwrap();
    assert!(
        output.len() <= MAX_INDEXED_OUTPUT_BYTES && output.len() > MAX_INDEXED_OUTPUT_BYTES - 4
    );
    assert!(output.chars().all(|c| c == 'é'));
}

#[test]
fn search_ranks_and_snippets() {
    let store = Store::open_in_memory().unwrap();
    store.insert_thread(&thread("t1", 1)).unwrap();
    store.insert_thread(&thread("t2", 2)).unwrap();
    store
        .put_item(
            "t1",
            "u",
            &user_msg("a", "please refactor the tokenizer module"),
        )
        .unwrap();
    store
        .put_item("t2", "u", &agent_msg("b", "tokenizer tokenizer tokenizer"))
        .unwrap();
    store
        .put_item(
            "t2",
            "u",
            &json!({"type": "commandExecution", "id": "c", "command": "cargo test",
                    "aggregatedOutput": "test result: ok. Crème brûlée passed"}),
        )
        .unwrap();
    store
        .put_item(
            "t2",
            "u",
            &json!({"type": "reasoning", "id": "r", "summary": ["Planning the migration"]}),
        )
        .unwrap();

    let hits = store.search("tokenizer", 10).unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(
        hits[0].item_id.as_deref(),
        Some("b"),
        "more occurrences rank first"
    );
    assert!(hits[0].rank >= hits[1].rank);
    assert!(
        hits[1].snippet.contains("tokenizer"),
        "{:?}",
        hits[1].snippet
    );

    // All terms must match; case and diacritics do not matter.
    let hits = store.search("REFACTOR tokenizer", 10).unwrap();
    assert_eq!(
        hits.iter()
            .map(|h| h.item_id.clone().unwrap())
            .collect::<Vec<_>>(),
        vec!["a"]
    );
    assert_eq!(
        store.search("creme brulee", 10).unwrap()[0]
            .item_id
            .as_deref(),
        Some("c")
    );
    assert_eq!(store.search("migration", 10).unwrap()[0].thread_id, "t2");
    assert!(store.search("refactor nowhere", 10).unwrap().is_empty());

    // Limits.
    for i in 0..120 {
        store
            .put_item("t1", "u", &agent_msg(&format!("m{i}"), "common word"))
            .unwrap();
    }
    assert_eq!(
        store.search("common", 0).unwrap().len(),
        DEFAULT_SEARCH_LIMIT
    );
    assert_eq!(store.search("common", 5).unwrap().len(), 5);
    assert_eq!(
        store.search("common", 1000).unwrap().len(),
        MAX_SEARCH_LIMIT
    );
}

#[test]
fn search_hostile_input_never_errors() {
    let store = Store::open_in_memory().unwrap();
    store.insert_thread(&thread("t", 1)).unwrap();
    store
        .put_item(
            "t",
            "u",
            &agent_msg(
                "a",
                "say \"hello\" AND goodbye OR not (really) 日本語 テキスト",
            ),
        )
        .unwrap();
    let inputs = [
        "",
        "   ",
        "\"",
        "\"\"",
        "\"hello",
        "*",
        "hello*",
        "AND OR NOT",
        "AND",
        "NOT hello",
        "(",
        ")",
        "(hello",
        "hello)",
        "NEAR(hello goodbye)",
        "text:hello",
        "items_fts:hello",
        "^hello",
        "-hello",
        "+",
        "{a b}",
        "a\0b",
        "\0",
        "hello\u{1}world",
        "\u{0345}",
        "\u{FEFF}hello",
        "日本語",
        "🦀 emoji",
        "'; DROP TABLE threads; --",
        "\\",
        "hello\"goodbye",
        "col : : :",
    ];
    for input in inputs {
        store
            .search(input, 10)
            .unwrap_or_else(|e| panic!("search({input:?}) failed: {e}"));
    }
    assert_eq!(store.search("\"hello\"", 10).unwrap().len(), 1);
    assert_eq!(
        store.search("AND OR NOT", 10).unwrap().len(),
        1,
        "operators are plain words"
    );
    assert_eq!(store.search("(really)", 10).unwrap().len(), 1);
    assert_eq!(store.search("日本語", 10).unwrap().len(), 1);
    assert!(store.search("*", 10).unwrap().is_empty());
    assert_eq!(store.search("hello *", 10).unwrap().len(), 1);
    assert_eq!(store.search("hello\0goodbye", 10).unwrap().len(), 1);
    assert!(store.get_thread("t").unwrap().is_some());
}

#[test]
fn history_append_and_replace() {
    let store = Store::open_in_memory().unwrap();
    store.insert_thread(&thread("t", 1)).unwrap();
    assert!(store.history("t").unwrap().is_empty());
    let h = |n: i64| json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": format!("m{n}")}]});

    store.append_history("t", &[h(1), h(2)]).unwrap();
    store.append_history("t", &[]).unwrap();
    store.append_history("t", &[h(3)]).unwrap();
    assert_eq!(store.history("t").unwrap(), vec![h(1), h(2), h(3)]);

    let summary = json!({"type": "compaction", "encrypted_content": "abc"});
    store
        .replace_history("t", &[summary.clone(), h(4)])
        .unwrap();
    assert_eq!(store.history("t").unwrap(), vec![summary.clone(), h(4)]);
    store.append_history("t", &[h(5)]).unwrap();
    assert_eq!(store.history("t").unwrap(), vec![summary, h(4), h(5)]);
    store.replace_history("t", &[]).unwrap();
    assert!(store.history("t").unwrap().is_empty());

    assert!(matches!(
        store.append_history("x", &[h(1)]),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.replace_history("x", &[h(1)]),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(store.history("x"), Err(StoreError::NotFound(_))));
}

#[test]
fn fork_copies_everything_and_is_independent() {
    let store = Store::open_in_memory().unwrap();
    let mut src = thread("src", 10);
    src.name = Some("source".into());
    src.preview = "orig".into();
    store.insert_thread(&src).unwrap();
    store.upsert_turn(&turn("src", "u1", "completed")).unwrap();
    store
        .put_item("src", "u1", &user_msg("i1", "alpha request"))
        .unwrap();
    store
        .put_item("src", "u1", &agent_msg("i2", "beta reply"))
        .unwrap();
    store
        .put_item("src", "u2", &agent_msg("i3", "gamma"))
        .unwrap();
    store
        .append_history("src", &[json!({"n": 1}), json!({"n": 2})])
        .unwrap();

    let mut new = thread("dst", 20);
    new.forked_from = Some("src".into());
    new.preview = "orig".into();
    store.fork("src", &new).unwrap();

    assert_eq!(store.get_thread("dst").unwrap(), Some(new.clone()));
    let src_turns = store.turns("src").unwrap();
    let dst_turns = store.turns("dst").unwrap();
    assert_eq!(dst_turns.len(), 2);
    for ((s, s_items), (d, d_items)) in src_turns.iter().zip(&dst_turns) {
        assert_eq!(d.thread_id, "dst");
        assert_eq!(
            TurnRecord {
                thread_id: "src".into(),
                ..d.clone()
            },
            *s
        );
        assert_eq!(s_items, d_items);
    }
    assert_eq!(store.history("dst").unwrap(), store.history("src").unwrap());
    let hits = store.search("alpha", 10).unwrap();
    let threads: HashSet<String> = hits.iter().map(|h| h.thread_id.clone()).collect();
    assert_eq!(
        threads,
        HashSet::from(["src".to_string(), "dst".to_string()])
    );

    // Independent afterwards: changes to one do not show in the other.
    assert_eq!(
        store
            .put_item("dst", "u2", &agent_msg("i4", "delta"))
            .unwrap(),
        4
    );
    store
        .put_item("dst", "u1", &agent_msg("i2", "beta edited"))
        .unwrap();
    store.append_history("dst", &[json!({"n": 3})]).unwrap();
    store
        .upsert_turn(&turn("dst", "u1", "interrupted"))
        .unwrap();
    store.set_name("dst", Some("fork")).unwrap();
    assert_eq!(store.turns("src").unwrap(), src_turns);
    assert_eq!(
        store.history("src").unwrap(),
        vec![json!({"n": 1}), json!({"n": 2})]
    );
    assert_eq!(store.get_thread("src").unwrap(), Some(src.clone()));
    assert_eq!(
        store
            .put_item("src", "u2", &agent_msg("i4", "epsilon"))
            .unwrap(),
        4
    );
    assert_eq!(store.search("delta", 10).unwrap().len(), 1);
    assert_eq!(store.search("beta", 10).unwrap().len(), 2);
    assert_eq!(store.search("edited", 10).unwrap()[0].thread_id, "dst");

    // Deleting the source leaves the fork intact.
    assert_eq!(store.prune(None, Some(1)).unwrap(), 1);
    assert_eq!(store.get_thread("src").unwrap(), None);
    assert_eq!(store.turns("dst").unwrap().len(), 2);
    assert_eq!(store.search("alpha", 10).unwrap().len(), 1);

    // Errors: missing source, duplicate target (nothing half-written).
    assert!(matches!(
        store.fork("nope", &thread("z", 1)),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.get_thread("z").unwrap(), None);
    assert!(matches!(
        store.fork("dst", &new),
        Err(StoreError::Sqlite(_))
    ));
}

#[test]
fn prune_rules() {
    let store = Store::open_in_memory().unwrap();
    for i in 0..10 {
        let id = format!("t{i}");
        let mut t = thread(&id, 100 + i);
        t.archived = i % 2 == 0;
        store.insert_thread(&t).unwrap();
        store.upsert_turn(&turn(&id, "u", "completed")).unwrap();
        store
            .put_item(&id, "u", &agent_msg("a", "prunable words"))
            .unwrap();
        store.append_history(&id, &[json!({"i": i})]).unwrap();
    }
    assert_eq!(store.prune(None, None).unwrap(), 0);
    assert_eq!(fts_rows(&store), 10);

    // updated_at < 103 -> t0, t1, t2.
    assert_eq!(store.prune(Some(103), None).unwrap(), 3);
    assert_eq!(store.get_thread("t2").unwrap(), None);
    assert!(store.get_thread("t3").unwrap().is_some());
    // Keep the newest 5 of the remaining 7 -> t3, t4 go.
    assert_eq!(store.prune(None, Some(5)).unwrap(), 2);
    let left: Vec<String> = {
        let mut all = all_pages(&store, ListQuery::default()).concat();
        all.extend(
            all_pages(
                &store,
                ListQuery {
                    archived: true,
                    ..Default::default()
                },
            )
            .concat(),
        );
        all.sort();
        all
    };
    assert_eq!(left, vec!["t5", "t6", "t7", "t8", "t9"]);
    // Both rules at once: either one deletes.
    assert_eq!(store.prune(Some(106), Some(4)).unwrap(), 1);
    assert_eq!(store.prune(Some(108), Some(3)).unwrap(), 2);
    assert_eq!(store.prune(Some(0), Some(100)).unwrap(), 0);
    assert!(store.get_thread("t8").unwrap().is_some());
    assert!(store.get_thread("t9").unwrap().is_some());
    assert_eq!(store.prune(None, Some(0)).unwrap(), 2);

    // Everything belonging to the threads is gone, search index included.
    let conn = store.conn();
    for table in ["threads", "turns", "items", "history", "items_fts"] {
        let n: i64 = conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    drop(conn);
    assert!(store.search("prunable", 10).unwrap().is_empty());
}

#[test]
fn durable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("home").join("state.db");
    {
        let store = Store::open(&path).unwrap();
        store.insert_thread(&thread("t", 1)).unwrap();
        store
            .put_item("t", "u", &agent_msg("i", "persisted text"))
            .unwrap();
        store.append_history("t", &[json!({"h": 1})]).unwrap();
        store.touch("t", 2, Some("preview"), None, None).unwrap();
        let mode: String = store
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
    let store = Store::open(&path).unwrap();
    let t = store.get_thread("t").unwrap().unwrap();
    assert_eq!((t.updated_at, t.preview.as_str()), (2, "preview"));
    assert_eq!(
        store.turns("t").unwrap()[0].1,
        vec![agent_msg("i", "persisted text")]
    );
    assert_eq!(store.history("t").unwrap(), vec![json!({"h": 1})]);
    assert_eq!(store.search("persisted", 10).unwrap().len(), 1);
    let conn = store.conn();
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!((fk, sync), (1, 1), "foreign_keys=ON, synchronous=NORMAL");
}

#[test]
fn committed_writes_visible_to_second_connection_while_first_is_open() {
    // Models a crash: the first store is never closed cleanly (leaked), yet a new opener
    // sees every committed write.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let first = Store::open(&path).unwrap();
    first.insert_thread(&thread("t", 1)).unwrap();
    first.put_item("t", "u", &agent_msg("i", "x")).unwrap();
    std::mem::forget(first);
    let second = Store::open(&path).unwrap();
    assert_eq!(second.turns("t").unwrap()[0].1.len(), 1);
    second.put_item("t", "u", &agent_msg("j", "y")).unwrap();
}

#[test]
fn concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("state.db")).unwrap());
    let handles: Vec<_> = (0..8)
        .map(|n| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let id = format!("t{n}");
                store.insert_thread(&thread(&id, n)).unwrap();
                for i in 0..50 {
                    let seq = store
                        .put_item(&id, "u", &agent_msg(&format!("i{i}"), &format!("item {i}")))
                        .unwrap();
                    assert_eq!(seq, i + 1);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    for n in 0..8 {
        let turns = store.turns(&format!("t{n}")).unwrap();
        assert_eq!(turns.len(), 1);
        let items = &turns[0].1;
        assert_eq!(items.len(), 50);
        for (i, item) in items.iter().enumerate() {
            assert_eq!(item["id"], format!("i{i}"));
        }
    }
    assert_eq!(fts_rows(&store), 400);
}

#[test]
fn schema_versioning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");

    // A pre-existing empty database (user_version 0) is migrated to the current version.
    Connection::open(&path).unwrap();
    let store = Store::open(&path).unwrap();
    store.insert_thread(&thread("t", 1)).unwrap();
    let v: i64 = store
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    drop(store);

    // Re-opening is idempotent and keeps the data.
    for _ in 0..3 {
        let store = Store::open(&path).unwrap();
        assert!(store.get_thread("t").unwrap().is_some());
    }

    // A database from a newer wright (or with a nonsense version) is refused, not misused.
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", -1).unwrap();
    drop(conn);
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::UnsupportedSchema { found: -1, .. })
    ));
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::UnsupportedSchema { found, supported })
            if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION
    ));
}

#[test]
fn fts_query_quoting() {
    assert_eq!(fts_query(""), None);
    assert_eq!(fts_query(" * ( ) \" "), None);
    assert_eq!(fts_query("a b"), Some("\"a\" \"b\"".into()));
    assert_eq!(
        fts_query("say \"hi\""),
        Some("\"say\" \"\"\"hi\"\"\"".into())
    );
    assert_eq!(fts_query("AND"), Some("\"AND\"".into()));
}

#[test]
fn delete_thread_removes_it_and_its_rows() {
    let store = Store::open_in_memory().unwrap();
    store.insert_thread(&thread("gone", 10)).unwrap();
    store.insert_thread(&thread("kept", 11)).unwrap();
    store.upsert_turn(&turn("gone", "u1", "completed")).unwrap();
    store
        .put_item("gone", "u1", &user_msg("i1", "findable needle"))
        .unwrap();
    store.upsert_turn(&turn("kept", "u2", "completed")).unwrap();
    store
        .put_item("kept", "u2", &user_msg("i2", "findable needle"))
        .unwrap();
    store.delete_thread("gone").unwrap();
    assert!(store.get_thread("gone").unwrap().is_none());
    assert!(store.get_thread("kept").unwrap().is_some());
    let hits = store.search("needle", 10).unwrap();
    assert_eq!(
        hits.iter()
            .map(|h| h.thread_id.as_str())
            .collect::<Vec<_>>(),
        ["kept"],
        "the search index still holds the deleted thread"
    );
    assert!(matches!(
        store.delete_thread("gone"),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn revert_drops_the_turn_its_successors_and_their_history() {
    let s = Store::open_in_memory().unwrap();
    s.insert_thread(&thread("t", 1)).unwrap();
    s.append_history("t", &[json!({"pinned": 1}), json!({"pinned": 2})])
        .unwrap();
    for (n, turn_id) in ["a", "b", "c"].iter().enumerate() {
        let len = s.history("t").unwrap().len();
        s.set_turn_history_start("t", turn_id, len).unwrap();
        s.upsert_turn(&turn("t", turn_id, "completed")).unwrap();
        s.put_item(
            "t",
            turn_id,
            &user_msg(&format!("u{n}"), &format!("question {n}")),
        )
        .unwrap();
        s.append_history(
            "t",
            &[json!({"turn": n, "q": 1}), json!({"turn": n, "a": 1})],
        )
        .unwrap();
    }
    assert_eq!(s.history("t").unwrap().len(), 8);
    // Without the revert every turn and its searchable text is there.
    assert_eq!(s.search("question", 10).unwrap().len(), 3);

    assert_eq!(s.revert("t", "b").unwrap(), 4);
    let turns: Vec<String> = s
        .turns("t")
        .unwrap()
        .into_iter()
        .map(|(t, _)| t.id)
        .collect();
    assert_eq!(turns, ["a"]);
    let history = s.history("t").unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(history[3], json!({"turn": 0, "a": 1}));
    assert_eq!(s.search("question", 10).unwrap().len(), 1);
    // New turns go on after what is left.
    s.set_turn_history_start("t", "d", 4).unwrap();
    s.upsert_turn(&turn("t", "d", "completed")).unwrap();
    let turns: Vec<String> = s
        .turns("t")
        .unwrap()
        .into_iter()
        .map(|(t, _)| t.id)
        .collect();
    assert_eq!(turns, ["a", "d"]);

    // Unknown turn, and a turn whose history a compaction rewrote, are refused.
    assert!(matches!(
        s.revert("t", "zz"),
        Err(StoreError::CannotRevert(_))
    ));
    s.replace_history("t", &[json!({"summary": 1})]).unwrap();
    assert!(matches!(
        s.revert("t", "d"),
        Err(StoreError::CannotRevert(_))
    ));
    assert_eq!(s.turns("t").unwrap().len(), 2);
}
