//! The engine's thread: the model, its context and the KV cache, and the generation loop.

use std::collections::VecDeque;
use std::io::Read as _;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use llama_cpp_2::context::params::{KvCacheType, LlamaContextParams};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;
use llama_cpp_2::token::LlamaToken;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use wright_models::{ApiError, Prompt, ResponseEvent, StreamError, TokenUsage};

use crate::grammar::{parse_calls, tool_call_grammar};
use crate::prompt::{
    build_messages, repeats_last_call, tool_decls, ChatMessage, Segment, ToolDecl, CALL_OPEN,
};
use crate::text::{called_tool, TextTracker};
use sampling::{is_looping, MAX_CALL_RESTARTS};

mod prefix_cache;
mod sampling;

use crate::{
    log, next_id, EngineConfig, GenOptions, ModelInfo, RenderedPrompt, RequestStats, KEEP_STATS,
};
pub(crate) use prefix_cache::default_dir as default_prefix_cache_dir;
use prefix_cache::PrefixCache;

pub(crate) type Tx = mpsc::Sender<Result<ResponseEvent, StreamError>>;

pub(crate) enum Job {
    Generate {
        prompt: Box<Prompt>,
        options: GenOptions,
        tx: Tx,
    },
    Render {
        prompt: Box<Prompt>,
        reply: std::sync::mpsc::SyncSender<Result<RenderedPrompt, String>>,
    },
}

type Stats = Arc<Mutex<VecDeque<RequestStats>>>;

/// Starts the engine's thread, which loads the model and then serves jobs until every sender
/// is gone. Returns once the model is loaded (or failed to load).
pub(crate) fn spawn(
    path: PathBuf,
    config: EngineConfig,
    stats: Stats,
) -> Result<
    (
        std::sync::mpsc::Sender<Job>,
        ModelInfo,
        std::thread::JoinHandle<()>,
    ),
    ApiError,
> {
    check_file(&path)?;
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let (jobs_tx, jobs_rx) = std::sync::mpsc::channel::<Job>();
    let thread = std::thread::Builder::new()
        .name("wright-llama".into())
        .stack_size(16 << 20)
        .spawn(move || {
            let loaded = backend().and_then(|backend| {
                let model = load_model(backend, &path, config.use_mmap)?;
                Ok((backend, model))
            });
            let (backend, model) = match loaded {
                Ok(loaded) => loaded,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let mut session = match Session::new(backend, &model, &path, &config, stats) {
                Ok(session) => session,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(session.info.clone()));
            drop(ready_tx);
            while let Ok(job) = jobs_rx.recv() {
                session.serve(job);
            }
        })
        .map_err(|e| ApiError::fatal(format!("cannot start the local model's thread: {e}")))?;
    let info = ready_rx
        .recv()
        .map_err(|_| ApiError::fatal("the local model's thread stopped while loading"))??;
    Ok((jobs_tx, info, thread))
}

/// The process's llama.cpp backend, set up once.
fn backend() -> Result<&'static LlamaBackend, ApiError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            log::install();
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ApiError::fatal(format!("cannot start llama.cpp: {e}")))
}

/// Precise errors for the usual mistakes before llama.cpp sees the file.
fn check_file(path: &Path) -> Result<(), ApiError> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::fatal(format!(
                "the local model file {shown} does not exist"
            )))
        }
        Err(e) => {
            return Err(ApiError::fatal(format!(
                "cannot read the local model file {shown}: {e}"
            )))
        }
    };
    if meta.is_dir() {
        return Err(ApiError::fatal(format!(
            "the local model path {shown} is a directory, not a GGUF file"
        )));
    }
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(|e| {
            ApiError::fatal(format!(
                "{shown} is not a GGUF model file (cannot read its header: {e})"
            ))
        })?;
    if &magic != b"GGUF" {
        return Err(ApiError::fatal(format!(
            "{shown} is not a GGUF model file (it does not start with the GGUF signature)"
        )));
    }
    if path.to_str().is_none() {
        return Err(ApiError::fatal(format!(
            "the local model path {shown} is not valid UTF-8, which llama.cpp needs"
        )));
    }
    Ok(())
}

