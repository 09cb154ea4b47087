// A chat's own settings, stored on the server: model, system prompt, sampling parameters, and presets
// (a named prompt + parameters, global or per project) to apply or save.

import { useEffect, useState } from "react";
import { del, get, patch, post } from "../api/client";
import { ModelSelect } from "./ModelSelect";
import type { Chat, ChatParams, ModelInfo, Preset, ReasoningEffort, Session } from "../api/generated/types";

type NumberKey = Exclude<keyof ChatParams, "stop" | "reasoning_effort">;

const NUMBERS: { key: NumberKey; label: string; step: string; hint: string }[] = [
  { key: "temperature", label: "Temperature", step: "0.05", hint: "0–5" },
  { key: "top_p", label: "Top P", step: "0.05", hint: "0–1" },
  { key: "top_k", label: "Top K", step: "1", hint: "integer" },
  { key: "min_p", label: "Min P", step: "0.01", hint: "0–1" },
  { key: "max_tokens", label: "Max tokens", step: "1", hint: "integer" },
  { key: "repeat_penalty", label: "Repeat penalty", step: "0.05", hint: "0–5" },
  { key: "presence_penalty", label: "Presence penalty", step: "0.1", hint: "−2–2" },
  { key: "frequency_penalty", label: "Frequency penalty", step: "0.1", hint: "−2–2" },
  { key: "seed", label: "Seed", step: "1", hint: "integer" },
];

export function ChatSettings({
  chat,
  projectId,
  session,
  models,
  onSaved,
}: {
  chat: Chat;
  projectId: string;
  session: Session | null;
  models: ModelInfo[];
  onSaved: (c: Chat) => void;
}) {
  const [sessionModel, setSessionModel] = useState(session?.model ?? "");
  const [model, setModel] = useState(chat.model ?? "");
  const [prompt, setPrompt] = useState(chat.system_prompt ?? "");
  const [params, setParams] = useState<ChatParams>(chat.params);
  const [stop, setStop] = useState((chat.params.stop ?? []).join("\n"));
  const [presets, setPresets] = useState<Preset[]>([]);
  const [presetName, setPresetName] = useState("");
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);

  useEffect(() => {
    get<Preset[]>(`/api/presets?project_id=${projectId}`)
      .then(setPresets)
      .catch(() => setPresets([]));
  }, [projectId]);

  const current = (): ChatParams => {
    const stops = stop
      .split("\n")
      .map((s) => s.replace(/\\n/g, "\n"))
      .filter((s) => s.length > 0);
    return { ...params, stop: stops.length ? stops : undefined };
  };

  const save = async () => {
    try {
      if (session && sessionModel !== (session.model ?? "")) {
        await patch<Session>(`/api/sessions/${session.id}`, { model: sessionModel });
      }
      const saved = await patch<Chat>(`/api/chats/${chat.id}`, { model, system_prompt: prompt, params: current() });
      onSaved(saved);
      setMessage({ error: false, text: "Saved — the next reply uses these settings." });
    } catch (e) {
      setMessage({ error: true, text: (e as Error).message });
    }
  };

  const setNumber = (key: NumberKey, raw: string) => {
    const next = { ...params };
    if (raw.trim() === "") delete next[key];
    else next[key] = Number(raw);
    setParams(next);
  };

  const apply = (p: Preset) => {
    setPrompt(p.system_prompt);
    setParams(p.params);
    setStop((p.params.stop ?? []).join("\n"));
    setMessage({ error: false, text: `Preset “${p.name}” applied — save to keep it.` });
  };

  const savePreset = async (scope: "project" | "global") => {
    try {
      const p = await post<Preset>("/api/presets", {
        name: presetName,
        project_id: scope === "project" ? projectId : undefined,
        system_prompt: prompt,
        params: current(),
      });
      setPresets([...presets, p].sort((a, b) => a.name.localeCompare(b.name)));
      setPresetName("");
      setMessage({ error: false, text: `Preset “${p.name}” saved.` });
    } catch (e) {
      setMessage({ error: true, text: (e as Error).message });
    }
  };

  return (
    <form
      className="chat-settings"
      aria-label="Chat settings"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label>
        Model
        <ModelSelect label="Chat model" value={model} models={models} defaultLabel={`Session default${sessionModel ? ` (${sessionModel})` : ""}`} onChange={setModel} />
      </label>
      <label>
        Session default model
        <ModelSelect label="Session model" value={sessionModel} models={models} defaultLabel="Server default" onChange={setSessionModel} />
      </label>
      {presets.length > 0 && (
        <label>
          Preset
          <select
            aria-label="Apply preset"
            value=""
            onChange={(e) => {
              const p = presets.find((x) => x.id === e.target.value);
              if (p) apply(p);
            }}
          >
            <option value="">Apply a preset…</option>
            {presets.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
                {p.project_id ? "" : " (global)"}
              </option>
            ))}
          </select>
        </label>
      )}
      <label className="wide">
        System prompt
        <textarea aria-label="System prompt" rows={4} value={prompt} placeholder="You are a helpful assistant…" onChange={(e) => setPrompt(e.target.value)} />
      </label>
      <div className="params">
        {NUMBERS.map((n) => (
          <label key={n.key}>
            {n.label}
            <input
              type="number"
              aria-label={n.label}
              step={n.step}
              placeholder={n.hint}
              value={params[n.key] ?? ""}
              onChange={(e) => setNumber(n.key, e.target.value)}
            />
          </label>
        ))}
        <label>
          Thinking
          <select
            aria-label="Reasoning effort"
            value={params.reasoning_effort ?? ""}
            onChange={(e) => {
              const next = { ...params };
              if (e.target.value) next.reasoning_effort = e.target.value as ReasoningEffort;
              else delete next.reasoning_effort;
              setParams(next);
            }}
          >
            <option value="">Server default</option>
            <option value="none">Off</option>
            <option value="low">Low</option>
            <option value="medium">Medium</option>
            <option value="high">High</option>
          </select>
        </label>
        <label>
          Stop sequences
          <textarea aria-label="Stop sequences" rows={2} placeholder="one per line" value={stop} onChange={(e) => setStop(e.target.value)} />
        </label>
      </div>
      {message && (
        <p className={message.error ? "error" : "note"} role={message.error ? "alert" : "status"}>
          {message.text}
        </p>
      )}
      <div className="settings-buttons">
        <button type="submit" className="primary">
          Save settings
        </button>
        <button
          type="button"
          onClick={() => {
            setModel("");
            setPrompt("");
            setParams({});
            setStop("");
          }}
        >
          Reset
        </button>
        <span className="spacer" />
        <input aria-label="Preset name" placeholder="Preset name" value={presetName} onChange={(e) => setPresetName(e.target.value)} />
        <button type="button" disabled={!presetName.trim()} onClick={() => void savePreset("project")}>
          Save as project preset
        </button>
        <button type="button" disabled={!presetName.trim()} onClick={() => void savePreset("global")}>
          Save as global preset
        </button>
      </div>
      {presets.length > 0 && (
        <ul className="preset-list">
          {presets.map((p) => (
            <li key={p.id}>
              {p.name} {p.project_id ? "" : <span className="note">(global)</span>}
              <button
                type="button"
                className="icon small"
                aria-label={`Delete preset ${p.name}`}
                onClick={() => {
                  void del(`/api/presets/${p.id}`)
                    .then(() => setPresets(presets.filter((x) => x.id !== p.id)))
                    .catch((e: Error) => setMessage({ error: true, text: e.message }));
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}
