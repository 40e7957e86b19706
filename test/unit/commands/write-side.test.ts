import { AddressInfo, connect, createServer } from 'node:net';
import pino from 'pino';
import { DecisionUnavailableError, domainError, isDomainError } from '../../../src/commands/errors';
import { decideServer } from '../../../src/commands/servers';
import { Committed, Decided, DecisionLock, GATHER_MS, LocalDecisionLock, WriteSide } from '../../../src/commands/write-side';
import { poolOverlay } from '../../../src/projections/overlay';
import { DomainError } from '../../../src/commands/errors';
import { EventDraft } from '../../../src/events/catalog';
import { poolProjection } from '../../../src/projections/apply';
import { PoolReader } from '../../../src/projections/ports';
import { Projector } from '../../../src/projections/projector';
import { MemoryPoolStore } from '../../../src/infra/embedded/memory-pool';
import { SqlEventLog } from '../../../src/infra/embedded/sql-log';
import { migrate } from '../../../src/infra/sql/migrations';
import { openPglite } from '../../../src/infra/sql/pglite';
import { Sql } from '../../../src/infra/sql/sql';
import { adminActor, e, given, idSequence, liveServer, T0, uuid } from '../../support/events';
import { parkedInMemory } from '../../support/parked';

jest.setTimeout(20_000);
// PGlite through Node's own loader: runs with or without --experimental-vm-modules (see the helper).
jest.mock('@electric-sql/pglite', () => jest.requireActual('../../support/native-pglite').nativePglite());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function committed<T>(outcome: Committed<T> | DomainError): Committed<T> {
  if (isDomainError(outcome)) throw new Error(`unexpected ${outcome.error}: ${outcome.message}`);
  return outcome;
}