fn load_model(backend: &LlamaBackend, path: &Path, use_mmap: bool) -> Result<LlamaModel, ApiError> {
    log::clear_errors();
    // Read, not mapped: a mapped file's pages count in the resident size on top of the copies
    // llama.cpp makes of repacked tensors, and reading a file in the page cache is as fast.
    let params = LlamaModelParams::default().with_use_mmap(use_mmap);
    LlamaModel::load_from_file(backend, path, &params).map_err(|e| {
        let why = log::take_errors();
        let why = if why.is_empty() { e.to_string() } else { why };
        ApiError::fatal(format!(
            "llama.cpp could not load the model {}: {why}",
            path.display()
        ))
    })
}

/// Why a reply stopped early.
enum Stop {
    /// The receiver went away.
    Interrupted,
    Fatal(String),
    ContextFull(String),
}

impl From<String> for Stop {
    fn from(s: String) -> Self {
        Stop::Fatal(s)
    }
}

impl From<&str> for Stop {
    fn from(s: &str) -> Self {
        Stop::Fatal(s.to_string())
    }
}

/// Placeholders that stand for outside text while the template is applied; outside text never
/// contains them (they are removed from it).
const HOLE_OPEN: char = '\u{F8F0}';
const HOLE_CLOSE: char = '\u{F8F1}';

struct Session<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    n_batch: usize,
    n_ctx: usize,
    template: LlamaChatTemplate,
    /// Tokens whose KV entries are in the context, positions 0.. in order.
    cached: Vec<LlamaToken>,
    eog: Vec<LlamaToken>,
    /// Control tokens that do not end generation (`<|im_start|>`, FIM markers, ...): never
    /// sampled inside a tool call.
    control: Vec<LlamaToken>,
    bos: Option<LlamaToken>,
    info: ModelInfo,
    stats: Stats,
    /// Where the KV state of the prompt's fixed start is kept between processes.
    prefix_cache: Option<PrefixCache>,
    /// Time spent inside llama.cpp's decode since the current request's first token.
    decode_time: Duration,
}

