//! llama.cpp's log, sent to `tracing` at debug level (it is chatty and meant for developers),
//! with its last errors kept to explain a failed load.

use std::ffi::{c_char, c_void, CStr};
use std::sync::{Mutex, Once};

static LAST_ERRORS: Mutex<String> = Mutex::new(String::new());

/// Keep this much of the latest error text.
const KEEP: usize = 2000;

pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: the callback is a plain function that lives for the whole program and
        // ignores the user-data pointer.
        unsafe {
            llama_cpp_sys_2::llama_log_set(Some(on_log), std::ptr::null_mut());
            llama_cpp_sys_2::ggml_log_set(Some(on_log), std::ptr::null_mut());
        }
    });
}

/// Clears the kept errors (before an operation whose failure they should explain).
pub(crate) fn clear_errors() {
    lock().clear();
}

/// The errors llama.cpp logged since the last [`clear_errors`], one line.
pub(crate) fn take_errors() -> String {
    let mut kept = lock();
    let text = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    kept.clear();
    text
}

fn lock() -> std::sync::MutexGuard<'static, String> {
    LAST_ERRORS.lock().unwrap_or_else(|e| e.into_inner())
}

unsafe extern "C" fn on_log(
    level: llama_cpp_sys_2::ggml_log_level,
    text: *const c_char,
    _: *mut c_void,
) {
    // A panic must not unwind into C.
    let _ = std::panic::catch_unwind(|| {
        if text.is_null() {
            return;
        }
        // SAFETY: llama.cpp passes a NUL-terminated string valid for this call.
        let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
        let line = text.trim_end();
        if line.is_empty() {
            return;
        }
        if level == llama_cpp_sys_2::GGML_LOG_LEVEL_ERROR {
            let mut kept = lock();
            if !kept.is_empty() {
                kept.push('\n');
            }
            kept.push_str(line);
            if kept.len() > KEEP {
                let mut cut = kept.len() - KEEP;
                while !kept.is_char_boundary(cut) {
                    cut += 1;
                }
                kept.drain(..cut);
            }
        }
        tracing::debug!(target: "llama.cpp", "{line}");
    });
}
