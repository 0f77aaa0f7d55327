// Typed frames: a handler with a Standard Schema (valibot, a real library, and
// objects written by hand) gets the schema's output, and a frame that fails
// gets an invalid_frame error naming the path of the first issue, with the
// socket left up. The Hub runs over a small in-memory host and real workerd
// WebSocketPairs (memory-hub.ts).
import * as v from "valibot";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FrameSchemaError } from "../../src/host.ts";
import { ErrorCode, type HubApp, type StandardSchemaV1, withSchema } from "../../src/index.ts";
import { issueText } from "../../src/hub/frame-schema.ts";
import { hubWith } from "./memory-hub.ts";

const errors: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  errors.length = 0;
});

const Note = v.object({
  type: v.literal("note"),
  data: v.object({ text: v.pipe(v.string(), v.trim(), v.minLength(1)), tags: v.optional(v.array(v.string()), []) }),
});

describe("a handler with a valibot schema", () => {
  const seen: v.InferOutput<typeof Note>[] = [];
  const app: HubApp = {
    frames: {
      note: withSchema(Note, async (frame, connection, hub) => {
        seen.push(frame);
        await hub.deliver(frame.data, { from: connection.id });
      }),
    },
  };

  it("gets the schema's output, not the raw frame", async () => {
    seen.length = 0;
    const { send, next, client } = await hubWith(app);
    send({ type: "note", data: { text: "  hello  " }, extra: "dropped by v.object" });
    expect(await next()).toMatchObject({ type: "message", seq: 1, data: { text: "hello", tags: [] } });
    expect(seen).toEqual([{ type: "note", data: { text: "hello", tags: [] } }]);
    client.close(1000);
  });

  it("refuses a frame that fails with invalid_frame naming the first issue's path; the handler does not run and the socket stays up", async () => {
    seen.length = 0;
    const { send, next, client } = await hubWith(app);
    send({ type: "note", data: { text: 5 } });
    const refused = await next();
    expect(refused).toMatchObject({ type: "error", code: ErrorCode.InvalidFrame });
    expect(refused.message).toMatch(/^data\.text: .*Expected string/);
    send({ type: "note", data: { text: "ok", tags: ["a", 7] } });
    expect((await next()).message).toMatch(/^data\.tags\[1\]: .*Expected string/);
    send({ type: "note" });
    expect((await next()).message).toMatch(/^data: Invalid key: Expected "data"/);
    // Still up: a good frame goes through.
    send({ type: "note", data: { text: "after" } });
    expect(await next()).toMatchObject({ type: "message", seq: 1, data: { text: "after" } });
    expect(seen).toHaveLength(1);
    client.close(1000);
  });
});

describe("a handler with a schema written by hand", () => {
  /** An asynchronous schema, as the specification allows: `{ data: number[] }`, each item >= 0. */
  const Amounts: StandardSchemaV1<unknown, { data: number[] }> = {
    "~standard": {
      version: 1,
      vendor: "test",
      async validate(value) {
        await Promise.resolve();
        const data = (value as { data?: unknown }).data;
        if (!Array.isArray(data)) return { issues: [{ message: "Expected array", path: [{ key: "data" }] }] };
        const bad = data.findIndex((n) => typeof n !== "number" || n < 0);
        if (bad >= 0) return { issues: [{ message: "Expected a number >= 0", path: [{ key: "data" }, { key: bad }] }, { message: "second issue" }] };
        return { value: { data: data as number[] } };
      },
    },
  };
  let total = 0;
  const app: HubApp = {
    frames: {
      sum: withSchema(Amounts, async (frame, connection) => {
        total = frame.data.reduce((a, b) => a + b, 0);
        await connection.send({ type: "sum", total });
      }),
      broken: withSchema(
        { "~standard": { version: 1, vendor: "test", validate: () => { throw new Error("schema bug"); } } } satisfies StandardSchemaV1,
        () => {},
      ),
    },
  };

  it("awaits an asynchronous schema and hands the handler its value", async () => {
    const { send, next, client } = await hubWith(app);
    send({ type: "sum", data: [1, 2, 3.5] });
    expect(await next()).toEqual({ type: "sum", total: 6.5 });
    client.close(1000);
  });

  it("names the first issue's path (path segments as objects, an index in brackets)", async () => {
    const { send, next, client } = await hubWith(app);
    send({ type: "sum", data: [1, -2] });
    expect(await next()).toEqual({ type: "error", code: "invalid_frame", message: "data[1]: Expected a number >= 0" });
    send({ type: "sum", data: "nope" });
    expect(await next()).toEqual({ type: "error", code: "invalid_frame", message: "data: Expected array" });
    client.close(1000);
  });

  it("answers handler_failed, logged as one line, when the schema itself throws", async () => {
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void errors.push(args.map(String).join(" ")));
    const { send, next, client } = await hubWith(app);
    send({ type: "broken" });
    expect(await next()).toMatchObject({ type: "error", code: "handler_failed" });
    expect(errors).toEqual(['userhub: frame handler "broken" failed: Error: schema bug']);
    client.close(1000);
  });
});

describe("issueText", () => {
  it("writes the path as JavaScript would, and the message alone for the whole frame", () => {
    expect(issueText({ message: "Expected string", path: ["data", { key: "text" }] })).toBe("data.text: Expected string");
    expect(issueText({ message: "bad", path: [{ key: "items" }, 0, "name"] })).toBe("items[0].name: bad");
    expect(issueText({ message: "Expected object" })).toBe("Expected object");
    expect(issueText({ message: "x".repeat(500), path: ["data"] })).toHaveLength(200);
  });

  it("is the message of a FrameSchemaError, which keeps every issue", () => {
    const issues = [{ message: "first", path: ["a"] }, { message: "second" }];
    const error = new FrameSchemaError(issues);
    expect(error.message).toBe("a: first");
    expect(error.name).toBe("FrameSchemaError");
    expect(error.issues).toBe(issues);
  });
});
