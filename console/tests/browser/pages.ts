// What the browser tests check on every main page: axe-core finds no serious or critical
// accessibility violation; and, when TRIBUTARY_CONSOLE_SCREENSHOTS is set, the page is saved as
// the README's screenshot (docs/screenshots/<name>.png).

import AxeBuilder from "@axe-core/playwright";
import path from "node:path";
import { expect, type Locator, type Page } from "@playwright/test";

const SCREENSHOTS = path.resolve(import.meta.dirname, "..", "..", "..", "docs", "screenshots");

export async function checkAccessibility(page: Page, name: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `${v.id} (${v.impact ?? ""}): ${v.help}; ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(" "))
          .join(" | ")}`,
    );
  expect(serious, `accessibility violations on ${name}`).toEqual([]);
}

/** The page, or only `part` of it (a small picture for a small page). */
export async function screenshot(page: Page, name: string, part?: Locator): Promise<void> {
  if (!process.env.TRIBUTARY_CONSOLE_SCREENSHOTS) return;
  // No hover state in the picture.
  await page.mouse.move(0, 0);
  const options = { path: path.join(SCREENSHOTS, `${name}.png`), animations: "disabled" as const };
  await (part ? part.screenshot(options) : page.screenshot(options));
}

/** Both: the main pages are checked and pictured at the same moment. */
export async function visit(page: Page, name: string, part?: Locator): Promise<void> {
  await checkAccessibility(page, name);
  await screenshot(page, name, part);
}
