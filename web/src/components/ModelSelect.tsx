// A picker of the model server's models with a first "default" choice (the empty value), used wherever a
// model can be chosen or left to the next level's default.

import type { ModelInfo } from "../api/generated/types";

export function ModelSelect({ label, value, models, defaultLabel, onChange }: { label: string; value: string; models: ModelInfo[]; defaultLabel: string; onChange: (model: string) => void }) {
  return (
    <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">{defaultLabel}</option>
      {models.map((m) => (
        <option key={m.id} value={m.id}>
          {m.id}
        </option>
      ))}
    </select>
  );
}
