//! The layers `config.toml` settings come from, lowest precedence first: the user's file
//! (`$WRIGHT_HOME/config.toml`), the selected profile, and the session's `-c key=value`
//! overrides and flags. [`crate::config::Config`] is typed from their merge; `config/read`
//! shows them with the layer each key came from, and config writes edit the user layer.
//!
//! Layers are TOML tables merged key by key (tables merge, anything else is replaced), so a
//! key's origin is the highest layer that sets it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{CliOverrides, ConfigError};

/// Where a layer comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerSource {
    /// `$WRIGHT_HOME/config.toml` (which need not exist).
    User { file: PathBuf },
    /// The selected profile: `[profiles.NAME]` in the user's file, or the file
    /// `$WRIGHT_HOME/NAME.config.toml`.
    Profile { name: String, file: PathBuf },
    /// `-c key=value` overrides and the command-line flags (`--model`, `--sandbox`,
    /// `--profile`).
    SessionFlags,
}

/// One layer: where it comes from and what it sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub source: LayerSource,
    pub table: toml::Table,
}

/// The layers of one configuration, lowest precedence first. The user layer is always there
/// (empty when the file is absent); the others only when they set something or are selected.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerStack {
    layers: Vec<Layer>,
}

impl LayerStack {
    /// Reads `$WRIGHT_HOME/config.toml` (absent is fine) and stacks the profile and the
    /// overrides on it.
    pub fn load(home: &Path, overrides: &CliOverrides) -> Result<LayerStack, ConfigError> {
        let path = user_config_path(home);
        let user = match std::fs::read_to_string(&path) {
            Ok(text) => parse_table(&text, &path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::with_user_table(user, home, overrides)
    }

    /// The stack for this content of the user's file (used to validate a write before it is
    /// made).
    pub fn with_user_table(
        user: toml::Table,
        home: &Path,
        overrides: &CliOverrides,
    ) -> Result<LayerStack, ConfigError> {
        let mut session = toml::Table::new();
        for raw in &overrides.config {
            let (key, value) = parse_override(raw)?;
            set_dotted(&mut session, &key, value);
        }
        // Flags beat `-c`, as in Codex: they go in last.
        if let Some(profile) = &overrides.profile {
            session.insert("profile".into(), toml::Value::String(profile.clone()));
        }
        if let Some(model) = &overrides.model {
            session.insert("model".into(), toml::Value::String(model.clone()));
        }
        if let Some(mode) = overrides.sandbox_mode {
            session.insert(
                "sandbox_mode".into(),
                toml::Value::String(mode.as_str().into()),
            );
        }
        // The profile may itself be chosen by -c, so look at the session layer first.
        let profile = session
            .get("profile")
            .or_else(|| user.get("profile"))
            .and_then(|v| v.as_str())
            .map(String::from);
        let user_file = user_config_path(home);
        let mut layers = Vec::with_capacity(3);
        let profile_layer = match profile {
            None => None,
            Some(name) => {
                let inline = user
                    .get("profiles")
                    .and_then(|p| p.get(&name))
                    .and_then(|p| p.as_table())
                    .cloned();
                Some(match inline {
                    Some(table) => Layer {
                        source: LayerSource::Profile {
                            name,
                            file: user_file.clone(),
                        },
                        table,
                    },
                    None => {
                        let path = home.join(format!("{name}.config.toml"));
                        let table = match std::fs::read_to_string(&path) {
                            Ok(text) => parse_table(&text, &path)?,
                            Err(_) => return Err(ConfigError::UnknownProfile(name)),
                        };
                        Layer {
                            source: LayerSource::Profile { name, file: path },
                            table,
                        }
                    }
                })
            }
        };
        layers.push(Layer {
            source: LayerSource::User { file: user_file },
            table: user,
        });
        layers.extend(profile_layer);
        if !session.is_empty() {
            layers.push(Layer {
                source: LayerSource::SessionFlags,
                table: session,
            });
        }
        Ok(LayerStack { layers })
    }

    /// Lowest precedence first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The user's file as parsed.
    pub fn user(&self) -> &toml::Table {
        // `with_user_table` always puts the user layer first.
        &self.layers[0].table
    }

    /// All layers merged.
    pub fn effective(&self) -> toml::Table {
        let mut out = toml::Table::new();
        for layer in &self.layers {
            merge(&mut out, layer.table.clone());
        }
        out
    }

    /// Dotted key of every value set (array elements by index, `a.0.b`) → index into
    /// [`Self::layers`] of the layer it comes from.
    pub fn origins(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let mut path = Vec::new();
            for (key, value) in &layer.table {
                path.push(key.clone());
                record_origins(value, i, &mut path, &mut out);
                path.pop();
            }
        }
        out
    }

    /// The highest layer that sets the value at `path`, with that value.
    pub fn winner(&self, path: &[String]) -> Option<(usize, &toml::Value)> {
        self.layers
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, layer)| value_at(&layer.table, path).map(|v| (i, v)))
    }
}

/// `$WRIGHT_HOME/config.toml`.
pub fn user_config_path(home: &Path) -> PathBuf {
    home.join("config.toml")
}

