// Every field the API takes, per resource, grouped as EMQX's forms are: basic first, then
// advanced. Defaults are the API's (what a GET shows after creating with only the required
// fields).

export type FieldType =
  "text" | "password" | "textarea" | "number" | "bool" | "select" | "tristate" | "auth" | "list";

export interface Field {
  key: string;
  label: string;
  type: FieldType;
  help?: string;
  def?: string | number | boolean;
  placeholder?: string;
  options?: string[];
  /** Options from the API (e.g. connectors of a type), filled in by the form. */
  optionsFrom?: "connectors" | "mqtt_connectors";
  required?: boolean;
  /** Shown only when creating (names and types cannot change). */
  createOnly?: boolean;
  /** Sent as `null` when left empty. */
  nullable?: boolean;
  /** Sub-fields of each item of a `list`. */
  item?: Field[];
}

export interface Section {
  title: string;
  advanced?: boolean;
  fields: Field[];
}

const tls = (prefix: string): Section => ({
  title: "TLS",
  advanced: true,
  fields: [
    { key: `${prefix}.enable`, label: "Enable TLS", type: "bool", def: false },
    {
      key: `${prefix}.verify`,
      label: "Verify server certificate",
      type: "select",
      options: ["verify_peer", "verify_none"],
      def: "verify_peer",
    },
    {
      key: `${prefix}.cacertfile`,
      label: "CA certificates (PEM)",
      type: "textarea",
      nullable: true,
      help: "The CA bundle that signs the server certificate; the system roots when empty.",
    },
    {
      key: `${prefix}.certfile`,
      label: "Client certificate (PEM)",
      type: "textarea",
      nullable: true,
      help: "For mutual TLS.",
    },
    {
      key: `${prefix}.keyfile`,
      label: "Client key (PEM)",
      type: "textarea",
      nullable: true,
      help: "Write-only: shown as ****** once saved.",
    },
    {
      key: `${prefix}.server_name_indication`,
      label: "Server name indication",
      type: "text",
      nullable: true,
    },
  ],
});

const envelope = (nameHelp: string): Field[] => [
  { key: "name", label: "Name", type: "text", required: true, createOnly: true, help: nameHelp },
  { key: "description", label: "Description", type: "text", def: "" },
  { key: "enable", label: "Enabled", type: "bool", def: true },
];

