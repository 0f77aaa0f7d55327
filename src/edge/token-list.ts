/** Splits a comma-separated header value into trimmed, non-empty tokens. */
export function tokenList(value: string | null): string[] {
  if (value === null) return [];
  return value.split(",").map((t) => t.trim()).filter((t) => t.length > 0);
}
