//! `wright bench local`: how fast a model loads and runs here.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll, Wake};
use std::time::{Duration, Instant};

use serde_json::json;
use wright_models::{ApiError, Prompt, ResponseStream};

use crate::{Engine, EngineConfig, GenOptions, RequestStats};

/// What [`bench`] measured.
#[derive(Debug, Clone)]
pub struct BenchFigures {
    pub model: PathBuf,
    pub name: Option<String>,
    pub n_ctx: u32,
    pub threads: usize,
    /// The CPU features llama.cpp was built to use (`AVX2 FMA ...`): prompt speed depends on
    /// them, and a build for a portable baseline leaves this CPU's wider vectors unused.
    pub cpu_features: String,
    /// The first load in this process (the file may or may not be in the page cache yet).
    pub load_first: Duration,
    /// A second load of the same file, now in the page cache: what a user waits for normally.
    pub load_warm: Duration,
    /// Tokens of the benchmark prompt, all evaluated (empty KV cache).
    pub prompt_tokens: usize,
    pub prompt_tokens_per_s: f64,
    /// From the request to the first token, for that prompt.
    pub time_to_first_token: Duration,
    pub generated_tokens: usize,
    pub generation_tokens_per_s: f64,
    /// Of each generated token's time, the part spent in llama.cpp's decode; the rest is
    /// sampling and the engine's own work.
    pub decode_per_token: Duration,
    pub overhead_per_token: Duration,
    /// The next step of the conversation (the reply and a new user message appended): tokens
    /// evaluated, and the time to its first token, with the KV cache reused.
    pub step_evaluated_tokens: usize,
    pub step_cached_tokens: usize,
    pub step_time_to_first_token: Duration,
    /// The process's peak resident memory, if the system tells.
    pub peak_rss_bytes: Option<u64>,
}

impl fmt::Display for BenchFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        writeln!(
            f,
            "model             {} ({})",
            self.model.display(),
            self.name.as_deref().unwrap_or("unnamed")
        )?;
        writeln!(
            f,
            "context           {} tokens, {} threads",
            self.n_ctx, self.threads
        )?;
        writeln!(f, "cpu features      {}", self.cpu_features)?;
        writeln!(
            f,
            "load              {:.0} ms warm ({:.0} ms first)",
            ms(self.load_warm),
            ms(self.load_first)
        )?;
        writeln!(
            f,
            "prompt            {:.1} tok/s ({} tokens)",
            self.prompt_tokens_per_s, self.prompt_tokens
        )?;
        writeln!(
            f,
            "first token       {:.0} ms",
            ms(self.time_to_first_token)
        )?;
        writeln!(
            f,
            "generation        {:.1} tok/s ({} tokens; per token {:.1} ms decode, {:.1} ms sampling)",
            self.generation_tokens_per_s,
            self.generated_tokens,
            ms(self.decode_per_token),
            ms(self.overhead_per_token)
        )?;
        writeln!(
            f,
            "next step         {:.0} ms to first token ({} tokens evaluated, {} reused)",
            ms(self.step_time_to_first_token),
            self.step_evaluated_tokens,
            self.step_cached_tokens
        )?;
        match self.peak_rss_bytes {
            Some(b) => write!(f, "peak RSS          {} MB", b / (1024 * 1024)),
            None => write!(f, "peak RSS          unknown"),
        }
    }
}

/// Loads the model at `path` twice, runs a prompt of about a thousand tokens, generates 128
/// tokens and takes one more conversation step. Blocking (minutes at most): call it from a
/// thread that may block.
pub fn bench(path: &Path) -> Result<BenchFigures, ApiError> {
    bench_with(path, EngineConfig::default())
}

