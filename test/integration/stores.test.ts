import pino from 'pino';
import { draft, DomainEvent, stamp, StoredEvent } from '../../src/events/catalog';
import { EventLog } from '../../src/events/log';
import { applyToPool } from '../../src/projections/apply';
import { CheckpointConflictError, PoolStore } from '../../src/projections/ports';
import { diffPool, emptyPool } from '../../src/projections/pool';
import { MemoryPoolStore } from '../../src/infra/embedded/memory-pool';
import { SqlEventLog } from '../../src/infra/embedded/sql-log';
import { KafkaEventLog } from '../../src/infra/kafka/kafka-log';
import { RedisPoolStore } from '../../src/infra/redis/redis-pool';
import { migrate } from '../../src/infra/sql/migrations';
import { openPglite } from '../../src/infra/sql/pglite';
import { Sql } from '../../src/infra/sql/sql';
import { isolatedProductionEnv, ProductionEnv, TEST_KAFKA_BROKERS, TEST_REDIS_URL } from '../support/production';
import { freshDataDir, removeDataDir } from '../support/data-dir';
import { e } from '../support/events';

/*
 * The two implementations of each port behave alike: the event log (PGlite,
 * Kafka) and the pool read model (memory, Redis).
 */

const actor = { kind: 'admin' as const, name: 'contract' };
let n = 0;
const events = (count: number): DomainEvent[] =>
  stamp(
    Array.from({ length: count }, () =>
      draft('ServerAdded', { serverId: `s-${n++}`, url: 'https://bbb.example.com/bigbluebutton/api', secret: 'x', loadMultiplier: 1, tag: null }),
    ),
    actor,
    new Date('2026-11-25T10:00:00Z'),
    () => crypto.randomUUID(),
  );

