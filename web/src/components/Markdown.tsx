// Markdown for answers: GitHub-flavoured, code highlighted with a language label and a copy button, math
// through KaTeX (`$…$`, `$$…$$`), raw HTML never rendered (it shows as text) and links only with safe
// schemes (react-markdown drops `javascript:` and the like). A `$` before a digit is a price, not math:
// "$10 … $8" stays text.

import { memo, useDeferredValue, useEffect, useRef, useState, type ReactElement, type ReactNode } from "react";
import ReactMarkdown, { type Options } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";
import { Check, Copy } from "lucide-react";

type Plugins = NonNullable<Options["remarkPlugins"]>;

/** KaTeX and its fonts load only once some text has a `$` in it: most chats never pay for them. */
let math: { remark: Plugins[number]; rehype: Plugins[number] } | null = null;
let mathLoading: Promise<void> | null = null;
function loadMath(): Promise<void> {
  mathLoading ??= Promise.all([import("remark-math"), import("rehype-katex"), import("katex/dist/katex.min.css")]).then(([rm, rk]) => {
    math = { remark: rm.default, rehype: [rk.default, { throwOnError: false, strict: "ignore" }] };
  });
  return mathLoading;
}

/**
 * Prepares prose for remark-math, outside code only: a `$` that starts a price (`$` + digit) is escaped
 * so it never opens inline math, and the LaTeX delimiters models also use, `\(…\)` and `\[…\]`,
 * become `$…$` and `$$…$$`.
 */
export function protectPrices(text: string): string {
  if (!text.includes("$") && !text.includes("\\")) return text;
  // Split off fenced blocks and inline code; only the prose between them is touched.
  return text
    .split(/(```[\s\S]*?(?:```|$)|`[^`\n]*`)/g)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part
            .replace(/(^|[^\\$])\$(?=\d)/g, "$1\\$")
            .replace(/\\\[([\s\S]+?)\\\]/g, (_m, body: string) => `$$${body}$$`)
            .replace(/\\\((.+?)\\\)/g, (_m, body: string) => `$${body}$`),
    )
    .join("");
}

function languageOf(children: ReactNode): string | null {
  const child = Array.isArray(children) ? children[0] : children;
  const cls = (child as ReactElement<{ className?: string }> | null)?.props?.className ?? "";
  const m = /language-([\w+#-]+)/.exec(cls);
  return m ? m[1] : null;
}

function CodeBlock({ children }: { children?: ReactNode }) {
  const ref = useRef<HTMLPreElement>(null);
  const [copied, setCopied] = useState(false);
  const lang = languageOf(children);
  const copy = async () => {
    const text = ref.current?.innerText ?? "";
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1200);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div className="code">
      {lang && <span className="lang">{lang}</span>}
      <button className="icon copy" title="Copy" aria-label="Copy code" onClick={copy}>
        {copied ? <Check size={14} /> : <Copy size={14} />}
      </button>
      <pre ref={ref}>{children}</pre>
    </div>
  );
}

export const Markdown = memo(function Markdown({ text }: { text: string }) {
  const wantsMath = text.includes("$") || text.includes("\\(") || text.includes("\\[");
  const [, loaded] = useState(0);
  useEffect(() => {
    if (wantsMath && !math) void loadMath().then(() => loaded((n) => n + 1));
  }, [wantsMath]);
  const withMath = wantsMath && math;
  return (
    <div className="md">
      <ReactMarkdown
        remarkPlugins={withMath ? [remarkGfm, withMath.remark] : [remarkGfm]}
        rehypePlugins={[...(withMath ? [withMath.rehype] : []), [rehypeHighlight, { detect: false, ignoreMissing: true }]]}
        skipHtml={false}
        components={{
          pre: CodeBlock,
          a: ({ href, children }) => (
            <a href={href} target="_blank" rel="noopener noreferrer">
              {children}
            </a>
          ),
        }}
      >
        {protectPrices(text)}
      </ReactMarkdown>
    </div>
  );
});

/**
 * A reply's text cut into blocks at blank lines outside fenced code, so a streaming reply re-parses only
 * its last, growing block: the finished blocks before it are memoised and never parsed again.
 */
export function splitBlocks(text: string): string[] {
  const blocks: string[] = [];
  let current: string[] = [];
  let fence: string | null = null;
  for (const line of text.split("\n")) {
    const opener = /^\s{0,3}(```+|~~~+)/.exec(line)?.[1] ?? null;
    if (fence) {
      if (opener && opener[0] === fence[0] && opener.length >= fence.length) fence = null;
    } else if (opener) {
      fence = opener;
    } else if (line.trim() === "") {
      if (current.length > 0) blocks.push(current.join("\n"));
      current = [];
      continue;
    }
    current.push(line);
  }
  if (current.length > 0) blocks.push(current.join("\n"));
  return blocks;
}

/**
 * Markdown for a reply that is still streaming: finished blocks render once; the growing last block is
 * rendered at a lower priority than typing (React's deferred value), so the composer stays responsive
 * while hundreds of tokens a second arrive. A finished reply is rendered whole by `Markdown` (lists and
 * references that span blank lines come out exactly).
 */
export function StreamingMarkdown({ text }: { text: string }) {
  const deferred = useDeferredValue(text);
  const blocks = splitBlocks(deferred);
  return (
    <div className="md-stream">
      {blocks.map((block, i) => (
        <Markdown key={i} text={block} />
      ))}
    </div>
  );
}
