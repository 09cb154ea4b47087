// The session's frame stream: a WebSocket that reconnects after a drop with `since=<last applied seq>`,
// so the server replays exactly what was missed. Its state (connecting, live, reconnecting) is shown.
// When the server can no longer replay the gap (`resync`), the caller reloads its state over REST and
// the socket reconnects only after that, from the reloaded position — never again with the old one.

import type { ControlFrame, Frame } from "./generated/types";

export type Link = "connecting" | "live" | "reconnecting";

export interface FrameSocket {
  close(): void;
  /** Drops the connection as a network failure would (tests and diagnostics). */
  drop(): void;
}

export function openFrames(
  session: string,
  lastSeq: () => number,
  onFrame: (f: Frame) => void,
  onResync: () => Promise<void>,
  onLink: (l: Link) => void,
): FrameSocket {
  let ws: WebSocket | null = null;
  let closed = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let resyncing: Promise<void> | null = null;

  const connect = () => {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${proto}://${location.host}/api/sessions/${session}/ws?since=${lastSeq()}`);
    ws.onopen = () => {
      attempt = 0;
      onLink("live");
    };
    ws.onmessage = (ev) => {
      const data = JSON.parse(String(ev.data)) as Frame | ControlFrame;
      if (!("seq" in data)) {
        resyncing ??= onResync().finally(() => {
          resyncing = null;
        });
        return;
      }
      onFrame(data);
    };
    ws.onclose = () => {
      if (closed) return;
      onLink("reconnecting");
      const wait = Math.min(5000, 250 * 2 ** attempt++);
      const pending = resyncing;
      if (pending) {
        void pending.catch(() => {}).then(() => {
          if (!closed) timer = setTimeout(connect, wait);
        });
      } else {
        timer = setTimeout(connect, wait);
      }
    };
  };
  onLink("connecting");
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      ws?.close();
    },
    drop() {
      ws?.close();
    },
  };
}
