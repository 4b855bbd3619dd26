//! The embedded local model: a GGUF model run by llama.cpp inside wright's own process,
//! behind [`wright_models::LocalEngine`].
//!
//! One [`Engine`] per model file owns a thread of its own with the model and one llama.cpp
//! context. Requests queue and run one at a time on that thread; the context (its KV cache)
//! stays between requests, so a request whose rendered prompt starts like the previous one
//! (the next step of a turn, the next turn of a thread) evaluates only the new tokens.
//!
//! The prompt is rendered with the GGUF's own chat template (llama.cpp's
//! `llama_chat_apply_template`); tools and tool calls use the Hermes format of Qwen2.5 (see
//! [`prompt`]). Free text is sampled freely; once the model opens a call (`<tool_call>`, or the
//! bare JSON small models write instead, see [`text`]) the tokens of that opening are taken
//! back, `<tool_call>\n` is written in, and the rest is sampled under a grammar built from the
//! declared tools' schemas (see [`grammar`]), so a call is always valid JSON naming a declared
//! tool with the arguments its schema requires.
//!
//! Defaults that matter for a 2-core machine with 24 GB (see [`EngineConfig`]): 32k context
//! (capped by the model's), an 8-bit KV cache (192 MB instead of 384 MB for Qwen2.5-0.5B),
//! weights read rather than mapped, one thread per core, prompt batches of 512 tokens.

mod bench;
mod examples;
mod grammar;
mod log;
mod prompt;
mod steering;
mod text;
mod worker;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wright_models::{ApiError, LocalEngine, Prompt, ResponseStream};

pub use bench::{bench, bench_with, BenchFigures};

/// How a model is loaded.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Context size in tokens; the model's training context caps it.
    pub n_ctx: u32,
    /// Prompt tokens evaluated per llama.cpp batch.
    pub n_batch: u32,
    /// Threads for evaluation; `None`: one per available core.
    pub n_threads: Option<usize>,
    /// Keep the KV cache in 8-bit (`q8_0`) rather than 16-bit: half the memory (192 MB less
    /// for Qwen2.5-0.5B at 32k tokens), nearly the same output.
    pub quantized_kv_cache: bool,
    /// Map the model file rather than read it.
    pub use_mmap: bool,
    /// Keep the KV state of the prompt's fixed start (system prompt, tools, worked examples)
    /// here, so that a new process loads it instead of evaluating it; `None`: no disk cache.
    pub prefix_cache_dir: Option<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            n_ctx: 32_768,
            n_batch: 512,
            n_threads: None,
            quantized_kv_cache: true,
            use_mmap: false,
            prefix_cache_dir: None,
        }
    }
}

/// How one reply is sampled.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// The reply ends as `Incomplete("max_output_tokens")` past this many tokens.
    pub max_output_tokens: u32,
    /// 0 samples greedily.
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: i32,
    /// Divides the logits of tokens among the last `repeat_last_n` (1 disables it): small
    /// models otherwise fall into loops, above all inside a long tool-call argument.
    pub repeat_penalty: f32,
    pub repeat_last_n: i32,
    /// Fixed, so that the same prompt gets the same reply.
    pub seed: u32,
    /// The reply must be tool calls: sampling starts inside `<tool_call>` under the grammar.
    /// Needs at least one declared tool.
    pub force_tool_call: bool,
    /// Never end at end-of-generation tokens (for measuring generation speed).
    pub ignore_eos: bool,
    /// The model may not write the `<tool_call>` tag (a bare-JSON call still counts), and the
    /// reply cannot be empty: the last try after the model kept repeating its previous call.
    pub ban_call_tag: bool,
    /// Text the reply starts with, as if the model had written it (streamed, and a tool call
    /// it opens is handled like one the model opened). Ignored with `force_tool_call`.
    pub prefill: String,
}

impl Default for GenOptions {
    fn default() -> Self {
        Self {
            max_output_tokens: 2048,
            // Qwen2.5-Coder's generation config (generation_config.json), but cooler: at its
            // 0.7 the 0.5B wanders off the task (measured on evals/local).
            temperature: 0.2,
            top_p: 0.8,
            top_k: 20,
            repeat_penalty: 1.05,
            repeat_last_n: 64,
            seed: 0x5eed,
            force_tool_call: false,
            ignore_eos: false,
            ban_call_tag: false,
            prefill: String::new(),
        }
    }
}

