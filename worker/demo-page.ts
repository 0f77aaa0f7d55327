/** The demo page served at `/`: pick a user, connect, and send to all of that user's tabs. */
export const DEMO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>userhub demo</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1d2430; }
  h1 { font-size: 1.4rem; } form { display: flex; gap: .5rem; margin: .75rem 0; }
  input { flex: 1; padding: .4rem .6rem; border: 1px solid #c4cad4; border-radius: 6px; font: inherit; }
  button { padding: .4rem .9rem; border: 0; border-radius: 6px; background: #2d5be3; color: #fff; font: inherit; cursor: pointer; }
  #state { font-weight: 600; } ol { padding-left: 1.2rem; } code { background: #f1f3f7; padding: 0 .25rem; border-radius: 4px; }
</style>
</head>
<body>
<h1>userhub demo</h1>
<p>Every tab that connects as the same user gets every message; other users see none.</p>
<form id="login"><input id="user" value="alice" aria-label="user id"><button>Connect</button></form>
<p>State: <span id="state">disconnected</span> · devices: <span id="devices">0</span></p>
<form id="send"><input id="text" placeholder="Say something" aria-label="message"><button>Send</button></form>
<ol id="messages"></ol>
<script type="module">
const $ = (id) => document.getElementById(id);
let socket;
$("login").onsubmit = async (event) => {
  event.preventDefault();
  socket?.close();
  const response = await fetch("/dev/token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId: $("user").value }) });
  if (!response.ok) { $("state").textContent = "token refused: " + (await response.text()); return; }
  const { token } = await response.json();
  const url = location.origin.replace(/^http/, "ws") + "/ws";
  socket = new WebSocket(url, ["userhub.v1", "bearer." + token]);
  $("state").textContent = "connecting";
  let ping;
  socket.onopen = () => { $("state").textContent = "open"; };
  socket.onclose = (e) => { clearInterval(ping); $("state").textContent = "closed (" + e.code + ")"; };
  socket.onmessage = (e) => {
    if (e.data === "pong") return;
    const frame = JSON.parse(e.data);
    if (frame.type === "welcome") {
      $("devices").textContent = frame.connections;
      ping = setInterval(() => socket.send("ping"), frame.heartbeat.intervalMs);
    } else if (frame.type === "message") {
      const li = document.createElement("li");
      li.textContent = "#" + frame.seq + " " + JSON.stringify(frame.data);
      $("messages").append(li);
    }
  };
};
$("send").onsubmit = (event) => {
  event.preventDefault();
  socket?.send(JSON.stringify({ type: "send", data: $("text").value }));
  $("text").value = "";
};
</script>
</body>
</html>
`;
