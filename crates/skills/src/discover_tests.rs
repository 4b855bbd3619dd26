use std::fs;
use std::path::PathBuf;

use super::*;
use crate::model::SkillConfigEntry;
use crate::test_support::{write_raw, write_skill};

/// A throwaway world: `home`, `wright` (WRIGHT_HOME), `repo` (a git project) and `admin`.
struct World {
    _dir: tempfile::TempDir,
    base: PathBuf,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = fs::canonicalize(dir.path()).expect("canonical tempdir");
        fs::create_dir_all(base.join("repo/.git")).expect("git marker");
        Self { _dir: dir, base }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.base.join(relative)
    }

    fn options(&self, cwd: &str) -> DiscoverOptions {
        DiscoverOptions {
            wright_home: self.path("wright"),
            cwd: self.path(cwd),
            home: Some(self.path("home")),
            include_claude: false,
            extra_roots: Vec::new(),
            admin_root: Some(self.path("admin")),
            project_root_markers: vec![".git".to_string()],
            config: SkillsConfig::default(),
        }
    }
}

fn find<'a>(discovery: &'a Discovery, name: &str) -> Option<&'a Skill> {
    discovery.skills.iter().find(|skill| skill.name == name)
}

fn names(discovery: &Discovery) -> Vec<&str> {
    discovery
        .skills
        .iter()
        .map(|skill| skill.name.as_str())
        .collect()
}

/// Skills in every kind of root, three of them named `shared`.
fn populated_world() -> World {
    let w = World::new();
    write_skill(
        &w.path("repo/sub/.agents/skills/near"),
        "shared",
        "nearest repo copy",
    );
    write_skill(
        &w.path("repo/.agents/skills/top"),
        "shared",
        "project root copy",
    );
    write_skill(
        &w.path("repo/.agents/skills/top-only"),
        "top-only",
        "at the root",
    );
    write_skill(
        &w.path("repo/.codex/skills/codexy"),
        "codexy",
        "codex folder",
    );
    write_skill(
        &w.path("repo/.claude/skills/claude-repo"),
        "claude-repo",
        "claude folder",
    );
    write_skill(
        &w.path(".agents/skills/above"),
        "above",
        "above the project root",
    );
    write_skill(&w.path("wright/skills/mine"), "mine", "user skill");
    write_skill(&w.path("wright/skills/dup"), "shared", "user copy");
    write_skill(
        &w.path("home/.agents/skills/home-agents"),
        "home-agents",
        "home",
    );
    write_skill(
        &w.path("home/.claude/skills/claude-user"),
        "claude-user",
        "claude home",
    );
    write_skill(&w.path("wright/skills/.system/sys"), "sys", "bundled");
    write_skill(&w.path("admin/adm"), "adm", "admin skill");
    write_skill(&w.path("extra/ex"), "ex", "extra root");
    w
}

#[test]
fn every_root_kind_with_precedence_and_order() {
    let w = populated_world();
    let mut opts = w.options("repo/sub");
    opts.extra_roots = vec![w.path("extra")];
    let found = discover(&opts);
    assert!(found.errors.is_empty(), "{:?}", found.errors);

    let shared = find(&found, "shared").expect("shared");
    assert_eq!(shared.path, w.path("repo/sub/.agents/skills/near/SKILL.md"));
    assert_eq!(shared.scope, SkillScope::Repo);
    assert_eq!(shared.description, "nearest repo copy");
    let scope = |name: &str| find(&found, name).map(|skill| skill.scope);
    assert_eq!(scope("top-only"), Some(SkillScope::Repo));
    assert_eq!(scope("codexy"), Some(SkillScope::Repo));
    assert_eq!(scope("mine"), Some(SkillScope::User));
    assert_eq!(scope("home-agents"), Some(SkillScope::User));
    assert_eq!(scope("ex"), Some(SkillScope::User));
    assert_eq!(scope("sys"), Some(SkillScope::System));
    assert_eq!(scope("adm"), Some(SkillScope::Admin));
    assert_eq!(
        scope("above"),
        None,
        "folders above the project root are not scanned"
    );
    assert_eq!(scope("claude-repo"), None);
    assert_eq!(scope("claude-user"), None);
    assert_eq!(
        names(&found),
        [
            "codexy",
            "shared",
            "top-only",
            "ex",
            "home-agents",
            "mine",
            "sys",
            "adm"
        ]
    );
}