/// [`bench`] with a configuration of its own.
pub fn bench_with(path: &Path, config: EngineConfig) -> Result<BenchFigures, ApiError> {
    let threads = config
        .n_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let started = Instant::now();
    let engine = Engine::load(path, config.clone())?;
    let load_first = started.elapsed();
    engine.close();
    let started = Instant::now();
    let engine = Engine::load(path, config)?;
    let load_warm = started.elapsed();

    let mut prompt = bench_prompt();
    let options = GenOptions {
        max_output_tokens: 129,
        ignore_eos: true,
        ..GenOptions::default()
    };
    let (reply, first) = run(&engine, &prompt, options)?;
    prompt
        .input
        .push(json!({"type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": reply}]}));
    prompt.input.push(json!({"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "Now add type hints everywhere."}]}));
    let step_options = GenOptions {
        max_output_tokens: 1,
        ..GenOptions::default()
    };
    let (_, step) = run(&engine, &prompt, step_options)?;

    let secs = |d: Duration| d.as_secs_f64().max(1e-9);
    let decode_steps = first.sampled_tokens.saturating_sub(1);
    let per_step = |d: Duration| d / decode_steps.max(1) as u32;
    Ok(BenchFigures {
        model: path.to_path_buf(),
        name: engine.info().name.clone(),
        n_ctx: engine.info().n_ctx,
        threads,
        cpu_features: cpu_features(),
        load_first,
        load_warm,
        prompt_tokens: first.prompt_tokens,
        prompt_tokens_per_s: first.evaluated_tokens as f64 / secs(first.prompt_time),
        time_to_first_token: first.time_to_first_token.unwrap_or_default(),
        generated_tokens: first.sampled_tokens,
        generation_tokens_per_s: decode_steps as f64 / secs(first.generation_time),
        decode_per_token: per_step(first.generation_decode_time),
        overhead_per_token: per_step(
            first
                .generation_time
                .saturating_sub(first.generation_decode_time),
        ),
        step_evaluated_tokens: step.evaluated_tokens,
        step_cached_tokens: step.cached_tokens,
        step_time_to_first_token: step.time_to_first_token.unwrap_or_default(),
        peak_rss_bytes: peak_rss(),
    })
}

/// Runs one request to its end; returns the streamed text and the request's figures.
fn run(
    engine: &Engine,
    prompt: &Prompt,
    options: GenOptions,
) -> Result<(String, RequestStats), ApiError> {
    let stream = engine.stream_with(prompt, options)?;
    let text = block_on(drain(stream))?;
    // The engine files a request's figures before it lets go of the stream, and this engine
    // serves no one else.
    let stats = engine
        .recent_stats()
        .pop()
        .ok_or_else(|| ApiError::fatal("the benchmark request left no figures"))?;
    Ok((text, stats))
}

async fn drain(mut stream: ResponseStream) -> Result<String, ApiError> {
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(wright_models::ResponseEvent::OutputTextDelta { delta, .. }) => {
                text.push_str(&delta)
            }
            Ok(_) => {}
            // The benchmark stops generation by length on purpose.
            Err(wright_models::StreamError::Incomplete(_)) => {}
            Err(e) => return Err(ApiError::fatal(format!("benchmark request failed: {e}"))),
        }
    }
    Ok(text)
}

/// Polls a future on this thread (the stream's channel needs no runtime).
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(Unpark(std::thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// `VmHWM` of this process (Linux).
/// The features llama.cpp reports as used (`AVX2 = 1` in its system info), space-separated.
fn cpu_features() -> String {
    // SAFETY: llama.cpp returns a pointer to a static, NUL-terminated string.
    let info = unsafe { std::ffi::CStr::from_ptr(llama_cpp_sys_2::llama_print_system_info()) }
        .to_string_lossy()
        .into_owned();
    let features: Vec<&str> = info
        .split('|')
        .filter_map(|part| {
            let (name, value) = part.split_once('=')?;
            // The first entry carries the backend's name: `CPU : SSE3 = 1`.
            let name = name.rsplit(':').next().unwrap_or(name).trim();
            (value.trim() == "1").then_some(name)
        })
        .filter(|name| !name.is_empty())
        .collect();
    if features.is_empty() {
        "none reported".into()
    } else {
        features.join(" ")
    }
}

fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A coding-agent-like prompt of about a thousand tokens.
fn bench_prompt() -> Prompt {
    let mut instructions = String::from(
        "You are a coding agent working in a terminal. You read files, run commands and edit \
         code to finish the user's task, then you say briefly what you did.\n\n",
    );
    let topics = [
        ("Reading code", "Read the files that matter before changing anything; prefer searching with rg over listing whole trees; open a file in full only when its size allows."),
        ("Running commands", "Run the project's own test command after each change; read failures from the top; do not retry a failing command without changing something first."),
        ("Editing", "Keep edits small and focused on the task; keep the existing style, naming and formatting; never reformat code you did not change."),
        ("Tests", "Add a test that fails without your change and passes with it; name tests for the behaviour they check; keep them fast and deterministic."),
        ("Errors", "Handle errors where they can be handled and pass them on with context otherwise; never swallow an error silently; messages say what failed and why."),
        ("Safety", "Never delete files you did not create unless the task says so; ask before running commands that reach the network or change the system."),
        ("Answers", "Answer in plain words; show file paths and commands exactly; when something is left undone, say what and why."),
    ];
    for round in 0..3 {
        for (i, (title, body)) in topics.iter().enumerate() {
            instructions.push_str(&format!("## {title} ({}.{})\n{body}\n\n", round + 1, i + 1));
        }
    }
    Prompt {
        model: "local".into(),
        instructions,
        input: vec![
            json!({"type": "message", "role": "user", "content": [{"type": "input_text",
            "text": "Write a Python module with a singly linked list class: insert, delete, search and reverse, each with a docstring, and unit tests for each method."}]}),
        ],
        tools: Vec::new(),
        parallel_tool_calls: false,
        reasoning: None,
        output_schema: None,
        prompt_cache_key: "bench".into(),
    }
}
