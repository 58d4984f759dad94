// One-line notices ("Connector k created") shown for a few seconds.

type Listener = (messages: Notice[]) => void;
export interface Notice {
  id: number;
  text: string;
  tone: "ok" | "bad";
}

let notices: Notice[] = [];
let nextId = 1;
const listeners = new Set<Listener>();

export function notify(text: string, tone: "ok" | "bad" = "ok"): void {
  const notice = { id: nextId++, text, tone };
  notices = [...notices, notice];
  listeners.forEach((l) => l(notices));
  window.setTimeout(() => {
    notices = notices.filter((n) => n.id !== notice.id);
    listeners.forEach((l) => l(notices));
  }, 4000);
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
