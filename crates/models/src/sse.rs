//! A minimal incremental Server-Sent Events decoder: bytes in, `(event, data)` frames out.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::error::StreamError;
use crate::ResponseEvent;

#[derive(Debug, Default, PartialEq)]
pub(crate) struct Frame {
    pub event: Option<String>,
    pub data: String,
}

#[derive(Default)]
pub(crate) struct Decoder {
    buf: Vec<u8>,
    /// Bytes before this offset hold no frame end; a large frame arriving in many chunks is
    /// then scanned once, not once per chunk.
    scanned: usize,
}

impl Decoder {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Frame> {
        self.buf.extend_from_slice(chunk);
        let mut frames = Vec::new();
        while let Some((end, sep_len)) = find_frame_end(&self.buf, self.scanned) {
            let raw: Vec<u8> = self.buf.drain(..end + sep_len).collect();
            self.scanned = 0;
            if let Some(frame) = parse_frame(&raw[..end]) {
                frames.push(frame);
            }
        }
        // A separator is at most 4 bytes, so one may straddle the next chunk.
        self.scanned = self.buf.len().saturating_sub(3);
        frames
    }
}

fn find_frame_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    for i in from..buf.len() {
        if buf[i..].starts_with(b"\n\n") {
            return Some((i, 2));
        }
        if buf[i..].starts_with(b"\r\n\r\n") {
            return Some((i, 4));
        }
    }
    None
}

fn parse_frame(raw: &[u8]) -> Option<Frame> {
    let text = String::from_utf8_lossy(raw);
    let mut frame = Frame::default();
    let mut has_data = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("event:") {
            frame.event = Some(rest.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("data:") {
            if has_data {
                frame.data.push('\n');
            }
            frame.data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            has_data = true;
        }
    }
    has_data.then_some(frame)
}

/// What a wire format makes of one frame: events to forward, and whether the stream goes on.
pub(crate) type FrameResult = Result<(Vec<ResponseEvent>, bool), StreamError>;

/// A wire format's reading of an SSE body.
pub(crate) trait FrameHandler {
    fn frame(&mut self, frame: Frame) -> FrameResult;

    /// The body ended before a terminal frame: a disconnect, unless the format knows the
    /// reply was complete anyway.
    fn end_of_body(&mut self) -> Result<Vec<ResponseEvent>, StreamError> {
        Err(StreamError::Disconnected(
            "stream closed before response.completed".into(),
        ))
    }
}

/// Reads the body of `response`, turns each frame into events with `handler` and sends them,
/// until the handler says the stream ended. An error is sent as the last message. Stops early
/// when the receiver is dropped (the turn was abandoned), so no connection outlives its turn.
pub(crate) async fn pump(
    response: reqwest::Response,
    tx: mpsc::Sender<Result<ResponseEvent, StreamError>>,
    idle: Duration,
    handler: impl FrameHandler,
) {
    let result = tokio::select! {
        result = read_frames(response, idle, &tx, handler) => result,
        _ = tx.closed() => return,
    };
    if let Err(err) = result {
        let _ = tx.send(Err(err)).await;
    }
}

async fn read_frames(
    response: reqwest::Response,
    idle: Duration,
    tx: &mpsc::Sender<Result<ResponseEvent, StreamError>>,
    mut handler: impl FrameHandler,
) -> Result<(), StreamError> {
    let mut body = response.bytes_stream();
    let mut decoder = Decoder::default();
    loop {
        let chunk = match tokio::time::timeout(idle, body.next()).await {
            Err(_) => {
                return Err(StreamError::Disconnected(format!(
                    "idle timeout waiting for SSE ({} s)",
                    idle.as_secs()
                )))
            }
            Ok(None) => {
                for event in handler.end_of_body()? {
                    if tx.send(Ok(event)).await.is_err() {
                        break;
                    }
                }
                return Ok(());
            }
            Ok(Some(Err(e))) => {
                return Err(StreamError::Disconnected(crate::error_chain(&e)));
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        for frame in decoder.push(&chunk) {
            let (events, more) = handler.frame(frame)?;
            for event in events {
                if tx.send(Ok(event)).await.is_err() {
                    // The turn was abandoned; nobody is listening.
                    return Ok(());
                }
            }
            if !more {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_chunks() {
        let mut d = Decoder::default();
        assert!(d.push(b"event: a\ndata: {\"x\"").is_empty());
        let f = d.push(b":1}\n\ndata: [DONE]\r\n\r\n");
        assert_eq!(
            f,
            vec![
                Frame {
                    event: Some("a".into()),
                    data: "{\"x\":1}".into()
                },
                Frame {
                    event: None,
                    data: "[DONE]".into()
                }
            ]
        );
    }

    #[test]
    fn separator_split_across_chunks() {
        let mut d = Decoder::default();
        assert!(d.push(b"data: a\r\n").is_empty());
        assert!(d.push(b"\r").is_empty());
        let f = d.push(b"\ndata: b\n");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].data, "a");
        assert_eq!(d.push(b"\n")[0].data, "b");
    }

    #[test]
    fn comments_and_empty_frames_are_skipped() {
        let mut d = Decoder::default();
        assert!(d.push(b": keepalive\n\n").is_empty());
    }
}
