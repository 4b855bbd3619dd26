//! The `userAgent` wright reports: clients gate features on the Codex version in it.

/// The version of Codex's App Server protocol wright implements: clients gate features on
/// the version in `userAgent`.
pub const CODEX_PROTOCOL_VERSION: &str = "0.169.0";

/// Codex's shape, `{client}/{version} ({os} {os version}; {arch}) {terminal} ({client};
/// {client version})`, with the Codex protocol version first and wright's own in the terminal
/// slot: `vscode/0.169.0 (Debian 12; x86_64) wright/0.1.0 (vscode; 1.2.3)`.
pub fn user_agent(client: &str, client_version: &str) -> String {
    format!(
        "{client}/{CODEX_PROTOCOL_VERSION} ({}; {}) wright/{} ({client}; {client_version})",
        os_name(),
        std::env::consts::ARCH,
        env!("CARGO_PKG_VERSION")
    )
}

/// `NAME VERSION_ID` from /etc/os-release, else the OS family.
fn os_name() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim_matches('"').to_string())
        };
        match (field("NAME="), field("VERSION_ID=")) {
            (Some(n), Some(v)) => format!("{} {v}", n.split_whitespace().next().unwrap_or(&n)),
            (Some(n), None) => n,
            _ => std::env::consts::OS.to_string(),
        }
    })
    .clone()
}

#[cfg(test)]
mod user_agent_tests {
    #[test]
    fn codex_version_first_wright_beside_it() {
        let ua = super::user_agent("vscode", "1.2.3");
        assert!(ua.starts_with("vscode/0.169.0 ("), "{ua}");
        assert!(
            ua.contains(&format!(
                ") wright/{} (vscode; 1.2.3)",
                env!("CARGO_PKG_VERSION")
            )),
            "{ua}"
        );
    }
}
