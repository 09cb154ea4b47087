// Browser tests of the review: a native task changes a committed Rust file in two places and adds a
// file; the review shows files and hunks (unified and split, light and dark, 390 px), expands unchanged
// lines, accepts one hunk, shows a conflict naming the file, and lands the rest as a commit.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const numbered = (n, edit = {}) =>
  Array.from({ length: n }, (_, i) => edit[i + 1] ?? `fn f${i + 1}() -> u32 { ${i + 1} }`).join("\n") + "\n";

export function reviewTests({ project, shots, newSession, assert, git }) {
  const openCoder = async (page) => {
    await newSession(page);
    await page.getByRole("button", { name: "Split pane" }).click();
    await page.getByRole("menuitem", { name: "New coder pane" }).click();
    return page.locator(".pane").last();
  };
  const runTask = async (coder, files) => {
    const script =
      files.map(([path, content]) => `[[tool:write_file ${JSON.stringify({ path, content })}]]`).join(" ") + " [[reply:done]]";
    await coder.getByLabel("Task", { exact: true }).fill(script);
    await coder.getByLabel("Task", { exact: true }).press("Enter");
    await coder.locator("[data-change=pending]").waitFor({ timeout: 20000 });
  };

  return {
    "review: hunks in unified and split views, expand, accept one hunk, a conflict, then a commit": async (page) => {
      const file = join(project.path, "lib.rs");
      writeFileSync(file, numbered(40));
      git(project.path, "add", "lib.rs");
      git(project.path, "commit", "-qm", "lib.rs");
      const coder = await openCoder(page);
      await runTask(coder, [
        ["lib.rs", numbered(40, { 3: "fn f3() -> u32 { 3 + 300 }", 30: "fn f30() -> u64 { 30 }" })],
        ["docs/notes.md", "# Notes\n\nThe review works.\n"],
      ]);
      await coder.getByRole("button", { name: "Review" }).click();
      const review = coder.getByRole("region", { name: "Review change" });
      await review.locator(".review-file").nth(1).waitFor();
      assert((await review.locator(".hunk-bar[data-hunk]").count()) === 3, "three hunks");
      assert((await review.locator(".diff-code-edit").count()) > 0, "word-level changes are marked");
      assert((await review.locator(".hljs-keyword").count()) > 0, "Rust is highlighted");
      await review.getByRole("button", { name: "Unified" }).click();
      await page.screenshot({ path: join(shots, "review-unified-light.png") });

      // Unchanged lines between the two hunks of lib.rs come back on "expand".
      const lib = review.getByRole("article", { name: "Diff of lib.rs" });
      const rows = await lib.locator("tr.diff-line").count();
      await review.getByRole("button", { name: "Expand lines above hunk 2 of lib.rs" }).click();
      await page.waitForFunction(
        (n) => document.querySelector('[aria-label="Diff of lib.rs"]').querySelectorAll("tr.diff-line").length > n,
        rows,
      );

      await review.getByRole("button", { name: "Split" }).click();
      await review.locator(".diff-split").first().waitFor();
      await page.screenshot({ path: join(shots, "review-split-light.png") });
      assert((await page.evaluate(() => localStorage.getItem("boocode.diffView"))) === "split", "the layout is remembered");

      // Accept lib.rs's first hunk only: the project gets exactly it; two hunks stay pending.
      await review.getByRole("button", { name: "Accept hunk 1 of lib.rs" }).click();
      await coder.getByRole("status").filter({ hasText: "still pending" }).waitFor();
      const text = readFileSync(file, "utf8");
      assert(text.includes("3 + 300") && !text.includes("-> u64"), "only the first hunk landed");
      await review.locator(".hunk-bar[data-hunk]").nth(1).waitFor();
      assert((await review.locator(".hunk-bar[data-hunk]").count()) === 2, "two hunks left");
      await page.screenshot({ path: join(shots, "review-hunk-accepted.png") });

      // A comment on line 30 (the new side of the split view), sent to the agent with "request changes".
      await lib.locator("td.diff-gutter", { hasText: /^30$/ }).last().click();
      await review.getByLabel("Comment on line 30 of lib.rs").fill("Keep u32 here: callers depend on it.");
      await review.getByRole("button", { name: "Comment", exact: true }).click();
      await lib.locator(".comment", { hasText: "Keep u32 here" }).waitFor();
      await page.screenshot({ path: join(shots, "review-comment.png") });
      await review.getByRole("button", { name: "Request changes (1)" }).click();
      await review.getByRole("status").filter({ hasText: "Sent 1 comment to native" }).waitFor();
      await lib.locator(".comment .badge", { hasText: "sent" }).waitFor();

      // The user edits the same lines meanwhile: the server's conflict names the file; nothing changes.
      writeFileSync(file, numbered(40, { 3: "fn f3() -> u32 { 3 + 300 }", 30: "fn f30() -> u32 { 31 }" }));
      await review.getByRole("button", { name: "Accept hunk 1 of lib.rs" }).click();
      await review.getByRole("alert").filter({ hasText: "lib.rs" }).waitFor();
      git(project.path, "checkout", "lib.rs");
      writeFileSync(file, numbered(40, { 3: "fn f3() -> u32 { 3 + 300 }" }));
      git(project.path, "commit", "-qam", "first hunk");

      // The rest lands as one commit with the given message.
      await review.getByLabel("Accept into").selectOption("commit");
      await review.getByRole("button", { name: "Draft" }).click();
      await page.waitForFunction(() => document.querySelector('[aria-label="Commit message"]')?.value.length > 0);
      await page.screenshot({ path: join(shots, "review-commit-draft.png") });
      await review.getByLabel("Commit message").fill("Widen f30 and add notes");
      await review.getByRole("button", { name: "Accept all" }).click();
      await coder.getByRole("status").filter({ hasText: "as commit" }).waitFor();
      await coder.locator("[data-change=accepted]").first().waitFor();
      assert(readFileSync(file, "utf8").includes("-> u64"), "the commit's change is in the working tree");
    },
    "tasks: rows beside their turn, a failure with its reason, retry, and the project's board": async (page) => {
      const coder = await openCoder(page);
      await coder.getByLabel("Task", { exact: true }).fill("[[fail:500]]");
      await coder.getByLabel("Task", { exact: true }).press("Enter");
      const failed = coder.locator("[data-task-state=failed]");
      await failed.waitFor({ timeout: 20000 });
      assert((await failed.textContent()).includes("failed"), "the row says failed");
      // The row sits right under the reply of its turn.
      const next = await failed.evaluate((el) => el.previousElementSibling?.className ?? "");
      assert(next.includes("msg"), `the task row follows its turn's message, not ${next}`);
      await page.getByRole("button", { name: "Split pane" }).click();
      await page.getByRole("menuitem", { name: "Task board" }).click();
      const board = page.getByLabel("Task board");
      const ended = board.getByRole("region", { name: "Ended" });
      await ended.locator(".board-card", { hasText: "[[fail:500]]" }).first().waitFor();
      await page.screenshot({ path: join(shots, "task-board.png") });
      await ended.getByRole("button", { name: /^Retry task/ }).first().click();
      await page.waitForFunction(() => document.querySelectorAll('[aria-label="Task board"] .board-card').length >= 2, null, { timeout: 20000 });
      await page.setViewportSize({ width: 390, height: 844 });
      if (await page.locator(".chat-list").isVisible()) await page.getByLabel("Chat list").click();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(width <= 390, `nothing wider than the screen (${width}px)`);
      await page.screenshot({ path: join(shots, "task-board-390.png") });
      await page.getByLabel("Pane", { exact: true }).selectOption({ index: 1 });
      await page.screenshot({ path: join(shots, "coder-390.png") });
    },
    "review: dark theme and 390 px": async (page) => {
      await page.emulateMedia({ colorScheme: "dark" });
      const coder = await openCoder(page);
      await runTask(coder, [["src/dark.ts", "export const answer: number = 42;\nexport function twice(n: number) {\n  return n * 2;\n}\n"]]);
      await coder.getByRole("button", { name: "Review" }).click();
      const review = coder.getByRole("region", { name: "Review change" });
      await review.locator(".review-file").first().waitFor();
      await page.screenshot({ path: join(shots, "review-dark-wide.png") });
      await page.setViewportSize({ width: 390, height: 844 });
      if (await page.locator(".chat-list").isVisible()) await page.getByLabel("Chat list").click();
      await page.getByLabel("Pane", { exact: true }).selectOption({ index: 1 });
      await review.locator(".review-file").first().waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(width <= 390, `nothing wider than the screen (${width}px)`);
      await page.screenshot({ path: join(shots, "review-dark-390.png") });
      await page.emulateMedia({ colorScheme: "light" });
      await page.screenshot({ path: join(shots, "review-light-390.png") });
      await review.getByRole("button", { name: "Reject all" }).click();
      await coder.locator("[data-change=rejected]").first().waitFor();
    },
  };
}
