// Type-level tests, checked by `tsc` (npm run check): a UserhubClient is
// generic over what the server delivers and what the client sends; without
// type arguments it takes and gives what it always did. Nothing connects: the
// clients are only typed.
import { describe, expect, expectTypeOf, it } from "vitest";
import type { AppFrame, ReceivedMessage, UserhubClient } from "../../src/client/mod.ts";

type Chat = { text: string; author: string };
interface Typing {
  readonly type: "typing";
  readonly conversation: string;
}
type Out = { type: "send"; data: Chat } | Typing;
interface Presence {
  readonly type: "presence";
  readonly connections: number;
}

describe("UserhubClient's type parameters (types)", () => {
  it("types message and signal data, the app's frames, send and sendFrame", () => {
    const check = (client: UserhubClient<Chat, Out, Presence>) => {
      client.addEventListener("message", ({ detail }) => {
        expectTypeOf(detail).toEqualTypeOf<ReceivedMessage<Chat>>();
        expectTypeOf(detail.data.text).toBeString();
      });
      client.addEventListener("signal", ({ detail }) => expectTypeOf(detail.data).toEqualTypeOf<Chat>());
      client.addEventListener("frame", ({ detail }) => expectTypeOf(detail.connections).toBeNumber());
      client.send({ text: "hi", author: "a" });
      // @ts-expect-error: not a Chat
      client.send({ body: "hi" });
      client.sendFrame({ type: "typing", conversation: "c-42" });
      // @ts-expect-error: not one of the client's frames
      client.sendFrame({ type: "note", data: { text: "x" } });
    };
    const untyped = (client: UserhubClient) => {
      client.addEventListener("message", ({ detail }) => expectTypeOf(detail.data).toBeUnknown());
      client.addEventListener("frame", ({ detail }) => expectTypeOf(detail).toEqualTypeOf<AppFrame>());
      client.send(Symbol("anything goes, as before"));
      client.sendFrame({ type: "anything", extra: 1 });
    };
    const noSend = (client: UserhubClient<unknown, Typing>) => {
      // @ts-expect-error: this client's frames have no "send"
      client.send({ text: "hi" });
    };
    expect([check, untyped, noSend].every((f) => typeof f === "function")).toBe(true);
  });
});
