// The rule SQL editor as a Preact component. CodeMirror (sqlEditorView.ts) is loaded on demand:
// only the rule editor needs it.

import { useEffect, useRef, useState } from "preact/hooks";
import type { SqlErrorPosition } from "../sql";
import type { SqlEditorHandle } from "./sqlEditorView";

export function SqlEditor({
  value,
  onChange,
  error,
}: {
  value: string;
  onChange: (next: string) => void;
  error: SqlErrorPosition | null;
}) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<SqlEditorHandle | null>(null);
  // The latest callback, so the editor created once always reports to the current one.
  const changed = useRef(onChange);
  changed.current = onChange;
  const [failed, setFailed] = useState<string | null>(null);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    let cancelled = false;
    import("./sqlEditorView").then(
      ({ createSqlEditor }) => {
        if (cancelled || !host.current) return;
        editor.current = createSqlEditor(
          host.current,
          value,
          (next) => changed.current(next),
          "Rule SQL",
        );
        setReady(true);
      },
      (err: unknown) => setFailed(String(err)),
    );
    return () => {
      cancelled = true;
      editor.current?.destroy();
      editor.current = null;
    };
  }, []);

  useEffect(() => editor.current?.setValue(value), [value, ready]);
  useEffect(() => editor.current?.setError(error), [error, value, ready]);

  return (
    <div class={`sql-editor ${error ? "has-error" : ""}`} data-ready={ready ? "" : undefined}>
      <div ref={host} />
      {!ready && !failed && <div class="muted small sql-loading">Loading the editor…</div>}
      {failed && (
        <div class="alert alert-bad">The SQL editor did not load ({failed}). Reload the page.</div>
      )}
    </div>
  );
}
