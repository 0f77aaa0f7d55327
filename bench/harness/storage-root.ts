/**
 * Where servers keep their storage (Durable Objects' SQLite, the Node
 * server's SQLite). In memory (/dev/shm) by default: a durable write then
 * costs what the runtime does for it, not what this shared VM's virtual disk
 * takes to fsync, which is neither the runtime nor production (there,
 * Durable Object writes are made durable by replication, not a local fsync).
 * Every target gets the same root, and a run can choose `disk` to see the
 * difference.
 */
import { accessSync, constants, statSync } from "node:fs";
import { tmpdir } from "node:os";

export type StorageKind = "memory" | "disk";

export function storageRoot(kind: StorageKind): string {
  if (kind === "memory") {
    try {
      if (statSync("/dev/shm").isDirectory()) {
        accessSync("/dev/shm", constants.W_OK);
        return "/dev/shm";
      }
    } catch {
      // no tmpfs here: fall through to the temp directory
    }
  }
  return tmpdir();
}