impl<'m> Session<'m> {
    fn new(
        backend: &LlamaBackend,
        model: &'m LlamaModel,
        path: &Path,
        config: &EngineConfig,
        stats: Stats,
    ) -> Result<Self, ApiError> {
        let n_ctx_train = model.n_ctx_train();
        let n_ctx = match n_ctx_train {
            0 => config.n_ctx,
            train => config.n_ctx.min(train),
        }
        .max(64);
        let threads = config
            .n_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .clamp(1, 64) as i32;
        let n_batch = config.n_batch.clamp(16, 4096);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(n_batch)
            .with_n_ubatch(n_batch)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let params = if config.quantized_kv_cache {
            // A quantized V cache needs flash attention.
            params
                .with_type_k(KvCacheType::Q8_0)
                .with_type_v(KvCacheType::Q8_0)
                .with_flash_attention_policy(llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_ENABLED)
        } else {
            params
        };
        log::clear_errors();
        let ctx = model.new_context(backend, params).map_err(|e| {
            let why = log::take_errors();
            ApiError::fatal(format!(
                "llama.cpp could not make a context of {n_ctx} tokens for {}: {}",
                path.display(),
                if why.is_empty() { e.to_string() } else { why }
            ))
        })?;

        let template = match model.chat_template(None) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(model = %path.display(), "the model has no usable chat template ({e}); using ChatML");
                LlamaChatTemplate::new("chatml")
                    .map_err(|e| ApiError::fatal(format!("chat template: {e}")))?
            }
        };
        // An unknown template fails here rather than on the first request.
        let probe = [
            LlamaChatMessage::new("system".into(), "s".into()),
            LlamaChatMessage::new("user".into(), "u".into()),
        ]
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::fatal(format!("chat template: {e}")))?;
        model
            .apply_chat_template(&template, &probe, true)
            .map_err(|e| {
                ApiError::fatal(format!(
                    "the chat template of {} is not one llama.cpp knows ({e})",
                    path.display()
                ))
            })?;

        let vocab = model.vocab();
        let mut eog = Vec::new();
        let mut control = Vec::new();
        for token in vocab.tokens() {
            if vocab.is_eog(token) {
                eog.push(token);
            } else if vocab.is_control(token) {
                control.push(token);
            }
        }
        let bos = vocab.should_add_bos().then(|| vocab.bos());
        let info = ModelInfo {
            path: path.to_path_buf(),
            name: model.meta_val_str("general.name").ok(),
            n_ctx,
            n_ctx_train,
            n_params: model.n_params(),
            size: model.size(),
        };
        Ok(Session {
            model,
            ctx,
            batch: LlamaBatch::new(n_batch as usize, 1),
            n_batch: n_batch as usize,
            n_ctx: n_ctx as usize,
            template,
            cached: Vec::new(),
            eog,
            control,
            bos,
            info,
            stats,
            prefix_cache: config
                .prefix_cache_dir
                .as_deref()
                .and_then(|dir| PrefixCache::new(dir, path, config, n_ctx)),
            decode_time: Duration::ZERO,
        })
    }

    fn serve(&mut self, job: Job) {
        match job {
            Job::Render { prompt, reply } => {
                let tools = tool_decls(&prompt.tools);
                let rendered = self
                    .render(&prompt, &tools)
                    .map(|(text, tokens)| RenderedPrompt {
                        text,
                        tokens: tokens.len(),
                    });
                let _ = reply.send(rendered);
            }
            Job::Generate {
                prompt,
                options,
                tx,
            } => {
                // A request interrupted while it waited is not started.
                if tx.is_closed() {
                    return;
                }
                let mut stats = RequestStats::default();
                self.decode_time = Duration::ZERO;
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.generate(&prompt, &options, &tx, &mut stats, 0)
                }));
                let failure = match run {
                    Ok(Ok(())) => None,
                    Ok(Err(Stop::Interrupted)) => {
                        stats.interrupted = true;
                        None
                    }
                    Ok(Err(Stop::Fatal(message))) => Some(StreamError::Fatal(message)),
                    Ok(Err(Stop::ContextFull(message))) => {
                        Some(StreamError::ContextWindowExceeded(message))
                    }
                    Err(_) => {
                        // The context is in an unknown state: start the next request afresh.
                        self.ctx.clear_kv_cache();
                        self.cached.clear();
                        Some(StreamError::Fatal(
                            "the local model failed unexpectedly (see the log)".into(),
                        ))
                    }
                };
                if let Some(err) = failure {
                    let _ = tx.blocking_send(Err(err));
                }
                stats.generation_decode_time = self.decode_time;
                tracing::debug!(?stats, "local model request done");
                let mut kept = self.stats.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() >= KEEP_STATS {
                    kept.pop_front();
                }
                kept.push_back(stats);
            }
        }
    }

    /// The rendered prompt (for display) and its tokens. Markup is tokenized with special
    /// tokens, outside text without.
    fn render(
        &self,
        prompt: &Prompt,
        tools: &[ToolDecl],
    ) -> Result<(String, Vec<LlamaToken>), String> {
        self.tokenize_chat(&build_messages(prompt, tools), true)
    }

    /// `messages` through the model's chat template, then tokenized; `add_assistant` opens the
    /// assistant's turn at the end.
    fn tokenize_chat(
        &self,
        messages: &[ChatMessage],
        add_assistant: bool,
    ) -> Result<(String, Vec<LlamaToken>), String> {
        let mut holes: Vec<String> = Vec::new();
        let mut chat = Vec::with_capacity(messages.len());
        for m in messages {
            let mut content = String::new();
            for segment in &m.content {
                match segment {
                    Segment::Markup(s) => content.push_str(&clean(s)),
                    Segment::Text(s) => {
                        content.push(HOLE_OPEN);
                        content.push_str(&holes.len().to_string());
                        content.push(HOLE_CLOSE);
                        holes.push(clean(s));
                    }
                }
            }
            chat.push(
                LlamaChatMessage::new(m.role.to_string(), content)
                    .map_err(|e| format!("cannot pass a message to llama.cpp: {e}"))?,
            );
        }
        let rendered = self
            .model
            .apply_chat_template(&self.template, &chat, add_assistant)
            .map_err(|e| format!("llama.cpp could not apply the chat template: {e}"))?;

        let vocab = self.model.vocab();
        let mut tokens: Vec<LlamaToken> = self.bos.into_iter().collect();
        let mut text = String::with_capacity(rendered.len());
        let mut rest = rendered.as_str();
        let mut piece = |s: &str, special: bool, tokens: &mut Vec<LlamaToken>| {
            if !s.is_empty() {
                tokens.extend(vocab.tokenize(s.as_bytes(), false, special));
                text.push_str(s);
            }
        };
        while let Some(open) = rest.find(HOLE_OPEN) {
            piece(&rest[..open], true, &mut tokens);
            let after = &rest[open + HOLE_OPEN.len_utf8()..];
            let close = after
                .find(HOLE_CLOSE)
                .ok_or("the chat template mangled a message")?;
            let hole = after[..close]
                .parse::<usize>()
                .ok()
                .and_then(|i| holes.get(i))
                .ok_or("the chat template mangled a message")?;
            piece(hole, false, &mut tokens);
            rest = &after[close + HOLE_CLOSE.len_utf8()..];
        }
        piece(rest, true, &mut tokens);
        Ok((text, tokens))
    }

    /// Evaluates `tokens` after the cached ones; returns the batch index of the last token's
    /// logits. Stops between batches when `tx` is closed.
    fn eval(&mut self, tokens: &[LlamaToken], tx: Option<&Tx>) -> Result<i32, Stop> {
        if self.cached.len() + tokens.len() > self.n_ctx {
            return Err(Stop::ContextFull(format!(
                "the local model's context of {} tokens is full",
                self.n_ctx
            )));
        }
        let mut last = 0;
        let n_chunks = tokens.len().div_ceil(self.n_batch);
        for (i, chunk) in tokens.chunks(self.n_batch).enumerate() {
            if tx.is_some_and(|tx| tx.is_closed()) {
                return Err(Stop::Interrupted);
            }
            self.batch.clear();
            let is_last_chunk = i + 1 == n_chunks;
            for (j, &token) in chunk.iter().enumerate() {
                let pos = (self.cached.len() + j) as i32;
                let logits = is_last_chunk && j + 1 == chunk.len();
                self.batch
                    .add(token, pos, &[0], logits)
                    .map_err(|e| format!("llama.cpp batch: {e}"))?;
            }
            log::clear_errors();
            let decoding = Instant::now();
            let decoded = self.ctx.decode(&mut self.batch);
            self.decode_time += decoding.elapsed();
            if let Err(e) = decoded {
                // What the failed batch left in the cache is unknown.
                self.ctx.clear_kv_cache();
                self.cached.clear();
                let why = log::take_errors();
                return Err(Stop::Fatal(format!(
                    "llama.cpp could not evaluate tokens: {e} {why}"
                )));
            }
            self.cached.extend_from_slice(chunk);
            last = chunk.len() as i32 - 1;
        }
        Ok(last)
    }

    fn generate(
        &mut self,
        prompt: &Prompt,
        opts: &GenOptions,
        tx: &Tx,
        stats: &mut RequestStats,
        // How many replies to this prompt were sampled before and refused.
        attempt: u32,
    ) -> Result<(), Stop> {
        let started = Instant::now();
        let tools = tool_decls(&prompt.tools);
        let (rendered, tokens) = self.render(prompt, &tools)?;
        let n = tokens.len();
        stats.prompt_tokens = n;
        if n == 0 {
            return Err(Stop::Fatal("the rendered prompt is empty".into()));
        }
        if n >= self.n_ctx {
            return Err(Stop::ContextFull(format!(
                "the prompt is {n} tokens and the local model's context holds {}",
                self.n_ctx
            )));
        }

        // Reuse the longest prefix already in the KV cache; at least one token is evaluated,
        // for the logits.
        let mut keep = self
            .cached
            .iter()
            .zip(&tokens)
            .take_while(|(a, b)| a == b)
            .count()
            .min(n - 1);
        if keep < self.cached.len() {
            keep = self.rewind(keep);
        }
        let mut loaded = keep;
        if keep == 0 {
            let (restored, from_disk) = self.restore_fixed_start(prompt, &tools, &tokens, tx)?;
            keep = restored;
            loaded = if from_disk { restored } else { 0 };
        }
        stats.cached_tokens = loaded;
        stats.evaluated_tokens = n - loaded;
        let mut idx = self.eval(&tokens[keep..], Some(tx))?;
        stats.prompt_time = started.elapsed();

        let usage = |stats: &RequestStats| TokenUsage {
            input_tokens: stats.prompt_tokens as u64,
            cached_input_tokens: stats.cached_tokens as u64,
            output_tokens: stats.output_tokens as u64,
            ..Default::default()
        };

        let mut chain = self.sampler(opts);
        let message_id = format!("msg_{}", next_id());
        let mut text = TextTracker::new(tools.iter().map(|t| t.name.clone()).collect());
        // A last try may not end before its first token.
        let mut first_chain = opts.ban_call_tag.then(|| {
            self.sampler(&GenOptions {
                ignore_eos: true,
                ..opts.clone()
            })
        });
        // Where the reply's tokens start in the context, and the free text's tokens.
        let reply_start = self.cached.len();
        let mut reply: Vec<LlamaToken> = Vec::new();
        // Set once a tool call opened: the grammar, the constrained bytes, and where the free
        // text ended.
        let mut call: Option<(LlamaSampler, Vec<u8>, usize)> = None;
        // One call per reply, whatever `parallel_tool_calls` allows: given the choice, small
        // models repeat the same call over and over until the output limit.
        let gbnf = (!tools.is_empty()).then(|| tool_call_grammar(&tools, false));

        if opts.force_tool_call {
            let gbnf = gbnf
                .as_deref()
                .ok_or("a tool call was required but no tool is declared")?;
            let forced = self.tokenize_markup(&format!("{CALL_OPEN}\n"));
            stats.output_tokens += forced.len();
            idx = self.eval(&forced, None)?;
            call = Some((self.grammar(gbnf)?, Vec::new(), 0));
        }
        // Where the open call's JSON starts in the context and the output count there, the
        // call's tokens so far, and how many times it was started again after the model fell
        // into a loop.
        let mut call_start = self.cached.len();
        let mut call_output_tokens = stats.output_tokens;
        let mut call_tokens: Vec<LlamaToken> = Vec::new();
        let mut restarts = 0u32;

        // Text the reply starts with, taken as if the model had written it.
        let mut prefill: VecDeque<LlamaToken> = if call.is_none() {
            self.model
                .vocab()
                .tokenize(opts.prefill.as_bytes(), false, false)
                .into()
        } else {
            VecDeque::new()
        };
        let mut first_token: Option<Instant> = None;
        let finished = loop {
            if tx.is_closed() {
                return Err(Stop::Interrupted);
            }
            if stats.output_tokens >= opts.max_output_tokens as usize {
                break false;
            }
            // `sample` tells the chain (its repetition penalty) what it chose; the other two
            // must say so themselves.
            let token = match (&mut call, prefill.pop_front()) {
                (None, Some(token)) => {
                    chain.accept(token);
                    token
                }
                (None, None) => match first_chain.take() {
                    Some(mut first) => {
                        let token = first.sample(&self.ctx, idx);
                        chain.accept(token);
                        token
                    }
                    None => chain.sample(&self.ctx, idx),
                },
                (Some((grammar, _, _)), _) => {
                    let token = self.sample_constrained(idx, &mut chain, grammar)?;
                    chain.accept(token);
                    token
                }
            };
            let now = Instant::now();
            if first_token.is_none() {
                first_token = Some(now);
                self.decode_time = Duration::ZERO;
                stats.time_to_first_token = Some(now - started);
            }
            stats.sampled_tokens += 1;
            stats.output_tokens += 1;
            stats.generation_time = now - first_token.unwrap_or(now);
            let vocab = self.model.vocab();
            if vocab.is_eog(token) {
                break true;
            }
            let piece = vocab.token_to_piece(token, true, None);
            match &mut call {
                Some((grammar, bytes, _)) => {
                    bytes.extend_from_slice(&piece);
                    grammar.try_accept(token).map_err(|e| {
                        format!("the tool-call grammar refused a token it had allowed: {e}")
                    })?;
                    idx = self.eval(&[token], Some(tx))?;
                    call_tokens.push(token);
                    if is_looping(&call_tokens) {
                        // Small models fall into cycles inside long arguments ("0.0\n0.0\n…")
                        // and would fill the output limit. Sample the call again from its
                        // start, with another seed and more randomness; give up after a few.
                        if restarts == MAX_CALL_RESTARTS {
                            break false;
                        }
                        restarts += 1;
                        tracing::debug!(
                            restarts,
                            "local model: a tool call fell into a loop; sampling it again"
                        );
                        let before = self.cached[call_start - 1];
                        if self.rewind(call_start - 1) < call_start - 1 {
                            return Err(Stop::Fatal(
                                "the local model's cache cannot drop a looping tool call".into(),
                            ));
                        }
                        idx = self.eval(&[before], Some(tx))?;
                        bytes.clear();
                        call_tokens.clear();
                        stats.output_tokens = call_output_tokens;
                        *grammar = self.grammar(gbnf.as_deref().unwrap_or_default())?;
                        chain = self.sampler(&opts.warmer(restarts, 0.3));
                    }
                }
                // A chat model that starts another turn header has ended its own.
                None if vocab.is_control(token) => break true,
                None if is_looping(&reply) => break true,
                None => {
                    reply.push(token);
                    if let Some(trigger) = text.push(&piece) {
                        if let Some(delta) = text.take_delta_until(trigger.start) {
                            send_delta(tx, &message_id, delta)?;
                        }
                        // Take back the tokens from the one where the call starts, and go on
                        // from exactly "<tool_call>\n" as the model's own markup, whatever the
                        // model wrote to open the call.
                        let keep = reply_start + trigger.token;
                        if keep < self.cached.len() && self.rewind(keep) < keep {
                            // The cache had to be emptied: evaluate again what stays.
                            let mut redo = tokens.clone();
                            redo.extend_from_slice(&reply[..trigger.token]);
                            self.eval(&redo, Some(tx))?;
                        }
                        let before =
                            String::from_utf8_lossy(text.slice(trigger.token_start, trigger.start))
                                .into_owned();
                        let mut forced =
                            self.model.vocab().tokenize(before.as_bytes(), false, false);
                        forced.extend(self.tokenize_markup(&format!("{CALL_OPEN}\n")));
                        stats.output_tokens = trigger.token + forced.len();
                        idx = self.eval(&forced, Some(tx))?;
                        call_start = self.cached.len();
                        call_output_tokens = stats.output_tokens;
                        let gbnf = gbnf
                            .as_deref()
                            .ok_or("the model opened a tool call but no tool is declared")?;
                        let mut grammar = self.grammar(gbnf)?;
                        let mut bytes = Vec::new();
                        // A bare opening already named the tool: keep that choice rather than
                        // let the model choose again in the new context.
                        let opening = text.slice(trigger.start, text.len()).to_vec();
                        if let Some(tool) = called_tool(&opening, text.tools()) {
                            let named = format!("{{\"name\": \"{tool}\"");
                            let named = self.model.vocab().tokenize(named.as_bytes(), false, false);
                            if let Some(last) =
                                self.feed_call(&named, &mut grammar, &mut chain, &mut bytes, tx)?
                            {
                                idx = last;
                                call_tokens.extend_from_slice(&named);
                                stats.output_tokens += named.len();
                            }
                        }
                        call = Some((grammar, bytes, trigger.start));
                    } else {
                        if let Some(delta) = text.take_delta() {
                            send_delta(tx, &message_id, delta)?;
                        }
                        idx = self.eval(&[token], Some(tx))?;
                    }
                }
            }
        };

        // The free text, up to a tool call if one opened.
        let (message, calls) = match &call {
            None => {
                if let Some(delta) = text.take_delta_until(text.len()) {
                    send_delta(tx, &message_id, delta)?;
                }
                (text.text_until(text.len()), None)
            }
            Some((_, bytes, start)) => (
                text.text_until(*start),
                Some(String::from_utf8_lossy(bytes).into_owned()),
            ),
        };
        let message = message.trim_end();
        // For diagnosing a model's behaviour: `RUST_LOG=wright_local_engine=trace`.
        tracing::trace!(
            prompt = %rendered,
            reply = %text.text_until(text.len()),
            call = ?calls,
            finished,
            "local model reply"
        );
        let mut events = Vec::new();
        if !message.trim().is_empty() {
            events.push(ResponseEvent::OutputItemDone(json!({
                "type": "message",
                "id": message_id,
                "role": "assistant",
                "content": [{"type": "output_text", "text": message, "annotations": []}],
            })));
        }
        if !finished {
            for event in events {
                let _ = tx.blocking_send(Ok(event));
            }
            let _ = tx.blocking_send(Err(StreamError::Incomplete("max_output_tokens".into())));
            return Ok(());
        }
        if let Some(calls) = calls {
            let mut parsed = parse_calls(&calls)
                .map_err(|e| format!("the local model's tool call was malformed: {e}"))?;
            // Small models ask again for exactly what they just got, step after step, and the
            // turn would never end. Sample the reply again, warmer; at last without the call
            // tag they keep reaching for (they then write another call as bare JSON, or
            // answer). A call that still repeats is dropped, which ends the turn.
            if repeats_last_call(prompt, &parsed) {
                if attempt > MAX_CALL_RESTARTS {
                    tracing::warn!(
                        "the local model keeps repeating its last call ({}); the turn ends here",
                        parsed.first().map(|c| c.name.as_str()).unwrap_or_default()
                    );
                    parsed.clear();
                } else {
                    let again = if attempt < MAX_CALL_RESTARTS {
                        opts.warmer(attempt + 1, 0.4)
                    } else {
                        GenOptions {
                            ban_call_tag: true,
                            force_tool_call: false,
                            prefill: String::new(),
                            ..opts.clone()
                        }
                    };
                    tracing::debug!(
                        attempt,
                        "local model: the call repeats the previous one; sampling again"
                    );
                    return self.generate(prompt, &again, tx, stats, attempt + 1);
                }
            }
            for c in parsed {
                events.push(ResponseEvent::OutputItemDone(call_item(&tools, c)));
            }
        }
        events.push(ResponseEvent::Completed {
            usage: Some(usage(stats)),
        });
        for event in events {
            if tx.blocking_send(Ok(event)).is_err() {
                return Err(Stop::Interrupted);
            }
        }
        Ok(())
    }

    /// Drops the KV entries from position `keep` on; returns how many tokens are still cached
    /// (all of them when the cache cannot drop a suffix: recurrent and sliding-window caches).
    fn rewind(&mut self, keep: usize) -> usize {
        let removed = self
            .ctx
            .clear_kv_cache_seq(Some(0), Some(keep as u32), None)
            .unwrap_or(false);
        if removed {
            self.cached.truncate(keep);
        } else {
            self.ctx.clear_kv_cache();
            self.cached.clear();
        }
        self.cached.len()
    }

    fn tokenize_markup(&self, s: &str) -> Vec<LlamaToken> {
        self.model.vocab().tokenize(s.as_bytes(), false, true)
    }

    fn grammar(&self, gbnf: &str) -> Result<LlamaSampler, Stop> {
        LlamaSampler::grammar(self.model, gbnf, "root").map_err(|e| {
            tracing::debug!(%gbnf, "grammar llama.cpp refused");
            Stop::Fatal(format!(
                "llama.cpp refused the tool-call grammar ({e}) {}",
                log::take_errors()
            ))
        })
    }
}

