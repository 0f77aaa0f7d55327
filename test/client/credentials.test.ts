import { describe, expect, it, vi } from "vitest";
import { connectUrl, socketUrl } from "../../src/client/connect-url.ts";
import { subprotocolsFor, type TicketFetch, ticketFrom } from "../../src/client/credentials.ts";
import { AuthRefusedError, CredentialsError, TicketRequestError } from "../../src/client/errors.ts";

const TICKET_URL = "https://hub.example/ws/ticket";

describe("ticketFrom", () => {
  it("POSTs with Authorization: Bearer and returns the ticket", async () => {
    const fetch = vi.fn<TicketFetch>(async () => Response.json({ ticket: "t-1", expiresAt: 1 }));
    await expect(ticketFrom(TICKET_URL, "jwt-abc", { fetch })()).resolves.toBe("t-1");
    expect(fetch).toHaveBeenCalledWith(TICKET_URL, { method: "POST", headers: { Authorization: "Bearer jwt-abc" } });
  });

  it("asks a token provider for each ticket", async () => {
    let n = 0;
    const fetch = vi.fn<TicketFetch>(async () => Response.json({ ticket: "t", expiresAt: 1 }));
    const provider = ticketFrom(TICKET_URL, async () => `jwt-${++n}`, { fetch });
    await provider();
    await provider();
    expect(fetch.mock.calls.map(([, init]) => init.headers.Authorization)).toEqual(["Bearer jwt-1", "Bearer jwt-2"]);
  });

  it.each([401, 403])("maps %i to AuthRefusedError (terminal), keeping the status and the server's words", async (status) => {
    const fetch = vi.fn<TicketFetch>(async () => new Response(`${status} nope: origin not allowed.\n`, { status }));
    const error = await ticketFrom(TICKET_URL, "jwt-secret", { fetch })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthRefusedError);
    expect(error).toMatchObject({ name: "AuthRefusedError", status });
    expect((error as Error).message).toContain("origin not allowed");
    expect((error as Error).message).not.toContain("jwt-secret");
  });

  it("maps other statuses to TicketRequestError (retried)", async () => {
    const fetch = vi.fn<TicketFetch>(async () => new Response("boom", { status: 503 }));
    await expect(ticketFrom(TICKET_URL, "jwt", { fetch })()).rejects.toMatchObject({ name: "TicketRequestError", status: 503 });
  });

  it("keeps a network failure as the cause of a TicketRequestError", async () => {
    const cause = new TypeError("fetch failed");
    const fetch = vi.fn<TicketFetch>(async () => {
      throw cause;
    });
    const error = await ticketFrom(TICKET_URL, "jwt", { fetch })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TicketRequestError);
    expect((error as Error).cause).toBe(cause);
  });

  it("refuses an answer without a ticket", async () => {
    const notJson = vi.fn<TicketFetch>(async () => new Response("<html>", { status: 200 }));
    const noTicket = vi.fn<TicketFetch>(async () => Response.json({ expiresAt: 1 }));
    await expect(ticketFrom(TICKET_URL, "jwt", { fetch: notJson })()).rejects.toBeInstanceOf(TicketRequestError);
    await expect(ticketFrom(TICKET_URL, "jwt", { fetch: noTicket })()).rejects.toBeInstanceOf(TicketRequestError);
  });

  it.each([["has space"], [""], [42], [null], [{ t: 1 }]])("refuses a 200 whose ticket is %j (TicketRequestError: retried), without echoing it", async (ticket) => {
    const fetch = vi.fn<TicketFetch>(async () => Response.json({ ticket, expiresAt: 1 }));
    const error = await ticketFrom(TICKET_URL, "jwt", { fetch })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TicketRequestError);
    expect(error).toMatchObject({ status: 200 });
    expect((error as Error).message).not.toContain("has space");
  });

  it.each([[""], [null], [undefined]])("asks for no ticket when the token provider gives %j (TicketRequestError: retried, where a post would get a final 401)", async (token) => {
    const fetch = vi.fn<TicketFetch>(async () => Response.json({ ticket: "t", expiresAt: 1 }));
    const error = await ticketFrom(TICKET_URL, () => token as unknown as string, { fetch })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TicketRequestError);
    expect(fetch).not.toHaveBeenCalled();
  });

  it("lets an AuthRefusedError from the token provider through unchanged", async () => {
    const refused = new AuthRefusedError("signed out");
    const fetch = vi.fn<TicketFetch>();
    await expect(
      ticketFrom(TICKET_URL, () => {
        throw refused;
      }, { fetch })(),
    ).rejects.toBe(refused);
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe("subprotocolsFor", () => {
  it("puts userhub.v1 first and the credential second", () => {
    expect(subprotocolsFor("bearer", "eyJ.a-b_c.d")).toEqual(["userhub.v1", "bearer.eyJ.a-b_c.d"]);
    expect(subprotocolsFor("ticket", "u1.abc")).toEqual(["userhub.v1", "ticket.u1.abc"]);
  });

  it("refuses what a subprotocol cannot carry with a CredentialsError (not terminal), without echoing it", () => {
    for (const bad of ["", "a b", "a,b", "é", null, undefined, 42]) {
      expect(() => subprotocolsFor("bearer", bad as string)).toThrow(CredentialsError);
    }
    expect(() => subprotocolsFor("bearer", "se cret")).not.toThrow(/se cret/);
    expect(() => subprotocolsFor("bearer", "")).toThrow(/an empty string/);
    expect(() => subprotocolsFor("ticket", null as unknown as string)).toThrow(/ticket provider gave null/);
  });
});

describe("socketUrl and connectUrl", () => {
  it("accepts ws/wss, turns http(s) into ws(s), refuses the rest", () => {
    expect(socketUrl("wss://h.example/ws").href).toBe("wss://h.example/ws");
    expect(socketUrl("http://hub.example:8787/ws").href).toBe("ws://hub.example:8787/ws");
    expect(() => socketUrl("ftp://h.example/ws")).toThrow(TypeError);
    expect(() => socketUrl("wss://h.example/ws#x")).toThrow(TypeError);
    expect(() => socketUrl("/ws")).toThrow(TypeError); // no page to resolve against under Node
  });

  it("adds since and epoch only with a resume point, replacing any already there", () => {
    const base = socketUrl("wss://h.example/ws?room=1&since=9");
    expect(connectUrl(base, null)).toBe("wss://h.example/ws?room=1");
    expect(connectUrl(base, { seq: 41, epoch: "e-1" })).toBe("wss://h.example/ws?room=1&since=41&epoch=e-1");
  });
});
