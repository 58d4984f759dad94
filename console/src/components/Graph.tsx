// The topology of /flows as a layered graph laid out by dagre: data flows left to right (MQTT
// topic filters → rules → actions → Kafka topics; Kafka topics → sources → MQTT topics), connectors
// in a lane underneath with dashed "uses" edges. Nodes are coloured by status; clicking one opens
// it.

import {
  graphlib,
  layout as dagreLayout,
  type EdgeLabel,
  type GraphLabel,
  type NodeLabel,
} from "@dagrejs/dagre";
import type { Topology, TopologyNode } from "../api";
import type { Tone } from "./ui";

const W = 184;
const H = 40;
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
  /** Top left corner. */
  x: number;
  y: number;
}

export interface Laid {
  placed: Map<string, Placed>;
  /** The route of each data edge, `from>to`, through dagre's bend points. */
  routes: Map<string, { x: number; y: number }[]>;
  width: number;
  height: number;
}

export function layout(topology: Topology): Laid {
  const g = new graphlib.Graph<GraphLabel, NodeLabel, EdgeLabel>({ multigraph: false });
  g.setGraph({ rankdir: "LR", nodesep: 16, ranksep: 64, marginx: PAD, marginy: PAD });
  g.setDefaultEdgeLabel(() => ({}));
  const flowNodes = topology.nodes
    .filter((n) => n.kind !== "connector")
    // Sorted, so the same topology is always drawn the same way.
    .sort((a, b) => a.id.localeCompare(b.id));
  const connectors = topology.nodes.filter((n) => n.kind === "connector");
  for (const n of flowNodes) g.setNode(n.id, { width: W, height: H });
  const data = topology.edges.filter(
    (e) => e.kind === "data" && g.hasNode(e.from) && g.hasNode(e.to),
  );
  for (const e of data) g.setEdge(e.from, e.to, {});
  dagreLayout(g);

  const placed = new Map<string, Placed>();
  for (const n of flowNodes) {
    const at = g.node(n.id);
    placed.set(n.id, { node: n, x: (at.x ?? 0) - W / 2, y: (at.y ?? 0) - H / 2 });
  }
  const routes = new Map<string, { x: number; y: number }[]>();
  for (const e of data) routes.set(`${e.from}>${e.to}`, g.edge(e.from, e.to).points ?? []);

  // Connectors: one lane below, each under the nodes that use it.
  const bottom = Math.max(PAD, ...[...placed.values()].map((p) => p.y + H));
  const laneY = bottom + 40;
  const uses = topology.edges.filter((e) => e.kind === "uses");
  const wanted = connectors.map((c) => {
    const users = uses.filter((e) => e.to === c.id).map((e) => placed.get(e.from)?.x ?? PAD);
    return { c, x: users.length ? users.reduce((a, b) => a + b, 0) / users.length : PAD };
  });
  wanted.sort((a, b) => a.x - b.x || a.c.id.localeCompare(b.c.id));
  let nextFree = PAD;
  for (const { c, x } of wanted) {
    const px = Math.max(x, nextFree);
    placed.set(c.id, { node: c, x: px, y: laneY });
    nextFree = px + W + 16;
  }
  const width = Math.max(...[...placed.values()].map((p) => p.x + W), 300) + PAD;
  const height = (connectors.length ? laneY + H : bottom) + PAD;
  return { placed, routes, width, height };
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
  const { placed, routes, width, height } = layout(topology);
  const near = new Set<string>();
  if (selected) {
    near.add(selected);
    for (const e of topology.edges) {
      if (e.from === selected) near.add(e.to);
      if (e.to === selected) near.add(e.from);
    }
  }
  return (
    // Focusable, so a keyboard can scroll a topology wider than the page.
    <div class="graph-wrap" tabIndex={0} role="region" aria-label="Topology graph">
      <svg
        class="graph"
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="group"
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
          const route = routes.get(`${e.from}>${e.to}`) ?? [];
          return (
            <path
              key={`${e.from}>${e.to}`}
              d={smooth(route)}
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

/** A path through dagre's points: straight ends, quadratic curves through the bends. */
function smooth(points: { x: number; y: number }[]): string {
  const [first, ...rest] = points;
  if (!first) return "";
  let d = `M${first.x.toFixed(1)},${first.y.toFixed(1)}`;
  for (let i = 0; i < rest.length; i++) {
    const p = rest[i];
    const next = rest[i + 1];
    if (!p) continue;
    if (next && i < rest.length - 1) {
      const mx = (p.x + next.x) / 2;
      const my = (p.y + next.y) / 2;
      d += ` Q${p.x.toFixed(1)},${p.y.toFixed(1)} ${mx.toFixed(1)},${my.toFixed(1)}`;
    } else d += ` L${p.x.toFixed(1)},${p.y.toFixed(1)}`;
  }
  return d;
}
