// Markdown for answers: GitHub-flavoured, code highlighted with a language label and a copy button, math
// through KaTeX (`$…$`, `$$…$$`), raw HTML never rendered (it shows as text) and links only with safe
// schemes (react-markdown drops `javascript:` and the like). A `$` before a digit is a price, not math:
// "$10 … $8" stays text.

import { memo, useRef, useState, type ReactElement, type ReactNode } from "react";
import ReactMarkdown from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import rehypeKatex from "rehype-katex";
import remarkGfm from "remark-gfm";
import remarkMath from "remark-math";
import { Check, Copy } from "lucide-react";
import "katex/dist/katex.min.css";

/** Escapes `$` that starts a price (`$` + digit) outside code, so it never opens inline math. */
export function protectPrices(text: string): string {
  if (!text.includes("$")) return text;
  // Split off fenced blocks and inline code; only the prose between them is touched.
  return text
    .split(/(```[\s\S]*?(?:```|$)|`[^`\n]*`)/g)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/(^|[^\\$])\$(?=\d)/g, "$1\\$")))
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
  return (
    <div className="md">
      <ReactMarkdown
        remarkPlugins={[remarkGfm, remarkMath]}
        rehypePlugins={[[rehypeKatex, { throwOnError: false, strict: "ignore" }], [rehypeHighlight, { detect: false, ignoreMissing: true }]]}
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