export const connectorSections = (type: string): Section[] => {
  const basic: Field[] = [
    {
      key: "type",
      label: "Type",
      type: "select",
      options: ["mqtt", "kafka_producer", "kafka_consumer"],
      def: "kafka_producer",
      createOnly: true,
      help: "kafka_producer connectors serve actions (sinks), kafka_consumer ones sources, mqtt the broker.",
    },
    ...envelope("Letters, digits, `-` and `_`."),
  ];
  const health: Field = {
    key: "resource_opts.health_check_interval",
    label: "Health check interval",
    type: "text",
    def: "15s",
  };
  if (type === "mqtt") {
    return [
      {
        title: "Basic",
        fields: [
          ...basic,
          {
            key: "server",
            label: "Server",
            type: "text",
            required: true,
            placeholder: "127.0.0.1:1883",
            help: "host:port of the MQTT broker workers connect to.",
          },
          { key: "username", label: "Username", type: "text", nullable: true },
          {
            key: "password",
            label: "Password",
            type: "password",
            nullable: true,
            help: "Write-only: shown as ****** once saved.",
          },
        ],
      },
      {
        title: "Advanced",
        advanced: true,
        fields: [
          {
            key: "proto_ver",
            label: "MQTT version",
            type: "select",
            options: ["v5", "v4"],
            def: "v5",
          },
          { key: "clientid_prefix", label: "Client id prefix", type: "text", def: "tributary-" },
          { key: "keepalive", label: "Keepalive", type: "text", def: "1m" },
          {
            key: "clean_start",
            label: "Clean start",
            type: "bool",
            def: false,
            help: "Persistent sessions (off) keep QoS 1 messages for a worker that restarts.",
          },
          {
            key: "session_expiry_interval",
            label: "Session expiry interval",
            type: "text",
            def: "2h",
          },
          { key: "connect_timeout", label: "Connect timeout", type: "text", def: "5s" },
          {
            key: "max_inflight",
            label: "Max in flight",
            type: "number",
            def: 1000,
            help: "QoS 1 messages in flight per connection, each way.",
          },
          health,
        ],
      },
      tls("ssl"),
    ];
  }
  return [
    {
      title: "Basic",
      fields: [
        ...basic,
        {
          key: "bootstrap_hosts",
          label: "Bootstrap hosts",
          type: "text",
          required: true,
          placeholder: "kafka1:9092,kafka2:9092",
          help: "Comma-separated host:port list.",
        },
        { key: "authentication", label: "Authentication", type: "auth", def: "none" },
      ],
    },
    {
      title: "Advanced",
      advanced: true,
      fields: [
        { key: "connect_timeout", label: "Connect timeout", type: "text", def: "5s" },
        {
          key: "metadata_request_timeout",
          label: "Metadata request timeout",
          type: "text",
          def: "5s",
        },
        {
          key: "min_metadata_refresh_interval",
          label: "Min metadata refresh interval",
          type: "text",
          def: "3s",
        },
        { key: "socket_opts.sndbuf", label: "Socket send buffer", type: "text", def: "1MB" },
        { key: "socket_opts.recbuf", label: "Socket receive buffer", type: "text", def: "1MB" },
        { key: "socket_opts.nodelay", label: "TCP_NODELAY", type: "bool", def: true },
        {
          key: "socket_opts.tcp_keepalive",
          label: "TCP keepalive",
          type: "text",
          def: "none",
          help: "`none`, or `Idle,Interval,Probes` in seconds, e.g. `240,30,5`.",
        },
        health,
      ],
    },
    tls("ssl"),
  ];
};

const bridgeHealth: Section = {
  title: "Resource options",
  advanced: true,
  fields: [
    {
      key: "resource_opts.health_check_interval",
      label: "Health check interval",
      type: "text",
      def: "15s",
    },
  ],
};

