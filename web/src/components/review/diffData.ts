// The server's files and hunks (`GET /api/changes/{id}`) as react-diff-view renders them, the language
// a path is highlighted as, and tokens with syntax colours (lowlight, the highlighter the chat's code
// blocks use) and word-level changes (react-diff-view's markEdits).

import { common, createLowlight } from "lowlight";
import { markEdits, tokenize, type ChangeData, type HunkData, type HunkTokens } from "react-diff-view";
import type { ChangeFile, DiffHunk } from "../../api/generated/types";

/** One hunk for react-diff-view; `content` is the `@@` header. */
export function toHunkData(h: DiffHunk): HunkData {
  const changes: ChangeData[] = h.lines.map((l) => {
    if (l.kind === "added") return { type: "insert", isInsert: true, content: l.text, lineNumber: l.new_line ?? 0 };
    if (l.kind === "removed") return { type: "delete", isDelete: true, content: l.text, lineNumber: l.old_line ?? 0 };
    return {
      type: "normal",
      isNormal: true,
      content: l.text,
      oldLineNumber: l.old_line ?? 0,
      newLineNumber: l.new_line ?? 0,
    };
  });
  return {
    content: h.header,
    oldStart: h.old_start,
    oldLines: h.old_lines,
    newStart: h.new_start,
    newLines: h.new_lines,
    changes,
  };
}

/** react-diff-view's name for what happened to a file. */
export function diffType(f: ChangeFile): "add" | "delete" | "modify" | "rename" | "copy" {
  switch (f.status) {
    case "added":
      return "add";
    case "deleted":
      return "delete";
    case "renamed":
      return "rename";
    case "copied":
      return "copy";
    default:
      return "modify";
  }
}

/** What happened to a file, in words (renames, modes and binary files have no lines to show it). */
export function describe(f: ChangeFile): string[] {
  const out: string[] = [];
  if (f.status === "added") out.push("new file");
  if (f.status === "deleted") out.push("deleted");
  if (f.status === "renamed" && f.old_path) out.push(`renamed from ${f.old_path}`);
  if (f.status === "copied" && f.old_path) out.push(`copied from ${f.old_path}`);
  if (f.old_mode && f.new_mode && f.old_mode !== f.new_mode) {
    const exec = (m: string) => m.endsWith("755");
    out.push(
      exec(f.new_mode) && !exec(f.old_mode)
        ? "made executable"
        : exec(f.old_mode) && !exec(f.new_mode)
          ? "no longer executable"
          : `mode ${f.old_mode} → ${f.new_mode}`,
    );
  }
  if (f.binary) out.push("binary file, not shown");
  return out;
}

const LANGUAGES: Record<string, string> = {
  rs: "rust",
  ts: "typescript",
  tsx: "typescript",
  mts: "typescript",
  js: "javascript",
  jsx: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  py: "python",
  go: "go",
  java: "java",
  kt: "kotlin",
  c: "c",
  h: "c",
  cc: "cpp",
  cpp: "cpp",
  hpp: "cpp",
  cs: "csharp",
  rb: "ruby",
  php: "php",
  swift: "swift",
  css: "css",
  scss: "scss",
  less: "less",
  html: "xml",
  xml: "xml",
  svg: "xml",
  json: "json",
  md: "markdown",
  sh: "bash",
  bash: "bash",
  zsh: "bash",
  yml: "yaml",
  yaml: "yaml",
  toml: "ini",
  ini: "ini",
  sql: "sql",
  lua: "lua",
  pl: "perl",
  r: "r",
  diff: "diff",
  mk: "makefile",
};

/** The highlight language of a path, if one is known. */
export function languageOf(path: string): string | null {
  const name = path.split("/").pop() ?? path;
  if (name === "Makefile") return "makefile";
  if (name === "Dockerfile") return null;
  const ext = name.includes(".") ? name.split(".").pop()!.toLowerCase() : "";
  return LANGUAGES[ext] ?? null;
}

let lowlight: ReturnType<typeof createLowlight> | null = null;

/** A refractor-shaped adapter over lowlight, as react-diff-view's tokenizer expects. */
function highlighter() {
  lowlight ??= createLowlight(common);
  const ll = lowlight;
  return {
    highlight: (text: string, language: string) => ll.highlight(language, text).children,
  };
}

/** Tokens for a file's hunks: syntax colours where the language is known, word-level edits always. */
export function tokensOf(path: string, hunks: HunkData[]): HunkTokens | undefined {
  if (hunks.length === 0) return undefined;
  const language = languageOf(path);
  const enhancers = [markEdits(hunks, { type: "block" })];
  try {
    if (language && lowlight?.registered(language) !== false) {
      return tokenize(hunks, { highlight: true, refractor: highlighter() as never, language, enhancers });
    }
  } catch {
    // A grammar that fails on this text: fall back to word-level edits only.
  }
  try {
    return tokenize(hunks, { enhancers });
  } catch {
    return undefined;
  }
}
