import { defineConfig } from "vite";

// tributary-control embeds the build (console/dist) and serves it at / beside the API at /api/v5.
export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, target: "es2022" },
  server: {
    // `npm run dev` against a control plane on the default port.
    proxy: { "/api": process.env.TRIBUTARY_API_ORIGIN ?? "http://127.0.0.1:18083" },
  },
});
