//! Which environment variables a command gets (`shell_environment_policy`, Codex's key).
//!
//! Unlike Codex, variables that look like secrets are withheld by default: a command the model
//! chose has no business reading the user's API keys. `ignore_default_excludes = true` or an
//! explicit `set` brings them back.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Names (case-insensitive globs) withheld unless the user opts in.
pub const DEFAULT_SECRET_PATTERNS: &[&str] = &[
    "*KEY*",
    "*SECRET*",
    "*TOKEN*",
    "*PASSWORD*",
    "*PASSWD*",
    "*CREDENTIAL*",
    "*PRIVATE*",
    "*_PAT",
    "*_AUTH",
];

/// What `inherit = "core"` keeps.
const CORE_VARS: &[&str] = &[
    "HOME", "LOGNAME", "PATH", "SHELL", "USER", "USERNAME", "TMPDIR", "TEMP", "TMP", "LANG",
    "LANGUAGE", "TERM", "TZ", "PWD",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Inherit {
    #[default]
    All,
    Core,
    None,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvPolicy {
    #[serde(default)]
    pub inherit: Inherit,
    /// Keep variables that look like secrets.
    #[serde(default)]
    pub ignore_default_excludes: bool,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub include_only: Vec<String>,
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

impl EnvPolicy {
    /// The environment for a command, from `vars` (normally the agent's own).
    pub fn apply(&self, vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
        let mut out: BTreeMap<String, String> = vars
            .into_iter()
            .filter(|(k, _)| match self.inherit {
                Inherit::All => true,
                Inherit::Core => CORE_VARS.contains(&k.as_str()) || k.starts_with("LC_"),
                Inherit::None => false,
            })
            .filter(|(k, _)| {
                self.ignore_default_excludes
                    || !DEFAULT_SECRET_PATTERNS.iter().any(|p| glob_match(p, k))
            })
            .filter(|(k, _)| !self.exclude.iter().any(|p| glob_match(p, k)))
            .collect();
        for (k, v) in &self.set {
            out.insert(k.clone(), v.clone());
        }
        if !self.include_only.is_empty() {
            out.retain(|k, _| self.include_only.iter().any(|p| glob_match(p, k)));
        }
        out.into_iter().collect()
    }
}

/// `*` and `?` globs, ASCII case-insensitive (as Codex matches variable names).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(String, String)> {
        [
            ("PATH", "/bin"),
            ("HOME", "/h"),
            ("OPENAI_API_KEY", "sk-1"),
            ("GITHUB_TOKEN", "ghp"),
            ("DB_PASSWORD", "pw"),
            ("MY_PAT", "pat"),
            ("aws_secret_access_key", "x"),
            ("EDITOR", "vi"),
            ("LC_ALL", "C"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn names(v: &[(String, String)]) -> Vec<&str> {
        v.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn secrets_are_withheld_by_default() {
        let out = EnvPolicy::default().apply(vars());
        assert_eq!(names(&out), ["EDITOR", "HOME", "LC_ALL", "PATH"]);
    }

    #[test]
    fn opting_in_and_core_and_include_only() {
        let all = EnvPolicy {
            ignore_default_excludes: true,
            ..Default::default()
        }
        .apply(vars());
        assert_eq!(all.len(), 9);
        let core = EnvPolicy {
            inherit: Inherit::Core,
            ..Default::default()
        }
        .apply(vars());
        assert_eq!(names(&core), ["HOME", "LC_ALL", "PATH"]);
        let set = EnvPolicy {
            inherit: Inherit::None,
            set: BTreeMap::from([("OPENAI_API_KEY".into(), "given".into())]),
            ..Default::default()
        }
        .apply(vars());
        assert_eq!(set, [("OPENAI_API_KEY".to_string(), "given".to_string())]);
        let only = EnvPolicy {
            include_only: vec!["PA*".into()],
            exclude: vec!["home".into()],
            ..Default::default()
        }
        .apply(vars());
        assert_eq!(names(&only), ["PATH"]);
    }

    #[test]
    fn globs() {
        assert!(glob_match("*KEY*", "openai_api_key"));
        assert!(glob_match("*_PAT", "GH_PAT"));
        assert!(!glob_match("*_PAT", "PATH"));
        assert!(glob_match("A?C", "abc"));
    }
}
