import { describe, expect, it } from "vitest";
import { protectPrices } from "./Markdown";

describe("prices are not math", () => {
  it("escapes a dollar before a digit outside code only", () => {
    expect(protectPrices("It costs $10 and then $8.")).toBe("It costs \\$10 and then \\$8.");
    expect(protectPrices("math $x^2$ stays")).toBe("math $x^2$ stays");
    expect(protectPrices("`echo $1` and\n```sh\nexport A=$2\n```\n$3")).toBe("`echo $1` and\n```sh\nexport A=$2\n```\n\\$3");
    expect(protectPrices("already \\$5")).toBe("already \\$5");
    expect(protectPrices("$$\\frac{1}{2}$$")).toBe("$$\\frac{1}{2}$$");
  });

  it("turns \\( \\) and \\[ \\] into dollar math, not inside code", () => {
    expect(protectPrices("inline \\(a+b\\) and block \\[x^2\\]")).toBe("inline $a+b$ and block $$x^2$$");
    expect(protectPrices("`\\(raw\\)`")).toBe("`\\(raw\\)`");
  });
});

import { splitBlocks } from "./Markdown";

describe("streaming blocks", () => {
  it("cuts at blank lines but never inside fenced code", () => {
    const text = "One.\n\nTwo,\nstill two.\n\n```js\nconst a = 1;\n\nconst b = 2;\n```\n\nThree";
    expect(splitBlocks(text)).toEqual(["One.", "Two,\nstill two.", "```js\nconst a = 1;\n\nconst b = 2;\n```", "Three"]);
    expect(splitBlocks("open ```\n\n```py\nx\n\ny")).toEqual(["open ```", "```py\nx\n\ny"]);
    expect(splitBlocks("")).toEqual([]);
  });
});
