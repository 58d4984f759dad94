// Live rate charts drawn by uPlot (loaded on demand, with its stylesheet, by rateChart.ts), and
// the tables' sparklines (a few SVG points, not worth a library).

import { useEffect, useRef, useState } from "preact/hooks";
import { fmtRate } from "./ui";
import type { RateChart } from "./rateChart";

export interface Series {
  label: string;
  color: string;
  points: { t: number; v: number }[];
}

export function Chart({
  series,
  height = 160,
  windowMs = 5 * 60 * 1000,
}: {
  series: Series[];
  height?: number;
  windowMs?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<RateChart | null>(null);
  const [ready, setReady] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);
  const labels = series.map((s) => s.label).join("|");

  useEffect(() => {
    let cancelled = false;
    import("./rateChart").then(
      ({ createRateChart }) => {
        const el = box.current;
        if (cancelled || !el) return;
        chart.current = createRateChart(el, series, height, fmtRate);
        setReady(true);
      },
      (err: unknown) => setFailed(String(err)),
    );
    return () => {
      cancelled = true;
      chart.current?.destroy();
      chart.current = null;
    };
  }, [labels, height]);

  useEffect(() => chart.current?.update(series, windowMs), [series, windowMs, ready]);

  const points = Math.max(0, ...series.map((s) => s.points.length));
  return (
    <div
      class="chart"
      role="img"
      aria-label={`Rates, up to the last ${Math.round(windowMs / 60000)} minutes: ${series
        .map((s) => `${s.label} ${fmtRate(s.points.at(-1)?.v ?? 0)}`)
        .join(", ")}`}
      data-points={points}
      data-ready={ready ? "" : undefined}
    >
      <div ref={box} />
      {failed && <div class="alert alert-bad">The chart did not load ({failed}).</div>}
    </div>
  );
}

export function Sparkline({
  points,
  color = "#2563eb",
}: {
  points: { v: number }[];
  color?: string;
}) {
  const w = 120;
  const h = 28;
  const max = Math.max(1e-9, ...points.map((p) => p.v));
  const d = points
    .slice(-40)
    .map((p, i, all) => {
      const px = all.length <= 1 ? w : (i / (all.length - 1)) * w;
      const py = h - 2 - (p.v / max) * (h - 4);
      return `${i === 0 ? "M" : "L"}${px.toFixed(1)},${py.toFixed(1)}`;
    })
    .join(" ");
  return (
    <svg class="sparkline" viewBox={`0 0 ${w} ${h}`} width={w} height={h} aria-hidden="true">
      {d && <path d={d} fill="none" stroke={color} stroke-width="1.5" />}
    </svg>
  );
}
