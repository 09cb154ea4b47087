//! Relay benchmark: chat streamed through boocode versus straight from fakellm.
//!
//! fakellm stamps every token with its emit time (`[[stamp]]`), so the latency of a delta is the time it
//! is received minus its stamp, measured the same way on both paths; TTFT is from sending the request
//! (direct) or the POST (via boocode) to the first delta. boocode runs as the real release binary in its
//! own process; fakellm and the clients share this process. Also: start-up time to the ready line and
//! resident memory idle and after load. Run: `cargo bench -p boocode-cli --bench relay`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Child;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use boocode_fakellm::{FakeLlm, FakeOptions};
use futures::StreamExt;
use serde_json::{Value, json};

const TOKENS: usize = 64;
const DELAY_MS: u64 = 20;
const ROUNDS: usize = 3;

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

fn stamp_latency(content: &str, at: i64) -> Option<f64> {
    content
        .trim()
        .parse::<i64>()
        .ok()
        .map(|stamp| (at - stamp) as f64 / 1000.0)
}

fn prompt() -> String {
    format!("[[stamp]] [[tokens:{TOKENS}]] [[delay_ms:{DELAY_MS}]]")
}

#[derive(Default)]
struct Sample {
    delta_ms: Vec<f64>,
    ttft_ms: Vec<f64>,
}

