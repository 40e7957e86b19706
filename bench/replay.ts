import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { DomainEvent } from '../src/events/catalog';
import { EventLog } from '../src/events/log';
import { applyToPool } from '../src/projections/apply';
import { PoolStore } from '../src/projections/ports';
import { MemoryPoolStore } from '../src/infra/embedded/memory-pool';
import { SqlEventLog } from '../src/infra/embedded/sql-log';
import { KafkaEventLog } from '../src/infra/kafka/kafka-log';
import { RedisPoolStore } from '../src/infra/redis/redis-pool';
import { migrate } from '../src/infra/sql/migrations';
import { openPglite } from '../src/infra/sql/pglite';
import { SqlPoolSnapshots } from '../src/infra/sql/pool-snapshots';
import { PoolSnapshotter, restoreFromSnapshot } from '../src/projections/snapshots';
import { fmt } from './support';
import { history } from './history';

/*
 * bench:replay: how fast the read model is rebuilt from the log, in events/s,
 * from Kafka and from PGlite, each as a ratio to reading the same log without
 * applying it. Env: BENCH_EVENTS (default 100000), BENCH_KAFKA_BROKERS,
 * BENCH_REDIS_URL.
 */

async function seed(log: EventLog, events: DomainEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 2000) await log.append(events.slice(i, i + 2000));
}

async function timed(fn: () => Promise<number>): Promise<{ events: number; perSecond: number; ms: number }> {
  const started = process.hrtime.bigint();
  const events = await fn();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { events, ms, perSecond: events / (ms / 1000) };
}

const raw = (log: EventLog) => timed(() => log.replay(0, async () => undefined));
const rebuild = (log: EventLog, store: PoolStore) =>
  timed(async () => {
    await store.clear();
    return log.replay(0, async (batch) => {
      await applyToPool(store, batch);
    });
  });

async function main(): Promise<void> {
  const count = Number(process.env.BENCH_EVENTS ?? 100_000);
  const brokers = (process.env.BENCH_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const events = history(count);
  const rows: Array<[string, Awaited<ReturnType<typeof timed>>, Awaited<ReturnType<typeof timed>>]> = [];

  const dir = mkdtempSync(join(tmpdir(), 'scalelite-replay-'));
  const sql = await openPglite(join(dir, 'pglite'));
  await migrate(sql);
  const pglite = new SqlEventLog(sql);
  await seed(pglite, events);
  const live = new MemoryPoolStore();
  const full = await rebuild(pglite, live);
  rows.push(['PGlite log -> memory', await raw(pglite), full]);
  // What the embedded default does at start instead: restore the latest snapshot, replay what follows.
  const snapshotDeps = { log: pglite, snapshots: new SqlPoolSnapshots(sql), logger: pino({ level: 'silent' }) };
  await new PoolSnapshotter({ ...snapshotDeps, pool: live }, { checkIntervalMs: 60_000, everyEvents: 1 }, -1).takeIfDue(1);
  const fromSnapshot = await timed(async () => {
    const pool = new MemoryPoolStore();
    const at = (await restoreFromSnapshot({ ...snapshotDeps, pool })) ?? -1;
    return pglite.replay(at + 1, async (batch) => void (await applyToPool(pool, batch)));
  });

  const topic = `bench.replay.${randomUUID()}.events`;
  const kafka = await KafkaEventLog.open({ brokers, topic, replicationFactor: 1, clientId: 'bench-replay', logger: pino({ level: 'warn' }) });
  const namespace = `bench-replay-${process.pid}`;
  const redis = new RedisPoolStore({ url: redisUrl, namespace });
  try {
    await seed(kafka, events);
    const kafkaRaw = await raw(kafka);
    rows.push(['Kafka log -> memory', kafkaRaw, await rebuild(kafka, new MemoryPoolStore())]);
    await redis.connect();
    rows.push(['Kafka log -> Redis', kafkaRaw, await rebuild(kafka, redis)]);
  } finally {
    await redis.clear().catch(() => undefined);
    await redis.close();
    await kafka.close();
    const admin = new Kafka({ clientId: 'bench-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await pglite.close();
    await sql.close();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(`bench:replay  ${fmt(count)} events (servers added, meetings placed and ended, polls)`);
  for (const [name, read, built] of rows) {
    console.log(
      `${name.padEnd(22)} read ${fmt(read.perSecond).padStart(9)} events/s   rebuild ${fmt(built.perSecond).padStart(9)} events/s   ratio rebuild/read ${fmt(built.perSecond / read.perSecond, 2)}x`,
    );
  }
  console.log(
    `embedded start         whole log ${fmt(full.ms)} ms   from a snapshot at the last event ${fmt(fromSnapshot.ms)} ms   ratio ${fmt(full.ms / fromSnapshot.ms, 1)}x faster`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
