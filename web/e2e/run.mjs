// End-to-end tests of the web UI: the real `boocode serve` (built by cargo), fakellm and the scripted ACP
// agent, driven in Debian's Chromium through playwright-core. Screenshots of the main views go to
// target/ui-screenshots/. Run after `cargo build` (scripts/test does both); `node e2e/run.mjs [filter]`.

import { mkdtempSync, mkdirSync, writeFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { chatTests } from "./chat.mjs";
import { reviewTests } from "./review.mjs";

import { assert, bin, children, git, json, repo, shots, start } from "./harness.mjs";

async function main() {
  for (const b of ["boocode", "fakellm", "fake-acp-agent"]) {
    assert(existsSync(bin(b)), `${bin(b)} is missing: run cargo build first`);
  }
  const work = mkdtempSync(join(tmpdir(), "boocode-e2e-"));
  const llm = await start(bin("fakellm"), ["--port", "0"]);
  const data = join(work, "data");
  mkdirSync(data, { recursive: true });
  // A plain shell: the machine's own start-up files must not decide whether a terminal test passes.
  writeFileSync(join(data, "boocode.toml"), 'shell = "/bin/sh"\n');
  writeFileSync(
    join(data, "providers.json"),
    JSON.stringify({
      providers: {
        fake: { command: bin("fake-acp-agent"), label: "Fake agent", home: "private", env: { FAKE_API_KEY: "sk-hidden", FAKE_MODE: "quick" } },
        ghost: { command: "/nonexistent/ghost-agent", label: "Ghost" },
      },
    }),
  );
  const serveArgs = (dataDir, llmUrl) => ["serve", "--port", "0", "--data-dir", dataDir, "--llm-url", llmUrl, "--default-model", "fake-model"];
  const base = await start(bin("boocode"), serveArgs(data, llm), { BOOCODE_LOG: "warn", BOOCODE_TOKEN: "" });
  mkdirSync(join(work, "data-down"), { recursive: true });
  const project = await json(base, "POST", "/api/projects", { path: repo(work, "app") });

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const filter = process.argv[2];
  let failed = 0;

  const newSession = async (page) => {
    const s = await json(base, "POST", `/api/projects/${project.id}/sessions`, {});
    await page.goto(`${base}/#/s/${s.id}`);
    await page.getByLabel("Message", { exact: true }).waitFor();
    return s;
  };
  const say = async (page, text) => {
    await page.getByLabel("Message", { exact: true }).fill(text);
    await page.getByLabel("Message", { exact: true }).press("Enter");
  };
  const lastReply = (page) => page.locator(".msg.assistant").last();

  const tests = {
    ...chatTests({ llm, shots, newSession, say, lastReply, assert }),
    ...reviewTests({ project, shots, newSession, assert, git }),
    "landing: an invalid project path shows the server's message": async (page) => {
      await page.goto(base);
      await page.getByLabel("Project path").fill("/definitely/not/here");
      await page.getByRole("button", { name: "Add project" }).click();
      await page.getByRole("alert").filter({ hasText: "/definitely/not/here" }).waitFor();
      await page.screenshot({ path: join(shots, "landing.png") });
    },
    "chat: streams with reasoning and is still there after a reload": async (page) => {
      await newSession(page);
      await say(page, "[[reasoning:pondering the question]] [[reply:Hello **bold** world]]");
      await lastReply(page).and(page.locator("[data-status=complete]")).waitFor();
      assert((await lastReply(page).locator("strong").textContent()) === "bold", "markdown rendered");
      await lastReply(page).locator(".reasoning summary").click();
      assert((await lastReply(page).locator(".reasoning-text").textContent()) === "pondering the question", "reasoning shown");
      await page.screenshot({ path: join(shots, "chat.png") });
      await page.reload();
      await page.locator(".msg.assistant", { hasText: "Hello bold world" }).waitFor();
    },
    "chat: stop ends a long reply": async (page) => {
      await newSession(page);
      await say(page, "[[tokens:3000]] [[delay_ms:10]]");
      await lastReply(page).filter({ hasText: "tok5" }).waitFor();
      await page.getByRole("button", { name: "Stop" }).click();
      await page.locator(".msg.assistant[data-status=cancelled]").waitFor();
      const text = await lastReply(page).locator(".md").textContent();
      assert(!text.includes("tok2999"), "stopped before the end");
    },
    "chat: markdown with raw HTML and javascript: links renders inert": async (page) => {
      await newSession(page);
      let alerted = false;
      page.on("dialog", (d) => {
        alerted = true;
        void d.dismiss();
      });
      await say(page, '[[reply:<img src=x onerror="alert(1)"> and [click](javascript:alert(2))]]');
      await lastReply(page).and(page.locator("[data-status=complete]")).waitFor();
      assert((await lastReply(page).locator("img").count()) === 0, "no img element");
      const href = await lastReply(page).locator("a").first().getAttribute("href");
      assert(!href || !href.startsWith("javascript:"), `inert link, got ${href}`);
      await lastReply(page).locator("a").first().click().catch(() => {});
      await page.waitForTimeout(300);
      assert(!alerted, "no script ran");
    },
    "chat: a dropped connection mid-stream ends complete and single": async (page) => {
      await newSession(page);
      await say(page, "[[tokens:300]] [[delay_ms:8]]");
      await lastReply(page).filter({ hasText: "tok20" }).waitFor();
      await page.evaluate(() => window.__boocodeFrames.drop());
      await page.locator("[data-link=reconnecting], [data-link=live]").first().waitFor();
      await lastReply(page).and(page.locator("[data-status=complete]")).waitFor({ timeout: 20000 });
      const text = (await lastReply(page).locator(".md").textContent()).trim();
      const expected = Array.from({ length: 300 }, (_, i) => `tok${i}`).join(" ");
      assert(text === expected, `complete and single text, got ${text.length} chars: ${text.slice(0, 120)}…`);
    },
    "panes: split, close and reopen": async (page) => {
      await newSession(page);
      await page.getByRole("button", { name: "Split pane" }).click();
      await page.getByRole("menuitem", { name: "New coder pane" }).click();
      await page.locator(".pane").nth(1).waitFor();
      assert((await page.locator(".pane").count()) === 2, "two panes");
      await page.locator(".pane").nth(1).getByLabel("Close tab").click();
      assert((await page.locator(".pane").count()) === 1, "the emptied pane is gone");
      await page.getByRole("button", { name: "Reopen closed pane" }).click();
      await page.locator(".pane").nth(1).locator(".tab[data-kind=coder]").waitFor();
      await page.reload();
      await page.locator(".pane").nth(1).locator(".tab[data-kind=coder]").waitFor();
    },
    "terminal: echoes a command": async (page) => {
      await newSession(page);
      await page.getByRole("button", { name: "Split pane" }).click();
      await page.getByRole("menuitem", { name: "New terminal pane" }).click();
      await page.getByRole("group", { name: "Start a terminal" }).getByRole("button", { name: "the session's worktree" }).click();
      const term = page.locator(".xterm-host").last();
      await term.locator(".xterm-rows").waitFor();
      await page.waitForTimeout(500);
      await term.click();
      await page.keyboard.type("echo boo$((40+2))\n");
      await term.locator(".xterm-rows", { hasText: "boo42" }).waitFor();
      await page.screenshot({ path: join(shots, "terminal.png") });
      // A reload reattaches to the same terminal and replays its scrollback.
      const id = await term.getAttribute("data-terminal");
      await page.reload();
      const again = page.locator(".xterm-host").last();
      await again.locator(".xterm-rows", { hasText: "boo42" }).waitFor();
      assert((await again.getAttribute("data-terminal")) === id, "the same terminal");
    },
    "coder: a native task's diff is accepted and lands in the project": async (page) => {
      await newSession(page);
      await page.getByRole("button", { name: "Split pane" }).click();
      await page.getByRole("menuitem", { name: "New coder pane" }).click();
      const coder = page.locator(".pane").nth(1);
      await coder.getByLabel("Task", { exact: true }).fill('[[tool:write_file {"path":"ui.txt","content":"from the UI"}]] [[reply:done]]');
      await coder.getByLabel("Task", { exact: true }).press("Enter");
      await coder.locator("[data-change=pending]").waitFor({ timeout: 20000 });
      await page.screenshot({ path: join(shots, "coder.png") });
      await coder.getByRole("button", { name: "Accept" }).click();
      await coder.locator("[data-change=accepted]").waitFor();
      assert(readFileSync(join(project.path, "ui.txt"), "utf8") === "from the UI", "applied to the project");
    },
    "coder: a permission shows its diff, survives a reload, and always-allow is a revocable rule": async (page) => {
      await newSession(page);
      await page.getByRole("button", { name: "Split pane" }).click();
      await page.getByRole("menuitem", { name: "New coder pane" }).click();
      let coder = page.locator(".pane").nth(1);
      await coder.getByLabel("Agent", { exact: true }).selectOption("fake");
      await coder.getByLabel("Task", { exact: true }).fill("[[permission:perm.ts export const allowed = true;]] [[say:wrote it]]");
      await coder.getByLabel("Task", { exact: true }).press("Enter");
      let prompt = coder.getByRole("dialog", { name: "Permission request" });
      await prompt.waitFor({ timeout: 20000 });
      await prompt.getByLabel("Proposed change to perm.ts").locator(".diff-code-insert").first().waitFor();
      // A reload shows the request again (from the server, not a frame) and it can still be answered.
      await page.reload();
      coder = page.locator(".pane").nth(1);
      prompt = coder.getByRole("dialog", { name: "Permission request" });
      await prompt.getByLabel("Proposed change to perm.ts").waitFor({ timeout: 20000 });
      await page.screenshot({ path: join(shots, "permission.png") });
      await prompt.getByRole("button", { name: "Always allow" }).click();
      await coder.locator("[data-task-state=completed]").waitFor({ timeout: 20000 });
      const rules = coder.getByLabel("Always allowed in this session");
      await rules.getByRole("button", { name: "Revoke always allow edit" }).waitFor();
      await page.screenshot({ path: join(shots, "permission-rule.png") });
      await rules.getByRole("button", { name: "Revoke always allow edit" }).click();
      await rules.waitFor({ state: "detached" });
    },
    "panes: dragging the divider resizes them, and the sizes survive a reload": async (page) => {
      await newSession(page);
      await page.getByRole("button", { name: "Split pane" }).click();
      await page.getByRole("menuitem", { name: "New coder pane" }).click();
      const first = page.locator(".pane").first();
      const before = (await first.boundingBox()).width;
      const divider = page.getByRole("separator", { name: "Resize panes 1 and 2" });
      const box = await divider.boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + 200);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2 - 250, box.y + 200, { steps: 8 });
      await page.mouse.up();
      const after = (await first.boundingBox()).width;
      assert(Math.abs(before - 250 - after) < 30, `the first pane shrank by the drag: ${before} → ${after}`);
      await page.reload();
      await page.locator(".pane").nth(1).waitFor();
      const reloaded = (await page.locator(".pane").first().boundingBox()).width;
      assert(Math.abs(reloaded - after) < 5, `the size is kept: ${after} → ${reloaded}`);
      await page.screenshot({ path: join(shots, "panes-resized.png") });
    },
    "narrow screens: one pane at a time, switched from the toolbar": async (page) => {
      await page.setViewportSize({ width: 420, height: 800 });
      await newSession(page);
      await page.getByRole("button", { name: "Split pane" }).click();
      await page.getByRole("menuitem", { name: "New coder pane" }).click();
      assert((await page.locator(".pane:visible").count()) === 1, "one pane visible");
      const send = page.getByRole("button", { name: "Split pane" });
      const box = await send.boundingBox();
      assert(box && box.height >= 44, `touch target ${box?.height}px`);
      await page.getByLabel("Pane", { exact: true }).selectOption({ index: 0 });
      await page.locator(".pane:visible .tab[data-kind=chat]").waitFor();
      await page.screenshot({ path: join(shots, "narrow.png") });
    },
    "terminal: opened in the project directory, it comes back after a server restart with its old output": async (page) => {
      const dir = join(work, "data-restart");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "boocode.toml"), 'shell = "/bin/sh"\n');
      const first = await start(bin("boocode"), serveArgs(dir, llm), { BOOCODE_LOG: "warn", BOOCODE_TOKEN: "" });
      const server = children[children.length - 1];
      const port = new URL(first).port;
      const p = await json(first, "POST", "/api/projects", { path: repo(work, "restart-app") });
      const s = await json(first, "POST", `/api/projects/${p.id}/sessions`, {});
      await page.goto(`${first}/#/s/${s.id}`);
      await page.getByLabel("Message", { exact: true }).waitFor();
      await page.getByRole("button", { name: "Split pane" }).click();
      await page.getByRole("menuitem", { name: "New terminal pane" }).click();
      await page.getByRole("button", { name: "the project directory" }).click();
      const term = page.locator(".xterm-host").last();
      await term.locator(".xterm-rows").waitFor();
      await page.waitForTimeout(500);
      await term.click();
      await page.keyboard.type("echo kept$((40+2)); pwd\n");
      await term.locator(".xterm-rows", { hasText: "kept42" }).waitFor();
      // The server goes away and comes back on the same address (so the page's layout is the same).
      server.kill("SIGTERM");
      await new Promise((ok) => server.once("exit", ok));
      const args = serveArgs(dir, llm);
      args[args.indexOf("--port") + 1] = port;
      await start(bin("boocode"), args, { BOOCODE_LOG: "warn", BOOCODE_TOKEN: "" });
      await page.reload();
      const gone = page.getByRole("status").filter({ hasText: "ended when boocode restarted" });
      await gone.waitFor({ timeout: 20000 });
      await page.screenshot({ path: join(shots, "terminal-gone.png") });
      await gone.getByRole("button", { name: "Restart here" }).click();
      const again = page.locator(".xterm-host").last();
      await again.locator(".xterm-rows", { hasText: "boocode restarted" }).waitFor();
      await again.locator(".xterm-rows", { hasText: "kept42" }).waitFor();
      await page.waitForTimeout(300);
      await again.click();
      await page.keyboard.type("echo back$((40+2))\n");
      await again.locator(".xterm-rows", { hasText: "back42" }).waitFor();
      await page.screenshot({ path: join(shots, "terminal-restarted.png") });
    },
    "app: installable (manifest, icons, service worker) and offline the shell opens and says so": async (page) => {
      await page.goto(base);
      const manifest = await page.evaluate(async () => (await fetch("/manifest.webmanifest")).json());
      assert(manifest.display === "standalone" && manifest.start_url === "/", "a standalone app manifest");
      assert(manifest.icons.some((i) => i.sizes === "512x512"), "with a 512 px icon");
      const icon = await page.evaluate(async () => (await fetch("/icon-192.png")).headers.get("content-type"));
      assert(icon === "image/png", `icons are PNG: ${icon}`);
      await page.evaluate(async () => {
        await navigator.serviceWorker.ready;
      });
      // Once the worker controls the page, the shell comes from its cache when the network is gone.
      await page.reload();
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
      await page.context().setOffline(true);
      try {
        await page.reload();
        await page.locator("[data-banner=offline]").waitFor();
        await page.screenshot({ path: join(shots, "offline.png") });
      } finally {
        await page.context().setOffline(false);
      }
    },
    "banner: a model server that is down is named": async (page) => {
      const other = await start(bin("boocode"), serveArgs(join(work, "data-down"), "http://127.0.0.1:9/v1"), {
        BOOCODE_LOG: "warn",
        BOOCODE_TOKEN: "",
      });
      await page.goto(other);
      await page.locator("[data-banner=llm]", { hasText: "http://127.0.0.1:9/v1" }).waitFor();
    },
    "login: a token-protected server signs a browser in with a form, never the token in a cookie": async (page) => {
      mkdirSync(join(work, "data-token"), { recursive: true });
      const guarded = await start(bin("boocode"), serveArgs(join(work, "data-token"), llm), {
        BOOCODE_LOG: "warn",
        BOOCODE_TOKEN: "e2e-secret-token",
      });
      await page.goto(guarded);
      await page.waitForURL(/\/login$/);
      await page.getByLabel("Token (BOOCODE_TOKEN)").waitFor();
      await page.screenshot({ path: join(shots, "login-wide-light.png") });
      await page.getByLabel("Token (BOOCODE_TOKEN)").fill("wrong");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator(".error", { hasText: "Wrong token." }).waitFor();
      await page.emulateMedia({ colorScheme: "dark" });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(shots, "login-390-dark.png") });
      await page.getByLabel("Token (BOOCODE_TOKEN)").fill("e2e-secret-token");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByLabel("Project path").waitFor();
      const cookies = await page.context().cookies(guarded);
      const login = cookies.find((c) => c.name === "boocode_session");
      assert(login && login.httpOnly && login.sameSite === "Strict", "an HttpOnly, SameSite=Strict login cookie");
      assert(!cookies.some((c) => c.value.includes("e2e-secret-token")), "the token is in no cookie");
      await page.context().clearCookies();
      await page.emulateMedia({ colorScheme: "light" });
      await page.setViewportSize({ width: 1400, height: 900 });
    },
    "arena: the native agent on two models races from the UI, diffs side by side, the leaderboard counts the pick": async (page) => {
      await newSession(page);
      await page.locator(".pane").first().getByLabel("New tab").click();
      await page.getByRole("button", { name: "Arena" }).click();
      // One prompt, an answer per model (fakellm reads the part after [[model:NAME]]).
      await page.getByLabel("Arena task").fill(
        '[[model:fake-model]] [[tool:write_file {"path":"arena.txt","content":"small model"}]] [[reply:done]] ' +
          '[[model:fake-model-2]] [[tool:write_file {"path":"arena.txt","content":"big model"}]] [[reply:done]]',
      );
      await page.getByLabel("Contender 1 agent").selectOption("native");
      await page.getByLabel("Contender 1 model").selectOption("fake-model");
      await page.getByLabel("Contender 2 agent").selectOption("native");
      await page.getByLabel("Contender 2 model").selectOption("fake-model-2");
      await page.getByLabel("Check command").fill("grep -q big arena.txt");
      await page.getByRole("button", { name: "Start the race" }).click();
      await page.locator("[data-arena=finished]").waitFor({ timeout: 20000 });
      await page.locator("[data-lane='1'] [data-check=passed]").waitFor();
      await page.locator("[data-lane='0'] [data-check=failed]").waitFor();
      await page.getByLabel("Compare lane 1").check();
      await page.getByLabel("Compare lane 2").check();
      await page.getByLabel("Diff of lane 1").locator(".diff-code-insert", { hasText: "small model" }).waitFor();
      await page.getByLabel("Diff of lane 2").locator(".diff-code-insert", { hasText: "big model" }).waitFor();
      await page.screenshot({ path: join(shots, "arena.png") });
      await page.locator("[data-lane='1']").getByRole("button", { name: "Pick this one" }).click();
      await page.locator("[data-arena=picked]").waitFor();
      assert(readFileSync(join(project.path, "arena.txt"), "utf8") === "big model", "the pick landed");
      assert((await page.locator("[data-lane='0']").getByRole("button", { name: "Pick this one" }).count()) === 0, "the losing lane offers nothing");
      // A new arena tab lists the arena and the leaderboard with the pick counted.
      await page.locator(".pane").first().getByLabel("New tab").click();
      await page.getByRole("button", { name: "Arena" }).last().click();
      const board = page.getByRole("region", { name: "Leaderboard" });
      await board.getByRole("row", { name: /native · fake-model-2 1/ }).waitFor();
      await page.getByRole("region", { name: "Arenas" }).getByRole("button").first().waitFor();
      await page.screenshot({ path: join(shots, "arena-leaderboard.png") });
      await page.setViewportSize({ width: 390, height: 844 });
      if (await page.locator(".chat-list").isVisible()) await page.getByLabel("Chat list").click();
      await page.screenshot({ path: join(shots, "arena-390.png") });
      await page.setViewportSize({ width: 1400, height: 900 });
    },
    "agents: settings show each agent's home and environment; the picker says why one cannot run": async (page) => {
      await newSession(page);
      await page.locator(".pane").first().getByLabel("New tab").click();
      await page.getByRole("button", { name: "Settings" }).click();
      const fake = page.locator("[data-provider=fake]");
      await fake.locator("summary").click();
      assert((await fake.getByLabel("Home of fake").inputValue()) === "private", "fake runs in a private home");
      await fake.locator("code.env", { hasText: "FAKE_MODE=quick" }).waitFor();
      assert(!(await fake.textContent()).includes("sk-hidden"), "a secret value is never shown");
      await page.screenshot({ path: join(shots, "settings-agent-home.png") });
      await page.getByRole("button", { name: "Split pane" }).click();
      await page.getByRole("menuitem", { name: "New coder pane" }).click();
      const coder = page.locator(".pane").last();
      const ghost = coder.getByLabel("Agent", { exact: true }).locator("option", { hasText: "Ghost" });
      await ghost.waitFor({ state: "attached" });
      assert(await ghost.isDisabled(), "an agent that cannot start is not a choice");
      assert((await ghost.textContent()).includes("unavailable"), "and it says why");
      await page.screenshot({ path: join(shots, "picker-unavailable.png") });
    },
    "settings: providers are listed": async (page) => {
      await newSession(page);
      await page.locator(".pane").first().getByLabel("New tab").click();
      await page.getByRole("button", { name: "Settings" }).click();
      await page.locator("[data-provider=fake]").waitFor();
      await page.getByLabel("Default model").selectOption("fake-model-2");
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      const saved = await json(base, "GET", "/api/settings");
      assert(saved.default_model === "fake-model-2", `stored: ${JSON.stringify(saved)}`);
      await page.screenshot({ path: join(shots, "settings.png") });
      await json(base, "PATCH", "/api/settings", { default_model: "" });
    },
  };

  for (const [name, test] of Object.entries(tests)) {
    if (filter && !name.includes(filter)) continue;
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.setDefaultTimeout(15000);
    try {
      await test(page);
      assert(errors.length === 0, `page errors: ${errors.join("; ")}`);
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}\n     ${String(e.stack ?? e).split("\n").slice(0, 6).join("\n     ")}`);
      await page.screenshot({ path: join(shots, `failed-${name.replace(/\W+/g, "-")}.png`) }).catch(() => {});
    }
    await page.close();
  }
  await browser.close();
  rmSync(work, { recursive: true, force: true });
  return failed;
}

let code = 1;
try {
  const failed = await main();
  console.log(failed ? `${failed} UI test(s) failed` : "all UI tests passed");
  code = failed ? 1 : 0;
} catch (e) {
  console.error(e);
} finally {
  for (const c of children) c.kill("SIGTERM");
}
process.exit(code);