fn send_delta(tx: &Tx, item_id: &str, delta: String) -> Result<(), Stop> {
    tx.blocking_send(Ok(ResponseEvent::OutputTextDelta {
        item_id: item_id.to_string(),
        delta,
    }))
    .map_err(|_| Stop::Interrupted)
}

/// The output item for a call: `function_call` with the arguments as a JSON string, or
/// `custom_tool_call` with the text for a freeform tool.
fn call_item(tools: &[ToolDecl], call: crate::grammar::ParsedCall) -> Value {
    let n = next_id();
    let call_id = format!("call_{n}");
    let custom = tools.iter().any(|t| t.name == call.name && t.custom);
    if custom {
        let input = call
            .arguments
            .get("input")
            .and_then(Value::as_str)
            .unwrap_or_default();
        json!({
            "type": "custom_tool_call",
            "id": format!("ctc_{n}"),
            "call_id": call_id,
            "name": call.name,
            "input": input,
        })
    } else {
        json!({
            "type": "function_call",
            "id": format!("fc_{n}"),
            "call_id": call_id,
            "name": call.name,
            "arguments": call.arguments.to_string(),
        })
    }
}

/// Text as llama.cpp can take it: no NUL (C strings) and no placeholder characters.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|&c| c != '\0' && c != HOLE_OPEN && c != HOLE_CLOSE)
        .collect()
}
