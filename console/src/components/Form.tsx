// Renders the field sections of schema.ts over a nested value, with the API's field error shown
// beside its field.

import { useState } from "preact/hooks";
import { text } from "../api";
import { getPath, setPath, type Field, type Section } from "../schema";

export interface FormProps {
  sections: Section[];
  value: Record<string, unknown>;
  onChange: (next: Record<string, unknown>) => void;
  creating: boolean;
  /** The API's rejected field (dotted path) and its reason. */
  fieldError: { field: string; reason: string } | null;
  options: Record<string, string[]>;
}

export function Form({ sections, value, onChange, creating, fieldError, options }: FormProps) {
  // Advanced sections open by themselves when the API rejects one of their fields.
  const [open, setOpen] = useState<Record<string, boolean>>({});
  return (
    <div class="form">
      {sections.map((section) => {
        const fields = section.fields.filter((f) => creating || !f.createOnly);
        if (fields.length === 0) return null;
        const hasError =
          fieldError !== null && fields.some((f) => matches(f.key, fieldError.field));
        const isOpen = !section.advanced || open[section.title] === true || hasError;
        return (
          <section class={`form-section ${section.advanced ? "advanced" : ""}`} key={section.title}>
            {section.advanced ? (
              <button
                type="button"
                class="section-toggle"
                aria-expanded={isOpen}
                onClick={() => setOpen({ ...open, [section.title]: !isOpen })}
              >
                <span class="chevron">{isOpen ? "▾" : "▸"}</span> {section.title}
              </button>
            ) : (
              <h3>{section.title}</h3>
            )}
            {isOpen && (
              <div class="fields">
                {fields.map((f) => (
                  <FieldRow
                    key={f.key}
                    field={f}
                    value={getPath(value, f.key)}
                    onChange={(v) => onChange(setPath(value, f.key, v))}
                    error={
                      fieldError && matches(f.key, fieldError.field) ? fieldError.reason : null
                    }
                    options={f.optionsFrom ? (options[f.optionsFrom] ?? []) : (f.options ?? [])}
                  />
                ))}
              </div>
            )}
          </section>
        );
      })}
    </div>
  );
}

/** `parameters.topic_mapping[0].mqtt_topic` belongs to the field `parameters.topic_mapping`. */
export function matches(key: string, field: string): boolean {
  const normalized = field.replace(/\[\d+\]/g, "").replace(/^\./, "");
  return (
    normalized === key ||
    normalized.startsWith(`${key}.`) ||
    (key === "authentication" && normalized.startsWith("authentication"))
  );
}

function fieldId(key: string): string {
  return `f-${key.replace(/[^a-zA-Z0-9_-]/g, "-")}`;
}

function FieldRow({
  field,
  value,
  onChange,
  error,
  options,
}: {
  field: Field;
  value: unknown;
  onChange: (v: unknown) => void;
  error: string | null;
  options: string[];
}) {
  const id = fieldId(field.key);
  const defaultNote =
    field.def !== undefined && field.def !== "" && !field.createOnly ? (
      <span class="default">default {String(field.def)}</span>
    ) : null;
  return (
    <div class={`field ${error ? "has-error" : ""} field-${field.type}`} data-field={field.key}>
      <label for={id}>
        {field.label}
        {field.required && <span class="req">*</span>}
        {defaultNote}
      </label>
      <div class="control">
        <Control field={field} id={id} value={value} onChange={onChange} options={options} />
        {error && (
          <div class="field-error" role="alert" data-error-for={field.key}>
            {error}
          </div>
        )}
        {field.help && !error && <div class="help">{withCode(field.help)}</div>}
      </div>
    </div>
  );
}

/** Help text with `code` spans. */
function withCode(help: string) {
  return help.split("`").map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part));
}

function str(v: unknown): string {
  return v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);
}

