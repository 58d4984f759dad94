import { useState } from "preact/hooks";
import { api, listRules, seg, type Bridge, type Metrics } from "../api";
import { BufferStats } from "../components/BufferStats";
import { Chart, Sparkline } from "../components/Chart";
import { Empty, ErrorNote, fmtCount, fmtRate, PageHeader, usePoll } from "../components/ui";
import {
  CHARTED,
  forget,
  historyOf,
  RATE_FIELD,
  rateSeries,
  sample,
  type MetricsKind,
} from "../metrics";
import { href } from "../router";
import { notify } from "../toast";

const POLL_MS = 3000;

/** Counters of one rule, action or source, with live rate charts and reset. */
export function MetricsPanel({ kind, id }: { kind: MetricsKind; id: string }) {
  const { data, error, reload } = usePoll(() => sample(kind, id), POLL_MS, [kind, id]);
  const [confirming, setConfirming] = useState(false);
  const samples = historyOf(kind, id);
  const series = CHARTED[kind].map(([counter, label, color]) => ({
    label: `${label}/s`,
    color,
    points: rateSeries(samples, counter),
  }));
  const m = data?.metrics ?? {};
  const counters = Object.entries(m).filter(([k]) => !k.includes("rate"));
  return (
    <div class="metrics-panel" data-testid="metrics-panel">
      <ErrorNote error={error} />
      <div class="stats">
        <div class="stat">
          <div class="stat-label">Current rate</div>
          <div class="stat-value" data-testid="current-rate">
            {fmtRate(m[RATE_FIELD[kind]])}
          </div>
          <div class="stat-sub">
            max {fmtRate(m[kind === "rules" ? "matched.rate.max" : "rate_max"])} · 5 min avg{" "}
            {fmtRate(m[kind === "rules" ? "matched.rate.last5m" : "rate_last5m"])}
          </div>
        </div>
        {CHARTED[kind].map(([counter, label]) => (
          <div class="stat" key={counter}>
            <div class="stat-label">{label}</div>
            <div class="stat-value">{fmtCount(m[counter])}</div>
            <div class="stat-sub">total</div>
          </div>
        ))}
      </div>
      <section class="card">
        <div class="card-head">
          <h2>Rates</h2>
          <div>
            <span class="muted small">
              <span class="live-dot" /> every {POLL_MS / 1000} s, last 5 minutes
            </span>{" "}
            {confirming ? (
              <>
                <span class="small">Reset all counters on every worker?</span>{" "}
                <button
                  type="button"
                  class="danger small-button"
                  onClick={() =>
                    void api.put(`/${kind}/${seg(id)}/metrics/reset`).then(
                      () => {
                        forget(kind, id);
                        setConfirming(false);
                        notify("Metrics reset");
                        reload();
                      },
                      (err: unknown) => notify(String(err), "bad"),
                    )
                  }
                >
                  Reset
                </button>{" "}
                <button type="button" class="small-button" onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </>
            ) : (
              <button type="button" class="small-button" onClick={() => setConfirming(true)}>
                Reset metrics
              </button>
            )}
          </div>
        </div>
        <Chart series={series} />
      </section>
      {kind === "actions" && data && <BufferStats metrics={m} />}
      <div class="grid-2">
        <section class="card">
          <h2>Counters</h2>
          {counters.length === 0 ? (
            <Empty>No worker reports it yet.</Empty>
          ) : (
            <table class="table compact" data-testid="counters">
              <tbody>
                {counters.map(([k, v]) => (
                  <tr key={k}>
                    <td class="mono small">{k}</td>
                    <td class="num">{fmtCount(v)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section class="card">
          <h2>Per worker</h2>
          {(data?.node_metrics ?? []).length === 0 ? (
            <Empty>No live worker runs it.</Empty>
          ) : (
            <table class="table compact">
              <thead>
                <tr>
                  <th>Worker</th>
                  <th class="num">Rate</th>
                  {CHARTED[kind].map(([c, label]) => (
                    <th class="num" key={c}>
                      {label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {(data?.node_metrics ?? []).map((n) => (
                  <tr key={n.node}>
                    <td>{n.node}</td>
                    <td class="num">{fmtRate(n.metrics[RATE_FIELD[kind]])}</td>
                    {CHARTED[kind].map(([c]) => (
                      <td class="num" key={c}>
                        {fmtCount(n.metrics[c])}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </div>
  );
}

interface Row {
  kind: MetricsKind;
  id: string;
  name: string;
  link: string;
  enable: boolean;
  metrics: Record<string, number> | null;
}

async function loadAll(): Promise<Row[]> {
  const [rules, actions, sources] = await Promise.all([
    listRules(),
    api.get<Bridge[]>("/actions"),
    api.get<Bridge[]>("/sources"),
  ]);
  const rows: Row[] = [
    ...rules.map((r) => ({
      kind: "rules" as const,
      id: r.id,
      name: r.name || r.id,
      link: href("rules", r.id) + "?tab=metrics",
      enable: r.enable,
      metrics: null,
    })),
    ...actions.map((a) => ({
      kind: "actions" as const,
      id: `${a.type}:${a.name}`,
      name: a.name,
      link: href("actions", `${a.type}:${a.name}`),
      enable: a.enable,
      metrics: null,
    })),
    ...sources.map((s) => ({
      kind: "sources" as const,
      id: `${s.type}:${s.name}`,
      name: s.name,
      link: href("sources", `${s.type}:${s.name}`),
      enable: s.enable,
      metrics: null,
    })),
  ];
  await Promise.all(
    rows.map(async (row) => {
      try {
        const m: Metrics = await sample(row.kind, row.id);
        row.metrics = m.metrics;
      } catch {
        row.metrics = null;
      }
    }),
  );
  return rows;
}

export function MetricsPage() {
  const { data, error } = usePoll(loadAll, POLL_MS);
  return (
    <div class="page">
      <PageHeader
        title="Metrics"
        subtitle={
          <>
            Every rule, action and source, summed over the live workers · <span class="live-dot" />{" "}
            every {POLL_MS / 1000} s
          </>
        }
      />
      <ErrorNote error={error} />
      {!data ? (
        <div class="loading">Loading…</div>
      ) : (
        (["rules", "actions", "sources"] as const).map((kind) => {
          const rows = data.filter((r) => r.kind === kind);
          return (
            <section class="card" key={kind}>
              <h2>{kind.charAt(0).toUpperCase() + kind.slice(1)}</h2>
              {rows.length === 0 ? (
                <Empty>None.</Empty>
              ) : (
                <table class="table" data-testid={`metrics-${kind}`}>
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th class="num">Rate</th>
                      <th>Last minutes</th>
                      {CHARTED[kind].map(([c, label]) => (
                        <th class="num" key={c}>
                          {label}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((r) => (
                      <tr key={r.id}>
                        <td>
                          <a class="strong" href={r.link}>
                            {r.name}
                          </a>
                          {!r.enable && <span class="tag">disabled</span>}
                        </td>
                        <td class="num">{fmtRate(r.metrics?.[RATE_FIELD[kind]])}</td>
                        <td>
                          <Sparkline
                            points={rateSeries(historyOf(kind, r.id), CHARTED[kind][0]?.[0] ?? "")}
                          />
                        </td>
                        {CHARTED[kind].map(([c]) => (
                          <td
                            class={`num ${(c.includes("fail") || c === "dropped") && (r.metrics?.[c] ?? 0) > 0 ? "bad-num" : ""}`}
                            key={c}
                          >
                            {fmtCount(r.metrics?.[c])}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          );
        })
      )}
    </div>
  );
}
