// The rule editor: SQL with highlighting and the API's parse error marked as you type, the
// actions, and a test panel: a sample MQTT message or Kafka record through /rule_test (the
// output row, or why it did not match), and the saved rule's dry run (the exact Kafka records
// and MQTT publishes its actions would produce).

import { useEffect, useRef, useState } from "preact/hooks";
import {
  ApiError,
  api,
  request,
  seg,
  text,
  type Bridge,
  type Connector,
  type DryRun,
  type JsonObject,
  type RenderedOutput,
  type Rule,
  type RuleAction,
  type Worker,
} from "../api";
import { SqlEditor } from "../components/SqlEditor";
import { ErrorNote, PageHeader, StatusBadge, usePoll } from "../components/ui";
import { href, navigate, useRoute } from "../router";
import { republishFields } from "../schema";
import { errorPosition, type SqlErrorPosition } from "../sql";
import { notify } from "../toast";
import { flowState } from "../status";
import { MetricsPanel } from "./Metrics";

interface Draft {
  id: string;
  name: string;
  description: string;
  enable: boolean;
  sql: string;
  actions: RuleAction[];
  mqtt_connector: string;
}

const NEW_RULE: Draft = {
  id: "",
  name: "",
  description: "",
  enable: true,
  sql: 'SELECT\n  payload.temp AS temp,\n  clientid\nFROM\n  "sensors/#"\nWHERE\n  payload.temp > 30',
  actions: [],
  mqtt_connector: "",
};

interface Sample {
  topic: string;
  clientid: string;
  username: string;
  qos: string;
  retain: boolean;
  payload: string;
  userProps: { key: string; value: string }[];
  source: string;
  kTopic: string;
  kKey: string;
  kValue: string;
  kHeaders: { key: string; value: string }[];
  kOffset: string;
}

const NEW_SAMPLE: Sample = {
  topic: "sensors/room-1",
  clientid: "device-1",
  username: "u1",
  qos: "1",
  retain: false,
  payload: '{"temp": 35.5, "hum": 40}',
  userProps: [],
  source: "",
  kTopic: "",
  kKey: "device-1",
  kValue: '{"cmd": "reboot"}',
  kHeaders: [],
  kOffset: "0",
};

/** `$bridges/kafka_consumer:<name>` sources named in the FROM clause. */
export function sourcesInSql(sql: string): string[] {
  const out: string[] = [];
  const re = /"\$(?:bridges|sources)\/kafka_consumer:([^"]+)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(sql)) !== null) if (m[1]) out.push(m[1]);
  return out;
}

function contextOf(sample: Sample, kafka: boolean): JsonObject {
  if (kafka) {
    return {
      event_type: "kafka_consumer",
      source: sample.source,
      topic: sample.kTopic,
      key: sample.kKey === "" ? null : sample.kKey,
      value: sample.kValue,
      headers: Object.fromEntries(
        sample.kHeaders.filter((h) => h.key).map((h) => [h.key, h.value]),
      ),
      offset: Number(sample.kOffset) || 0,
      ts: Date.now(),
      ts_type: "create",
    };
  }
  const ctx: JsonObject = {
    event_type: "message_publish",
    topic: sample.topic,
    clientid: sample.clientid,
    username: sample.username,
    qos: Number(sample.qos),
    payload: sample.payload,
    flags: { retain: sample.retain },
  };
  const props = sample.userProps.filter((p) => p.key);
  if (props.length)
    ctx.pub_props = { "User-Property": Object.fromEntries(props.map((p) => [p.key, p.value])) };
  return ctx;
}

type TestResult =
  | { kind: "row"; output: unknown }
  | { kind: "nomatch"; why: string }
  | { kind: "error"; message: string };