#[test]
fn repo_beats_user_when_the_nearer_copy_is_gone() {
    let w = populated_world();
    fs::remove_dir_all(w.path("repo/sub/.agents")).expect("remove");
    let found = discover(&w.options("repo/sub"));
    let shared = find(&found, "shared").expect("shared");
    assert_eq!(shared.path, w.path("repo/.agents/skills/top/SKILL.md"));
    fs::remove_dir_all(w.path("repo/.agents")).expect("remove");
    let found = discover(&w.options("repo/sub"));
    let shared = find(&found, "shared").expect("shared");
    assert_eq!(
        (shared.scope, shared.description.as_str()),
        (SkillScope::User, "user copy")
    );
}

#[test]
fn claude_folders_only_when_asked() {
    let w = populated_world();
    let mut opts = w.options("repo/sub");
    assert!(find(&discover(&opts), "claude-repo").is_none());
    opts.include_claude = true;
    let found = discover(&opts);
    assert_eq!(
        find(&found, "claude-repo").map(|s| s.scope),
        Some(SkillScope::Repo)
    );
    assert_eq!(
        find(&found, "claude-user").map(|s| s.scope),
        Some(SkillScope::User)
    );
}

#[test]
fn bad_files_are_reported_one_by_one_and_good_ones_load() {
    let w = World::new();
    let root = w.path("wright/skills");
    write_skill(&root.join("good"), "good", "fine");
    write_skill(
        &root.join("edge"),
        &"n".repeat(MAX_NAME_CHARS),
        &"d".repeat(MAX_DESCRIPTION_CHARS),
    );
    write_raw(
        &root.join("no-name"),
        "---\ndescription: named after its folder\n---\n",
    );
    let bad = [
        (
            "plain",
            "just markdown\n".to_string(),
            "missing YAML frontmatter",
        ),
        (
            "unclosed",
            "---\nname: x\ndescription: y\n".to_string(),
            "missing YAML frontmatter",
        ),
        (
            "yaml",
            "---\nname: \"open\ndescription: d\n---\n".to_string(),
            "invalid YAML",
        ),
        (
            "no-desc",
            "---\nname: no-desc\n---\n".to_string(),
            "missing field `description`",
        ),
        (
            "long-name",
            format!("---\nname: {}\ndescription: d\n---\n", "n".repeat(65)),
            "invalid name: exceeds maximum length of 64 characters",
        ),
        (
            "long-desc",
            format!("---\nname: x\ndescription: {}\n---\n", "d".repeat(1025)),
            "invalid description: exceeds maximum length of 1024 characters",
        ),
    ];
    for (dir, text, _) in &bad {
        write_raw(&root.join(dir), text);
    }
    fs::create_dir_all(root.join("binary")).expect("dir");
    fs::write(
        root.join("binary/SKILL.md"),
        b"---\nname: \xff\xfe\ndescription: d\n---\n",
    )
    .expect("write");

    let found = discover(&w.options("repo"));
    assert_eq!(names(&found), ["good", &"n".repeat(64), "no-name"]);
    assert_eq!(found.errors.len(), bad.len() + 1, "{:?}", found.errors);
    for (dir, _, message) in &bad {
        let error = found
            .errors
            .iter()
            .find(|error| error.path == root.join(dir).join("SKILL.md"))
            .unwrap_or_else(|| panic!("no error for {dir}"));
        assert!(error.message.contains(message), "{dir}: {}", error.message);
    }
    let binary = found
        .errors
        .iter()
        .find(|e| e.path.ends_with("binary/SKILL.md"));
    assert!(binary.is_some_and(|e| e.message.contains("valid UTF-8")));
}

