import { describe as group, expect, it } from "vitest";
import type { ChangeFile } from "../../api/generated/types";
import { describe, diffType, languageOf, toHunkData, tokensOf } from "./diffData";

const file: ChangeFile = {
  path: "src/main.rs",
  old_path: null,
  status: "modified",
  binary: false,
  old_mode: "100644",
  new_mode: "100755",
  insertions: 1,
  deletions: 1,
  hunks: [
    {
      id: "h1",
      header: "@@ -1,2 +1,2 @@",
      old_start: 1,
      old_lines: 2,
      new_start: 1,
      new_lines: 2,
      lines: [
        { kind: "context", old_line: 1, new_line: 1, text: "fn main() {", no_newline: false },
        { kind: "removed", old_line: 2, new_line: null, text: "    let x = 1;", no_newline: false },
        { kind: "added", old_line: null, new_line: 2, text: "    let x = 2;", no_newline: false },
      ],
    },
  ],
};

group("diff data", () => {
  it("turns server hunks into react-diff-view hunks with line numbers", () => {
    const h = toHunkData(file.hunks[0]);
    expect(h.content).toBe("@@ -1,2 +1,2 @@");
    expect(h.changes.map((c) => c.type)).toEqual(["normal", "delete", "insert"]);
    expect(h.changes[1]).toMatchObject({ lineNumber: 2, isDelete: true });
    expect(h.changes[0]).toMatchObject({ oldLineNumber: 1, newLineNumber: 1 });
  });

  it("says in words what has no lines to show", () => {
    expect(describe(file)).toEqual(["made executable"]);
    expect(describe({ ...file, status: "renamed", old_path: "a.rs", old_mode: null, binary: true })).toEqual([
      "renamed from a.rs",
      "binary file, not shown",
    ]);
    expect(diffType({ ...file, status: "added" })).toBe("add");
  });

  it("knows languages by extension and marks word-level edits", () => {
    expect(languageOf("web/src/App.tsx")).toBe("typescript");
    expect(languageOf("Makefile")).toBe("makefile");
    expect(languageOf("LICENSE")).toBeNull();
    const tokens = tokensOf(file.path, [toHunkData(file.hunks[0])]);
    const json = JSON.stringify(tokens);
    expect(json).toContain("edit");
    expect(json).toContain("hljs-keyword");
  });
});
