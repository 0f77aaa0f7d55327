/**
 * The part of a WebSocket the client uses. The standard `WebSocket` of
 * browsers, Deno and Node 22 fits it, and so does a scripted fake in tests.
 */

/**
 * The close event's fields the client reads. Optional on top of `Event`, so
 * that any `EventTarget`-based socket fits as well as the standard one
 * (whose `CloseEvent` has them all); a missing code reads as 1006.
 */
export type SocketCloseEvent = Event & { readonly code?: number; readonly reason?: string; readonly wasClean?: boolean };

/** The message event's field the client reads (a `MessageEvent`'s `data`), optional on top of `Event` for the same reason. */
export type SocketMessageEvent = Event & { readonly data?: unknown };

/**
 * A WebSocket as the client drives it. Listeners go through
 * `addEventListener`, the one API every standard WebSocket shares (also the
 * `ws` package's, if you inject it on an older Node).
 */
export interface ClientWebSocket {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (event: SocketMessageEvent) => void): void;
  addEventListener(type: "close", listener: (event: SocketCloseEvent) => void): void;
  addEventListener(type: "error", listener: (event: Event) => void): void;
  removeEventListener(type: "message", listener: (event: SocketMessageEvent) => void): void;
  removeEventListener(type: "close", listener: (event: SocketCloseEvent) => void): void;
  removeEventListener(type: "error", listener: (event: Event) => void): void;
}

/** `new WebSocket(url, protocols)`, as the standard constructor takes it. */
export type ClientWebSocketConstructor = new (url: string, protocols: string[]) => ClientWebSocket;

/** `readyState` of an open socket (`WebSocket.OPEN`, which a fake class may lack). */
export const SOCKET_OPEN = 1;
