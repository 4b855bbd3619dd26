//! The `wrightFileWrites` extension: for a client that declared it writes files itself (the
//! ACP bridge, which hands them to the editor), the engine's checked and approved patch
//! contents become a `wright/fileChange/write` request instead of a write by the engine.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use wright_core::file_writes::{FileWriter, WriteRequest};
use wright_protocol::v2::{FileChangeWriteParams, FileWrite, WrightServerRequest};

use crate::approvals::ToPump;
use crate::conn::ConnHandle;

/// One write request, handed to the turn's event pump so that it goes out after the
/// `item/started` of the patch it belongs to.
pub(crate) struct Write {
    pub params: FileChangeWriteParams,
    pub sent: oneshot::Sender<(i64, oneshot::Receiver<Result<Value, Value>>)>,
}

/// The turn's writer: every patch the engine would commit goes to the client that started
/// the turn.
pub(crate) fn writer(
    thread_id: String,
    turn_id: String,
    owner: ConnHandle,
    pump: mpsc::UnboundedSender<ToPump>,
) -> FileWriter {
    Arc::new(move |request: WriteRequest| {
        let (thread_id, turn_id, owner, pump) = (
            thread_id.clone(),
            turn_id.clone(),
            owner.clone(),
            pump.clone(),
        );
        Box::pin(async move {
            let params = params(thread_id, turn_id, request)?;
            let (sent, asked) = oneshot::channel();
            if pump.send(ToPump::Write(Write { params, sent })).is_err() {
                return Err(GONE.into());
            }
            let Ok((id, reply)) = asked.await else {
                return Err(GONE.into());
            };
            // An interrupted turn drops this future: the request is forgotten, not answered.
            let _withdraw = Withdraw { owner, id };
            match reply.await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(error)) => Err(format!(
                    "the editor did not write the files: {}",
                    error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given")
                )),
                Err(_) => Err(GONE.into()),
            }
        })
    })
}

const GONE: &str = "the editor disconnected before writing the files; nothing was written";

/// Sends a write request to the client that started the turn.
pub(crate) fn send(owner: &ConnHandle, write: Write) {
    // Dropped by an interrupt while queued: do not send it at all.
    if write.sent.is_closed() {
        return;
    }
    let params = write.params;
    let (id, reply) =
        owner.start_extension_request(|id| WrightServerRequest::FileChangeWrite { id, params });
    if write.sent.send((id, reply)).is_err() {
        owner.withdraw(id);
    }
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

struct Withdraw {
    owner: ConnHandle,
    id: i64,
}

impl Drop for Withdraw {
    fn drop(&mut self) {
        self.owner.withdraw(self.id);
    }
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