/// The value at a dotted path (array elements by index).
pub fn value_at<'a>(table: &'a toml::Table, path: &[String]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = table.get(first)?;
    for seg in rest {
        cur = match cur {
            toml::Value::Table(t) => t.get(seg)?,
            toml::Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// A layer's version: `sha256:` and the hex digest of its content as canonical JSON (keys
/// sorted), as Codex computes it. Formatting and comments do not change it.
pub fn version_of(table: &toml::Table) -> String {
    let json = serde_json::to_value(table).unwrap_or(serde_json::Value::Null);
    let bytes = serde_json::to_vec(&canonical(json)).unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    let mut out = String::from("sha256:");
    for b in digest.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn canonical(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let sorted: BTreeMap<String, serde_json::Value> =
                map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            serde_json::Value::Object(sorted.into_iter().collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(canonical).collect())
        }
        other => other,
    }
}

fn record_origins(
    value: &toml::Value,
    layer: usize,
    path: &mut Vec<String>,
    out: &mut BTreeMap<String, usize>,
) {
    match value {
        toml::Value::Table(table) if !table.is_empty() => {
            for (key, value) in table {
                path.push(key.clone());
                record_origins(value, layer, path, out);
                path.pop();
            }
        }
        toml::Value::Array(items) if !items.is_empty() => {
            // A higher layer replaces a whole array: forget the elements of a lower one.
            let prefix = format!("{}.", path.join("."));
            out.retain(|k, _| !k.starts_with(&prefix));
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                record_origins(item, layer, path, out);
                path.pop();
            }
        }
        _ => {
            out.insert(path.join("."), layer);
        }
    }
}

pub(crate) fn parse_table(text: &str, path: &Path) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// `key=value`: value is TOML when it parses as TOML, else the raw text as a string (so
/// `-c model=o3` works without quotes, as in Codex).
pub fn parse_override(raw: &str) -> Result<(String, toml::Value), ConfigError> {
    let (key, value) = raw
        .split_once('=')
        .ok_or_else(|| ConfigError::Override(raw.to_string()))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(ConfigError::Override(raw.to_string()));
    }
    let value = value.trim();
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    Ok((key.to_string(), parsed))
}

fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut cur = table;
    for part in parts {
        let entry = cur
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        cur = next;
    }
    cur.insert(last.to_string(), value);
}

/// Deep merge: tables merge key by key, anything else is replaced.
pub(crate) fn merge(base: &mut toml::Table, layer: toml::Table) {
    for (k, v) in layer {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(l)) => merge(b, l),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    fn stack(user: &str, config: &[&str], profile: Option<&str>) -> LayerStack {
        let o = CliOverrides {
            config: config.iter().map(|s| s.to_string()).collect(),
            profile: profile.map(String::from),
            ..Default::default()
        };
        LayerStack::with_user_table(table(user), Path::new("/nonexistent-home"), &o).unwrap()
    }

    #[test]
    fn origins_name_the_highest_layer() {
        let s = stack(
            "model = \"a\"\napproval_policy = \"never\"\nnotify = [\"x\", \"y\"]\n\
             [profiles.fast]\nmodel = \"b\"\n[sandbox_workspace_write]\nnetwork_access = true\n",
            &["approval_policy=on-request", "notify=[\"z\"]"],
            Some("fast"),
        );
        let sources: Vec<_> = s.layers().iter().map(|l| l.source.clone()).collect();
        assert_eq!(
            sources,
            [
                LayerSource::User {
                    file: "/nonexistent-home/config.toml".into()
                },
                LayerSource::Profile {
                    name: "fast".into(),
                    file: "/nonexistent-home/config.toml".into()
                },
                LayerSource::SessionFlags,
            ]
        );
        let o = s.origins();
        assert_eq!(o["model"], 1);
        assert_eq!(o["approval_policy"], 2);
        assert_eq!(o["profile"], 2);
        assert_eq!(o["sandbox_workspace_write.network_access"], 0);
        assert_eq!(o["profiles.fast.model"], 0);
        // The session's one-element array replaced the file's two elements.
        assert_eq!(o["notify.0"], 2);
        assert!(!o.contains_key("notify.1"), "{o:?}");
        let eff = s.effective();
        assert_eq!(eff["model"].as_str(), Some("b"));
        assert_eq!(eff["approval_policy"].as_str(), Some("on-request"));
        let (layer, value) = s.winner(&["model".to_string()]).unwrap();
        assert_eq!((layer, value.as_str()), (1, Some("b")));
    }

    #[test]
    fn versions_ignore_formatting_but_not_content() {
        let a = version_of(&table("# c\nmodel = \"a\"\n[t]\nx = 1\ny = 2\n"));
        let b = version_of(&table("model=\"a\"\n\n\n[t]\ny = 2 # why\nx = 1\n"));
        let c = version_of(&table("model = \"b\"\n[t]\nx = 1\ny = 2\n"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64, "{a}");
    }

    #[test]
    fn no_session_layer_without_overrides() {
        let s = stack("model = \"a\"\n", &[], None);
        assert_eq!(s.layers().len(), 1);
        assert_eq!(s.user()["model"].as_str(), Some("a"));
    }
}
