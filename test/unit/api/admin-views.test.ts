import { detail } from '../../../cli/commands/events';
import { statusNotes } from '../../../cli/commands/status';
import { serverOut, statusTable } from '../../../cli/format';
import { LRS_FIELDS, tenantBlock, tenantSettingsListing } from '../../../cli/tenants-format';
import { recordingJson } from '../../../src/api/admin-recordings';
import { historyJson, HistoryJson } from '../../../src/api/views/history';
import { meetingJson, MeetingJson } from '../../../src/api/views/meeting';
import { RecordingJson } from '../../../src/api/views/recording';
import { SECRET_MASK } from '../../../src/api/views/scalars';
import { serverJson, ServerJson } from '../../../src/api/views/server';
import { parkedJson, ParkedJson, rebuiltJson, RebuiltJson } from '../../../src/api/views/status';
import { LRS_PARAMS, settingJson, tenantJson, TenantJson, TenantSettingJson } from '../../../src/api/views/tenant';
import { historyEntry } from '../../../src/projections/history';
import { evolveRecording, Recording } from '../../../src/recordings/model';
import { e, given, poolAfter, stored } from '../../support/events';

/*
 * The admin API's wire contract: each entity's JSON, built by the view the API
 * answers with from what happened, has exactly the keys of the type the CLI
 * imports (each list below is checked against the type by the compiler: a key
 * missing or extra fails the build), survives JSON unchanged, and is what the
 * CLI's printers read.
 */

/** The keys of a view's JSON, sorted. */
const keysOf = (json: object): string[] => Object.keys(json).sort();
const sorted = (keys: Record<string, true>): string[] => Object.keys(keys).sort();
/** What a client parses is what the view built: no undefined, no Date, no class. */
const overTheWire = (json: unknown): unknown => JSON.parse(JSON.stringify(json));

const SERVER_KEYS = {
  id: true,
  url: true,
  secret: true,
  tag: true,
  bbb_version: true,
  state: true,
  load: true,
  load_multiplier: true,
  online: true,
  meetings: true,
  users: true,
  largest_meeting: true,
  videos: true,
  poll_error: true,
} satisfies Record<keyof ServerJson, true>;

const MEETING_KEYS = { meeting_id: true, server_id: true, tenant_id: true, voice_bridge: true, load_estimate: true, placed_at: true } satisfies Record<keyof MeetingJson, true>;

const HISTORY_KEYS = {
  offset: true,
  id: true,
  at: true,
  type: true,
  actor: true,
  server_id: true,
  meeting_id: true,
  tenant_id: true,
  correlation_id: true,
  data: true,
} satisfies Record<keyof HistoryJson, true>;

const TENANT_KEYS = {
  id: true,
  name: true,
  secrets: true,
  lrs_endpoint: true,
  lrs_username: true,
  lrs_password: true,
  kc_token_url: true,
  kc_client_id: true,
  kc_client_secret: true,
  kc_username: true,
  kc_password: true,
} satisfies Record<keyof TenantJson, true>;

const SETTING_KEYS = { id: true, tenant_id: true, tenant_name: true, param: true, value: true, override: true } satisfies Record<keyof TenantSettingJson, true>;

const RECORDING_KEYS = {
  record_id: true,
  meeting_id: true,
  name: true,
  published: true,
  protected: true,
  state: true,
  start_time: true,
  end_time: true,
  participants: true,
  tenant_id: true,
  metadata: true,
  formats: true,
  imported_at: true,
  updated_at: true,
} satisfies Record<keyof RecordingJson, true>;

const PARKED_KEYS = { projection: true, offset: true, event_id: true, type: true, reason: true, parked_at: true } satisfies Record<keyof ParkedJson, true>;
const REBUILT_KEYS = { at: true, projection: true, reason: true, found: true, expected: true, head: true } satisfies Record<keyof RebuiltJson, true>;

