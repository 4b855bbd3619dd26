//! Writes to the user's `config.toml` (`config/value/write`, `config/batchWrite`).
//!
//! An edit sets a dotted key to a JSON value (`null` removes it); `upsert` merges a table into
//! an existing one. The file is edited in place with `toml_edit`, so comments, key order and
//! formatting outside the edited keys stay as the user wrote them. A write is checked as a
//! whole before anything touches the disk: the resulting config must load (with the session's
//! profile and `-c` overrides), and the file must still be the version the client read. It is
//! then written atomically (a temporary file in the same directory, renamed over the old one).

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde_json::Value as Json;
use toml_edit::{DocumentMut, Item, TableLike};

use crate::config::{CliOverrides, Config};
use crate::config_layers::{merge, user_config_path, value_at, version_of, LayerStack};

/// A config.toml bigger than this is not one wright wrote or should rewrite.
const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// One edit of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// Dotted key, e.g. `model_providers.local.base_url`.
    pub key_path: String,
    /// The new value; `null` removes the key.
    pub value: Json,
    pub strategy: Strategy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The value replaces whatever was there.
    Replace,
    /// A table is merged into an existing table key by key (recursively); anything else
    /// replaces.
    Upsert,
}

/// Why a write was refused. Nothing was written in every case.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The target is not the user's config.toml, or cannot safely be written.
    #[error("{0}")]
    ReadOnly(String),
    /// The file changed since the client read it.
    #[error("{0}")]
    VersionConflict(String),
    /// An edit is malformed, or the result would not be a valid config.
    #[error("{0}")]
    Validation(String),
    /// A key to remove sits under a table that does not exist.
    #[error("{0}")]
    PathNotFound(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

/// A write that happened (or had nothing to change).
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    /// The user's config.toml (absolute; a symlink stays a symlink and its target was written).
    pub file: PathBuf,
    /// The user layer's version after the write.
    pub version: String,
    /// The layers after the write.
    pub stack: LayerStack,
    /// The config after the write.
    pub config: Config,
    /// The key paths the edits named, in order.
    pub paths: Vec<Vec<String>>,
    /// Whether the file changed.
    pub written: bool,
}

/// Serializes writers in this process; the version check and the final compare catch the rest.
static WRITE_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Applies `edits` to `$WRIGHT_HOME/config.toml`, all or none. `file_path`, when given, must
/// name that file. Blocking: call it off the async threads.
pub fn write_user_config(
    home: &Path,
    overrides: &CliOverrides,
    file_path: Option<&str>,
    expected_version: Option<&str>,
    edits: &[Edit],
) -> Result<WriteOutcome, WriteError> {
    let home = std::path::absolute(home).map_err(|source| WriteError::Io {
        context: format!("cannot resolve {}", home.display()),
        source,
    })?;
    let user_file = user_config_path(&home);
    if let Some(given) = file_path {
        let given = Path::new(given);
        if !given.is_absolute() || normalize(given) != normalize(&user_file) {
            return Err(WriteError::ReadOnly(format!(
                "only the user config {} can be written, not {}",
                user_file.display(),
                given.display()
            )));
        }
    }
    if edits.is_empty() {
        return Err(WriteError::Validation("no edits".into()));
    }
    let _guard = WRITE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let target = write_target(&user_file)?;
    let original = match &target.existing {
        true => Some(read_capped(&target.path)?),
        false => None,
    };
    let text = original.as_deref().unwrap_or("");
    let table: toml::Table = text.parse().map_err(|e| {
        WriteError::Validation(format!(
            "{} does not parse, fix it by hand first: {e}",
            user_file.display()
        ))
    })?;
    if let Some(expected) = expected_version {
        if expected != version_of(&table) {
            return Err(WriteError::VersionConflict(
                "Configuration was modified since last read. Fetch latest version and retry."
                    .into(),
            ));
        }
    }
    let applied = apply_edits(text, edits)?;
    let stack = LayerStack::with_user_table(applied.table.clone(), &home, overrides)
        .map_err(|e| WriteError::Validation(format!("the config would be invalid: {e}")))?;
    let config = Config::from_stack(&stack, &home, overrides)
        .map_err(|e| WriteError::Validation(format!("the config would be invalid: {e}")))?;
    let written = applied.text != text;
    if written {
        persist(&target, original.as_deref(), &applied.text, &home)?;
    }
    Ok(WriteOutcome {
        file: user_file,
        version: version_of(&applied.table),
        stack,
        config,
        paths: applied.paths,
        written,
    })
}

