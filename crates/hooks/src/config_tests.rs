use super::*;
use serde_json::json;

fn parse(value: Value) -> Discovered {
    let mut found = Discovered::default();
    parse_hooks(
        &mut found,
        HookSource::User,
        Path::new("/home/u/.wright/hooks.json"),
        &value,
    );
    found
}

#[test]
fn reads_groups_handlers_and_defaults() {
    let found = parse(json!({
        "PreToolUse": [{"matcher": "Bash", "hooks": [
            {"type": "command", "command": "check.sh", "timeout": 5, "statusMessage": "checking"},
            {"type": "command", "command": "log.sh"}
        ]}],
        "Stop": [{"matcher": "ignored", "hooks": [{"type": "command", "command": "done.sh"}]}]
    }));
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    let hooks = &found.hooks;
    assert_eq!(hooks.len(), 3);
    assert_eq!(hooks[0].id.0, "/home/u/.wright/hooks.json:pre_tool_use:0:0");
    assert_eq!(hooks[0].handler.timeout_sec, 5);
    assert_eq!(hooks[0].status_message.as_deref(), Some("checking"));
    assert_eq!(hooks[1].id.0, "/home/u/.wright/hooks.json:pre_tool_use:0:1");
    assert_eq!(hooks[1].handler.timeout_sec, DEFAULT_TIMEOUT_SEC);
    assert_eq!(hooks[1].display_order, 1);
    // Stop ignores its matcher: the hook runs whatever the input.
    assert_eq!(hooks[2].matcher, None);
    assert!(hooks[2].matches(None));
    assert!(hooks[0].matches(Some("Bash")) && !hooks[0].matches(Some("Edit")));
}

#[test]
fn bad_entries_are_warnings_and_the_rest_loads() {
    let found = parse(json!({
        "PreToolUse": [
            {"matcher": "[", "hooks": [{"type": "command", "command": "a"}]},
            {"hooks": [
                {"type": "command"},
                {"type": "command", "command": "  "},
                {"type": "prompt", "prompt": "x"},
                {"type": "command", "command": "b", "async": true},
                {"type": "command", "command": "c", "timeout": -1},
                {"type": "command", "command": "ok"}
            ]},
            "not a group"
        ],
        "Nope": [],
        "state": {"k": {"enabled": false}},
        "Stop": "not a list"
    }));
    let commands: Vec<&str> = found
        .hooks
        .iter()
        .map(|h| h.handler.command.as_str())
        .collect();
    assert_eq!(commands, ["a", "ok"]);
    assert!(found.hooks[0].compiled.is_invalid());
    assert!(!found.hooks[0].matches(Some("Bash")));
    let warnings = found.warnings.join("\n");
    for needle in [
        "invalid matcher \"[\"",
        "missing field `command`",
        "empty hook command",
        "prompt hooks are not supported",
        "async hooks are not supported",
        "invalid value",
        "not a table",
        "unknown hook event \"Nope\"",
        "Stop in",
    ] {
        assert!(warnings.contains(needle), "no {needle:?} in:\n{warnings}");
    }
    assert!(!warnings.contains("\"state\""));
}

#[tokio::test]
async fn discovers_user_and_project_layers_in_order() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let repo = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |path: PathBuf, text: &str| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    };
    write(
        home.path().join("hooks.json"),
        r#"{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"user-json"}]}]}}"#,
    );
    write(
        repo.path().join(".codex/hooks.json"),
        r#"{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"codex-json"}]}]}}"#,
    );
    write(
        repo.path().join(".wright/config.toml"),
        "[[hooks.Stop]]\n[[hooks.Stop.hooks]]\ntype = \"command\"\ncommand = \"wright-toml\"\n",
    );
    write(repo.path().join(".codex/config.toml"), "not = [valid");
    let user_config: toml::Value = "[[hooks.SessionStart]]\nmatcher = \"startup\"\n[[hooks.SessionStart.hooks]]\ntype = \"command\"\ncommand = \"user-toml\"\n"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let found = discover(home.path(), Some(&user_config), Some(repo.path())).await;
    let seen: Vec<(&str, HookSource, i64)> = found
        .hooks
        .iter()
        .map(|h| (h.handler.command.as_str(), h.source, h.display_order))
        .collect();
    assert_eq!(
        seen,
        [
            ("user-json", HookSource::User, 0),
            ("user-toml", HookSource::User, 1),
            ("codex-json", HookSource::Project, 2),
            ("wright-toml", HookSource::Project, 3),
        ]
    );
    assert_eq!(found.hooks[1].source_path, home.path().join("config.toml"));
    assert_eq!(
        found.hooks[3].source_path,
        repo.path().join(".wright/config.toml")
    );
    assert_eq!(found.errors.len(), 1, "{:?}", found.errors);
    assert!(found.errors[0].path.ends_with(".codex/config.toml"));
}
