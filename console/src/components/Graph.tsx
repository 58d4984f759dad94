// The topology of /flows as a layered graph: data flows left to right (MQTT topic filters →
// rules → actions → Kafka topics; Kafka topics → sources → MQTT topics), connectors in a lane
// underneath with dashed "uses" edges. Nodes are coloured by status; clicking one opens it.

import type { Topology, TopologyNode } from "../api";
import type { Tone } from "./ui";

const W = 184;
const H = 40;
const COL = 250;
const ROW = 56;
const PAD = 16;

const KIND_LABEL: Record<string, string> = {
  mqtt_topic_filter: "MQTT topic filter",
  mqtt_topic: "MQTT topic",
  kafka_topic: "Kafka topic",
  rule: "rule",
  action: "action · Kafka sink",
  republish: "republish",
  source: "source · Kafka",
  connector: "connector",
};

export interface Placed {
  node: TopologyNode;
  x: number;
  y: number;
}

export function layout(topology: Topology): {
  placed: Map<string, Placed>;
  width: number;
  height: number;
} {
  const data = topology.edges.filter((e) => e.kind === "data");
  const flowNodes = topology.nodes.filter((n) => n.kind !== "connector");
  const connectors = topology.nodes.filter((n) => n.kind === "connector");
  const incoming = new Map<string, string[]>();
  for (const e of data) incoming.set(e.to, [...(incoming.get(e.to) ?? []), e.from]);
  const layer = new Map<string, number>();
  const depth = (id: string, seen: Set<string>): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    seen.add(id);
    const preds = incoming.get(id) ?? [];
    const d = preds.length === 0 ? 0 : 1 + Math.max(...preds.map((p) => depth(p, seen)));
    layer.set(id, d);
    return d;
  };
  flowNodes.forEach((n) => depth(n.id, new Set()));
  const columns: TopologyNode[][] = [];
  for (const n of flowNodes) {
    const l = layer.get(n.id) ?? 0;
    (columns[l] ??= []).push(n);
  }
  columns.forEach((c) => c.sort((a, b) => a.label.localeCompare(b.label)));
  // Two barycenter sweeps keep edges short and uncrossed for the usual shapes.
  const pos = new Map<string, number>();
  const index = () => columns.forEach((c) => c.forEach((n, i) => pos.set(n.id, i)));
  index();
  for (let sweep = 0; sweep < 2; sweep++) {
    for (let l = 1; l < columns.length; l++) {
      const col = columns[l] ?? [];
      const bary = (n: TopologyNode) => {
        const preds = incoming.get(n.id) ?? [];
        return preds.length === 0
          ? (pos.get(n.id) ?? 0)
          : preds.reduce((s, p) => s + (pos.get(p) ?? 0), 0) / preds.length;
      };
      col.sort((a, b) => bary(a) - bary(b));
      index();
    }
  }
  const placed = new Map<string, Placed>();
  const rows = Math.max(1, ...columns.map((c) => c.length));
  columns.forEach((col, l) => {
    const offset = ((rows - col.length) * ROW) / 2;
    col.forEach((n, i) =>
      placed.set(n.id, { node: n, x: PAD + l * COL, y: PAD + offset + i * ROW }),
    );
  });
  // Connectors: one lane below, each under the nodes that use it.
  const laneY = PAD + rows * ROW + 30;
  const uses = topology.edges.filter((e) => e.kind === "uses");
  const wanted = connectors.map((c) => {
    const users = uses.filter((e) => e.to === c.id).map((e) => placed.get(e.from)?.x ?? PAD);
    return { c, x: users.length ? users.reduce((a, b) => a + b, 0) / users.length : PAD };
  });
  wanted.sort((a, b) => a.x - b.x);
  let nextFree = PAD;
  for (const { c, x } of wanted) {
    const px = Math.max(x, nextFree);
    placed.set(c.id, { node: c, x: px, y: laneY });
    nextFree = px + W + 16;
  }
  const width = Math.max(...[...placed.values()].map((p) => p.x + W), 300) + PAD;
  const height = (connectors.length ? laneY + H : PAD + rows * ROW) + PAD;
  return { placed, width, height };
}

export function Graph({
  topology,
  tones,
  selected,
  onSelect,
}: {
  topology: Topology;
  tones: Map<string, Tone>;
  selected: string | null;
  onSelect: (node: TopologyNode) => void;
}) {
  const { placed, width, height } = layout(topology);
  const near = new Set<string>();
  if (selected) {
    near.add(selected);
    for (const e of topology.edges) {
      if (e.from === selected) near.add(e.to);
      if (e.to === selected) near.add(e.from);
    }
  }
  return (
    <div class="graph-wrap">
      <svg
        class="graph"
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label="Topology"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" class="arrow" />
          </marker>
        </defs>
        {topology.edges.map((e) => {
          const a = placed.get(e.from);
          const b = placed.get(e.to);
          if (!a || !b) return null;
          const dim = selected !== null && !(near.has(e.from) && near.has(e.to));
          if (e.kind === "uses") {
            const x1 = a.x + W / 2;
            const y1 = a.y + H;
            const x2 = b.x + W / 2;
            const y2 = b.y;
            return (
              <path
                key={`${e.from}>${e.to}`}
                d={`M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}`}
                class={`edge uses ${dim ? "dim" : ""}`}
              />
            );
          }
          const x1 = a.x + W;
          const y1 = a.y + H / 2;
          const x2 = b.x;
          const y2 = b.y + H / 2;
          const mx = (x1 + x2) / 2;
          return (
            <path
              key={`${e.from}>${e.to}`}
              d={`M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 2},${y2}`}
              class={`edge data ${dim ? "dim" : ""}`}
              marker-end="url(#arrow)"
            />
          );
        })}
        {[...placed.values()].map(({ node, x, y }) => {
          const tone = tones.get(node.id) ?? (node.enable ? "neutral" : "off");
          const dim = selected !== null && !near.has(node.id);
          return (
            <g
              key={node.id}
              class={`node kind-${node.kind} tone-${tone} ${selected === node.id ? "selected" : ""} ${dim ? "dim" : ""}`}
              transform={`translate(${x},${y})`}
              data-node-id={node.id}
              data-tone={tone}
              tabIndex={0}
              role="button"
              aria-label={`${KIND_LABEL[node.kind] ?? node.kind} ${node.label}`}
              onClick={() => onSelect(node)}
              onKeyDown={(e) => e.key === "Enter" && onSelect(node)}
            >
              <title>
                {`${KIND_LABEL[node.kind] ?? node.kind}: ${node.label}${
                  node.problems?.length ? `\n${node.problems.join("\n")}` : ""
                }`}
              </title>
              <rect width={W} height={H} rx={8} />
              <rect class="stripe" width={5} height={H} rx={2} />
              <text x={14} y={15} class="kind">
                {KIND_LABEL[node.kind] ?? node.kind}
                {node.problems?.length ? " ⚠" : ""}
              </text>
              <text x={14} y={31} class="label">
                {truncate(node.label, 24)}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
