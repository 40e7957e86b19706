import { Kafka, logLevel } from 'kafkajs';
import { sample } from '../support/metrics';
import { DomainEvent } from '../../src/events/catalog';
import { TEST_KAFKA_BROKERS } from '../support/production';
import { BACKENDS, Harness, startHarness } from '../support/harness';
import { tag } from '../support/bbb-client';
import { e, given } from '../support/events';
import { passes } from '../support/eventually';

jest.setTimeout(120_000);

/*
 * Whatever the log holds, every projection on every backend goes on: an event written
 * before unstorable characters were refused is applied with them replaced, and one a
 * store refuses for good is parked (kept, logged, counted, shown by status) while the
 * events after it are applied.
 */

/** Write events into the log as an older version (or another writer) would: past the write side's checks. */
async function appendRaw(h: Harness, events: DomainEvent[]): Promise<void> {
  if (h.config.kafkaBrokers) {
    const producer = new Kafka({ clientId: 'test-raw', brokers: TEST_KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic: `${h.config.kafkaTopicPrefix}events`, acks: -1, messages: events.map((ev) => ({ partition: 0, value: JSON.stringify(ev) })) });
    await producer.disconnect();
    return;
  }
  for (const ev of events) {
    await h.balancer.backends.sql.query(
      `insert into event_log (position, id, type, at, envelope) values ((select coalesce(max(position), -1) + 1 from event_log), $1, $2, $3, $4)`,
      [ev.id, ev.type, ev.at, JSON.stringify(ev)],
    );
  }
}

describe.each(BACKENDS)('parking and legacy events, on the %s backend', (backend) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ backend, servers: 2 });
  });
  afterAll(async () => {
    await h.balancer.backends.sql.query('alter table recordings drop constraint if exists refuses_poison').catch(() => undefined);
    await h?.close();
  });

  test('an event the recordings store refuses for good is parked; the events after it are applied; status and metrics say so', async () => {
    // A real refusal by the database (SQLSTATE 23514), as a stored value the store cannot take.
    await h.balancer.backends.sql.query(`alter table recordings add constraint refuses_poison check (name <> 'poison-name')`);
    const [refused, fine] = given([e.recordingImported('rec-refused', 'm-refused', { name: 'poison-name' }), e.recordingImported('rec-after', 'm-after', { name: 'fine' })], {
      firstId: 8000,
      start: Date.now(),
    });
    await appendRaw(h, [refused, fine]);
    await passes(async () => expect(await h.balancer.backends.recordings.recording('rec-after')).not.toBeNull(), 30_000);
    expect(await h.balancer.backends.recordings.recording('rec-refused')).toBeNull();
    const status = await h.admin.call<{ parked: { count: number; latest: Array<{ projection: string; type: string; reason: string }> } }>('getStatus', 'GET');
    expect(status.parked.count).toBe(1);
    expect(status.parked.latest[0]).toMatchObject({ projection: 'recordings', type: 'RecordingImported', reason: expect.stringMatching(/refuses_poison/) });
    const metrics = await h.lms.raw(`${h.balancer.url}/metrics`);
    expect(sample(metrics.body, 'scalelite_parked_events')).toBe(1);
    // and the next create still works: nothing waits on the parked event
    expect(tag((await h.lms.get('create', { meetingID: 'after-parking', name: 'after' })).body, 'returncode')).toBe('SUCCESS');
  });
});

// Only Kafka can hold such a record: PGlite's jsonb refused it, so the embedded log never had one.
describe('a legacy event with a NUL, on the production backend', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend: 'production', servers: 2 });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('a create written with a NUL before it was refused projects everywhere with U+FFFD; later creates work and a rebuild equals the live model', async () => {
    await appendRaw(h, given([e.meetingPlaced('poison\u0000x', h.serverIds[0], { voiceBridge: '71717' })], { firstId: 7000, start: Date.now() }));
    const created = await h.lms.get('create', { meetingID: 'after-poison', name: 'after' });
    expect(tag(created.body, 'returncode')).toBe('SUCCESS');
    expect(await h.balancer.backends.pool.meeting('poison\uFFFDx')).toMatchObject({ serverId: h.serverIds[0] });
    await passes(async () => {
      const { events } = await h.admin.call<{ events: Array<{ meeting_id: string }> }>('getEvents', 'GET', { meeting: 'poison\uFFFDx' });
      expect(events).toHaveLength(1);
    });
    const rebuilt = await h.rebuild();
    expect(rebuilt.differences).toEqual([]);
  });
});
