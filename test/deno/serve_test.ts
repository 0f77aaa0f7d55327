/** `serve()` takes its hubs' options or a namespace, never both: nothing it is given is silently ignored. */
import { throws } from "node:assert";
import { readHubConfig } from "../../src/index.ts";
import { LocalHubNamespace, serve } from "../../src/deno/mod.ts";

Deno.test("serve refuses config, app or log beside hubs, naming each", () => {
  const hubs = new LocalHubNamespace();
  // @ts-expect-error: the options are a union; TypeScript refuses config beside hubs.
  throws(() => serve({ hubs, config: readHubConfig({}), port: 0 }), { name: "TypeError", message: /config would be ignored with "hubs"/ });
  // @ts-expect-error: and app and log.
  throws(() => serve({ hubs, app: {}, log: () => undefined as never, port: 0 }), { name: "TypeError", message: /app, log would be ignored/ });
});
