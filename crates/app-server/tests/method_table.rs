//! The README's method table is the truth: every method wright answers is listed as
//! offered, and every Codex method it does not answer is listed as not offered (those answer
//! -32601 saying so). Regenerate with `WRIGHT_PRINT_METHOD_TABLE=1 cargo test -p
//! wright-app-server --test method_table -- --nocapture`.

use wright_protocol::v2::{ClientRequest, CODEX_EXPERIMENTAL_METHODS, CODEX_STABLE_METHODS};

const BEGIN: &str =
    "<!-- method table: begin (generated; see crates/app-server/tests/method_table.rs) -->";
const END: &str = "<!-- method table: end -->";

fn expected_table() -> String {
    let offered = |m: &str| ClientRequest::METHODS.contains(&m);
    let mut rows = vec![
        "| Method | In Codex | wright |".to_string(),
        "|---|---|---|".to_string(),
    ];
    let mut listed: Vec<&str> = Vec::new();
    for (kind, methods) in [
        ("stable", CODEX_STABLE_METHODS),
        ("experimental", CODEX_EXPERIMENTAL_METHODS),
    ] {
        for m in methods {
            // Codex's experimental methods are listed only where wright offers them.
            if kind == "experimental" && !offered(m) {
                continue;
            }
            let answer = if offered(m) { "yes" } else { "no (-32601)" };
            rows.push(format!("| `{m}` | {kind} | {answer} |"));
            listed.push(m);
        }
    }
    for m in ClientRequest::METHODS {
        if !listed.contains(m) {
            rows.push(format!("| `{m}` | no | yes |"));
        }
    }
    rows.join("\n")
}

#[test]
fn readme_lists_what_wright_offers() {
    let expected = expected_table();
    if std::env::var_os("WRIGHT_PRINT_METHOD_TABLE").is_some() {
        println!("{BEGIN}\n{expected}\n{END}");
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let start = readme.find(BEGIN).expect("the README has no method table") + BEGIN.len();
    let end = readme[start..]
        .find(END)
        .expect("the method table is not closed")
        + start;
    assert_eq!(
        readme[start..end].trim(),
        expected,
        "the README's method table is out of date; regenerate it (see this file's header)"
    );
    // Sanity: the table says yes to what dispatch answers, and no to something Codex has.
    assert!(expected.contains("| `thread/start` | stable | yes |"));
    assert!(expected.contains("no (-32601)"));
}
