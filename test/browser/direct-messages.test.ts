// Direct messages on the demo page, in real Chromium against a real
// `wrangler dev`: alice and bob in two tabs each, talking through the "to"
// field. One of bob's tabs reaches the server through a proxy that goes
// offline for part of the conversation; that tab catches up by itself, in
// order, without a reload. A third user's tab sees nothing of it.
import { mkdir } from "node:fs/promises";
import type { Page } from "playwright-core";
import { expect, test } from "vitest";
import { BROWSER_ARTIFACTS, demoSuite, loadMark, RECOVERY_MS } from "../support/demo-tab.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";

const suite = demoSuite();
const { tab } = suite;

/** Sends `text` to `to` from the page's compose form (its "to" field). */
async function tell(page: Page, to: string, text: string): Promise<void> {
  await page.fill("#to", to);
  await page.fill("#text", text);
  await page.click("#send");
}

/** What the page lists: each message's seq, text, and whom it came from or went to. */
const conversation = (page: Page) =>
  page.locator("#messages li").evaluateAll((items) =>
    items.map((li) => {
      const item = li as HTMLElement;
      return {
        seq: Number(item.dataset.seq),
        text: item.querySelector(".text")?.textContent ?? "",
        fromUser: item.dataset.fromUser ?? null,
        toUser: item.dataset.toUser ?? null,
      };
    }),
  );

test("alice and bob talk in two tabs each; bob's tab that was offline catches up by itself, in order; carol sees nothing", async () => {
  const proxy = await startTcpProxy(suite.dev.port);
  try {
    const alice = "alice-direct";
    const bob = "bob-direct";
    const [alice1, alice2] = [await tab(alice), await tab(alice)];
    const bob1 = await tab(bob);
    const bob2 = await tab(bob, `http://127.0.0.1:${proxy.port}`);
    const carol = await tab("carol-direct");

    await tell(alice1, bob, "hi bob");
    const first = { seq: 1, text: "hi bob" };
    for (const page of [bob1, bob2]) await expect.poll(() => conversation(page)).toEqual([{ ...first, fromUser: alice, toUser: null }]);
    for (const page of [alice1, alice2]) await expect.poll(() => conversation(page)).toEqual([{ ...first, fromUser: null, toUser: bob }]);
    expect(await bob1.locator("#messages li .from").allTextContents()).toEqual([`from ${alice}`]);
    expect(await alice1.locator("#messages li .from").allTextContents()).toEqual([`to ${bob} · this tab`]);
    expect(await alice2.locator("#messages li .from").allTextContents()).toEqual([`to ${bob}`]);

    // bob's second tab loses its network: it notices, and cannot reconnect while it lasts.
    proxy.setOffline(true);
    await bob2.waitForSelector('#state[data-state="reconnecting"]', { timeout: RECOVERY_MS });
    await tell(alice2, bob, "are you there?");
    await tell(bob1, alice, "yes, on my other tab");
    await expect.poll(() => conversation(bob1)).toHaveLength(3);
    await tell(alice1, bob, "good");

    const bobs = [
      { seq: 1, text: "hi bob", fromUser: alice, toUser: null },
      { seq: 2, text: "are you there?", fromUser: alice, toUser: null },
      { seq: 3, text: "yes, on my other tab", fromUser: null, toUser: alice },
      { seq: 4, text: "good", fromUser: alice, toUser: null },
    ];
    const alices = [
      { seq: 1, text: "hi bob", fromUser: null, toUser: bob },
      { seq: 2, text: "are you there?", fromUser: null, toUser: bob },
      { seq: 3, text: "yes, on my other tab", fromUser: bob, toUser: null },
      { seq: 4, text: "good", fromUser: null, toUser: bob },
    ];
    await expect.poll(() => conversation(bob1)).toEqual(bobs);
    for (const page of [alice1, alice2]) await expect.poll(() => conversation(page)).toEqual(alices);
    expect(await bob2.getAttribute("#state", "data-state")).not.toBe("open");
    expect(await conversation(bob2)).toEqual([bobs[0]]);

    // Back online: the tab reconnects and resumes by itself, no reload, each message once and in order.
    proxy.setOffline(false);
    await bob2.waitForSelector('#state[data-state="open"]', { timeout: RECOVERY_MS });
    await expect.poll(() => conversation(bob2), { timeout: 10_000 }).toEqual(bobs);
    expect(await loadMark(bob2)).toBe("first load");
    expect(await bob2.textContent("#seq")).toBe("4");

    // And live again, both ways.
    await tell(bob2, alice, "caught up");
    for (const page of [alice1, alice2]) await expect.poll(() => conversation(page)).toContainEqual({ seq: 5, text: "caught up", fromUser: bob, toUser: null });
    for (const page of [bob1, bob2]) await expect.poll(() => conversation(page)).toContainEqual({ seq: 5, text: "caught up", fromUser: null, toUser: alice });

    // A "to" that names no user is refused on the page, and nobody gets anything.
    await tell(alice1, "not a user", "lost");
    await expect.poll(() => alice1.textContent("#problem")).toMatch(/"to" is not a valid user id/);
    expect(await conversation(alice1)).toHaveLength(5);

    await mkdir(BROWSER_ARTIFACTS, { recursive: true });
    await bob2.screenshot({ path: `${BROWSER_ARTIFACTS}direct-messages.png` });
    expect(await conversation(carol)).toEqual([]);
    for (const page of [alice1, alice2, bob1, bob2, carol]) await page.close();
  } finally {
    await proxy.close();
  }
}, RECOVERY_MS * 3);
