// The rule SQL editor: CodeMirror 6 with the SQL language (EMQX's dialect: double-quoted topic
// filters are strings), and the API's parse error shown as a diagnostic (underline, gutter mark,
// tooltip) at its line and column. Loaded on demand by SqlEditor, so the first load stays small.

import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { sql, SQLDialect } from "@codemirror/lang-sql";
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  keymap,
  lineNumbers,
  placeholder,
} from "@codemirror/view";
import { errorRange, type SqlErrorPosition } from "../sql";

const EMQX_SQL = SQLDialect.define({
  keywords:
    "select from where as and or not foreach do incase case when then else end is in like null true false undefined",
  doubleQuotedStrings: true,
  backslashEscapes: true,
});

export interface SqlEditorHandle {
  setValue(value: string): void;
  setError(error: SqlErrorPosition | null): void;
  destroy(): void;
}

export function createSqlEditor(
  parent: HTMLElement,
  value: string,
  onChange: (value: string) => void,
  label: string,
): SqlEditorHandle {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: value,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        bracketMatching(),
        highlightActiveLine(),
        syntaxHighlighting(defaultHighlightStyle),
        sql({ dialect: EMQX_SQL, upperCaseKeywords: true }),
        lintGutter(),
        placeholder('SELECT * FROM "t/#"'),
        // Tab indents; Escape then Tab leaves the editor (CodeMirror's keyboard escape hatch).
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        EditorView.contentAttributes.of({ "aria-label": label, "aria-multiline": "true" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    setValue(next) {
      const current = view.state.doc.toString();
      if (current !== next)
        view.dispatch({ changes: { from: 0, to: current.length, insert: next } });
    },
    setError(error) {
      const text = view.state.doc.toString();
      const diagnostics: Diagnostic[] = error
        ? [
            {
              ...errorRange(text, error.line, error.column),
              severity: "error",
              message: error.message,
              markClass: "sql-error-mark",
              source: "the API's SQL parser",
            },
          ]
        : [];
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    destroy() {
      view.destroy();
    },
  };
}
