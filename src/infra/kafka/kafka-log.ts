import { randomUUID } from 'node:crypto';
import { Admin, Consumer, Kafka, KafkaMessage, logLevel, Partitioners, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { checkEvent, DomainEvent, readEvent, StoredEvent, subjectKey } from '../../events/catalog';
import { backoffMs, EventLog, LogSubscription, SubscribeOptions } from '../../events/log';
import { LocalDecisionLock } from '../../commands/write-side';
import { ConfigError } from '../config';

/*
 * The event log on Kafka: one topic with one partition, so the log has one
 * total order and offsets are positions. Idempotent producer with acks=all;
 * events keyed by their subject. Retention is unlimited: the log is the
 * source of truth, not a buffer.
 */

export interface KafkaLogOptions {
  brokers: string[];
  topic: string;
  replicationFactor: number;
  clientId: string;
  logger: Logger;
}

const PARTITION = 0;

function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: logLevel; log: { message: string; [k: string]: unknown } }) => {
      const { message, ...extra } = log;
      // Routine: the first JoinGroup answer, coordinator elections and loading, and kafkajs's note that
      // bounded retries void exactly-once (appends are decided under the lock and re-read the log).
      if (
        /group coordinator is not available|member id required|coordinator is not aware of this member|coordinator is loading|Limiting retries for the idempotent producer/i.test(
          message,
        )
      )
        return;
      if (/coordinator is loading/i.test(String(extra.error ?? ''))) return;
      // Roles starting together race to create the topic; the loser's TOPIC_ALREADY_EXISTS is expected and handled.
      if (/Topic creation errors/i.test(message) && /already exists/i.test(JSON.stringify(extra))) {
        logger.debug({ kafka: extra }, message);
        return;
      }
      if (level === logLevel.ERROR) logger.error({ kafka: extra }, message);
      else if (level === logLevel.WARN) logger.warn({ kafka: extra }, message);
      else logger.debug({ kafka: extra }, message);
    };
}

