// A small tokenizer for the rule SQL (EMQX's dialect), for highlighting only: the API is the one
// that validates.

export type TokenKind =
  | "keyword"
  | "function"
  | "string"
  | "topic"
  | "number"
  | "operator"
  | "comment"
  | "ident"
  | "space"
  | "punct";

export interface Token {
  kind: TokenKind;
  text: string;
  start: number;
}

const KEYWORDS = new Set([
  "select",
  "from",
  "where",
  "as",
  "and",
  "or",
  "not",
  "foreach",
  "do",
  "incase",
  "case",
  "when",
  "then",
  "else",
  "end",
  "true",
  "false",
  "null",
  "undefined",
  "is",
  "in",
  "like",
]);

const OPERATORS = ["<>", "!=", ">=", "<=", "=~", "=", "<", ">", "+", "-", "*", "/", "||"];

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, end: number) => {
    tokens.push({ kind, text: sql.slice(i, end), start: i });
    i = end;
  };
  while (i < sql.length) {
    const c = sql.charAt(i);
    const rest = sql.slice(i);
    if (/\s/.test(c)) {
      push("space", i + (/^\s+/.exec(rest)?.[0].length ?? 1));
    } else if (rest.startsWith("--")) {
      const nl = sql.indexOf("\n", i);
      push("comment", nl === -1 ? sql.length : nl);
    } else if (rest.startsWith("/*")) {
      const close = sql.indexOf("*/", i + 2);
      push("comment", close === -1 ? sql.length : close + 2);
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < sql.length && sql.charAt(j) !== c) j += sql.charAt(j) === "\\" ? 2 : 1;
      // A double-quoted string right after FROM is a topic filter.
      const previous = tokens.filter((t) => t.kind !== "space").at(-1);
      const inFrom = previous?.text.toLowerCase() === "from" || previous?.text === ",";
      push(
        c === '"' && inFrom && fromClauseOpen(tokens) ? "topic" : "string",
        Math.min(j + 1, sql.length),
      );
    } else if (/[0-9]/.test(c)) {
      push("number", i + (/^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(rest)?.[0].length ?? 1));
    } else if (/[A-Za-z_$]/.test(c)) {
      const word = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(rest)?.[0] ?? c;
      const after = sql.slice(i + word.length).trimStart();
      const kind: TokenKind = KEYWORDS.has(word.toLowerCase())
        ? "keyword"
        : after.startsWith("(")
          ? "function"
          : "ident";
      push(kind, i + word.length);
    } else {
      const op = OPERATORS.find((o) => rest.startsWith(o));
      if (op) push("operator", i + op.length);
      else push("punct", i + 1);
    }
  }
  return tokens;
}

/** True while the last keyword seen is FROM (before WHERE). */
function fromClauseOpen(tokens: Token[]): boolean {
  for (let k = tokens.length - 1; k >= 0; k--) {
    const t = tokens[k];
    if (t?.kind === "keyword") return t.text.toLowerCase() === "from";
  }
  return false;
}

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