/// The result of applying edits to a file's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub text: String,
    pub table: toml::Table,
    pub paths: Vec<Vec<String>>,
}

/// Applies `edits` to the TOML `text`, changing only the edited keys' text.
pub fn apply_edits(text: &str, edits: &[Edit]) -> Result<Applied, WriteError> {
    let parse_err = |e: &dyn std::fmt::Display| {
        WriteError::Validation(format!(
            "config.toml does not parse, fix it by hand first: {e}"
        ))
    };
    let mut doc: DocumentMut = text.parse().map_err(|e| parse_err(&e))?;
    let before: toml::Table = text.parse().map_err(|e| parse_err(&e))?;
    let mut table = before.clone();
    let mut paths = Vec::with_capacity(edits.len());
    for edit in edits {
        let path = parse_key_path(&edit.key_path)?;
        match json_to_toml(&edit.value, &edit.key_path)? {
            None => clear_path(&mut table, &path)?,
            Some(value) => set_path(&mut table, &path, value, edit.strategy),
        }
        paths.push(path);
    }
    for path in &paths {
        let new = value_at(&table, path);
        let old = value_at(&before, path);
        if new != old {
            sync(doc.as_table_mut(), false, path, new, old);
        }
    }
    let text = doc.to_string();
    // The text must say exactly what the edits mean; anything else is a bug, not a write.
    let reparsed: toml::Table = text.parse().map_err(|e| WriteError::Io {
        context: "the edited config.toml does not parse (a wright bug; nothing was written)".into(),
        source: std::io::Error::other(format!("{e}")),
    })?;
    if reparsed != table {
        return Err(WriteError::Io {
            context:
                "the edited config.toml differs from the edits (a wright bug; nothing was written)"
                    .into(),
            source: std::io::Error::other("mismatch"),
        });
    }
    Ok(Applied { text, table, paths })
}

/// `a.b.c` → `["a", "b", "c"]`; no empty segment.
pub fn parse_key_path(key_path: &str) -> Result<Vec<String>, WriteError> {
    if key_path.trim().is_empty() {
        return Err(WriteError::Validation("keyPath must not be empty".into()));
    }
    let segments: Vec<String> = key_path.split('.').map(String::from).collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(WriteError::Validation(format!(
            "keyPath `{key_path}` has an empty segment"
        )));
    }
    Ok(segments)
}

/// `None` for `null` (remove the key).
fn json_to_toml(value: &Json, key_path: &str) -> Result<Option<toml::Value>, WriteError> {
    fn convert(value: &Json, at: &str) -> Result<toml::Value, WriteError> {
        Ok(match value {
            Json::Null => {
                return Err(WriteError::Validation(format!(
                    "`{at}`: null is only allowed as the whole value (to remove the key)"
                )))
            }
            Json::Bool(b) => toml::Value::Boolean(*b),
            Json::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => toml::Value::Integer(i),
                (None, Some(f)) if n.is_f64() && f.is_finite() => toml::Value::Float(f),
                _ => {
                    return Err(WriteError::Validation(format!(
                        "`{at}`: {n} does not fit a TOML integer"
                    )))
                }
            },
            Json::String(s) => toml::Value::String(s.clone()),
            Json::Array(items) => toml::Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| convert(v, &format!("{at}.{i}")))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => toml::Value::Table(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), convert(v, &format!("{at}.{k}"))?)))
                    .collect::<Result<_, WriteError>>()?,
            ),
        })
    }
    match value {
        Json::Null => Ok(None),
        other => convert(other, key_path).map(Some),
    }
}

fn set_path(root: &mut toml::Table, path: &[String], value: toml::Value, strategy: Strategy) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = root;
    for seg in parents {
        let entry = cur
            .entry(seg.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        cur = next;
    }
    match (strategy, cur.get_mut(last), value) {
        (Strategy::Upsert, Some(toml::Value::Table(existing)), toml::Value::Table(new)) => {
            merge(existing, new)
        }
        (_, _, value) => {
            cur.insert(last.clone(), value);
        }
    }
}