const until = async (check: () => boolean, ms = 20_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe.each(['pglite', 'kafka'] as const)('event log on %s', (kind) => {
  let log: EventLog;
  let close: () => Promise<void>;
  beforeAll(async () => {
    if (kind === 'pglite') {
      const dir = await freshDataDir();
      const sql: Sql = await openPglite(`${dir}/pglite`);
      await migrate(sql);
      log = new SqlEventLog(sql, 200);
      close = async () => {
        await log.close();
        await sql.close();
        removeDataDir(dir);
      };
    } else {
      const prod: ProductionEnv = await isolatedProductionEnv('log');
      log = await KafkaEventLog.open({ brokers: TEST_KAFKA_BROKERS.split(','), topic: prod.topic, replicationFactor: 1, clientId: 'contract', logger: pino({ level: 'silent' }) });
      close = async () => {
        await log.close();
        await prod.cleanup();
      };
    }
  }, 60_000);
  afterAll(async () => close());

  test('an empty log has last offset -1; appends get contiguous offsets from 0, in order', async () => {
    expect(await log.lastOffset()).toBe(-1);
    expect(await log.append(events(3))).toEqual([0, 1, 2]);
    expect(await log.append(events(2))).toEqual([3, 4]);
    expect(await log.lastOffset()).toBe(4);
  });

  test('read returns a range; replay delivers up to the last offset at the time of the call', async () => {
    const read = await log.read(1, 3);
    expect(read.map((s) => s.offset)).toEqual([1, 2, 3]);
    expect(read.every((s) => s.event.type === 'ServerAdded')).toBe(true);
    const seen: number[] = [];
    expect(await log.replay(2, async (b) => void seen.push(...b.map((s) => s.offset)))).toBe(3);
    expect(seen).toEqual([2, 3, 4]);
  });

  test('an invalid event is refused before anything is written', async () => {
    const [bad] = events(1);
    await expect(log.append([{ ...bad, data: { ...bad.data, url: '' } } as DomainEvent])).rejects.toThrow(/invalid ServerAdded/);
    expect(await log.lastOffset()).toBe(4);
  });

  test('a subscriber gets every event from where it starts, then follows new ones', async () => {
    const seen: StoredEvent[] = [];
    const sub = log.subscribe(
      async () => 3,
      async (b) => void seen.push(...b),
    );
    await until(() => seen.length >= 2);
    await log.append(events(2));
    await until(() => seen.length >= 4);
    await sub.close();
    expect(seen.map((s) => s.offset)).toEqual([3, 4, 5, 6]);
  }, 60_000);

  test('a failing handler gets the same events again; nothing is skipped', async () => {
    const seen: number[] = [];
    let failures = 0;
    const sub = log.subscribe(
      5,
      async (b) => {
        if (failures < 2) {
          failures += 1;
          throw new Error('projection down');
        }
        seen.push(...b.map((s) => s.offset));
      },
      { onError: () => undefined },
    );
    await until(() => seen.length >= 2);
    await sub.close();
    expect(failures).toBe(2);
    expect(seen).toEqual([5, 6]);
  }, 60_000);
});

describe.each(['memory', 'redis'] as const)('pool read model in %s', (kind) => {
  let store: PoolStore & { close?: () => Promise<void> };
  let other: RedisPoolStore | null = null;
  let prod: ProductionEnv | null = null;
  beforeAll(async () => {
    if (kind === 'memory') store = new MemoryPoolStore(2_000);
    else {
      prod = await isolatedProductionEnv('pool');
      const redis = new RedisPoolStore({ url: TEST_REDIS_URL, namespace: prod.namespace, defaultTimeoutMs: 2_000 });
      await redis.connect();
      store = redis;
      // another process's view of the same model
      other = new RedisPoolStore({ url: TEST_REDIS_URL, namespace: prod.namespace, defaultTimeoutMs: 5_000 });
      await other.connect();
    }
  });
  afterAll(async () => {
    await store.close?.();
    await other?.close();
    await prod?.cleanup();
  });

  const placed = (meetingId: string, serverId: string, voiceBridge: string) =>
    stamp(
      [draft('MeetingPlaced', { meetingId, serverId, tenantId: null, voiceBridge, moderatorPassword: 'mp', loadEstimate: 15, tag: null, considered: [] })],
      actor,
      new Date('2026-11-25T10:00:01Z'),
      () => crypto.randomUUID(),
    )[0];

  test('applies events at most once, keeps the per-server index and voice bridges, and reads back', async () => {
    const [a, b] = events(2);
    const serverA = (a.data as { serverId: string }).serverId;
    const serverB = (b.data as { serverId: string }).serverId;
    const log: StoredEvent[] = [a, b, placed('m-1', serverA, '111111111'), placed('m-2', serverA, '222222222')].map((event, offset) => ({ offset, event }));
    await applyToPool(store, log);
    await applyToPool(store, log.slice(1)); // delivered again: nothing changes
    expect(await store.checkpoint()).toBe(3);
    expect((await store.meetingsOnServer(serverA)).map((m) => m.meetingId).sort()).toEqual(['m-1', 'm-2']);
    expect(await store.voiceBridgesTaken(['111111111', '333333333'])).toEqual(new Set(['111111111']));
    // m-1 moves to server B: the index follows
    const moved = stamp(
      [
        draft('MeetingPlaced', {
          meetingId: 'm-1',
          serverId: serverB,
          tenantId: null,
          voiceBridge: '111111111',
          moderatorPassword: 'mp',
          loadEstimate: 15,
          tag: null,
          previousServerId: serverA,
          considered: [],
        }),
      ],
      actor,
      new Date('2026-11-25T10:00:02Z'),
      () => crypto.randomUUID(),
    )[0];
    const ended = stamp([draft('MeetingEnded', { meetingId: 'm-2', serverId: serverA, reason: 'end' })], actor, new Date(), () => crypto.randomUUID())[0];
    await applyToPool(store, [
      { offset: 4, event: moved },
      { offset: 5, event: ended },
    ]);
    expect(await store.meetingsOnServer(serverA)).toEqual([]);
    expect((await store.meetingsOnServer(serverB)).map((m) => m.meetingId)).toEqual(['m-1']);
    expect(await store.voiceBridge('222222222')).toBeNull();
    expect(await store.voiceBridge('111111111')).toBe('m-1');
  });

  test('a commit computed from an old checkpoint is refused', async () => {
    await expect(store.commit(diffPool(emptyPool(), emptyPool()), 9, 2)).rejects.toBeInstanceOf(CheckpointConflictError);
    expect(await store.checkpoint()).toBe(5);
  });

  test('a gap in the events is refused rather than skipped', async () => {
    const [c] = events(1);
    await expect(applyToPool(store, [{ offset: 7, event: c }])).rejects.toThrow(/refusing to skip/);
  });

  test('tenants: by id, by name case-insensitively, renamed, their settings, removed', async () => {
    const from = (await store.checkpoint()) + 1;
    const stamped = stamp(
      [
        draft('TenantAdded', { tenantId: 't-1', name: 'Alpha', secrets: ['s1', 's2'] }),
        draft('TenantSettingAdded', { settingId: 'ts-1', tenantId: 't-1', param: 'record', value: 'false', override: true }),
        draft('TenantAdded', { tenantId: 't-2', name: 'beta', secrets: ['s3'] }),
        draft('TenantUpdated', { tenantId: 't-1', name: 'gamma', lrsEndpoint: 'https://lrs.example.com' }),
      ],
      actor,
      new Date('2026-11-25T10:00:05Z'),
      () => crypto.randomUUID(),
    );
    await applyToPool(
      store,
      stamped.map((event, i) => ({ offset: from + i, event })),
    );
    expect(await store.tenantByName('ALPHA')).toBeNull();
    expect(await store.tenantByName('Gamma')).toMatchObject({ id: 't-1', name: 'gamma', secrets: ['s1', 's2'], lrsEndpoint: 'https://lrs.example.com' });
    expect((await store.tenants()).map((t) => t.id).sort()).toEqual(['t-1', 't-2']);
    expect(await store.tenantSettings('t-1')).toEqual([{ id: 'ts-1', tenantId: 't-1', param: 'record', value: 'false', override: true }]);
    expect(await store.tenantSettings('t-2')).toEqual([]);
    const removed = stamp([draft('TenantRemoved', { tenantId: 't-2' })], actor, new Date('2026-11-25T10:00:06Z'), () => crypto.randomUUID())[0];
    await applyToPool(store, [{ offset: from + stamped.length, event: removed }]);
    expect(await store.tenant('t-2')).toBeNull();
    expect(await store.tenantByName('beta')).toBeNull();
    const snapshot = await store.snapshot();
    expect(snapshot.tenantNames).toEqual({ gamma: 't-1' });
  });

  test('replaceAll swaps the whole model and its checkpoint; waiters in other processes wake', async () => {
    const snapshot = await store.snapshot();
    const waiting = (other ?? store).waitFor(42, 5_000);
    await store.replaceAll(snapshot, 42);
    await expect(waiting).resolves.toBeUndefined();
    expect(await store.snapshot()).toEqual(snapshot);
    await expect(store.waitFor(43, 100)).rejects.toThrow(/did not reach event 43/);
    await store.replaceAll(emptyPool(), 42);
    expect(await store.servers()).toEqual([]);
  });
});

describe('event log on pglite: how a subscriber follows appends', () => {
  let sql: Sql;
  let dir: string;
  let reads = 0;
  beforeEach(async () => {
    dir = await freshDataDir();
    sql = await openPglite(`${dir}/pglite`);
    await migrate(sql);
    reads = 0;
  }, 60_000);
  afterEach(async () => {
    await sql.close();
    removeDataDir(dir);
  });

  /** The log over `sql`, its reads of events counted (from the table or its tail); its idle poll is a minute, so only an append wakes a subscriber. */
  const countedLog = () => {
    const log = new SqlEventLog(sql, 60_000);
    const read = log.read.bind(log);
    log.read = (from, limit) => {
      reads += 1;
      return read(from, limit);
    };
    return log;
  };

  test('woken by an append, a subscriber reads once: a short batch was the whole log, so it waits for the next append', async () => {
    const log = countedLog();
    const seen: number[] = [];
    const sub = log.subscribe(0, async (b) => void seen.push(...b.map((s) => s.offset)));
    await until(() => reads === 1); // the empty log, read at the start
    await log.append(events(1));
    await until(() => seen.length === 1);
    await log.append(events(2));
    await until(() => seen.length === 3);
    await new Promise((r) => setTimeout(r, 300));
    await sub.close();
    expect(seen).toEqual([0, 1, 2]);
    expect(reads).toBe(3);
  }, 60_000);

  test('appends made before the event loop turns reach a subscriber as one batch', async () => {
    const log = countedLog();
    const batches: number[][] = [];
    const sub = log.subscribe(0, async (b) => void batches.push(b.map((s) => s.offset)));
    await until(() => reads === 1);
    // As a burst of creates appends: each decision's append follows the last one's in microtasks.
    await Promise.all(Array.from({ length: 5 }, () => log.append(events(1))));
    await until(() => batches.flat().length === 5);
    await sub.close();
    expect(batches).toEqual([[0, 1, 2, 3, 4]]);
  }, 60_000);
});

describe('event log on pglite: what it asks the table', () => {
  let sql: Sql;
  let dir: string;
  let statements: string[] = [];
  /** `sql`, its statements (inside transactions too) written down */
  let counted: Sql;
  beforeEach(async () => {
    dir = await freshDataDir();
    sql = await openPglite(`${dir}/pglite`);
    await migrate(sql);
    statements = [];
    const noted = <T extends { query: Sql['query'] }>(runner: T): T => ({
      ...runner,
      query: ((text: string, params?: unknown[]) => {
        statements.push(text);
        return runner.query(text, params);
      }) as Sql['query'],
    });
    counted = { ...noted(sql), transaction: (fn) => sql.transaction((tx) => fn(noted(tx))) };
  }, 60_000);
  afterEach(async () => {
    await sql.close();
    removeDataDir(dir);
  });

  const headQueries = () => statements.filter((t) => t.startsWith('select coalesce(max(position)')).length;
  const eventReads = () => statements.filter((t) => t.startsWith('select position, envelope')).length;

  test('the head is asked once; then appends, the head and reads of new events are answered without a query', async () => {
    const log = new SqlEventLog(counted, 60_000);
    expect(await log.lastOffset()).toBe(-1);
    expect(await log.append(events(2))).toEqual([0, 1]);
    expect(await log.append(events(1))).toEqual([2]);
    expect(await log.lastOffset()).toBe(2);
    expect((await log.read(1, 10)).map((s) => s.offset)).toEqual([1, 2]);
    expect(await log.read(3, 10)).toEqual([]);
    expect(headQueries()).toBe(1);
    expect(eventReads()).toBe(0);
    expect(statements.filter((t) => t.startsWith('insert into event_log'))).toHaveLength(2);
  });

  test("an event read from the tail is the one a query returns, its objects' keys in jsonb's order", async () => {
    const log = new SqlEventLog(sql);
    await log.lastOffset();
    const metadata = { 'bbb-origin-server-name': 'lms.example.com', zz: 'ü€😀', a: '' };
    const [imported] = stamp([e.recordingImported('rec-1', 'm-1', { metadata })], actor, new Date(), () => crypto.randomUUID());
    await log.append([...events(1), imported]);
    const fromTail = await log.read(0, 10);
    // a log that knows no head yet reads the table
    const fromTable = await new SqlEventLog(sql).read(0, 10);
    expect(JSON.stringify(fromTail)).toBe(JSON.stringify(fromTable));
    // jsonb orders keys by length: the tail keeps that order, not the order the event was written in
    expect(Object.keys((fromTail[1].event.data as { metadata: object }).metadata)).toEqual(['a', 'zz', 'bbb-origin-server-name']);
    // each read parses its own copy
    expect(fromTail[1].event).not.toBe((await log.read(1, 1))[0].event);
  });

  test('a read from before the tail asks the table', async () => {
    // the last 2 events kept (up to 4)
    const log = new SqlEventLog(counted, 60_000, 2);
    await log.lastOffset();
    for (let i = 0; i < 5; i += 1) await log.append(events(1));
    expect((await log.read(3, 10)).map((s) => s.offset)).toEqual([3, 4]);
    expect(eventReads()).toBe(0);
    expect((await log.read(0, 10)).map((s) => s.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(eventReads()).toBe(1);
  });

  test('given an append longer than the tail keeps (a poll adopting thousands of meetings), every event is read, none skipped', async () => {
    // the last 3 events kept (up to 6)
    const log = new SqlEventLog(counted, 60_000, 3);
    await log.lastOffset();
    await log.append(events(2));
    await log.append(events(5));
    await log.append(events(1));
    expect((await log.read(0, 100)).map((s) => s.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect((await log.read(2, 100)).map((s) => s.offset)).toEqual([2, 3, 4, 5, 6, 7]);
    expect((await log.read(5, 100)).map((s) => s.offset)).toEqual([5, 6, 7]);
    // the first two from the table, the last from the tail: it holds the long append's last events and what came after
    expect(eventReads()).toBe(2);
  });

  test('given a row written past the head it knows, the next append goes after it and a subscriber gets both', async () => {
    const log = new SqlEventLog(sql, 60_000);
    await log.append(events(2));
    const [byHand] = events(1);
    await sql.query('insert into event_log (position, id, type, at, envelope) values ($1, $2, $3, $4, $5)', [2, byHand.id, byHand.type, byHand.at, JSON.stringify(byHand)]);
    expect(await log.append(events(1))).toEqual([3]);
    expect((await log.read(2, 10)).map((s) => s.event.id)).toEqual([byHand.id, expect.any(String)]);
  });

  test('given a row written past the head it knows and no append after it, an idle subscriber still gets it', async () => {
    const log = new SqlEventLog(sql, 100);
    await log.append(events(1));
    const seen: number[] = [];
    const sub = log.subscribe(0, async (b) => void seen.push(...b.map((s) => s.offset)));
    await until(() => seen.length === 1);
    const [byHand] = events(1);
    await sql.query('insert into event_log (position, id, type, at, envelope) values ($1, $2, $3, $4, $5)', [1, byHand.id, byHand.type, byHand.at, JSON.stringify(byHand)]);
    await until(() => seen.length === 2);
    await sub.close();
    expect(seen).toEqual([0, 1]);
    expect(await log.lastOffset()).toBe(1);
  });

  test('given an append that fails, the head is asked again and nothing is skipped or doubled', async () => {
    let fail = false;
    const failing: Sql = {
      ...counted,
      transaction: (fn) =>
        counted.transaction((tx) =>
          fn({
            query: (text, params) => (fail && text.startsWith('insert') ? Promise.reject(new Error('disk full')) : tx.query(text, params)),
          }),
        ),
    };
    const log = new SqlEventLog(failing, 60_000);
    await log.append(events(2));
    fail = true;
    await expect(log.append(events(1))).rejects.toThrow('disk full');
    fail = false;
    expect(await log.lastOffset()).toBe(1);
    expect(await log.append(events(1))).toEqual([2]);
    expect((await log.read(0, 10)).map((s) => s.offset)).toEqual([0, 1, 2]);
    expect(headQueries()).toBe(2);
  });
});
