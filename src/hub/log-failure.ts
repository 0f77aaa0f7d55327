/**
 * Logs that hub work failed, as one line: a name and a message, never a
 * stack trace (and hub code never holds a token, so none can be printed).
 */
export function logFailure(where: string, error: unknown): void {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`userhub: ${where} failed: ${text.split("\n")[0]}`);
}
