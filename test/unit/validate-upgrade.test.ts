import { describe, expect, it, test } from "vitest";
import { HttpStatus } from "../../src/host.ts";
import { curlUpgradeLine, tokenList, UpgradeError, validateUpgrade } from "../../src/host.ts";

const URL_WS = "https://hub.example/ws";
const KEY = "dGhlIHNhbXBsZSBub25jZQ=="; // the RFC 6455 §1.3 sample key

const UPGRADE_HEADERS: Record<string, string> = {
  Upgrade: "websocket",
  Connection: "Upgrade",
  "Sec-WebSocket-Version": "13",
  "Sec-WebSocket-Key": KEY,
};

/** A request with the upgrade headers, `changes` applied on top (null removes a header). */
function upgradeRequest(changes: Record<string, string | null> = {}, method = "GET", url = URL_WS): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries({ ...UPGRADE_HEADERS, ...changes })) {
    if (value !== null) headers.set(name, value);
  }
  return new Request(url, { method, headers });
}

/** The UpgradeError that validating `request` throws. */
function refusal(request: Request, options?: { curlUrl?: string }): UpgradeError {
  try {
    validateUpgrade(request, options);
  } catch (error) {
    expect(error).toBeInstanceOf(UpgradeError);
    return error as UpgradeError;
  }
  throw new Error("expected validateUpgrade to throw");
}

/** The "Missing or wrong: …" line of a 426 message. */
function missingLine(message: string): string | undefined {
  return message.split("\n").find((line) => line.startsWith("Missing or wrong:"));
}

describe("accepted upgrades", () => {
  test.each<[string, Record<string, string | null>]>([
    ["the canonical handshake", {}],
    ["Firefox's Connection: keep-alive, Upgrade", { Connection: "keep-alive, Upgrade" }],
    ["Upgrade: WebSocket (mixed case)", { Upgrade: "WebSocket" }],
    ["Connection: UPGRADE (upper case)", { Connection: "UPGRADE" }],
    ["Upgrade listing websocket among others", { Upgrade: "h2c, websocket" }],
    ["a version with surrounding spaces", { "Sec-WebSocket-Version": " 13 " }],
  ])("%s passes", (_name, changes) => {
    expect(validateUpgrade(upgradeRequest(changes))).toEqual({ protocols: [], origin: null });
  });

  it("returns the offered subprotocols in order, and the origin", () => {
    const request = upgradeRequest({
      "Sec-WebSocket-Protocol": "userhub.v1, bearer.abc",
      Origin: "https://app.example",
    });
    expect(validateUpgrade(request)).toEqual({ protocols: ["userhub.v1", "bearer.abc"], origin: "https://app.example" });
  });

  it("joins subprotocols offered over several header lines", () => {
    const request = upgradeRequest();
    request.headers.append("Sec-WebSocket-Protocol", "userhub.v1");
    request.headers.append("Sec-WebSocket-Protocol", "ticket.t1");
    expect(validateUpgrade(request).protocols).toEqual(["userhub.v1", "ticket.t1"]);
  });
});

describe("405 for a method other than GET", () => {
  test.each(["POST", "PUT", "DELETE", "HEAD", "OPTIONS"])("%s", (method) => {
    const error = refusal(upgradeRequest({}, method));
    expect(error.status).toBe(HttpStatus.MethodNotAllowed);
    expect(error.status).toBe(405);
    expect(error.headers).toEqual({ Allow: "GET" });
    expect(error.message).toContain(method);
  });
});