#[test]
fn hidden_folders_depth_limit_and_nested_skills() {
    let w = World::new();
    let root = w.path("wright/skills");
    write_skill(&root.join(".hidden/secret"), "secret", "hidden");
    write_skill(&root.join("a/b/c/d/e/f"), "deepest", "depth six");
    write_skill(&root.join("a/b/c/d/e/f/g"), "too-deep", "depth seven");
    write_skill(&root.join("outer"), "outer", "outer skill");
    write_skill(&root.join("outer/inner"), "inner", "nested skill");
    let found = discover(&w.options("repo"));
    assert_eq!(names(&found), ["deepest", "inner", "outer"]);
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_without_looping() {
    let w = World::new();
    let root = w.path("wright/skills");
    write_skill(&root.join("real"), "real", "a real skill");
    write_skill(&w.path("elsewhere/linked"), "linked", "outside the root");
    std::os::unix::fs::symlink(&root, root.join("loop")).expect("symlink");
    std::os::unix::fs::symlink(w.path("elsewhere"), root.join("link")).expect("symlink");
    let found = discover(&w.options("repo"));
    assert_eq!(names(&found), ["linked", "real"]);
    assert!(found.errors.is_empty());
}

#[test]
fn config_switches_skills_by_path_and_name_last_wins() {
    let w = populated_world();
    let mut opts = w.options("repo/sub");
    let mine = w.path("wright/skills/mine/SKILL.md");
    opts.config.config = vec![
        SkillConfigEntry {
            path: Some(mine.clone()),
            name: None,
            enabled: false,
        },
        SkillConfigEntry {
            path: None,
            name: Some("adm".into()),
            enabled: false,
        },
        SkillConfigEntry {
            path: None,
            name: Some("codexy".into()),
            enabled: false,
        },
        SkillConfigEntry {
            path: None,
            name: Some("codexy".into()),
            enabled: true,
        },
        SkillConfigEntry {
            path: Some(mine),
            name: Some("x".into()),
            enabled: true,
        },
    ];
    let found = discover(&opts);
    let enabled = |name: &str| find(&found, name).map(|skill| skill.enabled);
    assert_eq!(enabled("mine"), Some(false));
    assert_eq!(enabled("adm"), Some(false));
    assert_eq!(enabled("codexy"), Some(true));
    assert_eq!(enabled("sys"), Some(true));

    opts.config.bundled = Some(crate::model::BundledSkillsConfig { enabled: false });
    assert!(find(&discover(&opts), "sys").is_none());
}

#[test]
fn system_skill_errors_are_not_reported() {
    let w = World::new();
    write_raw(&w.path("wright/skills/.system/broken"), "no front matter\n");
    let found = discover(&w.options("repo"));
    assert!(found.skills.is_empty());
    assert!(found.errors.is_empty());
}

#[test]
fn finds_two_hundred_skills() {
    let w = World::new();
    let root = w.path("repo/.agents/skills");
    for i in 0..200 {
        let dir = root.join(format!("skill-{i:03}"));
        write_skill(
            &dir,
            &format!("skill-{i:03}"),
            &format!("Does thing number {i}."),
        );
        fs::create_dir_all(dir.join("scripts")).expect("scripts dir");
    }
    let found = discover(&w.options("repo"));
    assert!(found.errors.is_empty());
    assert_eq!(found.skills.len(), 200);
    assert!(found
        .skills
        .iter()
        .all(|skill| skill.scope == SkillScope::Repo));
    assert_eq!(found.skills[199].name, "skill-199");
}

#[test]
fn fingerprint_follows_skill_files() {
    let w = World::new();
    let opts = w.options("repo");
    let empty = fingerprint(&opts);
    let path = write_skill(&w.path("repo/.agents/skills/a"), "a", "first");
    let one = fingerprint(&opts);
    assert_ne!(empty, one);
    assert_eq!(one, fingerprint(&opts));
    fs::write(
        &path,
        "---\nname: a\ndescription: a longer description\n---\n",
    )
    .expect("rewrite");
    assert_ne!(one, fingerprint(&opts));
    let changed = fingerprint(&opts);
    let mut other = opts.clone();
    other.config.config.push(SkillConfigEntry {
        path: None,
        name: Some("a".into()),
        enabled: false,
    });
    assert_ne!(changed, fingerprint(&other));
}

#[test]
fn cwd_without_project_root_scans_only_itself() {
    let w = World::new();
    write_skill(&w.path("loose/.agents/skills/here"), "here", "in the cwd");
    write_skill(&w.path(".agents/skills/parent"), "parent", "in the parent");
    let found = discover(&w.options("loose"));
    let names: Vec<&str> = names(&found);
    assert!(names.contains(&"here"));
    assert!(!names.contains(&"parent"), "{names:?}");
}
