/** A Deno WebSocket client for tests: collects frames, and waits for one with a deadline instead of sleeping. */
export interface TestSocket {
  readonly socket: WebSocket;
  /** Every frame received so far, in order (JSON frames parsed, `pong` as the string). */
  readonly frames: unknown[];
  /** Settles when the socket opened, or rejects when it closed first. */
  readonly opened: Promise<void>;
  /** Settles with the close event's code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The first frame (from the start) that `match` accepts, waiting up to `timeoutMs`. */
  next<T = Record<string, unknown>>(match: (frame: Record<string, unknown> | string) => boolean, timeoutMs?: number): Promise<T>;
  send(data: string | Uint8Array): void;
  /** Closes and waits for the close event. */
  close(code?: number, reason?: string): Promise<{ code: number; reason: string }>;
}

/** Opens a socket to `url` with `token` in the browser carrier (`userhub.v1, bearer.<jwt>`). */
export function openSocket(url: string, token: string, options: { protocols?: string[] } = {}): TestSocket {
  const socket = new WebSocket(url, options.protocols ?? ["userhub.v1", `bearer.${token}`]);
  const frames: unknown[] = [];
  const waiters = new Set<() => void>();
  let openedState: "pending" | "open" | "closed" = "pending";
  const opened = new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => {
      openedState = "open";
      resolve();
    });
    socket.addEventListener("close", () => {
      if (openedState === "pending") reject(new Error("socket closed before it opened"));
      openedState = "closed";
    });
  });
  opened.catch(() => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.addEventListener("close", (event) => {
      resolve({ code: event.code, reason: event.reason });
      for (const wake of waiters) wake();
    });
  });
  socket.addEventListener("message", (event) => {
    const data = event.data;
    if (typeof data === "string") {
      try {
        frames.push(data === "pong" ? data : JSON.parse(data));
      } catch {
        frames.push(data);
      }
    } else {
      frames.push(data);
    }
    for (const wake of waiters) wake();
  });
  const next = <T>(match: (frame: Record<string, unknown> | string) => boolean, timeoutMs = 10_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const found = frames.find((frame) => match(frame as Record<string, unknown> | string));
        if (found !== undefined) {
          done();
          resolve(found as T);
          return true;
        }
        if (socket.readyState === WebSocket.CLOSED) {
          done();
          reject(new Error(`socket closed before the frame arrived; got ${JSON.stringify(frames)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      if (!check()) waiters.add(check);
    });
  return {
    socket,
    frames,
    opened,
    closed,
    next,
    send: (data) => socket.send(data),
    close: (code = 1000, reason = "") => {
      if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) socket.close(code, reason);
      return closed;
    },
  };
}

/** Matches the frame of `type`. */
export const ofType = (type: string) => (frame: Record<string, unknown> | string): boolean =>
  typeof frame === "object" && frame.type === type;

/** Polls `condition` until it holds, up to `timeoutMs`. */
export async function eventually(condition: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
