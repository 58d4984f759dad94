// Unit tests of the console's pure logic (no browser, no server).

import { expect, test } from "@playwright/test";
import { errorPosition, errorRange, offsetOf } from "../../src/sql";
import { layout } from "../../src/components/Graph";
import { actionSections, defaults, getPath, setPath, toBody } from "../../src/schema";
import { matches } from "../../src/components/Form";
import { sourcesInSql } from "../../src/pages/RuleEditor";
import { rateSeries } from "../../src/metrics";

test("the API's parse error position maps to an offset", () => {
  const pos = errorPosition("sql: syntax error at line 2, column 3: expected an expression");
  expect(pos).toMatchObject({ line: 2, column: 3 });
  expect(offsetOf("SELECT a,\n  FROM x", 2, 3)).toBe(12);
  expect(offsetOf("abc", 9, 9)).toBe(3);
  expect(errorPosition("no position here")).toBeNull();
  // The editor marks the word or quoted string the parser stopped at.
  const sql = 'SELECT\n  payload.temp AS t,\n  FROM "sensors/#"';
  const at = errorRange(sql, 3, 3);
  expect(sql.slice(at.from, at.to)).toBe("FROM");
  const topic = errorRange(sql, 3, 8);
  expect(sql.slice(topic.from, topic.to)).toBe('"sensors/#"');
  expect(errorRange(sql, 9, 1)).toEqual({ from: sql.length, to: sql.length });
});

test("the topology is laid out left to right, connectors underneath", () => {
  const { placed, routes } = layout({
    revision: 1,
    nodes: [
      { id: "mqtt_topic_filter:t/#", kind: "mqtt_topic_filter", label: "t/#", enable: true },
      { id: "rule:r1", kind: "rule", label: "r1", enable: true },
      { id: "action:kafka_producer:a", kind: "action", label: "a", enable: true },
      { id: "kafka_topic:out", kind: "kafka_topic", label: "out", enable: true },
      { id: "connector:kafka_producer:k", kind: "connector", label: "k", enable: true },
    ],
    edges: [
      { from: "mqtt_topic_filter:t/#", to: "rule:r1", kind: "data" },
      { from: "rule:r1", to: "action:kafka_producer:a", kind: "data" },
      { from: "action:kafka_producer:a", to: "kafka_topic:out", kind: "data" },
      { from: "action:kafka_producer:a", to: "connector:kafka_producer:k", kind: "uses" },
    ],
  });
  const x = (id: string) => placed.get(id)?.x ?? NaN;
  const y = (id: string) => placed.get(id)?.y ?? NaN;
  expect(x("mqtt_topic_filter:t/#")).toBeLessThan(x("rule:r1"));
  expect(x("rule:r1")).toBeLessThan(x("action:kafka_producer:a"));
  expect(x("action:kafka_producer:a")).toBeLessThan(x("kafka_topic:out"));
  expect(y("connector:kafka_producer:k")).toBeGreaterThan(y("rule:r1"));
  expect(routes.get("rule:r1>action:kafka_producer:a")?.length).toBeGreaterThanOrEqual(2);
});

test("form values: defaults, dotted paths, and the body sent", () => {
  const value = defaults(actionSections);
  expect(getPath(value, "parameters.buffer.mode")).toBe("memory");
  expect(getPath(value, "parameters.kafka_ext_headers")).toEqual([]);
  const edited = setPath(
    { ...value, status: "connected", created_at: "x" },
    "parameters.dead_letter_topic",
    "",
  );
  const body = toBody(edited, actionSections);
  expect(body.status).toBeUndefined();
  expect(body.created_at).toBeUndefined();
  expect(getPath(body, "parameters.dead_letter_topic")).toBeNull();
  expect(getPath(value, "parameters.dead_letter_topic")).toBeUndefined();
});

test("field errors find their field, list items included", () => {
  expect(matches("parameters.topic_mapping", "parameters.topic_mapping[0].mqtt_topic")).toBe(true);
  expect(matches("parameters.topic", "parameters.topic_mapping")).toBe(false);
  expect(matches("authentication", "authentication.password")).toBe(true);
});

test("Kafka sources are found in FROM, and rates come from counter deltas", () => {
  expect(sourcesInSql('SELECT * FROM "$bridges/kafka_consumer:in", "t/#"')).toEqual(["in"]);
  const series = rateSeries(
    [
      { t: 0, metrics: { matched: 0 } },
      { t: 2000, metrics: { matched: 10 } },
      { t: 4000, metrics: { matched: 0 } },
    ],
    "matched",
  );
  expect(series).toEqual([
    { t: 2000, v: 5 },
    { t: 4000, v: 0 },
  ]);
});
