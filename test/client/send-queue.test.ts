import { describe, expect, it } from "vitest";
import { QueueFullError } from "../../src/client/errors.ts";
import { DEFAULT_SEND_QUEUE, SendQueue } from "../../src/client/send-queue.ts";

function contents(queue: SendQueue): string[] {
  const out: string[] = [];
  queue.drain((text) => out.push(text));
  return out;
}

describe("SendQueue", () => {
  it("defaults to 1000 messages and 1 MiB", () => {
    expect(DEFAULT_SEND_QUEUE).toEqual({ maxMessages: 1000, maxBytes: 1024 * 1024 });
    const queue = new SendQueue();
    expect([queue.maxMessages, queue.maxBytes]).toEqual([1000, 1024 * 1024]);
    for (let i = 0; i < 1000; i++) queue.push("x");
    expect(() => queue.push("x")).toThrow(QueueFullError);
  });

  it("bounds the count: the push past it throws QueueFullError and changes nothing", () => {
    const queue = new SendQueue({ maxMessages: 3 });
    queue.push("a");
    queue.push("b");
    queue.push("c");
    let error: unknown;
    try {
      queue.push("d");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toMatchObject({ name: "QueueFullError", limit: "messages", maxMessages: 3, messageBytes: 1 });
    expect(queue.size).toBe(3);
    expect(queue.bytes).toBe(3);
    expect(contents(queue)).toEqual(["a", "b", "c"]);
  });

  it("bounds UTF-8 bytes, not UTF-16 length: é is 2 bytes, 😀 is 4", () => {
    const queue = new SendQueue({ maxBytes: 10 });
    queue.push("é"); // 2 bytes, JS length 1
    queue.push("😀"); // 4 bytes, JS length 2
    expect(queue.bytes).toBe(6);
    queue.push("€"); // 3 bytes, JS length 1
    expect(queue.bytes).toBe(9);
    expect(() => queue.push("é")).toThrow(QueueFullError); // 11 > 10, although the JS lengths add up to 5
    queue.push("a"); // exactly 10 fits
    expect(queue.bytes).toBe(10);
  });

  it("refuses by bytes with QueueFullError, and accepts again once bytes are freed", () => {
    const queue = new SendQueue({ maxBytes: 10 });
    queue.push("é");
    queue.push("😀");
    expect(() => queue.push("ab€")).toThrow(QueueFullError);
    try {
      queue.push("ab€");
    } catch (error) {
      expect(error).toMatchObject({ limit: "bytes", messageBytes: 5, maxBytes: 10 });
      expect((error as Error).message).toContain("would pass");
    }
    expect(queue.bytes).toBe(6);
    expect(queue.shift()).toBe("é");
    expect(queue.bytes).toBe(4);
    queue.push("ab€");
    expect(queue.bytes).toBe(9);
    expect(contents(queue)).toEqual(["😀", "ab€"]);
    expect(queue.bytes).toBe(0);
  });

  it("refuses a single message larger than the whole byte bound, saying so", () => {
    const queue = new SendQueue({ maxBytes: 8 });
    expect(() => queue.push("€€€")).toThrow(/9 bytes is larger than/);
    expect(queue.size).toBe(0);
  });

  it("drains in order, and keeps the rest in order when a write throws", () => {
    const queue = new SendQueue();
    for (const text of ["1", "2", "3", "4"]) queue.push(text);
    const written: string[] = [];
    expect(() =>
      queue.drain((text) => {
        if (text === "3") throw new Error("socket gone");
        written.push(text);
      }),
    ).toThrow("socket gone");
    expect(written).toEqual(["1", "2"]);
    expect(queue.size).toBe(2);
    expect(queue.peek()).toBe("3");
    queue.push("5");
    expect(contents(queue)).toEqual(["3", "4", "5"]);
  });

  it("keeps FIFO order across interleaved pushes and shifts", () => {
    const queue = new SendQueue({ maxMessages: 2 });
    queue.push("a");
    queue.push("b");
    expect(queue.shift()).toBe("a");
    queue.push("c");
    expect(queue.shift()).toBe("b");
    expect(queue.shift()).toBe("c");
    expect(queue.shift()).toBeUndefined();
    expect(queue.peek()).toBeUndefined();
    expect([queue.size, queue.bytes]).toEqual([0, 0]);
  });

  it("clear() empties it", () => {
    const queue = new SendQueue();
    queue.push("a");
    queue.clear();
    expect([queue.size, queue.bytes]).toEqual([0, 0]);
  });

  it("refuses bounds that are not whole numbers >= 1", () => {
    expect(() => new SendQueue({ maxMessages: 0 })).toThrow(RangeError);
    expect(() => new SendQueue({ maxBytes: 1.5 })).toThrow(RangeError);
  });
});
