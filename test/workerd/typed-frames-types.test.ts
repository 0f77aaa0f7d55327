// Type-level tests, checked by `tsc` (npm run check): a handler's frame is
// typed from its schema's output, with valibot and with a hand-written
// Standard Schema; a frame without a schema stays a ClientFrame; and a
// connection's state type follows `Connection<State>`. The runtime part only
// proves the handlers are what HubApp takes.
import * as v from "valibot";
import { describe, expect, expectTypeOf, it } from "vitest";
import { type ClientFrame, type SchemaFrameHandler } from "../../src/host.ts";
import { type Connection, type HubApp, type StandardSchemaV1, withSchema } from "../../src/index.ts";
import { type NoteFrame, noteFrameSchema } from "../../worker/demo-frames.ts";

const Move = v.object({ type: v.literal("move"), data: v.object({ x: v.number(), y: v.pipe(v.string(), v.transform(Number)) }) });

const Hand: StandardSchemaV1<unknown, { type: "hand"; cards: readonly string[] }> = {
  "~standard": { version: 1, vendor: "test", validate: () => ({ value: { type: "hand", cards: [] } }) },
};

describe("typed frames (types)", () => {
  it("types a handler's frame from its schema's output", () => {
    const app: HubApp = {
      frames: {
        move: withSchema(Move, (frame) => {
          expectTypeOf(frame).toEqualTypeOf<{ type: "move"; data: { x: number; y: number } }>();
          // @ts-expect-error: not in the schema
          void frame.data.z;
        }),
        hand: withSchema(Hand, (frame, connection) => {
          expectTypeOf(frame.cards).toEqualTypeOf<readonly string[]>();
          expectTypeOf(connection).toEqualTypeOf<Connection>();
        }),
        plain(frame) {
          expectTypeOf(frame).toEqualTypeOf<ClientFrame>();
        },
      },
    };
    expect(Object.keys(app.frames!)).toEqual(["move", "hand", "plain"]);
    expectTypeOf(noteFrameSchema).toMatchTypeOf<StandardSchemaV1<unknown, NoteFrame>>();
    expectTypeOf(withSchema(Move, () => {})).toEqualTypeOf<SchemaFrameHandler<v.InferOutput<typeof Move>>>();
  });

  it("types connection state through Connection<State>", () => {
    type Profile = { name: string };
    const check = (connection: Connection<Profile>) => {
      expectTypeOf(connection.state).toEqualTypeOf<Profile | null>();
      expectTypeOf(connection.setState({ name: "a" })).toEqualTypeOf<Profile | null>();
      connection.setState((previous) => ({ name: previous?.name ?? "b" }));
      // @ts-expect-error: not a Profile
      connection.setState({ nom: "a" });
    };
    expect(typeof check).toBe("function");
  });
});
