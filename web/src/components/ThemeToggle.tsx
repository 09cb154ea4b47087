// Cycles the theme: system → light → dark.

import { useState } from "react";
import { Monitor, Moon, Sun } from "lucide-react";
import { setTheme, themeChoice, type ThemeChoice } from "../theme";

const NEXT: Record<ThemeChoice, ThemeChoice> = { system: "light", light: "dark", dark: "system" };

export function ThemeToggle() {
  const [choice, setChoice] = useState<ThemeChoice>(themeChoice);
  const icon = choice === "dark" ? <Moon size={14} /> : choice === "light" ? <Sun size={14} /> : <Monitor size={14} />;
  return (
    <button
      className="icon"
      aria-label={`Theme: ${choice}`}
      title={`Theme: ${choice} (click to change)`}
      data-theme-choice={choice}
      onClick={() => {
        const next = NEXT[choice];
        setTheme(next);
        setChoice(next);
      }}
    >
      {icon}
    </button>
  );
}
