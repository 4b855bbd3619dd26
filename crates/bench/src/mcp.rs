//! MCP: what configured servers cost a run that does not use them yet (time from process
//! start to the first model request, with three servers of which one never answers), and what
//! a 100-tool catalogue costs the prompt with and without `tool_search`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use wright_mock_model::{MockModel, OutputItem, Script, Step};

pub struct Figures {
    /// Start → first request, no servers and three servers, interleaved runs (ms).
    pub first_request_none: Vec<f64>,
    pub first_request_three: Vec<f64>,
    /// Bytes of the request after the 100-tool server is ready: (window, tools bytes, body
    /// bytes, MCP tools declared, tool_search offered).
    pub catalogue: Vec<CatalogueRow>,
}

pub struct CatalogueRow {
    pub context_window: u64,
    pub tools_bytes: usize,
    pub body_bytes: usize,
    pub declared: usize,
    pub tool_search: bool,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mcp")
}

fn server(name: &str, script: &str, args: &[&str]) -> String {
    let mut argv = vec![format!("\"{}\"", fixtures().join(script).display())];
    argv.extend(args.iter().map(|a| format!("\"{a}\"")));
    format!(
        "[mcp_servers.{name}]\ncommand = \"python3\"\nargs = [{}]\nstartup_timeout_sec = 30\n",
        argv.join(", ")
    )
}

/// One `wright exec --json` run: returns start → first request, and the recorded requests.
fn run(
    bin: &Path,
    runtime: &tokio::runtime::Runtime,
    extra_config: &str,
    script: impl Fn(usize) -> Step + Send + Sync + 'static,
) -> anyhow::Result<(Duration, Vec<Value>)> {
    let first: Arc<OnceLock<Instant>> = Arc::default();
    let seen = Arc::clone(&first);
    let answer = Arc::new(move |index: usize, _: &Value| {
        if index == 0 {
            let _ = seen.set(Instant::now());
        }
        script(index)
    });
    let mock = runtime.block_on(MockModel::start(Script::Dynamic(answer)))?;
    let home = tempfile::tempdir()?;
    let repo = tempfile::tempdir()?;
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "model_provider = \"mock\"\n{extra_config}\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\n",
            mock.base_url()
        ),
    )?;
    let started = Instant::now();
    let output = Command::new(bin)
        .args([
            "exec",
            "--json",
            "--skip-git-repo-check",
            "-s",
            "danger-full-access",
            "-C",
        ])
        .arg(repo.path())
        .arg("hi")
        .env("WRIGHT_HOME", home.path())
        .env("HOME", home.path())
        .env_remove("OPENAI_API_KEY")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    if !output.status.success() {
        bail!(
            "wright failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let at = first.get().context("the mock never saw a request")?;
    let requests = mock.requests().iter().map(|r| r.json()).collect();
    Ok((at.duration_since(started), requests))
}

pub fn measure(
    bin: &Path,
    runtime: &tokio::runtime::Runtime,
    runs: usize,
) -> anyhow::Result<Figures> {
    let three = format!(
        "{}{}{}",
        server("one", "broken_server.py", &["ok"]),
        server("two", "broken_server.py", &["ok"]),
        server("stuck", "broken_server.py", &["hang-start"]),
    );
    let reply = |_: usize| Step::message("done");
    // Warm-up, then interleaved so drift in the machine's load hits both alike.
    run(bin, runtime, "", reply)?;
    let mut none = Vec::new();
    let mut with = Vec::new();
    for _ in 0..runs {
        none.push(ms(run(bin, runtime, "", reply)?.0));
        with.push(ms(run(bin, runtime, &three, reply)?.0));
    }

    // The catalogue is offered once the server is ready: the first reply is held back a
    // moment and asks for a command, so the second request is the one measured.
    let mut catalogue = Vec::new();
    for window in [1_000_000u64, 128_000] {
        let config = format!(
            "model_context_window = {window}\n{}",
            server("tracker", "many_tools.py", &["100"])
        );
        let (_, requests) = run(bin, runtime, &config, |i| match i {
            0 => Step::Delay {
                ms: 1500,
                then: Box::new(Step::calls(vec![OutputItem::function(
                    "exec_command",
                    json!({"cmd": "true"}),
                )])),
            },
            _ => Step::message("done"),
        })?;
        let body = requests.get(1).context("no second request")?;
        let tools = body["tools"].as_array().cloned().unwrap_or_default();
        catalogue.push(CatalogueRow {
            context_window: window,
            tools_bytes: Value::Array(tools.clone()).to_string().len(),
            body_bytes: body.to_string().len(),
            declared: tools
                .iter()
                .filter(|t| t["name"].as_str().is_some_and(|n| n.starts_with("mcp__")))
                .count(),
            tool_search: tools.iter().any(|t| t["type"] == "tool_search"),
        });
    }
    Ok(Figures {
        first_request_none: none,
        first_request_three: with,
        catalogue,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
