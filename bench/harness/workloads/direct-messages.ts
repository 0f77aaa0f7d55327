/**
 * Messages between users: `pairs` pairs of users, each with one socket of
 * the sender (alice) and one of the recipient (bob), each pair in a closed
 * loop: alice's socket sends a message to bob, and the next goes when bob's
 * socket got it. Every target carries it from alice's Durable Object to
 * bob's and writes one durable row there before bob's sockets get it;
 * userhub also logs the sender's copy in alice's log and sends it to her
 * sockets (the demo's `direct` frame). Reports messages per second, latency
 * from alice's send to bob's receipt, and server CPU per 1,000 messages.
 */
import { closeSockets, openSockets } from "../bench-socket.ts";
import type { Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { type ClosedLoopRates, runClosedLoops } from "./closed-loop.ts";

/** How a target carries a message from one user to another: the frame the sender's socket sends. */
export interface DirectRoute {
  readonly target: Target;
  /** Message number `n` to `to`, as the sender's socket sends it. */
  directFrame(to: string, n: number): string;
}

export interface DirectOptions {
  readonly pairs: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Senders are `${userPrefix}-alice-<i>`, recipients `${userPrefix}-bob-<i>`: a fresh prefix per run gives fresh hubs. */
  readonly userPrefix: string;
}

/** A message (the sender's send to the recipient's receipt, through two Durable Objects) is one delivery of {@link ClosedLoopRates}. */
export interface DirectSample extends ClosedLoopRates {
  readonly pairs: number;
  readonly messages: number;
}

export async function runDirect(server: Pick<TargetServer, "url" | "usage">, route: DirectRoute, options: DirectOptions): Promise<DirectSample> {
  const { target } = route;
  const senders = Array.from({ length: options.pairs }, (_, i) => `${options.userPrefix}-alice-${i}`);
  const recipients = Array.from({ length: options.pairs }, (_, i) => `${options.userPrefix}-bob-${i}`);
  const sockets = await openSockets(server.url, target, [...senders, ...recipients]);
  try {
    const { deliveries: messages, rates } = await runClosedLoops(
      server,
      senders.map((_sender, i) => ({ from: sockets[i]!, to: sockets[options.pairs + i]!, frame: (n: number) => route.directFrame(recipients[i]!, n) })),
      (text) => target.isDelivery(text),
      options,
    );
    return {
      pairs: options.pairs,
      messages,
      ...rates,
    };
  } finally {
    await closeSockets(sockets);
  }
}
