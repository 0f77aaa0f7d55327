import type { SchemaFrameHandler } from "../src/host.ts";
import type { StandardSchemaV1 } from "../src/index.ts";

/**
 * The demo app's two frames that show typed frames and connection state;
 * `fanOutApp` carries them on both hosts, so the conformance suite can hold
 * both to a schema refusal and to state that outlives hibernation.
 *
 * @module
 */

/** The demo's checked frame: `{"type":"note","data":{"text":"…"}}`, 1 to 500 characters. */
export interface NoteFrame {
  readonly type: "note";
  readonly data: { readonly text: string };
}

/** The most characters a note's text may have. */
export const MAX_NOTE_CHARACTERS = 500;

/**
 * {@link NoteFrame}'s schema, written by hand against Standard Schema (the
 * library takes zod, valibot or ArkType the same way; the demo needs none).
 */
export const noteFrameSchema: StandardSchemaV1<unknown, NoteFrame> = {
  "~standard": {
    version: 1,
    vendor: "userhub-demo",
    validate(value) {
      const data = (value as { data?: unknown }).data;
      if (typeof data !== "object" || data === null || Array.isArray(data)) return { issues: [{ message: "Expected object", path: ["data"] }] };
      const text = (data as { text?: unknown }).text;
      if (typeof text !== "string") return { issues: [{ message: "Expected string", path: ["data", "text"] }] };
      if (text.length === 0 || text.length > MAX_NOTE_CHARACTERS) {
        return { issues: [{ message: `Expected 1 to ${MAX_NOTE_CHARACTERS} characters`, path: ["data", "text"] }] };
      }
      return { value: { type: "note", data: { text } } };
    },
  },
};

/** A checked `note` is delivered like a `send`, as `{"text":…}`. */
export const noteFrame: SchemaFrameHandler<NoteFrame> = {
  schema: noteFrameSchema,
  async handle(frame, connection, hub) {
    await hub.deliver({ text: frame.data.text }, { from: connection.id });
  },
};

/** What the demo answers a `state` frame with: this connection's state now. */
export interface StateFrame {
  readonly type: "state";
  readonly data: unknown;
}

/** The demo's state frame: fields to merge into this connection's state, or none to only read it. */
export interface StateUpdateFrame {
  readonly type: "state";
  readonly data?: Readonly<Record<string, unknown>>;
}

const stateUpdateSchema: StandardSchemaV1<unknown, StateUpdateFrame> = {
  "~standard": {
    version: 1,
    vendor: "userhub-demo",
    validate(value) {
      if (!("data" in (value as object))) return { value: { type: "state" } };
      const data = (value as { data?: unknown }).data;
      if (typeof data !== "object" || data === null || Array.isArray(data)) return { issues: [{ message: "Expected object", path: ["data"] }] };
      return { value: { type: "state", data: data as Record<string, unknown> } };
    },
  },
};

/**
 * `{"type":"state","data":{…}}` merges those fields into this connection's
 * state (a field set to null is removed); `{"type":"state"}` only reads it.
 * Either way this socket alone gets `{"type":"state","data":<the state now,
 * or null>}`. Merging lets several small frames grow a state past its bound
 * (a `state_too_large` error).
 */
export const stateFrame: SchemaFrameHandler<StateUpdateFrame> = {
  schema: stateUpdateSchema,
  async handle(frame, connection) {
    const fields = frame.data;
    if (fields !== undefined) {
      connection.setState((previous: unknown) => {
        const next: Record<string, unknown> = { ...(previous as Record<string, unknown> | null), ...fields };
        for (const [key, value] of Object.entries(next)) if (value === null) delete next[key];
        return Object.keys(next).length === 0 ? null : next;
      });
    }
    const answer: StateFrame = { type: "state", data: connection.state };
    await connection.send(answer);
  },
};
