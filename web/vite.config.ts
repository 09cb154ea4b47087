import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies the API to a running `boocode serve` (BOOCODE_URL, default :9500).
const target = process.env.BOOCODE_URL ?? "http://127.0.0.1:9500";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: { proxy: { "/api": { target, ws: true } } },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
