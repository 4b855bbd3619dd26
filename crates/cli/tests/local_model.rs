//! The embedded model end to end: `wright exec` with no provider and no key runs the pulled
//! Qwen2.5-Coder-0.5B inside the process and completes a small task in a fixture repository.
//! Needs the `local` feature and the model in `$WRIGHT_MODELS_DIR` (scripts/test fetches it);
//! under CI a missing model fails the test instead of skipping it.

use std::path::PathBuf;
use std::process::Command;

fn models_dir() -> PathBuf {
    wright_model_store::ModelStore::from_env()
        .expect("a models directory")
        .dir()
        .to_path_buf()
}

/// The model's path, or `None` (after saying why) when it is absent outside CI.
#[cfg(feature = "local")]
fn model(name: &str) -> Option<PathBuf> {
    let path = models_dir().join(format!("{name}.gguf"));
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "{} is missing; fetch it with `wright models pull {name}` (WRIGHT_MODELS_DIR={})",
        path.display(),
        models_dir().display()
    );
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("skipped: {why}");
    None
}

fn wright(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wright"));
    cmd.env("WRIGHT_HOME", home)
        .env("WRIGHT_MODELS_DIR", models_dir())
        // Nothing else configured: the embedded model is the default.
        .env_remove("OPENAI_API_KEY")
        .env_remove("CODEX_API_KEY")
        .env_remove("OPENAI_BASE_URL");
    cmd
}

fn git_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir.path())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    dir
}

#[test]
#[cfg(feature = "local")]
fn exec_completes_a_small_task_on_the_embedded_model() {
    let Some(_) = model("qwen2.5-coder-0.5b") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let repo = git_repo();
    let out = wright(home.path())
        .args(["exec", "--full-auto", "--json", "-C"])
        .arg(repo.path())
        .arg("Create a file named greeting.txt whose content is the single word hello. Then reply done.")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The events say why a turn failed (seen once in CI, on a loaded machine).
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stderr}\n--- events\n{stdout}");
    // Said once, naming the model.
    assert_eq!(
        stderr
            .matches("the embedded model qwen2.5-coder-0.5b runs")
            .count(),
        1,
        "{stderr}"
    );
    let written = std::fs::read_to_string(repo.path().join("greeting.txt")).unwrap_or_default();
    assert!(
        written.to_lowercase().contains("hello"),
        "greeting.txt: {written:?}\n{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"type\":\"file_change\""), "{stdout}");
    assert!(stdout.contains("\"turn.completed\""), "{stdout}");
}

#[test]
fn without_the_model_a_run_names_the_pull_and_exits_1() {
    let home = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let repo = git_repo();
    let out = wright(home.path())
        .env("WRIGHT_MODELS_DIR", empty.path())
        .args(["exec", "-C"])
        .arg(repo.path())
        .arg("hi")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    if cfg!(feature = "local") {
        assert!(
            stderr.contains("wright models pull qwen2.5-coder-0.5b"),
            "{stderr}"
        );
    } else {
        assert!(stderr.contains("built without it"), "{stderr}");
    }
    // Nothing was fetched unasked.
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}
