//! Which environment variables a command gets (`shell_environment_policy`, Codex's key).
//!
//! Unlike Codex, variables that look like secrets are withheld by default: a command the model
//! chose has no business reading the user's API keys. A variable looks like a secret when its
//! name matches one of [`DEFAULT_SECRET_PATTERNS`] or its value carries a credential (a URL with
//! a password, a connection string with a password, a well-known token shape, a private key;
//! see [`secret_value_shape`]). `ignore_default_excludes = true` turns both off; an explicit
//! `set` always wins. The names withheld, and why, are logged at debug level; values never are.

mod values;
pub use values::secret_value_shape;

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// Names (case-insensitive globs) withheld unless the user opts in.
pub const DEFAULT_SECRET_PATTERNS: &[&str] = &[
    "*KEY*",
    "*SECRET*",
    "*TOKEN*",
    "*PASSWORD*",
    "*PASSWD*",
    "*PASSPHRASE*",
    "*CREDENTIAL*",
    "*PRIVATE*",
    "*_PAT",
    "*_AUTH",
    "*_PASS",
    // `*_PWD`, not `*PWD`: `PWD` and `OLDPWD` are the working directory.
    "*_PWD",
    // PGPASSWORD, and PGPASSFILE: a path, but only ever set to hand psql a credential file.
    "PGPASS*",
    "DSN",
    "*_DSN",
    "*WEBHOOK*",
    "*COOKIE*",
    "DOCKER_AUTH_CONFIG",
    // Password-manager CLI sessions (Bitwarden, 1Password). Not `*SESSION*`: that would take
    // XDG_SESSION_ID, DBUS_SESSION_BUS_ADDRESS, DESKTOP_SESSION, which are not secrets.
    "BW_SESSION",
    "OP_SESSION_*",
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
    /// Keep variables that look like secrets (by name or by value).
    #[serde(default)]
    pub ignore_default_excludes: bool,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub include_only: Vec<String>,
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

/// Why a variable was withheld. Holds only static text, never any part of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRule {
    /// The name matched this pattern of [`DEFAULT_SECRET_PATTERNS`].
    Name(&'static str),
    /// The value has this shape (see [`secret_value_shape`]), e.g. "URL with password".
    Value(&'static str),
}

/// Variables withheld as secrets: name and rule, never the value.
pub type Withheld = Vec<(String, SecretRule)>;

impl fmt::Display for SecretRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRule::Name(pattern) => write!(f, "name {pattern}"),
            SecretRule::Value(shape) => write!(f, "value: {shape}"),
        }
    }
}

impl EnvPolicy {
    /// The environment for a command, from `vars` (normally the agent's own). Logs the names
    /// withheld as secrets (one debug event; never the values).
    pub fn apply(&self, vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
        let (env, withheld) = self.apply_reporting(vars);
        if !withheld.is_empty() {
            tracing::debug!(count = withheld.len(), "{}", withheld_message(&withheld));
        }
        env
    }

    /// [`EnvPolicy::apply`], also returning the variables the default secret rules withheld
    /// (sorted by name) and the rule that withheld each. A variable the command would not have
    /// got anyway (not inherited, `exclude`d, outside `include_only`, replaced by `set`) is not
    /// listed, and its value is not scanned.
    pub fn apply_reporting(
        &self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> (Vec<(String, String)>, Withheld) {
        let mut out = BTreeMap::new();
        let mut withheld = Vec::new();
        for (k, v) in vars {
            let inherited = match self.inherit {
                Inherit::All => true,
                Inherit::Core => CORE_VARS.contains(&k.as_str()) || k.starts_with("LC_"),
                Inherit::None => false,
            };
            if !inherited
                || self.exclude.iter().any(|p| glob_match(p, &k))
                || self.set.contains_key(&k)
                || !self.included(&k)
            {
                continue;
            }
            if !self.ignore_default_excludes {
                if let Some(rule) = secret_rule(&k, &v) {
                    withheld.push((k, rule));
                    continue;
                }
            }
            out.insert(k, v);
        }
        for (k, v) in &self.set {
            if self.included(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        withheld.sort_by(|a, b| a.0.cmp(&b.0));
        (out.into_iter().collect(), withheld)
    }

    fn included(&self, name: &str) -> bool {
        self.include_only.is_empty() || self.include_only.iter().any(|p| glob_match(p, name))
    }
}

/// The debug line listing withheld variables: names and rules only. It takes no values, so it
/// cannot leak one.
pub fn withheld_message(withheld: &[(String, SecretRule)]) -> String {
    let mut msg = String::from("shell_environment_policy: withheld from commands: ");
    for (i, (name, rule)) in withheld.iter().enumerate() {
        if i > 0 {
            msg.push_str(", ");
        }
        msg.push_str(name);
        msg.push_str(" (");
        msg.push_str(&rule.to_string());
        msg.push(')');
    }
    msg
}

/// Whether the default rules withhold `name=value`, and which rule: the name patterns first,
/// then the value shapes.
pub fn secret_rule(name: &str, value: &str) -> Option<SecretRule> {
    if let Some(pattern) = DEFAULT_SECRET_PATTERNS.iter().find(|p| glob_match(p, name)) {
        return Some(SecretRule::Name(pattern));
    }
    secret_value_shape(value).map(SecretRule::Value)
}

/// Value shapes (the [`SecretRule::Value`] labels).
pub mod shape {
    pub const URL_PASSWORD: &str = "URL with password";
    pub const URL_KEY_USER: &str = "URL with a key as user";
    pub const PASSWORD_FIELD: &str = "connection string with password";
    pub const KEY_FIELD: &str = "key or token parameter";
    pub const PRIVATE_KEY: &str = "private key";
    pub const JWT: &str = "JWT";
    pub const SENDGRID: &str = "SendGrid key";
    pub const AUTH_HEADER: &str = "Authorization header credentials";
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
mod tests;
