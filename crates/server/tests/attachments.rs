//! Attachments over HTTP against a real server: uploads checked by their bytes, text files sent as
//! text with their name, images as `image_url` parts to a vision model, a clear error from a text-only
//! one, and bad uploads refused with nothing stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Kit;
use serde_json::{Value, json};

/// A one-file multipart body, as a browser's form sends it.
async fn upload(kit: &Kit, name: &str, bytes: &[u8]) -> (u16, Value) {
    let boundary = "----boocodetestboundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = kit
        .http
        .post(format!("{}/api/uploads", kit.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

#[tokio::test]
async fn text_and_image_attachments_reach_the_model_as_it_expects() {
    let kit = Kit::start().await;
    let (_, _, cid) = kit.seed(Some("fake-model-2")).await;
    let (status, text) = upload(&kit, "../src/main.rs", b"fn main() { println!(\"hi\"); }\n").await;
    assert_eq!(status, 201, "{text}");
    assert_eq!(
        (text["kind"].as_str(), text["name"].as_str()),
        (Some("text"), Some("main.rs"))
    );
    let (status, image) = upload(&kit, "dot.png", PNG).await;
    assert_eq!(status, 201, "{image}");
    assert_eq!(
        (image["kind"].as_str(), image["mime"].as_str()),
        (Some("image"), Some("image/png"))
    );

    let r = kit
        .ok(
            "POST",
            &format!("/api/chats/{cid}/messages"),
            Some(json!({"content": "[[reply:seen]] what is this?", "attachments": [text["id"], image["id"]]})),
        )
        .await;
    let done = kit
        .wait_done(&cid, r["assistant_message_id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "complete", "{done}");
    let requests = kit.fake.requests();
    let body = &requests.iter().rev().find(|r| r.stream).unwrap().body;
    let parts = body["messages"].as_array().unwrap().last().unwrap()["content"].clone();
    let parts = parts.as_array().expect("content as parts");
    let said = parts[0]["text"].as_str().unwrap();
    assert!(said.starts_with("[[reply:seen]] what is this?"), "{said}");
    assert!(said.contains("File: main.rs\n```\nfn main()"), "{said}");
    assert_eq!(parts[1]["type"], "image_url");
    assert!(
        parts[1]["image_url"]["url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,iVBOR")
    );
    // Stored with the message, and served back for thumbnails.
    let path = kit
        .ok("GET", &format!("/api/chats/{cid}/messages"), None)
        .await;
    assert_eq!(path[0]["attachments"].as_array().unwrap().len(), 2);
    let png = kit
        .http
        .get(format!(
            "{}/api/uploads/{}",
            kit.base,
            image["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(png.bytes().await.unwrap().as_ref(), PNG);

    // Export → import keeps the files (new uploads, same bytes).
    let export = kit
        .ok("GET", &format!("/api/chats/{cid}/export?format=json"), None)
        .await;
    let sid = path[0]["session_id"].as_str().unwrap();
    let imported = kit
        .ok(
            "POST",
            &format!("/api/chats/import?session_id={sid}"),
            Some(export),
        )
        .await;
    let nid = imported["chats"][0]["id"].as_str().unwrap();
    let copy = kit
        .ok("GET", &format!("/api/chats/{nid}/messages"), None)
        .await;
    let files = copy[0]["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["name"], "main.rs");
    assert_ne!(files[1]["id"], image["id"]);
    let again = kit
        .http
        .get(format!(
            "{}/api/uploads/{}",
            kit.base,
            files[1]["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(again.bytes().await.unwrap().as_ref(), PNG);

    // The image again, to a text-only model: the reply says so.
    let r = kit
        .ok(
            "POST",
            &format!("/api/chats/{cid}/messages"),
            Some(
                json!({"content": "and now?", "model": "fake-model", "attachments": [image["id"]]}),
            ),
        )
        .await;
    let failed = kit
        .wait_done(&cid, r["assistant_message_id"].as_str().unwrap())
        .await;
    assert_eq!(failed["status"], "error");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("image input is not supported"),
        "{failed}"
    );
}

#[tokio::test]
async fn bad_uploads_and_attachments_are_refused_and_store_nothing() {
    let kit = Kit::start().await;
    let (_, _, cid) = kit.seed(Some("fake-model")).await;
    let cases: [(&str, Vec<u8>, u16); 5] = [
        (
            "a.out",
            b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00".to_vec(),
            415,
        ),
        ("paper.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(), 415),
        ("empty.txt", Vec::new(), 400),
        ("huge.txt", vec![b'a'; 600 << 10], 413),
        ("huge.bin", vec![0u8; (20 << 20) + 10], 413),
    ];
    for (name, bytes, want) in cases {
        let (status, v) = upload(&kit, name, &bytes).await;
        assert_eq!(status, want, "{name}: {v}");
        if want != 413 || name == "huge.txt" {
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{name}: {v}"
            );
        }
    }
    let uploads = kit.dir.path().join("data/uploads");
    let stored = std::fs::read_dir(&uploads).map(|d| d.count()).unwrap_or(0);
    assert_eq!(stored, 0, "nothing written for refused uploads");
    let (status, v) = kit
        .call(
            "POST",
            &format!("/api/chats/{cid}/messages"),
            Some(json!({"content": "x", "attachments": ["0190-no-such-upload"]})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let msgs = kit
        .ok("GET", &format!("/api/chats/{cid}/messages?tree=1"), None)
        .await;
    assert!(msgs.as_array().unwrap().is_empty());
    let (status, _) = kit.call("GET", "/api/uploads/nope", None).await;
    assert_eq!(status, 404);
}
