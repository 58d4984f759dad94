// Connectors, actions (Kafka sinks) and sources: lists, and the create/edit form with
// "Test connection", enable/disable and delete naming the dependents first.

import { useMemo, useState } from "preact/hooks";
import {
  ApiError,
  api,
  listRules,
  seg,
  text,
  type Bridge,
  type Connector,
  type Rule,
} from "../api";
import { Form } from "../components/Form";
import {
  ago,
  Empty,
  ErrorNote,
  Modal,
  PageHeader,
  StatusBadge,
  Toggle,
  usePoll,
} from "../components/ui";
import { MetricsPanel } from "./Metrics";
import { href, navigate } from "../router";
import {
  actionSections,
  connectorSections,
  defaults,
  sourceSections,
  toBody,
  type Section,
} from "../schema";
import { noteStatus, statusHistory } from "../status";
import { notify } from "../toast";

export type KindName = "connectors" | "actions" | "sources";
type Item = Connector | Bridge;

interface KindConfig {
  title: string;
  singular: string;
  blurb: string;
  sections: (value: Record<string, unknown>) => Section[];
  probe: string;
  newValue: () => Record<string, unknown>;
}

export const KINDS: Record<KindName, KindConfig> = {
  connectors: {
    title: "Connectors",
    singular: "connector",
    blurb: "Connections to Kafka clusters and MQTT brokers that actions, sources and rules use.",
    sections: (v) => connectorSections(text(v.type) || "kafka_producer"),
    probe: "/connectors_probe",
    newValue: () => defaults(connectorSections("kafka_producer")),
  },
  actions: {
    title: "Actions",
    singular: "action",
    blurb: "Kafka sinks: where rules write their output rows.",
    sections: () => actionSections,
    probe: "/actions_probe",
    newValue: () => ({ type: "kafka_producer", ...defaults(actionSections) }),
  },
  sources: {
    title: "Sources",
    singular: "source",
    blurb: "Kafka consumers: records mapped to MQTT topics, or read by rules as $bridges/…",
    sections: () => sourceSections,
    probe: "/sources_probe",
    newValue: () => ({ type: "kafka_consumer", ...defaults(sourceSections) }),
  },
};

const idOf = (item: Item) => `${item.type}:${item.name}`;

interface Everything {
  connectors: Connector[];
  actions: Bridge[];
  sources: Bridge[];
  rules: Rule[];
}

async function loadEverything(): Promise<Everything> {
  const [connectors, actions, sources, rules] = await Promise.all([
    api.get<Connector[]>("/connectors"),
    api.get<Bridge[]>("/actions"),
    api.get<Bridge[]>("/sources"),
    listRules(),
  ]);
  for (const c of connectors)
    noteStatus(idOf(c), c.enable ? (c.status ?? "") : "disabled", c.status_reason ?? "");
  return { connectors, actions, sources, rules };
}

export interface Dependent {
  label: string;
  link: string;
}

/** What uses this resource, as the API counts it before a delete. */
export function dependentsOf(kind: KindName, item: Item, all: Everything): Dependent[] {
  const id = idOf(item);
  if (kind === "actions")
    return all.rules
      .filter((r) => r.actions.some((a) => a === id))
      .map((r) => ({ label: `rule ${r.name || r.id}`, link: href("rules", r.id) }));
  if (kind === "sources")
    return all.rules
      .filter((r) => r.from.includes(`$bridges/${id}`))
      .map((r) => ({ label: `rule ${r.name || r.id}`, link: href("rules", r.id) }));
  const c = item as Connector;
  if (c.type === "kafka_producer")
    return all.actions
      .filter((a) => a.connector === c.name)
      .map((a) => ({ label: `action ${a.name}`, link: href("actions", idOf(a)) }));
  if (c.type === "kafka_consumer")
    return all.sources
      .filter((s) => s.connector === c.name)
      .map((s) => ({ label: `source ${s.name}`, link: href("sources", idOf(s)) }));
  return [
    ...all.rules
      .filter((r) => r.mqtt_connector === c.name)
      .map((r) => ({ label: `rule ${r.name || r.id}`, link: href("rules", r.id) })),
    ...all.sources
      .filter((s) => (s.parameters.mqtt_connector ?? "default") === c.name)
      .map((s) => ({ label: `source ${s.name}`, link: href("sources", idOf(s)) })),
  ];
}

