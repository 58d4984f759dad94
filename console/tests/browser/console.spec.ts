// The console against a real control plane and worker: sign-in, connectors through the form,
// field errors, the rule editor (parse errors, /rule_test, dry run), the topology and metrics.

import { expect, signIn, test } from "./stack";
import { publish } from "./mqtt";
import { visit } from "./pages";

test.describe.configure({ mode: "serial" });

test("the control plane serves the console at /, and /console/ leads there", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
  await page.goto("/#/rules");
  await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/#\/rules$/);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
});

test("a wrong key is refused with a clear message, the right one signs in, sign out returns", async ({
  page,
  stack,
}) => {
  await page.goto("/");
  await page.getByLabel("API key").fill(stack.apiKey);
  await page.getByLabel("API secret").fill("not-the-secret");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText(/Wrong API key or secret/);

  await page.getByLabel("API secret").fill(stack.apiSecret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  // The worker is live: it appears in the workers table as up.
  await expect(page.getByTestId("workers")).toContainText("console-test-worker");
  await expect(page.getByTestId("workers").locator("[data-status=up]")).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
});

test("a session whose key is disabled meanwhile ends with an expiry message", async ({
  page,
  stack,
}) => {
  const created = await stack.api<{ api_key: string; api_secret: string }>("POST", "/api_key", {
    name: "console-short-lived",
  });
  expect(created.status).toBe(200);
  await page.goto("/");
  await page.getByLabel("API key").fill(created.body.api_key);
  await page.getByLabel("API secret").fill(created.body.api_secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();

  expect((await stack.api("PUT", "/api_key/console-short-lived", { enable: false })).status).toBe(
    200,
  );
  // The overview refreshes every 4 s; the refused refresh signs out with the reason.
  await expect(page.getByRole("status")).toContainText("Your session has expired", {
    timeout: 15_000,
  });
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
});

test("a connector created through the form is listed with its status", async ({ page, stack }) => {
  await signIn(page, stack);
  await page.getByRole("link", { name: "Connectors" }).first().click();
  await page.getByRole("link", { name: "+ Create connector" }).click();
  await page.getByLabel("Type").selectOption("mqtt");
  await page.locator("#f-name").fill("default");
  await page.getByLabel("Server").fill(stack.mqtt);
  // The advanced section shows the API's defaults.
  await page.getByRole("button", { name: "Advanced" }).click();
  await expect(page.getByLabel("Keepalive")).toHaveValue("1m");
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByText("Connection test passed.")).toBeVisible();
  await page.getByRole("button", { name: "Create connector" }).click();

  const row = page.locator('[data-row="mqtt:default"]');
  await expect(row).toBeVisible();
  // No flow uses it yet, yet the control plane health-checks it, as EMQX does: it turns from
  // `connecting` to `connected` (the list refreshes itself).
  await expect(row.locator('[data-status="connected"]')).toBeVisible({ timeout: 30_000 });
  const stored = await stack.api<{ server: string; keepalive: string }>(
    "GET",
    "/connectors/mqtt:default",
  );
  expect(stored.body).toMatchObject({ server: stack.mqtt, keepalive: "1m" });
});

test("the API's field error is shown beside its field", async ({ page, stack }) => {
  await signIn(page, stack);
  await page.goto("/#/connectors/new");
  await page.getByLabel("Type").selectOption("kafka_producer");
  await page.locator("#f-name").fill("broken");
  await page.getByLabel("Bootstrap hosts").fill("nohost");
  await page.getByRole("button", { name: "Create connector" }).click();
  const field = page.locator('[data-field="bootstrap_hosts"]');
  await expect(field.locator(".field-error")).toHaveText(/`nohost` is not `host:port`/);
  await expect(field).toHaveClass(/has-error/);
  // An error in an advanced field opens its section.
  await page.getByLabel("Bootstrap hosts").fill(stack.kafka);
  await page.getByRole("button", { name: "Advanced" }).click();
  await page.getByLabel("Connect timeout").fill("soon");
  await page.getByRole("button", { name: "Create connector" }).click();
  await expect(page.locator('[data-field="connect_timeout"] .field-error')).toContainText(
    "not a duration",
  );
  // Nothing was saved.
  const list = await stack.api<{ name: string }[]>("GET", "/connectors");
  expect(list.body.map((c) => c.name)).not.toContain("broken");
});

test("the rule editor marks the parse error, shows rule_test's row or why it did not match", async ({
  page,
  stack,
}) => {
  await signIn(page, stack);
  await page.goto("/#/rules/new");
  const sql = page.getByLabel("Rule SQL");
  await sql.fill('SELECT\n  payload.temp AS t,\n  FROM "sensors/#"');
  await expect(page.getByTestId("sql-error")).toContainText("line 3, column 3");
  await expect(page.getByTestId("sql-status")).toHaveText("Error at line 3, column 3");
  // CodeMirror marks the word the parser stopped at, on line 3, with a mark in the gutter.
  await expect(page.locator(".sql-error-mark")).toHaveText("FROM");
  await expect(page.locator(".cm-line").nth(2).locator(".sql-error-mark")).toHaveCount(1);
  await expect(page.locator(".cm-lint-marker-error")).toHaveCount(1);

  await sql.fill('SELECT payload.temp AS t, clientid FROM "sensors/#" WHERE payload.temp > 30');
  await expect(page.getByTestId("sql-status")).toHaveText("✓ Valid SQL");
  await expect(page.locator(".sql-error-mark")).toHaveCount(0);
  await page.getByLabel("Sample payload").fill('{"temp": 42}');
  await expect(page.getByTestId("test-output")).toContainText('"t": 42');
  await expect(page.getByTestId("test-output")).toContainText('"clientid": "device-1"');

  await page.getByLabel("Sample payload").fill('{"temp": 12}');
  await expect(page.getByTestId("test-nomatch")).toContainText("Not matched");
  await page.getByLabel("Sample payload").fill('{"temp": 40}');
  await page.getByLabel("Sample topic").fill("other/1");
  await expect(page.getByTestId("test-nomatch")).toContainText("other/1 matches no filter");

  // A rule reading a Kafka source is tested with a Kafka record.
  await sql.fill('SELECT value.cmd AS cmd, key FROM "$bridges/kafka_consumer:commands"');
  await expect(page.getByText("Kafka record · runs as you type")).toBeVisible();
  await page.getByLabel("Sample value").fill('{"cmd": "reboot"}');
  await expect(page.getByTestId("test-output")).toContainText('"cmd": "reboot"');
  await expect(page.getByTestId("test-output")).toContainText('"key": "device-1"');
});

test("a rule made in the editor feeds a Kafka action, shows in the topology, dry-runs and counts", async ({
  page,
  stack,
}) => {
  test.setTimeout(90_000);
  const connector = await stack.api("POST", "/connectors", {
    type: "kafka_producer",
    name: "kafka",
    bootstrap_hosts: stack.kafka,
  });
  expect(connector.status).toBe(201);
  const action = await stack.api("POST", "/actions", {
    type: "kafka_producer",
    name: "to_kafka",
    connector: "kafka",
    parameters: { topic: "console-test-out" },
  });
  expect(action.status).toBe(201);

  await signIn(page, stack);
  await page.goto("/#/rules/new");
  await page.getByLabel("Rule SQL").fill('SELECT payload.n AS n, clientid FROM "console/t/#"');
  await page.getByLabel("Add action").selectOption("kafka_producer:to_kafka");
  await page.getByLabel("Add action").selectOption("republish");
  await page.getByPlaceholder("repub/${clientid}").fill("console/echo/${clientid}");
  await page.getByLabel("Name", { exact: true }).fill("console-rule");
  await page.getByLabel("Id", { exact: true }).fill("console_rule");
  await page.getByRole("button", { name: "Create rule" }).click();
  await expect(page).toHaveURL(/#\/rules\/console_rule$/);

  // The dry run shows the exact Kafka record and MQTT publish.
  await page.getByLabel("Sample topic").fill("console/t/1");
  await page.getByLabel("Sample payload").fill('{"n": 7}');
  await page.getByTestId("dry-run").click();
  const dry = page.getByTestId("dry-run-result");
  await expect(dry).toContainText("kafka_producer:to_kafka");
  await expect(dry).toContainText("console-test-out");
  await expect(dry).toContainText('{"n":7,"clientid":"device-1"}');
  await expect(dry).toContainText("console/echo/device-1");

  // The overview draws it: MQTT filter → rule → action → Kafka topic, and opens it on click.
  await page.getByRole("link", { name: "Overview" }).click();
  const node = page.locator('[data-node-id="rule:console_rule"]');
  await expect(node).toBeVisible();
  await expect(node).toContainText("console-rule");
  await expect(page.locator('[data-node-id="mqtt_topic_filter:console/t/#"]')).toBeVisible();
  await expect(page.locator('[data-node-id="kafka_topic:console-test-out"]')).toBeVisible();
  await expect(node).toHaveAttribute("data-tone", "ok", { timeout: 20_000 });
  // Now a rule uses the MQTT connector, the worker connects it: green in the graph too.
  await expect(page.locator('[data-node-id="connector:mqtt:default"]')).toHaveAttribute(
    "data-tone",
    "ok",
    {
      timeout: 20_000,
    },
  );
  await node.click();
  await expect(page).toHaveURL(/#\/rules\/console_rule$/);

  // Live metrics: messages published to MQTT are counted without reloading; reset zeroes them.
  await page.getByRole("tab", { name: "Metrics" }).click();
  const counters = page.getByTestId("counters");
  await expect(counters).toBeVisible();
  await publish(
    stack.mqtt,
    Array.from({ length: 25 }, (_, i) => ({ topic: `console/t/${i % 3}`, payload: `{"n": ${i}}` })),
  );
  await expect(counters.locator("tr", { hasText: /^matched/ }).locator(".num")).toHaveText("25", {
    timeout: 20_000,
  });
  // uPlot draws the rates: a canvas with the points seen so far.
  await expect(page.locator(".chart canvas")).toBeVisible();
  await expect(page.locator(".chart")).not.toHaveAttribute("data-points", "0");
  await page.getByRole("button", { name: "Reset metrics" }).click();
  await page.getByRole("button", { name: "Reset", exact: true }).click();
  await expect(counters.locator("tr", { hasText: /^matched/ }).locator(".num")).toHaveText("0", {
    timeout: 20_000,
  });
});

test("deleting an action names the rules that use it first", async ({ page, stack }) => {
  await signIn(page, stack);
  await page.goto("/#/actions");
  await page
    .locator('[data-row="kafka_producer:to_kafka"]')
    .getByRole("button", { name: "Delete" })
    .click();
  await expect(page.getByTestId("dependents")).toContainText("rule console-rule");
  await page.getByRole("button", { name: /Delete and remove from 1 rule/ }).click();
  await expect(page.locator('[data-row="kafka_producer:to_kafka"]')).toHaveCount(0);
  const rule = await stack.api<{ actions: unknown[] }>("GET", "/rules/console_rule");
  expect(rule.body.actions).not.toContain("kafka_producer:to_kafka");
});

test("a disk-buffered action's metrics show its buffer, and intake paused once it is full", async ({
  page,
  stack,
}) => {
  test.setTimeout(90_000);
  const mqtt = await stack.api("GET", "/connectors/mqtt:default");
  if (mqtt.status === 404) {
    const created = await stack.api("POST", "/connectors", {
      type: "mqtt",
      name: "default",
      server: stack.mqtt,
    });
    expect(created.status).toBe(201);
  }
  // A Kafka that never answers (a closed port): every record stays in the buffer, which the test
  // worker caps at BUFFER_MAX_BYTES, so a few messages fill it.
  const away = await stack.api("POST", "/connectors", {
    type: "kafka_producer",
    name: "kafka_away",
    bootstrap_hosts: "127.0.0.1:9",
  });
  expect(away.status).toBe(201);
  const action = await stack.api("POST", "/actions", {
    type: "kafka_producer",
    name: "buffered",
    connector: "kafka_away",
    parameters: {
      topic: "console-buffered",
      query_mode: "async",
      buffer: { mode: "disk", segment_bytes: "1KB" },
    },
  });
  expect(action.status).toBe(201);
  const rule = await stack.api("POST", "/rules", {
    id: "buffer_rule",
    name: "buffer-rule",
    sql: 'SELECT payload FROM "console/buffer/#"',
    actions: ["kafka_producer:buffered"],
    enable: true,
  });
  expect(rule.status).toBe(201);

  await signIn(page, stack);
  await page.goto("/#/actions/kafka_producer:buffered");
  await page.getByRole("tab", { name: "Metrics" }).click();
  const buffer = page.getByTestId("buffer");
  await expect(buffer.getByRole("heading", { name: "Disk buffer" })).toBeVisible({
    timeout: 20_000,
  });
  // Publish until the worker runs the rule and its buffer is full (QoS 0: nothing is retried).
  await expect(async () => {
    await publish(
      stack.mqtt,
      Array.from({ length: 20 }, (_, i) => ({
        topic: "console/buffer/1",
        payload: `{"n": ${i}, "pad": "${"x".repeat(100)}"}`,
      })),
    );
    await expect(buffer.getByTestId("intake")).toHaveAttribute("data-status", "paused", {
      timeout: 5_000,
    });
  }).toPass({ timeout: 60_000 });
  await expect(buffer.getByTestId("intake")).toHaveText(/intake paused/);
  const onDisk = buffer.locator('[data-buffer="On disk"] .num');
  await expect(onDisk).toHaveText(/KiB|\d+ B/);
  await expect(onDisk).not.toHaveText("0 B");
  await expect(buffer.locator('[data-buffer="Queuing"] .num')).not.toHaveText(/^[–0]$/);
  await expect(buffer.locator('[data-buffer="Recovered"] .num')).toHaveText("0");
  await expect(buffer.locator('[data-buffer="Corrupt tails"] .num')).toHaveText("0 · 0 B");
  await visit(page, "action-buffer", buffer);

  // The rule goes, so that the full buffer holds nothing back for the tests after this one.
  expect((await stack.api("DELETE", "/rules/buffer_rule")).status).toBe(204);
});
