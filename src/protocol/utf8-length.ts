/**
 * Up to this many UTF-16 units, text is first checked for being all ASCII
 * (one native scan; then its length is its size): most frames are ASCII,
 * and for short ones that is cheaper than encoding them. Past it, encoding
 * costs about the same whatever the length and the scan does not.
 */
const SHORT_TEXT = 128;
// deno-lint-ignore no-control-regex -- every ASCII code unit, the control characters included.
const ASCII_ONLY = /^[\x00-\x7f]*$/;
/** Longer text is encoded into this many bytes at a time, to be counted: a buffer made on first use and kept. */
const SCRATCH_BYTES = 16 * 1024;
const encoder = new TextEncoder();
let scratch: Uint8Array | undefined;

/**
 * The UTF-8 length of `text` as `TextEncoder` would encode it (a lone
 * surrogate becomes U+FFFD, 3 bytes): every frame's size is checked and
 * every delivery's counted. Counted by the runtime's encoder into a buffer
 * it reuses (no copy of the text is kept), or for short ASCII text by its
 * length: a loop over the text's code units in JavaScript cost about 2.9 µs
 * per 1,000 in workerd, the encoder about 0.2 µs (2026-11-30).
 *
 * @example
 * ```ts
 * utf8Length("héllo"); // 6
 * utf8Length("😀"); // 4
 * ```
 */
export function utf8Length(text: string): number {
  if (text.length <= SHORT_TEXT && ASCII_ONLY.test(text)) return text.length;
  scratch ??= new Uint8Array(SCRATCH_BYTES);
  let bytes = 0;
  // encodeInto stops before a code point that does not fit, never inside a surrogate pair, so each chunk starts on a whole one.
  for (let read = 0; read < text.length; ) {
    const chunk = encoder.encodeInto(read === 0 ? text : text.slice(read), scratch);
    read += chunk.read;
    bytes += chunk.written;
  }
  return bytes;
}
