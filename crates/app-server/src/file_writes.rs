//! The `wrightFileWrites` extension: for a client that declared it writes files itself (the
//! ACP bridge, which hands them to the editor), the engine's checked and approved patch
//! contents become a `wright/fileChange/write` request instead of a write by the engine.

use std::sync::Arc;

use tokio::sync::mpsc;
use wright_core::file_writes::{FileWriter, WriteRequest};
use wright_protocol::v2::{
    FileChangeWriteParams, FileChangeWriteResponse, FileWrite, WrightServerRequest,
};

use crate::approvals::ToPump;
use crate::conn::ConnHandle;

/// The turn's writer: every patch the engine would commit goes to the client that started
/// the turn, after the `item/started` of the patch it belongs to.
pub(crate) fn writer(
    thread_id: String,
    turn_id: String,
    owner: ConnHandle,
    pump: mpsc::UnboundedSender<ToPump>,
) -> FileWriter {
    Arc::new(move |request: WriteRequest| {
        let (owner, pump) = (owner.clone(), pump.clone());
        let params = params(thread_id.clone(), turn_id.clone(), request);
        Box::pin(async move {
            let params = params?;
            let build: crate::delegated::Build =
                Box::new(|id| WrightServerRequest::FileChangeWrite { id, params });
            // An interrupted turn drops this future: the request is withdrawn, not answered.
            let _: FileChangeWriteResponse = crate::delegated::ask(owner, pump, build)
                .await
                .map_err(|reason| format!("the editor did not write the files: {reason}"))?;
            Ok(())
        })
    })
}

/// The wire params. Paths travel as text, so a path that is not UTF-8 cannot be delegated.
fn params(
    thread_id: String,
    turn_id: String,
    request: WriteRequest,
) -> Result<FileChangeWriteParams, String> {
    let files = request
        .files
        .into_iter()
        .map(|(path, content)| match path.to_str() {
            Some(text) => Ok(FileWrite {
                path: text.to_string(),
                content,
            }),
            None => Err(format!(
                "cannot hand {} to the editor: the path is not UTF-8",
                path.display()
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FileChangeWriteParams {
        thread_id,
        turn_id,
        item_id: request.item_id,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn params_carry_absolute_paths_and_whole_contents() {
        let request = WriteRequest {
            item_id: "call_1".into(),
            files: vec![(PathBuf::from("/w/a.txt"), "new\n".into())],
        };
        let p = params("t".into(), "u".into(), request).unwrap();
        assert_eq!(p.item_id, "call_1");
        assert_eq!(
            p.files,
            vec![FileWrite {
                path: "/w/a.txt".into(),
                content: "new\n".into()
            }]
        );
    }

    #[test]
    fn a_path_that_is_not_utf8_is_refused() {
        use std::os::unix::ffi::OsStrExt;
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(b"/w/\xff.txt"));
        let request = WriteRequest {
            item_id: "c".into(),
            files: vec![(path, String::new())],
        };
        assert!(params("t".into(), "u".into(), request).is_err());
    }
}
