// Writes the app icons (PNG, 192 and 512 px, plus a maskable 512) into public/: boocode's mark — a
// rounded square in the accent colour with a white ring and dot — drawn pixel by pixel, so no image tool
// is needed. Run once after changing the mark: `node scripts/icons.mjs`; the PNGs are committed.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodePng } from "./png.mjs";

/** The mark at `size`; `full` fills the square (maskable icons get cropped to a circle). */
function icon(size, full) {
  const r = full ? 0 : size * 0.18;
  const c = size / 2;
  return encodePng(size, size, 4, (x, y) => {
    const dx = Math.max(r - x, x - (size - 1 - r), 0);
    const dy = Math.max(r - y, y - (size - 1 - r), 0);
    if (!full && dx * dx + dy * dy > r * r) return [0, 0, 0, 0];
    const d = Math.hypot(x - c, y - c) / size;
    const white = (d > 0.17 && d < 0.29) || d < 0.07;
    return white ? [255, 255, 255, 255] : [59, 91, 219, 255];
  });
}

const out = join(import.meta.dirname, "../public");
writeFileSync(join(out, "icon-192.png"), icon(192, false));
writeFileSync(join(out, "icon-512.png"), icon(512, false));
writeFileSync(join(out, "icon-maskable-512.png"), icon(512, true));
