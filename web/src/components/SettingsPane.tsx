// Settings: the agent providers (enable or disable, installed or not, version, errors, a custom ACP
// agent, re-probe) and the model server's status.

import { useCallback, useEffect, useState } from "react";
import { Plus, RefreshCw } from "lucide-react";
import { get, patch, post } from "../api/client";
import { ModelSelect } from "./ModelSelect";
import type {
  ProviderInfo,
  ModelInfo,
  ServerSettings,
  HealthResponse,
  ProbeProvidersRequest,
  ProvidersFile,
  ProvidersSnapshot,
} from "../api/generated/types";

/** The global default model: used when a chat, its session and its project name none. */
function DefaultModel() {
  const [settings, setSettings] = useState<ServerSettings | null>(null);
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [note, setNote] = useState<{ error: boolean; text: string } | null>(null);
  useEffect(() => {
    get<ServerSettings>("/api/settings")
      .then(setSettings)
      .catch((e: Error) => setNote({ error: true, text: e.message }));
    get<ModelInfo[]>("/api/models")
      .then(setModels)
      .catch(() => setModels([]));
  }, []);
  if (!settings) return null;
  return (
    <section>
      <h3>Default model</h3>
      <label>
        Used when a chat, its session and its project name no model{" "}
        <ModelSelect
          label="Default model"
          value={settings.default_model ?? ""}
          models={models}
          defaultLabel={settings.configured_default_model ? `${settings.configured_default_model} (--default-model)` : "the model the server has loaded"}
          onChange={(model) => {
            void patch<ServerSettings>("/api/settings", { default_model: model })
              .then((s) => {
                setSettings(s);
                setNote({ error: false, text: "Saved." });
              })
              .catch((err: Error) => setNote({ error: true, text: err.message }));
          }}
        />
      </label>
      {note && (
        <p className={note.error ? "error" : "note"} role={note.error ? "alert" : "status"}>
          {note.text}
        </p>
      )}
    </section>
  );
}

/** Names whose values are kept out of sight (and out of the editor). */
const SECRET = /KEY|TOKEN|SECRET|PASSWORD|PASS|AUTH|CREDENTIAL|CONFIG_CONTENT/i;

/** An agent's home, command line and environment, editable. */
function AgentSetup({ info, save }: { info: ProviderInfo; save: (change: Record<string, unknown>) => Promise<void> }) {
  const [editing, setEditing] = useState<string | null>(null);
  const startEdit = () =>
    setEditing(
      Object.entries(info.env)
        .map(([k, v]) => `${k}=${SECRET.test(k) ? "" : v}`)
        .join("\n"),
    );
  const saveEnv = async () => {
    const config = await get<ProvidersFile>("/api/providers/config");
    const current = config.providers[info.id]?.env ?? {};
    const env: Record<string, string> = {};
    for (const line of (editing ?? "").split("\n")) {
      const at = line.indexOf("=");
      if (at <= 0) continue;
      const key = line.slice(0, at).trim();
      const value = line.slice(at + 1);
      // A secret left empty keeps its stored value: it is never shown, so it cannot be retyped.
      env[key] = SECRET.test(key) && value === "" && current[key] ? current[key] : value;
    }
    await save({ env });
    setEditing(null);
  };
  return (
    <details className="agent-setup">
      <summary>
        {info.home === "user" ? "your home" : "private home"} · setup
      </summary>
      <label>
        Home{" "}
        <select aria-label={`Home of ${info.id}`} value={info.home ?? "private"} onChange={(e) => void save({ home: e.target.value })}>
          <option value="user">your home (your config and logins apply)</option>
          <option value="private">private (under boocode's data dir)</option>
        </select>
      </label>
      <div className="note">{info.home_dir}</div>
      <div>
        Command: <code>{info.command}</code>
      </div>
      <div>
        Environment:{" "}
        {Object.keys(info.env).length === 0 ? (
          <span className="note">none</span>
        ) : (
          Object.entries(info.env).map(([k, v]) => (
            <code key={k} className="env">
              {k}={v}
            </code>
          ))
        )}{" "}
        {editing === null && <button onClick={startEdit}>Edit</button>}
      </div>
      {editing !== null && (
        <div className="env-editor">
          <textarea aria-label={`Environment of ${info.id}`} value={editing} onChange={(e) => setEditing(e.target.value)} placeholder="NAME=value, one per line" />
          <span className="note">One NAME=value per line; a secret left empty keeps its saved value.</span>
          <button onClick={() => void saveEnv()}>Save</button>
          <button onClick={() => setEditing(null)}>Cancel</button>
        </div>
      )}
    </details>
  );
}

export function SettingsPane() {
  const [snapshot, setSnapshot] = useState<ProvidersSnapshot | null>(null);
  const [health, setHealth] = useState<HealthResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [custom, setCustom] = useState({ id: "", command: "", args: "" });

  const load = useCallback(async (force = false) => {
    try {
      const [s, h] = await Promise.all([
        post<ProvidersSnapshot>("/api/providers/snapshot", { force } satisfies ProbeProvidersRequest),
        get<HealthResponse>("/api/health"),
      ]);
      setSnapshot(s);
      setHealth(h);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const update = async (id: string, change: Record<string, unknown>) => {
    try {
      const config = await get<ProvidersFile>("/api/providers/config");
      await patch("/api/providers/config", { providers: { [id]: { ...(config.providers[id] ?? {}), ...change } } });
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <div className="settings-pane">
      <DefaultModel />
      <section>
        <h3>Model server</h3>
        {health && (
          <p className={health.llm.reachable ? "ok" : "error"}>
            {health.llm.url} — {health.llm.reachable ? "reachable" : "not reachable"}
          </p>
        )}
        {health?.problems.map((p) => (
          <p key={p} className="error">
            {p}
          </p>
        ))}
      </section>
      <section>
        <h3>
          Agents{" "}
          <button className="icon" title="Probe again" aria-label="Probe again" onClick={() => load(true)}>
            <RefreshCw size={14} />
          </button>
        </h3>
        {snapshot?.config_error && <p className="error">{snapshot.config_error}</p>}
        <table className="providers">
          <tbody>
            {snapshot?.providers.map((p) => (
              <tr key={p.id} data-provider={p.id}>
                <td>
                  <label>
                    <input
                      type="checkbox"
                      checked={p.enabled}
                      onChange={(e) => update(p.id, { enabled: e.target.checked })}
                    />{" "}
                    {p.label}
                  </label>
                </td>
                <td>{p.backend}</td>
                <td>{p.installed ? (p.version ?? "installed") : "not installed"}</td>
                <td className="error">{p.error}</td>
                <td>{p.home && <AgentSetup info={p} save={(change) => update(p.id, change)} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <form
          className="custom-agent"
          onSubmit={(e) => {
            e.preventDefault();
            void update(custom.id.trim(), {
              command: custom.command.trim(),
              args: custom.args.split(" ").filter(Boolean),
              enabled: true,
            }).then(() => setCustom({ id: "", command: "", args: "" }));
          }}
        >
          <input aria-label="Agent id" placeholder="id" value={custom.id} onChange={(e) => setCustom({ ...custom, id: e.target.value })} />
          <input
            aria-label="Agent command"
            placeholder="command"
            value={custom.command}
            onChange={(e) => setCustom({ ...custom, command: e.target.value })}
          />
          <input aria-label="Agent arguments" placeholder="args" value={custom.args} onChange={(e) => setCustom({ ...custom, args: e.target.value })} />
          <button type="submit" disabled={!custom.id.trim() || !custom.command.trim()}>
            <Plus size={14} /> Add ACP agent
          </button>
        </form>
      </section>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
