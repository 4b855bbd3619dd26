//! `view_image`: the model looks at a PNG, JPEG, GIF or WebP file. The image goes back as the
//! call's output (an `input_image` part), so the next request carries it.
//!
//! The file is read the way a command would read it: through the sandbox when commands are
//! confined, so a path the sandbox hides (or a symlink swapped in meanwhile) is refused by the
//! kernel, not by a check here. An image larger than a model takes is scaled down first.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::SandboxMode;
use crate::tools::ToolContext;

/// How long reading an image may take.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// The largest file read (a screenshot is a few MB).
const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;
/// What OpenAI's models take at most ("high" detail): within 2048 × 2048, the short side at
/// most 768. Larger images are scaled down here, not by the API, to keep requests small.
const MAX_LONG_SIDE: u32 = 2048;
const MAX_SHORT_SIDE: u32 = 768;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl Format {
    fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Format::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::Webp)
        } else {
            None
        }
    }

    fn mime(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::Gif => "image/gif",
            Format::Webp => "image/webp",
        }
    }

    fn codec(self) -> image::ImageFormat {
        match self {
            Format::Png => image::ImageFormat::Png,
            Format::Jpeg => image::ImageFormat::Jpeg,
            Format::Gif => image::ImageFormat::Gif,
            Format::Webp => image::ImageFormat::WebP,
        }
    }
}

impl ToolContext {
    /// The call's output: the image as an `input_image` part, or an error text.
    pub(crate) async fn view_image(&self, arguments: &str) -> Value {
        let args: Args = match serde_json::from_str(arguments) {
            Ok(args) => args,
            Err(e) => return json!(format!("failed to parse function arguments: {e}")),
        };
        if !self.settings().model_images {
            return json!(format!(
                "view_image is not available: the model `{}` does not accept images.",
                self.settings().model
            ));
        }
        let path = resolve(&self.settings().cwd, &args.path);
        let bytes = match self.read_image(&path).await {
            Ok(bytes) => bytes,
            Err(why) => return json!(format!("unable to read image {}: {why}", path.display())),
        };
        let Some(format) = Format::sniff(&bytes) else {
            return json!(format!(
                "{} is not a PNG, JPEG, GIF or WebP image",
                path.display()
            ));
        };
        let fitted = tokio::task::spawn_blocking(move || fit(bytes, format)).await;
        match fitted {
            Ok(Ok((mime, data))) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(data);
                json!([{"type": "input_image", "image_url": format!("data:{mime};base64,{b64}")}])
            }
            Ok(Err(why)) => json!(format!("unable to decode image {}: {why}", path.display())),
            Err(_) => json!("unable to decode image: the decoder crashed"),
        }
    }

    /// The file's bytes, read by `cat` inside the sandbox when commands are confined.
    async fn read_image(&self, path: &Path) -> Result<Vec<u8>, String> {
        let sandbox = &self.settings().sandbox;
        if sandbox.mode == SandboxMode::DangerFullAccess {
            let meta = tokio::fs::metadata(path).await.map_err(|e| e.to_string())?;
            if !meta.is_file() {
                return Err("not a regular file".into());
            }
            if meta.len() > MAX_FILE_BYTES as u64 {
                return Err(too_large());
            }
            return tokio::fs::read(path).await.map_err(|e| e.to_string());
        }
        let argv = vec![
            "/bin/cat".to_string(),
            "--".to_string(),
            path.display().to_string(),
        ];
        let launch = sandbox
            .wrap(&argv)
            .map_err(|why| format!("the sandbox cannot be enforced here: {why}"))?;
        let spawned = wright_tools::process::spawn_piped(
            &launch,
            &self.settings().cwd,
            self.settings().env.as_ref(),
            false,
        )
        .map_err(|e| e.to_string())?;
        let (Some(mut stdout), Some(mut stderr)) = (spawned.stdout, spawned.stderr) else {
            return Err("no output from the reader".into());
        };
        let mut leader = spawned.leader;
        let read_out = async {
            let mut data = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = stdout.read(&mut buf).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    return Ok(data);
                }
                data.extend_from_slice(&buf[..n]);
                if data.len() > MAX_FILE_BYTES {
                    return Err(too_large());
                }
            }
        };
        let read_err = async {
            let mut text = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 || text.len() > 4096 {
                    break;
                }
                text.extend_from_slice(&buf[..n]);
            }
            String::from_utf8_lossy(&text).trim().to_string()
        };
        // A pipe or a device never ends: the read is bounded in time too.
        let (data, message) =
            match tokio::time::timeout(READ_TIMEOUT, async { tokio::join!(read_out, read_err) })
                .await
            {
                Ok(read) => read,
                Err(_) => (
                    Err(format!(
                        "still reading after {} s (a pipe or a device?)",
                        READ_TIMEOUT.as_secs()
                    )),
                    String::new(),
                ),
            };
        let code = if data.is_err() {
            leader.kill_tree().await;
            leader.exited().await
        } else {
            leader.exited().await
        };
        leader.reap();
        let data = data?;
        if code != 0 {
            let message = message
                .strip_prefix("/bin/cat: ")
                .unwrap_or(&message)
                .to_string();
            return Err(if message.is_empty() {
                format!("the reader exited with {code}")
            } else {
                message
            });
        }
        Ok(data)
    }
}

