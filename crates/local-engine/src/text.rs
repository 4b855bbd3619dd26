//! The assistant's free text as tokens arrive: bytes joined into UTF-8, the start of a tool call
//! spotted, and the point up to which the text can be streamed without showing that start.
//!
//! Two openings start a call:
//! - `<tool_call>`, the format the model was told to use;
//! - a JSON object `{"name": "<a declared tool>"` or `{"name": "<anything>", "arguments"` at
//!   the start of a line, optionally inside a ```` ``` ```` or ```` ```json ```` fence: what
//!   small models write instead (Qwen2.5-Coder-0.5B does, most of the time, and sometimes puts
//!   a file name where the tool's name belongs). Other JSON (a `package.json`, say) stays
//!   text.

use crate::prompt::CALL_OPEN;

pub(crate) struct TextTracker {
    /// Every byte of every free-text token, in order.
    bytes: Vec<u8>,
    /// Byte offset where each token ended.
    ends: Vec<usize>,
    /// How many bytes were already sent as deltas.
    sent: usize,
    /// The declared tools' names; no name, no call to spot.
    tools: Vec<String>,
}

/// Where a tool call started.
#[derive(Debug, PartialEq)]
pub(crate) struct Trigger {
    /// Byte offset of the call's first byte (`<` or the fence or `{`).
    pub start: usize,
    /// Index of the token holding that byte: it and those after it are taken back.
    pub token: usize,
    /// Byte offset where that token starts (its bytes before `start` are still text).
    pub token_start: usize,
}

enum Match {
    No,
    /// Could still become a call with more text.
    Partial,
    Full,
}

impl TextTracker {
    pub fn new(tools: Vec<String>) -> Self {
        Self {
            bytes: Vec::new(),
            ends: Vec::new(),
            sent: 0,
            tools,
        }
    }

    /// Adds a token's bytes. Returns the trigger when the text now holds the opening of a call.
    pub fn push(&mut self, piece: &[u8]) -> Option<Trigger> {
        self.bytes.extend_from_slice(piece);
        self.ends.push(self.bytes.len());
        let (full, _) = self.scan();
        let start = full?;
        let token = self.ends.iter().position(|&end| end > start)?;
        let token_start = if token == 0 { 0 } else { self.ends[token - 1] };
        Some(Trigger {
            start,
            token,
            token_start,
        })
    }

    /// The first complete call opening, and the first place that could still become one.
    fn scan(&self) -> (Option<usize>, Option<usize>) {
        if self.tools.is_empty() {
            return (None, None);
        }
        let mut partial = None;
        let first_text = self
            .bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(self.bytes.len());
        for p in self.sent..self.bytes.len() {
            let b = self.bytes[p];
            let line_start = p <= first_text || self.bytes[p - 1] == b'\n';
            let m = match b {
                b'<' => match_open(&self.bytes[p..]),
                b'`' | b'{' if line_start => match_json(&self.bytes[p..], &self.tools),
                _ => continue,
            };
            match m {
                Match::Full => return (Some(p), partial),
                Match::Partial if partial.is_none() => partial = Some(p),
                _ => {}
            }
        }
        (None, partial)
    }

    /// The next piece safe to stream: whole UTF-8 characters before anything that could be
    /// the start of a tool call. `None` when nothing new is safe yet.
    pub fn take_delta(&mut self) -> Option<String> {
        let (full, partial) = self.scan();
        let end = full.or(partial).unwrap_or(self.bytes.len());
        let end = self.sent + utf8_complete_len(&self.bytes[self.sent..end]);
        self.take_delta_until(end)
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

    pub fn tools(&self) -> &[String] {
        &self.tools
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

/// A cursor over text that may still grow: running out of text is `Partial`.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &[u8] {
        &self.s[self.i..]
    }

    fn lit(&mut self, lit: &[u8]) -> Result<(), Match> {
        let rest = self.rest();
        if rest.starts_with(lit) {
            self.i += lit.len();
            Ok(())
        } else if lit.starts_with(rest) {
            Err(Match::Partial)
        } else {
            Err(Match::No)
        }
    }

    /// Consumes `lit` if it is there; returns whether it was.
    fn opt(&mut self, lit: &[u8]) -> Result<bool, Match> {
        match self.lit(lit) {
            Ok(()) => Ok(true),
            Err(Match::No) => Ok(false),
            Err(other) => Err(other),
        }
    }

    fn ws(&mut self) -> Result<(), Match> {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
        if self.i == self.s.len() {
            Err(Match::Partial)
        } else {
            Ok(())
        }
    }
}

fn match_open(s: &[u8]) -> Match {
    let mut c = Cursor { s, i: 0 };
    match c.lit(CALL_OPEN.as_bytes()) {
        Ok(()) => Match::Full,
        Err(m) => m,
    }
}

/// Longer "names" are not tool names.
const MAX_NAME: usize = 64;

/// The declared tool a bare-JSON call opening (`{"name": "shell"`, as [`match_json`] spotted
/// it) names, so that the constrained call goes on with the tool the model chose. `None` for a
/// `<tool_call>` opening or a name that is not a declared tool.
pub(crate) fn called_tool<'t>(opening: &[u8], tools: &'t [String]) -> Option<&'t str> {
    let at = opening.windows(6).position(|w| w == b"\"name\"")? + 6;
    let rest = &opening[at..];
    let colon = rest.iter().position(|&b| !b.is_ascii_whitespace())?;
    let rest = rest.get(colon..)?.strip_prefix(b":")?;
    let quote = rest.iter().position(|&b| !b.is_ascii_whitespace())?;
    let rest = rest.get(quote..)?.strip_prefix(b"\"")?;
    tools
        .iter()
        .find(|tool| rest.starts_with(&[tool.as_bytes(), b"\""].concat()))
        .map(String::as_str)
}

