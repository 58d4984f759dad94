import { defineConfig } from "vite";

// The control plane serves the build at /console/ (--console-dir console/dist).
export default defineConfig({
  base: "/console/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, target: "es2022" },
  server: {
    // `npm run dev` against a control plane on the default port.
    proxy: { "/api": process.env.TRIBUTARY_API_ORIGIN ?? "http://127.0.0.1:18083" },
  },
});
