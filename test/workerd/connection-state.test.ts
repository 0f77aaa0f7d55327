// Connection state: what an application keeps on one connection
// (`connection.state`, `connection.setState`), bounded, kept in the socket's
// attachment; through the demo Worker's real UserHub it survives the object
// being evicted (sockets hibernate, the hub is rebuilt and reads attachments
// afresh). Also the demo's schema-checked `note` frame on the real object.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type ConnectionAttachment, ConnectionStateUnserializableError, MAX_CONNECTION_STATE_BYTES } from "../../src/host.ts";
import { type Connection, ConnectionStateTooLargeError, ErrorCode, type HubApp } from "../../src/index.ts";
import type { UserHub } from "../../durable-objects/index.ts";
import { connect, hubOf } from "./hub-client.ts";
import { hubWith } from "./memory-hub.ts";

let users = 0;
const user = (name: string) => `${name}-state-${++users}`;

/** Each socket's stored attachment, by connection id. */
async function attachments(userId: string): Promise<Record<string, ConnectionAttachment>> {
  return await runInDurableObject(hubOf(userId), (_instance: UserHub, state) =>
    Object.fromEntries(
      state.getWebSockets().map((ws) => {
        const attachment = ws.deserializeAttachment() as ConnectionAttachment;
        return [attachment.connectionId, attachment];
      }),
    ),
  );
}

describe("connection.state in an application", () => {
  interface Profile {
    name: string;
    visits: number;
  }
  const app: HubApp = {
    frames: {
      async set(frame, connection) {
        await connection.send({ type: "state", data: connection.setState(frame.data) });
      },
      async visit(_frame, c) {
        const connection = c as Connection<Profile>;
        const next = connection.setState((previous) => ({ name: previous?.name ?? "anonymous", visits: (previous?.visits ?? 0) + 1 }));
        await connection.send({ type: "state", data: next });
      },
      async mutate(_frame, connection) {
        (connection.state as Profile).visits = 1000;
        await connection.send({ type: "state", data: connection.state });
      },
      async bigint(_frame, connection) {
        try {
          connection.setState({ n: 1n });
        } catch (error) {
          await connection.send({ type: "refused", name: (error as Error).name, isNamed: error instanceof ConnectionStateUnserializableError });
        }
      },
    },
  };

  it("starts null, is set, updated from the previous value, read as a copy, and cleared with null; it lives in the attachment as JSON", async () => {
    const { send, next, host, server, client } = await hubWith(app);
    send({ type: "visit" });
    expect(await next()).toEqual({ type: "state", data: { name: "anonymous", visits: 1 } });
    send({ type: "set", data: { name: "laptop", visits: 1 } });
    expect(await next()).toEqual({ type: "state", data: { name: "laptop", visits: 1 } });
    send({ type: "visit" });
    expect(await next()).toEqual({ type: "state", data: { name: "laptop", visits: 2 } });
    expect(host.readAttachment(server)!.state).toBe('{"name":"laptop","visits":2}');
    // Mutating what `state` returned changes nothing kept.
    send({ type: "mutate" });
    expect(await next()).toEqual({ type: "state", data: { name: "laptop", visits: 2 } });
    send({ type: "set", data: null });
    expect(await next()).toEqual({ type: "state", data: null });
    expect(host.readAttachment(server)).not.toHaveProperty("state");
    client.close(1000);
  });

  it("refuses a state past MAX_CONNECTION_STATE_BYTES with a state_too_large error; the state is unchanged and the socket stays", async () => {
    const { send, next, host, server, client } = await hubWith(app);
    send({ type: "set", data: { name: "kept" } });
    await next();
    // "é" is 2 UTF-8 bytes: measured in bytes, not characters.
    const tooLarge = "é".repeat(MAX_CONNECTION_STATE_BYTES / 2);
    send({ type: "set", data: tooLarge });
    const refused = await next();
    expect(refused).toMatchObject({ type: "error", code: ErrorCode.StateTooLarge });
    expect(refused.message).toBe(
      `the "set" handler's connection state is ${MAX_CONNECTION_STATE_BYTES + 2} bytes as JSON, over the ${MAX_CONNECTION_STATE_BYTES}-byte limit; it was not changed`,
    );
    expect(host.readAttachment(server)!.state).toBe('{"name":"kept"}');
    // At the limit exactly, it fits (2 quotes + 2046 ASCII characters).
    send({ type: "set", data: "a".repeat(MAX_CONNECTION_STATE_BYTES - 2) });
    expect(await next()).toMatchObject({ type: "state" });
    expect(new TextEncoder().encode(JSON.stringify(host.readAttachment(server))).byteLength).toBeLessThan(16 * 1024);
    client.close(1000);
  });

  it("refuses a value with no JSON form with a named error the handler can catch", async () => {
    const { send, next, client } = await hubWith(app);
    send({ type: "bigint" });
    expect(await next()).toEqual({ type: "refused", name: "ConnectionStateUnserializableError", isNamed: true });
    client.close(1000);
    expect(new ConnectionStateTooLargeError(3000)).toBeInstanceOf(RangeError);
  });
});

