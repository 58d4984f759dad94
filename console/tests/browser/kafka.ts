// The test stack's Kafka from the browser tests, through scripts/lib/kafka_tool.py (a Python
// virtualenv with confluent-kafka that scripts/console.sh test prepares; TRIBUTARY_KAFKA_PYTHON).

import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const TOOL = path.resolve(import.meta.dirname, "..", "..", "..", "scripts", "lib", "kafka_tool.py");

function python(): string {
  const value = process.env.TRIBUTARY_KAFKA_PYTHON;
  if (!value)
    throw new Error(
      "TRIBUTARY_KAFKA_PYTHON is not set: run through scripts/console.sh test (it prepares the Kafka client)",
    );
  return value;
}

async function kafka(bootstrap: string, args: string[], timeoutMs = 30_000): Promise<string> {
  const { stdout } = await run(python(), [TOOL, "--bootstrap", bootstrap, ...args], {
    timeout: timeoutMs,
  });
  return stdout;
}

export async function createTopic(bootstrap: string, name: string): Promise<void> {
  await kafka(bootstrap, ["create-topic", name]);
}

export async function produce(bootstrap: string, topic: string, value: string, key?: string) {
  await kafka(bootstrap, ["produce", topic, value, ...(key ? ["--key", key] : [])]);
}

/** The records of `topic` from the beginning, once one's value contains `text` (else throws). */
export async function consumeUntil(
  bootstrap: string,
  topic: string,
  text: string,
  timeoutSeconds = 20,
): Promise<{ value: unknown; key: unknown }[]> {
  const out = await kafka(
    bootstrap,
    ["consume", topic, "--from-beginning", "--contains", text, "--timeout", String(timeoutSeconds)],
    (timeoutSeconds + 15) * 1000,
  );
  return out
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as { value: unknown; key: unknown });
}
