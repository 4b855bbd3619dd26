//! `wright-mock-model --script FILE [--port N] [--log FILE]`
//!
//! Serves a scripted reply sequence for out-of-process clients (e.g. the Codex SDK
//! test). Prints the base URL once listening, then serves until killed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use wright_mock_model::{MockModel, Script, ServeOptions, Step};

#[derive(serde::Deserialize)]
struct ScriptFile {
    steps: Vec<Step>,
    /// What `GET /v1/models` lists.
    #[serde(default)]
    models: Option<Vec<String>>,
}

const USAGE: &str =
    "usage: wright-mock-model --script FILE [--port N] [--log FILE] [--check-tools]";

fn parse_args() -> anyhow::Result<(PathBuf, ServeOptions)> {
    let mut script = None;
    let mut options = ServeOptions::default();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy().into_owned();
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.into())),
            None => (arg, None),
        };
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if flag == "--check-tools" {
            options.check_tools = true;
            continue;
        }
        let value: std::ffi::OsString = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => bail!("{flag} needs a value\n{USAGE}"),
        };
        match flag.as_str() {
            "--script" => script = Some(PathBuf::from(value)),
            "--log" => options.log = Some(PathBuf::from(value)),
            "--port" => {
                options.port = value
                    .to_string_lossy()
                    .parse()
                    .with_context(|| format!("invalid --port {value:?}"))?;
            }
            _ => bail!("unknown argument {flag}\n{USAGE}"),
        }
    }
    let script = script.with_context(|| format!("--script is required\n{USAGE}"))?;
    Ok((script, options))
}

#[tokio::main]
async fn main() {
    // Print the error chain only: callers are test harnesses reading stderr, not developers.
    if let Err(err) = run().await {
        eprintln!("wright-mock-model: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let (script_path, options) = parse_args()?;
    let text = std::fs::read_to_string(&script_path)
        .with_context(|| format!("reading {}", script_path.display()))?;
    let file: ScriptFile = serde_json::from_str(&text)
        .with_context(|| format!("parsing {}", script_path.display()))?;
    let options = ServeOptions {
        models: file.models,
        ..options
    };
    let server = MockModel::start_with(Script::Steps(file.steps), options)
        .await
        .context("starting the mock server")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", server.base_url())?;
    stdout.flush()?;
    drop(stdout);
    std::future::pending::<()>().await;
    Ok(())
}
