// The signed-in API key, kept for the browser tab only (sessionStorage), and signed out after an
// hour without use.

import type { Credentials } from "./api";

const KEY = "tributary.session";
export const IDLE_LIMIT_MS = 60 * 60 * 1000;

interface Stored extends Credentials {
  lastUsed: number;
}

export type Restored = { creds: Credentials } | { expired: true } | null;

export function restore(now = Date.now()): Restored {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const stored = JSON.parse(raw) as Stored;
    if (now - stored.lastUsed > IDLE_LIMIT_MS) {
      sessionStorage.removeItem(KEY);
      return { expired: true };
    }
    return { creds: { key: stored.key, secret: stored.secret } };
  } catch {
    sessionStorage.removeItem(KEY);
    return null;
  }
}

export function save(creds: Credentials, now = Date.now()): void {
  const stored: Stored = { ...creds, lastUsed: now };
  sessionStorage.setItem(KEY, JSON.stringify(stored));
}

export function touch(now = Date.now()): boolean {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return false;
  const stored = JSON.parse(raw) as Stored;
  if (now - stored.lastUsed > IDLE_LIMIT_MS) return false;
  stored.lastUsed = now;
  sessionStorage.setItem(KEY, JSON.stringify(stored));
  return true;
}

export function clear(): void {
  sessionStorage.removeItem(KEY);
}
