// What the browser tests and the browser benchmark share: the built binaries, child processes that
// print their URL when ready, a git repository to add as a project, and a small JSON client.

import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export const root = resolve(import.meta.dirname, "../..");
export const bin = (name) => join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", name);
export const shots = join(root, "target/ui-screenshots");
mkdirSync(shots, { recursive: true });
export const children = [];

export function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  return new Promise((ok, fail) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => fail(new Error(`${cmd} not ready: ${stderr}`)), 30000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      ok(line.split(" ").pop());
    });
    child.once("exit", (code) => fail(new Error(`${cmd} exited ${code}: ${stderr}`)));
  });
}

export function git(dir, ...args) {
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: dir });
}

export function repo(parent, name) {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  git(dir, "init", "-q");
  writeFileSync(join(dir, "README.md"), "hello\n");
  git(dir, "add", "-A");
  git(dir, "commit", "-qm", "first");
  return dir;
}

export const assert = (cond, message) => {
  if (!cond) throw new Error(message);
};

export async function json(base, method, path, body) {
  const resp = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

