// A real control plane (target/debug/tributary-control) on free ports with a fresh database on
// the test stack's PostgreSQL, serving the console embedded in it (built after console/dist), and
// one worker so status and metrics are live. Started once per Playwright worker; everything is stopped and dropped afterwards.

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { test as base } from "@playwright/test";

const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");
const CONSOLE_DIST = path.join(ROOT, "console", "dist");
const LOGS = path.join(ROOT, "console", "test-results");

/** The most bytes one disk-buffered action of the test worker holds (`--buffer-max-bytes`). */
export const BUFFER_MAX_BYTES = 2000;

export interface Stack {
  baseURL: string;
  apiKey: string;
  apiSecret: string;
  mqtt: string;
  kafka: string;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  api: <T>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: T }>;
}

function need(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(
      `${name} is not set: run through scripts/console.sh test (it sources .test-stack/env)`,
    );
  return value;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

function psql(url: string, sql: string): void {
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-qc", sql], {
    stdio: "pipe",
    timeout: 20_000,
  });
}

function start(name: string, bin: string, args: string[]): ChildProcess {
  mkdirSync(LOGS, { recursive: true });
  const log = createWriteStream(path.join(LOGS, `${name}.log`));
  const child = spawn(bin, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (logs in console/test-results/)`);
}

export const test = base.extend<{ stack: Stack }, { workerStack: Stack }>({
  workerStack: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const control =
        process.env.TRIBUTARY_CONTROL_BIN ?? path.join(ROOT, "target/debug/tributary-control");
      const worker =
        process.env.TRIBUTARY_WORKER_BIN ?? path.join(ROOT, "target/debug/tributary-worker");
      for (const bin of [control, worker])
        if (!existsSync(bin))
          throw new Error(
            `${bin} is missing: cargo build -p tributary-control-plane -p tributary-data-plane --bins`,
          );
      if (!existsSync(path.join(CONSOLE_DIST, "index.html")))
        throw new Error("console/dist is missing: scripts/console.sh build");
      const serverUrl = need("DATABASE_URL");
      const db = `console_test_${randomBytes(4).toString("hex")}`;
      psql(serverUrl, `CREATE DATABASE ${db}`);
      const [http, grpc, admin] = [await freePort(), await freePort(), await freePort()];
      const token = randomBytes(16).toString("hex");
      const apiKey = "console-admin";
      const apiSecret = randomBytes(16).toString("hex");
      const baseURL = `http://127.0.0.1:${http}`;
      let cp: ChildProcess | undefined;
      let wk: ChildProcess | undefined;
      // Disk buffers, capped small so that a test can fill one (see BUFFER_MAX_BYTES).
      const dataDir = mkdtempSync(path.join(tmpdir(), "tributary-console-data-"));
      try {
        cp = start("control-plane", control, [
          "--database-url",
          withDatabase(serverUrl, db),
          "--http-listen",
          `127.0.0.1:${http}`,
          "--grpc-listen",
          `127.0.0.1:${grpc}`,
          "--worker-token",
          token,
          "--bootstrap-api-key",
          apiKey,
          "--bootstrap-api-secret",
          apiSecret,
          "--heartbeat-interval",
          "1s",
          "--lease-ttl",
          "5s",
        ]);
        await waitFor(
          "the control plane",
          async () => (await fetch(`${baseURL}/api/v5/status`)).ok,
          30_000,
        );
        // The binary must carry this build of the console: cargo embeds console/dist when it
        // builds tributary-control after it.
        const served = await (await fetch(`${baseURL}/`)).text();
        if (served !== readFileSync(path.join(CONSOLE_DIST, "index.html"), "utf8"))
          throw new Error(
            `${control} does not embed the console in console/dist: build it again after the console (cargo build -p tributary-control-plane)`,
          );
        wk = start("worker", worker, [
          "--control-plane",
          `http://127.0.0.1:${grpc}`,
          "--worker-token",
          token,
          "--name",
          "console-test-worker",
          "--admin-listen",
          `127.0.0.1:${admin}`,
          "--data-dir",
          dataDir,
          "--buffer-max-bytes",
          String(BUFFER_MAX_BYTES),
        ]);
        await waitFor(
          "the worker's registration",
          async () => {
            const status = (await (await fetch(`${baseURL}/api/v5/status`)).json()) as {
              live_workers?: number;
            };
            return (status.live_workers ?? 0) >= 1;
          },
          30_000,
        );
        const auth = `Basic ${Buffer.from(`${apiKey}:${apiSecret}`).toString("base64")}`;
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
        const api = async <T>(method: string, p: string, body?: unknown) => {
          const response = await fetch(`${baseURL}/api/v5${p}`, {
            method,
            headers: { Authorization: auth, "Content-Type": "application/json" },
            body: body === undefined ? null : JSON.stringify(body),
          });
          const text = await response.text();
          return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
        };
        await use({
          baseURL,
          apiKey,
          apiSecret,
          mqtt: need("TRIBUTARY_TEST_MQTT"),
          kafka: need("TRIBUTARY_TEST_KAFKA"),
          api,
        });
      } finally {
        await stop(wk);
        await stop(cp);
        rmSync(dataDir, { recursive: true, force: true });
        try {
          psql(serverUrl, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        } catch {
          // best effort
        }
      }
    },
    { scope: "worker", timeout: 90_000 },
  ],
  stack: async ({ workerStack }, use) => use(workerStack),
  baseURL: async ({ workerStack }, use) => use(workerStack.baseURL),
});

export { expect } from "@playwright/test";

/** Signs in through the form. */
export async function signIn(page: import("@playwright/test").Page, stack: Stack): Promise<void> {
  await page.goto("/");
  await page.getByLabel("API key").fill(stack.apiKey);
  await page.getByLabel("API secret").fill(stack.apiSecret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Overview" }).waitFor();
}