fn match_json(s: &[u8], tools: &[String]) -> Match {
    let mut c = Cursor { s, i: 0 };
    let body = |c: &mut Cursor| -> Result<(), Match> {
        if c.opt(b"```")? {
            c.opt(b"json")?;
            c.ws()?;
        }
        c.lit(b"{")?;
        c.ws()?;
        c.lit(b"\"name\"")?;
        c.ws()?;
        c.lit(b":")?;
        c.ws()?;
        c.lit(b"\"")?;
        let rest = c.rest();
        if tools
            .iter()
            .any(|tool| rest.starts_with(&[tool.as_bytes(), b"\""].concat()))
        {
            return Ok(());
        }
        // Another name: a call all the same if "arguments" follows (the grammar then makes
        // the model name a declared tool).
        let Some(close) = rest.iter().position(|&b| b == b'"') else {
            return Err(if rest.len() < MAX_NAME {
                Match::Partial
            } else {
                Match::No
            });
        };
        if close >= MAX_NAME || rest[..close].contains(&b'\\') {
            return Err(Match::No);
        }
        c.i += close + 1;
        c.ws()?;
        c.lit(b",")?;
        c.ws()?;
        c.lit(b"\"arguments\"")
    };
    match body(&mut c) {
        Ok(()) => Match::Full,
        Err(m) => m,
    }
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
    fn called_tool_names_the_declared_tool_of_a_bare_opening() {
        let tools = vec!["shell".to_string(), "write_file".to_string()];
        assert_eq!(
            called_tool(b"{\"name\":  \"write_file\"", &tools),
            Some("write_file")
        );
        assert_eq!(
            called_tool(b"```json\n{ \"name\" : \"shell\"", &tools),
            Some("shell")
        );
        assert_eq!(
            called_tool(b"{\"name\": \"report.py\", \"arguments\"", &tools),
            None
        );
        assert_eq!(called_tool(b"<tool_call>", &tools), None);
        assert_eq!(called_tool(b"{\"name\": \"shell_x\"", &tools), None);
    }

    fn tracker() -> TextTracker {
        TextTracker::new(vec!["shell".into(), "apply_patch".into()])
    }

    #[test]
    fn streams_text_and_holds_back_a_possible_tool_call() {
        let mut t = tracker();
        assert_eq!(t.push(b"Hello "), None);
        assert_eq!(t.take_delta().as_deref(), Some("Hello "));
        assert_eq!(t.push(b"<tool"), None);
        assert_eq!(t.take_delta(), None);
        let trig = t.push(b"_call>\n").unwrap();
        assert_eq!(
            trig,
            Trigger {
                start: 6,
                token: 1,
                token_start: 6
            }
        );
        assert_eq!(t.text_until(trig.start), "Hello ");
    }

    #[test]
    fn a_false_start_is_released() {
        let mut t = tracker();
        t.push(b"a <to");
        assert_eq!(t.take_delta().as_deref(), Some("a "));
        t.push(b"p> b");
        assert_eq!(t.take_delta().as_deref(), Some("<top> b"));
    }

    #[test]
    fn json_naming_a_tool_opens_a_call() {
        let mut t = tracker();
        assert_eq!(t.push(b"```"), None);
        assert_eq!(t.take_delta(), None);
        assert_eq!(t.push(b"json\n{\n  \"name\": \"sh"), None);
        assert_eq!(t.take_delta(), None);
        assert_eq!(
            t.push(b"ell\", \"arguments\""),
            Some(Trigger {
                start: 0,
                token: 0,
                token_start: 0
            })
        );

        // After some text, at the start of a line, without a fence.
        let mut t = tracker();
        t.push(b"I will list them.\n");
        let trig = t.push(b"{\"name\": \"shell\"").unwrap();
        assert_eq!(trig.start, 18);
        assert_eq!(trig.token, 1);
        assert_eq!(
            t.take_delta_until(trig.start).as_deref(),
            Some("I will list them.\n")
        );
    }

    #[test]
    fn json_that_names_no_tool_stays_text() {
        let mut t = tracker();
        t.push(b"```json\n{\n  \"name\": \"my-app\",\n");
        assert_eq!(t.take_delta(), None, "could still be a call");
        t.push(b"  \"version\": \"1.0.0\"\n");
        assert_eq!(
            t.take_delta().as_deref(),
            Some("```json\n{\n  \"name\": \"my-app\",\n  \"version\": \"1.0.0\"\n")
        );
        // A misnamed call is still a call.
        let mut t = tracker();
        assert!(t
            .push(b"{\"name\": \"hello.py\", \"arguments\": {")
            .is_some());
        let mut t = tracker();
        t.push(b"```python\nprint(1)\n");
        assert_eq!(t.take_delta().as_deref(), Some("```python\nprint(1)\n"));
        // Mid-line braces are never a call.
        let mut t = tracker();
        assert_eq!(t.push(b"x = {\"name\": \"shell\"}"), None);
        // Without tools nothing is held back.
        let mut t = TextTracker::new(Vec::new());
        assert_eq!(t.push(b"<tool_call>"), None);
        assert_eq!(t.take_delta().as_deref(), Some("<tool_call>"));
    }

    #[test]
    fn split_characters_wait_for_their_rest() {
        let mut t = tracker();
        let e = "é".as_bytes();
        t.push(&e[..1]);
        assert_eq!(t.take_delta(), None);
        t.push(&e[1..]);
        assert_eq!(t.take_delta().as_deref(), Some("é"));
        t.push(&[0xff, b'x']);
        assert_eq!(t.take_delta().as_deref(), Some("\u{fffd}x"));
    }
}
