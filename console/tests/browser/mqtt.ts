// Just enough MQTT 3.1.1 to publish QoS 0 test messages: CONNECT, PUBLISH…, DISCONNECT.

import { connect } from "node:net";

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

export async function publish(
  server: string,
  messages: { topic: string; payload: string }[],
): Promise<void> {
  const [host = "127.0.0.1", port = "1883"] = server.split(":");
  const socket = connect(Number(port), host);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const connack = new Promise<void>((resolve, reject) => {
    socket.once("data", (data: Buffer) =>
      data[0] === 0x20 && data[3] === 0 ? resolve() : reject(new Error("MQTT CONNECT refused")),
    );
  });
  const clientId = `console-test-${Date.now()}`;
  const connectBody = Buffer.concat([str("MQTT"), Buffer.from([4, 0x02, 0, 30]), str(clientId)]);
  socket.write(packet(0x10, connectBody));
  await connack;
  for (const m of messages)
    socket.write(packet(0x30, Buffer.concat([str(m.topic), Buffer.from(m.payload, "utf8")])));
  await new Promise<void>((resolve) => socket.end(packet(0xe0, Buffer.alloc(0)), resolve));
}
