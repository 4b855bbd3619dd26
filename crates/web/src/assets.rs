//! The web UI's files, compiled in by `build.rs`.

/// One file of the built UI.
#[derive(Debug)]
pub struct Asset {
    /// Its route, e.g. `/index.html`, `/assets/index-3f2a.js`.
    pub path: &'static str,
    pub content_type: &'static str,
    /// A quoted content hash.
    pub etag: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Whether the UI was built into this binary (`web/dist` existed when it was compiled).
pub fn built() -> bool {
    find("/index.html").is_some()
}

/// The asset for a request path; `/` is the page itself.
pub fn find(path: &str) -> Option<&'static Asset> {
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// Every embedded file.
pub fn all() -> &'static [Asset] {
    ASSETS
}

/// What to do when the UI is missing, for the terminal and for the page.
pub const HOW_TO_BUILD: &str = "the web UI is not built into this wright: build it with \
`npm ci && npm run build` in the repository's web/ directory (needs node and npm), then \
`cargo build` again; or run scripts/quickstart, which does both";
