/**
 * The test-only Worker of test/e2e/fan-out.test.ts: the demo's hub and
 * `userhubWorker`'s routes, and a queue handler that runs the real
 * `consumeFanOut` over hubs that fail on purpose when FAN_OUT_TEST_FAULTS is
 * "on" (a variable only that test sets; this Worker lives under test/ and is
 * never deployed). In the first delivery of each of the first ten messages
 * (one request of 1,000 users), one user in seven fails before their hub is
 * called and one in seven after it answered (the data is logged, the answer
 * lost); in the first batch, the last three messages fail for every user, as
 * if that invocation died part-way. Later messages go through untouched.
 * What the consumer did is counted at GET /__test/fan-out.
 */
import { consumeFanOut, durableObjectHubs, UserHub as UserHubBase, userhubWorker } from "../../../durable-objects/index.ts";
import type { FanOutBatch, FanOutBatchOutcome } from "../../../src/host.ts";
import { readFanOutMessage } from "../../../src/host.ts";
import { fanOutApp } from "../../../worker/demo-app.ts";
import { flakyHubNamespace, type InjectedFailure } from "../../support/flaky-hub-namespace.ts";

export const UserHub = UserHubBase.with(fanOutApp);

const app = userhubWorker({ hub: "USER_HUB", fanOutQueue: "FAN_OUT_QUEUE" });
const failing = new Map<string, InjectedFailure>();
let faultyMessagesLeft = 10;
const counts = { batches: 0, messages: 0, firstAttempts: 0, acked: 0, retried: 0, dropped: 0, delivered: 0, duplicates: 0, injected: 0 };

type Env = Record<string, unknown> & { USER_HUB: DurableObjectNamespace };

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    if (new URL(request.url).pathname === "/__test/fan-out") return Response.json(counts);
    return app.fetch(request, env, ctx);
  },

  async queue(batch: MessageBatch, env: Env): Promise<void> {
    const first = counts.batches++ === 0;
    if (env.FAN_OUT_TEST_FAULTS === "on") {
      for (const [index, message] of batch.messages.entries()) {
        if (message.attempts !== 1 || faultyMessagesLeft === 0) continue;
        faultyMessagesLeft--;
        const userIds = readFanOutMessage(message.body)?.userIds ?? [];
        const cutShort = first && index >= batch.messages.length - 3;
        for (const [i, userId] of userIds.entries()) {
          const failure: InjectedFailure | undefined = cutShort || i % 7 === 3 ? "before" : i % 7 === 5 ? "after" : undefined;
          if (failure) {
            failing.set(userId, failure);
            counts.injected++;
          }
        }
      }
    }
    for (const message of batch.messages) {
      counts.messages++;
      if (message.attempts === 1) counts.firstAttempts++;
    }
    const outcome: FanOutBatchOutcome = await consumeFanOut(durableObjectHubs(flakyHubNamespace(env.USER_HUB, failing) as never), batch as unknown as FanOutBatch);
    counts.acked += outcome.acked;
    counts.retried += outcome.retried;
    counts.dropped += outcome.dropped;
    counts.delivered += outcome.delivered;
    counts.duplicates += outcome.duplicates;
  },
};
