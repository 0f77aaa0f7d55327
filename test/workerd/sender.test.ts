import { describe, expect, it, vi } from "vitest";
import { CloseCode } from "../../src/index.ts";
import { CloseReason, type GoneReason, Sender, type SenderOptions, type WritableSocket } from "../../src/host.ts";
import { type SendOutcome, SentTally } from "../../src/hub/sender.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise the test settles when it wants: a producer that is slow for as long as needed. */
function gate<T>(): { promise: Promise<T>; release: (value: T) => void } {
  let release!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

/** A real workerd socket pair, both ends accepted, recording what the client end sees. */
function socketPair() {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  const received: string[] = [];
  const clientCloses: { code: number; reason: string }[] = [];
  const serverCloses: number[] = [];
  client.addEventListener("message", (event) => {
    // Binary frames arrive as a Blob under this compatibility date, an ArrayBuffer under older ones.
    const data: unknown = event.data;
    if (typeof data === "string") received.push(data);
    else received.push(`<${data instanceof Blob ? data.size : (data as ArrayBuffer).byteLength} bytes>`);
  });
  client.addEventListener("close", (event) => {
    clientCloses.push({ code: event.code, reason: event.reason });
  });
  server.addEventListener("close", (event) => {
    serverCloses.push(event.code);
  });
  server.accept();
  client.accept();
  return { client, server, received, clientCloses, serverCloses };
}

/** Wraps a socket to count what the Sender asks of it, forwarding to the real one. */
function spied(socket: WebSocket) {
  const calls = { send: 0, close: [] as [number | undefined, string | undefined][] };
  const wrapped: WritableSocket = {
    send(data) {
      calls.send++;
      socket.send(data);
    },
    close(code, reason) {
      calls.close.push([code, reason]);
      socket.close(code, reason);
    },
    get readyState() {
      return socket.readyState;
    },
  };
  return { wrapped, calls };
}

/** A socket that records what it is asked to do: only for bufferedAmount, which workerd sockets do not expose. */
class RecordingSocket implements WritableSocket {
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: (string | ArrayBuffer)[] = [];
  readonly closes: [number | undefined, string | undefined][] = [];

  send(data: string | ArrayBuffer): void {
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closes.push([code, reason]);
    this.readyState = 3;
  }
}

/** A Sender with onGone and onError recorded. */
function senderOn(socket: WritableSocket, options: SenderOptions = {}) {
  const gone: GoneReason[] = [];
  const errors: unknown[] = [];
  const sender = new Sender(socket, {
    onGone: (reason) => {
      gone.push(reason);
    },
    onError: (error) => {
      errors.push(error);
    },
    ...options,
  });
  return { sender, gone, errors };
}

describe("order", () => {
  it("holds when an earlier producer awaits", async () => {
    const { server, received } = socketPair();
    const { sender } = senderOn(server);
    const outcomes = Promise.all([
      sender.send(async () => {
        await sleep(20);
        return "a";
      }),
      sender.send("b"),
      sender.send(Promise.resolve("c")),
    ]);
    expect(sender.queued).toBe(3);
    expect(await outcomes).toEqual(["sent", "sent", "sent"]);
    await vi.waitFor(() => expect(received).toEqual(["a", "b", "c"]));
    expect(sender.queued).toBe(0);
  });

  it("writes a string at once when nothing is waiting", () => {
    const { server } = socketPair();
    const { wrapped, calls } = spied(server);
    const { sender } = senderOn(wrapped);
    void sender.send("now");
    expect(calls.send).toBe(1);
  });

  it("sendNow answers a write that happened (or was refused) at once with its outcome, and one that waits with a promise", async () => {
    const { server, received } = socketPair();
    const { sender } = senderOn(server);
    expect(sender.sendNow("a")).toBe("sent");
    const slow = gate<string>();
    void sender.send(() => slow.promise);
    const waiting = sender.sendNow("c");
    expect(waiting).toBeInstanceOf(Promise);
    slow.release("b");
    expect(await waiting).toBe("sent");
    await vi.waitFor(() => expect(received).toEqual(["a", "b", "c"]));
    sender.close();
    expect(sender.sendNow("d")).toBe("closed");
  });

  it("SentTally counts a fan-out's writes: a number when all were settled at once, a promise once the waiting ones are", async () => {
    const tally = (outcomes: (SendOutcome | Promise<SendOutcome>)[]) => {
      const counted = new SentTally();
      for (const outcome of outcomes) counted.add(outcome);
      return counted.total();
    };
    expect(tally(["sent", "closed", "sent", "overflow", "failed"])).toBe(2);
    expect(tally([])).toBe(0);
    const slow = gate<"sent" | "closed">();
    const counted = tally(["sent", slow.promise, Promise.resolve("sent" as const), Promise.resolve("closed" as const)]);
    expect(counted).toBeInstanceOf(Promise);
    slow.release("sent");
    expect(await counted).toBe(3);
  });

  it("writes an array's frames back to back, before any later write", async () => {
    const { server, received } = socketPair();
    const { sender } = senderOn(server);
    const slow = gate<string[]>();
    const outcomes = Promise.all([
      sender.send(() => slow.promise),
      sender.send("4"),
      sender.send(() => ["5", new Uint8Array([1, 2]).buffer]),
      sender.send("6"),
    ]);
    slow.release(["1", "2", "3"]);
    expect(await outcomes).toEqual(["sent", "sent", "sent", "sent"]);
    await vi.waitFor(() => expect(received).toEqual(["1", "2", "3", "4", "5", "<2 bytes>", "6"]));
  });
});

describe("producer failures", () => {
  it("a rejecting producer yields failed, goes to onError, and later writes still go", async () => {
    const { server, received } = socketPair();
    const { sender, errors, gone } = senderOn(server);
    const boom = new Error("storage down");
    const outcomes = Promise.all([
      sender.send("before"),
      sender.send(() => Promise.reject(boom)),
      sender.send(() => {
        throw new Error("encode failed");
      }),
      sender.send("after"),
    ]);
    expect(await outcomes).toEqual(["sent", "failed", "failed", "sent"]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBe(boom);
    expect(String(errors[1])).toContain("encode failed");
    expect(gone).toEqual([]);
    expect(sender.closed).toBe(false);
    await vi.waitFor(() => expect(received).toEqual(["before", "after"]));
  });

  it("a promise that rejects while it waits its turn is handled, not left unhandled", async () => {
    const unhandled: unknown[] = [];
    const listener = (event: PromiseRejectionEvent) => {
      unhandled.push(event.reason);
      event.preventDefault();
    };
    addEventListener("unhandledrejection", listener);
    try {
      const { server, received } = socketPair();
      const { sender, errors } = senderOn(server);
      const slow = gate<string>();
      const first = sender.send(slow.promise);
      const late = new Error("rejected while queued");
      const second = sender.send(Promise.reject(late));
      // Give the runtime time to report an unhandled rejection, if there is one.
      await sleep(20);
      slow.release("a");
      expect(await first).toBe("sent");
      expect(await second).toBe("failed");
      expect(errors).toEqual([late]);
      expect(unhandled).toEqual([]);
      await vi.waitFor(() => expect(received).toEqual(["a"]));
    } finally {
      removeEventListener("unhandledrejection", listener);
    }
  });
});

describe("close", () => {
  it("after close() nothing more is written, and send resolves closed without throwing", async () => {
    const { server, received, clientCloses } = socketPair();
    const { wrapped, calls } = spied(server);
    const { sender, gone, errors } = senderOn(wrapped);
    expect(sender.close()).toBe(true);
    expect(sender.closed).toBe(true);
    expect(await sender.send("late")).toBe("closed");
    expect(await sender.send(async () => "late too")).toBe("closed");
    await vi.waitFor(() => expect(clientCloses).toEqual([{ code: CloseCode.Normal, reason: "normal closure" }]));
    expect(received).toEqual([]);
    expect(calls.send).toBe(0);
    expect(errors).toEqual([]);
    expect(gone).toEqual(["closed"]);
  });

  it("close() waits for queued writes, then sends the close frame", async () => {
    const { server, received, clientCloses } = socketPair();
    const { sender } = senderOn(server);
    const slow = gate<string>();
    const outcomes = Promise.all([sender.send(slow.promise), sender.send("b")]);
    expect(sender.close(CloseCode.GoingAway)).toBe(true);
    expect(await sender.send("c")).toBe("closed");
    slow.release("a");
    expect(await outcomes).toEqual(["sent", "sent"]);
    await vi.waitFor(() => expect(clientCloses).toEqual([{ code: CloseCode.GoingAway, reason: "going away" }]));
    expect(received).toEqual(["a", "b"]);
  });

  it("calls onGone exactly once, however many writes follow the close", async () => {
    const { server } = socketPair();
    const { sender, gone } = senderOn(server);
    sender.close();
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => sender.send(i % 2 === 0 ? `m${i}` : async () => `m${i}`)));
    expect(new Set(outcomes)).toEqual(new Set(["closed"]));
    expect(gone).toEqual(["closed"]);
  });

  it("answerClose(1005) answers with 1000, once", async () => {
    const { server, clientCloses } = socketPair();
    const { wrapped, calls } = spied(server);
    const { sender, gone } = senderOn(wrapped);
    sender.answerClose(1005);
    await vi.waitFor(() => expect(clientCloses).toHaveLength(1));
    expect(clientCloses[0]!.code).toBe(CloseCode.Normal);
    expect(calls.close).toEqual([[1000, ""]]);

    sender.answerClose(1000);
    expect(sender.close()).toBe(false);
    expect(sender.abort(CloseCode.InternalError)).toBe(false);
    expect(calls.close).toHaveLength(1);
    expect(gone).toEqual(["closed"]);
  });

  it("answerClose echoes the peer's code", async () => {
    const { server, clientCloses } = socketPair();
    const { sender } = senderOn(server);
    sender.answerClose(4100, "bye");
    await vi.waitFor(() => expect(clientCloses).toEqual([{ code: 4100, reason: "bye" }]));
  });

  it.each([1004, 1016, 2999, 999, 5000])("answerClose(%i), a code a close frame may not carry, is answered with 1000: the peer gets an answer", async (code) => {
    const { server, clientCloses } = socketPair();
    const { sender } = senderOn(server);
    sender.answerClose(code, "bye");
    await vi.waitFor(() => expect(clientCloses).toEqual([{ code: 1000, reason: "bye" }]));
  });

  it("answerClose with a reason longer than a close frame carries answers with it cut to 123 bytes", async () => {
    const { server, clientCloses } = socketPair();
    const { sender } = senderOn(server);
    sender.answerClose(1000, "r".repeat(124));
    await vi.waitFor(() => expect(clientCloses).toEqual([{ code: 1000, reason: "r".repeat(123) }]));
  });

  it("answerClose after close() does not send a second close frame", async () => {
    const { server, clientCloses } = socketPair();
    const { wrapped, calls } = spied(server);
    const { sender, gone } = senderOn(wrapped);
    sender.close(CloseCode.HeartbeatTimeout);
    sender.answerClose(1000);
    await vi.waitFor(() => expect(clientCloses).toEqual([{ code: 4000, reason: CloseReason[4000] }]));
    expect(calls.close).toEqual([[4000, CloseReason[4000]]]);
    expect(gone).toEqual(["closed"]);
  });

  it("writes the closing notice just before each close frame it starts (close, abort, overflow), never before answering the peer's close", async () => {
    const notice = (code: number, reason: string) => `closing ${code} ${reason}`;
    const started = socketPair();
    senderOn(started.server, { closingNotice: notice }).sender.close(4100, "left");
    await vi.waitFor(() => expect(started.clientCloses).toEqual([{ code: 4100, reason: "left" }]));
    expect(started.received).toEqual(["closing 4100 left"]);

    const aborted = socketPair();
    const abortSender = senderOn(aborted.server, { closingNotice: notice }).sender;
    abortSender.send("first");
    abortSender.abort(CloseCode.Revoked, "revoked");
    await vi.waitFor(() => expect(aborted.clientCloses).toHaveLength(1));
    expect(aborted.received).toEqual(["first", "closing 4003 revoked"]);

    const overflowed = socketPair();
    const slow = senderOn(overflowed.server, { closingNotice: notice, maxQueuedMessages: 1 }).sender;
    const { promise, release } = gate<string>();
    slow.send(promise);
    expect(await slow.send("one too many")).toBe("overflow");
    await vi.waitFor(() => expect(overflowed.clientCloses).toHaveLength(1));
    expect(overflowed.received).toEqual([`closing ${CloseCode.SlowConsumer} ${CloseReason[CloseCode.SlowConsumer]}`]);
    release("late");

    const answered = socketPair();
    senderOn(answered.server, { closingNotice: notice }).sender.answerClose(1000, "bye");
    await vi.waitFor(() => expect(answered.clientCloses).toHaveLength(1));
    expect(answered.received).toEqual([]);
  });

  it("abort() closes at once and drops queued writes (they resolve closed)", async () => {
    const { server, received, clientCloses } = socketPair();
    const { wrapped, calls } = spied(server);
    const { sender, errors } = senderOn(wrapped);
    const slow = gate<string>();
    const outcomes = Promise.all([sender.send(slow.promise), sender.send("b"), sender.send(() => ["c", "d"])]);
    expect(sender.abort(CloseCode.InternalError)).toBe(true);
    expect(calls.close).toEqual([[CloseCode.InternalError, "internal error"]]);
    slow.release("a");
    expect(await outcomes).toEqual(["closed", "closed", "closed"]);
    await vi.waitFor(() => expect(clientCloses).toEqual([{ code: CloseCode.InternalError, reason: "internal error" }]));
    expect(received).toEqual([]);
    expect(calls.send).toBe(0);
    expect(errors).toEqual([]);
    expect(sender.abort(CloseCode.InternalError)).toBe(false);
  });

  it("a send to a socket the peer already closed resolves closed and does not throw", async () => {
    const { client, server, serverCloses } = socketPair();
    const { sender, gone, errors } = senderOn(server);
    client.close(1000, "done");
    await vi.waitFor(() => expect(serverCloses).toEqual([1000]));
    expect(await sender.send("too late")).toBe("closed");
    expect(await sender.send(async () => "too late as well")).toBe("closed");
    expect(errors).toEqual([]);
    expect(gone).toEqual(["closed"]);
  });
});

