import { useState } from "preact/hooks";
import {
  api,
  listRules,
  text,
  type Bridge,
  type Connector,
  type Rule,
  type Status,
  type Topology,
  type TopologyNode,
  type Worker,
} from "../api";
import { Graph } from "../components/Graph";
import { Sparkline } from "../components/Chart";
import {
  ago,
  Empty,
  ErrorNote,
  fmtRate,
  PageHeader,
  StatusBadge,
  tone,
  usePoll,
  type Tone,
} from "../components/ui";
import { historyOf, RATE_FIELD, sample, type MetricsKind } from "../metrics";
import { href, navigate } from "../router";
import { flowState, noteStatus } from "../status";

interface Snapshot {
  status: Status;
  workers: Worker[];
  topology: Topology;
  connectors: Connector[];
  actions: Bridge[];
  sources: Bridge[];
  rules: Rule[];
  rates: Map<string, number>;
}

async function load(): Promise<Snapshot> {
  const [status, workers, topology, connectors, actions, sources, rules] = await Promise.all([
    api.get<Status>("/status"),
    api.get<Worker[]>("/workers"),
    api.get<Topology>("/flows"),
    api.get<Connector[]>("/connectors"),
    api.get<Bridge[]>("/actions"),
    api.get<Bridge[]>("/sources"),
    listRules(),
  ]);
  const rates = new Map<string, number>();
  const wanted: [MetricsKind, string][] = [
    ...rules.map((r): [MetricsKind, string] => ["rules", r.id]),
    ...sources.map((s): [MetricsKind, string] => ["sources", `${s.type}:${s.name}`]),
  ];
  await Promise.all(
    wanted.map(async ([kind, id]) => {
      try {
        const m = await sample(kind, id);
        rates.set(`${kind}/${id}`, m.metrics[RATE_FIELD[kind]] ?? 0);
      } catch {
        // A resource deleted meanwhile: no rate.
      }
    }),
  );
  for (const c of connectors)
    noteStatus(
      `${c.type}:${c.name}`,
      c.enable ? (c.status ?? "") : "disabled",
      c.status_reason ?? "",
    );
  return { status, workers, topology, connectors, actions, sources, rules, rates };
}

