// Unit tests of the console's pure logic (no browser, no server).

import { expect, test } from "@playwright/test";
import { errorPosition, offsetOf, tokenize } from "../../src/sql";
import { actionSections, defaults, getPath, setPath, toBody } from "../../src/schema";
import { matches } from "../../src/components/Form";
import { sourcesInSql } from "../../src/pages/RuleEditor";
import { rateSeries } from "../../src/metrics";

test("the SQL tokenizer tells keywords, functions, topics, strings and numbers apart", () => {
  const tokens = tokenize("SELECT upper(payload.x) AS x FROM \"t/#\" WHERE y = 'a' AND z > 3.5")
    .filter((t) => t.kind !== "space")
    .map((t) => `${t.kind}:${t.text}`);
  expect(tokens).toEqual([
    "keyword:SELECT",
    "function:upper",
    "punct:(",
    "ident:payload",
    "punct:.",
    "ident:x",
    "punct:)",
    "keyword:AS",
    "ident:x",
    "keyword:FROM",
    'topic:"t/#"',
    "keyword:WHERE",
    "ident:y",
    "operator:=",
    "string:'a'",
    "keyword:AND",
    "ident:z",
    "operator:>",
    "number:3.5",
  ]);
  // The tokens cover the text exactly, so the highlighted copy lines up with the textarea.
  const sql = 'SELECT a -- note\nFROM "x" /* c */';
  expect(
    tokenize(sql)
      .map((t) => t.text)
      .join(""),
  ).toBe(sql);
});

test("the API's parse error position maps to an offset", () => {
  const pos = errorPosition("sql: syntax error at line 2, column 3: expected an expression");
  expect(pos).toMatchObject({ line: 2, column: 3 });
  expect(offsetOf("SELECT a,\n  FROM x", 2, 3)).toBe(12);
  expect(offsetOf("abc", 9, 9)).toBe(3);
  expect(errorPosition("no position here")).toBeNull();
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