function Control({
  field,
  id,
  value,
  onChange,
  options,
}: {
  field: Field;
  id: string;
  value: unknown;
  onChange: (v: unknown) => void;
  options: string[];
}) {
  switch (field.type) {
    case "bool":
      return (
        <input
          id={id}
          type="checkbox"
          checked={value === true}
          onChange={(e) => onChange(e.currentTarget.checked)}
        />
      );
    case "number":
      return (
        <input
          id={id}
          type="number"
          min={0}
          value={text(value)}
          placeholder={field.placeholder}
          onInput={(e) => {
            const raw = e.currentTarget.value;
            onChange(raw === "" ? undefined : Number(raw));
          }}
        />
      );
    case "select": {
      const current = str(value);
      const all = current && !options.includes(current) ? [current, ...options] : options;
      return (
        <select id={id} value={current} onChange={(e) => onChange(e.currentTarget.value)}>
          {(field.nullable || !current) && (
            <option value="">{field.placeholder ? `(${field.placeholder})` : "— choose —"}</option>
          )}
          {all.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      );
    }
    case "tristate":
      return (
        <select
          id={id}
          value={value === true ? "true" : value === false ? "false" : ""}
          onChange={(e) => {
            const v = e.currentTarget.value;
            onChange(v === "" ? null : v === "true");
          }}
        >
          <option value="">default</option>
          <option value="true">on</option>
          <option value="false">off</option>
        </select>
      );
    case "textarea":
      return (
        <textarea
          id={id}
          rows={3}
          spellcheck={false}
          value={str(value)}
          placeholder={field.placeholder}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      );
    case "auth":
      return <AuthControl id={id} value={value} onChange={onChange} />;
    case "list":
      return (
        <ListControl
          field={field}
          value={Array.isArray(value) ? (value as Record<string, unknown>[]) : []}
          onChange={onChange}
        />
      );
    case "password":
      return (
        <input
          id={id}
          type="password"
          autocomplete="new-password"
          value={str(value)}
          placeholder={field.placeholder}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      );
    case "text":
      return (
        <input
          id={id}
          type="text"
          autocomplete="off"
          spellcheck={false}
          value={str(value)}
          placeholder={field.placeholder ?? (field.def !== undefined ? String(field.def) : "")}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      );
  }
}

function AuthControl({
  id,
  value,
  onChange,
}: {
  id: string;
  value: unknown;
  onChange: (v: unknown) => void;
}) {
  const sasl =
    value !== null && typeof value === "object" ? (value as Record<string, string>) : null;
  const mechanism = sasl?.mechanism ?? "none";
  return (
    <div class="auth">
      <select
        id={id}
        value={mechanism}
        onChange={(e) => {
          const m = e.currentTarget.value;
          onChange(
            m === "none"
              ? "none"
              : { mechanism: m, username: sasl?.username ?? "", password: sasl?.password ?? "" },
          );
        }}
      >
        <option value="none">none</option>
        <option value="plain">SASL PLAIN</option>
        <option value="scram_sha_256">SASL SCRAM-SHA-256</option>
        <option value="scram_sha_512">SASL SCRAM-SHA-512</option>
      </select>
      {sasl && (
        <div class="inline-fields">
          <input
            aria-label="SASL username"
            placeholder="username"
            value={sasl.username ?? ""}
            onInput={(e) => onChange({ ...sasl, username: e.currentTarget.value })}
          />
          <input
            aria-label="SASL password"
            type="password"
            autocomplete="new-password"
            placeholder="password"
            value={sasl.password ?? ""}
            onInput={(e) => onChange({ ...sasl, password: e.currentTarget.value })}
          />
        </div>
      )}
    </div>
  );
}

function ListControl({
  field,
  value,
  onChange,
}: {
  field: Field;
  value: Record<string, unknown>[];
  onChange: (v: unknown) => void;
}) {
  const items = field.item ?? [];
  const blank = () =>
    Object.fromEntries(items.map((f) => [f.key, f.def !== undefined ? f.def : ""]));
  return (
    <div class="list-control">
      {value.map((entry, index) => (
        <div class="list-row" key={index}>
          {items.map((sub) => (
            <label key={sub.key} class="list-cell">
              <span>{sub.label}</span>
              {sub.type === "select" ? (
                <select
                  value={str(entry[sub.key])}
                  onChange={(e) => {
                    const next = [...value];
                    next[index] = { ...entry, [sub.key]: e.currentTarget.value };
                    onChange(next);
                  }}
                >
                  {(sub.options ?? []).map((o) => (
                    <option key={o}>{o}</option>
                  ))}
                </select>
              ) : (
                <input
                  value={str(entry[sub.key])}
                  placeholder={sub.placeholder ?? (sub.def !== undefined ? String(sub.def) : "")}
                  onInput={(e) => {
                    const next = [...value];
                    next[index] = { ...entry, [sub.key]: e.currentTarget.value };
                    onChange(next);
                  }}
                />
              )}
            </label>
          ))}
          <button
            type="button"
            class="icon-button"
            aria-label="Remove"
            title="Remove"
            onClick={() => onChange(value.filter((_, i) => i !== index))}
          >
            ✕
          </button>
        </div>
      ))}
      <button type="button" class="link-button" onClick={() => onChange([...value, blank()])}>
        + Add
      </button>
    </div>
  );
}
