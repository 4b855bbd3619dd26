//! The names the model sees: `mcp__<server>__<tool>`, limited to what every model API
//! accepts (`^[a-zA-Z0-9_-]{1,64}$`).

/// The most characters a tool name may have (OpenAI's limit).
pub const MAX_TOOL_NAME: usize = 64;
/// The prefix of every MCP tool's name, and of its namespace in tool search.
pub const PREFIX: &str = "mcp__";
const SEPARATOR: &str = "__";

/// The model-facing name of `tool` on `server`. Characters outside `[a-zA-Z0-9_-]` become
/// `_`; a name over 64 characters is cut and ends in a hash of the whole, so two long names
/// stay apart.
pub fn qualified(server: &str, tool: &str) -> String {
    let full = format!("{PREFIX}{server}{SEPARATOR}{tool}");
    let clean: String = full
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.len() <= MAX_TOOL_NAME {
        return clean;
    }
    let hash = format!("{:016x}", fnv1a(full.as_bytes()));
    let keep = MAX_TOOL_NAME - hash.len() - 1;
    format!("{}_{hash}", &clean[..keep])
}

/// The namespace a server's tools are grouped under in tool search (`mcp__<server>`).
pub fn namespace(server: &str) -> String {
    format!("{PREFIX}{server}")
}

/// FNV-1a: stable across runs and platforms, which the prompt cache needs.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_joined() {
        assert_eq!(qualified("echo", "echo"), "mcp__echo__echo");
        assert_eq!(namespace("fs"), "mcp__fs");
    }

    #[test]
    fn odd_characters_become_underscores() {
        assert_eq!(qualified("fs", "read.file v2"), "mcp__fs__read_file_v2");
    }

    #[test]
    fn long_names_are_cut_and_stay_distinct() {
        let a = qualified("server", &"a".repeat(80));
        let b = qualified("server", &format!("{}b", "a".repeat(79)));
        assert_eq!(a.len(), MAX_TOOL_NAME);
        assert_eq!(b.len(), MAX_TOOL_NAME);
        assert_ne!(a, b);
        assert!(a.starts_with("mcp__server__aaa"));
    }
}