export function ResourceList({ kind }: { kind: KindName }) {
  const config = KINDS[kind];
  const { data, error, reload } = usePoll(loadEverything, 5000, [kind]);
  const [filter, setFilter] = useState("");
  const [deleting, setDeleting] = useState<Item | null>(null);
  const items: Item[] = data ? data[kind] : [];
  const shown = items.filter((i) =>
    `${i.name} ${i.type} ${i.description}`.toLowerCase().includes(filter.toLowerCase()),
  );
  return (
    <div class="page">
      <PageHeader title={config.title} subtitle={config.blurb}>
        <input
          class="search"
          type="search"
          placeholder="Filter…"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
        />
        <a class="button primary" href={href(kind, "new")}>
          + Create {config.singular}
        </a>
      </PageHeader>
      <ErrorNote error={error} />
      <section class="card">
        {!data ? (
          <div class="loading">Loading…</div>
        ) : items.length === 0 ? (
          <Empty>
            No {config.title.toLowerCase()} yet.{" "}
            <a href={href(kind, "new")}>Create the first {config.singular}</a>.
          </Empty>
        ) : (
          <table class="table" data-testid={`${kind}-table`}>
            <thead>
              <tr>
                <th>Name</th>
                <th>Type</th>
                {kind !== "connectors" && <th>Connector</th>}
                {kind !== "connectors" && <th>Kafka topic</th>}
                <th>Status</th>
                <th>Enabled</th>
                <th>Updated</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {shown.map((item) => {
                const id = idOf(item);
                const bridge = item as Bridge;
                return (
                  <tr key={id} data-row={id}>
                    <td>
                      <a href={href(kind, id)} class="strong">
                        {item.name}
                      </a>
                      {item.description && <div class="muted small">{item.description}</div>}
                    </td>
                    <td>
                      <span class="tag">{item.type}</span>
                    </td>
                    {kind !== "connectors" && (
                      <td>
                        <a href={href("connectors", `${item.type}:${bridge.connector}`)}>
                          {bridge.connector}
                        </a>
                      </td>
                    )}
                    {kind !== "connectors" && (
                      <td class="mono small">{text(bridge.parameters.topic) || "—"}</td>
                    )}
                    <td>
                      <StatusBadge status={item.status} enable={item.enable} />
                      {item.enable && item.status !== "connected" && item.status_reason && (
                        <div class="muted small reason">{item.status_reason}</div>
                      )}
                    </td>
                    <td>
                      <Toggle
                        label={`Enable ${item.name}`}
                        checked={item.enable}
                        onChange={(next) => {
                          api.put(`/${kind}/${seg(id)}/enable/${String(next)}`).then(
                            () => {
                              notify(
                                `${config.singular} ${item.name} ${next ? "enabled" : "disabled"}`,
                              );
                              reload();
                            },
                            (err: unknown) => notify(String(err), "bad"),
                          );
                        }}
                      />
                    </td>
                    <td class="muted small">{ago(item.updated_at)}</td>
                    <td class="row-actions">
                      <a href={href(kind, id)}>Edit</a>
                      <button
                        type="button"
                        class="link-button danger"
                        onClick={() => setDeleting(item)}
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
      {deleting && data && (
        <DeleteDialog
          kind={kind}
          item={deleting}
          dependents={dependentsOf(kind, deleting, data)}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            setDeleting(null);
            reload();
          }}
        />
      )}
    </div>
  );
}

function DeleteDialog({
  kind,
  item,
  dependents,
  onClose,
  onDeleted,
}: {
  kind: KindName;
  item: Item;
  dependents: Dependent[];
  onClose: () => void;
  onDeleted: () => void;
}) {
  const config = KINDS[kind];
  const [error, setError] = useState<unknown>(null);
  const cascade = kind === "actions" && dependents.length > 0;
  const blocked = kind !== "actions" && dependents.length > 0;
  return (
    <Modal title={`Delete ${config.singular} ${item.name}?`} onClose={onClose}>
      {dependents.length > 0 ? (
        <>
          <p>
            {cascade
              ? "These rules use it; deleting also removes it from their actions:"
              : "These still use it; the API refuses the delete until they are changed or deleted:"}
          </p>
          <ul class="dependents" data-testid="dependents">
            {dependents.map((d) => (
              <li key={d.link}>
                <a href={d.link} onClick={onClose}>
                  {d.label}
                </a>
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p>Nothing uses it. This cannot be undone.</p>
      )}
      <ErrorNote error={error} />
      <div class="modal-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          class="danger"
          disabled={blocked}
          onClick={() => {
            const query = cascade ? "?also_delete_dep_actions=true" : "";
            api.del(`/${kind}/${seg(idOf(item))}${query}`).then(() => {
              notify(`${config.singular} ${item.name} deleted`);
              onDeleted();
            }, setError);
          }}
        >
          {cascade ? `Delete and remove from ${dependents.length} rule(s)` : "Delete"}
        </button>
      </div>
    </Modal>
  );
}

export function ResourceDetail({ kind, id }: { kind: KindName; id: string | null }) {
  const config = KINDS[kind];
  const creating = id === null;
  const [tab, setTab] = useState<"settings" | "metrics" | "status">("settings");
  const everything = usePoll(loadEverything, 0, [kind, id]);
  const existing = usePoll(
    () => (id ? api.get<Item>(`/${kind}/${seg(id)}`) : Promise.resolve(null)),
    0,
    [kind, id],
  );
  const [value, setValue] = useState<Record<string, unknown> | null>(null);
  const [fieldError, setFieldError] = useState<{ field: string; reason: string } | null>(null);
  const [message, setMessage] = useState<{ tone: "ok" | "bad"; text: string } | null>(null);
  const [busy, setBusy] = useState<"" | "probe" | "save">("");
  const current =
    value ?? (creating ? config.newValue() : (existing.data as Record<string, unknown> | null));
  const sections = useMemo(() => (current ? config.sections(current) : []), [current, config]);

  if (!creating && existing.error)
    return (
      <div class="page">
        <PageHeader title={id} />
        <ErrorNote error={existing.error} />
        <a href={href(kind)}>← Back to {config.title.toLowerCase()}</a>
      </div>
    );
  if (!current) return <div class="loading">Loading…</div>;

  const type = text(current.type);
  const connectorType = type;
  const options: Record<string, string[]> = {
    connectors: (everything.data?.connectors ?? [])
      .filter((c) => c.type === connectorType)
      .map((c) => c.name),
    mqtt_connectors: (everything.data?.connectors ?? [])
      .filter((c) => c.type === "mqtt")
      .map((c) => c.name),
  };

  const showError = (err: unknown) => {
    if (err instanceof ApiError && err.field) {
      setFieldError({ field: err.field, reason: err.body.reason ?? err.message });
      setMessage({
        tone: "bad",
        text: `Check the field ${err.field}: ${err.body.reason ?? err.message}`,
      });
    } else {
      setFieldError(null);
      setMessage({ tone: "bad", text: err instanceof Error ? err.message : String(err) });
    }
  };

  const body = () => toBody(current, sections);
  const probe = () => {
    setBusy("probe");
    setMessage(null);
    setFieldError(null);
    api.post(config.probe, body()).then(
      () => {
        setBusy("");
        setMessage({ tone: "ok", text: "Connection test passed." });
      },
      (err: unknown) => {
        setBusy("");
        showError(err);
      },
    );
  };
  const save = () => {
    setBusy("save");
    setMessage(null);
    setFieldError(null);
    const request = creating
      ? api.post<Item>(`/${kind}`, body())
      : api.put<Item>(`/${kind}/${seg(id)}`, body());
    request.then(
      (saved) => {
        setBusy("");
        notify(`${config.singular} ${saved.name} ${creating ? "created" : "saved"}`);
        if (creating) navigate(href(kind));
        else {
          setValue(saved as Record<string, unknown>);
          setMessage({ tone: "ok", text: "Saved." });
        }
      },
      (err: unknown) => {
        setBusy("");
        showError(err);
      },
    );
  };

  const item = existing.data;
  const title = creating ? `New ${config.singular}` : (item?.name ?? id);
  return (
    <div class="page">
      <div class="breadcrumbs">
        <a href={href(kind)}>{config.title}</a> / {creating ? "new" : id}
      </div>
      <PageHeader
        title={title}
        subtitle={
          item ? (
            <>
              <span class="tag">{item.type}</span>{" "}
              <StatusBadge status={item.status} enable={item.enable} />{" "}
              {item.status_reason && item.status !== "connected" && (
                <span class="muted">{item.status_reason}</span>
              )}
            </>
          ) : (
            config.blurb
          )
        }
      />
      {!creating && (
        <div class="tabs" role="tablist">
          <button
            type="button"
            role="tab"
            aria-selected={tab === "settings"}
            onClick={() => setTab("settings")}
          >
            Settings
          </button>
          {kind !== "connectors" && (
            <button
              type="button"
              role="tab"
              aria-selected={tab === "metrics"}
              onClick={() => setTab("metrics")}
            >
              Metrics
            </button>
          )}
          <button
            type="button"
            role="tab"
            aria-selected={tab === "status"}
            onClick={() => setTab("status")}
          >
            Status per worker
          </button>
        </div>
      )}
      {tab === "metrics" && id && kind !== "connectors" ? (
        <MetricsPanel kind={kind} id={id} />
      ) : tab === "status" && item ? (
        <StatusPanel item={item} />
      ) : (
        <form
          class="card form-card"
          onSubmit={(e) => {
            e.preventDefault();
            save();
          }}
        >
          {message && (
            <div
              class={`alert alert-${message.tone}`}
              role={message.tone === "bad" ? "alert" : "status"}
            >
              {message.text}
            </div>
          )}
          {kind !== "connectors" && options.connectors?.length === 0 && (
            <div class="alert alert-warn">
              There is no {type} connector yet.{" "}
              <a href={href("connectors", "new")}>Create one first</a>.
            </div>
          )}
          <Form
            sections={sections}
            value={current}
            creating={creating}
            fieldError={fieldError}
            options={options}
            onChange={(next) => {
              // Switching a new connector's type starts again from that type's defaults.
              if (creating && kind === "connectors" && next.type !== current.type) {
                const fresh = defaults(connectorSections(text(next.type)));
                setValue({
                  ...fresh,
                  name: next.name,
                  description: next.description,
                  type: next.type,
                });
              } else setValue(next);
            }}
          />
          <div class="form-actions">
            <button type="button" onClick={probe} disabled={busy !== ""}>
              {busy === "probe" ? "Testing…" : "Test connection"}
            </button>
            <span class="spacer" />
            <a class="button" href={href(kind)}>
              Cancel
            </a>
            <button type="submit" class="primary" disabled={busy !== ""}>
              {busy === "save" ? "Saving…" : creating ? `Create ${config.singular}` : "Save"}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

function StatusPanel({ item }: { item: Item }) {
  const history = statusHistory(idOf(item));
  return (
    <div class="grid-2">
      <section class="card">
        <h2>Per worker</h2>
        {(item.node_status ?? []).length === 0 ? (
          <Empty>
            No live worker reports it{item.status_reason ? `: ${item.status_reason}` : "."}
          </Empty>
        ) : (
          <table class="table">
            <thead>
              <tr>
                <th>Worker</th>
                <th>Status</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {(item.node_status ?? []).map((n) => (
                <tr key={n.node}>
                  <td>{n.node}</td>
                  <td>
                    <StatusBadge status={n.status} />
                  </td>
                  <td class="muted small">{n.status_reason ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="card">
        <h2>Status history</h2>
        <p class="muted small">Changes seen on the overview while this console is open.</p>
        {history.length === 0 ? (
          <Empty>No changes recorded yet.</Empty>
        ) : (
          <ul class="timeline">
            {[...history].reverse().map((h) => (
              <li key={h.t}>
                <StatusBadge status={h.status} />{" "}
                <span class="muted small">{new Date(h.t).toLocaleTimeString()}</span>
                {h.reason && <div class="muted small">{h.reason}</div>}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
