/**
 * What a value is, for an error message that must not quote it (it may be
 * large, or a secret): "null", "undefined", "an array", "a string", "an object", …
 *
 * @example
 * ```ts
 * kindOf(null); // "null"
 * kindOf(NaN); // "a number"
 * ```
 */
export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
