// Browser benchmark of long chats (BENCHMARKS.md): a chat of N messages (markdown, code, tables) is
// imported, then opened in Chromium; measured: time until the last message is on screen and the
// composer takes input, the JS heap, keystroke-to-frame latency while a reply streams into the chat,
// and frame times while scrolling. Also the size of the UI's main script as sent (brotli, gzip).
// Run after `cargo build -p boocode-cli -p boocode-fakellm`: `node e2e/bench-chat.mjs [sizes…]`.

import { mkdtempSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { bin, children, json, repo, root, start } from "./harness.mjs";

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const SIZES = sizes.length ? sizes : [120, 2000];

/** A message body with the things that cost to render: prose, a code block, a table, a list. */
function body(i) {
  if (i % 2 === 0) return `Question ${i}: how do I make \`step_${i}\` faster without breaking the tests?`;
  return [
    `Here is **answer ${i}**. The hot loop allocates; reuse the buffer:`,
    "",
    "```rust",
    `fn step_${i}(buf: &mut Vec<u8>, input: &[u8]) -> usize {`,
    "    buf.clear();",
    "    buf.extend_from_slice(input);",
    "    buf.iter().filter(|b| b.is_ascii_digit()).count()",
    "}",
    "```",
    "",
    "| variant | ns/iter | allocations |",
    "|---|---|---|",
    `| before | ${1000 + i} | 3 |`,
    `| after | ${400 + i} | 0 |`,
    "",
    "- measure with `cargo bench`",
    "- keep the old path behind a flag until the numbers hold",
  ].join("\n");
}

function exportOf(n) {
  const t0 = Date.parse("2026-11-01T00:00:00Z");
  const messages = Array.from({ length: n }, (_, i) => ({
    id: `m${i}`,
    parent_id: i ? `m${i - 1}` : null,
    role: i % 2 === 0 ? "user" : "assistant",
    content: body(i),
    model: i % 2 ? "fake-model" : null,
    created_at: new Date(t0 + i * 1000).toISOString(),
  }));
  return { format: "boocode.chat.v1", name: `Bench ${n}`, kind: "chat", model: null, system_prompt: null, created_at: new Date(t0).toISOString(), active_leaf_id: `m${n - 1}`, messages };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

async function measure(browser, base, session, n) {
  const imported = await json(base, "POST", `/api/chats/import?session_id=${session.id}`, exportOf(n));
  const chat = imported.chats[0].id;
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  // Open the chat in a fresh layout: the chat list and one tab showing this chat.
  await page.goto(`${base}/#/s/${session.id}?chat=${chat}`);
  const t0 = Date.now();
  // The last message on screen (the list may render only what is visible).
  await page.locator(`.tab-body:not([hidden]) .msg`, { hasText: `answer ${n - 1}.` }).waitFor({ timeout: 120000 });
  await page.getByLabel("Message", { exact: true }).last().waitFor();
  const open = await page.evaluate(() => performance.now());
  const openWall = Date.now() - t0;
  const cdp = await context.newCDPSession(page);
  await cdp.send("HeapProfiler.collectGarbage");
  const heap = (await cdp.send("Runtime.getHeapUsage")).usedSize;

  // Keystrokes while a long reply streams into this chat.
  const composer = page.locator(".tab-body:not([hidden])").getByLabel("Message", { exact: true });
  // Prose as models write it: a paragraph every 60 tokens (`BENCH_PARA=0` streams one unbroken paragraph).
  const para = Number(process.env.BENCH_PARA ?? 60);
  await composer.fill(`[[tokens:20000]] [[delay_ms:4]]${para > 0 ? ` [[para:${para}]]` : ""} stream into the long chat`);
  await composer.press("Enter");
  await page.locator(".tab-body:not([hidden]) .msg.assistant[data-status=streaming]").waitFor();
  await page.evaluate(() => {
    window.__keys = [];
    document.addEventListener(
      "keydown",
      (e) => {
        const t = e.timeStamp;
        requestAnimationFrame(() => setTimeout(() => window.__keys.push(performance.now() - t), 0));
      },
      true,
    );
  });
  await composer.click();
  for (let i = 0; i < 60; i++) await page.keyboard.type("x", { delay: 25 });
  const keys = await page.evaluate(() => window.__keys);
  const stop = page.locator(".tab-body:not([hidden])").getByRole("button", { name: "Stop" });
  const streamedThroughout = (await stop.count()) > 0;
  if (streamedThroughout) await stop.click();
  await page.locator(".tab-body:not([hidden]) .msg.assistant:not([data-status=streaming])").last().waitFor();

  // Frame times while scrolling from the top to the bottom in steps.
  const frames = await page.evaluate(async () => {
    const el = document.querySelector(".tab-body:not([hidden]) .messages");
    el.scrollTop = 0;
    await new Promise((r) => requestAnimationFrame(r));
    const times = [];
    let last = performance.now();
    const step = Math.max(60, el.scrollHeight / 240);
    while (el.scrollTop + el.clientHeight < el.scrollHeight - 2 && times.length < 600) {
      el.scrollTop += step;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      times.push(now - last);
      last = now;
    }
    return times;
  });
  await context.close();
  return {
    messages: n,
    open_ms: Math.round(openWall),
    open_perf_ms: Math.round(open),
    heap_mb: +(heap / 1048576).toFixed(1),
    key_p50_ms: +pct(keys, 50).toFixed(1),
    key_p95_ms: +pct(keys, 95).toFixed(1),
    scroll_p50_ms: +pct(frames, 50).toFixed(1),
    scroll_p95_ms: +pct(frames, 95).toFixed(1),
    scroll_frames: frames.length,
    streamed_while_typing: streamedThroughout,
  };
}

function scriptSizes() {
  const dir = join(root, "web/dist/assets");
  const main = readdirSync(dir).find((f) => /^index-.*\.js$/.test(f));
  const size = (f) => statSync(join(dir, f)).size;
  return { script: main, raw_kb: Math.round(size(main) / 1024), gzip_kb: Math.round(size(`${main}.gz`) / 1024), brotli_kb: Math.round(size(`${main}.br`) / 1024) };
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), "boocode-bench-"));
  const llm = await start(bin("fakellm"), ["--port", "0"]);
  const data = join(work, "data");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "boocode.toml"), 'shell = "/bin/sh"\n');
  const base = await start(bin("boocode"), ["serve", "--port", "0", "--data-dir", data, "--llm-url", llm, "--default-model", "fake-model"], { BOOCODE_LOG: "warn", BOOCODE_TOKEN: "" });
  const project = await json(base, "POST", "/api/projects", { path: repo(work, "app") });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  const rows = [];
  for (const n of SIZES) {
    const session = await json(base, "POST", `/api/projects/${project.id}/sessions`, {});
    rows.push(await measure(browser, base, session, n));
  }
  await browser.close();
  console.table(rows);
  console.log(JSON.stringify({ rows, ui: scriptSizes() }, null, 2));
}

try {
  await main();
} finally {
  for (const c of children) c.kill("SIGTERM");
}