export const actionSections: Section[] = [
  {
    title: "Basic",
    fields: [
      ...envelope("The action is `kafka_producer:<name>` in rules."),
      {
        key: "connector",
        label: "Connector",
        type: "select",
        optionsFrom: "connectors",
        required: true,
        help: "A kafka_producer connector.",
      },
      {
        key: "parameters.topic",
        label: "Kafka topic",
        type: "text",
        required: true,
        placeholder: "device-${payload.device}",
        help: "Static topic or template.",
      },
      {
        key: "parameters.message.key",
        label: "Message key",
        type: "text",
        def: "${.clientid}",
      },
      { key: "parameters.message.value", label: "Message value", type: "text", def: "${.}" },
      {
        key: "parameters.message.timestamp",
        label: "Message timestamp",
        type: "text",
        def: "${.timestamp}",
      },
    ],
  },
  {
    title: "Headers",
    advanced: true,
    fields: [
      {
        key: "parameters.kafka_headers",
        label: "Kafka headers",
        type: "text",
        nullable: true,
        placeholder: "${pub_props}",
        help: "One placeholder whose value is an object or a list of key/value pairs.",
      },
      {
        key: "parameters.kafka_ext_headers",
        label: "Extra headers",
        type: "list",
        item: [
          { key: "kafka_ext_header_key", label: "Key", type: "text", required: true },
          {
            key: "kafka_ext_header_value",
            label: "Value template",
            type: "text",
            required: true,
            placeholder: "${clientid}",
          },
        ],
      },
      {
        key: "parameters.kafka_header_value_encode_mode",
        label: "Header value encoding",
        type: "select",
        options: ["none", "json"],
        def: "none",
      },
    ],
  },
  {
    title: "Producer",
    advanced: true,
    fields: [
      {
        key: "parameters.partition_strategy",
        label: "Partition strategy",
        type: "select",
        options: ["random", "key_dispatch"],
        def: "random",
        help: "random: one partition at a time, another every twice the linger time, so that records batch. key_dispatch: the same key, the same partition.",
      },
      {
        key: "parameters.compression",
        label: "Compression",
        type: "select",
        options: ["no_compression", "gzip", "snappy", "lz4", "zstd"],
        def: "no_compression",
      },
      {
        key: "parameters.required_acks",
        label: "Required acks",
        type: "select",
        options: ["all_isr", "leader_only", "none"],
        def: "all_isr",
      },
      {
        key: "parameters.enable_idempotence",
        label: "Idempotence",
        type: "tristate",
        help: "Default: on with all_isr acks (Kafka's own default).",
      },
      {
        key: "parameters.query_mode",
        label: "Query mode",
        type: "select",
        options: ["async", "sync"],
        def: "async",
        help: "sync acknowledges the MQTT side only after Kafka did (at least once end to end).",
      },
      {
        key: "parameters.sync_query_timeout",
        label: "Sync query timeout",
        type: "text",
        def: "5s",
      },
      { key: "parameters.max_batch_bytes", label: "Max batch bytes", type: "text", def: "896KB" },
      { key: "parameters.max_linger_time", label: "Max linger time", type: "text", def: "0ms" },
      {
        key: "parameters.max_linger_bytes",
        label: "Max linger bytes",
        type: "text",
        def: "10MB",
      },
      {
        key: "parameters.max_inflight",
        label: "Max in flight",
        type: "number",
        def: 10,
        help: "Produce requests in flight per partition.",
      },
      {
        key: "parameters.partition_count_refresh_interval",
        label: "Partition count refresh",
        type: "text",
        def: "1m",
      },
      {
        key: "parameters.dead_letter_topic",
        label: "Dead letter topic",
        type: "text",
        nullable: true,
        help: "Messages that fail unrecoverably are also written here, when set.",
      },
    ],
  },
  {
    title: "Buffer",
    advanced: true,
    fields: [
      {
        key: "parameters.buffer.mode",
        label: "Mode",
        type: "select",
        options: ["memory", "disk", "hybrid"],
        def: "memory",
      },
      {
        key: "parameters.buffer.per_partition_limit",
        label: "Per partition limit",
        type: "text",
        def: "256MB",
      },
      {
        key: "parameters.buffer.segment_bytes",
        label: "Segment bytes",
        type: "text",
        def: "100MB",
      },
      {
        key: "parameters.buffer.memory_overload_protection",
        label: "Memory overload protection",
        type: "bool",
        def: true,
      },
    ],
  },
  bridgeHealth,
];

