// The session's frame stream: a WebSocket that reconnects after a drop with `since=<last applied seq>`,
// so the server replays exactly what was missed. Its state (connecting, live, reconnecting) is shown.

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
  onResync: () => void,
  onLink: (l: Link) => void,
): FrameSocket {
  let ws: WebSocket | null = null;
  let closed = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

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
        onResync();
        return;
      }
      onFrame(data);
    };
    ws.onclose = () => {
      if (closed) return;
      onLink("reconnecting");
      const wait = Math.min(5000, 250 * 2 ** attempt++);
      timer = setTimeout(connect, wait);
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
