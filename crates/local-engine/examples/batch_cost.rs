//! What evaluating n tokens in one batch costs against one token, after a prompt of 900:
//! `batch_cost MODEL.gguf`. Speculative decoding pays only when a batch of n costs well under n
//! single steps; on a CPU whose decode is compute-bound it costs nearly n.

use std::num::NonZeroU32;
use std::time::Instant;

use llama_cpp_2::context::params::{KvCacheType, LlamaContextParams};
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

fn main() {
    if let Err(e) = run() {
        eprintln!("batch_cost: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: batch_cost MODEL.gguf")?;
    let mut backend = LlamaBackend::init()?;
    backend.void_logs();
    let model = LlamaModel::load_from_file(&backend, &path, &LlamaModelParams::default())?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as i32;
    // The engine's own settings (Q8_0 KV cache with flash attention).
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(4096))
        .with_n_batch(512)
        .with_n_ubatch(512)
        .with_n_threads(threads)
        .with_n_threads_batch(threads)
        .with_type_k(KvCacheType::Q8_0)
        .with_type_v(KvCacheType::Q8_0)
        .with_flash_attention_policy(llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_ENABLED);
    let mut ctx = model.new_context(&backend, params)?;
    let mut batch = LlamaBatch::new(512, 1);
    const BASE: usize = 900;
    let prompt: Vec<LlamaToken> = (0..BASE)
        .map(|i| LlamaToken::new(100 + (i as i32 * 37) % 5000))
        .collect();
    for (c, chunk) in prompt.chunks(512).enumerate() {
        batch.clear();
        for (j, &t) in chunk.iter().enumerate() {
            batch.add(t, (c * 512 + j) as i32, &[0], false)?;
        }
        ctx.decode(&mut batch)?;
    }
    let mut single = None;
    for n in [1usize, 2, 4, 8, 16, 32] {
        const REPS: u32 = 20;
        let started = Instant::now();
        for _ in 0..REPS {
            batch.clear();
            for j in 0..n {
                batch.add(
                    LlamaToken::new(500 + j as i32),
                    (BASE + j) as i32,
                    &[0],
                    true,
                )?;
            }
            ctx.decode(&mut batch)?;
            ctx.clear_kv_cache_seq(Some(0), Some(BASE as u32), None)?;
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(REPS);
        let one = *single.get_or_insert(ms);
        println!(
            "batch {n:2}: {ms:6.1} ms ({:4.1} ms/token, {:.2}x one token)",
            ms / n as f64,
            ms / one
        );
    }
    Ok(())
}