describe('WriteSide over a PGlite event log and the memory pool', () => {
  let sql: Sql;
  let log: SqlEventLog;
  let store: MemoryPoolStore;
  let projector: Projector;
  let writeSide: WriteSide;
  let ids: jest.Mock<string, []>;

  beforeAll(async () => {
    sql = await openPglite(null);
    await migrate(sql);
  });

  afterAll(async () => {
    await sql.close();
  });

  beforeEach(async () => {
    await sql.query('delete from event_log');
    log = new SqlEventLog(sql, 20);
    store = new MemoryPoolStore(2_000);
    projector = new Projector({ log, projections: [poolProjection(store)], logger: pino({ level: 'silent' }), parked: parkedInMemory(), isTransient: () => true });
    await projector.start();
    const next = idSequence(100);
    ids = jest.fn(next);
    writeSide = new WriteSide({ log, pool: store, lock: new LocalDecisionLock(), clock: () => new Date(T0), newId: ids, projectionTimeoutMs: 2_000 });
  });

  afterEach(async () => {
    await projector.stop();
    await log.close();
  });

  const decideEvents =
    (events: EventDraft[], result: unknown = null) =>
    async (): Promise<Decided<unknown>> => ({ events, result });

  test('appends the stamped events and answers once the pool includes them (read-your-writes)', async () => {
    const outcome = committed(await writeSide.decide(adminActor, decideEvents([e.serverAdded('bbb-1'), e.serverEnabled('bbb-1')], 'done'), 'req-1'));
    expect(outcome.result).toBe('done');
    expect(outcome.events).toEqual([
      {
        offset: 0,
        event: { id: uuid(100), type: 'ServerAdded', version: 1, at: new Date(T0).toISOString(), actor: adminActor, correlationId: 'req-1', data: e.serverAdded('bbb-1').data },
      },
      {
        offset: 1,
        event: { id: uuid(101), type: 'ServerEnabled', version: 1, at: new Date(T0).toISOString(), actor: adminActor, correlationId: 'req-1', data: { serverId: 'bbb-1' } },
      },
    ]);
    // no waiting: the projection already has them
    expect(await store.checkpoint()).toBe(1);
    expect((await store.server('bbb-1'))?.state).toBe('enabled');
    // and the log has exactly them
    expect(await log.read(0, 10)).toEqual(outcome.events);
  });

  test('a domain error appends nothing and stamps nothing', async () => {
    const outcome = await writeSide.decide(adminActor, async () => domainError('serverNotFound', 'nope'));
    expect(outcome).toEqual({ error: 'serverNotFound', message: 'nope' });
    expect(await log.lastOffset()).toBe(-1);
    expect(ids).not.toHaveBeenCalled();
  });

  test('a decision with no events appends nothing and returns its result', async () => {
    const outcome = committed(await writeSide.decide(adminActor, decideEvents([], 42)));
    expect(outcome).toEqual({ result: 42, events: [] });
    expect(await log.lastOffset()).toBe(-1);
  });

  test('a decision that reads nothing may answer at once, and one that only records events has no result', async () => {
    const outcome = committed(await writeSide.decide(adminActor, () => ({ events: [e.serverAdded('bbb-1')] })));
    expect(outcome.result).toBeUndefined();
    expect(outcome.events.map((s) => s.event.type)).toEqual(['ServerAdded']);
    expect(await store.server('bbb-1')).not.toBeNull();
  });

  test('a decision sees every event already in the log, even ones appended elsewhere', async () => {
    await log.append(given(liveServer('bbb-1', 7), { firstId: 1 }));
    const outcome = committed(await writeSide.decide(adminActor, async (view) => ({ events: [], result: await view.server('bbb-1') })));
    expect(outcome.result).toMatchObject({ id: 'bbb-1', state: 'enabled', online: true, load: 7 });
  });

  test('admin commands through the write side: given/when/then against the projected pool', async () => {
    // The callback loads the view and hands the decider's answer straight on.
    const run = (command: Parameters<typeof decideServer>[0]) =>
      writeSide.decide(adminActor, async (view: PoolReader) => {
        const server = await view.server(command.serverId);
        return decideServer(command, { server, meetingsOnServer: server ? await view.meetingsOnServer(server.id) : [] });
      });
    committed(await run({ type: 'AddServer', serverId: 'bbb-1', url: 'https://bbb-1.example.com/bigbluebutton/api', secret: 's' }));
    expect(await run({ type: 'AddServer', serverId: 'bbb-1', url: 'https://bbb-1.example.com/bigbluebutton/api', secret: 's' })).toMatchObject({ error: 'serverExists' });
    const enabled = committed(await run({ type: 'UpdateServer', serverId: 'bbb-1', state: 'enable' }));
    expect(enabled.events.map((s) => s.event.type)).toEqual(['ServerEnabled']);
    expect((await store.server('bbb-1'))?.state).toBe('enabled');
    expect(committed(await run({ type: 'UpdateServer', serverId: 'bbb-1', state: 'enable' })).events).toEqual([]);
    expect(await log.lastOffset()).toBe(1);
  });

  test('concurrent decisions never interleave: each sees the one before it', async () => {
    let running = 0;
    let maxRunning = 0;
    const addNext = async (view: PoolReader): Promise<Decided<string>> => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      const n = (await view.servers()).length;
      await sleep(5); // a slow decision: another caller would read the same count if it could get in
      running -= 1;
      return { events: [e.serverAdded(`s-${n}`)], result: `s-${n}` };
    };
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => writeSide.decide(adminActor, addNext)));
    expect(maxRunning).toBe(1);
    expect(outcomes.map((o) => committed(o).result)).toEqual(['s-0', 's-1', 's-2', 's-3', 's-4', 's-5', 's-6', 's-7']);
    expect((await store.servers()).map((s) => s.id).sort()).toEqual(['s-0', 's-1', 's-2', 's-3', 's-4', 's-5', 's-6', 's-7']);
    expect(await log.lastOffset()).toBe(7);
  });

  test('a decision that throws releases the lock; the error reaches the caller', async () => {
    await expect(
      writeSide.decide(adminActor, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(committed(await writeSide.decide(adminActor, decideEvents([e.serverAdded('bbb-1')]))).events).toHaveLength(1);
  });

  test('an event the catalogue rejects is not appended: the caller gets a domain error', async () => {
    const invalid = { type: 'ServerAdded', data: { serverId: 'x', url: 'https://x', secret: '', loadMultiplier: 1, tag: null } } as EventDraft;
    await expect(writeSide.decide(adminActor, decideEvents([e.serverAdded('ok'), invalid]))).resolves.toEqual({
      error: 'invalidRequest',
      message: expect.stringMatching(/^invalid ServerAdded: .*secret/),
    });
    expect(await log.lastOffset()).toBe(-1);
    expect(await store.server('ok')).toBeNull();
  });

  test('without a running projection the caller gets DecisionUnavailable once its deadline passes (the events are in the log)', async () => {
    await projector.stop();
    const impatient = new WriteSide({ log, pool: store, lock: new LocalDecisionLock(), clock: () => new Date(T0), newId: idSequence(500), projectionTimeoutMs: 30 });
    await expect(impatient.decide(adminActor, decideEvents([e.serverAdded('bbb-1')]))).rejects.toThrow(DecisionUnavailableError);
    await expect(impatient.decide(adminActor, decideEvents([e.serverAdded('bbb-1')]))).rejects.toThrow(/is a projector running/);
    expect(await log.lastOffset()).toBe(0);
  });

  test('given a stuck projection: ten callers are all answered within one deadline, not one timeout after another under the lock', async () => {
    await projector.stop();
    await log.append(given([e.serverAdded('appended-elsewhere')], { firstId: 900 }));
    const timeoutMs = 300;
    const stuck = new WriteSide({ log, pool: store, lock: new LocalDecisionLock(), clock: () => new Date(T0), newId: idSequence(500), projectionTimeoutMs: timeoutMs });
    const started = Date.now();
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => stuck.decide(adminActor, decideEvents([e.serverAdded('bbb-1')]))));
    const elapsed = Date.now() - started;
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof DecisionUnavailableError)).toBe(true);
    // ten callers serialised behind the lock would take ten timeouts
    expect(elapsed).toBeLessThan(timeoutMs * 3);
    expect(await log.lastOffset()).toBe(0);
  });

  test('once a wait found the projection stuck, the next caller fails at once, and callers succeed again when it moves', async () => {
    await projector.stop();
    await log.append(given([e.serverAdded('appended-elsewhere')], { firstId: 900 }));
    const stuck = new WriteSide({ log, pool: store, lock: new LocalDecisionLock(), clock: () => new Date(T0), newId: idSequence(500), projectionTimeoutMs: 200 });
    await expect(stuck.decide(adminActor, decideEvents([e.serverAdded('bbb-1')]))).rejects.toThrow(DecisionUnavailableError);
    const started = Date.now();
    await expect(stuck.decide(adminActor, decideEvents([e.serverAdded('bbb-1')]))).rejects.toThrow(/stuck at event -1 .* the log is at 0/);
    expect(Date.now() - started).toBeLessThan(100);
    // the projector comes back
    projector = new Projector({ log, projections: [poolProjection(store)], logger: pino({ level: 'silent' }), parked: parkedInMemory(), isTransient: () => true });
    await projector.start();
    await store.waitFor(0, 2000);
    expect(committed(await stuck.decide(adminActor, decideEvents([e.serverAdded('bbb-1')]))).events).toHaveLength(1);
  });

  test('while the projection stays stuck, one caller a second waits again to see whether it moved', async () => {
    await projector.stop();
    await log.append(given([e.serverAdded('appended-elsewhere')], { firstId: 900 }));
    let clock = 0;
    const stuck = new WriteSide({ log, pool: store, lock: new LocalDecisionLock(), clock: () => new Date(T0), newId: idSequence(500), projectionTimeoutMs: 100, now: () => clock });
    await expect(stuck.decide(adminActor, decideEvents([]))).rejects.toThrow(/did not reach event 0/);
    clock += 500;
    await expect(stuck.decide(adminActor, decideEvents([]))).rejects.toThrow(/stuck at event -1 for 1 s/);
    clock += 600;
    // the probe: it waits (and here, times out again) instead of failing at once
    await expect(stuck.decide(adminActor, decideEvents([]))).rejects.toThrow(/did not reach event 0/);
  });

  test('a caller still queued for the lock at its deadline leaves the queue; its decision never runs', async () => {
    const lock = new LocalDecisionLock();
    const patient = new WriteSide({ log, pool: store, lock, clock: () => new Date(T0), newId: idSequence(500), projectionTimeoutMs: 150 });
    let release: () => void = () => undefined;
    const holder = lock.withLock(() => new Promise<void>((resolve) => (release = resolve)));
    const ran = jest.fn(decideEvents([e.serverAdded('late')]));
    const started = Date.now();
    await expect(patient.decide(adminActor, ran)).rejects.toThrow(/decision lock stayed busy/);
    expect(Date.now() - started).toBeLessThan(1000);
    release();
    await holder;
    await lock.withLock(async () => undefined);
    expect(ran).not.toHaveBeenCalled();
    expect(await log.lastOffset()).toBe(-1);
  });

  describe('batched decisions (group commit)', () => {
    /** A lock that counts its holds. */
    const countingLock = () => {
      const inner = new LocalDecisionLock();
      const counted = { holds: 0, withLock: <T>(fn: () => Promise<T>, deadline?: number) => ((counted.holds += 1), inner.withLock(fn, deadline)) };
      return counted;
    };
    const batching = (lock: DecisionLock, projectionTimeoutMs = 2_000) =>
      new WriteSide({ log, pool: store, lock, clock: () => new Date(T0), newId: idSequence(1_000), projectionTimeoutMs, overlay: poolOverlay });
    /** Place a meeting on the least loaded server, as the placement does (load estimate 15). */
    const placeOnLeastLoaded = (meetingId: string) => async (view: PoolReader) => {
      const servers = (await view.servers()).filter((s) => s.load !== null).sort((a, b) => a.load! - b.load! || a.id.localeCompare(b.id));
      return { events: [e.meetingPlaced(meetingId, servers[0]!.id, { voiceBridge: String(70000 + Number(meetingId.slice(2))), loadEstimate: 15 })], result: servers[0]!.id };
    };

    test('given 40 placements asked at once, they are decided in a few holds of the lock and spread exactly as one by one would', async () => {
      committed(await writeSide.decide(adminActor, decideEvents(['a', 'b', 'c', 'd'].flatMap((id) => liveServer(id, 0)))));
      const lock = countingLock();
      const batched = batching(lock);
      const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => batched.decide(adminActor, placeOnLeastLoaded(`m-${i}`), undefined, { batch: true })));
      const placed = outcomes.map((o) => committed(o).result);
      expect(['a', 'b', 'c', 'd'].map((id) => placed.filter((p) => p === id).length)).toEqual([10, 10, 10, 10]);
      expect(lock.holds).toBeLessThan(10);
      // each caller gets its own events, at their own offsets, in the order they were decided
      const offsets = outcomes.flatMap((o) => committed(o).events.map((s) => s.offset));
      expect(new Set(offsets).size).toBe(40);
      expect((await store.meetings()).length).toBe(40);
      expect((await store.servers()).map((s) => s.load)).toEqual([150, 150, 150, 150]);
    });

    test('given a batch, a domain error, a refused event or a throw answers its own caller only', async () => {
      committed(await writeSide.decide(adminActor, decideEvents(liveServer('a', 0))));
      const batched = batching(new LocalDecisionLock());
      const [ok, refused, invalid, thrown, alsoOk] = await Promise.allSettled([
        batched.decide(adminActor, placeOnLeastLoaded('m-1'), undefined, { batch: true }),
        batched.decide(adminActor, async () => domainError('serverNotFound', 'no such server'), undefined, { batch: true }),
        batched.decide(adminActor, decideEvents([e.serverAdded('')]), undefined, { batch: true }),
        batched.decide(
          adminActor,
          async () => {
            throw new Error('boom');
          },
          undefined,
          { batch: true },
        ),
        batched.decide(adminActor, placeOnLeastLoaded('m-2'), undefined, { batch: true }),
      ]);
      expect(ok).toMatchObject({ status: 'fulfilled', value: { result: 'a' } });
      expect(refused).toMatchObject({ status: 'fulfilled', value: { error: 'serverNotFound' } });
      expect(invalid).toMatchObject({ status: 'fulfilled', value: { error: 'invalidRequest' } });
      expect(thrown).toMatchObject({ status: 'rejected', reason: new Error('boom') });
      expect(alsoOk).toMatchObject({ status: 'fulfilled', value: { result: 'a' } });
      expect((await store.meetings()).map((m) => m.meetingId).sort()).toEqual(['m-1', 'm-2']);
    });

    test('given 20 clients that connect at once (Node accepts one connection a turn), their placements are decided together, not one hold of the lock each', async () => {
      committed(await writeSide.decide(adminActor, decideEvents(['a', 'b'].flatMap((id) => liveServer(id, 0)))));
      const lock = countingLock();
      const batched = batching(lock);
      const asked: Array<Promise<Committed<unknown> | DomainError>> = [];
      const server = createServer((socket) => {
        asked.push(batched.decide(adminActor, placeOnLeastLoaded(`m-${asked.length}`), undefined, { batch: true }));
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      await Promise.all(Array.from({ length: 20 }, () => new Promise((resolve) => connect(port, '127.0.0.1').on('close', resolve).on('error', resolve))));
      await new Promise((resolve) => server.close(resolve));
      const placed = (await Promise.all(asked)).map((o) => committed(o).result);
      expect(placed).toHaveLength(20);
      // One hold, or two should a turn pass with nothing accepted (a collection, a loaded machine); one each without gathering.
      expect(lock.holds).toBeLessThanOrEqual(2);
      expect(['a', 'b'].map((id) => placed.filter((p) => p === id).length)).toEqual([10, 10]);
    });

    test('given placements that keep coming, one every turn, a batch waits for more at most GATHER_MS', async () => {
      committed(await writeSide.decide(adminActor, decideEvents(liveServer('a', 0))));
      const batched = batching(new LocalDecisionLock());
      const started = performance.now();
      let firstAnswered = Infinity;
      const asked = [batched.decide(adminActor, placeOnLeastLoaded('m-0'), undefined, { batch: true }).then((o) => ((firstAnswered = performance.now() - started), o))];
      // 2 ms a turn for 300 ms: without the bound, the first batch would wait for MAX_BATCH (64) of them, 128 ms
      for (let i = 1; performance.now() - started < 300; i += 1) {
        asked.push(batched.decide(adminActor, placeOnLeastLoaded(`m-${i}`), undefined, { batch: true }));
        const busy = performance.now() + 2;
        while (performance.now() < busy);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(asked);
      expect(GATHER_MS).toBeLessThan(50);
      expect(firstAnswered).toBeLessThan(100);
    });

    test('a placement asked alone is decided at the next turn of the event loop', async () => {
      committed(await writeSide.decide(adminActor, decideEvents(liveServer('a', 0))));
      const lock = countingLock();
      const batched = batching(lock);
      let turns = 0;
      let counting = true;
      const count = () => {
        turns += 1;
        if (counting) setImmediate(count);
      };
      setImmediate(count);
      expect(committed(await batched.decide(adminActor, placeOnLeastLoaded('m-1'), undefined, { batch: true })).result).toBe('a');
      counting = false;
      expect(lock.holds).toBe(1);
      // one turn to see whether more come, then the append and the projection (a turn of the log's subscriber)
      expect(turns).toBeLessThanOrEqual(4);
    });

    test('given callers queued past their deadline behind a busy lock, they are answered DecisionUnavailable and their decisions never run', async () => {
      const lock = new LocalDecisionLock();
      const batched = batching(lock, 150);
      let release: () => void = () => undefined;
      const holder = lock.withLock(() => new Promise<void>((resolve) => (release = resolve)));
      const ran = jest.fn(decideEvents([e.serverAdded('late')]));
      await expect(batched.decide(adminActor, ran, undefined, { batch: true })).rejects.toBeInstanceOf(DecisionUnavailableError);
      release();
      await holder;
      await lock.withLock(async () => undefined);
      expect(ran).not.toHaveBeenCalled();
      expect(await log.lastOffset()).toBe(-1);
    });
  });

  test('record appends facts without the lock and without waiting for the projection', async () => {
    await projector.stop();
    const offsets = await writeSide.record(adminActor, [e.readModelRebuilt('pool', 'lost')]);
    expect(offsets).toEqual([0]);
    expect((await log.read(0, 1))[0].event).toMatchObject({ type: 'ReadModelRebuilt', data: { projection: 'pool', reason: 'lost' } });
  });
});

describe('LocalDecisionLock', () => {
  test('runs functions one after another in arrival order, passing their results back', async () => {
    const lock = new LocalDecisionLock();
    const order: string[] = [];
    const task = (name: string, ms: number) => async () => {
      order.push(`start ${name}`);
      await sleep(ms);
      order.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([lock.withLock(task('a', 15)), lock.withLock(task('b', 1)), lock.withLock(task('c', 5))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  test('a failure is passed to its caller and does not block the next', async () => {
    const lock = new LocalDecisionLock();
    const failed = lock.withLock(async () => {
      throw new Error('first failed');
    });
    const next = lock.withLock(async () => 'second ran');
    await expect(failed).rejects.toThrow('first failed');
    await expect(next).resolves.toBe('second ran');
  });
});
