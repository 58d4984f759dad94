// uPlot behind a small interface: one time axis, one line per counter rate, drawn at the
// element's width and redrawn when it changes. Loaded on demand by Chart.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Series } from "./Chart";

export interface RateChart {
  update(series: Series[], windowMs: number): void;
  destroy(): void;
}

export function createRateChart(
  el: HTMLElement,
  series: Series[],
  height: number,
  fmt: (v: number) => string,
): RateChart {
  const width = () => Math.max(200, el.clientWidth);
  const plot = new uPlot(
    {
      width: width(),
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [
        { stroke: "#6b7280", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#eef0f3" } },
        {
          stroke: "#6b7280",
          grid: { stroke: "#eef0f3" },
          ticks: { stroke: "#eef0f3" },
          size: 56,
          values: (_u, values) => values.map((v) => fmt(v)),
        },
      ],
      series: [
        { label: "time" },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? "–" : fmt(v)),
        })),
      ],
    },
    [[], ...series.map(() => [])],
    el,
  );
  const observer = new ResizeObserver(() => plot.setSize({ width: width(), height }));
  observer.observe(el);
  return {
    update(next, windowMs) {
      // The series come from the same samples; a timestamp missing from one is a gap in it.
      const times = [...new Set(next.flatMap((s) => s.points.map((p) => p.t)))].sort(
        (a, b) => a - b,
      );
      const data: uPlot.AlignedData = [
        times.map((t) => t / 1000),
        ...next.map((s) => {
          const byTime = new Map(s.points.map((p) => [p.t, p.v]));
          return times.map((t) => byTime.get(t) ?? null);
        }),
      ];
      plot.setData(data);
      // The whole window once there is that much history; until then, what there is (at least a
      // minute), so a page opened a moment ago shows its points rather than a sliver at the edge.
      const now = Date.now() / 1000;
      const first = (times[0] ?? Date.now()) / 1000;
      const min = Math.min(now - 60, Math.max(now - windowMs / 1000, first));
      plot.setScale("x", { min, max: now });
    },
    destroy() {
      observer.disconnect();
      plot.destroy();
    },
  };
}
