// Browser tests of BooChat: the chat list and search, branches (regenerate, sibling navigation, edit &
// resend), settings that reach the model server, the dark theme, a reader scrolled up during a stream,
// and a message queued while a reply streams. Screenshots go to target/ui-screenshots/.

import { join, resolve } from "node:path";
import { encodePng } from "../scripts/png.mjs";

/** A small RGB gradient as a real PNG, so thumbnails show something. */
function gradientPng(w, h) {
  return encodePng(w, h, 3, (x, y) => [(x * 255) / w, (y * 255) / h, 200]);
}

const openWebUiExport = resolve(import.meta.dirname, "../../crates/server/tests/fixtures/open-webui-export.json");

/** What fakellm received, newest last (its request log). */
async function requests(llm) {
  const resp = await fetch(llm.replace(/\/v1$/, "") + "/_fakellm/requests");
  return resp.json();
}

export function chatTests({ llm, shots, newSession, say, lastReply, assert }) {
  const done = (page) => lastReply(page).and(page.locator("[data-status=complete]"));
  return {
    "chats: a closed chat is found again in the list and by its text": async (page) => {
      await newSession(page);
      await say(page, "[[reply:The quixotic zebra answer]] tell me about zebras");
      await done(page).waitFor();
      const pane = page.locator(".pane").first();
      // Close its tab: the chat is still in the list.
      await pane.getByLabel("Close tab").first().click();
      const list = page.getByRole("complementary", { name: "Chats" });
      await list.locator(".chat-item").first().waitFor();
      await page.getByLabel("Search chats").fill("quixot");
      const hit = list.locator(".chat-item", { has: page.locator("mark", { hasText: /quixotic/i }) });
      await hit.waitFor();
      await page.screenshot({ path: join(shots, "chat-search.png") });
      await hit.locator(".chat-open").click();
      await page.locator(".msg.assistant", { hasText: "The quixotic zebra answer" }).waitFor();
      // "+ → Chat" makes a new, empty chat rather than reopening this one.
      await pane.getByLabel("New tab").click();
      await page.getByRole("button", { name: "Chat", exact: true }).click();
      await page.locator(".pane .tab-body:not([hidden]) .empty-state").waitFor();
    },
    "chats: an Open WebUI export imports from the chat list and exports again as Markdown": async (page) => {
      await newSession(page);
      await page.getByLabel("Chat export file").setInputFiles(openWebUiExport);
      await page.locator(".msg.assistant", { hasText: "let count" }).waitFor();
      assert((await page.locator(".msg").count()) === 4, "four messages in order");
      const [download] = await Promise.all([page.waitForEvent("download"), page.locator(".tab-body:not([hidden])").getByLabel("Export as Markdown").click()]);
      assert(download.suggestedFilename() === "Borrow-checker-and-closures.md", download.suggestedFilename());
      await page.screenshot({ path: join(shots, "chat-imported.png") });
    },
    "chats: one message compared across two models, side by side, then one continued": async (page) => {
      await newSession(page);
      await page.getByLabel("Compare models").click();
      const pick = page.getByRole("group", { name: "Models to compare" });
      await pick.getByLabel("fake-model", { exact: true }).check();
      await pick.getByLabel("fake-model-2", { exact: true }).check();
      await say(page, "[[reasoning:weighing]] [[reply:**Answer** with `code`]] compare this");
      const columns = page.locator(".compare-col");
      await columns.nth(1).locator("[data-status=complete]").waitFor();
      await columns.nth(0).locator("[data-status=complete]").waitFor();
      assert((await columns.count()) === 2, "two columns");
      await page.screenshot({ path: join(shots, "chat-compare.png") });
      await columns.nth(0).getByRole("button", { name: "Continue with this" }).click();
      await columns.nth(0).locator(".badge", { hasText: "continuing" }).waitFor();
      await page.setViewportSize({ width: 390, height: 844 });
      await page.getByLabel("Chat list").click();
      await page.screenshot({ path: join(shots, "chat-compare-390.png") });
      await page.getByLabel("Chat list").click();
      await page.setViewportSize({ width: 1400, height: 900 });
    },
    "chats: a text file and an image are attached, sent and shown": async (page) => {
      await newSession(page);
      const png = gradientPng(96, 64);
      await page.getByLabel("Files to attach").setInputFiles([
        { name: "notes.md", mimeType: "text/markdown", buffer: Buffer.from("# Notes\nthe secret word is kumquat\n") },
        { name: "pixel.png", mimeType: "image/png", buffer: png },
      ]);
      await page.getByLabel("Attached files").locator(".chip").nth(1).waitFor();
      // A binary that is neither: the server's reason shows.
      await page.getByLabel("Files to attach").setInputFiles([{ name: "tool.exe", mimeType: "application/octet-stream", buffer: Buffer.from([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00]) }]);
      await page.getByRole("alert").filter({ hasText: "neither text nor" }).waitFor();
      await page.getByLabel("Chat settings").click();
      await page.getByLabel("Chat model").selectOption("fake-model-2");
      await page.getByRole("button", { name: "Save settings" }).click();
      await say(page, "[[reply:I see a pixel and notes]] look at these");
      await done(page).waitFor();
      const user = page.locator(".msg.user").last();
      await user.locator("img.thumb").waitFor();
      await user.locator(".chip", { hasText: "notes.md" }).waitFor();
      const log = await requests(llm);
      const parts = log.filter((r) => r.stream).pop().body.messages.pop().content;
      assert(Array.isArray(parts) && parts[0].text.includes("kumquat") && parts[1].type === "image_url", `sent as parts: ${JSON.stringify(parts).slice(0, 200)}`);
      await page.screenshot({ path: join(shots, "chat-attachments.png") });
    },
    "chats: a stopped reply is continued from where it stopped": async (page) => {
      await newSession(page);
      await say(page, "[[tokens:400]] [[delay_ms:8]] go on and on");
      await lastReply(page).filter({ hasText: "tok20" }).waitFor();
      await page.getByRole("button", { name: "Stop" }).click();
      await page.locator(".msg.assistant[data-status=cancelled]").waitFor();
      await lastReply(page).hover();
      await lastReply(page).getByRole("button", { name: "Continue" }).click();
      await lastReply(page).filter({ hasText: "tok399" }).and(page.locator("[data-status=complete]")).waitFor({ timeout: 20000 });
      await page.locator(".msg.assistant .siblings", { hasText: "2/2" }).waitFor();
    },
    "chats: regenerate makes a sibling and < 1/2 > switches between them": async (page) => {
      await newSession(page);
      await say(page, "[[reply:first take]] pick a number");
      await done(page).waitFor();
      await lastReply(page).hover();
      await lastReply(page).getByRole("button", { name: "Regenerate" }).click();
      // fakellm answers the same directive; the sibling counter is what changes.
      await page.locator(".msg.assistant .siblings", { hasText: "2/2" }).waitFor();
      await done(page).waitFor();
      await lastReply(page).getByRole("button", { name: "Previous branch" }).click();
      await page.locator(".msg.assistant .siblings", { hasText: "1/2" }).waitFor();
      assert((await page.locator(".msg.assistant").count()) === 1, "one reply shown per branch");
      await page.reload();
      await page.locator(".msg.assistant .siblings", { hasText: "1/2" }).waitFor();
    },
    "chats: edit & resend starts a new branch from the edited message": async (page) => {
      await newSession(page);
      await say(page, "[[reply:about cats]] tell me about cats");
      await done(page).waitFor();
      const user = page.locator(".msg.user").first();
      await user.hover();
      await user.getByRole("button", { name: "Edit" }).click();
      await page.getByLabel("Edit message").fill("[[reply:about dogs]] tell me about dogs");
      await page.getByRole("button", { name: "Save & send" }).click();
      await page.locator(".msg.assistant", { hasText: "about dogs" }).and(page.locator("[data-status=complete]")).waitFor();
      assert((await page.locator(".msg.user").count()) === 1, "the edit replaces the message in view");
      await page.locator(".msg.user .siblings", { hasText: "2/2" }).waitFor();
      await page.locator(".msg.user").getByRole("button", { name: "Previous branch" }).click();
      await page.locator(".msg.assistant", { hasText: "about cats" }).waitFor();
    },
    "chats: a system prompt and temperature set in the UI reach the model server": async (page) => {
      await newSession(page);
      await page.getByRole("button", { name: "Chat settings" }).click();
      await page.getByLabel("System prompt").fill("You answer like a pirate.");
      await page.getByLabel("Temperature").fill("0.3");
      await page.getByLabel("Seed").fill("77");
      await page.screenshot({ path: join(shots, "chat-settings.png") });
      await page.getByRole("button", { name: "Save settings" }).click();
      await page.locator(".chat-head .model-name", { hasText: "system prompt" }).waitFor();
      await say(page, "[[reply:arr]] hello");
      await done(page).waitFor();
      const log = await requests(llm);
      const body = log.filter((r) => r.stream).pop().body;
      assert(body.messages[0].role === "system" && body.messages[0].content === "You answer like a pirate.", `system prompt sent: ${JSON.stringify(body.messages[0])}`);
      assert(body.temperature === 0.3 && body.seed === 77, `parameters sent: ${JSON.stringify(body)}`);
      await page.reload();
      await page.getByRole("button", { name: "Chat settings" }).click();
      assert((await page.getByLabel("System prompt").inputValue()) === "You answer like a pirate.", "settings stick");
    },
    "chats: the dark theme follows the system and the toggle": async (page) => {
      await page.emulateMedia({ colorScheme: "dark" });
      await newSession(page);
      await say(page, "[[reply:Here is `code`, a table and math $E=mc^2$ — it costs $10, not $8.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted\n\n```rust\nfn main() { println!(\"hi\"); }\n```]] show me");
      await done(page).waitFor();
      assert((await page.evaluate(() => document.documentElement.dataset.theme)) === "dark", "dark from the system");
      const bg = await page.evaluate(() => getComputedStyle(document.querySelector(".pane")).backgroundColor);
      assert(bg !== "rgb(255, 255, 255)", `dark panes, got ${bg}`);
      await lastReply(page).locator(".katex").first().waitFor();
      assert((await lastReply(page).locator(".katex").count()) === 1, "one formula rendered, loaded on demand");
      assert((await lastReply(page).textContent()).includes("$10, not $8"), "prices stay text");
      await page.screenshot({ path: join(shots, "chat-dark-wide.png") });
      await page.setViewportSize({ width: 390, height: 844 });
      // The list was open on the wide screen: at 390 px it covers the chat until closed.
      await page.screenshot({ path: join(shots, "chat-list-390-dark.png") });
      await page.getByLabel("Chat list").click();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(width <= 390, `nothing wider than the screen (${width}px)`);
      await page.screenshot({ path: join(shots, "chat-dark-390.png") });
      // The toggle: system → light wins over the dark system.
      await page.locator("[data-theme-choice]").click();
      assert((await page.evaluate(() => document.documentElement.dataset.theme)) === "light", "light chosen");
      await page.screenshot({ path: join(shots, "chat-light-390.png") });
      await page.locator("[data-theme-choice]").click();
      await page.locator("[data-theme-choice]").click();
      await page.setViewportSize({ width: 1400, height: 900 });
      await page.emulateMedia({ colorScheme: "light" });
    },
    "chats: a reader scrolled up is not pulled down while a reply streams": async (page) => {
      await newSession(page);
      // Long enough that the transcript scrolls well before the second reply starts.
      await say(page, "[[tokens:1500]] long one");
      await done(page).waitFor({ timeout: 20000 });
      await say(page, "[[tokens:1500]] [[delay_ms:6]] another");
      await lastReply(page).filter({ hasText: "tok30" }).waitFor();
      const scroller = page.locator(".tab-body:not([hidden]) .messages");
      await scroller.evaluate((el) => (el.scrollTop = 0));
      await page.getByRole("button", { name: "Jump to latest" }).waitFor();
      // The list is virtualised: the streaming reply may not be in the page while the reader is up
      // there, so its progress is read from the server.
      const href = await page.locator(".tab-body:not([hidden])").getByLabel("Export as JSON").getAttribute("href");
      const chat = /chats\/([^/]+)\/export/.exec(href)[1];
      for (let i = 0; i < 200; i++) {
        const msgs = await (await fetch(`${page.url().split("#")[0]}api/chats/${chat}/messages`)).json();
        if (msgs[msgs.length - 1].content.includes("tok600")) break;
        await page.waitForTimeout(50);
      }
      const top = await scroller.evaluate((el) => el.scrollTop);
      assert(top < 50, `reader kept their place (scrollTop ${top})`);
      await page.getByRole("button", { name: "Stop" }).click();
      await page.getByRole("button", { name: "Jump to latest" }).click();
      await page.waitForTimeout(300);
      const atEnd = await scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
      assert(atEnd < 60, `jumped to the end (${atEnd}px left)`);
    },
    "chats: a message typed while a reply streams is queued and sent when it ends": async (page) => {
      await newSession(page);
      await say(page, "[[tokens:200]] [[delay_ms:8]] first");
      await lastReply(page).filter({ hasText: "tok5" }).waitFor();
      await say(page, "[[reply:queued answer]] second");
      await page.getByLabel("Queued messages").waitFor();
      await page.locator(".msg.assistant", { hasText: "queued answer" }).and(page.locator("[data-status=complete]")).waitFor({ timeout: 20000 });
      assert((await page.locator(".msg.user").count()) === 2, "both messages sent, in order");
      assert((await page.locator(".msg.assistant").first().textContent()).includes("tok199"), "the first reply finished first");
    },
  };
}
