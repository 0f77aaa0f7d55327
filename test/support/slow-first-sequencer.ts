/**
 * The order test files start in: files known to run long first, then vitest's
 * own order (failed first, then longest by the cached durations of earlier
 * runs, or larger files first when there are none, as on a fresh clone).
 *
 * The e2e project runs several files at a time; a long file started last
 * would run alone at the end. Started first, it runs beside the short ones.
 */
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Paths from the repository root, longest first (measured in `npm test` runs
 * on this 2-core machine: the soak, CPU-bound, ~200 s under load, then the
 * conformance contract, fuzz and abuse, 40-90 s each). A file that is not
 * here keeps vitest's order.
 */
export const LONG_RUNNING_FILES: readonly string[] = [
  "test/e2e/delivery-soak.test.ts",
  "test/e2e/fan-out.test.ts",
  "test/conformance/contract.test.ts",
  "test/conformance/fuzz.test.ts",
  "test/conformance/abuse.test.ts",
  "test/e2e/identity-provider.test.ts",
  "test/e2e/readme-worker.test.ts",
  "test/e2e/client-runtimes.test.ts",
  "test/e2e/other-language-clients.test.ts",
  "bench/bench.test.ts",
];

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const path = spec.moduleId.slice(spec.project.config.root.length).replace(/^\/+/, "");
      const index = LONG_RUNNING_FILES.indexOf(path);
      return index === -1 ? LONG_RUNNING_FILES.length : index;
    };
    // Projects stay grouped as vitest grouped them; Array.prototype.sort is
    // stable, so files of equal rank keep vitest's order.
    const groups = [...new Set(sorted.map((spec) => spec.project.name))];
    const group = (spec: TestSpecification) => groups.indexOf(spec.project.name);
    return sorted.sort((a, b) => group(a) - group(b) || rank(a) - rank(b));
  }
}