export class KafkaEventLog implements EventLog {
  private readonly appendLock = new LocalDecisionLock();
  private readonly consumers = new Set<Consumer>();
  private closed = false;

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly options: KafkaLogOptions,
  ) {}

  static async open(options: KafkaLogOptions): Promise<KafkaEventLog> {
    await probe(options.brokers);
    const kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(options.logger),
      retry: { initialRetryTime: 200, retries: 8 },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopic(admin, options);
    } catch (err) {
      await admin.disconnect().catch(() => undefined);
      throw err;
    }
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return new KafkaEventLog(kafka, admin, producer, options);
  }

  get topic(): string {
    return this.options.topic;
  }

  async append(events: DomainEvent[]): Promise<number[]> {
    if (this.closed) throw new Error('event log is closed');
    if (events.length === 0) return [];
    const valid = events.map((e) => checkEvent(e));
    // One send is one record batch for the one partition: the events land together and contiguous.
    const [meta] = await this.appendLock.withLock(() =>
      this.producer.send({
        topic: this.options.topic,
        acks: -1,
        messages: valid.map((e) => ({
          partition: PARTITION,
          key: subjectKey(e),
          value: JSON.stringify(e),
          headers: { 'event-id': e.id, 'event-type': e.type },
        })),
      }),
    );
    const base = Number(meta.baseOffset);
    return valid.map((_, i) => base + i);
  }

  async lastOffset(): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(this.options.topic);
    const p = offsets.find((o) => o.partition === PARTITION);
    return p ? Number(p.high) - 1 : -1;
  }

  async read(fromOffset: number, limit: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    const last = await this.lastOffset();
    if (fromOffset > last || limit <= 0) return out;
    const end = Math.min(last, fromOffset + limit - 1);
    await this.readRange(fromOffset, end, async (batch) => {
      out.push(...batch);
    });
    return out;
  }

  async replay(fromOffset: number, onBatch: (batch: StoredEvent[]) => Promise<void>): Promise<number> {
    const last = await this.lastOffset();
    if (fromOffset > last) return 0;
    return this.readRange(Math.max(0, fromOffset), last, onBatch);
  }

  /** Read [from, to] with a throwaway consumer (kafkajs has no assign(): a unique group, then a seek). */
  private async readRange(from: number, to: number, onBatch: (batch: StoredEvent[]) => Promise<void>): Promise<number> {
    const groupId = `${this.options.topic}.reader.${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    this.consumers.add(consumer);
    let delivered = 0;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        let done = false;
        consumer.on(consumer.events.GROUP_JOIN, () => consumer.seek({ topic: this.options.topic, partition: PARTITION, offset: String(from) }));
        consumer
          .run({
            autoCommit: false,
            eachBatchAutoResolve: true,
            eachBatch: async ({ batch, heartbeat }) => {
              if (done) return;
              const events = toStored(batch.messages).filter((s) => s.offset >= from && s.offset <= to);
              if (events.length > 0) {
                await onBatch(events);
                delivered += events.length;
              }
              await heartbeat();
              const lastSeen = batch.messages.length > 0 ? Number(batch.messages[batch.messages.length - 1].offset) : -1;
              if (lastSeen >= to) {
                done = true;
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
      this.consumers.delete(consumer);
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return delivered;
  }

  subscribe(from: number | (() => Promise<number>), onBatch: (batch: StoredEvent[]) => Promise<void>, options: SubscribeOptions = {}): LogSubscription {
    const groupId = options.group ? `${this.options.topic}.${options.group}` : `${this.options.topic}.follower.${randomUUID()}`;
    const consumer = this.kafka.consumer({
      groupId,
      maxWaitTimeInMs: 100,
      sessionTimeout: 6_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1_000,
      allowAutoTopicCreation: false,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5_000 },
    });
    this.consumers.add(consumer);
    let stopped = false;
    // Where delivery must continue; set each time the partition is assigned to this process.
    let next = -1;
    let positioned: Promise<void> = new Promise(() => undefined);
    const started = (async () => {
      await consumer.connect();
      await consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
      // Whenever this process is given the partition, resume from where its projections are.
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const mine = Object.values(payload.memberAssignment).some((parts) => parts.includes(PARTITION));
        if (!mine) return;
        positioned = (async () => {
          next = Math.max(0, typeof from === 'number' ? from : await from());
          consumer.seek({ topic: this.options.topic, partition: PARTITION, offset: String(next) });
        })();
      });
      await consumer.run({
        autoCommit: true,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, heartbeat, resolveOffset, isRunning, isStale }) => {
          await positioned;
          // A fetch begun before the seek may start elsewhere: skip what was delivered, never leave a gap.
          const events = toStored(batch.messages).filter((s) => s.offset >= next);
          if (events.length === 0) return;
          if (events[0].offset > next) {
            consumer.seek({ topic: this.options.topic, partition: PARTITION, offset: String(next) });
            return;
          }
          for (let attempt = 1; ; attempt++) {
            if (stopped || !isRunning() || isStale()) return;
            try {
              await onBatch(events);
              break;
            } catch (err) {
              options.onError?.(err, attempt);
              await new Promise((r) => setTimeout(r, backoffMs(attempt)));
              await heartbeat().catch(() => undefined);
            }
          }
          next = events[events.length - 1].offset + 1;
          resolveOffset(batch.messages[batch.messages.length - 1].offset);
          await heartbeat();
        },
      });
    })().catch((err) => options.onError?.(err, 1));
    return {
      close: async () => {
        stopped = true;
        await started;
        await consumer.disconnect().catch(() => undefined);
        this.consumers.delete(consumer);
        if (!options.group) await this.admin.deleteGroups([groupId]).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.disconnect().catch(() => undefined)));
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }
}

/** Every record becomes an event: one this build cannot read is EventUnreadable, so it stops no reader. */
function toStored(messages: KafkaMessage[]): StoredEvent[] {
  return messages
    .filter((m) => m.value !== null)
    .map((m) => {
      const offset = Number(m.offset);
      let raw: unknown;
      try {
        raw = JSON.parse(m.value!.toString('utf8'));
      } catch (err) {
        raw = { damaged: err instanceof Error ? err.message : String(err) };
      }
      return { offset, event: readEvent(raw, offset) };
    });
}

async function ensureTopic(admin: Admin, options: KafkaLogOptions): Promise<void> {
  const existing = await admin.listTopics();
  if (!existing.includes(options.topic)) {
    await admin
      .createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: options.topic,
            numPartitions: 1,
            replicationFactor: options.replicationFactor,
            configEntries: [
              { name: 'retention.ms', value: '-1' },
              { name: 'retention.bytes', value: '-1' },
              { name: 'cleanup.policy', value: 'delete' },
              // with replicas, an acknowledged event is on at least two of them
              { name: 'min.insync.replicas', value: String(Math.min(2, options.replicationFactor)) },
            ],
          },
        ],
      })
      .catch((err: { type?: string }) => {
        if (err.type !== 'TOPIC_ALREADY_EXISTS') throw err;
      });
  }
  const meta = await admin.fetchTopicMetadata({ topics: [options.topic] });
  const partitions = meta.topics[0]?.partitions.length ?? 0;
  if (partitions !== 1) throw new Error(`Kafka topic ${options.topic} has ${partitions} partitions; the event log needs exactly 1 (one total order)`);
}

/**
 * Whether a broker answers, within about ten seconds, in one line: the client below retries
 * for about a minute and logs every attempt, which is right for a broker restarting under a
 * running balancer, not for a KAFKA_BROKERS that was never reachable.
 */
async function probe(brokers: string[]): Promise<void> {
  const admin = new Kafka({ clientId: 'scalelite-probe', brokers, connectionTimeout: 3000, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 500 } }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (err) {
    const e = err as { message?: string; cause?: { code?: string; message?: string } };
    throw new ConfigError(`KAFKA_BROKERS: cannot reach Kafka at ${brokers.join(',')} (${e.cause?.code ?? e.cause?.message ?? e.message ?? String(err)})`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
