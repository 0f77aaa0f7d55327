import { CloseCode, CloseReason } from "../protocol/close-code.ts";
import { connectionStateText, readConnectionState } from "./connection-state.ts";
import type { Connection } from "./hub-app.ts";
import type { ConnectionAttachment } from "./hub-host.ts";
import type { HubSockets } from "./hub-sockets.ts";
import type { WritableSocket } from "./sender.ts";

/**
 * The {@link Connection} an application's handlers get for `socket`: its
 * identity, its one sender, a close that runs cleanup once, and its state,
 * written through to the attachment at once (the object may hibernate right
 * after the handler returns).
 *
 * `closedByApp` runs after the app closed the socket (it is already marked
 * closing and sent its close frame): the hub's cleanup, `onClose` included.
 */
export function connectionHandle<S extends WritableSocket>(
  sockets: HubSockets<S>,
  socket: S,
  attachment: ConnectionAttachment,
  closedByApp: (attachment: ConnectionAttachment, code: number, reason: string) => void,
): Connection {
  const attachmentNow = () => sockets.attachment(socket) ?? attachment;
  return {
    id: attachment.connectionId,
    userId: attachment.userId,
    connectedAt: attachment.connectedAt,
    send: (frame: object | string) => sockets.sender(socket).send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    close: (code: number = CloseCode.Normal, reason?: string) => {
      const current = sockets.openAttachment(socket);
      if (!current) return;
      const text = reason ?? CloseReason[code] ?? "";
      sockets.markClosing(socket, current);
      sockets.sender(socket).close(code, text);
      closedByApp(current, code, text);
    },
    get state() {
      return readConnectionState(attachmentNow().state);
    },
    setState: (next) => {
      const current = attachmentNow();
      const text = connectionStateText(typeof next === "function" ? next(readConnectionState(current.state)) : next);
      if (text === undefined) delete current.state;
      else current.state = text;
      sockets.write(socket, current);
      return readConnectionState(text);
    },
  };
}
