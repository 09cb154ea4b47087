// A terminal: xterm.js over the terminal's WebSocket (bytes both ways, resize messages). The terminal id
// is kept in the tab, so a reload reattaches and the server replays the scrollback; closing the tab ends
// the process (the workspace deletes it).

import { useEffect, useRef, useState } from "react";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import { post } from "../api/client";
import type { CreateTerminalResponse } from "../api/generated/types";

export function TerminalPane(props: { session: string; terminal?: string; onCreated: (id: string) => void }) {
  const { session, terminal, onCreated } = props;
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!host.current) return;
    const term = new Terminal({ fontSize: 13, convertEol: false, cursorBlink: true });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host.current);
    fit.fit();
    let ws: WebSocket | null = null;
    let disposed = false;
    const connect = (id: string) => {
      const proto = location.protocol === "https:" ? "wss" : "ws";
      ws = new WebSocket(`${proto}://${location.host}/api/sessions/${session}/terminals/${id}/ws`);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => ws?.send(JSON.stringify({ type: "resize", cols: term.cols, rows: term.rows }));
      ws.onmessage = (ev) => {
        if (typeof ev.data === "string") term.write(ev.data);
        else term.write(new Uint8Array(ev.data as ArrayBuffer));
      };
      ws.onclose = () => {
        if (!disposed) term.write("\r\n[terminal closed]\r\n");
      };
    };
    const encoder = new TextEncoder();
    const input = term.onData((d) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(encoder.encode(d));
    });
    const resize = term.onResize(({ cols, rows }) => {
      if (ws?.readyState === WebSocket.OPEN && cols > 0 && rows > 0) {
        ws.send(JSON.stringify({ type: "resize", cols, rows }));
      }
    });
    const observer = new ResizeObserver(() => {
      try {
        fit.fit();
      } catch {
        // Hidden tabs have no size.
      }
    });
    observer.observe(host.current);
    if (terminal) {
      connect(terminal);
    } else {
      post<CreateTerminalResponse>(`/api/sessions/${session}/terminals`, {
        cwd: "worktree",
        cols: Math.max(term.cols, 20),
        rows: Math.max(term.rows, 5),
      })
        .then((t) => {
          if (disposed) return;
          onCreated(t.id);
          connect(t.id);
        })
        .catch((e: Error) => setError(e.message));
    }
    return () => {
      disposed = true;
      observer.disconnect();
      input.dispose();
      resize.dispose();
      ws?.close();
      term.dispose();
    };
    // Reattaching is decided once per mounted tab.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session]);

  return (
    <div className="terminal-pane">
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="xterm-host" ref={host} data-terminal={terminal ?? ""} />
    </div>
  );
}
