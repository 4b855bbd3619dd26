//! `fs/*`: read and write files on the server's machine for the client, as the user. The file
//! work is blocking: the dispatcher runs these on the blocking pool.

use std::path::{Path, PathBuf};

use base64::Engine;
use wright_protocol::jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS};
use wright_protocol::v2::{
    FsCopyParams, FsCreateDirectoryParams, FsEmptyResponse, FsGetMetadataParams,
    FsGetMetadataResponse, FsReadDirectoryEntry, FsReadDirectoryParams, FsReadDirectoryResponse,
    FsReadFileParams, FsReadFileResponse, FsRemoveParams, FsWriteFileParams,
};

/// Files larger than this are not read into one message.
const MAX_READ_BYTES: u64 = 64 * 1024 * 1024;

/// (code, message)
pub(crate) type FsError = (i64, String);

fn absolute(path: &str, field: &str) -> Result<PathBuf, FsError> {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        Ok(p)
    } else {
        Err((
            INVALID_PARAMS,
            format!("`{field}` must be an absolute path, got `{path}`"),
        ))
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> FsError {
    (INTERNAL_ERROR, format!("{what} {}: {e}", path.display()))
}

pub(crate) fn read_file(p: FsReadFileParams) -> Result<FsReadFileResponse, FsError> {
    let path = absolute(&p.path, "path")?;
    let meta = std::fs::metadata(&path).map_err(|e| io("cannot read", &path, e))?;
    if meta.len() > MAX_READ_BYTES {
        return Err((
            INTERNAL_ERROR,
            format!(
                "cannot read {}: {} bytes is over the {} MiB limit",
                path.display(),
                meta.len(),
                MAX_READ_BYTES >> 20
            ),
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| io("cannot read", &path, e))?;
    Ok(FsReadFileResponse {
        data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}

pub(crate) fn write_file(p: FsWriteFileParams) -> Result<FsEmptyResponse, FsError> {
    let path = absolute(&p.path, "path")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(p.data_base64.as_bytes())
        .map_err(|e| (INVALID_PARAMS, format!("`dataBase64` is not base64: {e}")))?;
    std::fs::write(&path, bytes).map_err(|e| io("cannot write", &path, e))?;
    Ok(FsEmptyResponse {})
}

pub(crate) fn create_directory(p: FsCreateDirectoryParams) -> Result<FsEmptyResponse, FsError> {
    let path = absolute(&p.path, "path")?;
    let r = if p.recursive.unwrap_or(true) {
        std::fs::create_dir_all(&path)
    } else {
        std::fs::create_dir(&path)
    };
    r.map_err(|e| io("cannot create directory", &path, e))?;
    Ok(FsEmptyResponse {})
}

fn millis(t: std::io::Result<std::time::SystemTime>) -> i64 {
    t.ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn get_metadata(p: FsGetMetadataParams) -> Result<FsGetMetadataResponse, FsError> {
    let path = absolute(&p.path, "path")?;
    let link = std::fs::symlink_metadata(&path).map_err(|e| io("cannot inspect", &path, e))?;
    // What the path resolves to (a dangling link resolves to nothing).
    let target = std::fs::metadata(&path).ok();
    Ok(FsGetMetadataResponse {
        is_directory: target.as_ref().is_some_and(|m| m.is_dir()),
        is_file: target.as_ref().is_some_and(|m| m.is_file()),
        is_symlink: link.file_type().is_symlink(),
        created_at_ms: millis(target.as_ref().unwrap_or(&link).created()),
        modified_at_ms: millis(target.as_ref().unwrap_or(&link).modified()),
    })
}

pub(crate) fn read_directory(p: FsReadDirectoryParams) -> Result<FsReadDirectoryResponse, FsError> {
    let path = absolute(&p.path, "path")?;
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(&path).map_err(|e| io("cannot read directory", &path, e))? {
        let entry = entry.map_err(|e| io("cannot read directory", &path, e))?;
        let target = std::fs::metadata(entry.path()).ok();
        entries.push(FsReadDirectoryEntry {
            file_name: entry.file_name().to_string_lossy().into_owned(),
            is_directory: target.as_ref().is_some_and(|m| m.is_dir()),
            is_file: target.as_ref().is_some_and(|m| m.is_file()),
        });
    }
    entries.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok(FsReadDirectoryResponse { entries })
}

pub(crate) fn remove(p: FsRemoveParams) -> Result<FsEmptyResponse, FsError> {
    let path = absolute(&p.path, "path")?;
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && p.force.unwrap_or(true) => {
            return Ok(FsEmptyResponse {})
        }
        Err(e) => return Err(io("cannot remove", &path, e)),
    };
    let r = if meta.is_dir() {
        if p.recursive.unwrap_or(true) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_dir(&path)
        }
    } else {
        std::fs::remove_file(&path)
    };
    r.map_err(|e| io("cannot remove", &path, e))?;
    Ok(FsEmptyResponse {})
}

pub(crate) fn copy(p: FsCopyParams) -> Result<FsEmptyResponse, FsError> {
    let from = absolute(&p.source_path, "sourcePath")?;
    let to = absolute(&p.destination_path, "destinationPath")?;
    let meta = std::fs::symlink_metadata(&from).map_err(|e| io("cannot copy", &from, e))?;
    if meta.is_dir() {
        if !p.recursive {
            return Err((
                INVALID_PARAMS,
                format!(
                    "{} is a directory: copying it needs `recursive: true`",
                    from.display()
                ),
            ));
        }
        if to.starts_with(&from) {
            return Err((
                INVALID_PARAMS,
                format!("cannot copy {} into itself", from.display()),
            ));
        }
        copy_tree(&from, &to)?;
    } else {
        std::fs::copy(&from, &to).map_err(|e| io("cannot copy to", &to, e))?;
    }
    Ok(FsEmptyResponse {})
}

/// Copies a directory tree; symlinks are copied as links, not followed.
fn copy_tree(from: &Path, to: &Path) -> Result<(), FsError> {
    std::fs::create_dir_all(to).map_err(|e| io("cannot create directory", to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| io("cannot read directory", from, e))? {
        let entry = entry.map_err(|e| io("cannot read directory", from, e))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let ft = entry
            .file_type()
            .map_err(|e| io("cannot inspect", &src, e))?;
        if ft.is_symlink() {
            let target = std::fs::read_link(&src).map_err(|e| io("cannot read link", &src, e))?;
            std::os::unix::fs::symlink(target, &dst).map_err(|e| io("cannot create", &dst, e))?;
        } else if ft.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| io("cannot copy to", &dst, e))?;
        }
    }
    Ok(())
}
