import { useState } from "preact/hooks";
import { api, listRules, seg, text, type Rule, type Worker } from "../api";
import { Sparkline } from "../components/Chart";
import {
  Empty,
  ErrorNote,
  fmtRate,
  Modal,
  PageHeader,
  StatusBadge,
  Toggle,
  usePoll,
  ago,
} from "../components/ui";
import { historyOf, RATE_FIELD, sample } from "../metrics";
import { href } from "../router";
import { flowState } from "../status";
import { notify } from "../toast";

async function load() {
  const [rules, workers] = await Promise.all([listRules(), api.get<Worker[]>("/workers")]);
  const rates = new Map<string, number>();
  await Promise.all(
    rules.map(async (r) => {
      try {
        const m = await sample("rules", r.id);
        rates.set(r.id, m.metrics[RATE_FIELD.rules] ?? 0);
      } catch {
        // deleted meanwhile
      }
    }),
  );
  return { rules, workers, rates };
}

export function actionLabel(a: Rule["actions"][number]): string {
  return typeof a === "string" ? a : `republish → ${text(a.args.topic)}`;
}

export function RuleList() {
  const { data, error, reload } = usePoll(load, 4000);
  const [filter, setFilter] = useState("");
  const [deleting, setDeleting] = useState<Rule | null>(null);
  const rules = (data?.rules ?? []).filter((r) =>
    `${r.id} ${r.name} ${r.sql} ${r.description}`.toLowerCase().includes(filter.toLowerCase()),
  );
  return (
    <div class="page">
      <PageHeader
        title="Rules"
        subtitle="SQL over MQTT messages and Kafka records, feeding actions."
      >
        <input
          class="search"
          type="search"
          placeholder="Filter by id, SQL, topic…"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
        />
        <a class="button primary" href={href("rules", "new")}>
          + Create rule
        </a>
      </PageHeader>
      <ErrorNote error={error} />
      <section class="card">
        {!data ? (
          <div class="loading">Loading…</div>
        ) : data.rules.length === 0 ? (
          <Empty>
            No rules yet. <a href={href("rules", "new")}>Write the first one</a>.
          </Empty>
        ) : (
          <table class="table" data-testid="rules-table">
            <thead>
              <tr>
                <th>Rule</th>
                <th>From</th>
                <th>Actions</th>
                <th>Status</th>
                <th class="num">Matched</th>
                <th />
                <th>Enabled</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => {
                const state = flowState(data.workers, `rule:${r.id}`, r.enable);
                return (
                  <tr key={r.id} data-row={r.id}>
                    <td>
                      <a class="strong" href={href("rules", r.id)}>
                        {r.name || r.id}
                      </a>
                      <div class="muted small mono">{r.id}</div>
                    </td>
                    <td>
                      {r.from.map((f) => (
                        <span key={f} class="chip mono">
                          {f}
                        </span>
                      ))}
                    </td>
                    <td class="small">
                      {r.actions.length === 0 ? (
                        <span class="muted">none</span>
                      ) : (
                        r.actions.map((a, i) => (
                          <div key={i} class="mono">
                            {typeof a === "string" ? (
                              <a href={href("actions", a)}>{a}</a>
                            ) : (
                              actionLabel(a)
                            )}
                          </div>
                        ))
                      )}
                    </td>
                    <td>
                      <StatusBadge status={state.status} />
                      {state.reason && <div class="muted small">{state.reason}</div>}
                    </td>
                    <td class="num">{fmtRate(data.rates.get(r.id))}</td>
                    <td>
                      <Sparkline
                        points={historyOf("rules", r.id).map((s) => ({
                          v: s.metrics[RATE_FIELD.rules] ?? 0,
                        }))}
                      />
                    </td>
                    <td>
                      <Toggle
                        label={`Enable ${r.id}`}
                        checked={r.enable}
                        onChange={(next) =>
                          void api.put(`/rules/${seg(r.id)}`, { enable: next }).then(
                            () => {
                              notify(`rule ${r.name || r.id} ${next ? "enabled" : "disabled"}`);
                              reload();
                            },
                            (err: unknown) => notify(String(err), "bad"),
                          )
                        }
                      />
                    </td>
                    <td class="row-actions">
                      <span class="muted small">{ago(r.updated_at)}</span>
                      <a href={href("rules", r.id)}>Edit</a>
                      <button
                        type="button"
                        class="link-button danger"
                        onClick={() => setDeleting(r)}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      {deleting && (
        <Modal
          title={`Delete rule ${deleting.name || deleting.id}?`}
          onClose={() => setDeleting(null)}
        >
          <p>
            Nothing depends on a rule. Its actions ({deleting.actions.length}) stay; this cannot be
            undone.
          </p>
          <div class="modal-actions">
            <button type="button" onClick={() => setDeleting(null)}>
              Cancel
            </button>
            <button
              type="button"
              class="danger"
              onClick={() =>
                void api.del(`/rules/${seg(deleting.id)}`).then(
                  () => {
                    notify(`rule ${deleting.name || deleting.id} deleted`);
                    setDeleting(null);
                    reload();
                  },
                  (err: unknown) => notify(String(err), "bad"),
                )
              }
            >
              Delete
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}