fn clear_path(root: &mut toml::Table, path: &[String]) -> Result<(), WriteError> {
    let not_found = || WriteError::PathNotFound(format!("Path not found: {}", path.join(".")));
    let Some((last, parents)) = path.split_last() else {
        return Err(not_found());
    };
    let mut cur = root;
    for seg in parents {
        match cur.get_mut(seg) {
            Some(toml::Value::Table(next)) => cur = next,
            _ => return Err(not_found()),
        }
    }
    cur.remove(last);
    Ok(())
}

/// Makes the document hold `new` at `path` (absent: removed), touching as little text as
/// possible. `old` is the value there before the edits, so unchanged parts keep their exact
/// text. `inline` is whether `table` is an inline table (which holds only values).
fn sync(
    table: &mut dyn TableLike,
    inline: bool,
    path: &[String],
    new: Option<&toml::Value>,
    old: Option<&toml::Value>,
) {
    let Some((key, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        match new {
            None => {
                table.remove(key);
            }
            Some(value) => match table.get_mut(key) {
                Some(item) => assign(item, inline, value, old),
                None => {
                    let dotted = table.is_dotted();
                    table.insert(key, new_item(value, inline, dotted));
                }
            },
        }
        return;
    }
    if !table.get(key).is_some_and(Item::is_table_like) {
        if new.is_none() {
            return;
        }
        let dotted = table.is_dotted();
        table.insert(key, empty_table(inline, dotted));
    }
    if let Some(item) = table.get_mut(key) {
        let child_inline = inline || item.is_inline_table();
        if let Some(child) = item.as_table_like_mut() {
            sync(child, child_inline, rest, new, old);
        }
        // A table that only existed as the parent of `[a.b]` headers is not written once its
        // last child is removed; the edit leaves it empty, so it gets a header of its own.
        if let Some(t) = item.as_table_mut() {
            if new.is_none() && t.is_empty() && t.is_implicit() {
                t.set_implicit(false);
            }
        }
    }
}

/// Replaces `item` by `value`, keeping its decoration (comments beside it) and, for tables,
/// every entry that did not change.
fn assign(item: &mut Item, inline: bool, value: &toml::Value, old: Option<&toml::Value>) {
    if old == Some(value) {
        return;
    }
    if let (toml::Value::Table(new_table), true) = (value, item.is_table_like()) {
        let child_inline = inline || item.is_inline_table();
        let old_table = old.and_then(toml::Value::as_table);
        if let Some(table) = item.as_table_like_mut() {
            let stale: Vec<String> = table
                .iter()
                .map(|(k, _)| k.to_string())
                .filter(|k| !new_table.contains_key(k))
                .collect();
            for k in stale {
                table.remove(&k);
            }
            for (k, v) in new_table {
                let old_v = old_table.and_then(|t| t.get(k));
                sync(table, child_inline, std::slice::from_ref(k), Some(v), old_v);
            }
        }
        return;
    }
    let mut replacement = new_item(value, inline, false);
    if let (Item::Value(new_value), Item::Value(old_value)) = (&mut replacement, &*item) {
        *new_value.decor_mut() = old_value.decor().clone();
    }
    *item = replacement;
}

fn empty_table(inline: bool, dotted: bool) -> Item {
    if inline {
        return Item::Value(toml_edit::Value::InlineTable(toml_edit::InlineTable::new()));
    }
    let mut table = toml_edit::Table::new();
    if dotted {
        table.set_dotted(true);
    } else {
        // `[a.b]` alone, without an empty `[a]` above it.
        table.set_implicit(true);
    }
    Item::Table(table)
}

/// A new item for `value`: a table becomes a `[section]` (or, under a dotted key, more dotted
/// keys) unless it must be inline.
fn new_item(value: &toml::Value, inline: bool, dotted: bool) -> Item {
    match value {
        toml::Value::Table(t) if !inline => {
            let mut table = toml_edit::Table::new();
            for (k, v) in t {
                table.insert(k, new_item(v, false, dotted));
            }
            if dotted {
                table.set_dotted(true);
            } else if !t.is_empty() && t.values().all(toml::Value::is_table) {
                // Only sub-tables: no empty `[a]` header above `[a.b]`.
                table.set_implicit(true);
            }
            Item::Table(table)
        }
        other => Item::Value(edit_value(other)),
    }
}

fn edit_value(value: &toml::Value) -> toml_edit::Value {
    match value {
        toml::Value::String(s) => s.as_str().into(),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(d) => match d.to_string().parse::<toml_edit::Datetime>() {
            Ok(d) => d.into(),
            Err(_) => d.to_string().into(),
        },
        toml::Value::Array(items) => {
            toml_edit::Value::Array(items.iter().map(edit_value).collect())
        }
        toml::Value::Table(t) => {
            let mut inline = toml_edit::InlineTable::new();
            for (k, v) in t {
                inline.insert(k, edit_value(v));
            }
            toml_edit::Value::InlineTable(inline)
        }
    }
}

/// The file a write goes to.
struct Target {
    /// The user's config.toml, or the file its symlink points to.
    path: PathBuf,
    existing: bool,
    /// Permissions to give the new file.
    mode: u32,
}

/// Where to write: config.toml itself, or — when it is a symlink (a dotfiles checkout, say) —
/// the file it points to, but only when that is a regular `.toml` file of this user's (and,
/// as every write, one that parses as TOML): a link planted to make wright overwrite
/// something else is refused.
fn write_target(user_file: &Path) -> Result<Target, WriteError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = match std::fs::symlink_metadata(user_file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Target {
                path: user_file.to_path_buf(),
                existing: false,
                mode: 0o600,
            })
        }
        Err(source) => {
            return Err(WriteError::Io {
                context: format!("cannot inspect {}", user_file.display()),
                source,
            })
        }
    };
    let (path, meta) = if meta.file_type().is_symlink() {
        let real = std::fs::canonicalize(user_file).map_err(|e| {
            WriteError::ReadOnly(format!(
                "{} is a symlink that cannot be resolved ({e}); refusing to write through it",
                user_file.display()
            ))
        })?;
        let meta = std::fs::metadata(&real).map_err(|source| WriteError::Io {
            context: format!("cannot inspect {}", real.display()),
            source,
        })?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let is_toml = real.extension().is_some_and(|e| e == "toml");
        if !meta.is_file() || meta.uid() != me || !is_toml {
            return Err(WriteError::ReadOnly(format!(
                "{} links to {}, which is not a .toml file of yours; refusing to write through it",
                user_file.display(),
                real.display()
            )));
        }
        (real, meta)
    } else {
        (user_file.to_path_buf(), meta)
    };
    if !meta.is_file() {
        return Err(WriteError::ReadOnly(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(Target {
        path,
        existing: true,
        mode: meta.permissions().mode() & 0o7777,
    })
}

fn read_capped(path: &Path) -> Result<String, WriteError> {
    let io = |source| WriteError::Io {
        context: format!("cannot read {}", path.display()),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(WriteError::Validation(format!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_CONFIG_BYTES >> 20
        )));
    }
    Ok(text)
}

/// Temporary file beside the target, synced, then renamed over it — after checking the target
/// still holds what was read, so an edit made meanwhile by hand is not lost.
fn persist(
    target: &Target,
    original: Option<&str>,
    text: &str,
    home: &Path,
) -> Result<(), WriteError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = target.path.parent().unwrap_or(home);
    let io = |what: &str, source| WriteError::Io {
        context: format!("cannot write {} ({what})", target.path.display()),
        source,
    };
    if !target.existing {
        crate::auth::create_private_dir(dir).map_err(|e| io("create its directory", e))?;
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.toml.")
        .tempfile_in(dir)
        .map_err(|e| io("create a temporary file", e))?;
    tmp.write_all(text.as_bytes())
        .map_err(|e| io("write the temporary file", e))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(target.mode))
        .map_err(|e| io("set permissions", e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| io("sync the temporary file", e))?;
    let now = match std::fs::read_to_string(&target.path) {
        Ok(now) => Some(now),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io("read it again", e)),
    };
    if now.as_deref() != original {
        return Err(WriteError::VersionConflict(format!(
            "{} changed while it was being written; read it again and retry",
            target.path.display()
        )));
    }
    tmp.persist(&target.path)
        .map_err(|e| io("rename the temporary file", e.error))?;
    crate::auth::sync_dir(dir);
    Ok(())
}

/// Lexical normalization (`.` and `..`), for comparing a given path with the user's file.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
#[path = "config_edit_tests.rs"]
mod tests;
