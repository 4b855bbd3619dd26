//! Runs one prompt (a JSON file: {"instructions", "input", "tools"}) several times with
//! different seeds and prints each reply's start, for comparing prompts and sampling settings:
//! `trial MODEL.gguf PROMPT.json [RUNS]` (WRIGHT_LOCAL_SAMPLING applies).
use wright_local_engine::{Engine, EngineConfig, GenOptions};
use wright_models::{Prompt, ResponseEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(model), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: trial MODEL.gguf PROMPT.json [RUNS]");
        std::process::exit(2);
    };
    let runs: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(3);
    let body: serde_json::Value = match std::fs::read_to_string(&file)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("trial: {file}: {e}");
            std::process::exit(2);
        }
    };
    let engine = Engine::load(std::path::Path::new(&model), EngineConfig::default())
        .unwrap_or_else(|e| {
            eprintln!("trial: {e}");
            std::process::exit(1)
        });
    let list = |k: &str| body[k].as_array().cloned().unwrap_or_default();
    let prompt = Prompt {
        model: "local".into(),
        instructions: body["instructions"].as_str().unwrap_or_default().into(),
        input: list("input"),
        tools: list("tools"),
        parallel_tool_calls: false,
        reasoning: None,
        output_schema: None,
        prompt_cache_key: "trial".into(),
    };
    for run in 0..runs {
        let mut options = GenOptions::default().with_env_overrides();
        options.seed = options.seed.wrapping_add(run);
        options.max_output_tokens = options.max_output_tokens.min(300);
        options.force_tool_call = std::env::var_os("TRIAL_FORCE").is_some();
        options.prefill = std::env::var("TRIAL_PREFILL").unwrap_or_default();
        let mut stream = match engine.stream_with(&prompt, options) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("trial: {e}");
                std::process::exit(1);
            }
        };
        let mut out = String::new();
        while let Some(event) = stream.next().await {
            match event {
                Ok(ResponseEvent::OutputItemDone(item)) if item["type"] == "function_call" => {
                    out.push_str(&format!(" CALL {} {}", item["name"], item["arguments"]))
                }
                Ok(ResponseEvent::OutputItemDone(item)) => {
                    out.push_str(&format!(" TEXT {}", item["content"][0]["text"]))
                }
                Ok(_) => {}
                Err(e) => out.push_str(&format!(" ERROR {e}")),
            }
        }
        let out: String = out.chars().take(400).collect();
        println!("run {run}:{out}");
    }
}
