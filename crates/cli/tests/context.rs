//! The context engine through the real binary: AGENTS.md layers, compaction and overflow
//! recovery.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{exec_call, Env};
use serde_json::Value;
use wright_mock_model::{Script, Step};

const COMPACT_MARK: &str = "You are performing a CONTEXT CHECKPOINT COMPACTION";
const SUMMARY_MARK: &str = "Another language model started to solve this problem";
const BIG_OUTPUT: &str = "yes 0123456789abcdef | head -c 50000";

fn input(body: &Value) -> &Vec<Value> {
    body["input"].as_array().unwrap()
}

fn texts(body: &Value) -> Vec<String> {
    input(body)
        .iter()
        .flat_map(|i| {
            let mut out: Vec<String> = i["content"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|p| p["text"].as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(o) = i["output"].as_str() {
                out.push(o.to_string());
            }
            out
        })
        .collect()
}

fn is_compaction(body: &Value) -> bool {
    texts(body)
        .last()
        .is_some_and(|t| t.starts_with(COMPACT_MARK))
}

/// Main requests get `steps` in order; compaction requests get `on_compact`.
fn scripted(steps: Vec<Step>, on_compact: Step) -> Script {
    let main = Arc::new(AtomicUsize::new(0));
    Script::Dynamic(Arc::new(move |_, body| {
        if is_compaction(body) {
            return on_compact.clone();
        }
        let i = main.fetch_add(1, Ordering::SeqCst);
        steps
            .get(i)
            .cloned()
            .unwrap_or_else(|| Step::message("script ran out"))
    }))
}

fn write(path: &std::path::Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn agents_md_layers_in_codex_order() {
    let env = Env::new(vec![Step::message("ok")]).await;
    let repo = env.repo().to_path_buf();
    write(&env.home.path().join("AGENTS.md"), "GLOBAL-RULE\n");
    write(
        &repo.join("AGENTS.md"),
        "# Repository guidelines\n\n- PROJECT-RULE-1\n",
    );
    write(
        &repo.join("services/AGENTS.md"),
        "shadowed by the override\n",
    );
    write(
        &repo.join("services/AGENTS.override.md"),
        "SERVICES-OVERRIDE\n",
    );
    write(
        &repo.join("services/api/CLAUDE.md"),
        "# API service rules\n",
    );
    let cwd = repo.join("services/api");
    let run = env
        .exec(&[
            "--json",
            "-C",
            cwd.to_str().unwrap(),
            "-c",
            "project_doc_fallback_filenames=[\"CLAUDE.md\"]",
            "What rules apply here?",
        ])
        .await;
    run.assert_ok();
    let body = &env.bodies()[0];
    let items = input(body);
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["role"], "developer");
    assert!(items[0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("<permissions instructions>\n"));
    assert_eq!(items[1]["role"], "user");
    assert_eq!(
        items[1]["content"][0]["text"],
        format!(
            "# AGENTS.md instructions for {}\n\n<INSTRUCTIONS>\nGLOBAL-RULE\n\n\n# Repository guidelines\n\n- PROJECT-RULE-1\n\n\nSERVICES-OVERRIDE\n\n\n# API service rules\n\n</INSTRUCTIONS>",
            cwd.display()
        )
    );
    let env_ctx = items[1]["content"][1]["text"].as_str().unwrap();
    assert!(
        env_ctx.starts_with("<environment_context>\n  <cwd>"),
        "{env_ctx}"
    );
    assert!(env_ctx.contains("<current_date>"), "{env_ctx}");
    assert_eq!(items[2]["content"][0]["text"], "What rules apply here?");
    assert!(body["instructions"]
        .as_str()
        .unwrap()
        .starts_with("You are wright"));
}

#[tokio::test]
async fn big_outputs_trigger_compaction_that_keeps_the_pinned_layers() {
    let script = scripted(
        vec![
            Step::calls(vec![exec_call(BIG_OUTPUT)]),
            Step::calls(vec![exec_call(BIG_OUTPUT)]),
            Step::calls(vec![exec_call(BIG_OUTPUT)]),
            Step::message("All three outputs read."),
        ],
        Step::message("SUMMARY: three big outputs were read; nothing left but to report."),
    );
    let env = Env::with_config(script, "responses", "").await;
    write(
        &env.repo().join("AGENTS.md"),
        "- PROJECT-RULE-1: keep it short\n",
    );
    let run = env
        .exec(&[
            "--json",
            "-c",
            "model_auto_compact_token_limit=20000",
            "Read three big outputs",
        ])
        .await;
    run.assert_ok();
    let last_message = run.items("item.completed").last().unwrap().clone();
    assert_eq!(last_message["text"], "All three outputs read.");

    let bodies = env.bodies();
    let compactions: Vec<usize> = (0..bodies.len())
        .filter(|&i| is_compaction(&bodies[i]))
        .collect();
    assert!(!compactions.is_empty(), "no compaction request was made");
    let first = compactions[0];
    // The compaction request is the previous request plus the prompt: same tools, same prefix.
    let before = &bodies[first - 1];
    assert_eq!(bodies[first]["tools"], before["tools"]);
    assert_eq!(bodies[first]["instructions"], before["instructions"]);
    assert!(input(&bodies[first]).starts_with(input(before)));

    let after = &bodies[first + 1];
    let after_texts = texts(after);
    assert_eq!(
        input(after)[..2],
        input(&bodies[0])[..2],
        "pinned layers changed"
    );
    assert!(after_texts.iter().any(|t| t.contains("PROJECT-RULE-1")));
    assert!(after_texts
        .iter()
        .any(|t| t.starts_with("<environment_context>")));
    assert!(after_texts.iter().any(|t| t == "Read three big outputs"));
    assert!(after_texts
        .iter()
        .any(|t| t.starts_with(SUMMARY_MARK) && t.ends_with("nothing left but to report.")));
    let size_before = serde_json::to_string(before).unwrap().len();
    let size_after = serde_json::to_string(after).unwrap().len();
    assert!(
        size_after * 2 < size_before,
        "{size_after} vs {size_before}"
    );
}

#[tokio::test]
async fn context_length_exceeded_once_compacts_and_retries() {
    let script = scripted(
        vec![
            Step::Failed {
                code: "context_length_exceeded".into(),
                message: "Your input exceeds the context window of this model.".into(),
            },
            Step::message("Answered after compaction."),
        ],
        Step::message("SUMMARY: the user asked a question."),
    );
    let env = Env::with_config(script, "responses", "").await;
    let run = env.json("A question").await;
    run.assert_ok();
    assert!(!run.stdout.contains("\"turn.failed\""));
    let bodies = env.bodies();
    assert_eq!(bodies.len(), 3);
    assert!(is_compaction(&bodies[1]));
    assert!(texts(&bodies[2])
        .iter()
        .any(|t| t.starts_with(SUMMARY_MARK)));
    assert_eq!(
        run.items("item.completed").last().unwrap()["text"],
        "Answered after compaction."
    );
}

#[tokio::test]
async fn failed_summary_falls_back_to_a_deterministic_reduction() {
    let script = scripted(
        vec![
            Step::calls(vec![exec_call(BIG_OUTPUT)]),
            Step::calls(vec![exec_call(BIG_OUTPUT)]),
            Step::calls(vec![exec_call(BIG_OUTPUT)]),
            Step::message("Done anyway."),
        ],
        Step::HttpError {
            status: 400,
            body: None,
            retry_after: None,
        },
    );
    let env = Env::with_config(script, "responses", "").await;
    write(&env.repo().join("AGENTS.md"), "- PROJECT-RULE-1\n");
    let run = env
        .exec(&[
            "--json",
            "-c",
            "model_auto_compact_token_limit=20000",
            "Read",
        ])
        .await;
    run.assert_ok();
    let bodies = env.bodies();
    let first = (0..bodies.len())
        .find(|&i| is_compaction(&bodies[i]))
        .unwrap();
    let after = &bodies[first + 1];
    let after_texts = texts(after);
    assert!(after_texts.iter().any(|t| t.contains("PROJECT-RULE-1")));
    assert!(after_texts
        .iter()
        .any(|t| t.contains("[output shortened when the context was compacted]")));
    // Every call kept its output.
    let items = input(after);
    for item in items.iter().filter(|i| i["type"] == "function_call") {
        assert!(items
            .iter()
            .any(|o| o["type"] == "function_call_output" && o["call_id"] == item["call_id"]));
    }
    assert_eq!(
        run.items("item.completed").last().unwrap()["text"],
        "Done anyway."
    );
}

#[tokio::test]
async fn compact_command_compacts_now() {
    let script = scripted(vec![], Step::message("SUMMARY: nothing yet."));
    let env = Env::with_config(script, "responses", "").await;
    let run = env.json("/compact").await;
    run.assert_ok();
    assert_eq!(
        run.types(),
        ["thread.started", "turn.started", "turn.completed"]
    );
    let bodies = env.bodies();
    assert_eq!(bodies.len(), 1);
    assert!(is_compaction(&bodies[0]));
}
