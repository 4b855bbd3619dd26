//! Compiles the web UI's build output (`web/dist`, made by `npm run build` in `web/`) into the
//! binary, so `wright serve` needs no files, CDN or second server at run time. Without it
//! (no node on this machine), wright still builds, and `wright serve` says how to build the UI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../../web");
    let dist = std::env::var_os("WRIGHT_WEB_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| web.join("dist"));
    println!("cargo:rerun-if-env-changed=WRIGHT_WEB_DIST");
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        // Cargo looks at every file under a directory it is told to watch.
        println!("cargo:rerun-if-changed={}", dist.display());
        collect(&dist, &dist, &mut files);
    } else {
        // Watching `web/` notices when `web/dist` appears.
        println!("cargo:rerun-if-changed={}", web.display());
    }
    files.sort();
    let mut out = String::from("pub(crate) static ASSETS: &[Asset] = &[\n");
    for (route, path) in &files {
        let bytes = std::fs::read(path).expect("read a web asset");
        writeln!(
            out,
            "    Asset {{ path: {route:?}, content_type: {:?}, etag: \"\\\"{:016x}\\\"\", bytes: include_bytes!({:?}) }},",
            content_type(route),
            fnv1a(&bytes),
            path.display().to_string(),
        )
        .expect("write to a String");
    }
    out.push_str("];\n");
    let target =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("assets.rs");
    std::fs::write(target, out).expect("write assets.rs");
}

/// `(route, file)` for every file under `dir`: route `/assets/x.js` for `dist/assets/x.js`.
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect(root, &path, out);
        } else if kind.is_file() {
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let route = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
            // Source maps stay out of the binary.
            if !route.ends_with(".map") {
                out.push((route, path.canonicalize().unwrap_or(path)));
            }
        }
    }
}

fn content_type(route: &str) -> &'static str {
    let ext = route.rsplit('.').next().unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "webmanifest" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A content hash for ETags (not security-relevant).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}
