/**
 * A user's revocation watermark: every token of the user issued (`iat`)
 * before it is refused, at the upgrade and in band, even though a JWT cannot
 * be recalled. It only moves forward, and lives as long as the hub's storage
 * (a Durable Object's SQLite; the process on Deno).
 */
export interface RevocationWatermark {
  /** Tokens issued before this time (epoch ms) are revoked; null when none is. */
  read(): number | null | Promise<number | null>;
  /** Moves the watermark to `at` (epoch ms) unless it is already later. */
  raise(at: number): void | Promise<void>;
}

/**
 * Whether a token issued at `issuedAt` (epoch ms, or null when it has no
 * `iat`) is revoked by `watermark`. A token without `iat` cannot show it is
 * newer, so any watermark revokes it.
 */
export function isRevoked(issuedAt: number | null | undefined, watermark: number | null): boolean {
  if (watermark === null) return false;
  return issuedAt === null || issuedAt === undefined || issuedAt < watermark;
}

/**
 * Watermarks in memory, one per user, for a host whose hubs come and go
 * while its process stays (Deno's namespace): a user's watermark outlives
 * their hub.
 *
 * @example
 * ```ts
 * const watermarks = new MemoryRevocationWatermarks();
 * const alice = watermarks.forUser("alice");
 * alice.raise(Date.now());
 * ```
 */
export class MemoryRevocationWatermarks {
  readonly #watermarks = new Map<string, number>();

  /** The watermark of `userId`. */
  forUser(userId: string): RevocationWatermark {
    return {
      read: () => this.#watermarks.get(userId) ?? null,
      raise: (at) => {
        const current = this.#watermarks.get(userId);
        if (current === undefined || at > current) this.#watermarks.set(userId, at);
      },
    };
  }

  /** Users with a watermark. */
  get size(): number {
    return this.#watermarks.size;
  }
}
