//! The `fakellm` binary: ready line, `--script`, `--models`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn prints_ready_line_and_serves_its_script() {
    let dir = std::env::temp_dir().join(format!("fakellm-script-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("script.json");
    std::fs::write(&script, r#"["[[title:scripted one]]", "[[fail:503]]"]"#).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fakellm"))
        .args(["--port", "0", "--models", "m1", "--script"])
        .arg(&script)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("fakellm listening on ")
        .unwrap()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let addr = url.trim_start_matches("http://").to_owned();
    // Plain HTTP/1.1 over a socket: "status body" for one request.
    let ask = |model: &str| {
        let body =
            format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"plain"}}]}}"#);
        let mut stream = TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        let status = reply.split(' ').nth(1).unwrap_or_default().to_owned();
        format!(
            "{} {status}",
            reply.split("\r\n\r\n").nth(1).unwrap_or_default()
        )
    };
    let first = ask("m1");
    assert!(
        first.contains("scripted one") && first.ends_with("200"),
        "{first}"
    );
    assert!(ask("m1").ends_with(" 503"));
    assert!(ask("other").ends_with(" 404"));
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
