// Flow status as the live workers report it, aggregated over them.

import type { Worker } from "./api";

export interface FlowState {
  status: string;
  reason: string;
}

export function flowState(workers: Worker[], flowId: string, enable: boolean): FlowState {
  if (!enable) return { status: "disabled", reason: "" };
  const live = workers.filter((w) => w.status === "up");
  if (live.length === 0) return { status: "stopped", reason: "no live worker" };
  const reports = live.flatMap((w) =>
    w.flows.filter((f) => f.flow_id === flowId).map((f) => ({ worker: w.name, ...f })),
  );
  if (reports.length === 0) return { status: "starting", reason: "not yet reported by a worker" };
  const failed = reports.find((r) => r.status === "failed");
  if (failed) return { status: "failed", reason: `${failed.worker}: ${failed.reason ?? ""}` };
  if (reports.every((r) => r.status === "running")) return { status: "running", reason: "" };
  const other = reports.find((r) => r.status !== "running");
  return { status: other?.status ?? "starting", reason: other?.reason ?? "" };
}

/** Status changes of connectors seen while the console is open (a plus over a snapshot). */
export interface StatusChange {
  t: number;
  status: string;
  reason: string;
}
const changes = new Map<string, StatusChange[]>();

export function noteStatus(id: string, status: string, reason: string, t = Date.now()): void {
  const list = changes.get(id) ?? [];
  const last = list.at(-1);
  if (!last || last.status !== status || last.reason !== reason) {
    list.push({ t, status, reason });
    if (list.length > 50) list.shift();
    changes.set(id, list);
  }
}

export function statusHistory(id: string): StatusChange[] {
  return changes.get(id) ?? [];
}
