// Direct messages between users (the demo's `direct` frame, README "Messages
// between users"), run against every host in hosts.ts: over Durable Object RPC
// under `wrangler dev`, through the namespace on the Deno demo. Same
// assertions for every host.
import { randomUUID } from "node:crypto";
import { describe, expect, test } from "vitest";
import {
  closeClient,
  connect,
  connectAs,
  expectNothingMore,
  expectPresence,
  message,
  openSockets,
  push,
  serveHostForSuite,
  token,
  uniqueUser,
  VARS,
} from "./contract-client.ts";
import { hosts } from "./hosts.ts";

/** What bob's sockets get of a direct message from `fromUser`. */
function received(seq: number, data: unknown, fromUser: string): Record<string, unknown> {
  return { ...message(seq, data), fromUser };
}

/** What the sender's sockets get: the copy in the sender's own log, with the connection that sent it. */
function sent(seq: number, data: unknown, toUser: string, from: string): Record<string, unknown> {
  return { ...message(seq, data, from), toUser };
}

function direct(to: unknown, data: unknown, id?: string): string {
  return JSON.stringify({ type: "direct", to, data, ...(id === undefined ? {} : { id }) });
}

for (const host of hosts) {
  describe(`${host.name}: direct messages`, () => {
    serveHostForSuite(host, VARS);

    test("online: every socket of bob gets it with bob's next seq and fromUser; every socket of alice gets her copy with her next seq and toUser; carol gets nothing", async () => {
      const alice = uniqueUser("alice");
      const bob = uniqueUser("bob");
      const carol = uniqueUser("carol");
      const c = await connectAs(carol);
      const [b1, b2] = await openSockets(bob, 2);
      const [a1, a2] = await openSockets(alice, 2);
      // Earlier deliveries in both logs, so each side's seq is visibly its own.
      a2!.send(JSON.stringify({ type: "send", data: "alice before" }));
      for (const a of [a1!, a2!]) expect(await a.nextJson()).toEqual(message(1, "alice before", a2!.welcome.connectionId));
      await push(bob, { data: "bob 1" });
      await push(bob, { data: "bob 2" });
      for (const b of [b1!, b2!]) {
        expect(await b.nextJson()).toEqual(message(1, "bob 1"));
        expect(await b.nextJson()).toEqual(message(2, "bob 2"));
      }

      a1!.send(direct(bob, { text: "hi bob" }, "m1"));
      for (const b of [b1!, b2!]) expect(await b.nextJson()).toEqual(received(3, { text: "hi bob" }, alice));
      for (const a of [a1!, a2!]) expect(await a.nextJson()).toEqual(sent(2, { text: "hi bob" }, bob, a1!.welcome.connectionId));

      // And back: bob's copy is in bob's log, alice's delivery in hers.
      b2!.send(direct(alice, "hi alice"));
      for (const a of [a1!, a2!]) expect(await a.nextJson()).toEqual(received(3, "hi alice", bob));
      for (const b of [b1!, b2!]) expect(await b.nextJson()).toEqual(sent(4, "hi alice", alice, b2!.welcome.connectionId));

      for (const [client, what] of [
        [a1!, "alice's first socket"],
        [a2!, "alice's second socket"],
        [b1!, "bob's first socket"],
        [b2!, "bob's second socket"],
      ] as const) {
        await expectNothingMore(client, what);
      }
      // carol got her welcome and nothing else: no message, no copy, no presence.
      expect(c.frames.map((f) => JSON.parse(f.text).type)).toEqual(["welcome"]);
      await expectNothingMore(c, "carol, a third user");
    });

    test("a retry with the same id delivers nothing new to either side; a new id does; another sender's same id is its own", async () => {
      const alice = uniqueUser("alice");
      const bob = uniqueUser("bob");
      const carol = uniqueUser("carol");
      const b = await connectAs(bob);
      const a = await connectAs(alice);
      const c = await connectAs(carol);
      const id = `m-${randomUUID()}`;

      a.send(direct(bob, "once", id));
      expect(await b.nextJson()).toEqual(received(1, "once", alice));
      expect(await a.nextJson()).toEqual(sent(1, "once", bob, a.welcome.connectionId));
      a.send(direct(bob, "once", id));
      a.send(direct(bob, "once, again", id));
      await expectNothingMore(b, "bob after alice's retries");
      await expectNothingMore(a, "alice after her retries");

      // A retry from another of alice's sockets (her client reconnected) is the same message too.
      const a2 = await connectAs(alice);
      await expectPresence(a, 2);
      a2.send(direct(bob, "once", id));
      await expectNothingMore(b, "bob after a retry from alice's other socket");
      await expectNothingMore(a2, "alice's other socket after its retry");

      a.send(direct(bob, "twice", `${id}-2`));
      expect(await b.nextJson()).toEqual(received(2, "twice", alice));
      for (const s of [a, a2]) expect(await s.nextJson()).toEqual(sent(2, "twice", bob, a.welcome.connectionId));

      // carol's message with alice's id is carol's: the key is kept per sender.
      c.send(direct(bob, "from carol", id));
      expect(await b.nextJson()).toEqual(received(3, "from carol", carol));
      expect(await c.nextJson()).toEqual(sent(1, "from carol", bob, c.welcome.connectionId));
      await expectNothingMore(b, "bob after carol's message");
    });

    test("offline, then resume: bob with no socket gets alice's messages in order on his next socket; alice's other device replays her copies", async () => {
      const alice = uniqueUser("alice");
      const bob = uniqueUser("bob");
      const bobJwt = await token(bob);
      const aliceJwt = await token(alice);
      const first = await connect({ bearer: bobJwt });
      const epoch = first.welcome.epoch as string;
      const aliceAway = await connect({ bearer: aliceJwt });
      const aliceEpoch = aliceAway.welcome.epoch as string;
      expect((await closeClient(first)).code).toBe(1000);
      expect((await closeClient(aliceAway)).code).toBe(1000);

      const a = await connect({ bearer: aliceJwt });
      a.send(direct(bob, "while you were away", "o1"));
      expect(await a.nextJson()).toEqual(sent(1, "while you were away", bob, a.welcome.connectionId));
      a.send(direct(bob, { n: 2 }, "o2"));
      expect(await a.nextJson()).toEqual(sent(2, { n: 2 }, bob, a.welcome.connectionId));
      // A retry while bob is away is still nothing new.
      a.send(direct(bob, "while you were away", "o1"));
      await expectNothingMore(a, "alice after a retry while bob is away");

      const resumed = await connect({ bearer: bobJwt, query: `since=0&epoch=${encodeURIComponent(epoch)}` });
      expect(resumed.welcome).toMatchObject({ seq: 2, epoch });
      expect(await resumed.nextJson()).toEqual(received(1, "while you were away", alice));
      expect(await resumed.nextJson()).toEqual(received(2, { n: 2 }, alice));
      await expectNothingMore(resumed, "bob after his replay");

      // alice's device that was away replays what she sent, with toUser.
      const aliceBack = await connect({ bearer: aliceJwt, query: `since=0&epoch=${encodeURIComponent(aliceEpoch)}` });
      expect(aliceBack.welcome).toMatchObject({ seq: 2, epoch: aliceEpoch });
      expect(await aliceBack.nextJson()).toEqual(sent(1, "while you were away", bob, a.welcome.connectionId));
      expect(await aliceBack.nextJson()).toEqual(sent(2, { n: 2 }, bob, a.welcome.connectionId));
      await expectPresence(a, 2);

      // Then live, on both.
      a.send(direct(bob, "live", "o3"));
      expect(await resumed.nextJson()).toEqual(received(3, "live", alice));
      for (const s of [a, aliceBack]) expect(await s.nextJson()).toEqual(sent(3, "live", bob, a.welcome.connectionId));
    });

    test.each([
      ["a user id with a space", "b o b"],
      ["an empty user id", ""],
      ["a 200-character user id", "b".repeat(200)],
      ["a number", 42],
      ["missing", undefined],
    ])('a "to" that is %s gets invalid_frame naming "to"; nothing is delivered and the socket stays', async (_what, to) => {
      const alice = uniqueUser("alice");
      const [a1, a2] = await openSockets(alice, 2);
      a1!.send(JSON.stringify({ type: "direct", to, data: "x", id: "bad" }));
      const error = await a1!.nextJson();
      expect(error).toMatchObject({ type: "error", code: "invalid_frame" });
      expect(error.message).toContain('"to"');
      await expectNothingMore(a2!, "alice's other socket after a refused direct");
      // The socket carries on, and its log took no seq for the refusal.
      a1!.send(JSON.stringify({ type: "send", data: "still here" }));
      for (const a of [a1!, a2!]) expect(await a.nextJson()).toEqual(message(1, "still here", a1!.welcome.connectionId));
    });

    test("a direct with no data, or a bad id, gets invalid_frame naming the field", async () => {
      const alice = uniqueUser("alice");
      const bob = uniqueUser("bob");
      const a = await connectAs(alice);
      const b = await connectAs(bob);
      a.send(JSON.stringify({ type: "direct", to: bob }));
      expect(await a.nextJson()).toMatchObject({ type: "error", code: "invalid_frame", message: expect.stringContaining('"data"') });
      a.send(JSON.stringify({ type: "direct", to: bob, data: "x", id: 7 }));
      expect(await a.nextJson()).toMatchObject({ type: "error", code: "invalid_frame", message: expect.stringContaining('"id"') });
      // Half of a UTF-16 pair is not a character (Deno KV kept "m\ud801" and "m\udc01" as one id, SQLite as two).
      for (const id of ["m\ud801", "m\udc01"]) {
        a.send(JSON.stringify({ type: "direct", to: bob, data: "x", id }));
        expect(await a.nextJson()).toMatchObject({ type: "error", code: "invalid_frame", message: expect.stringContaining("well-formed Unicode") });
      }
      await expectNothingMore(b, "bob after refused directs");
    });

    test("a direct to oneself is one delivery in one's own log, to every socket, with fromUser and toUser both oneself", async () => {
      const alice = uniqueUser("alice");
      const [a1, a2] = await openSockets(alice, 2);
      a1!.send(direct(alice, "note to self", "n1"));
      const expected = { ...message(1, "note to self", a1!.welcome.connectionId), fromUser: alice, toUser: alice };
      for (const a of [a1!, a2!]) expect(await a.nextJson()).toEqual(expected);
      a1!.send(direct(alice, "note to self", "n1"));
      for (const a of [a1!, a2!]) await expectNothingMore(a, "alice after her retry to herself");
    });
  });
}