describe("426 when Upgrade or Connection is missing or wrong", () => {
  test.each<[string, Record<string, string | null>, string[]]>([
    ["Upgrade missing", { Upgrade: null }, ["Upgrade"]],
    ["Connection missing", { Connection: null }, ["Connection"]],
    ["both missing", { Upgrade: null, Connection: null }, ["Upgrade", "Connection"]],
    ["Upgrade: h2c", { Upgrade: "h2c" }, ["Upgrade"]],
    ["Connection: keep-alive only", { Connection: "keep-alive" }, ["Connection"]],
    // A token list compares whole tokens, not substrings.
    ["Upgrade: websocketx", { Upgrade: "websocketx" }, ["Upgrade"]],
    ["empty values", { Upgrade: "", Connection: " , " }, ["Upgrade", "Connection"]],
  ])("%s", (_name, changes, problems) => {
    const error = refusal(upgradeRequest(changes));
    expect(error.status).toBe(HttpStatus.UpgradeRequired);
    expect(error.status).toBe(426);
    expect(error.headers).toEqual({ Upgrade: "websocket" });
    expect(error.problems).toEqual(problems);

    const wanted: Record<string, string> = { Upgrade: 'Upgrade (send "Upgrade: websocket")', Connection: 'Connection (send "Connection: Upgrade")' };
    expect(missingLine(error.message)).toBe(`Missing or wrong: ${problems.map((p) => wanted[p]).join(", ")}.`);
    expect(error.message).toContain(curlUpgradeLine(URL_WS));
    expect(error.message).toContain("/ws only speaks WebSocket");
  });

  it("checks Upgrade and Connection before the version and key", () => {
    const error = refusal(upgradeRequest({ Upgrade: null, "Sec-WebSocket-Version": null, "Sec-WebSocket-Key": null }));
    expect(error.status).toBe(426);
    expect(error.problems).toEqual(["Upgrade"]);
  });

  it("never echoes the request's query (a client may have put its token there) in the curl line", () => {
    const error = refusal(upgradeRequest({ Connection: null }, "GET", "https://hub.example/ws?token=eyJhbGciOiJIUzI1NiJ9.secret.sig&since=1#frag"));
    expect(error.message).not.toContain("eyJ");
    expect(error.message).not.toContain("since=1");
    expect(error.message).toContain(`-H "Authorization: Bearer $TOKEN" https://hub.example/ws`);
  });

  it("quotes a URL a shell would read otherwise, so the curl line pastes as one word", () => {
    expect(curlUpgradeLine("http://a;id/ws")).toMatch(/ 'http:\/\/a;id\/ws'$/);
    expect(curlUpgradeLine("http://it's/ws")).toMatch(/ 'http:\/\/it'\\''s\/ws'$/);
    expect(curlUpgradeLine(URL_WS)).toMatch(/ https:\/\/hub\.example\/ws$/);
  });

  it("shows the curl line for curlUrl when given", () => {
    const error = refusal(upgradeRequest({ Connection: null }, "GET", "http://10.0.0.7:8080/ws"), { curlUrl: "https://public.example/ws" });
    expect(error.message).toContain(curlUpgradeLine("https://public.example/ws"));
    expect(error.message).not.toContain("10.0.0.7");
  });
});

describe("426 for an unsupported Sec-WebSocket-Version", () => {
  test.each<[string, string | null]>([
    ["missing", null],
    ["8", "8"],
    ["empty", ""],
    ["a list", "13, 8"],
  ])("version %s", (_name, version) => {
    const error = refusal(upgradeRequest({ "Sec-WebSocket-Version": version }));
    expect(error.status).toBe(426);
    expect(error.headers).toEqual({ Upgrade: "websocket", "Sec-WebSocket-Version": "13" });
    expect(error.problems).toEqual(["Sec-WebSocket-Version"]);
  });
});

describe("400 for a missing or malformed Sec-WebSocket-Key", () => {
  test.each<[string, string | null, string]>([
    ["missing", null, "missing"],
    ["too short", "dGhlIHNhbXBsZQ==", "malformed"],
    ["too long", "dGhlIHNhbXBsZSBub25jZQAA==", "malformed"],
    ["without padding", "dGhlIHNhbXBsZSBub25jZQ", "malformed"],
    ["base64url alphabet", "dGhlIHNhbXBsZSBub25jZ-_==", "malformed"],
    ["not base64", "!!!!!!!!!!!!!!!!!!!!!!==", "malformed"],
  ])("key %s", (_name, key, why) => {
    const error = refusal(upgradeRequest({ "Sec-WebSocket-Key": key }));
    expect(error.status).toBe(HttpStatus.BadRequest);
    expect(error.status).toBe(400);
    expect(error.problems).toEqual(["Sec-WebSocket-Key"]);
    expect(error.message).toContain(why);
  });

  it("accepts a key with surrounding spaces", () => {
    expect(() => validateUpgrade(upgradeRequest({ "Sec-WebSocket-Key": `  ${KEY} ` }))).not.toThrow();
  });
});

describe("tokenList", () => {
  test.each<[string | null, string[]]>([
    [null, []],
    ["", []],
    ["a", ["a"]],
    ["a,b", ["a", "b"]],
    [" a , b ", ["a", "b"]],
    ["a,,b,", ["a", "b"]],
    [" , ,", []],
    ["keep-alive, Upgrade", ["keep-alive", "Upgrade"]],
  ])("%j → %j", (value, tokens) => {
    expect(tokenList(value)).toEqual(tokens);
  });
});
