// A permission an agent is waiting for, shown in full: the diff of an edit (ACP `diff` content), the
// command and its directory for a shell call, the raw input otherwise; the agent's own options (allow
// once, always allow — remembered for this kind of tool in this session —, reject). Requests come from
// frames and, after a reload, from `GET /api/sessions/{id}/permissions?state=pending`.

import { lazy, Suspense, useState } from "react";
import { ShieldQuestion, X } from "lucide-react";
import { del, post } from "../api/client";
import type { PermissionRequest, PermissionRule } from "../api/generated/types";

const TextDiff = lazy(() => import("./review/TextDiff"));

/** The parts of an ACP tool call a person needs to decide. */
interface AskedCall {
  title?: string;
  kind?: string;
  content?: { type?: string; path?: string; oldText?: string | null; newText?: string }[];
  locations?: { path?: string }[];
  rawInput?: Record<string, unknown> | null;
}

/** The command of a shell call, however the agent spells it. */
function commandOf(input: Record<string, unknown> | null | undefined): string | null {
  if (!input) return null;
  const c = input.command ?? input.cmd ?? input.commandLine;
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map(String).join(" ");
  return null;
}

function cwdOf(input: Record<string, unknown> | null | undefined): string | null {
  const d = input?.cwd ?? input?.workdir ?? input?.directory;
  return typeof d === "string" ? d : null;
}

export function PermissionCard({ request }: { request: PermissionRequest }) {
  const [error, setError] = useState<string | null>(null);
  const call = (request.tool_call ?? {}) as AskedCall;
  const diffs = (call.content ?? []).filter((c) => c.type === "diff" && typeof c.newText === "string");
  const command = call.kind === "execute" ? commandOf(call.rawInput) : null;
  const where = cwdOf(call.rawInput);
  const answer = async (option: string) => {
    try {
      await post(`/api/permissions/${request.id}`, { option_id: option });
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <div className="permission" role="dialog" aria-label="Permission request" data-permission={request.id}>
      <div className="ask">
        <ShieldQuestion size={16} /> <b>{call.title ?? "The agent asks"}</b>
        {call.kind && <span className="kind">{call.kind}</span>}
      </div>
      {command !== null && (
        <div className="what">
          <div className="command" aria-label="Command">
            $ {command}
          </div>
          <div className="cwd">in {where ?? "the session's worktree"}</div>
        </div>
      )}
      {diffs.map((d, i) => (
        <Suspense key={i} fallback={<p className="note">Loading the diff…</p>}>
          <div className="what">
            <code>{d.path}</code>
            {d.oldText == null && <span className="note"> (new file)</span>}
            <TextDiff path={d.path ?? ""} oldText={d.oldText ?? null} newText={d.newText ?? ""} />
          </div>
        </Suspense>
      ))}
      {command === null && diffs.length === 0 && call.rawInput && Object.keys(call.rawInput).length > 0 && (
        <details className="what">
          <summary>What it will do</summary>
          <pre className="command">{JSON.stringify(call.rawInput, null, 2)}</pre>
        </details>
      )}
      {diffs.length === 0 && command === null && (call.locations ?? []).length > 0 && (
        <div className="cwd">{(call.locations ?? []).map((l) => l.path).join(", ")}</div>
      )}
      <div className="options">
        {request.options.map((o) => (
          <button key={o.option_id} className={o.kind} onClick={() => answer(o.option_id)}>
            {o.name}
          </button>
        ))}
        {request.options.some((o) => o.kind === "allow_always") && (
          <span className="hint">“{request.options.find((o) => o.kind === "allow_always")?.name}” applies to every {call.kind ?? "such"} request in this session until revoked</span>
        )}
      </div>
      {error && <p className="error">{error}</p>}
    </div>
  );
}

/** The session's standing "always allow" rules, each revocable. */
export function PermissionRules({ rules, onChange }: { rules: PermissionRule[]; onChange: () => void }) {
  const [error, setError] = useState<string | null>(null);
  if (rules.length === 0) return null;
  return (
    <div className="rules" aria-label="Always allowed in this session">
      Always allowed here:
      {rules.map((r) => (
        <span key={r.id} className="rule">
          {r.kind}
          <button
            aria-label={`Revoke always allow ${r.kind}`}
            title="Revoke: ask again next time"
            onClick={() =>
              del(`/api/permission-rules/${r.id}`)
                .then(() => {
                  setError(null);
                  onChange();
                })
                .catch((e: Error) => setError(e.message))
            }
          >
            <X size={12} />
          </button>
        </span>
      ))}
      {error && <span className="error">{error}</span>}
    </div>
  );
}
