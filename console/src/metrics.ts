// Live rates: the counters of /…/metrics sampled every few seconds, kept per resource for the
// console's lifetime (so charts survive navigation), rates derived from counter deltas.

import { api, seg, type Metrics } from "./api";

export type MetricsKind = "rules" | "actions" | "sources";

export interface Sample {
  t: number;
  metrics: Record<string, number>;
}

const HISTORY_MS = 10 * 60 * 1000;
const history = new Map<string, Sample[]>();

export function historyOf(kind: MetricsKind, id: string): Sample[] {
  return history.get(`${kind}/${id}`) ?? [];
}

export async function sample(kind: MetricsKind, id: string): Promise<Metrics> {
  const m = await api.get<Metrics>(`/${kind}/${seg(id)}/metrics`);
  record(kind, id, m.metrics);
  return m;
}

export function record(
  kind: MetricsKind,
  id: string,
  metrics: Record<string, number>,
  t = Date.now(),
) {
  const key = `${kind}/${id}`;
  const list = history.get(key) ?? [];
  list.push({ t, metrics });
  while (list.length > 0 && (list[0]?.t ?? t) < t - HISTORY_MS) list.shift();
  history.set(key, list);
}

export function forget(kind: MetricsKind, id: string): void {
  history.delete(`${kind}/${id}`);
}

/**
 * Per-second rate of a counter, each point over at least the last 5 s (workers report every few
 * seconds, so consecutive samples alone would jitter); 0 after a reset.
 */
export function rateSeries(samples: Sample[], counter: string): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const b = samples[i];
    if (!b) continue;
    let j = i - 1;
    while (j > 0 && b.t - (samples[j]?.t ?? 0) < 5000) j--;
    const a = samples[j];
    if (!a) continue;
    const dt = (b.t - a.t) / 1000;
    const dv = (b.metrics[counter] ?? 0) - (a.metrics[counter] ?? 0);
    out.push({ t: b.t, v: dt > 0 && dv > 0 ? dv / dt : 0 });
  }
  return out;
}

/** The counters charted per kind: [counter, label, colour]. */
export const CHARTED: Record<MetricsKind, [string, string, string][]> = {
  rules: [
    ["matched", "matched", "#2563eb"],
    ["passed", "passed", "#16a34a"],
    ["failed", "failed", "#dc2626"],
    ["actions.failed", "action failed", "#f59e0b"],
  ],
  actions: [
    ["matched", "matched", "#2563eb"],
    ["success", "success", "#16a34a"],
    ["failed", "failed", "#dc2626"],
    ["dropped", "dropped", "#f59e0b"],
  ],
  sources: [
    ["received", "received", "#2563eb"],
    ["success", "published", "#16a34a"],
    ["failed", "failed", "#dc2626"],
    ["dropped", "dropped", "#f59e0b"],
  ],
};

/** The API's current rate field per kind. */
export const RATE_FIELD: Record<MetricsKind, string> = {
  rules: "matched.rate",
  actions: "rate",
  sources: "rate",
};