export const sourceSections: Section[] = [
  {
    title: "Basic",
    fields: [
      ...envelope('Rules read it as FROM "$bridges/kafka_consumer:<name>".'),
      {
        key: "connector",
        label: "Connector",
        type: "select",
        optionsFrom: "connectors",
        required: true,
        help: "A kafka_consumer connector.",
      },
      {
        key: "parameters.topic",
        label: "Kafka topic",
        type: "text",
        nullable: true,
        help: "Read when the source is a rule input. Topics of the mappings are read too.",
      },
      {
        key: "parameters.topic_mapping",
        label: "Topic mapping (Kafka → MQTT)",
        type: "list",
        item: [
          { key: "kafka_topic", label: "Kafka topic", type: "text", required: true },
          {
            key: "mqtt_topic",
            label: "MQTT topic",
            type: "text",
            required: true,
            placeholder: "devices/${.key}/cmd",
          },
          { key: "qos", label: "QoS", type: "select", options: ["0", "1", "2"], def: "0" },
          { key: "payload_template", label: "Payload template", type: "text", def: "${.}" },
        ],
      },
    ],
  },
  {
    title: "Advanced",
    advanced: true,
    fields: [
      {
        key: "parameters.group_id",
        label: "Consumer group",
        type: "text",
        nullable: true,
        placeholder: "tributary-kafka-consumer-<name>",
      },
      {
        key: "parameters.offset_reset_policy",
        label: "Offset reset policy",
        type: "select",
        options: ["latest", "earliest"],
        def: "latest",
      },
      {
        key: "parameters.key_encoding_mode",
        label: "Key encoding",
        type: "select",
        options: ["none", "base64"],
        def: "none",
      },
      {
        key: "parameters.value_encoding_mode",
        label: "Value encoding",
        type: "select",
        options: ["none", "base64"],
        def: "none",
      },
      {
        key: "parameters.max_batch_bytes",
        label: "Max batch bytes",
        type: "text",
        def: "896KB",
        help: "Fetch size per partition.",
      },
      {
        key: "parameters.min_batch_bytes",
        label: "Min batch bytes",
        type: "text",
        def: "1B",
        help: "Kafka answers a fetch once this much is ready or the max wait time passed. 1B: at once (lowest latency); e.g. 32KB with 5ms batches fetches under load.",
      },
      {
        key: "parameters.max_wait_time",
        label: "Max wait time",
        type: "text",
        def: "1s",
        help: "The longest Kafka holds a fetch that has less than the min batch bytes ready.",
      },
      {
        key: "parameters.offset_commit_interval_seconds",
        label: "Offset commit interval (s)",
        type: "number",
        def: 5,
      },
      {
        key: "parameters.max_inflight",
        label: "Max in flight",
        type: "number",
        def: 1000,
        help: "Records read but not yet acknowledged by MQTT, per worker.",
      },
      {
        key: "parameters.mqtt_connector",
        label: "MQTT connector",
        type: "select",
        optionsFrom: "mqtt_connectors",
        nullable: true,
        placeholder: "default",
        help: "The mqtt connector mappings publish through.",
      },
    ],
  },
  bridgeHealth,
];

export const republishFields: Field[] = [
  { key: "topic", label: "Topic", type: "text", required: true, placeholder: "repub/${clientid}" },
  { key: "qos", label: "QoS", type: "text", def: "${qos}" },
  { key: "retain", label: "Retain", type: "text", def: "${flags.retain}" },
  { key: "payload", label: "Payload", type: "text", def: "${payload}" },
  {
    key: "user_properties",
    label: "User properties",
    type: "text",
    nullable: true,
    placeholder: "${pub_props.'User-Property'}",
  },
];

// ---- nested values by dotted path ----

export type Value = unknown;

export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function setPath<T>(obj: T, path: string, value: unknown): T {
  const parts = path.split(".");
  const root = structuredClone(obj) as Record<string, unknown>;
  let cur = root;
  parts.slice(0, -1).forEach((part) => {
    const next = cur[part];
    if (next === null || typeof next !== "object" || Array.isArray(next)) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  });
  const last = parts.at(-1);
  if (last !== undefined) cur[last] = value;
  return root as T;
}

export function allFields(sections: Section[]): Field[] {
  return sections.flatMap((s) => s.fields);
}

/** The form's starting value: the API's defaults. */
export function defaults(sections: Section[]): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const f of allFields(sections)) {
    if (f.type === "list") out = setPath(out, f.key, []);
    else if (f.def !== undefined) out = setPath(out, f.key, f.def);
  }
  return out;
}

/** What is sent: status and timestamps dropped, empty nullable fields as null. */
export function toBody(
  value: Record<string, unknown>,
  sections: Section[],
): Record<string, unknown> {
  const viewOnly = new Set(["status", "status_reason", "node_status", "created_at", "updated_at"]);
  let body = Object.fromEntries(
    Object.entries(structuredClone(value)).filter(([k]) => !viewOnly.has(k)),
  );
  for (const f of allFields(sections)) {
    const v = getPath(body, f.key);
    if (f.nullable && (v === "" || v === undefined)) body = setPath(body, f.key, null);
    if (f.type === "list" && Array.isArray(v) && f.item) {
      const items = f.item;
      body = setPath(
        body,
        f.key,
        v.map((entry: Record<string, unknown>) => {
          const copy = { ...entry };
          for (const sub of items) {
            if (sub.key === "qos" && typeof copy.qos === "string") copy.qos = Number(copy.qos);
          }
          return copy;
        }),
      );
    }
  }
  return body;
}