export function Overview() {
  const { data, error } = usePoll(load, 4000);
  const [selected, setSelected] = useState<string | null>(null);
  if (!data) return <div class="loading">{error ? <ErrorNote error={error} /> : "Loading…"}</div>;
  const { status, workers, topology, connectors, actions, sources, rules, rates } = data;
  const live = workers.filter((w) => w.status === "up");
  const flows = [
    ...rules.map((r) => ({
      kind: "rule" as const,
      id: r.id,
      name: r.name || r.id,
      link: href("rules", r.id),
      state: flowState(workers, `rule:${r.id}`, r.enable),
      rate: rates.get(`rules/${r.id}`),
      history: historyOf("rules", r.id),
      rateField: RATE_FIELD.rules,
      detail: r.from.join(", "),
    })),
    ...sources.map((s) => {
      const id = `${s.type}:${s.name}`;
      return {
        kind: "source" as const,
        id,
        name: s.name,
        link: href("sources", id),
        state: flowState(workers, `source:${id}`, s.enable),
        rate: rates.get(`sources/${id}`),
        history: historyOf("sources", id),
        rateField: RATE_FIELD.sources,
        detail: [text(s.parameters.topic), ...topicsOf(s)].filter(Boolean).join(", "),
      };
    }),
  ];
  const running = flows.filter((f) => f.state.status === "running").length;
  const failing = flows.filter((f) => ["failed", "stopped"].includes(f.state.status)).length;
  const connected = connectors.filter((c) => c.enable && c.status === "connected").length;
  const totalRate = [...rates.values()].reduce((a, b) => a + b, 0);
  const tones = nodeTones(data, flows);
  // Rules are drawn by name when they have one (the topology labels them by id).
  const names = new Map(rules.map((r) => [`rule:${r.id}`, r.name || r.id]));
  const drawn = {
    ...topology,
    nodes: topology.nodes.map((n) => ({ ...n, label: names.get(n.id) ?? n.label })),
  };

  const open = (node: TopologyNode) => {
    const [kind, ...rest] = node.id.split(":");
    const id = rest.join(":");
    if (kind === "rule") navigate(href("rules", id));
    else if (kind === "action") navigate(href("actions", id));
    else if (kind === "source") navigate(href("sources", id));
    else if (kind === "connector") navigate(href("connectors", id));
    else if (kind === "republish") navigate(href("rules", id.split(":")[0] ?? ""));
    else setSelected(selected === node.id ? null : node.id);
  };

  return (
    <div class="page">
      <PageHeader
        title="Overview"
        subtitle={
          <>
            Configuration revision {status.config_revision ?? "?"} · database {status.database} ·{" "}
            <span class="live-dot" /> live, every 4 s
          </>
        }
      >
        <a class="button" href={href("rules", "new")}>
          + New rule
        </a>
      </PageHeader>
      {error ? <ErrorNote error={error} /> : null}
      <div class="stats">
        <Stat
          label="Workers alive"
          value={`${live.length}`}
          sub={workers.length > live.length ? `${workers.length - live.length} down` : "all up"}
          tone={live.length === 0 ? "bad" : workers.length > live.length ? "warn" : "ok"}
        />
        <Stat
          label="Flows running"
          value={`${running} / ${flows.length}`}
          sub={failing ? `${failing} not running` : "no failures"}
          tone={failing ? "bad" : "ok"}
        />
        <Stat
          label="Connectors connected"
          value={`${connected} / ${connectors.filter((c) => c.enable).length}`}
          sub={`${connectors.length} configured`}
          tone={connected < connectors.filter((c) => c.enable).length ? "warn" : "ok"}
        />
        <Stat
          label="Messages in"
          value={fmtRate(totalRate)}
          sub="rules matched + records read"
          tone="neutral"
        />
      </div>

      <section class="card">
        <div class="card-head">
          <h2>Topology</h2>
          <div class="legend-inline">
            <span class="lg ok">running / connected</span>
            <span class="lg warn">starting</span>
            <span class="lg bad">failed / disconnected</span>
            <span class="lg off">disabled</span>
            <span class="muted small">Click a node to open it.</span>
          </div>
        </div>
        {topology.nodes.length === 0 ? (
          <Empty>
            Nothing configured yet. Start with a <a href={href("connectors", "new")}>connector</a>,
            then an <a href={href("actions", "new")}>action</a> and a{" "}
            <a href={href("rules", "new")}>rule</a>.
          </Empty>
        ) : (
          <Graph topology={drawn} tones={tones} selected={selected} onSelect={open} />
        )}
      </section>

      <div class="grid-2">
        <section class="card">
          <div class="card-head">
            <h2>Flows</h2>
            <a href={href("metrics")} class="small">
              All metrics →
            </a>
          </div>
          {flows.length === 0 ? (
            <Empty>No rules or sources.</Empty>
          ) : (
            <table class="table" data-testid="flows">
              <thead>
                <tr>
                  <th>Flow</th>
                  <th>Status</th>
                  <th class="num">Rate</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {flows.map((f) => (
                  <tr key={`${f.kind}:${f.id}`}>
                    <td>
                      <a href={f.link}>{f.name}</a> <span class="tag">{f.kind}</span>
                      <div class="muted small mono">{f.detail}</div>
                    </td>
                    <td>
                      <StatusBadge status={f.state.status} />
                      {f.state.reason && <div class="muted small">{f.state.reason}</div>}
                    </td>
                    <td class="num">{fmtRate(f.rate)}</td>
                    <td>
                      <Sparkline
                        points={f.history.map((s) => ({ v: s.metrics[f.rateField] ?? 0 }))}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section class="card">
          <div class="card-head">
            <h2>Connectors</h2>
            <a href={href("connectors")} class="small">
              Manage →
            </a>
          </div>
          {connectors.length === 0 ? (
            <Empty>
              No connectors. <a href={href("connectors", "new")}>Create one</a>.
            </Empty>
          ) : (
            <table class="table">
              <thead>
                <tr>
                  <th>Connector</th>
                  <th>Status</th>
                  <th>Used by</th>
                </tr>
              </thead>
              <tbody>
                {connectors.map((c) => {
                  const id = `${c.type}:${c.name}`;
                  const users =
                    c.type === "kafka_producer"
                      ? actions.filter((a) => a.connector === c.name).length
                      : c.type === "kafka_consumer"
                        ? sources.filter((s) => s.connector === c.name).length
                        : rules.filter((r) => r.mqtt_connector === c.name).length;
                  return (
                    <tr key={id}>
                      <td>
                        <a href={href("connectors", id)}>{c.name}</a>{" "}
                        <span class="tag">{c.type}</span>
                      </td>
                      <td>
                        <StatusBadge status={c.status} enable={c.enable} />
                        {c.status_reason && c.status !== "connected" && (
                          <div class="muted small">{c.status_reason}</div>
                        )}
                      </td>
                      <td class="muted">{users}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </section>
      </div>

      <section class="card">
        <div class="card-head">
          <h2>Workers</h2>
        </div>
        {workers.length === 0 ? (
          <Empty>
            No worker has registered. Start <code>tributary-worker</code> with the control plane's
            worker token.
          </Empty>
        ) : (
          <table class="table" data-testid="workers">
            <thead>
              <tr>
                <th>Worker</th>
                <th>Status</th>
                <th>Lease</th>
                <th>Applied revision</th>
                <th>Flows</th>
                <th>Version</th>
                <th>Admin</th>
              </tr>
            </thead>
            <tbody>
              {workers.map((w) => (
                <tr key={w.id}>
                  <td>
                    {w.name} <span class="muted small">epoch {w.epoch}</span>
                  </td>
                  <td>
                    <StatusBadge status={w.status} />
                  </td>
                  <td>
                    {w.status === "up" ? "expires " : "expired "}
                    {ago(w.lease_expires_at)}
                    <div class="muted small">heartbeat {ago(w.last_heartbeat)}</div>
                  </td>
                  <td>
                    {w.applied_revision}
                    {status.config_revision != null &&
                      w.applied_revision < status.config_revision && (
                        <span class="tag warn">behind {status.config_revision}</span>
                      )}
                  </td>
                  <td>
                    {w.flows.filter((f) => f.status === "running").length} / {w.flows.length}{" "}
                    running
                  </td>
                  <td class="muted">{w.version}</td>
                  <td class="mono small">{w.admin_address}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function topicsOf(s: Bridge): string[] {
  const mapping = s.parameters.topic_mapping;
  return Array.isArray(mapping)
    ? mapping.map((m) =>
        m && typeof m === "object" && !Array.isArray(m) ? text(m.kafka_topic) : "",
      )
    : [];
}

function Stat({
  label,
  value,
  sub,
  tone: t,
}: {
  label: string;
  value: string;
  sub: string;
  tone: Tone;
}) {
  return (
    <div class={`stat stat-${t}`}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      <div class="stat-sub">{sub}</div>
    </div>
  );
}

function nodeTones(
  data: Snapshot,
  flows: { kind: string; id: string; state: { status: string } }[],
): Map<string, Tone> {
  const tones = new Map<string, Tone>();
  for (const f of flows) tones.set(`${f.kind}:${f.id}`, tone(f.state.status));
  for (const c of data.connectors)
    tones.set(`connector:${c.type}:${c.name}`, c.enable ? tone(c.status ?? "") : "off");
  for (const a of data.actions)
    tones.set(`action:${a.type}:${a.name}`, a.enable ? tone(a.status ?? "") : "off");
  for (const n of data.topology.nodes) {
    if (!n.enable) tones.set(n.id, "off");
    else if (n.problems?.length) tones.set(n.id, "bad");
  }
  return tones;
}
