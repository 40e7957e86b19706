/**
 * Smoke test for the real Kafka broker started by scripts/kafka-broker.sh.
 *
 *   scripts/kafka-broker.sh start
 *   npx jest test/integration/kafka-broker.test.ts        # KAFKA_BROKERS=127.0.0.1:9092 by default
 *
 * It FAILS (does not skip) when no broker is reachable.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { Admin, Consumer, KafkaMessage, LogEntry, Producer } from 'kafkajs';

const brokers = (process.env.TEST_KAFKA_BROKERS ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
  .split(',')
  .map((b) => b.trim())
  .filter(Boolean);

jest.setTimeout(60_000);

// kafkajs logs retriable broker answers at ERROR, e.g. "The group coordinator is not available" while a
// fresh broker creates __consumer_offsets for the first group; it retries them itself. Show the rest.
const RETRIABLE = /coordinator is not available|not the correct coordinator|leader for that topic-partition|coordinator is loading/i;
const logCreator =
  () =>
  ({ namespace, log }: LogEntry): void => {
    const { message, error } = log as { message: string; error?: string };
    if (RETRIABLE.test(String(error ?? ''))) return;
    console.error(`[kafkajs ${namespace}] ${message}${error ? `: ${error}` : ''}`);
  };

describe(`real Kafka broker at ${brokers.join(',')}`, () => {
  const kafka = new Kafka({
    clientId: 'kafka-broker-smoke',
    brokers,
    logLevel: logLevel.ERROR,
    logCreator,
    connectionTimeout: 3_000,
    retry: { retries: 3, initialRetryTime: 200 },
  });
  const topic = `smoke-${randomUUID()}`;
  const groupId = `smoke-${randomUUID()}`;

  let admin: Admin | undefined;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  let topicCreated = false;

  beforeAll(async () => {
    const a = kafka.admin();
    try {
      await a.connect();
      await a.describeCluster();
    } catch (err) {
      await a.disconnect().catch(() => undefined);
      throw new Error(`no Kafka broker reachable at ${brokers.join(',')} (start one with scripts/kafka-broker.sh start): ${String(err)}`);
    }
    admin = a;
  });

  afterAll(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    if (admin && topicCreated) await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  });

  it('creates a topic, produces idempotently, reads back in order, deletes the topic', async () => {
    if (!admin) throw new Error('admin not connected');

    // 1 partition, no time/size retention (event-store semantics)
    const created = await admin.createTopics({
      waitForLeaders: true,
      timeout: 10_000,
      topics: [
        {
          topic,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [
            { name: 'retention.ms', value: '-1' },
            { name: 'retention.bytes', value: '-1' },
            { name: 'cleanup.policy', value: 'delete' },
          ],
        },
      ],
    });
    expect(created).toBe(true);
    topicCreated = true;

    const [meta] = await admin.fetchTopicMetadata({ topics: [topic] }).then((m) => m.topics);
    expect(meta?.partitions).toHaveLength(1);

    // idempotent producer: acks -1, one request in flight => strict order
    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const values = ['event-0', 'event-1', 'event-2'];
    const baseOffsets: string[] = [];
    for (const [i, value] of values.entries()) {
      const [rec] = await producer.send({
        topic,
        acks: -1,
        messages: [{ key: 'aggregate-1', value, headers: { seq: String(i) } }],
      });
      expect(rec?.errorCode).toBe(0);
      expect(rec?.partition).toBe(0);
      baseOffsets.push(String(rec?.baseOffset));
    }
    expect(baseOffsets).toEqual(['0', '1', '2']);

    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends).toEqual([expect.objectContaining({ partition: 0, low: '0', high: '3' })]);

    // read back from the beginning with a fresh group
    consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
      sessionTimeout: 6_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 500,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });

    const received: { partition: number; message: KafkaMessage }[] = [];
    const gotAll = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out: received ${received.length} of ${values.length} messages`)), 30_000);
      void consumer!.run({
        eachMessage: async ({ partition, message }) => {
          received.push({ partition, message });
          if (received.length >= values.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await gotAll;

    expect(received.map((r) => r.partition)).toEqual([0, 0, 0]);
    expect(received.map((r) => r.message.offset)).toEqual(['0', '1', '2']);
    expect(received.map((r) => r.message.value?.toString())).toEqual(values);
    expect(received.map((r) => r.message.key?.toString())).toEqual(['aggregate-1', 'aggregate-1', 'aggregate-1']);
    expect(received.map((r) => r.message.headers?.seq?.toString())).toEqual(['0', '1', '2']);

    await consumer.disconnect();
    consumer = undefined;
    await producer.disconnect();
    producer = undefined;

    // the broker persists across runs: leave no consumer group or topic behind
    await admin.deleteGroups([groupId]);
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    topicCreated = false;
    const deadline = Date.now() + 10_000;
    while ((await admin.listTopics()).includes(topic)) {
      if (Date.now() > deadline) throw new Error(`topic ${topic} still listed 10 s after deleteTopics`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