describe("the demo's state frame on the UserHub Durable Object", () => {
  it("keeps each connection's state apart, and through the object's eviction (hibernation)", async () => {
    const alice = user("alice");
    const laptop = await connect(alice);
    const phone = await connect(alice);
    laptop.sendJson({ type: "state", data: { device: "laptop" } });
    expect(await laptop.next()).toEqual({ type: "state", data: { device: "laptop" } });
    const stored = await attachments(alice);
    expect(stored[laptop.welcome.connectionId as string]!.state).toBe('{"device":"laptop"}');
    expect(stored[phone.welcome.connectionId as string]!.state).toBeUndefined();

    await evictDurableObject(hubOf(alice));
    laptop.sendJson({ type: "state" });
    expect(await laptop.next()).toEqual({ type: "state", data: { device: "laptop" } });
    phone.sendJson({ type: "state" });
    expect(await phone.next()).toEqual({ type: "state", data: null });
    laptop.socket.close(1000);
    phone.socket.close(1000);
  });
  it("answers state_too_large when merged fields pass the bound, and keeps the old state through an eviction", async () => {
    const alice = user("alice");
    const client = await connect(alice);
    // The test Worker takes frames of at most 1 KiB: three fields of 900 characters pass the 2 KiB bound.
    const field = "x".repeat(900);
    for (const key of ["one", "two"]) {
      client.sendJson({ type: "state", data: { [key]: field } });
      await client.next();
    }
    client.sendJson({ type: "state", data: { three: field } });
    expect(await client.next()).toMatchObject({ type: "error", code: "state_too_large" });
    await evictDurableObject(hubOf(alice));
    client.sendJson({ type: "state" });
    expect(await client.next()).toEqual({ type: "state", data: { one: field, two: field } });
    client.socket.close(1000);
  });
});

describe("the demo's schema-checked note frame on the UserHub Durable Object", () => {
  it("refuses a note whose text is not a string with invalid_frame naming data.text, and delivers a good one", async () => {
    const alice = user("alice");
    const client = await connect(alice);
    client.sendJson({ type: "note", data: { text: 5 } });
    expect(await client.next()).toEqual({ type: "error", code: "invalid_frame", message: "data.text: Expected string" });
    client.sendJson({ type: "note", data: "just text" });
    expect(await client.next()).toEqual({ type: "error", code: "invalid_frame", message: "data: Expected object" });
    client.sendJson({ type: "note", data: { text: "hello" } });
    expect(await client.next()).toMatchObject({ type: "message", seq: 1, data: { text: "hello" }, from: client.welcome.connectionId });
    client.socket.close(1000);
  });
});
