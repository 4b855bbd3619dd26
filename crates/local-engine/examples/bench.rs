//! Measures a model: `cargo run --release -p wright-local-engine --example bench -- MODEL.gguf`.

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: bench MODEL.gguf");
        std::process::exit(2);
    };
    // RUST_LOG=llama.cpp=debug shows llama.cpp's own log (buffer sizes, ...).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    // Knobs for experiments: WRIGHT_BENCH_THREADS, _CTX, _BATCH, _Q8_KV (0/1), _MMAP (0/1).
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u32>().ok());
    let mut config = wright_local_engine::EngineConfig::default();
    if let Some(t) = env("WRIGHT_BENCH_THREADS") {
        config.n_threads = Some(t as usize);
    }
    if let Some(n) = env("WRIGHT_BENCH_CTX") {
        config.n_ctx = n;
    }
    if let Some(n) = env("WRIGHT_BENCH_BATCH") {
        config.n_batch = n;
    }
    if let Some(n) = env("WRIGHT_BENCH_Q8_KV") {
        config.quantized_kv_cache = n == 1;
    }
    if let Some(n) = env("WRIGHT_BENCH_MMAP") {
        config.use_mmap = n == 1;
    }
    match wright_local_engine::bench_with(std::path::Path::new(&path), config) {
        Ok(figures) => println!("{figures}"),
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
    }
}
