import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedSql } from '../src/infra/embedded/data-dir';
import { SqlEventLog } from '../src/infra/embedded/sql-log';
import { migrate } from '../src/infra/sql/migrations';
import { history } from './history';
import { BIN, fmt, freePort, ROOT, stop, readModelsCaughtUp } from './support';

/*
 * bench:start: how long the embedded default takes to start with a long log, until
 * every read model (pool, history, recordings) holds the whole log, against reading
 * that log raw in the same run. The first start projects the history and the
 * recordings from nothing; a restart finds them where they were, and the pool in its
 * snapshot; a restart without a usable snapshot replays the pool from the log and
 * must leave the history alone. Env: BENCH_EVENTS (default 100,000; 1,000,000 takes minutes to seed).
 */

const SECRET = 'bench-secret';

/** Start the balancer on the data dir; resolve when /metrics says no read model lags the log. */
async function timedStart(dataDir: string): Promise<{ ms: number; child: ChildProcess }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn('node', [BIN, 'start'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), BIND: '127.0.0.1', LOADBALANCER_SECRET: SECRET, POLL_INTERVAL: '3600', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await readModelsCaughtUp(port, child);
  return { ms: performance.now() - t0, child };
}

async function main(): Promise<void> {
  const count = Number(process.env.BENCH_EVENTS ?? 100_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'scalelite-start-'));
  try {
    // A data dir whose log holds `count` events, written as the balancer writes them.
    let embedded = await openEmbeddedSql(dataDir);
    await migrate(embedded.sql);
    const log = new SqlEventLog(embedded.sql);
    const events = history(count);
    for (let i = 0; i < events.length; i += 5_000) await log.append(events.slice(i, i + 5_000));
    const t0 = performance.now();
    const read = await log.replay(0, async () => undefined);
    const rawMs = performance.now() - t0;
    await log.close();
    await embedded.sql.close();
    await embedded.release();

    const first = await timedStart(dataDir);
    await stop(first.child); // a stop snapshots the pool
    const withSnapshot = await timedStart(dataDir);
    await stop(withSnapshot.child);
    const again = await timedStart(dataDir);
    await stop(again.child);
    embedded = await openEmbeddedSql(dataDir);
    await embedded.sql.query('delete from pool_snapshots');
    await embedded.sql.close();
    await embedded.release();
    const withoutSnapshot = await timedStart(dataDir);
    await stop(withoutSnapshot.child);

    console.log(`bench:start  embedded default, ${fmt(count)} events in the log (read raw: ${fmt(read)} events in ${fmt(rawMs)} ms)`);
    for (const [name, r] of [
      ['first start (history and recordings from nothing)', first],
      ['restart, from the pool snapshot', withSnapshot],
      ['restart again, from the pool snapshot', again],
      ['restart, no usable snapshot', withoutSnapshot],
    ] as const) {
      console.log(`${name.padEnd(52)} ${fmt(r.ms).padStart(8)} ms   ratio to reading the log raw ${fmt(r.ms / rawMs, 2)}x`);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