export function RuleEditor({ id }: { id: string | null }) {
  const creating = id === null;
  const route = useRoute();
  const [tab, setTab] = useState(route.query.get("tab") === "metrics" ? "metrics" : "edit");
  const existing = usePoll(
    () => (id ? api.get<Rule>(`/rules/${seg(id)}`) : Promise.resolve(null)),
    0,
    [id],
  );
  const refs = usePoll(
    () =>
      Promise.all([
        api.get<Bridge[]>("/actions"),
        api.get<Connector[]>("/connectors"),
        api.get<Bridge[]>("/sources"),
        api.get<Worker[]>("/workers"),
      ]),
    5000,
    [],
  );
  const [draft, setDraft] = useState<Draft | null>(creating ? NEW_RULE : null);
  const [saved, setSaved] = useState<Rule | null>(null);
  const [sample, setSample] = useState<Sample>(NEW_SAMPLE);
  const [sqlError, setSqlError] = useState<SqlErrorPosition | null>(null);
  const [result, setResult] = useState<TestResult | null>(null);
  const [dryRun, setDryRun] = useState<DryRun | null>(null);
  const [dryError, setDryError] = useState<unknown>(null);
  const [saveError, setSaveError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const rule = saved ?? existing.data ?? null;
  useEffect(() => {
    if (!draft && existing.data) {
      const r = existing.data;
      // A sample on a topic the rule reads.
      const filter = r.from.find((f) => !f.startsWith("$"));
      if (filter) setSample({ ...sample, topic: filter.replace(/#$/, "1").replace(/\+/g, "1") });
      setDraft({
        id: r.id,
        name: r.name,
        description: r.description,
        enable: r.enable,
        sql: r.sql,
        actions: r.actions,
        mqtt_connector: r.mqtt_connector,
      });
    }
  }, [existing.data, draft]);

  const kafkaSources = draft ? sourcesInSql(draft.sql) : [];
  const kafka = kafkaSources.length > 0;
  useEffect(() => {
    const first = kafkaSources[0];
    if (kafka && first && !kafkaSources.includes(sample.source)) {
      const src = refs.data?.[2].find((s) => s.name === first);
      setSample({
        ...sample,
        source: first,
        kTopic: sample.kTopic || text(src?.parameters.topic),
      });
    }
  }, [kafkaSources.join(","), refs.data]);

  // Validate and test as you type: the API parses the SQL (its errors carry line and column) and
  // runs it on the sample.
  const seq = useRef(0);
  const runTest = (d: Draft, s: Sample) => {
    const mine = ++seq.current;
    request<unknown>("POST", "/rule_test", {
      sql: d.sql,
      context: contextOf(s, sourcesInSql(d.sql).length > 0),
    }).then(
      (output) => {
        if (mine !== seq.current) return;
        setSqlError(null);
        setResult({ kind: "row", output });
      },
      (err: unknown) => {
        if (mine !== seq.current) return;
        if (err instanceof ApiError && err.status === 412) {
          setSqlError(null);
          setResult({
            kind: "nomatch",
            why: kafka
              ? "The record is not from a source in FROM, or WHERE is false for it."
              : `The topic ${s.topic} matches no filter in FROM, or WHERE is false for this message.`,
          });
        } else if (err instanceof ApiError) {
          const pos = errorPosition(err.message);
          setSqlError(pos);
          setResult({ kind: "error", message: err.message });
        } else setResult({ kind: "error", message: String(err) });
      },
    );
  };
  useEffect(() => {
    if (!draft) return;
    const timer = window.setTimeout(() => runTest(draft, sample), 300);
    return () => window.clearTimeout(timer);
  }, [draft?.sql, sample]);

  if (!creating && existing.error)
    return (
      <div class="page">
        <ErrorNote error={existing.error} />
        <a href={href("rules")}>← Rules</a>
      </div>
    );
  if (!draft) return <div class="loading">Loading…</div>;

  const actions = refs.data?.[0] ?? [];
  const mqttConnectors = (refs.data?.[1] ?? []).filter((c) => c.type === "mqtt").map((c) => c.name);
  const dirty =
    !rule ||
    rule.sql !== draft.sql ||
    JSON.stringify(rule.actions) !== JSON.stringify(draft.actions);

  const save = () => {
    setBusy(true);
    setSaveError(null);
    const body: Record<string, unknown> = {
      name: draft.name,
      description: draft.description,
      enable: draft.enable,
      sql: draft.sql,
      actions: draft.actions,
    };
    if (draft.mqtt_connector) body.mqtt_connector = draft.mqtt_connector;
    if (creating && draft.id) body.id = draft.id;
    const req = creating
      ? api.post<Rule>("/rules", body)
      : api.put<Rule>(`/rules/${seg(draft.id)}`, body);
    req.then(
      (r) => {
        setBusy(false);
        notify(`rule ${r.name || r.id} ${creating ? "created" : "saved"}`);
        setSaved(r);
        if (creating) navigate(href("rules", r.id));
      },
      (err: unknown) => {
        setBusy(false);
        if (err instanceof ApiError) {
          setSaveError(err);
          if (err.field === "sql") setSqlError(errorPosition(err.message));
        } else notify(String(err), "bad");
      },
    );
  };

  const runDry = () => {
    if (!rule) return;
    setDryError(null);
    api
      .post<DryRun>(`/rules/${seg(rule.id)}/test`, { context: contextOf(sample, kafka) })
      .then(setDryRun, (err: unknown) => {
        setDryRun(null);
        setDryError(
          err instanceof ApiError && err.status === 412
            ? new Error(
                "The saved rule does not match this sample, so its actions produce nothing.",
              )
            : err,
        );
      });
  };

  const fieldErr = (field: string) =>
    saveError?.field === field ||
    saveError?.field?.startsWith(`${field}[`) ||
    saveError?.field?.startsWith(`${field}.`) ? (
      <div class="field-error" role="alert" data-error-for={field}>
        {saveError.body.reason ?? saveError.message}
      </div>
    ) : null;

  return (
    <div class="page">
      <div class="breadcrumbs">
        <a href={href("rules")}>Rules</a> / {creating ? "new" : id}
      </div>
      <PageHeader
        title={creating ? "New rule" : draft.name || draft.id}
        subtitle={
          rule ? (
            <>
              <span class="mono">{rule.id}</span> ·{" "}
              {(() => {
                const state = flowState(refs.data?.[3] ?? [], `rule:${rule.id}`, rule.enable);
                return (
                  <>
                    <StatusBadge status={state.status} />{" "}
                    {state.reason && <span class="muted small">{state.reason}</span>}
                  </>
                );
              })()}
            </>
          ) : (
            "Write the SQL, try it on a sample message, pick where the output goes."
          )
        }
      >
        <button type="button" class="primary" onClick={save} disabled={busy}>
          {busy ? "Saving…" : creating ? "Create rule" : "Save"}
        </button>
      </PageHeader>
      {!creating && (
        <div class="tabs" role="tablist">
          <button
            type="button"
            role="tab"
            aria-selected={tab === "edit"}
            onClick={() => setTab("edit")}
          >
            Rule
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={tab === "metrics"}
            onClick={() => setTab("metrics")}
          >
            Metrics
          </button>
        </div>
      )}
      {tab === "metrics" && rule ? (
        <MetricsPanel kind="rules" id={rule.id} />
      ) : (
        <div class="editor-grid">
          <div class="editor-main">
            {saveError && !saveError.field && <ErrorNote error={saveError} />}
            {saveError?.field && (
              <div class="alert alert-bad" role="alert">
                Not saved: {saveError.message}
              </div>
            )}
            <section class="card">
              <div class="card-head">
                <h2>SQL</h2>
                <span class={`sql-status ${sqlError ? "bad" : "ok"}`} data-testid="sql-status">
                  {sqlError
                    ? `Error at line ${sqlError.line}, column ${sqlError.column}`
                    : "✓ Valid SQL"}
                </span>
              </div>
              <SqlEditor
                value={draft.sql}
                onChange={(sql) => setDraft({ ...draft, sql })}
                error={sqlError}
              />
              {sqlError && (
                <div class="sql-error-text" role="alert" data-testid="sql-error">
                  {sqlError.message}
                </div>
              )}
              {fieldErr("sql")}
              <p class="muted small">
                FROM takes MQTT topic filters (<code>"sensors/#"</code>) or Kafka sources (
                <code>"$bridges/kafka_consumer:name"</code>). Functions and syntax are EMQX's. In
                the editor, Tab indents; Esc then Tab moves on.
              </p>
            </section>
            <section class="card">
              <div class="card-head">
                <h2>Actions</h2>
                <div>
                  <select
                    aria-label="Add action"
                    value=""
                    onChange={(e) => {
                      const v = e.currentTarget.value;
                      if (!v) return;
                      const next: RuleAction =
                        v === "republish" ? { function: "republish", args: { topic: "" } } : v;
                      setDraft({ ...draft, actions: [...draft.actions, next] });
                      e.currentTarget.value = "";
                    }}
                  >
                    <option value="">+ Add action…</option>
                    {actions.map((a) => (
                      <option key={a.name} value={`${a.type}:${a.name}`}>
                        Kafka: {a.name} → {text(a.parameters.topic)}
                      </option>
                    ))}
                    <option value="republish">Republish to MQTT</option>
                  </select>{" "}
                  <a class="small" href={href("actions", "new")}>
                    New Kafka action
                  </a>
                </div>
              </div>
              {fieldErr("actions")}
              {draft.actions.length === 0 ? (
                <p class="muted">No actions: the rule computes rows but sends nothing.</p>
              ) : (
                <ul class="action-list">
                  {draft.actions.map((a, i) => (
                    <li key={i}>
                      {typeof a === "string" ? (
                        <div class="action-ref">
                          <span class="tag">Kafka</span> <a href={href("actions", a)}>{a}</a>
                          {(() => {
                            const found = actions.find((x) => `${x.type}:${x.name}` === a);
                            return found ? (
                              <>
                                <span class="muted"> → {text(found.parameters.topic)}</span>{" "}
                                <StatusBadge status={found.status} enable={found.enable} />
                              </>
                            ) : (
                              <span class="tag warn">missing</span>
                            );
                          })()}
                        </div>
                      ) : (
                        <div class="republish">
                          <span class="tag">republish</span>
                          <div class="inline-grid">
                            {republishFields.map((f) => (
                              <label key={f.key}>
                                <span>
                                  {f.label}
                                  {f.def !== undefined && (
                                    <span class="default">default {String(f.def)}</span>
                                  )}
                                </span>
                                <input
                                  value={(a.args[f.key] as string | null | undefined) ?? ""}
                                  placeholder={f.placeholder ?? String(f.def ?? "")}
                                  onInput={(e) => {
                                    const v = e.currentTarget.value;
                                    const args: JsonObject = Object.fromEntries(
                                      Object.entries(a.args).filter(([k]) => k !== f.key),
                                    );
                                    if (v !== "") args[f.key] = v;
                                    const next = [...draft.actions];
                                    next[i] = { function: "republish", args };
                                    setDraft({ ...draft, actions: next });
                                  }}
                                />
                              </label>
                            ))}
                          </div>
                        </div>
                      )}
                      <button
                        type="button"
                        class="icon-button"
                        aria-label="Remove action"
                        onClick={() =>
                          setDraft({ ...draft, actions: draft.actions.filter((_, j) => j !== i) })
                        }
                      >
                        ✕
                      </button>
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section class="card">
              <h2>Settings</h2>
              <div class="fields">
                {creating && (
                  <div class="field">
                    <label for="rule-id">Id</label>
                    <div class="control">
                      <input
                        id="rule-id"
                        value={draft.id}
                        placeholder="generated: rule_<random>"
                        onInput={(e) => setDraft({ ...draft, id: e.currentTarget.value })}
                      />
                      {fieldErr("id")}
                    </div>
                  </div>
                )}
                <div class="field">
                  <label for="rule-name">Name</label>
                  <div class="control">
                    <input
                      id="rule-name"
                      value={draft.name}
                      onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })}
                    />
                    {fieldErr("name")}
                  </div>
                </div>
                <div class="field">
                  <label for="rule-description">Description</label>
                  <div class="control">
                    <input
                      id="rule-description"
                      value={draft.description}
                      onInput={(e) => setDraft({ ...draft, description: e.currentTarget.value })}
                    />
                  </div>
                </div>
                <div class="field">
                  <label for="rule-enable">Enabled</label>
                  <div class="control">
                    <input
                      id="rule-enable"
                      type="checkbox"
                      checked={draft.enable}
                      onChange={(e) => setDraft({ ...draft, enable: e.currentTarget.checked })}
                    />
                  </div>
                </div>
                <div class="field">
                  <label for="rule-mqtt">MQTT connector</label>
                  <div class="control">
                    <select
                      id="rule-mqtt"
                      value={draft.mqtt_connector}
                      onChange={(e) =>
                        setDraft({ ...draft, mqtt_connector: e.currentTarget.value })
                      }
                    >
                      <option value="">(default)</option>
                      {mqttConnectors.map((c) => (
                        <option key={c}>{c}</option>
                      ))}
                    </select>
                    {fieldErr("mqtt_connector")}
                    <div class="help">
                      FROM topics are subscribed on it; republish publishes through it.
                    </div>
                  </div>
                </div>
              </div>
            </section>
          </div>
          <aside class="editor-side">
            <section class="card test-panel">
              <div class="card-head">
                <h2>Test</h2>
                <span class="muted small">
                  {kafka ? "Kafka record" : "MQTT message"} · runs as you type
                </span>
              </div>
              {kafka ? (
                <KafkaSample sample={sample} setSample={setSample} sources={kafkaSources} />
              ) : (
                <MqttSample sample={sample} setSample={setSample} />
              )}
              <div class="form-actions">
                <button type="button" onClick={() => runTest(draft, sample)}>
                  Run test
                </button>
              </div>
              <h3>Output</h3>
              <div data-testid="test-result">
                {!result ? (
                  <p class="muted">…</p>
                ) : result.kind === "row" ? (
                  <pre class="output ok-output" data-testid="test-output" tabIndex={0}>
                    {JSON.stringify(result.output, null, 2)}
                  </pre>
                ) : result.kind === "nomatch" ? (
                  <div class="alert alert-warn" data-testid="test-nomatch">
                    Not matched. {result.why}
                  </div>
                ) : (
                  <div class="alert alert-bad" data-testid="test-error">
                    {result.message}
                  </div>
                )}
              </div>
              <h3>What the actions would send</h3>
              {creating ? (
                <p class="muted small">
                  Save the rule to preview its actions' Kafka records and MQTT publishes.
                </p>
              ) : (
                <>
                  <div class="form-actions">
                    <button type="button" onClick={runDry} data-testid="dry-run">
                      Dry run {dirty ? "(saved version)" : ""}
                    </button>
                  </div>
                  {dirty && rule && (
                    <p class="muted small">
                      The dry run uses the saved rule; save to preview your changes.
                    </p>
                  )}
                  <ErrorNote error={dryError} />
                  {dryRun && <DryRunView dry={dryRun} />}
                </>
              )}
            </section>
          </aside>
        </div>
      )}
    </div>
  );
}

function MqttSample({ sample, setSample }: { sample: Sample; setSample: (s: Sample) => void }) {
  return (
    <div class="sample">
      <label>
        Topic
        <input
          aria-label="Sample topic"
          value={sample.topic}
          onInput={(e) => setSample({ ...sample, topic: e.currentTarget.value })}
        />
      </label>
      <div class="row-3">
        <label>
          Client id
          <input
            value={sample.clientid}
            onInput={(e) => setSample({ ...sample, clientid: e.currentTarget.value })}
          />
        </label>
        <label>
          Username
          <input
            value={sample.username}
            onInput={(e) => setSample({ ...sample, username: e.currentTarget.value })}
          />
        </label>
        <label>
          QoS
          <select
            value={sample.qos}
            onChange={(e) => setSample({ ...sample, qos: e.currentTarget.value })}
          >
            <option>0</option>
            <option>1</option>
            <option>2</option>
          </select>
        </label>
      </div>
      <label>
        Payload
        <textarea
          aria-label="Sample payload"
          rows={4}
          spellcheck={false}
          class="mono"
          value={sample.payload}
          onInput={(e) => setSample({ ...sample, payload: e.currentTarget.value })}
        />
      </label>
      <label class="check">
        <input
          type="checkbox"
          checked={sample.retain}
          onChange={(e) => setSample({ ...sample, retain: e.currentTarget.checked })}
        />{" "}
        Retain
      </label>
      <KeyValues
        title="User properties"
        items={sample.userProps}
        onChange={(userProps) => setSample({ ...sample, userProps })}
      />
    </div>
  );
}

function KafkaSample({
  sample,
  setSample,
  sources,
}: {
  sample: Sample;
  setSample: (s: Sample) => void;
  sources: string[];
}) {
  return (
    <div class="sample">
      <div class="row-3">
        <label>
          Source
          <select
            value={sample.source}
            onChange={(e) => setSample({ ...sample, source: e.currentTarget.value })}
          >
            {sources.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Kafka topic
          <input
            value={sample.kTopic}
            onInput={(e) => setSample({ ...sample, kTopic: e.currentTarget.value })}
          />
        </label>
        <label>
          Offset
          <input
            value={sample.kOffset}
            onInput={(e) => setSample({ ...sample, kOffset: e.currentTarget.value })}
          />
        </label>
      </div>
      <label>
        Key
        <input
          value={sample.kKey}
          onInput={(e) => setSample({ ...sample, kKey: e.currentTarget.value })}
        />
      </label>
      <label>
        Value
        <textarea
          aria-label="Sample value"
          rows={4}
          spellcheck={false}
          class="mono"
          value={sample.kValue}
          onInput={(e) => setSample({ ...sample, kValue: e.currentTarget.value })}
        />
      </label>
      <KeyValues
        title="Headers"
        items={sample.kHeaders}
        onChange={(kHeaders) => setSample({ ...sample, kHeaders })}
      />
    </div>
  );
}

function KeyValues({
  title,
  items,
  onChange,
}: {
  title: string;
  items: { key: string; value: string }[];
  onChange: (items: { key: string; value: string }[]) => void;
}) {
  return (
    <div class="kv">
      <div class="small strong">{title}</div>
      {items.map((kv, i) => (
        <div class="kv-row" key={i}>
          <input
            placeholder="key"
            value={kv.key}
            onInput={(e) => {
              const next = [...items];
              next[i] = { ...kv, key: e.currentTarget.value };
              onChange(next);
            }}
          />
          <input
            placeholder="value"
            value={kv.value}
            onInput={(e) => {
              const next = [...items];
              next[i] = { ...kv, value: e.currentTarget.value };
              onChange(next);
            }}
          />
          <button
            type="button"
            class="icon-button"
            aria-label="Remove"
            onClick={() => onChange(items.filter((_, j) => j !== i))}
          >
            ✕
          </button>
        </div>
      ))}
      <button
        type="button"
        class="link-button"
        onClick={() => onChange([...items, { key: "", value: "" }])}
      >
        + Add
      </button>
    </div>
  );
}

function DryRunView({ dry }: { dry: DryRun }) {
  return (
    <div class="dry-run" data-testid="dry-run-result">
      {dry.actions.length === 0 && <p class="muted">The rule has no actions.</p>}
      {dry.actions.map((a, i) => (
        <div key={i} class="dry-action">
          <div class="strong">
            {a.action} {!a.enable && <span class="tag warn">disabled: sends nothing</span>}
          </div>
          {a.outputs.map((o, j) => (
            <Output key={j} output={o} />
          ))}
        </div>
      ))}
    </div>
  );
}

function Output({ output }: { output: RenderedOutput }) {
  if (output.kind === "error")
    return <div class="alert alert-bad">Would fail: {output.message}</div>;
  if (output.kind === "console_line")
    return (
      <dl class="record">
        <dt>Worker log line</dt>
        <dd>
          <pre class="output" tabIndex={0}>
            {output.line}
          </pre>
        </dd>
      </dl>
    );
  if (output.kind === "kafka_record")
    return (
      <dl class="record">
        <dt>Kafka topic</dt>
        <dd class="mono">{output.topic}</dd>
        <dt>Key</dt>
        <dd class="mono">{output.key ?? <span class="muted">(none: random partition)</span>}</dd>
        <dt>Value</dt>
        <dd>
          <pre class="output" tabIndex={0}>
            {output.value}
          </pre>
        </dd>
        {output.headers.length > 0 && (
          <>
            <dt>Headers</dt>
            <dd class="mono small">
              {output.headers.map((h) => `${h.key}=${h.value}`).join(", ")}
            </dd>
          </>
        )}
        <dt>Timestamp</dt>
        <dd class="mono">{output.timestamp ?? <span class="muted">producer's clock</span>}</dd>
      </dl>
    );
  return (
    <dl class="record">
      <dt>MQTT topic</dt>
      <dd class="mono">{output.topic}</dd>
      <dt>QoS / retain</dt>
      <dd>
        {output.qos} / {output.retain ? "yes" : "no"}
      </dd>
      <dt>Payload</dt>
      <dd>
        <pre class="output" tabIndex={0}>
          {output.payload}
        </pre>
      </dd>
      {output.user_properties.length > 0 && (
        <>
          <dt>User properties</dt>
          <dd class="mono small">
            {output.user_properties.map((h) => `${h.key}=${h.value}`).join(", ")}
          </dd>
        </>
      )}
    </dl>
  );
}