describe('the admin API answers each entity with the shape the CLI imports', () => {
  test('given a polled server whose polls now fail: its JSON has the ServerJson keys, the secret masked, and the status table reads it', () => {
    const pool = poolAfter([
      e.serverAdded('bbb1', { tag: 'big', loadMultiplier: 2.5 }),
      e.serverEnabled('bbb1'),
      e.wentOnline('bbb1'),
      e.serverPolled('bbb1', 12),
      e.pollFailed('bbb1', 'checksumError', 'bad secret'),
    ]);
    const json = serverJson(pool.servers.bbb1, false);

    expect(keysOf(json)).toEqual(sorted(SERVER_KEYS));
    expect(overTheWire(json)).toStrictEqual(json);
    expect(json).toMatchObject({ secret: SECRET_MASK, load: 12, load_multiplier: '2.5', online: 'online', poll_error: { reason: 'checksumError', message: 'bad secret' } });
    expect(serverJson(pool.servers.bbb1, true).secret).toBe('secret-bbb1');
    expect(
      statusTable([json])
        .split('\n')[1]
        .split(/\s{2,}/),
    ).toEqual(['bbb1.example.com', 'enabled', 'online', '0', '0', '0', '0', '12', '2.7.3', 'big']);
    expect(serverOut(json)).toMatchObject({ load: 12, load_multiplier: 2.5 });
  });

  test('given a server never polled: load is unavailable on the wire, null in the CLI --json', () => {
    const json = serverJson(poolAfter([e.serverAdded('bbb1')]).servers.bbb1, false);
    expect(keysOf(json)).toEqual(sorted(SERVER_KEYS));
    expect(json).toMatchObject({ load: 'unavailable', tag: '', poll_error: null });
    expect(serverOut(json).load).toBeNull();
  });

  test('given a placed meeting: its route has the MeetingJson keys', () => {
    const pool = poolAfter([...[e.serverAdded('bbb1'), e.serverEnabled('bbb1')], e.meetingPlaced('m1', 'bbb1', { voiceBridge: '70001' })]);
    const json = meetingJson(pool.meetings.m1);
    expect(keysOf(json)).toEqual(sorted(MEETING_KEYS));
    expect(overTheWire(json)).toStrictEqual(json);
    expect(json).toMatchObject({ meeting_id: 'm1', server_id: 'bbb1', voice_bridge: '70001', tenant_id: null });
  });

  test('given an event in the history: its JSON has the HistoryJson keys and `scalelite events` describes it', () => {
    const json = historyJson(historyEntry(stored(given([e.meetingPlaced('m1', 'bbb1')]))[0]));
    expect(keysOf(json)).toEqual(sorted(HISTORY_KEYS));
    expect(overTheWire(json)).toStrictEqual(json);
    expect(json).toMatchObject({ type: 'MeetingPlaced', server_id: 'bbb1', meeting_id: 'm1', actor: { kind: 'admin', name: 'test-admin' } });
    expect(detail(json)).toBe('on bbb1 (load estimate 15)');
  });

  test('given a tenant with LRS fields: the list has id, name and secrets; the info every LRS field, secrets masked, as `tenants` prints them', () => {
    const pool = poolAfter([e.tenantAdded('t1', 'alpha', ['s1', 's2']), e.tenantUpdated('t1', { lrsEndpoint: 'https://lrs.example.com', lrsUsername: 'u', lrsPassword: 'p' })]);
    const tenant = pool.tenants.t1;

    expect(keysOf(tenantJson(tenant, false))).toEqual(['id', 'name', 'secrets']);
    const full = tenantJson(tenant, false, true);
    expect(keysOf(full)).toEqual(sorted(TENANT_KEYS));
    expect(overTheWire(full)).toStrictEqual(full);
    expect(full).toMatchObject({ secrets: SECRET_MASK, lrs_endpoint: 'https://lrs.example.com', lrs_password: SECRET_MASK, kc_token_url: null });
    expect(tenantJson(tenant, true, true)).toMatchObject({ secrets: 's1:s2', lrs_password: 'p' });
    expect(tenantBlock(tenantJson(tenant, true, true)).split('\n')).toEqual([
      'id: t1',
      '\tname: alpha',
      '\tsecrets: s1:s2',
      '\tlrs_endpoint: https://lrs.example.com',
      '\tlrs_username: u',
      '\tlrs_password: p',
    ]);
  });

  test('the CLI prints the LRS fields the API sends, in the API order', () => {
    expect([...LRS_FIELDS]).toEqual(LRS_PARAMS.map(([param]) => param));
  });

  test('given a tenant setting: its JSON has the TenantSettingJson keys (the tenant name when listed) and `tenantSettings` lists it', () => {
    const pool = poolAfter([e.tenantAdded('t1', 'alpha'), e.tenantSettingAdded('ts1', 't1', 'record', 'true', true)]);
    const setting = pool.tenantSettings.ts1;

    expect(keysOf(settingJson(setting))).toEqual(sorted(SETTING_KEYS).filter((k) => k !== 'tenant_name'));
    const listed = settingJson(setting, 'alpha');
    expect(keysOf(listed)).toEqual(sorted(SETTING_KEYS));
    expect(overTheWire(listed)).toStrictEqual(listed);
    expect(tenantSettingsListing([{ id: 't1', name: 'alpha' }], [listed]).map((l) => l.text)).toEqual([
      'Tenant: alpha',
      '  id: ts1',
      '\tparam: record',
      '\tvalue: true',
      '\toverride: true',
    ]);
  });

  test('given an imported recording: its JSON has the RecordingJson keys', () => {
    const [imported] = given([e.recordingImported('rec-1', 'm1')]);
    const json = recordingJson(evolveRecording(null, imported) as Recording);
    expect(keysOf(json)).toEqual(sorted(RECORDING_KEYS));
    expect(overTheWire(json)).toStrictEqual(json);
    expect(json).toMatchObject({ record_id: 'rec-1', meeting_id: 'm1', published: true, tenant_id: null, formats: [{ format: 'presentation', length: 60, thumbnails: 1 }] });
  });

  test('given a parked event and a self-rebuilt read model: status has their keys and names both', () => {
    const parked = parkedJson({ projection: 'pool', offset: 7, eventId: 'e7', type: 'MeetingPlaced', reason: 'value too long', parkedAt: '2026-11-28T10:00:00Z' });
    const rebuilt = rebuiltJson(historyEntry(stored(given([e.readModelRebuilt('pool', 'lost')]))[0]));
    expect(keysOf(parked)).toEqual(sorted(PARKED_KEYS));
    expect(keysOf(rebuilt)).toEqual(sorted(REBUILT_KEYS));
    expect(overTheWire({ parked, rebuilt })).toStrictEqual({ parked, rebuilt });
    expect(statusNotes({ servers: [], parked: { count: 1, latest: [parked] }, rebuilds: [rebuilt] })).toEqual([
      '1 event parked: a read model could not apply it; the events after were applied.',
      '  event 7 (MeetingPlaced), not in the pool read model: value too long',
      `${rebuilt.at}: the pool read model rebuilt itself from the log (it held event -1 of 41).`,
    ]);
  });
});
