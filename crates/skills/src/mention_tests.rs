use std::path::PathBuf;

use super::*;
use crate::model::SkillScope;
use crate::test_support::{skill, write_raw};

fn names<'a>(found: &[&'a Skill]) -> Vec<&'a str> {
    found.iter().map(|skill| skill.name.as_str()).collect()
}

fn catalogue() -> Vec<Skill> {
    let mut off = skill("off", "disabled", SkillScope::User);
    off.enabled = false;
    vec![
        skill("lint", "lint", SkillScope::Repo),
        skill("deploy-app", "deploy", SkillScope::Repo),
        skill("plugin:tool", "namespaced", SkillScope::User),
        skill("path", "named like an env var", SkillScope::User),
        off,
    ]
}

#[test]
fn plain_mentions_need_the_whole_name() {
    let skills = catalogue();
    let found = mentioned("please $deploy-app, then $lint. Also $lint again", &skills);
    // Returned in catalogue order, once each.
    assert_eq!(names(&found), ["lint", "deploy-app"]);
    assert!(mentioned("run $linter and $deploy", &skills).is_empty());
    assert!(mentioned("$unknown and lint without sigil", &skills).is_empty());
    assert_eq!(names(&mentioned("($lint)", &skills)), ["lint"]);
    assert_eq!(
        names(&mentioned("use $plugin:tool", &skills)),
        ["plugin:tool"]
    );
}

#[test]
fn disabled_env_vars_and_ambiguous_names_do_not_match() {
    let mut skills = catalogue();
    assert!(mentioned("$off", &skills).is_empty());
    assert!(mentioned("echo $PATH and $path", &skills).is_empty());
    let mut twin = skill("lint", "second lint", SkillScope::User);
    twin.path = PathBuf::from("/other/lint/SKILL.md");
    skills.push(twin);
    assert!(
        mentioned("$lint", &skills).is_empty(),
        "two enabled skills named lint"
    );
}

#[test]
fn links_select_by_path() {
    let mut skills = catalogue();
    let mut twin = skill("lint", "second lint", SkillScope::User);
    twin.path = PathBuf::from("/other/lint/SKILL.md");
    skills.push(twin);
    let found = mentioned("use [$lint](/other/lint/SKILL.md) now", &skills);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].path, PathBuf::from("/other/lint/SKILL.md"));
    let found = mentioned("[$x] (skill:///skills/lint/SKILL.md)", &skills);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].description, "lint");
    // A link to a file that is no skill selects nothing, and its name is not a plain mention.
    assert!(mentioned("[$deploy-app](/nowhere/SKILL.md)", &skills).is_empty());
}

#[test]
fn inline_wraps_the_whole_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "---\nname: lint\ndescription: Run it\n---\n\n# Lint\nSteps.\n";
    let path = write_raw(&dir.path().join("lint"), text);
    let mut lint = skill("lint", "Run it", SkillScope::Repo);
    lint.path = path.clone();
    let expected = format!(
        "<skill>\n<name>lint</name>\n<path>{}</path>\n{text}\n</skill>",
        path.display()
    );
    assert_eq!(inline(&lint).expect("inlined"), expected);

    std::fs::write(&path, vec![b'a'; MAX_SKILL_FILE_BYTES + 1]).expect("write");
    let error = inline(&lint).expect_err("too large");
    assert!(error.message.contains("larger than 256 KiB"), "{error}");
    assert_eq!(error.path, path);

    lint.path = dir.path().join("missing/SKILL.md");
    assert!(inline(&lint)
        .expect_err("missing")
        .message
        .starts_with("failed to read file"));
}
