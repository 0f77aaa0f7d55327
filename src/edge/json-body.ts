/**
 * A request body that must be a JSON object: the object, or the route's own
 * words for what is wrong (`notJson` when it does not parse, `notObject`
 * when it is an array, `null` or a scalar).
 *
 * @example
 * ```ts
 * readJsonObject("[1]", { notJson: "body must be JSON", notObject: "body must be a JSON object" }); // "body must be a JSON object"
 * ```
 */
export function readJsonObject(text: string, problems: { readonly notJson: string; readonly notObject: string }): Record<string, unknown> | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return problems.notJson;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return problems.notObject;
  return body as Record<string, unknown>;
}
