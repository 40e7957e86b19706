import Redis from 'ioredis';
import type { Logger } from 'pino';
import { connectRedis, lastErrorOf, shownRedisAddress } from './connection';
import { ConfigError } from '../config';
import { emptyPool, Meeting, PoolChanges, PoolKeys, PoolState, Server, Tenant, TenantSetting, tenantNameKey } from '../../projections/pool';
import { CheckpointConflictError, PoolStore } from '../../projections/ports';
import { CheckpointWaiters } from '../../projections/waiters';

/*
 * The pool read model in Redis, shared by every api process. Only a projector
 * writes it: each batch of changes is applied by one Lua script together with
 * the new checkpoint, and only if the checkpoint is still the one the batch was
 * computed from, so an event is applied at most once even if two projectors
 * ever overlap. The script publishes the checkpoint, which wakes the callers
 * waiting to read their own writes. The script decides nothing about events:
 * it applies the write set `commit` translates from evolve's changes (pool.ts).
 */

const COMMIT = `
local current = redis.call('GET', KEYS[1])
if current == false then current = '-1' end
if current ~= ARGV[1] then return 0 end
local ops = cjson.decode(ARGV[4])
for _, op in ipairs(ops) do
  local name = op[1]
  if name == 'SET' then redis.call('SET', op[2], op[3])
  elseif name == 'DEL' then redis.call('DEL', op[2])
  elseif name == 'SADD' then redis.call('SADD', op[2], op[3])
  elseif name == 'SREM' then redis.call('SREM', op[2], op[3])
  elseif name == 'HSET' then redis.call('HSET', op[2], op[3], op[4])
  elseif name == 'HDEL' then redis.call('HDEL', op[2], op[3])
  end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[2])
return 1
`;

type Op = [string, string, ...string[]];

export interface RedisPoolOptions {
  url: string;
  namespace: string;
  defaultTimeoutMs?: number;
  logger?: Logger;
  /** how often a waiting caller also reads the checkpoint, in case a notification was missed */
  pollMs?: number;
}

export class RedisPoolStore implements PoolStore {
  private readonly redis: Redis;
  private subscriber: Redis | null = null;
  private known = -1;
  private readonly waiters = new CheckpointWaiters(() => this.known);
  private poll: NodeJS.Timeout | null = null;
  private readonly k: ReturnType<typeof keys>;
  private connected = false;