describe("slow consumers", () => {
  it("overflows on the message bound: the third queued send is refused and the socket closed with 4002", async () => {
    const { server, received, clientCloses } = socketPair();
    const { sender, gone } = senderOn(server, { maxQueuedMessages: 2 });
    const slow = gate<string>();
    const first = sender.send(() => slow.promise);
    const second = sender.send("b");
    expect(sender.queued).toBe(2);
    expect(await sender.send("c")).toBe("overflow");
    expect(sender.closed).toBe(true);
    expect(gone).toEqual(["overflow"]);
    await vi.waitFor(() => expect(clientCloses).toEqual([{ code: CloseCode.SlowConsumer, reason: "slow consumer" }]));

    slow.release("a");
    expect(await first).toBe("closed");
    expect(await second).toBe("closed");
    expect(await sender.send("d")).toBe("closed");
    expect(gone).toEqual(["overflow"]);
    expect(received).toEqual([]);
  });

  it("overflows on the byte bound, counting UTF-8 bytes of queued text", async () => {
    const { server, clientCloses } = socketPair();
    const { sender, gone } = senderOn(server, { maxQueuedBytes: 10 });
    const slow = gate<string>();
    void sender.send(() => slow.promise);
    void sender.send("12345");
    void sender.send("€é"); // 5 bytes in 2 code units: exactly at the bound, still accepted
    expect(sender.queued).toBe(3);
    expect(await sender.send("x")).toBe("overflow");
    expect(gone).toEqual(["overflow"]);
    await vi.waitFor(() => expect(clientCloses).toEqual([{ code: CloseCode.SlowConsumer, reason: "slow consumer" }]));
    slow.release("a");
  });

  it("frees the bounds as queued writes go out", async () => {
    const { server, received } = socketPair();
    const { sender, gone } = senderOn(server, { maxQueuedMessages: 2 });
    for (let round = 0; round < 5; round++) {
      const outcomes = Promise.all([sender.send(async () => `a${round}`), sender.send(`b${round}`)]);
      expect(await outcomes).toEqual(["sent", "sent"]);
    }
    expect(gone).toEqual([]);
    await vi.waitFor(() => expect(received).toHaveLength(10));
  });

  it("counts the runtime's bufferedAmount toward the byte bound", async () => {
    const socket = new RecordingSocket();
    const { sender, gone } = senderOn(socket, { maxQueuedBytes: 100 });

    socket.bufferedAmount = 100;
    expect(await sender.send("at the bound")).toBe("sent");

    const slow = gate<string>();
    const first = sender.send(() => slow.promise);
    socket.bufferedAmount = 50;
    expect(await sender.send("x".repeat(51))).toBe("overflow");
    expect(socket.closes).toEqual([[CloseCode.SlowConsumer, "slow consumer"]]);
    expect(gone).toEqual(["overflow"]);
    slow.release("late");
    expect(await first).toBe("closed");
    expect(socket.sent).toEqual(["at the bound"]);
  });

  it("closes a socket whose runtime buffer is past the bound, even with an empty queue", async () => {
    const socket = new RecordingSocket();
    socket.bufferedAmount = 101;
    const { sender, gone, errors } = senderOn(socket, { maxQueuedBytes: 100 });
    expect(await sender.send("x")).toBe("overflow");
    expect(socket.closes).toEqual([[CloseCode.SlowConsumer, "slow consumer"]]);
    expect(socket.sent).toEqual([]);
    expect(gone).toEqual(["overflow"]);
    expect(errors).toEqual([]);
  });
});
