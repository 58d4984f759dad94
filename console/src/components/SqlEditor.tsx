// A textarea over a highlighted copy of its text: SQL highlighting without an editor library.
// The API's parse error is underlined at its line and column and marked in the gutter.

import { useRef } from "preact/hooks";
import { offsetOf, tokenize, type SqlErrorPosition } from "../sql";

export function SqlEditor({
  value,
  onChange,
  error,
}: {
  value: string;
  onChange: (next: string) => void;
  error: SqlErrorPosition | null;
}) {
  const pre = useRef<HTMLPreElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const lines = value.split("\n").length;
  const errorAt = error ? offsetOf(value, error.line, error.column) : -1;
  return (
    <div class={`sql-editor ${error ? "has-error" : ""}`}>
      <div class="gutter" ref={gutter} aria-hidden="true">
        {Array.from({ length: lines }, (_, i) => (
          <div key={i} class={error?.line === i + 1 ? "error-line" : ""}>
            {i + 1}
          </div>
        ))}
      </div>
      <div class="sql-stack">
        <pre ref={pre} class="sql-highlight" aria-hidden="true">
          {highlight(value, errorAt)}
          {"\n"}
        </pre>
        <textarea
          class="sql-input"
          aria-label="Rule SQL"
          spellcheck={false}
          autocomplete="off"
          value={value}
          onInput={(e) => onChange(e.currentTarget.value)}
          onScroll={(e) => {
            if (pre.current) {
              pre.current.scrollTop = e.currentTarget.scrollTop;
              pre.current.scrollLeft = e.currentTarget.scrollLeft;
            }
            if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
          }}
          onKeyDown={(e) => {
            if (e.key === "Tab") {
              e.preventDefault();
              const t = e.currentTarget;
              const start = t.selectionStart;
              const next = `${value.slice(0, start)}  ${value.slice(t.selectionEnd)}`;
              onChange(next);
              requestAnimationFrame(() => t.setSelectionRange(start + 2, start + 2));
            }
          }}
        />
      </div>
    </div>
  );
}

function highlight(sql: string, errorAt: number) {
  const out = [];
  for (const tok of tokenize(sql)) {
    const end = tok.start + tok.text.length;
    if (errorAt >= tok.start && errorAt < end && tok.kind !== "space") {
      // The token the parser stopped at.
      out.push(
        <span key={tok.start} class={`tok-${tok.kind} sql-error-mark`} data-sql-error="">
          {tok.text}
        </span>,
      );
    } else if (errorAt >= tok.start && errorAt < end) {
      const cut = errorAt - tok.start;
      out.push(
        <span key={tok.start}>
          {tok.text.slice(0, cut)}
          <span class="sql-error-mark" data-sql-error="">
            {tok.text.charAt(cut) === "\n" ? " " : tok.text.charAt(cut)}
          </span>
          {tok.text.charAt(cut) === "\n" ? tok.text.slice(cut) : tok.text.slice(cut + 1)}
        </span>,
      );
    } else {
      out.push(
        <span key={tok.start} class={`tok-${tok.kind}`}>
          {tok.text}
        </span>,
      );
    }
  }
  if (errorAt >= sql.length && errorAt >= 0) {
    out.push(
      <span key="eof" class="sql-error-mark" data-sql-error="">
        {" "}
      </span>,
    );
  }
  return out;
}
