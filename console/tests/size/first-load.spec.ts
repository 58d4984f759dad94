// The first load stays small: the JavaScript the built index.html loads before anything else (its
// module script, what that imports statically and what it preloads) must stay under 300 KB
// gzip-compressed. The SQL editor (CodeMirror) and the charts (uPlot) are loaded on demand and
// are not part of it.

import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { expect, test } from "@playwright/test";

const DIST = path.resolve(import.meta.dirname, "..", "..", "dist");
const LIMIT = 300 * 1000;

function read(asset: string): Buffer {
  return readFileSync(path.join(DIST, asset.replace(/^\//, "")));
}

/** The chunks a module imports statically (`import … from "./x.js"`, `import "./x.js"`). */
function staticImports(code: string, from: string): string[] {
  const dir = path.posix.dirname(from);
  return [...code.matchAll(/import\s*(?:[\w$*{}\s,]+from\s*)?["'](\.\.?\/[^"']+\.js)["']/g)].map(
    (m) => path.posix.join(dir, m[1] ?? ""),
  );
}

test("the first load is under 300 KB of gzip-compressed JavaScript", () => {
  let index: string;
  try {
    index = readFileSync(path.join(DIST, "index.html"), "utf8");
  } catch {
    throw new Error("console/dist is missing: run scripts/console.sh build first");
  }
  const entries = [
    ...index.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g),
    ...index.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
  ].map((m) => m[1] ?? "");
  expect(entries.length).toBeGreaterThan(0);
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const next = queue.shift() ?? "";
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...staticImports(read(next).toString("utf8"), next));
  }
  const sizes = [...seen].map((asset) => ({
    asset,
    gzip: gzipSync(read(asset), { level: 9 }).length,
  }));
  const total = sizes.reduce((sum, s) => sum + s.gzip, 0);
  console.log(
    `first load: ${sizes.map((s) => `${s.asset} ${(s.gzip / 1000).toFixed(1)} KB`).join(", ")}; total ${(total / 1000).toFixed(1)} KB gzip`,
  );
  expect(total).toBeLessThan(LIMIT);
  // The editor and the charts are split off.
  const loaded = [...seen].join(" ");
  expect(loaded).not.toMatch(/sqlEditorView|rateChart/);
});
