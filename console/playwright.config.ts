import { defineConfig } from "@playwright/test";

// Browser tests drive Debian's chromium (no browser download) against a real control plane and
// worker started by tests/browser/stack.ts. Every test and the whole run are bounded in time.
export default defineConfig({
  testDir: "tests",
  timeout: 60_000,
  globalTimeout: 6 * 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    browserName: "chromium",
    headless: true,
    // A laptop's screen: the console must be usable at this width.
    viewport: { width: 1280, height: 800 },
    actionTimeout: 10_000,
    navigationTimeout: 15_000,
    launchOptions: {
      executablePath: process.env.TRIBUTARY_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    },
    screenshot: "only-on-failure",
    trace: "off",
  },
  projects: [
    { name: "unit", testMatch: /unit\/.*\.spec\.ts/ },
    { name: "size", testMatch: /size\/.*\.spec\.ts/ },
    { name: "browser", testMatch: /browser\/.*\.spec\.ts/ },
  ],
});
