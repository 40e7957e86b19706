import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';

/*
 * Isolated production backends for a test: its own Kafka topic, Redis key
 * prefix and PostgreSQL database, all removed afterwards. The services come
 * from scripts/test.sh (TEST_* variables); if one is not reachable the test
 * fails — it never skips.
 */

export const TEST_KAFKA_BROKERS = process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = (process.env.TEST_RUN_ID ?? `${Date.now()}`).replace(/[^a-zA-Z0-9]/g, '_');

export interface ProductionEnv {
  env: Record<string, string>;
  topic: string;
  namespace: string;
  database: string;
  databaseUrl: string;
  cleanup(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh PostgreSQL database of this run, and how to drop it. */
export async function isolatedDatabase(id: string): Promise<{ database: string; databaseUrl: string; drop(): Promise<void> }> {
  const database = `scalelite_${id}`.slice(0, 63);
  const admin = new Client({ connectionString: TEST_PG_URL });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${TEST_PG_URL} (run the tests with npm test): ${(err as Error).message}`);
  }
  await admin.query(`create database "${database}"`);
  await admin.end();
  return {
    database,
    databaseUrl: withDatabase(TEST_PG_URL, database),
    drop: async () => {
      const pg = new Client({ connectionString: TEST_PG_URL });
      await pg.connect();
      await pg.query(`drop database if exists "${database}" with (force)`).catch(() => undefined);
      await pg.end();
    },
  };
}

export const isolationId = (label: string): string => `${RUN}_${label}_${randomBytes(3).toString('hex')}`.toLowerCase();

export async function isolatedProductionEnv(label = 'it'): Promise<ProductionEnv> {
  const id = isolationId(label);
  const { database, databaseUrl, drop } = await isolatedDatabase(id);
  const topicPrefix = `test.${id}.`;
  const namespace = `test:${id}`;
  return {
    env: { KAFKA_BROKERS: TEST_KAFKA_BROKERS, KAFKA_TOPIC_PREFIX: topicPrefix, REDIS_URL: TEST_REDIS_URL, REDIS_NAMESPACE: namespace, DATABASE_URL: databaseUrl },
    topic: `${topicPrefix}events`,
    namespace,
    database,
    databaseUrl,
    cleanup: async () => {
      await drop();
      const redis = new Redis(TEST_REDIS_URL);
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
        if (found.length > 0) await redis.del(...found);
        cursor = next;
      } while (cursor !== '0');
      await redis.quit();
      const kafka = new Kafka({ clientId: 'test-cleanup', brokers: TEST_KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
      await kafka.connect();
      const groups = (await kafka.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(topicPrefix));
      if (groups.length > 0) await kafka.deleteGroups(groups).catch(() => undefined);
      const topics = (await kafka.listTopics()).filter((t) => t.startsWith(topicPrefix));
      if (topics.length > 0) await kafka.deleteTopics({ topics }).catch(() => undefined);
      await kafka.disconnect();
    },
  };
}
