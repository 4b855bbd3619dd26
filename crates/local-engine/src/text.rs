//! The assistant's free text as tokens arrive: bytes joined into UTF-8, and the point up to which
//! it can be streamed without showing the start of a tool call.

use crate::prompt::CALL_OPEN;

#[derive(Default)]
pub(crate) struct TextTracker {
    /// Every byte of every free-text token, in order.
    bytes: Vec<u8>,
    /// How many bytes were already sent as deltas.
    sent: usize,
}

/// Where the trigger `<tool_call>` appeared.
#[derive(Debug, PartialEq)]
pub(crate) struct Trigger {
    /// Byte offset of `<` in the text.
    pub start: usize,
    /// Byte offset where the token before the latest one ended.
    pub prev_end: usize,
    /// Byte offset where the latest token ended.
    pub last_end: usize,
}

impl TextTracker {
    /// Adds a token's bytes. Returns the trigger when this token completed the first
    /// `<tool_call>` of the text.
    pub fn push(&mut self, piece: &[u8]) -> Option<Trigger> {
        let prev_end = self.bytes.len();
        self.bytes.extend_from_slice(piece);
        // Only the region the new token could complete needs searching.
        let from = prev_end.saturating_sub(CALL_OPEN.len() - 1);
        let start = find(&self.bytes[from..], CALL_OPEN.as_bytes())? + from;
        Some(Trigger {
            start,
            prev_end,
            last_end: self.bytes.len(),
        })
    }

    /// The next piece safe to stream: whole UTF-8 characters that cannot be the start of a tool
    /// call. Returns `None` when nothing new is safe yet.
    pub fn take_delta(&mut self) -> Option<String> {
        let held = partial_suffix(&self.bytes[self.sent..], CALL_OPEN.as_bytes());
        let end = self.bytes.len() - held;
        let end = self.sent + utf8_complete_len(&self.bytes[self.sent..end]);
        if end <= self.sent {
            return None;
        }
        let delta = String::from_utf8_lossy(&self.bytes[self.sent..end]).into_owned();
        self.sent = end;
        Some(delta)
    }

    /// Everything not yet streamed up to byte `end`, whole or not (at a tool call or at the
    /// end of the reply).
    pub fn take_delta_until(&mut self, end: usize) -> Option<String> {
        let end = end.min(self.bytes.len());
        if end <= self.sent {
            return None;
        }
        let delta = String::from_utf8_lossy(&self.bytes[self.sent..end]).into_owned();
        self.sent = end;
        Some(delta)
    }

    /// The whole text up to `end` bytes (lossy at broken UTF-8).
    pub fn text_until(&self, end: usize) -> String {
        String::from_utf8_lossy(&self.bytes[..end.min(self.bytes.len())]).into_owned()
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The raw bytes between two offsets.
    pub fn slice(&self, from: usize, to: usize) -> &[u8] {
        let to = to.min(self.bytes.len());
        &self.bytes[from.min(to)..to]
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The length of the longest suffix of `text` that is a proper prefix of `needle`.
fn partial_suffix(text: &[u8], needle: &[u8]) -> usize {
    (1..needle.len().min(text.len() + 1))
        .rev()
        .find(|&n| text.ends_with(&needle[..n]))
        .unwrap_or(0)
}

/// How many leading bytes of `bytes` form complete UTF-8 characters (invalid bytes count as
/// complete, to be replaced; only a truncated character at the end is held back).
fn utf8_complete_len(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(e) => {
            let skip = e.valid_up_to() + e.error_len().unwrap_or(1);
            skip + utf8_complete_len(&bytes[skip..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_text_and_holds_back_a_possible_tool_call() {
        let mut t = TextTracker::default();
        assert_eq!(t.push(b"Hello "), None);
        assert_eq!(t.take_delta().as_deref(), Some("Hello "));
        assert_eq!(t.push(b"<tool"), None);
        assert_eq!(t.take_delta(), None);
        let trig = t.push(b"_call>\n").unwrap();
        assert_eq!(
            trig,
            Trigger {
                start: 6,
                prev_end: 11,
                last_end: 18
            }
        );
        assert_eq!(t.text_until(trig.start), "Hello ");
    }

    #[test]
    fn a_false_start_is_released() {
        let mut t = TextTracker::default();
        t.push(b"a <to");
        assert_eq!(t.take_delta().as_deref(), Some("a "));
        t.push(b"p> b");
        assert_eq!(t.take_delta().as_deref(), Some("<top> b"));
    }

    #[test]
    fn split_characters_wait_for_their_rest() {
        let mut t = TextTracker::default();
        let e = "é".as_bytes();
        t.push(&e[..1]);
        assert_eq!(t.take_delta(), None);
        t.push(&e[1..]);
        assert_eq!(t.take_delta().as_deref(), Some("é"));
        t.push(&[0xff, b'x']);
        assert_eq!(t.take_delta().as_deref(), Some("\u{fffd}x"));
    }
}
