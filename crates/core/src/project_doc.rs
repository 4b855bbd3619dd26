//! AGENTS.md discovery: the user's global file, then one file per folder from the git root down
//! to the cwd, joined in that order into the block Codex sends.

use std::path::{Path, PathBuf};

pub const DEFAULT_MAX_BYTES: usize = 32 * 1024;
const PRIMARY: &str = "AGENTS.md";
const OVERRIDE: &str = "AGENTS.override.md";

/// What was found: the files used (in order) and the rendered block, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectDocs {
    pub sources: Vec<PathBuf>,
    /// `# AGENTS.md instructions for <cwd>\n\n<INSTRUCTIONS>\n…\n</INSTRUCTIONS>`
    pub text: Option<String>,
    pub warnings: Vec<String>,
}

/// Finds and renders the instruction files for `cwd`.
///
/// In each folder the first of `AGENTS.override.md`, `AGENTS.md`, then `fallbacks` that exists
/// and reads as UTF-8 is used. The total is capped at `max_bytes`; what is cut is replaced by a
/// marker saying so.
pub fn discover(
    cwd: &Path,
    wright_home: &Path,
    fallbacks: &[String],
    max_bytes: usize,
) -> ProjectDocs {
    let mut docs = ProjectDocs::default();
    let mut contents = Vec::new();
    let mut folders = vec![wright_home.to_path_buf()];
    folders.extend(folders_from_root(cwd));
    let mut seen = std::collections::HashSet::new();
    for folder in folders {
        if !seen.insert(folder.clone()) {
            continue;
        }
        if let Some((path, text)) = pick(&folder, fallbacks, &mut docs.warnings) {
            docs.sources.push(path);
            contents.push(text);
        }
    }
    if contents.is_empty() {
        return docs;
    }
    let joined = cap(contents.join("\n\n"), max_bytes);
    docs.text = Some(format!(
        "# AGENTS.md instructions for {}\n\n<INSTRUCTIONS>\n{joined}\n</INSTRUCTIONS>",
        cwd.display()
    ));
    docs
}

/// The git root (the nearest ancestor with `.git`) down to `cwd`; just `cwd` outside git.
fn folders_from_root(cwd: &Path) -> Vec<PathBuf> {
    let root = cwd
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(cwd);
    let mut folders: Vec<PathBuf> = cwd
        .ancestors()
        .take_while(|d| d.starts_with(root))
        .map(Path::to_path_buf)
        .collect();
    folders.reverse();
    folders
}

fn pick(
    folder: &Path,
    fallbacks: &[String],
    warnings: &mut Vec<String>,
) -> Option<(PathBuf, String)> {
    let names = [OVERRIDE, PRIMARY]
        .into_iter()
        .chain(fallbacks.iter().map(String::as_str));
    for name in names {
        let path = folder.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => return Some((path, text)),
                Err(_) => warnings.push(format!("skipping {}: not valid UTF-8", path.display())),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => {}
            Err(e) => warnings.push(format!("skipping {}: {e}", path.display())),
        }
    }
    None
}

fn cap(text: String, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[… AGENTS.md content truncated: {} of {} bytes dropped (project_doc_max_bytes = {max_bytes}) …]",
        &text[..end],
        text.len() - end,
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn nested_with_override_and_fallback() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let repo = tmp.path().join("repo");
        let cwd = repo.join("services/api");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(&cwd).unwrap();
        write(&home.join("AGENTS.md"), b"GLOBAL\n");
        write(
            &repo.join("AGENTS.md"),
            b"# Repository guidelines\n\n- RULE-1\n",
        );
        // The override wins in its folder.
        write(&repo.join("services/AGENTS.md"), b"ignored\n");
        write(
            &repo.join("services/AGENTS.override.md"),
            b"SERVICES OVERRIDE\n",
        );
        // Only a fallback name here.
        write(&cwd.join("CLAUDE.md"), b"# API service rules\n");
        // Above the git root: not read.
        write(&tmp.path().join("AGENTS.md"), b"OUTSIDE\n");

        let docs = discover(&cwd, &home, &["CLAUDE.md".into()], DEFAULT_MAX_BYTES);
        assert_eq!(
            docs.sources,
            vec![
                home.join("AGENTS.md"),
                repo.join("AGENTS.md"),
                repo.join("services/AGENTS.override.md"),
                cwd.join("CLAUDE.md"),
            ]
        );
        assert_eq!(
            docs.text.unwrap(),
            format!(
                "# AGENTS.md instructions for {}\n\n<INSTRUCTIONS>\nGLOBAL\n\n\n# Repository guidelines\n\n- RULE-1\n\n\nSERVICES OVERRIDE\n\n\n# API service rules\n\n</INSTRUCTIONS>",
                cwd.display()
            )
        );
        let without = discover(&cwd, &home, &[], DEFAULT_MAX_BYTES);
        assert_eq!(without.sources.len(), 3);
    }

    #[test]
    fn bad_files_are_skipped_with_a_warning() {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("AGENTS.override.md"), b"\xff\xfe not utf8");
        write(&tmp.path().join("AGENTS.md"), b"good\n");
        let docs = discover(
            tmp.path(),
            &tmp.path().join("nohome"),
            &[],
            DEFAULT_MAX_BYTES,
        );
        assert_eq!(docs.sources, vec![tmp.path().join("AGENTS.md")]);
        assert!(
            docs.warnings[0].contains("not valid UTF-8"),
            "{:?}",
            docs.warnings
        );
    }

    #[test]
    fn total_is_capped_with_a_marker() {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("AGENTS.md"), "é".repeat(100).as_bytes());
        let docs = discover(tmp.path(), &tmp.path().join("nohome"), &[], 51);
        let text = docs.text.unwrap();
        assert!(
            text.contains("AGENTS.md content truncated: 150 of 200 bytes dropped"),
            "{text}"
        );
    }

    #[test]
    fn nothing_found() {
        let tmp = tempfile::tempdir().unwrap();
        let docs = discover(tmp.path(), tmp.path(), &[], DEFAULT_MAX_BYTES);
        assert_eq!(docs, ProjectDocs::default());
    }
}
