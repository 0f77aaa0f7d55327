/**
 * The demo page's script (bundled to worker/public/demo.js by
 * worker/build-demo-page.mjs): sign in with a development token, then one
 * `UserhubClient` keeps this tab connected to the user's hub — reconnecting,
 * pinging and resuming by itself — while the page shows what it does. With a
 * user id in "to", a message goes to that user (the demo app's `direct`
 * frame) and each message says who it came from or went to.
 */
import { MessageTooLargeError, QueueFullError, type ReceivedMessage, UserhubClient } from "../../src/client/mod.ts";

/** What the demo app tells every socket of a user when one of them joins or leaves. */
interface PresenceFrame {
  readonly type: "presence";
  readonly connections: number;
}

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  login: element<HTMLFormElement>("login"),
  user: element<HTMLInputElement>("user"),
  connect: element<HTMLButtonElement>("connect"),
  disconnect: element<HTMLButtonElement>("disconnect"),
  state: element<HTMLSpanElement>("state"),
  who: element<HTMLElement>("who"),
  devices: element<HTMLElement>("devices"),
  seq: element<HTMLElement>("seq"),
  messages: element<HTMLOListElement>("messages"),
  empty: element<HTMLParagraphElement>("empty"),
  compose: element<HTMLFormElement>("compose"),
  to: element<HTMLInputElement>("to"),
  text: element<HTMLInputElement>("text"),
  send: element<HTMLButtonElement>("send"),
  problem: element<HTMLParagraphElement>("problem"),
};

let client: UserhubClient | null = null;

/** Asks the local development endpoint for a token; in a real app this is your identity provider. */
async function devToken(userId: string): Promise<string> {
  const response = await fetch("/dev/token", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ userId }) });
  const body = (await response.json().catch(() => ({}))) as { token?: string; error?: string };
  if (!response.ok || !body.token) throw new Error(body.error ?? `POST /dev/token answered ${response.status}`);
  return body.token;
}

function showState(state: string, detail = ""): void {
  ui.state.dataset.state = state;
  ui.state.textContent = detail ? `${state} · ${detail}` : state;
}

function showProblem(message: string | null): void {
  ui.problem.hidden = message === null;
  ui.problem.textContent = message ?? "";
}

function setSignedIn(signedIn: boolean): void {
  ui.user.disabled = signedIn;
  ui.connect.hidden = signedIn;
  ui.disconnect.hidden = !signedIn;
  ui.text.disabled = !signedIn;
  ui.to.disabled = !signedIn;
  ui.send.disabled = !signedIn;
}

/** Who a message came from or went to, as the page shows it: another user's, this tab's, or none. */
function origin(message: ReceivedMessage, mine: boolean): string {
  const parts: string[] = [];
  if (message.fromUser !== undefined && message.fromUser !== message.toUser) parts.push(`from ${message.fromUser}`);
  if (message.toUser !== undefined) parts.push(message.toUser === message.fromUser ? "note to self" : `to ${message.toUser}`);
  if (mine) parts.push("this tab");
  return parts.join(" · ");
}

function addMessage(message: ReceivedMessage, mine: boolean): void {
  const { seq, data } = message;
  const item = document.createElement("li");
  item.className = [mine ? "mine" : "", message.fromUser !== undefined || message.toUser !== undefined ? "direct" : ""].join(" ").trim();
  item.dataset.seq = String(seq);
  if (message.fromUser !== undefined) item.dataset.fromUser = message.fromUser;
  if (message.toUser !== undefined) item.dataset.toUser = message.toUser;
  const number = document.createElement("span");
  number.className = "seq";
  number.textContent = `#${seq}`;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = typeof data === "string" ? data : JSON.stringify(data);
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = origin(message, mine);
  item.append(number, text, from);
  ui.messages.append(item);
  ui.empty.hidden = true;
  item.scrollIntoView({ block: "nearest" });
}

async function signIn(userId: string): Promise<void> {
  showProblem(null);
  // Fail fast on an id the server refuses, before a client starts retrying.
  try {
    await devToken(userId);
  } catch (error) {
    showProblem(`Cannot sign in: ${(error as Error).message}`);
    return;
  }
  ui.who.textContent = userId;
  ui.messages.replaceChildren();
  ui.empty.hidden = false;
  setSignedIn(true);
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const next = new UserhubClient({ url, token: () => devToken(userId) });
  client = next;
  next.addEventListener("state", ({ detail }) => {
    if (detail.state === "reconnecting") {
      showState("reconnecting", detail.offline ? "offline" : `attempt ${detail.attempt}, in ${Math.round((detail.delayMs ?? 0) / 100) / 10} s`);
    } else showState(detail.state);
  });
  next.addEventListener("welcome", ({ detail }) => {
    ui.devices.textContent = String(detail.connections);
    ui.seq.textContent = String(next.lastSeq ?? detail.seq);
    showProblem(null);
  });
  next.addEventListener("message", ({ detail }) => {
    addMessage(detail, detail.from === next.connectionId);
    ui.seq.textContent = String(detail.seq);
  });
  next.addEventListener("frame", ({ detail }) => {
    if (detail.type === "presence") ui.devices.textContent = String((detail as unknown as PresenceFrame).connections);
  });
  next.addEventListener("reset", ({ detail }) => {
    showProblem(`Some messages before #${detail.oldest} are no longer kept; showing what is.`);
  });
  next.addEventListener("error", ({ detail }) => showProblem(`${detail.name}: ${detail.message}`));
}

function signOut(): void {
  client?.close();
  client = null;
  setSignedIn(false);
  showState("closed", "disconnected");
  ui.devices.textContent = "0";
}

ui.login.addEventListener("submit", (event) => {
  event.preventDefault();
  void signIn(ui.user.value.trim());
});
ui.disconnect.addEventListener("click", signOut);
ui.compose.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.text.value.trim();
  const to = ui.to.value.trim();
  if (!client || text === "") return;
  try {
    // A direct message carries an id of its own, so that a resend (after a reconnect) is delivered once.
    if (to !== "") client.sendFrame({ type: "direct", to, data: text, id: crypto.randomUUID() });
    else client.send(text);
    ui.text.value = "";
  } catch (error) {
    if (error instanceof QueueFullError) showProblem("Offline and the send queue is full: wait for the connection to come back.");
    else if (error instanceof MessageTooLargeError) showProblem(`Too long to send: ${error.messageBytes} bytes, and the hub takes at most ${error.maxMessageBytes}.`);
    else throw error;
  }
});
showState("closed", "disconnected");
