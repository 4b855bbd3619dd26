//! `fuzzyFileSearch`: rank the files and directories under some roots against a query.
//!
//! Member names follow Codex exactly, including the snake_case ones of
//! [`FuzzyFileSearchResult`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FuzzyFileSearchParams {
    pub query: String,
    /// Absolute directories to search.
    pub roots: Vec<String>,
    /// A later search with the same token (on the same connection) cancels this one, which
    /// then answers with no files.
    #[serde(default)]
    pub cancellation_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FuzzyFileSearchResponse {
    /// Best first: score descending, then path ascending.
    pub files: Vec<FuzzyFileSearchResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FuzzyFileSearchMatchType {
    File,
    Directory,
}

/// One match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FuzzyFileSearchResult {
    /// The root (as given) the path is under.
    pub root: String,
    /// Path relative to `root`.
    pub path: String,
    pub match_type: FuzzyFileSearchMatchType,
    /// Last component of `path`.
    pub file_name: String,
    /// Higher is better.
    pub score: u32,
    /// Character positions in `path` that matched the query, ascending.
    #[serde(default)]
    pub indices: Option<Vec<u32>>,
}