impl Sample {
    fn merge(&mut self, other: Sample) {
        self.delta_ms.extend(other.delta_ms);
        self.ttft_ms.extend(other.ttft_ms);
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let idx = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[idx]
}

async fn direct_one(http: reqwest::Client, url: String) -> Sample {
    let body = json!({"model": "fake-model", "stream": true, "messages": [{"role": "user", "content": prompt()}]});
    let sent = Instant::now();
    let resp = http
        .post(format!("{url}/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    let mut s = Sample::default();
    while let Some(chunk) = stream.next().await {
        let at = now_micros();
        buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let Some(data) = event.trim().strip_prefix("data: ") else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(data) else {
                continue;
            };
            let content = v
                .pointer("/choices/0/delta/content")
                .and_then(Value::as_str);
            if let Some(l) = content.and_then(|c| stamp_latency(c, at)) {
                if s.ttft_ms.is_empty() {
                    s.ttft_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
                }
                s.delta_ms.push(l);
            }
        }
    }
    s
}

async fn via_one(http: reqwest::Client, base: String, session: String, chat: String) -> Sample {
    let ws_url = format!(
        "{}/api/sessions/{session}/ws",
        base.replace("http://", "ws://")
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let sent = Instant::now();
    let resp = http
        .post(format!("{base}/api/chats/{chat}/messages"))
        .json(&json!({"content": prompt()}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let aid = resp.json::<Value>().await.unwrap()["assistant_message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut s = Sample::default();
    while let Some(Ok(msg)) = ws.next().await {
        let at = now_micros();
        let tokio_tungstenite::tungstenite::Message::Text(text) = msg else {
            continue;
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        if v["message_id"] != aid.as_str() {
            continue;
        }
        match v["type"].as_str() {
            Some("delta") => {
                if let Some(l) = stamp_latency(v["content"].as_str().unwrap_or_default(), at) {
                    if s.ttft_ms.is_empty() {
                        s.ttft_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
                    }
                    s.delta_ms.push(l);
                }
            }
            Some("message_complete") | Some("message_error") => break,
            _ => {}
        }
    }
    s
}

struct Boocode {
    child: Child,
    base: String,
    startup: Duration,
}

fn start_boocode(data: &std::path::Path, llm: &str) -> Boocode {
    let started = Instant::now();
    let mut child = support::spawn_serve(data, llm, &[]);
    let base = support::ready_url(&mut child);
    // Drain stderr so a chatty server can never block on a full pipe during the run.
    if let Some(mut err) = child.stderr.take() {
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    }
    Boocode {
        startup: started.elapsed(),
        child,
        base,
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

async fn post_json(http: &reqwest::Client, url: String, body: Value) -> Value {
    http.post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    let mut startups = Vec::new();
    for i in 0..5 {
        let mut b = start_boocode(&dir.path().join(format!("startup-{i}")), &fake.url());
        startups.push(b.startup.as_secs_f64() * 1000.0);
        b.child.kill().unwrap();
        b.child.wait().unwrap();
    }
    let mut server = start_boocode(&dir.path().join("data"), &fake.url());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_kib(server.child.id());

    let repo = dir.path().join("repo");
    support::git_init(&repo);
    let base = server.base.clone();
    let project = post_json(&http, format!("{base}/api/projects"), json!({"path": repo})).await;
    let pid = project["id"].as_str().unwrap().to_owned();

    let mut rows = Vec::new();
    for &n in &[1usize, 10, 100] {
        let mut direct = Sample::default();
        let mut via = Sample::default();
        for _ in 0..ROUNDS {
            let jobs: Vec<_> = (0..n)
                .map(|_| tokio::spawn(direct_one(http.clone(), fake.url())))
                .collect();
            for j in jobs {
                direct.merge(j.await.unwrap());
            }
            let mut targets = Vec::new();
            for _ in 0..n {
                let s = post_json(
                    &http,
                    format!("{base}/api/projects/{pid}/sessions"),
                    json!({"model": "fake-model"}),
                )
                .await;
                let sid = s["id"].as_str().unwrap().to_owned();
                let c = post_json(
                    &http,
                    format!("{base}/api/sessions/{sid}/chats"),
                    json!({"name": "bench"}),
                )
                .await;
                targets.push((sid, c["id"].as_str().unwrap().to_owned()));
            }
            let jobs: Vec<_> = targets
                .into_iter()
                .map(|(s, c)| tokio::spawn(via_one(http.clone(), base.clone(), s, c)))
                .collect();
            for j in jobs {
                via.merge(j.await.unwrap());
            }
        }
        let expected = n * ROUNDS * TOKENS;
        assert_eq!(
            via.delta_ms.len(),
            expected,
            "every delta arrives through boocode"
        );
        let (d50, d99) = (
            pct(&mut direct.delta_ms, 0.5),
            pct(&mut direct.delta_ms, 0.99),
        );
        let (v50, v99) = (pct(&mut via.delta_ms, 0.5), pct(&mut via.delta_ms, 0.99));
        let (dt50, dt99) = (
            pct(&mut direct.ttft_ms, 0.5),
            pct(&mut direct.ttft_ms, 0.99),
        );
        let (vt50, vt99) = (pct(&mut via.ttft_ms, 0.5), pct(&mut via.ttft_ms, 0.99));
        rows.push(format!(
            "| {n} | {} | {d50:.2} / {d99:.2} | {v50:.2} / {v99:.2} | **{:.2} / {:.2}** | {dt50:.1} / {dt99:.1} | {vt50:.1} / {vt99:.1} |",
            via.delta_ms.len(),
            v50 - d50,
            v99 - d99,
        ));
    }
    let loaded_rss = rss_kib(server.child.id());
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let mut startups_sorted = startups.clone();
    let startup_p50 = pct(&mut startups_sorted, 0.5);

    let mut out = String::new();
    out.push_str(&format!(
        "{TOKENS} tokens per reply, {DELAY_MS} ms apart, {ROUNDS} rounds per level; latency = receive time − fakellm's emit stamp.\n\n"
    ));
    out.push_str("| concurrent chats | deltas via boocode | direct delta latency p50 / p99 (ms) | via boocode p50 / p99 (ms) | added p50 / p99 (ms) | direct TTFT p50 / p99 (ms) | via boocode TTFT p50 / p99 (ms) |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    out.push_str(&format!(
        "\nStart-up to ready line (fresh SQLite data dir, median of 5): {startup_p50:.0} ms. \
         Resident memory: {:.1} MiB idle, {:.1} MiB after the runs above.\n",
        idle_rss as f64 / 1024.0,
        loaded_rss as f64 / 1024.0
    ));
    println!("{out}");
    let target =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-relay.md");
    std::fs::write(target, &out).unwrap();
}
