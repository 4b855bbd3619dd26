//! Cutting long text to a head and a tail with a marker, so the model sees both how a command
//! started and how it ended.

/// Rough token estimate used across wright when a server reports none: 4 bytes per token.
pub fn approx_tokens(bytes: usize) -> usize {
    bytes.div_ceil(4)
}

/// Keeps at most `max_bytes` of `text`: the first and last halves, joined by a marker that says
/// how much was dropped. Cuts on char boundaries.
pub fn head_tail(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let half = max_bytes / 2;
    let mut head_end = half;
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = text.len() - half;
    while !text.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    let dropped = tail_start - head_end;
    format!(
        "{}…{} tokens truncated…{}",
        &text[..head_end],
        approx_tokens(dropped),
        &text[tail_start..]
    )
}

/// The model-facing form of a long command output, in Codex's shape: a warning with the
/// original size, the line count, then head and tail.
pub fn model_output(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    format!(
        "Warning: truncated output (original token count: {}; re-run with a filter such as `| head`, `| tail` or `grep` to see the part you need)\nTotal output lines: {}\n\n{}",
        approx_tokens(text.len()),
        text.lines().count(),
        head_tail(text, max_bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched() {
        assert_eq!(head_tail("abc", 10), "abc");
    }

    #[test]
    fn keeps_head_and_tail() {
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let out = head_tail(&text, 100);
        assert!(out.starts_with("line 0\n"));
        assert!(out.ends_with("line 999\n"));
        assert!(out.contains("tokens truncated"));
        assert!(out.len() < 150);
    }

    #[test]
    fn multibyte_boundaries() {
        let text = "é".repeat(100);
        let out = head_tail(&text, 11);
        assert!(out.contains("truncated"));
    }

    #[test]
    fn model_output_says_how_to_see_more() {
        let text = "x\n".repeat(10_000);
        let out = model_output(&text, 1000);
        assert!(out.starts_with("Warning: truncated output (original token count: 5000;"));
        assert!(out.contains("Total output lines: 10000"));
    }
}
