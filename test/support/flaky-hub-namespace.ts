/**
 * A Durable Object namespace of user hubs that fails on purpose, for tests
 * of the fan-out consumer only: it wraps the real binding, and the first
 * push to each user `failing` names throws, either before the hub is called
 * ("before": nothing was delivered) or after it answered ("after": the data
 * is in the log, but the caller never learns it, as when a connection drops
 * with the answer). Later pushes to that user go through. Nothing outside
 * test/ imports it.
 */
export type InjectedFailure = "before" | "after";

/** The part of a Durable Object namespace `durableObjectHubs` calls. */
interface HubBinding {
  idFromName(name: string): unknown;
  get(id: unknown): { push(messages: unknown[], options?: unknown): Promise<unknown> };
}

export function flakyHubNamespace<N extends object>(real: N, failing: Map<string, InjectedFailure>): N {
  const hubs = real as unknown as HubBinding;
  const flaky: HubBinding = {
    idFromName: (name) => ({ name, id: hubs.idFromName(name) }),
    get(ref) {
      const { name, id } = ref as { name: string; id: unknown };
      const stub = hubs.get(id);
      return {
        async push(messages, options) {
          const failure = failing.get(name);
          if (failure !== undefined) failing.delete(name);
          if (failure === "before") throw new Error(`injected failure: ${name}'s hub was not reached`);
          const result = await stub.push(messages, options);
          if (failure === "after") throw new Error(`injected failure: ${name}'s hub answered, the answer was lost`);
          return result;
        },
      };
    },
  };
  return flaky as unknown as N;
}
