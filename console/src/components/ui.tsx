import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { text } from "../api";

export function StatusBadge({ status, enable = true }: { status?: string; enable?: boolean }) {
  const s = enable ? (status ?? "unknown") : "disabled";
  return (
    <span class={`badge badge-${tone(s)}`} data-status={s}>
      <span class="dot" />
      {s}
    </span>
  );
}

export type Tone = "ok" | "warn" | "bad" | "off" | "neutral";

export function tone(status: string): Tone {
  switch (status) {
    case "connected":
    case "running":
    case "up":
      return "ok";
    case "connecting":
    case "starting":
    case "inconsistent":
      return "warn";
    case "disconnected":
    case "failed":
    case "down":
      return "bad";
    case "disabled":
      return "off";
    default:
      return "neutral";
  }
}

export function Toggle({
  checked,
  onChange,
  label,
  disabled,
}: {
  checked: boolean;
  onChange: (next: boolean) => void;
  label: string;
  disabled?: boolean;
}) {
  return (
    <label class="toggle" title={label}>
      <input
        type="checkbox"
        role="switch"
        aria-label={label}
        checked={checked}
        disabled={disabled}
        onChange={(e) => onChange(e.currentTarget.checked)}
      />
      <span class="track">
        <span class="thumb" />
      </span>
    </label>
  );
}

export function Modal({
  title,
  children,
  onClose,
}: {
  title: string;
  children: ComponentChildren;
  onClose: () => void;
}) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div class="modal-backdrop" onClick={onClose}>
      <div
        class="modal"
        role="dialog"
        aria-modal="true"
        aria-label={title}
        onClick={(e) => e.stopPropagation()}
      >
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : text(error);
  return (
    <div class="alert alert-bad" role="alert">
      {message}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/** Loads `load()` now and every `everyMs`, without flicker; `reload` forces a refresh. */
export function usePoll<T>(
  load: () => Promise<T>,
  everyMs: number,
  deps: unknown[] = [],
): { data: T | undefined; error: unknown; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const seq = useRef(0);
  const reload = useCallback(() => {
    const mine = ++seq.current;
    loadRef.current().then(
      (value) => {
        if (mine !== seq.current) return;
        setData(value);
        setError(null);
      },
      (err: unknown) => {
        if (mine !== seq.current) return;
        setError(err);
      },
    );
  }, []);
  useEffect(() => {
    setData(undefined);
    reload();
    if (everyMs <= 0) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, everyMs);
    return () => window.clearInterval(timer);
  }, deps);
  return { data, error, reload };
}

export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < -1) return `in ${fmtDuration(-seconds)}`;
  if (seconds < 2) return "just now";
  return `${fmtDuration(seconds)} ago`;
}

export function fmtDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86400)
    return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d`;
}

export function fmtRate(rate: number | undefined): string {
  if (rate === undefined || Number.isNaN(rate)) return "–";
  if (rate === 0) return "0/s";
  if (rate < 10) return `${rate.toFixed(2)}/s`;
  if (rate < 1000) return `${rate.toFixed(0)}/s`;
  return `${(rate / 1000).toFixed(1)}k/s`;
}

export function fmtCount(n: number | undefined): string {
  if (n === undefined) return "–";
  return n.toLocaleString("en-US");
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export function PageHeader({
  title,
  subtitle,
  children,
}: {
  title: ComponentChildren;
  subtitle?: ComponentChildren;
  children?: ComponentChildren;
}) {
  return (
    <header class="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle && <p class="subtitle">{subtitle}</p>}
      </div>
      <div class="actions">{children}</div>
    </header>
  );
}
