// Where the API's parse error points in the rule SQL. The API is the one that validates; the
// editor (CodeMirror, src/components/sqlEditorView.ts) only highlights and marks.

export interface SqlErrorPosition {
  line: number;
  column: number;
  message: string;
}

/** `syntax error at line 2, column 7: expected …` as the API reports it. */
export function errorPosition(message: string): SqlErrorPosition | null {
  const m = /line (\d+), column (\d+)/.exec(message);
  if (!m) return null;
  return { line: Number(m[1]), column: Number(m[2]), message };
}

/** The character offset of a 1-based line and column, clamped to the text. */
export function offsetOf(sql: string, line: number, column: number): number {
  const lines = sql.split("\n");
  let offset = 0;
  for (let l = 1; l < line && l <= lines.length; l++) offset += (lines[l - 1]?.length ?? 0) + 1;
  return Math.min(offset + Math.max(column - 1, 0), sql.length);
}

/**
 * The text to mark for an error at a line and column: the word or quoted string the parser
 * stopped at, else the one character there; empty at the end of the text.
 */
export function errorRange(
  sql: string,
  line: number,
  column: number,
): { from: number; to: number } {
  const from = offsetOf(sql, line, column);
  if (from >= sql.length) return { from: sql.length, to: sql.length };
  const rest = sql.slice(from);
  // A point marker before a space or line break (nothing visible to underline).
  if (/^\s/.test(rest)) return { from, to: from };
  const quote = rest.charAt(0);
  if (quote === '"' || quote === "'") {
    const close = rest.indexOf(quote, 1);
    return { from, to: from + (close === -1 ? rest.length : close + 1) };
  }
  const word = /^[A-Za-z0-9_$.]+/.exec(rest)?.[0];
  return { from, to: from + (word ? word.length : 1) };
}
