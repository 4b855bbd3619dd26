use serde_json::json;

use super::*;

fn edit(key: &str, value: Json) -> Edit {
    Edit {
        key_path: key.into(),
        value,
        strategy: Strategy::Replace,
    }
}

fn upsert(key: &str, value: Json) -> Edit {
    Edit {
        strategy: Strategy::Upsert,
        ..edit(key, value)
    }
}

const COMMENTED: &str = r#"# wright config — hand written
model = "gpt-5.5" # the usual one
approval_policy = "on-request"

# Providers
[model_providers.local]
# a llama.cpp server
name = "Local"
base_url = "http://127.0.0.1:8080/v1" # port 8080
wire_api = "chat"

[sandbox_workspace_write]
network_access = false # off by default
"#;

#[test]
fn round_trip_keeps_comments_and_layout() {
    let out = apply_edits(
        COMMENTED,
        &[
            edit("model", json!("o3")),
            edit(
                "model_providers.local.base_url",
                json!("http://127.0.0.1:9090/v1"),
            ),
            edit("sandbox_workspace_write.network_access", json!(true)),
            edit(
                "model_providers.mock.base_url",
                json!("http://127.0.0.1:1/v1"),
            ),
            edit("approval_policy", Json::Null),
            edit("shell_timeout_ms", json!(1000)),
        ],
    )
    .unwrap();
    let text = &out.text;
    for kept in [
        "# wright config — hand written\n",
        "# Providers\n",
        "# a llama.cpp server\n",
        "model = \"o3\" # the usual one\n",
        "base_url = \"http://127.0.0.1:9090/v1\" # port 8080\n",
        "network_access = true # off by default\n",
        "name = \"Local\"\n",
        "[model_providers.mock]\nbase_url = \"http://127.0.0.1:1/v1\"\n",
        "shell_timeout_ms = 1000\n",
    ] {
        assert!(text.contains(kept), "missing {kept:?} in:\n{text}");
    }
    assert!(!text.contains("approval_policy"), "{text}");
    // No empty `[model_providers]` header for the new sub-table.
    assert!(!text.contains("[model_providers]\n"), "{text}");
    let t = &out.table;
    assert_eq!(t["model"].as_str(), Some("o3"));
    assert_eq!(
        t["model_providers"]["local"]["wire_api"].as_str(),
        Some("chat")
    );
    assert_eq!(out.paths[1], ["model_providers", "local", "base_url"]);
}

#[test]
fn an_unchanged_value_keeps_its_exact_text() {
    let text = "limit = 0x10 # hex\nname = 'literal'\n";
    let out = apply_edits(
        text,
        &[edit("limit", json!(16)), edit("name", json!("literal"))],
    )
    .unwrap();
    assert_eq!(out.text, text);
}

#[test]
fn removing_the_last_sub_table_keeps_its_parent() {
    let text = "model = \"a\"\n\n# my tools\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\n";
    let out = apply_edits(text, &[edit("mcp_servers.docs", Json::Null)]).unwrap();
    // The parent table stays (empty), so the text says what the edit means.
    assert!(out.text.contains("[mcp_servers]"), "{}", out.text);
    assert!(!out.text.contains("docs-mcp"), "{}", out.text);
    assert!(out.text.starts_with("model = \"a\"\n"), "{}", out.text);
    let reparsed: toml::Table = out.text.parse().unwrap();
    assert_eq!(
        reparsed.get("mcp_servers"),
        Some(&toml::Value::Table(Default::default()))
    );
}

#[test]
fn upsert_merges_tables_and_replace_replaces_them() {
    let text = "[model_providers.local]\nname = \"Local\" # keep\nbase_url = \"http://a\"\n";
    let merged = apply_edits(
        text,
        &[upsert(
            "model_providers.local",
            json!({"base_url": "http://b", "wire_api": "chat"}),
        )],
    )
    .unwrap();
    assert!(
        merged.text.contains("name = \"Local\" # keep\n"),
        "{}",
        merged.text
    );
    assert!(
        merged.text.contains("base_url = \"http://b\"\n"),
        "{}",
        merged.text
    );
    assert!(
        merged.text.contains("wire_api = \"chat\"\n"),
        "{}",
        merged.text
    );

    let replaced = apply_edits(
        text,
        &[edit(
            "model_providers.local",
            json!({"base_url": "http://b"}),
        )],
    )
    .unwrap();
    assert!(!replaced.text.contains("name"), "{}", replaced.text);
    assert_eq!(
        replaced.table["model_providers"]["local"]
            .as_table()
            .map(|t| t.len()),
        Some(1)
    );
}

#[test]
fn inline_and_dotted_tables_are_edited_in_their_own_style() {
    let text = "headers = { a = \"1\" }\nmodel_providers.x.base_url = \"http://x\"\n";
    let out = apply_edits(
        text,
        &[
            edit("headers.b", json!("2")),
            edit("model_providers.x.name", json!("X")),
            edit("model_providers.x.query_params", json!({"v": "1"})),
        ],
    )
    .unwrap();
    assert!(
        out.text.starts_with("headers = { a = \"1\""),
        "{}",
        out.text
    );
    assert_eq!(out.table["headers"]["b"].as_str(), Some("2"));
    assert!(
        out.text.contains("model_providers.x.name = \"X\""),
        "{}",
        out.text
    );
    assert_eq!(
        out.table["model_providers"]["x"]["query_params"]["v"].as_str(),
        Some("1")
    );
}

