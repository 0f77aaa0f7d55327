/**
 * The UTF-8 length of `text` as `TextEncoder` would encode it (a lone
 * surrogate becomes U+FFFD, 3 bytes), counted without encoding it: every
 * frame's size is checked and every delivery's counted, and an encode
 * allocates a copy of the frame each time.
 *
 * @example
 * ```ts
 * utf8Length("héllo"); // 6
 * utf8Length("😀"); // 4
 * ```
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
    } else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two UTF-16 units, four bytes.
      bytes += 2;
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}
