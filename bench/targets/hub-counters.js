// Bench-only counters of what a Durable Object's code did, answered by each
// target Worker at GET /__bench/wakes. Every Durable Object target bumps the
// same counters: one integer add per entry point ("wakes": how often the
// object's code ran), and, through countStorage, the SQLite rows its queries
// read and wrote and its alarm calls (both are billed). The counters are
// module state: under workerd a Worker and its Durable Objects share one
// isolate, so the Worker reads what the objects wrote, across hibernation.
export const wakes = { constructed: 0, fetch: 0, message: 0, close: 0, error: 0, alarm: 0, rpc: 0, request: 0 };
export const storage = { sqlStatements: 0, kvCalls: 0, rowsRead: 0, rowsWritten: 0, setAlarm: 0, deleteAlarm: 0, getAlarm: 0 };

export const WAKES_PATH = "/__bench/wakes";

export function answerWakes() {
  return Response.json({ ...wakes, storage });
}

/**
 * Counts the object's SQL rows and alarm calls by wrapping its own
 * `ctx.storage` methods (this object only; nothing else changes). A cursor's
 * row counts are final once the caller has consumed it, which every caller
 * here does synchronously, so they are read a microtask later. That costs a
 * little per statement, so the bench turns it off (BENCH_COUNT_STORAGE=off)
 * on the servers whose throughput and CPU it measures, and counts rows on
 * the others.
 */
export function countStorage(ctxStorage, env) {
  if (env?.BENCH_COUNT_STORAGE === "off") return;
  // The key-value methods live in a hidden SQLite table and are billed as rows: one per key here.
  const keys = (arg) => (Array.isArray(arg) ? arg.length : typeof arg === "object" && arg !== null ? Object.keys(arg).length : 1);
  for (const [method, field] of [["get", "rowsRead"], ["put", "rowsWritten"], ["delete", "rowsWritten"]]) {
    const original = ctxStorage[method].bind(ctxStorage);
    ctxStorage[method] = (...args) => {
      storage.kvCalls++;
      storage[field] += keys(args[0]);
      return original(...args);
    };
  }
  const sql = ctxStorage.sql;
  const exec = sql.exec.bind(sql);
  sql.exec = (query, ...bindings) => {
    const cursor = exec(query, ...bindings);
    storage.sqlStatements++;
    queueMicrotask(() => {
      storage.rowsRead += cursor.rowsRead;
      storage.rowsWritten += cursor.rowsWritten;
    });
    return cursor;
  };
  for (const method of ["setAlarm", "deleteAlarm", "getAlarm"]) {
    const original = ctxStorage[method].bind(ctxStorage);
    ctxStorage[method] = (...args) => {
      storage[method]++;
      return original(...args);
    };
  }
}
