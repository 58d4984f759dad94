// A small SVG line chart of rates over time; no charting library.

import { useEffect, useRef, useState } from "preact/hooks";
import { fmtRate } from "./ui";

export interface Series {
  label: string;
  color: string;
  points: { t: number; v: number }[];
}

export function Chart({
  series,
  height = 160,
  windowMs = 5 * 60 * 1000,
  now = Date.now(),
}: {
  series: Series[];
  height?: number;
  windowMs?: number;
  now?: number;
}) {
  // Drawn at the element's own width, so text is never stretched.
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setWidth(Math.max(200, el.clientWidth)));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const padL = 48;
  const padB = 18;
  const padT = 8;
  const max = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.v)));
  const niceMax = nice(max);
  const x = (t: number) => padL + ((t - (now - windowMs)) / windowMs) * (width - padL - 4);
  const y = (v: number) => padT + (1 - v / niceMax) * (height - padT - padB);
  const ticks = [0, niceMax / 2, niceMax];
  return (
    <div class="chart" ref={box}>
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img">
        {ticks.map((v) => (
          <g key={v}>
            <line x1={padL} x2={width} y1={y(v)} y2={y(v)} class="grid" />
            <text x={padL - 6} y={y(v) + 4} class="axis" text-anchor="end">
              {fmtRate(v)}
            </text>
          </g>
        ))}
        {[5, 4, 3, 2, 1, 0].map((m) => (
          <text
            key={m}
            x={x(now - m * 60000)}
            y={height - 4}
            class="axis"
            text-anchor={m === 0 ? "end" : "middle"}
          >
            {m === 0 ? "now" : `-${m}m`}
          </text>
        ))}
        {series.map((s) => {
          const pts = s.points.filter((p) => p.t >= now - windowMs);
          if (pts.length === 0) return null;
          const d = pts
            .map((p, i) => `${i === 0 ? "M" : "L"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`)
            .join(" ");
          return (
            <path
              key={s.label}
              d={d}
              fill="none"
              stroke={s.color}
              stroke-width="2"
              vector-effect="non-scaling-stroke"
            />
          );
        })}
      </svg>
      <div class="legend">
        {series.map((s) => (
          <span key={s.label}>
            <i style={{ background: s.color }} />
            {s.label} <b>{fmtRate(s.points.at(-1)?.v ?? 0)}</b>
          </span>
        ))}
      </div>
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

function nice(v: number): number {
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  const f = v / exp;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * exp;
}