impl GenOptions {
    /// Applies `WRIGHT_LOCAL_SAMPLING` (`temperature=0.7,top_p=0.8,top_k=20,repeat_penalty=1.05,
    /// repeat_last_n=64,seed=N,max_output_tokens=N`), for trying other settings on a model
    /// without a rebuild. Unknown keys and bad values are warned about and ignored.
    pub fn with_env_overrides(mut self) -> Self {
        if let Ok(spec) = std::env::var("WRIGHT_LOCAL_SAMPLING") {
            for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if let Err(why) = self.set(pair) {
                    tracing::warn!("WRIGHT_LOCAL_SAMPLING: ignoring `{pair}`: {why}");
                }
            }
        }
        self
    }

    /// The options for sampling again after a reply was refused (the `n`th time): another
    /// seed, and `step` more temperature per time, from at least 0.2.
    pub(crate) fn warmer(&self, n: u32, step: f32) -> GenOptions {
        GenOptions {
            seed: self.seed.wrapping_add(n),
            temperature: self.temperature.max(0.2) + step * n as f32,
            ..self.clone()
        }
    }

    fn set(&mut self, pair: &str) -> Result<(), String> {
        let (key, value) = pair.split_once('=').ok_or("expected key=value")?;
        fn num<T: std::str::FromStr>(v: &str) -> Result<T, String> {
            v.trim()
                .parse()
                .map_err(|_| format!("`{v}` is not a number of the right kind"))
        }
        match key.trim() {
            "temperature" => self.temperature = num(value)?,
            "top_p" => self.top_p = num(value)?,
            "top_k" => self.top_k = num(value)?,
            "repeat_penalty" => self.repeat_penalty = num(value)?,
            "repeat_last_n" => self.repeat_last_n = num(value)?,
            "seed" => self.seed = num(value)?,
            "max_output_tokens" => self.max_output_tokens = num(value)?,
            other => return Err(format!("unknown key `{other}`")),
        }
        Ok(())
    }
}

/// What a loaded model is.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub path: PathBuf,
    /// `general.name` from the GGUF, if any.
    pub name: Option<String>,
    /// The context this engine uses, in tokens.
    pub n_ctx: u32,
    /// The context the model was trained with.
    pub n_ctx_train: u32,
    pub n_params: u64,
    /// Bytes of weights.
    pub size: u64,
}

/// Figures for one request, for measuring and for tests.
#[derive(Debug, Clone, Default)]
pub struct RequestStats {
    /// Tokens of the rendered prompt.
    pub prompt_tokens: usize,
    /// Of those, tokens whose KV entries were reused from the previous request.
    pub cached_tokens: usize,
    /// Prompt tokens evaluated for this request (`prompt_tokens - cached_tokens`).
    pub evaluated_tokens: usize,
    /// Tokens of the reply (sampled, plus the markup written in to open a tool call).
    pub output_tokens: usize,
    /// Evaluating the prompt.
    pub prompt_time: Duration,
    /// From the start of the request to the first sampled token.
    pub time_to_first_token: Option<Duration>,
    /// From the first sampled token to the last.
    pub generation_time: Duration,
    /// Sampled tokens (generation runs at `(sampled_tokens - 1) / generation_time`).
    pub sampled_tokens: usize,
    /// Of `generation_time`, the part spent inside llama.cpp evaluating tokens (the rest is
    /// sampling and our own work).
    pub generation_decode_time: Duration,
    /// The stream's receiver went away before the reply ended.
    pub interrupted: bool,
}

/// The prompt as the model sees it.
#[derive(Debug, Clone)]
pub struct RenderedPrompt {
    pub text: String,
    pub tokens: usize,
}

/// How many requests' figures an engine keeps.
const KEEP_STATS: usize = 16;

