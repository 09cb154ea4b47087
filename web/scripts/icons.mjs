// Writes the app icons (PNG, 192 and 512 px, plus a maskable 512) into public/: boocode's mark — a
// rounded square in the accent colour with a white ring — drawn pixel by pixel, so no image tool is
// needed. Run once after changing the mark: `node scripts/icons.mjs`; the PNGs are committed.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type), data]);
  const sum = Buffer.alloc(4);
  sum.writeUInt32BE(crc(body));
  return Buffer.concat([len, body, sum]);
};

/** RGBA pixels of the mark at `size`; `full` fills the square (maskable icons get cropped to a circle). */
function mark(size, full) {
  const px = Buffer.alloc(size * size * 4);
  const r = size * (full ? 0 : 0.18);
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      const dx = Math.max(r - x, x - (size - 1 - r), 0);
      const dy = Math.max(r - y, y - (size - 1 - r), 0);
      const inside = full || dx * dx + dy * dy <= r * r;
      if (!inside) continue;
      const d = Math.hypot(x - c, y - c) / size;
      const ring = d > 0.17 && d < 0.29;
      const dot = d < 0.07;
      const [R, G, B] = ring || dot ? [255, 255, 255] : [59, 91, 219];
      px[i] = R;
      px[i + 1] = G;
      px[i + 2] = B;
      px[i + 3] = 255;
    }
  }
  return px;
}

function png(size, full) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const px = mark(size, full);
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) px.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const out = join(import.meta.dirname, "../public");
writeFileSync(join(out, "icon-192.png"), png(192, false));
writeFileSync(join(out, "icon-512.png"), png(512, false));
writeFileSync(join(out, "icon-maskable-512.png"), png(512, true));
