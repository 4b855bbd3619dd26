//! `view_image` and `request_user_input` through the real `wright exec`, against a mock that
//! checks each call against the tools wright declared.

mod common;

use std::io::Cursor;
use std::sync::Arc;

use base64::Engine;
use common::{call_with_id, Env};
use serde_json::{json, Value};
use wright_mock_model::{Script, Step};

async fn strict(script: impl Fn(usize, &Value) -> Step + Send + Sync + 'static) -> Env {
    Env::strict(Script::Dynamic(Arc::new(script))).await
}

/// The output item of `call_id` in a request body, as sent (a string or content parts).
fn output_value(body: &Value, call_id: &str) -> Value {
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["call_id"] == call_id && i["type"] == "function_call_output")
        .map(|i| i["output"].clone())
        .unwrap_or_else(|| panic!("no output for {call_id}"))
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 120, 200]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn view(path: &str, id: &str) -> Step {
    Step::calls(vec![call_with_id(
        "view_image",
        json!({ "path": path }),
        id,
    )])
}

#[tokio::test]
async fn view_image_attaches_the_image_scaled_to_what_the_model_takes() {
    let env = strict(|i, _| match i {
        0 => view("shot.png", "c_big"),
        1 => view("small.png", "c_small"),
        2 => view("notes.txt", "c_text"),
        3 => view("missing.png", "c_missing"),
        _ => Step::message("seen"),
    })
    .await;
    std::fs::write(env.repo().join("shot.png"), png(3000, 1000)).unwrap();
    let small = png(40, 30);
    std::fs::write(env.repo().join("small.png"), &small).unwrap();
    std::fs::write(env.repo().join("notes.txt"), "not an image").unwrap();
    env.json("look").await.assert_ok();
    let bodies = env.bodies();

    let part = &output_value(&bodies[1], "c_big")[0];
    assert_eq!(part["type"], "input_image");
    let url = part["image_url"].as_str().unwrap();
    let data = url.strip_prefix("data:image/png;base64,").expect(url);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    let dims = image::ImageReader::with_format(Cursor::new(&bytes), image::ImageFormat::Png)
        .into_dimensions()
        .unwrap();
    assert_eq!(dims, (2048, 683), "scaled into 2048 × 768");

    // Small enough: the file's own bytes.
    let url = output_value(&bodies[2], "c_small")[0]["image_url"].clone();
    let expected = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&small)
    );
    assert_eq!(url, json!(expected));

    let text = output_value(&bodies[3], "c_text");
    assert!(
        text.as_str()
            .unwrap()
            .contains("is not a PNG, JPEG, GIF or WebP image"),
        "{text}"
    );
    let missing = output_value(&bodies[4], "c_missing");
    assert!(
        missing.as_str().unwrap().contains("unable to read image"),
        "{missing}"
    );
}

#[tokio::test]
async fn a_model_without_images_gets_a_clear_error() {
    let env = strict(|i, _| match i {
        0 => view("small.png", "c_img"),
        _ => Step::message("ok"),
    })
    .await;
    std::fs::write(env.repo().join("small.png"), png(4, 4)).unwrap();
    env.exec(&["--json", "-m", "llama-3-8b", "look"])
        .await
        .assert_ok();
    let out = output_value(&env.bodies()[1], "c_img");
    assert_eq!(
        out,
        json!("view_image is not available: the model `llama-3-8b` does not accept images.")
    );
    // The same call on a model that reads images gets the image (the refusal is the model's).
    let env = strict(|i, _| match i {
        0 => view("small.png", "c_img"),
        _ => Step::message("ok"),
    })
    .await;
    std::fs::write(env.repo().join("small.png"), png(4, 4)).unwrap();
    env.exec(&["--json", "-m", "gpt-5.5", "look"])
        .await
        .assert_ok();
    assert_eq!(
        output_value(&env.bodies()[1], "c_img")[0]["type"],
        "input_image"
    );
}

#[tokio::test]
async fn exec_tells_the_model_no_user_is_there_to_answer() {
    let env = strict(|i, _| match i {
        0 => Step::calls(vec![call_with_id(
            "request_user_input",
            json!({"questions": [{"id": "lang", "header": "Language", "question": "Which language?",
                "options": [{"label": "Rust (Recommended)", "description": "Fast."},
                            {"label": "Go", "description": "Simple."}]}]}),
            "c_q",
        )]),
        _ => Step::message("went with Rust"),
    })
    .await;
    let run = env.json("ask").await;
    run.assert_ok();
    let out = output_value(&env.bodies()[1], "c_q");
    assert!(
        out.as_str()
            .unwrap()
            .starts_with("No user is present to answer"),
        "{out}"
    );
    assert!(run.stdout.contains("went with Rust"));
}

#[tokio::test]
async fn view_image_of_a_pipe_ends_with_an_error_instead_of_hanging() {
    let env = strict(|i, _| match i {
        0 => view("pipe.png", "c_pipe"),
        _ => Step::message("ok"),
    })
    .await;
    let fifo = env.repo().join("pipe.png");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let started = std::time::Instant::now();
    env.json("look").await.assert_ok();
    let out = output_value(&env.bodies()[1], "c_pipe");
    assert!(
        out.as_str().unwrap().contains("unable to read image"),
        "{out}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(50));
}
