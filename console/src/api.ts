// The console's only way to the control plane: the public /api/v5 REST API, HTTP Basic with an
// API key and secret.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ErrorBody {
  code: string;
  message: string;
  field?: string | null;
  reason?: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
  }
  get field(): string | null {
    return this.body.field ?? null;
  }
}

export interface Credentials {
  key: string;
  secret: string;
}

export type ResourceStatus = "connected" | "connecting" | "disconnected" | "inconsistent";

export interface NodeStatus {
  node: string;
  status: ResourceStatus;
  status_reason?: string | null;
}

export interface StatusFields {
  status?: ResourceStatus;
  status_reason?: string | null;
  node_status?: NodeStatus[];
}

export type ConnectorType = "kafka_producer" | "kafka_consumer" | "mqtt";

export interface Connector extends StatusFields {
  type: ConnectorType;
  name: string;
  enable: boolean;
  description: string;
  created_at: string;
  updated_at: string;
  [field: string]: Json | NodeStatus[] | undefined;
}

export interface Bridge extends StatusFields {
  type: string;
  name: string;
  enable: boolean;
  description: string;
  connector: string;
  parameters: JsonObject;
  resource_opts: JsonObject;
  created_at: string;
  updated_at: string;
}

export interface RepublishAction {
  function: "republish";
  args: JsonObject;
}
export type RuleAction = string | RepublishAction;

export interface Rule {
  id: string;
  name: string;
  sql: string;
  actions: RuleAction[];
  enable: boolean;
  description: string;
  metadata: JsonObject;
  mqtt_connector: string;
  from: string[];
  created_at: string;
  updated_at: string;
}

export interface ReportedFlow {
  flow_id: string;
  version: string;
  status: string;
  reason?: string;
}

export interface ReportedConnector {
  connector_id: string;
  status: string;
  reason?: string;
}

export interface Worker {
  id: string;
  name: string;
  admin_address: string;
  version: string;
  epoch: number;
  status: "up" | "down";
  registered_at: string;
  last_heartbeat: string;
  lease_expires_at: string;
  applied_revision: number;
  flows: ReportedFlow[];
  connectors: ReportedConnector[];
}

export interface Status {
  control_plane: string;
  database: string;
  live_workers?: number | null;
  config_revision?: number | null;
}

export type NodeKind =
  | "mqtt_topic_filter"
  | "mqtt_topic"
  | "kafka_topic"
  | "rule"
  | "action"
  | "republish"
  | "source"
  | "connector";

export interface TopologyNode {
  id: string;
  kind: NodeKind;
  label: string;
  enable: boolean;
  problems?: string[];
}

export interface TopologyEdge {
  from: string;
  to: string;
  kind: "data" | "uses";
}

export interface Topology {
  revision: number;
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

export interface Metrics {
  metrics: Record<string, number>;
  node_metrics: { node: string; metrics: Record<string, number> }[];
}

export type RenderedOutput =
  | {
      kind: "kafka_record";
      topic: string;
      key?: string | null;
      value: string;
      headers: { key: string; value: string }[];
      timestamp?: number | null;
    }
  | {
      kind: "mqtt_publish";
      topic: string;
      payload: string;
      qos: number;
      retain: boolean;
      user_properties: { key: string; value: string }[];
      content_type?: string | null;
    }
  | { kind: "console_line"; line: string }
  | { kind: "error"; message: string };

export interface DryRun {
  rows: JsonObject[];
  actions: { action: string; enable: boolean; outputs: RenderedOutput[] }[];
}

/** Called when the API refuses the stored credentials (signed out elsewhere, key expired). */
let onUnauthorized: (error: ApiError) => void = () => undefined;
export function setUnauthorizedHandler(handler: (error: ApiError) => void): void {
  onUnauthorized = handler;
}

let credentials: Credentials | null = null;
export function setCredentials(next: Credentials | null): void {
  credentials = next;
}

function authHeader(creds: Credentials): string {
  const bytes = new TextEncoder().encode(`${creds.key}:${creds.secret}`);
  let binary = "";
  bytes.forEach((b) => (binary += String.fromCharCode(b)));
  return `Basic ${btoa(binary)}`;
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  creds: Credentials | null = credentials,
): Promise<T> {
  const headers: Record<string, string> = {
    Accept: "application/json",
    // No browser Basic-auth dialog on a 401: the console has its own sign-in form.
    "X-Requested-With": "XMLHttpRequest",
  };
  if (creds) headers.Authorization = authHeader(creds);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(`/api/v5${path}`, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      credentials: "omit",
    });
  } catch (err) {
    throw new ApiError(0, {
      code: "NETWORK",
      message: `The control plane is unreachable (${String(err)}).`,
    });
  }
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) {
    const errorBody: ErrorBody =
      parsed && typeof parsed === "object" && "message" in parsed
        ? (parsed as ErrorBody)
        : { code: `HTTP_${response.status}`, message: text || response.statusText };
    const error = new ApiError(response.status, errorBody);
    if (response.status === 401 && creds === credentials && credentials) onUnauthorized(error);
    throw error;
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string) => request<T>("GET", path),
  post: <T>(path: string, body: unknown) => request<T>("POST", path, body),
  put: <T>(path: string, body?: unknown) => request<T>("PUT", path, body),
  del: (path: string) => request<null>("DELETE", path),
};

/** Path segment for an id such as `kafka_producer:my_sink` or a rule id. */
export function seg(id: string): string {
  return encodeURIComponent(id);
}

export type BridgeKind = "actions" | "sources";

export async function listRules(): Promise<Rule[]> {
  const page = await api.get<{ data: Rule[] }>("/rules?limit=10000");
  return page.data;
}

/** A field's value as text: strings as they are, other JSON compactly, nothing as "". */
export function text(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}
