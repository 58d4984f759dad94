// The seed documents' walkthrough, done in the console against the real control plane, worker,
// Mosquitto and Kafka: a Kafka connector (a failing, then a passing connection test), an action,
// the rule `SELECT * FROM "t/#"` with a passing SQL test, an MQTT message that reaches Kafka and
// moves the metrics; a source whose Kafka record reaches an MQTT subscriber; then disable and
// delete everything. Every main page is checked with axe-core on the way.

import { randomBytes } from "node:crypto";
import { expect, signIn, test } from "./stack";
import { publish, subscribe } from "./mqtt";
import { consumeUntil, createTopic, produce } from "./kafka";
import { checkAccessibility, visit } from "./pages";

test.describe.configure({ mode: "serial" });

const RUN = randomBytes(3).toString("hex");
const IN_TOPIC = `testtopic-in-${RUN}`;
const OUT_TOPIC = `testtopic-out-${RUN}`;

test("the walkthrough: MQTT → rule → Kafka and Kafka → source → MQTT, built in the console", async ({
  page,
  stack,
}) => {
  test.setTimeout(180_000);
  await createTopic(stack.kafka, IN_TOPIC);
  await createTopic(stack.kafka, OUT_TOPIC);
  // The MQTT broker the rule reads from (the console's own form is tested in console.spec.ts).
  if ((await stack.api("GET", "/connectors/mqtt:default")).status === 404)
    expect(
      (
        await stack.api("POST", "/connectors", {
          type: "mqtt",
          name: "default",
          server: stack.mqtt,
        })
      ).status,
    ).toBe(201);

  await page.goto("/");
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
  await visit(page, "sign-in", page.locator(".login-card"));
  await signIn(page, stack);

  await test.step("a Kafka producer connector: the test fails on a wrong host, then passes", async () => {
    await page.getByRole("link", { name: "Connectors" }).first().click();
    await page.getByRole("link", { name: "+ Create connector" }).click();
    await page.getByLabel("Type").selectOption("kafka_producer");
    await page.locator("#f-name").fill("demo");
    // Nothing listens on port 1.
    await page.getByLabel("Bootstrap hosts").fill("127.0.0.1:1");
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect(page.getByRole("alert").first()).toBeVisible({ timeout: 30_000 });
    await expect(page.getByText("Connection test passed.")).toHaveCount(0);
    await page.getByLabel("Bootstrap hosts").fill(stack.kafka);
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect(page.getByText("Connection test passed.")).toBeVisible({ timeout: 30_000 });
    await visit(page, "connector-form");
    await page.getByRole("button", { name: "Create connector" }).click();
    await expect(page.locator('[data-row="kafka_producer:demo"]')).toBeVisible();
  });

  await test.step("an action writing to the Kafka topic", async () => {
    await page.getByRole("link", { name: "Actions" }).first().click();
    await page.getByRole("link", { name: "+ Create action" }).click();
    await page.locator("#f-name").fill("demo");
    await page.getByLabel("Connector").selectOption("demo");
    await page.getByLabel("Kafka topic").fill(IN_TOPIC);
    await page.getByRole("button", { name: "Create action" }).click();
    await expect(page.locator('[data-row="kafka_producer:demo"]')).toBeVisible();
    await visit(page, "actions");
  });

  await test.step('the rule SELECT * FROM "t/#", its SQL tested on a sample message', async () => {
    await page.getByRole("link", { name: "Rules" }).first().click();
    await page.getByRole("link", { name: "+ Create rule" }).first().click();
    await page.getByLabel("Rule SQL").fill('SELECT * FROM "t/#"');
    await page.getByLabel("Sample topic").fill("t/1");
    await page.getByLabel("Sample payload").fill('{ "msg": "Hello Kafka" }');
    await expect(page.getByTestId("sql-status")).toHaveText("✓ Valid SQL");
    await expect(page.getByTestId("test-output")).toContainText('"topic": "t/1"');
    await expect(page.getByTestId("test-output")).toContainText("Hello Kafka");
    await page.getByLabel("Add action").selectOption("kafka_producer:demo");
    await page.getByLabel("Id", { exact: true }).fill("demo");
    await page.getByLabel("Name", { exact: true }).fill("demo");
    await visit(page, "rule-editor");
    await page.getByRole("button", { name: "Create rule" }).click();
    await expect(page).toHaveURL(/#\/rules\/demo$/);
    await expect(page.locator(".page-header [data-status]").first()).toHaveAttribute(
      "data-status",
      "running",
      { timeout: 30_000 },
    );
  });

  await test.step("a message published to t/1 reaches Kafka and the metrics move", async () => {
    await page.getByRole("tab", { name: "Metrics" }).click();
    const matched = page
      .getByTestId("counters")
      .locator("tr", { hasText: /^matched/ })
      .locator(".num");
    // QoS 0 and a subscription that may still be settling: publish until Kafka has it.
    await expect(async () => {
      await publish(stack.mqtt, [{ topic: "t/1", payload: '{ "msg": "Hello Kafka" }' }]);
      const records = await consumeUntil(stack.kafka, IN_TOPIC, "Hello Kafka", 5);
      const last = records.at(-1);
      expect(JSON.parse(String(last?.value))).toMatchObject({
        topic: "t/1",
        payload: '{ "msg": "Hello Kafka" }',
      });
    }).toPass({ timeout: 60_000 });
    // The page counts it without a reload, and charts the rate of a burst.
    await expect(matched).not.toHaveText("0", { timeout: 20_000 });
    await expect(matched).not.toHaveText("", { timeout: 20_000 });
    const before = Number(await matched.textContent());
    await publish(
      stack.mqtt,
      Array.from({ length: 20 }, (_, i) => ({ topic: `t/${i % 4}`, payload: `{"n": ${i}}` })),
    );
    await expect(matched).toHaveText(String(before + 20), { timeout: 20_000 });
    await expect(page.locator(".chart[data-ready] canvas")).toBeVisible();
    await visit(page, "rule-metrics");
    await page.getByRole("link", { name: "Metrics" }).first().click();
    const actionRow = page.getByTestId("metrics-actions").locator("tr", { hasText: "demo" });
    // The action's "success" column: the record Kafka acknowledged.
    await expect(actionRow.locator("td.num").nth(2)).not.toHaveText("0", { timeout: 20_000 });
    await visit(page, "metrics");
  });

  await test.step("a source maps a Kafka record to an MQTT subscriber of t/1", async () => {
    await page.getByRole("link", { name: "Connectors" }).first().click();
    await page.getByRole("link", { name: "+ Create connector" }).click();
    await page.getByLabel("Type").selectOption("kafka_consumer");
    await page.locator("#f-name").fill("demo");
    await page.getByLabel("Bootstrap hosts").fill(stack.kafka);
    await page.getByRole("button", { name: "Create connector" }).click();
    await expect(page.locator('[data-row="kafka_consumer:demo"]')).toBeVisible();
    await visit(page, "connectors");

    await page.getByRole("link", { name: "Sources" }).first().click();
    await page.getByRole("link", { name: "+ Create source" }).click();
    await page.locator("#f-name").fill("demo");
    await page.getByLabel("Connector").selectOption("demo");
    const mapping = page.locator('[data-field="parameters.topic_mapping"]');
    await mapping.getByRole("button", { name: "+ Add" }).click();
    await mapping.getByLabel("Kafka topic").fill(OUT_TOPIC);
    await mapping.getByLabel("MQTT topic").fill("t/1");
    await mapping.getByLabel("QoS").selectOption("1");
    await expect(mapping.getByLabel("Payload template")).toHaveValue("${.}");
    await page.getByRole("button", { name: "Advanced" }).click();
    await page.getByLabel("Offset reset policy").selectOption("earliest");
    await page.getByRole("button", { name: "Create source" }).click();
    const row = page.locator('[data-row="kafka_consumer:demo"]');
    await expect(row).toBeVisible();
    await expect(row.locator("[data-status]")).toHaveAttribute("data-status", "connected", {
      timeout: 30_000,
    });
    await visit(page, "sources");

    const subscriber = await subscribe(stack.mqtt, "t/1");
    try {
      await produce(stack.kafka, OUT_TOPIC, '{"msg": "Hello MQTT"}', "key");
      await expect
        .poll(() => subscriber.received.map((m) => m.payload).join("\n"), { timeout: 30_000 })
        .toContain("Hello MQTT");
      const got = subscriber.received.find((m) => m.payload.includes("Hello MQTT"));
      expect(got?.topic).toBe("t/1");
      expect(JSON.parse(got?.payload ?? "{}")).toMatchObject({
        value: '{"msg": "Hello MQTT"}',
        topic: OUT_TOPIC,
        key: "key",
      });
    } finally {
      await subscriber.close();
    }
    await page.getByRole("link", { name: "Overview" }).click();
    await expect(page.locator('[data-node-id="source:kafka_consumer:demo"]')).toHaveAttribute(
      "data-tone",
      "ok",
      { timeout: 20_000 },
    );
    await expect(page.locator('[data-node-id="rule:demo"]')).toHaveAttribute("data-tone", "ok");
    await visit(page, "overview");
  });

  await test.step("disable the rule and the source, then delete everything", async () => {
    await page.getByRole("link", { name: "Rules" }).first().click();
    // The switch's track, as a user clicks it (the checkbox under it is what screen readers use).
    await page.getByRole("switch", { name: "Enable demo" }).locator("..").click();
    await expect
      .poll(async () => (await stack.api<{ enable: boolean }>("GET", "/rules/demo")).body.enable)
      .toBe(false);
    await page.getByRole("link", { name: "Sources" }).first().click();
    await page.getByRole("switch", { name: "Enable demo" }).locator("..").click();
    await expect
      .poll(
        async () =>
          (await stack.api<{ enable: boolean }>("GET", "/sources/kafka_consumer:demo")).body.enable,
      )
      .toBe(false);
    await page.getByRole("link", { name: "Overview" }).click();
    await expect(page.locator('[data-node-id="rule:demo"]')).toHaveAttribute("data-tone", "off");

    await page.getByRole("link", { name: "Rules" }).first().click();
    await expect(page.locator('[data-row="demo"] [data-status]')).toHaveAttribute(
      "data-status",
      "disabled",
    );
    await checkAccessibility(page, "rules");
    await page.locator('[data-row="demo"]').getByRole("button", { name: "Delete" }).click();
    await checkAccessibility(page, "the delete dialog");
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await expect(page.locator('[data-row="demo"]')).toHaveCount(0);
    for (const [kind, id] of [
      ["sources", "kafka_consumer:demo"],
      ["actions", "kafka_producer:demo"],
      ["connectors", "kafka_consumer:demo"],
      ["connectors", "kafka_producer:demo"],
    ] as const) {
      await page.goto(`/#/${kind}`);
      await page.locator(`[data-row="${id}"]`).getByRole("button", { name: "Delete" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
      await expect(page.locator(`[data-row="${id}"]`)).toHaveCount(0);
      expect((await stack.api("GET", `/${kind}/${id}`)).status).toBe(404);
    }
    expect((await stack.api("GET", "/rules/demo")).status).toBe(404);
  });
});
