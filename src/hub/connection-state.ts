/**
 * A connection's application state (`connection.state`, `connection.setState`):
 * a small JSON value kept as text in the socket's attachment, so that it
 * survives hibernation on Cloudflare and reads back as a copy on every host.
 *
 * @module
 */

/**
 * The most UTF-8 bytes a connection's state may take as JSON. workerd caps an
 * attachment at 16 KiB; the hub's own fields take a few hundred bytes, so this
 * leaves ample room.
 *
 * @default 2048
 */
export const MAX_CONNECTION_STATE_BYTES = 2048;

/** A state `setState` refused: its JSON is larger than {@link MAX_CONNECTION_STATE_BYTES}. The state is unchanged. */
export class ConnectionStateTooLargeError extends RangeError {
  override readonly name = "ConnectionStateTooLargeError";
  /** The refused state's size as JSON, in bytes. */
  readonly bytes: number;

  constructor(bytes: number) {
    super(`connection state is ${bytes} bytes as JSON, over the ${MAX_CONNECTION_STATE_BYTES}-byte limit; it was not changed`);
    this.bytes = bytes;
  }
}

/** A state `setState` refused because it has no JSON form (a BigInt, a cycle). The state is unchanged. */
export class ConnectionStateUnserializableError extends TypeError {
  override readonly name = "ConnectionStateUnserializableError";

  constructor(cause: unknown) {
    super("connection state must be a JSON value; it was not changed", { cause });
  }
}

/** The next state, or a function of the previous one, as `setState` takes it (partyserver's shape). */
export type ConnectionStateUpdate<State> = State | null | ((previous: State | null) => State | null);

/** The state kept as `text` (a fresh copy), or null when there is none. */
export function readConnectionState(text: string | undefined): unknown {
  return text === undefined ? null : JSON.parse(text);
}

const encoder = new TextEncoder();

/**
 * `state` as the text to keep, or undefined to keep none (null or undefined).
 *
 * @throws {ConnectionStateUnserializableError} when `state` has no JSON form.
 * @throws {ConnectionStateTooLargeError} past {@link MAX_CONNECTION_STATE_BYTES}.
 */
export function connectionStateText(state: unknown): string | undefined {
  if (state === null || state === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(state);
  } catch (error) {
    throw new ConnectionStateUnserializableError(error);
  }
  if (text === undefined) throw new ConnectionStateUnserializableError(new TypeError(`a ${typeof state} has no JSON form`));
  // A UTF-16 code unit is at most 3 UTF-8 bytes: encode only when the length leaves doubt.
  if (text.length * 3 > MAX_CONNECTION_STATE_BYTES) {
    const bytes = encoder.encode(text).byteLength;
    if (bytes > MAX_CONNECTION_STATE_BYTES) throw new ConnectionStateTooLargeError(bytes);
  }
  return text;
}
