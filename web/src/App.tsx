// Routes (`#/` the landing page, `#/s/<session>` a workspace) and the model-server banner.

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
      {down && (
        <div className="banner error" role="alert">
          {down}
        </div>
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
