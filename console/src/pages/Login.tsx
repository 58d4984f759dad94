import { useState } from "preact/hooks";
import { ApiError, type Credentials } from "../api";

export function Login({
  notice,
  onSignIn,
}: {
  notice: string | null;
  onSignIn: (creds: Credentials) => Promise<void>;
}) {
  const [key, setKey] = useState("");
  const [secret, setSecret] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <div class="login-page">
      <form
        class="login-card"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          onSignIn({ key: key.trim(), secret }).catch((err: unknown) => {
            setBusy(false);
            if (err instanceof ApiError && err.status === 401)
              setError("Wrong API key or secret, or the key is disabled or expired.");
            else setError(err instanceof Error ? err.message : String(err));
          });
        }}
      >
        <div class="login-brand">
          <span class="logo">≋</span>
          <div>
            <h1>Tributary</h1>
            <p class="muted">MQTT ⇄ Apache Kafka</p>
          </div>
        </div>
        {notice && !error && (
          <div class="alert alert-warn" role="status">
            {notice}
          </div>
        )}
        {error && (
          <div class="alert alert-bad" role="alert">
            {error}
          </div>
        )}
        <label>
          API key
          <input
            name="key"
            autocomplete="username"
            value={key}
            required
            autofocus
            onInput={(e) => setKey(e.currentTarget.value)}
          />
        </label>
        <label>
          API secret
          <input
            name="secret"
            type="password"
            autocomplete="current-password"
            value={secret}
            required
            onInput={(e) => setSecret(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="muted small">
          Use an API key of the REST API (<code>--bootstrap-api-key</code>, or one made with{" "}
          <code>POST /api/v5/api_key</code>). It is kept for this browser tab only.
        </p>
      </form>
    </div>
  );
}