  constructor(private readonly options: RedisPoolOptions) {
    // At start, one failed connection is the answer (an unreachable REDIS_URL stops the start); later, ioredis reconnects.
    this.redis = connectRedis(
      options.url,
      { lazyConnect: true, enableAutoPipelining: true, connectTimeout: 10_000, retryStrategy: (times) => (this.connected ? Math.min(times * 200, 2000) : null) },
      options.logger,
    );
    this.redis.once('ready', () => (this.connected = true));
    this.redis.defineCommand('scaleliteCommit', { numberOfKeys: 1, lua: COMMIT });
    this.k = keys(options.namespace);
  }

  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (err) {
      this.redis.disconnect();
      const e = lastErrorOf(this.redis) ?? (err as { code?: string; message?: string });
      throw new ConfigError(`REDIS_URL: cannot reach Redis at ${shownRedisAddress(this.options.url)} (${[e.code, e.message].filter(Boolean).join(': ')})`);
    }
    this.known = await this.checkpoint();
  }

  private async listen(): Promise<void> {
    if (this.subscriber) return;
    this.subscriber = connectRedis(this.options.url, {}, this.options.logger);
    this.subscriber.on('message', (_channel: string, message: string) => this.saw(Number(message)));
    await this.subscriber.subscribe(this.k.applied);
  }

  private saw(checkpoint: number): void {
    if (Number.isFinite(checkpoint) && checkpoint > this.known) {
      this.known = checkpoint;
      this.waiters.advanced();
    }
  }

  async checkpoint(): Promise<number> {
    const v = await this.redis.get(this.k.checkpoint);
    return v === null ? -1 : Number(v);
  }

  async waitFor(offset: number, timeoutMs = this.options.defaultTimeoutMs ?? 10_000): Promise<void> {
    // Read, never trust what was seen: a store that lost its data (FLUSHALL, a Redis restart
    // without persistence) moves back while the projector rebuilds it, and must be waited for again.
    this.known = await this.checkpoint();
    if (this.known >= offset) return;
    await this.listen();
    this.saw(await this.checkpoint());
    if (this.known >= offset) return;
    if (!this.poll) {
      this.poll = setInterval(() => {
        if (this.waiters.size === 0) {
          clearInterval(this.poll!);
          this.poll = null;
          return;
        }
        this.checkpoint().then(
          (c) => this.saw(c),
          () => undefined,
        );
      }, this.options.pollMs ?? 100);
      this.poll.unref();
    }
    await this.waiters.wait(offset, timeoutMs);
  }

  async server(id: string): Promise<Server | null> {
    return parse<Server>(await this.redis.get(this.k.server(id)));
  }

  async servers(): Promise<Server[]> {
    return this.many<Server>(await this.redis.smembers(this.k.servers), this.k.server);
  }

  async meeting(meetingId: string): Promise<Meeting | null> {
    return parse<Meeting>(await this.redis.get(this.k.meeting(meetingId)));
  }

  async meetings(): Promise<Meeting[]> {
    return this.many<Meeting>(await this.redis.smembers(this.k.meetings), this.k.meeting);
  }

  async meetingsOnServer(serverId: string): Promise<Meeting[]> {
    return this.many<Meeting>(await this.redis.smembers(this.k.serverMeetings(serverId)), this.k.meeting);
  }

  async voiceBridgesTaken(numbers: string[]): Promise<Set<string>> {
    if (numbers.length === 0) return new Set();
    const owners = await this.redis.hmget(this.k.voiceBridges, ...numbers);
    return new Set(numbers.filter((_, i) => owners[i] !== null));
  }

  async voiceBridge(number: string): Promise<string | null> {
    return this.redis.hget(this.k.voiceBridges, number);
  }

  async tenant(id: string): Promise<Tenant | null> {
    return parse<Tenant>(await this.redis.get(this.k.tenant(id)));
  }

  async tenants(): Promise<Tenant[]> {
    return this.many<Tenant>(await this.redis.smembers(this.k.tenants), this.k.tenant);
  }

  async tenantByName(name: string): Promise<Tenant | null> {
    const id = await this.redis.hget(this.k.tenantNames, tenantNameKey(name));
    return id === null ? null : this.tenant(id);
  }

  async tenantSettings(tenantId?: string): Promise<TenantSetting[]> {
    // A tenant's own set: create and join read it on every call of that tenant.
    const ids = await this.redis.smembers(tenantId === undefined ? this.k.tenantSettings : this.k.settingsOfTenant(tenantId));
    return this.many<TenantSetting>(ids, this.k.tenantSetting);
  }

  private async many<T>(ids: string[], key: (id: string) => string): Promise<T[]> {
    if (ids.length === 0) return [];
    const values = await this.redis.mget(...ids.map(key));
    return values.map((v) => parse<T>(v)).filter((v): v is NonNullable<typeof v> => v !== null) as T[];
  }

  async loadSlice(keys: PoolKeys): Promise<PoolState> {
    const slice = emptyPool();
    if (keys.servers.length > 0) {
      const values = await this.redis.mget(...keys.servers.map(this.k.server));
      keys.servers.forEach((id, i) => {
        const s = parse<Server>(values[i]);
        if (s) slice.servers[id] = s;
      });
    }
    const voiceBridges = new Set(keys.voiceBridges);
    if (keys.meetings.length > 0) {
      const values = await this.redis.mget(...keys.meetings.map(this.k.meeting));
      keys.meetings.forEach((id, i) => {
        const m = parse<Meeting>(values[i]);
        if (m) {
          slice.meetings[id] = m;
          voiceBridges.add(m.voiceBridge);
        }
      });
    }
    const numbers = [...voiceBridges];
    if (numbers.length > 0) {
      const owners = await this.redis.hmget(this.k.voiceBridges, ...numbers);
      numbers.forEach((n, i) => {
        if (owners[i] !== null) slice.voiceBridges[n] = owners[i]!;
      });
    }
    const names = new Set(keys.tenantNames);
    if (keys.tenants.length > 0) {
      const values = await this.redis.mget(...keys.tenants.map(this.k.tenant));
      keys.tenants.forEach((id, i) => {
        const t = parse<Tenant>(values[i]);
        if (t) {
          slice.tenants[id] = t;
          names.add(tenantNameKey(t.name));
        }
      });
    }
    const nameList = [...names];
    if (nameList.length > 0) {
      const ids = await this.redis.hmget(this.k.tenantNames, ...nameList);
      nameList.forEach((n, i) => {
        if (ids[i] !== null) slice.tenantNames[n] = ids[i]!;
      });
    }
    if (keys.tenantSettings.length > 0) {
      const values = await this.redis.mget(...keys.tenantSettings.map(this.k.tenantSetting));
      keys.tenantSettings.forEach((id, i) => {
        const setting = parse<TenantSetting>(values[i]);
        if (setting) slice.tenantSettings[id] = setting;
      });
    }
    return slice;
  }

  async commit(changes: PoolChanges, checkpoint: number, expected: number): Promise<void> {
    const ops: Op[] = [];
    for (const { key, value } of changes.servers.put) ops.push(['SET', this.k.server(key), JSON.stringify(value)], ['SADD', this.k.servers, key]);
    for (const { key } of changes.servers.remove) ops.push(['DEL', this.k.server(key)], ['SREM', this.k.servers, key]);
    for (const { key, previous } of changes.meetings.remove) {
      ops.push(['DEL', this.k.meeting(key)], ['SREM', this.k.meetings, key], ['SREM', this.k.serverMeetings(previous.serverId), key]);
    }
    for (const { key, value, previous } of changes.meetings.put) {
      if (previous && previous.serverId !== value.serverId) ops.push(['SREM', this.k.serverMeetings(previous.serverId), key]);
      ops.push(['SET', this.k.meeting(key), JSON.stringify(value)], ['SADD', this.k.meetings, key], ['SADD', this.k.serverMeetings(value.serverId), key]);
    }
    for (const { key } of changes.voiceBridges.remove) ops.push(['HDEL', this.k.voiceBridges, key]);
    for (const { key, value } of changes.voiceBridges.put) ops.push(['HSET', this.k.voiceBridges, key, value]);
    for (const { key } of changes.tenants.remove) ops.push(['DEL', this.k.tenant(key)], ['SREM', this.k.tenants, key]);
    for (const { key, value } of changes.tenants.put) ops.push(['SET', this.k.tenant(key), JSON.stringify(value)], ['SADD', this.k.tenants, key]);
    for (const { key, previous } of changes.tenantSettings.remove) {
      ops.push(['DEL', this.k.tenantSetting(key)], ['SREM', this.k.tenantSettings, key], ['SREM', this.k.settingsOfTenant(previous.tenantId), key]);
    }
    for (const { key, value } of changes.tenantSettings.put) {
      ops.push(['SET', this.k.tenantSetting(key), JSON.stringify(value)], ['SADD', this.k.tenantSettings, key], ['SADD', this.k.settingsOfTenant(value.tenantId), key]);
    }
    for (const { key } of changes.tenantNames.remove) ops.push(['HDEL', this.k.tenantNames, key]);
    for (const { key, value } of changes.tenantNames.put) ops.push(['HSET', this.k.tenantNames, key, value]);
    const applied = await (this.redis as unknown as { scaleliteCommit: (...a: string[]) => Promise<number> }).scaleliteCommit(
      this.k.checkpoint,
      String(expected),
      String(checkpoint),
      this.k.applied,
      JSON.stringify(ops),
    );
    if (applied !== 1) throw new CheckpointConflictError(expected, await this.checkpoint());
    this.saw(checkpoint);
  }

  async snapshot(): Promise<PoolState> {
    const [servers, meetings, voiceBridges, tenants, settings, tenantNames] = await Promise.all([
      this.servers(),
      this.meetings(),
      this.redis.hgetall(this.k.voiceBridges),
      this.tenants(),
      this.tenantSettings(),
      this.redis.hgetall(this.k.tenantNames),
    ]);
    return {
      servers: Object.fromEntries(servers.map((s) => [s.id, s])),
      meetings: Object.fromEntries(meetings.map((m) => [m.meetingId, m])),
      voiceBridges,
      tenants: Object.fromEntries(tenants.map((t) => [t.id, t])),
      tenantSettings: Object.fromEntries(settings.map((t) => [t.id, t])),
      tenantNames,
    };
  }

  /** Replace the whole model and its checkpoint in one transaction (a rebuild). */
  async replaceAll(state: PoolState, checkpoint: number): Promise<void> {
    const stale = await this.modelKeys();
    const tx = this.redis.multi();
    if (stale.length > 0) tx.del(...stale);
    for (const s of Object.values(state.servers)) tx.set(this.k.server(s.id), JSON.stringify(s)).sadd(this.k.servers, s.id);
    for (const m of Object.values(state.meetings)) {
      tx.set(this.k.meeting(m.meetingId), JSON.stringify(m)).sadd(this.k.meetings, m.meetingId).sadd(this.k.serverMeetings(m.serverId), m.meetingId);
    }
    const vb = Object.entries(state.voiceBridges);
    if (vb.length > 0) tx.hset(this.k.voiceBridges, Object.fromEntries(vb));
    for (const t of Object.values(state.tenants)) tx.set(this.k.tenant(t.id), JSON.stringify(t)).sadd(this.k.tenants, t.id);
    for (const setting of Object.values(state.tenantSettings)) {
      tx.set(this.k.tenantSetting(setting.id), JSON.stringify(setting)).sadd(this.k.tenantSettings, setting.id).sadd(this.k.settingsOfTenant(setting.tenantId), setting.id);
    }
    const names = Object.entries(state.tenantNames);
    if (names.length > 0) tx.hset(this.k.tenantNames, Object.fromEntries(names));
    tx.set(this.k.checkpoint, String(checkpoint)).publish(this.k.applied, String(checkpoint));
    await tx.exec();
    this.known = checkpoint;
  }

  async clear(): Promise<void> {
    const stale = await this.modelKeys();
    if (stale.length > 0) await this.redis.del(...stale);
    this.known = -1;
  }

  private async modelKeys(): Promise<string[]> {
    const found: string[] = [this.k.servers, this.k.meetings, this.k.voiceBridges, this.k.tenants, this.k.tenantSettings, this.k.tenantNames, this.k.checkpoint];
    for (const pattern of [this.k.server('*'), this.k.meeting('*'), this.k.serverMeetings('*'), this.k.tenant('*'), this.k.tenantSetting('*'), this.k.settingsOfTenant('*')]) {
      let cursor = '0';
      do {
        const [next, batch] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        found.push(...batch);
        cursor = next;
      } while (cursor !== '0');
    }
    return found;
  }

  async close(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    await this.subscriber?.quit().catch(() => undefined);
    await this.redis.quit().catch(() => undefined);
  }
}

function parse<T>(value: string | null): T | null {
  return value === null ? null : (JSON.parse(value) as T);
}

export function keys(namespace: string) {
  const ns = namespace;
  return {
    checkpoint: `${ns}:checkpoint`,
    applied: `${ns}:applied`,
    servers: `${ns}:servers`,
    server: (id: string) => `${ns}:server:${id}`,
    meetings: `${ns}:meetings`,
    meeting: (id: string) => `${ns}:meeting:${id}`,
    serverMeetings: (id: string) => `${ns}:server_meetings:${id}`,
    voiceBridges: `${ns}:voice_bridges`,
    tenants: `${ns}:tenants`,
    tenant: (id: string) => `${ns}:tenant:${id}`,
    tenantNames: `${ns}:tenant_names`,
    tenantSettings: `${ns}:tenant_settings`,
    tenantSetting: (id: string) => `${ns}:tenant_setting:${id}`,
    settingsOfTenant: (tenantId: string) => `${ns}:tenant_settings_of:${tenantId}`,
  };
}