fn too_large() -> String {
    format!("larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024))
}

fn resolve(cwd: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// The image as sent: unchanged when it fits, else scaled down (keeping its proportions) and
/// re-encoded as PNG.
fn fit(bytes: Vec<u8>, format: Format) -> Result<(&'static str, Vec<u8>), String> {
    let reader = image::ImageReader::with_format(Cursor::new(&bytes), format.codec());
    let (w, h) = reader.into_dimensions().map_err(|e| e.to_string())?;
    let (long, short) = (w.max(h), w.min(h));
    if long <= MAX_LONG_SIDE && short <= MAX_SHORT_SIDE {
        return Ok((format.mime(), bytes));
    }
    let scale = f64::min(
        f64::from(MAX_LONG_SIDE) / f64::from(long),
        f64::from(MAX_SHORT_SIDE) / f64::from(short),
    );
    let nw = ((f64::from(w) * scale).round() as u32).max(1);
    let nh = ((f64::from(h) * scale).round() as u32).max(1);
    let mut reader = image::ImageReader::with_format(Cursor::new(&bytes), format.codec());
    // The decoder's own allocation cap guards against a small file claiming a huge image.
    reader.limits(image::Limits::default());
    let decoded = reader.decode().map_err(|e| e.to_string())?;
    let resized = decoded.resize(nw, nh, image::imageops::FilterType::Triangle);
    let mut out = Cursor::new(Vec::new());
    resized
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(("image/png", out.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 10, 10]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn sniffs_the_four_formats_and_nothing_else() {
        assert_eq!(Format::sniff(&png(2, 2)), Some(Format::Png));
        assert_eq!(Format::sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some(Format::Jpeg));
        assert_eq!(Format::sniff(b"GIF89a...."), Some(Format::Gif));
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(Format::sniff(b"%PDF-1.7"), None);
        assert_eq!(Format::sniff(b"-----BEGIN OPENSSH PRIVATE KEY-----"), None);
    }

    #[test]
    fn a_small_image_passes_unchanged_and_a_large_one_is_scaled_down() {
        let small = png(300, 200);
        let (mime, out) = fit(small.clone(), Format::Png).unwrap();
        assert_eq!((mime, out), ("image/png", small));
        let (mime, out) = fit(png(4000, 1000), Format::Png).unwrap();
        assert_eq!(mime, "image/png");
        let dims = image::ImageReader::with_format(Cursor::new(&out), image::ImageFormat::Png)
            .into_dimensions()
            .unwrap();
        // 4000 × 1000 → long side 2048 (short side 512 ≤ 768).
        assert_eq!(dims, (2048, 512));
        let (_, out) = fit(png(1000, 1000), Format::Png).unwrap();
        let dims = image::ImageReader::with_format(Cursor::new(&out), image::ImageFormat::Png)
            .into_dimensions()
            .unwrap();
        assert_eq!(dims, (768, 768));
    }
}
