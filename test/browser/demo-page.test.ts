// The demo page in real Chromium against a real `wrangler dev`: two tabs of
// one user and one tab of another; the server stopped and started again while
// they are open, and every tab recovers by itself, without a reload.
import { mkdir } from "node:fs/promises";
import type { Page } from "playwright-core";
import { expect, test } from "vitest";
import { BROWSER_ARTIFACTS, demoSuite, loadMark, RECOVERY_MS } from "../support/demo-tab.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";

const suite = demoSuite();
const { tab } = suite;

async function say(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.click("#send");
}

const messages = (page: Page) => page.locator("#messages li .text").allTextContents();

/** Records every state the page shows from now on. */
async function watchStates(page: Page): Promise<void> {
  await page.evaluate(() => {
    const state = document.getElementById("state")!;
    const seen: string[] = [];
    (window as unknown as { seenStates: string[] }).seenStates = seen;
    new MutationObserver(() => seen.push(state.dataset.state ?? "")).observe(state, { attributes: true, attributeFilter: ["data-state"] });
  });
}

test("two tabs of one user see each other's messages and device count; another user's tab sees none", async () => {
  const [alice1, alice2] = [await tab("alice"), await tab("alice")];
  const bob = await tab("bob");

  await expect.poll(() => alice1.textContent("#devices")).toBe("2");
  await expect.poll(() => alice2.textContent("#devices")).toBe("2");
  expect(await bob.textContent("#devices")).toBe("1");

  await say(alice1, "hello from the first tab");
  await expect.poll(() => messages(alice2)).toEqual(["hello from the first tab"]);
  await say(alice2, "and hi from the second");
  await expect.poll(() => messages(alice1)).toEqual(["hello from the first tab", "and hi from the second"]);
  expect(await alice1.locator("#messages li.mine .text").allTextContents()).toEqual(["hello from the first tab"]);

  // bob's own message arrives, and it is the only one he ever sees.
  await say(bob, "bob here");
  await expect.poll(() => messages(bob)).toEqual(["bob here"]);
  expect(await bob.textContent("#seq")).toBe("1");

  await mkdir(BROWSER_ARTIFACTS, { recursive: true });
  await alice1.screenshot({ path: `${BROWSER_ARTIFACTS}demo-page.png` });

  // Closing one of alice's tabs tells the other.
  await alice2.close();
  await expect.poll(() => alice1.textContent("#devices")).toBe("1");
  await alice1.close();
  await bob.close();
});

test("every tab recovers by itself when the server stops and starts again, without a reload", async () => {
  const tabs = [await tab("carol"), await tab("carol"), await tab("dave")];
  for (const page of tabs) await watchStates(page);

  await suite.dev.restart();

  for (const page of tabs) {
    await page.waitForSelector('#state[data-state="open"]', { timeout: RECOVERY_MS });
    expect(await page.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates)).toContain("reconnecting");
    expect(await loadMark(page)).toBe("first load");
  }
  await say(tabs[0]!, "after the restart");
  await expect.poll(() => messages(tabs[1]!), { timeout: 10_000 }).toEqual(["after the restart"]);
  expect(await messages(tabs[2]!)).toEqual([]);
  await tabs[0]!.screenshot({ path: `${BROWSER_ARTIFACTS}after-restart.png` });
  for (const page of tabs) await page.close();
}, RECOVERY_MS * 2);

test("a tab whose connection drops gets everything pushed meanwhile, once each, in order, when it is back", async () => {
  // The tab reaches the server through a proxy that can cut its connection like a closing laptop lid.
  const proxy = await startTcpProxy(suite.dev.port);
  try {
    const page = await tab("erin", `http://127.0.0.1:${proxy.port}`);
    await watchStates(page);
    const push = async (text: string) => {
      const response = await fetch(`${suite.dev.url}/users/erin/messages`, {
        method: "POST",
        headers: { Authorization: "Bearer userhub-local-push-key", "Content-Type": "application/json" },
        body: JSON.stringify({ data: text }),
      });
      expect(response.status).toBe(200);
    };
    await push("before the drop");
    await expect.poll(() => messages(page)).toEqual(["before the drop"]);

    proxy.dropAll();
    for (const text of ["while away 1", "while away 2", "while away 3"]) await push(text);
    await page.waitForSelector('#state[data-state="open"]', { timeout: RECOVERY_MS });
    await push("after");
    await expect.poll(() => messages(page), { timeout: 10_000 }).toEqual(["before the drop", "while away 1", "while away 2", "while away 3", "after"]);
    expect(await page.locator("#messages li").evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.seq))).toEqual(["1", "2", "3", "4", "5"]);
    expect(await page.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates)).toContain("reconnecting");
    await page.close();
  } finally {
    await proxy.close();
  }
}, RECOVERY_MS * 2);
