//! Slash commands: their names, what each says in the popup, and parsing what was typed.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slash {
    Model,
    Approvals,
    New,
    Resume,
    Fork,
    Compact,
    Review,
    Diff,
    Status,
    Mcp,
    Init,
    Quit,
}

/// In the order the popup lists them.
pub const ALL: [Slash; 12] = [
    Slash::Model,
    Slash::Approvals,
    Slash::New,
    Slash::Resume,
    Slash::Fork,
    Slash::Compact,
    Slash::Review,
    Slash::Diff,
    Slash::Status,
    Slash::Mcp,
    Slash::Init,
    Slash::Quit,
];

impl Slash {
    pub fn name(self) -> &'static str {
        match self {
            Slash::Model => "model",
            Slash::Approvals => "approvals",
            Slash::New => "new",
            Slash::Resume => "resume",
            Slash::Fork => "fork",
            Slash::Compact => "compact",
            Slash::Review => "review",
            Slash::Diff => "diff",
            Slash::Status => "status",
            Slash::Mcp => "mcp",
            Slash::Init => "init",
            Slash::Quit => "quit",
        }
    }

    pub fn about(self) -> &'static str {
        match self {
            Slash::Model => "choose the model (or /model NAME)",
            Slash::Approvals => "choose when wright asks before acting",
            Slash::New => "start a new thread",
            Slash::Resume => "switch to an earlier thread",
            Slash::Fork => "continue in a copy of this thread",
            Slash::Compact => "summarize the conversation to free context",
            Slash::Review => "review the uncommitted changes",
            Slash::Diff => "show the working tree's diff",
            Slash::Status => "model, sandbox, approvals and tokens",
            Slash::Mcp => "MCP servers: state, tools, errors",
            Slash::Init => "have the model write an AGENTS.md",
            Slash::Quit => "leave wright",
        }
    }
}

/// What `/init` asks of the model.
pub const INIT_PROMPT: &str = "Create an AGENTS.md file in the repository root for future coding agents. Read the project first (README, build files, test setup), then write short sections: how to build, how to run the tests, code style, and anything surprising about the layout. Keep it under 60 lines and do not invent commands you have not seen.";

/// `/name rest` → the command and its argument; `None` for an unknown name.
pub fn parse(text: &str) -> Option<(Slash, String)> {
    let body = text.strip_prefix('/')?;
    let (name, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
    let cmd = ALL
        .into_iter()
        .find(|c| c.name() == name || (name == "exit" && *c == Slash::Quit))?;
    Some((cmd, rest.trim().to_string()))
}

/// Commands whose name starts with what follows the `/` (the popup's list).
pub fn matches(text: &str) -> Vec<Slash> {
    let Some(typed) = text.strip_prefix('/') else {
        return Vec::new();
    };
    if typed.contains(char::is_whitespace) {
        return Vec::new();
    }
    ALL.into_iter()
        .filter(|c| c.name().starts_with(typed))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_prefixes_complete() {
        assert_eq!(parse("/quit"), Some((Slash::Quit, String::new())));
        assert_eq!(parse("/exit"), Some((Slash::Quit, String::new())));
        assert_eq!(parse("/model gpt-5 "), Some((Slash::Model, "gpt-5".into())));
        assert_eq!(parse("/nope"), None);
        assert_eq!(matches("/n"), vec![Slash::New]);
        assert_eq!(matches("/re"), vec![Slash::Resume, Slash::Review]);
        assert_eq!(matches("/").len(), ALL.len());
        assert!(matches("/model x").is_empty());
    }
}