/// A loaded model. Dropping the last handle ends its thread and frees the model.
pub struct Engine {
    jobs: std::sync::mpsc::Sender<worker::Job>,
    info: ModelInfo,
    stats: Arc<Mutex<VecDeque<RequestStats>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Said once per engine, not on every request.
    warned_output_schema: std::sync::atomic::AtomicBool,
}

impl Engine {
    /// Loads the GGUF model at `path` (blocking: reads the model). Prefer [`register`], which
    /// shares one engine per file across the process.
    pub fn load(path: &Path, config: EngineConfig) -> Result<Engine, ApiError> {
        let stats = Arc::new(Mutex::new(VecDeque::new()));
        let (jobs, info, thread) = worker::spawn(path.to_path_buf(), config, Arc::clone(&stats))?;
        Ok(Engine {
            jobs,
            info,
            stats,
            thread: Some(thread),
            warned_output_schema: Default::default(),
        })
    }

    /// Finishes the queued requests, then frees the model; returns when it is freed.
    pub fn close(mut self) {
        let thread = self.thread.take();
        drop(self);
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Streams a reply to `prompt`, sampled as `options` says. Returns at once; the request
    /// waits for the ones before it.
    pub fn stream_with(
        &self,
        prompt: &Prompt,
        options: GenOptions,
    ) -> Result<ResponseStream, ApiError> {
        let (tx, stream) = ResponseStream::channel(64);
        self.jobs
            .send(worker::Job::Generate {
                prompt: Box::new(prompt.clone()),
                options,
                tx,
            })
            .map_err(|_| ApiError::fatal("the local model's thread has stopped"))?;
        Ok(stream)
    }

    /// The prompt as the model would see it (blocking: waits for the requests before it).
    pub fn render(&self, prompt: &Prompt) -> Result<RenderedPrompt, ApiError> {
        let (reply, rx) = std::sync::mpsc::sync_channel(1);
        self.jobs
            .send(worker::Job::Render {
                prompt: Box::new(prompt.clone()),
                reply,
            })
            .map_err(|_| ApiError::fatal("the local model's thread has stopped"))?;
        rx.recv()
            .map_err(|_| ApiError::fatal("the local model's thread has stopped"))?
            .map_err(ApiError::fatal)
    }

    /// Figures of the latest requests, oldest first.
    pub fn recent_stats(&self) -> Vec<RequestStats> {
        self.stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

impl LocalEngine for Engine {
    fn stream(&self, prompt: &Prompt) -> Result<ResponseStream, ApiError> {
        if prompt.output_schema.is_some()
            && !self
                .warned_output_schema
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(
                "the local model does not enforce --output-schema; the answer may not follow it"
            );
        }
        let mut options = GenOptions::default().with_env_overrides();
        options.force_tool_call = steering::reply_must_call(prompt);
        self.stream_with(prompt, options)
    }
}

/// Makes this engine the one `wright_models` uses for providers with `wire_api = "local"`.
pub fn register() {
    wright_models::register_local_engine(shared_engine);
}

/// One engine per model file for the whole process: loading is slow and each engine holds a
/// context of its own.
fn shared_engine(path: &Path) -> Result<Arc<dyn LocalEngine>, ApiError> {
    static ENGINES: Mutex<BTreeMap<PathBuf, Arc<Engine>>> = Mutex::new(BTreeMap::new());
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    // Held while loading, so that two requests for the same file load it once.
    let mut engines = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(engine) = engines.get(&key) {
        return Ok(Arc::clone(engine) as Arc<dyn LocalEngine>);
    }
    let config = EngineConfig {
        prefix_cache_dir: worker::default_prefix_cache_dir(),
        ..EngineConfig::default()
    };
    let engine = Arc::new(Engine::load(&key, config)?);
    engines.insert(key, Arc::clone(&engine));
    Ok(engine)
}

/// Numbers for item and call ids, unique in the process and (started from the clock) unlikely
/// to repeat ids of an earlier run that are still in a thread's history.
pub(crate) fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static BASE: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64 % 1_000_000_000 * 1000)
            .unwrap_or(0)
    });
    base + NEXT.fetch_add(1, Ordering::Relaxed)
}
