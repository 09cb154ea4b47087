// Light or dark: follows the system (`prefers-color-scheme`) unless the user picked one; the choice is kept
// in this browser. The resolved theme is `data-theme` on <html>, which the stylesheet's variables read.

export type ThemeChoice = "system" | "light" | "dark";

const KEY = "boocode.theme";
const media = () => window.matchMedia("(prefers-color-scheme: dark)");

export function themeChoice(): ThemeChoice {
  const v = localStorage.getItem(KEY);
  return v === "light" || v === "dark" ? v : "system";
}

export function applyTheme(choice: ThemeChoice = themeChoice()) {
  const dark = choice === "dark" || (choice === "system" && media().matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

export function setTheme(choice: ThemeChoice) {
  if (choice === "system") localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, choice);
  applyTheme(choice);
}

/** Applies the theme now and whenever the system's changes (while following it). */
export function watchTheme() {
  applyTheme();
  media().addEventListener("change", () => applyTheme());
}
