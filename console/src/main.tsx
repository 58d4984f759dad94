import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./styles.css";
import { ApiError, request, setCredentials, setUnauthorizedHandler, type Credentials } from "./api";
import { href, useRoute } from "./router";
import * as session from "./session";
import { subscribe, type Notice } from "./toast";
import { Login } from "./pages/Login";
import { Overview } from "./pages/Overview";
import { ResourceDetail, ResourceList, KINDS, type KindName } from "./pages/Resources";
import { RuleList } from "./pages/Rules";
import { RuleEditor } from "./pages/RuleEditor";
import { MetricsPage } from "./pages/Metrics";

type SignedOut = { reason: string | null };

function App() {
  const [creds, setCreds] = useState<Credentials | null>(() => {
    const restored = session.restore();
    if (restored && "creds" in restored) {
      setCredentials(restored.creds);
      return restored.creds;
    }
    return null;
  });
  const [signedOut, setSignedOut] = useState<SignedOut>(() => {
    const restored = session.restore();
    return {
      reason:
        restored && "expired" in restored
          ? "Your session expired after an hour without use. Sign in again."
          : null,
    };
  });

  const signOut = (reason: string | null) => {
    session.clear();
    setCredentials(null);
    setCreds(null);
    setSignedOut({ reason });
  };

  useEffect(() => {
    setUnauthorizedHandler((error: ApiError) =>
      signOut(
        `Your session has expired: the API refused the key (${error.message}). It may have been disabled, deleted, expired or given a new secret. Sign in again.`,
      ),
    );
  }, []);

  // Idle sessions end after an hour; any use of the console counts as activity.
  useEffect(() => {
    if (!creds) return;
    const onActivity = () => {
      if (!session.touch())
        signOut("Your session expired after an hour without use. Sign in again.");
    };
    window.addEventListener("click", onActivity);
    window.addEventListener("keydown", onActivity);
    const timer = window.setInterval(() => {
      const restored = session.restore();
      if (!restored || "expired" in restored)
        signOut("Your session expired after an hour without use. Sign in again.");
    }, 30_000);
    return () => {
      window.removeEventListener("click", onActivity);
      window.removeEventListener("keydown", onActivity);
      window.clearInterval(timer);
    };
  }, [creds]);

  if (!creds) {
    return (
      <Login
        notice={signedOut.reason}
        onSignIn={async (next) => {
          await request("GET", "/workers", undefined, next);
          session.save(next);
          setCredentials(next);
          setCreds(next);
          setSignedOut({ reason: null });
        }}
      />
    );
  }
  return <Shell creds={creds} onSignOut={() => signOut(null)} />;
}

const NAV: { key: string; label: string; to: string; icon: string }[] = [
  { key: "", label: "Overview", to: href(), icon: "◎" },
  { key: "rules", label: "Rules", to: href("rules"), icon: "ƒ" },
  { key: "actions", label: "Actions", to: href("actions"), icon: "→" },
  { key: "sources", label: "Sources", to: href("sources"), icon: "←" },
  { key: "connectors", label: "Connectors", to: href("connectors"), icon: "⇄" },
  { key: "metrics", label: "Metrics", to: href("metrics"), icon: "▤" },
];

function Shell({ creds, onSignOut }: { creds: Credentials; onSignOut: () => void }) {
  const route = useRoute();
  const [top = "", id] = route.parts;
  let page;
  if (top === "rules" && id) page = <RuleEditor key={id} id={id === "new" ? null : id} />;
  else if (top === "rules") page = <RuleList />;
  else if (top === "metrics") page = <MetricsPage />;
  else if (top in KINDS) {
    const kind = top as KindName;
    page = id ? (
      <ResourceDetail key={`${kind}/${id}`} kind={kind} id={id === "new" ? null : id} />
    ) : (
      <ResourceList key={kind} kind={kind} />
    );
  } else page = <Overview />;
  return (
    <div class="shell">
      <nav class="sidebar">
        <a class="brand" href={href()}>
          <span class="logo">≋</span> Tributary
        </a>
        <ul>
          {NAV.map((n) => (
            <li key={n.key}>
              <a href={n.to} class={top === n.key ? "active" : ""}>
                <span class="icon">{n.icon}</span>
                {n.label}
              </a>
            </li>
          ))}
        </ul>
        <div class="sidebar-foot">
          <div class="who" title="Signed in with this API key">
            <span class="dot ok" /> {creds.key}
          </div>
          <button type="button" class="link-button" onClick={onSignOut}>
            Sign out
          </button>
          <a class="muted small" href="/api/v5/docs" target="_blank" rel="noreferrer">
            REST API docs ↗
          </a>
        </div>
      </nav>
      <main class="content">{page}</main>
      <Toasts />
    </div>
  );
}

function Toasts() {
  const [notices, setNotices] = useState<Notice[]>([]);
  useEffect(() => subscribe(setNotices), []);
  return (
    <div class="toasts" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} class={`toast toast-${n.tone}`}>
          {n.text}
        </div>
      ))}
    </div>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
