// Just enough MQTT 3.1.1 for the browser tests: publish QoS 0 messages, and subscribe (QoS 0) to
// see what the workers publish: CONNECT, PUBLISH…, SUBSCRIBE, DISCONNECT.

import { connect, type Socket } from "node:net";

function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

function str(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function packet(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), remainingLength(body.length), body]);
}

/** Splits a byte stream into MQTT packets: [first byte, body]. */
class PacketReader {
  private buffer = Buffer.alloc(0);
  push(data: Buffer): [number, Buffer][] {
    this.buffer = Buffer.concat([this.buffer, data]);
    const out: [number, Buffer][] = [];
    for (;;) {
      let length = 0;
      let multiplier = 1;
      let i = 1;
      let complete = false;
      while (i < this.buffer.length && i <= 4) {
        const byte = this.buffer[i] ?? 0;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        i++;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || this.buffer.length < i + length) return out;
      out.push([this.buffer[0] ?? 0, this.buffer.subarray(i, i + length)]);
      this.buffer = this.buffer.subarray(i + length);
    }
  }
}

async function open(server: string, onPacket: (type: number, body: Buffer) => void) {
  const [host = "127.0.0.1", port = "1883"] = server.split(":");
  const socket = connect(Number(port), host);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const reader = new PacketReader();
  let connected: (ok: boolean) => void = () => undefined;
  const connack = new Promise<boolean>((resolve) => (connected = resolve));
  socket.on("data", (data: Buffer) => {
    for (const [type, body] of reader.push(data)) {
      if (type === 0x20) connected(body[1] === 0);
      else onPacket(type, body);
    }
  });
  const clientId = `console-test-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  socket.write(
    packet(0x10, Buffer.concat([str("MQTT"), Buffer.from([4, 0x02, 0, 30]), str(clientId)])),
  );
  if (!(await connack)) throw new Error("MQTT CONNECT refused");
  return socket;
}

async function close(socket: Socket): Promise<void> {
  await new Promise<void>((resolve) => socket.end(packet(0xe0, Buffer.alloc(0)), resolve));
}

export async function publish(
  server: string,
  messages: { topic: string; payload: string }[],
): Promise<void> {
  const socket = await open(server, () => undefined);
  for (const m of messages)
    socket.write(packet(0x30, Buffer.concat([str(m.topic), Buffer.from(m.payload, "utf8")])));
  await close(socket);
}

export interface Received {
  topic: string;
  payload: string;
}

export interface Subscription {
  received: Received[];
  close: () => Promise<void>;
}

/** Subscribes to `filter` at QoS 0; resolves once the broker acknowledged the subscription. */
export async function subscribe(server: string, filter: string): Promise<Subscription> {
  const received: Received[] = [];
  let subscribed: () => void = () => undefined;
  const suback = new Promise<void>((resolve) => (subscribed = resolve));
  const socket = await open(server, (type, body) => {
    if (type === 0x90) subscribed();
    else if (type >> 4 === 3) {
      const qos = (type >> 1) & 3;
      const topicLength = body.readUInt16BE(0);
      const topic = body.subarray(2, 2 + topicLength).toString("utf8");
      const payloadStart = 2 + topicLength + (qos > 0 ? 2 : 0);
      received.push({ topic, payload: body.subarray(payloadStart).toString("utf8") });
    }
  });
  socket.write(packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(filter), Buffer.from([0])])));
  await suback;
  return { received, close: () => close(socket) };
}
