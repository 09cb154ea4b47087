// Routes (`#/` the landing page, `#/s/<session>` a workspace), the model-server banner and the offline one.

import { useEffect, useState } from "react";
import { get } from "./api/client";
import type { HealthResponse } from "./api/generated/types";
import { Landing } from "./components/Landing";
import { Workspace } from "./components/Workspace";

function route(): string | null {
  const m = /^#\/s\/([^/?]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

/** `#/s/<session>?chat=<id>`: a chat to open (from another session's chat list). */
function routeChat(): string | null {
  const m = /[?&]chat=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

export function App() {
  const [session, setSession] = useState<string | null>(route);
  const [health, setHealth] = useState<HealthResponse | null>(null);
  const [down, setDown] = useState<string | null>(null);
  const [offline, setOffline] = useState(() => !navigator.onLine);

  useEffect(() => {
    const on = () => setOffline(false);
    const off = () => setOffline(true);
    window.addEventListener("online", on);
    window.addEventListener("offline", off);
    return () => {
      window.removeEventListener("online", on);
      window.removeEventListener("offline", off);
    };
  }, []);

  useEffect(() => {
    const onHash = () => setSession(route());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    const check = () =>
      get<HealthResponse>("/api/health")
        .then((h) => {
          setHealth(h);
          setDown(null);
        })
        .catch((e: Error) => setDown(e.message));
    void check();
    const timer = setInterval(check, 10000);
    return () => clearInterval(timer);
  }, []);

  return (
    <>
      {offline ? (
        <div className="banner warn" role="alert" data-banner="offline">
          You are offline: what is on screen stays, and boocode reconnects when the network is back.
        </div>
      ) : (
        down && (
          <div className="banner error" role="alert">
            {down}
          </div>
        )
      )}
      {health && !health.llm.reachable && (
        <div className="banner warn" role="alert" data-banner="llm">
          The model server at {health.llm.url} is not reachable.
        </div>
      )}
      {session ? (
        <Workspace key={session} id={session} openChat={routeChat()} />
      ) : (
        <Landing open={(id) => (location.hash = `#/s/${id}`)} />
      )}
    </>
  );
}
