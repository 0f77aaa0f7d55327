/**
 * Another revision of this repository, checked out beside it for a run that
 * measures it against the working tree in one process (`node
 * bench/in-process.ts --base <rev>`): a detached `git worktree` in a
 * temporary directory, sharing this checkout's `node_modules` (a revision
 * whose dependencies differ is not what it is for), removed by `remove`.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** This repository's root: two folders above this file. */
export const REPOSITORY_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface RevisionCheckout {
  /** The checkout's root: its files as they were at the revision. */
  readonly root: string;
  /** The commit it is, in full. */
  readonly commit: string;
  /** Removes the worktree and its directory. */
  remove(): Promise<void>;
}

/**
 * Checks out `revision` (anything `git rev-parse` takes) beside this one.
 *
 * @throws {Error} when git cannot resolve the revision or make the worktree (git's own message is kept as the cause).
 */
export async function checkoutRevision(revision: string): Promise<RevisionCheckout> {
  const git = (...args: string[]) => execFileSync("git", ["-C", REPOSITORY_ROOT, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  let commit: string;
  try {
    commit = git("rev-parse", "--verify", `${revision}^{commit}`);
  } catch (error) {
    throw new Error(`--base ${revision}: not a commit of this repository`, { cause: error });
  }
  const parent = await mkdtemp(join(tmpdir(), "userhub-base-"));
  const root = join(parent, "tree");
  try {
    git("worktree", "add", "--detach", "--quiet", root, commit);
    await symlink(join(REPOSITORY_ROOT, "node_modules"), join(root, "node_modules"), "dir");
  } catch (error) {
    await rm(parent, { recursive: true, force: true });
    throw new Error(`--base ${revision}: could not check it out beside this tree`, { cause: error });
  }
  return {
    root,
    commit,
    async remove() {
      try {
        git("worktree", "remove", "--force", root);
      } finally {
        await rm(parent, { recursive: true, force: true });
        git("worktree", "prune");
      }
    },
  };
}
