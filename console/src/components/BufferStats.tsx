import { fmtBytes, fmtCount } from "./ui";

/**
 * The buffer of a Kafka producer action: what waits (records and bytes), and for `disk` and
 * `hybrid` buffers what lies on disk, what only in memory, what a start found or lost, and
 * whether intake is paused (a full disk holds messages back at the MQTT broker).
 */
export function BufferStats({ metrics: m }: { metrics: Record<string, number> }) {
  const disk = m["buffer.disk_bytes"] !== undefined;
  const paused = (m["buffer.disk_full"] ?? 0) > 0;
  const hybrid = m["buffer.memory_records"] !== undefined;
  const lost = m["buffer.lost_in_memory"] ?? 0;
  const corrupt = m["buffer.corrupt_tails"] ?? 0;
  return (
    <section class="card" data-testid="buffer" aria-label="Buffer">
      <div class="card-head">
        <h2>{disk ? (hybrid ? "Hybrid buffer" : "Disk buffer") : "Buffer"}</h2>
        {disk && (
          <span
            class={`badge badge-${paused ? "bad" : "ok"}`}
            data-testid="intake"
            data-status={paused ? "paused" : "accepting"}
          >
            <span class="dot" />
            {paused ? "intake paused: buffer full" : "accepting"}
          </span>
        )}
      </div>
      <table class="table compact">
        <tbody>
          <Row label="Queuing" value={fmtCount(m.queuing)} sub="records waiting for Kafka" />
          <Row label="Queuing bytes" value={fmtBytes(m.queuing_bytes)} sub="not yet sent" />
          {disk && (
            <Row label="On disk" value={fmtBytes(m["buffer.disk_bytes"])} sub="segment files" />
          )}
          {hybrid && (
            <Row
              label="In memory only"
              value={`${fmtCount(m["buffer.memory_records"])} · ${fmtBytes(m["buffer.memory_bytes"])}`}
              sub="lost if the worker dies"
            />
          )}
          {disk && (
            <Row
              label="Recovered"
              value={fmtCount(m["buffer.recovered"] ?? 0)}
              sub="found on disk at start"
            />
          )}
          {disk && (
            <Row
              label="Lost from memory"
              value={fmtCount(lost)}
              sub="hybrid: in memory when a worker died"
              bad={lost > 0}
            />
          )}
          {disk && (
            <Row
              label="Corrupt tails"
              value={`${fmtCount(corrupt)} · ${fmtBytes(m["buffer.corrupt_bytes"] ?? 0)}`}
              sub="skipped after a crash"
              bad={corrupt > 0}
            />
          )}
        </tbody>
      </table>
    </section>
  );
}

function Row({
  label,
  value,
  sub,
  bad = false,
}: {
  label: string;
  value: string;
  sub: string;
  bad?: boolean;
}) {
  return (
    <tr data-buffer={label}>
      <td>
        {label} <span class="muted small">{sub}</span>
      </td>
      <td class={`num ${bad ? "bad-num" : ""}`}>{value}</td>
    </tr>
  );
}
