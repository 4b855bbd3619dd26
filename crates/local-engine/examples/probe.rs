//! Sends one prompt (with wright's `shell` tool declared) to a model and prints what comes
//! back, for trying the engine by hand:
//! `cargo run --release -p wright-local-engine --example probe -- MODEL.gguf "list the files"`.

use serde_json::json;
use wright_local_engine::{Engine, EngineConfig, GenOptions};
use wright_models::{Prompt, ResponseEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(task)) = (args.next(), args.next()) else {
        eprintln!("usage: probe MODEL.gguf TASK [OUTPUT-OF-A-FIRST-CALL]");
        std::process::exit(2);
    };
    let engine = match Engine::load(std::path::Path::new(&path), EngineConfig::default()) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("probe: {e}");
            std::process::exit(1);
        }
    };
    let shell = json!({"type": "function", "name": "shell",
        "description": "Runs a command and returns its output.",
        "parameters": {"type": "object", "properties": {
            "command": {"type": "array", "items": {"type": "string"}, "description": "Program and arguments."}},
            "required": ["command"], "additionalProperties": false}});
    let mut input = vec![json!({"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": task}]})];
    if let Some(output) = args.next() {
        input.push(
            json!({"type": "function_call", "call_id": "call_1", "name": "shell",
            "arguments": "{\"command\": [\"ls\"]}"}),
        );
        input.push(json!({"type": "function_call_output", "call_id": "call_1", "output": output}));
    }
    let prompt = Prompt {
        model: "local".into(),
        instructions: "You are a coding agent. Use the shell tool to inspect and change files; \
                       answer briefly when done."
            .into(),
        input,
        tools: vec![shell],
        parallel_tool_calls: false,
        reasoning: None,
        output_schema: None,
        prompt_cache_key: "probe".into(),
    };
    let mut stream = match engine.stream_with(&prompt, GenOptions::default()) {
        Ok(stream) => stream,
        Err(e) => {
            eprintln!("probe: {e}");
            std::process::exit(1);
        }
    };
    while let Some(event) = stream.next().await {
        match event {
            Ok(ResponseEvent::OutputTextDelta { delta, .. }) => eprint!("{delta}"),
            Ok(other) => println!("\n{other:?}"),
            Err(e) => println!("\nerror: {e}"),
        }
    }
    if let Some(stats) = engine.recent_stats().pop() {
        println!("{stats:?}");
    }
}
