import { type Connection, FrameError, type FrameHandler, type HubContext } from "./hub-app.ts";
import type { ClientFrame } from "../protocol/frames.ts";
import type { StandardSchemaV1 } from "./standard-schema.ts";

/**
 * A frame handler with a schema: the hub validates the whole frame (its
 * `type` included) before the handler runs, and hands it the schema's
 * output. A frame that fails gets an `invalid_frame` error naming the path
 * of the first issue (`data.text: Expected string`); the socket stays up.
 * Build one with {@link withSchema}, which types `handle`'s frame.
 */
export interface SchemaFrameHandler<Frame = unknown> {
  readonly schema: StandardSchemaV1<unknown, Frame>;
  // A method, so that a handler of a narrower frame still fits `HubApp.frames`.
  handle(frame: Frame, connection: Connection, hub: HubContext): void | Promise<unknown>;
}

/**
 * A handler whose frame is checked by `schema` (any Standard Schema: zod,
 * valibot, ArkType, or an object of your own) and typed as its output.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { type HubApp, withSchema } from "userhub";
 *
 * const Note = v.object({ type: v.literal("note"), data: v.object({ text: v.pipe(v.string(), v.maxLength(500)) }) });
 * export const app: HubApp = {
 *   frames: {
 *     note: withSchema(Note, async (frame, connection, hub) => {
 *       await hub.deliver({ text: frame.data.text }, { from: connection.id }); // frame.data.text is a string
 *     }),
 *   },
 * };
 * ```
 */
export function withSchema<Schema extends StandardSchemaV1>(
  schema: Schema,
  handle: (frame: StandardSchemaV1.InferOutput<Schema>, connection: Connection, hub: HubContext) => void | Promise<unknown>,
): SchemaFrameHandler<StandardSchemaV1.InferOutput<Schema>> {
  return { schema, handle };
}

/** A frame its handler's schema refused. Its message names the path of the first issue; `issues` holds them all. */
export class FrameSchemaError extends FrameError {
  override readonly name: string = "FrameSchemaError";
  readonly issues: ReadonlyArray<StandardSchemaV1.Issue>;

  constructor(issues: ReadonlyArray<StandardSchemaV1.Issue>) {
    super(issues.length > 0 ? issueText(issues[0]!) : "frame refused by its schema");
    this.issues = issues;
  }
}

/** Issue texts can echo what the client sent: an error frame carries at most this many characters of one. */
const MAX_ISSUE_TEXT = 200;

/**
 * `path: message` for one issue, the path written as in JavaScript
 * (`data.items[0].text`); just the message for an issue about the whole frame.
 *
 * @example
 * ```ts
 * issueText({ message: "Expected string", path: ["data", { key: "text" }] }); // "data.text: Expected string"
 * ```
 */
export function issueText(issue: StandardSchemaV1.Issue): string {
  let path = "";
  for (const segment of issue.path ?? []) {
    const key = typeof segment === "object" && segment !== null ? segment.key : segment;
    if (typeof key === "number") path += `[${key}]`;
    else path += path === "" ? String(key) : `.${String(key)}`;
  }
  const text = path === "" ? issue.message : `${path}: ${issue.message}`;
  return text.length > MAX_ISSUE_TEXT ? `${text.slice(0, MAX_ISSUE_TEXT - 1)}…` : text;
}

/**
 * Runs `handler` on `frame`: a plain handler as it is; a {@link SchemaFrameHandler}
 * after its schema accepted the frame (awaiting an asynchronous schema).
 *
 * @throws {FrameSchemaError} when the schema refuses the frame; the handler does not run.
 */
export function runFrameHandler(
  handler: FrameHandler | SchemaFrameHandler,
  frame: ClientFrame,
  connection: Connection,
  hub: HubContext,
): void | Promise<unknown> {
  // A plain handler's own result is the answer: no async layer of ours around every frame. (A throw reaches the caller's try as a throw.)
  if (typeof handler === "function") return handler(frame, connection, hub);
  return runSchemaHandler(handler, frame, connection, hub);
}

async function runSchemaHandler(handler: SchemaFrameHandler, frame: ClientFrame, connection: Connection, hub: HubContext): Promise<void> {
  const result = await handler.schema["~standard"].validate(frame);
  if (result.issues) throw new FrameSchemaError(result.issues);
  await handler.handle(result.value, connection, hub);
}