#[test]
fn malformed_edits_are_refused() {
    let bad = |e: Edit| apply_edits("model = \"a\"\n", &[e]).unwrap_err();
    assert!(matches!(bad(edit("", json!(1))), WriteError::Validation(_)));
    assert!(matches!(
        bad(edit("a..b", json!(1))),
        WriteError::Validation(_)
    ));
    assert!(matches!(
        bad(edit("notify", json!(["a", null]))),
        WriteError::Validation(m) if m.contains("notify.1")
    ));
    assert!(matches!(
        bad(edit("big", json!(u64::MAX))),
        WriteError::Validation(_)
    ));
    assert!(matches!(
        bad(edit("no_such_table.key", Json::Null)),
        WriteError::PathNotFound(_)
    ));
    // Removing a key that is not there is fine.
    assert!(apply_edits("model = \"a\"\n", &[edit("nope", Json::Null)]).is_ok());
}

fn home_with(text: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), text).unwrap();
    home
}

fn overrides() -> CliOverrides {
    CliOverrides {
        cwd: Some(PathBuf::from("/tmp")),
        ..Default::default()
    }
}

fn write(home: &Path, expected: Option<&str>, edits: &[Edit]) -> Result<WriteOutcome, WriteError> {
    write_user_config(home, &overrides(), None, expected, edits)
}

#[test]
fn an_invalid_result_is_refused_and_the_file_is_unchanged() {
    let home = home_with(COMMENTED);
    for (edits, names) in [
        (vec![edit("sandbox_mode", json!("bogus"))], "sandbox_mode"),
        (vec![edit("model_provider", json!("ghost"))], "ghost"),
        (
            vec![
                edit("model", json!("fine")),
                edit("model_providers.local.request_max_retries", json!("many")),
            ],
            "request_max_retries",
        ),
    ] {
        let err = write(home.path(), None, &edits).unwrap_err();
        assert!(
            matches!(&err, WriteError::Validation(m) if m.contains(names)),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(home.path().join("config.toml")).unwrap(),
            COMMENTED
        );
    }
    let only = std::fs::read_dir(home.path()).unwrap().count();
    assert_eq!(only, 1, "no temporary file left behind");
}

#[test]
fn a_stale_version_is_a_conflict_and_the_current_one_writes() {
    let home = home_with(COMMENTED);
    let table: toml::Table = COMMENTED.parse().unwrap();
    let current = version_of(&table);
    let err = write(
        home.path(),
        Some("sha256:stale"),
        &[edit("model", json!("o3"))],
    )
    .unwrap_err();
    assert!(matches!(err, WriteError::VersionConflict(_)), "{err}");
    assert_eq!(
        std::fs::read_to_string(home.path().join("config.toml")).unwrap(),
        COMMENTED
    );
    let out = write(home.path(), Some(&current), &[edit("model", json!("o3"))]).unwrap();
    assert!(out.written);
    assert_ne!(out.version, current);
    assert_eq!(out.config.model, "o3");
    let text = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(text.contains("model = \"o3\" # the usual one"), "{text}");
    // The version returned is what config/read computes for the new file.
    assert_eq!(out.version, version_of(&text.parse().unwrap()));
    // Writing the same value again changes nothing.
    let again = write(
        home.path(),
        Some(&out.version),
        &[edit("model", json!("o3"))],
    )
    .unwrap();
    assert!(!again.written);
}

#[test]
fn only_the_user_file_is_writable() {
    let home = home_with("");
    let other = home.path().join("other.toml");
    let err = write_user_config(
        home.path(),
        &overrides(),
        Some(other.to_str().unwrap()),
        None,
        &[edit("model", json!("o3"))],
    )
    .unwrap_err();
    assert!(matches!(err, WriteError::ReadOnly(_)), "{err}");
    let same = home.path().join("x/../config.toml");
    write_user_config(
        home.path(),
        &overrides(),
        Some(same.to_str().unwrap()),
        None,
        &[edit("model", json!("o3"))],
    )
    .unwrap();
}

#[test]
fn a_new_file_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let home = home.path().join("new-home");
    let out = write(&home, None, &[edit("model", json!("o3"))]).unwrap();
    let meta = std::fs::metadata(&out.file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::read_to_string(&out.file).unwrap(),
        "model = \"o3\"\n"
    );
}

#[test]
fn symlinks_are_followed_only_to_a_toml_file() {
    let home = tempfile::tempdir().unwrap();
    let dotfiles = home.path().join("dotfiles");
    std::fs::create_dir(&dotfiles).unwrap();
    let real = dotfiles.join("wright.toml");
    std::fs::write(&real, "# mine\nmodel = \"a\"\n").unwrap();
    let link = home.path().join("config.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    write(home.path(), None, &[edit("model", json!("b"))]).unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        "# mine\nmodel = \"b\"\n"
    );

    // A link planted to something that is not a config file is not written through.
    let victim = home.path().join("victim.txt");
    std::fs::write(&victim, "").unwrap();
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let err = write(home.path(), None, &[edit("model", json!("b"))]).unwrap_err();
    assert!(matches!(err, WriteError::ReadOnly(_)), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "");
    // Nor a dangling one.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(home.path().join("gone.toml"), &link).unwrap();
    assert!(matches!(
        write(home.path(), None, &[edit("model", json!("b"))]),
        Err(WriteError::ReadOnly(_))
    ));
}
