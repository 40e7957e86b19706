import { decideTenant, splitSecrets, TenantCommand } from '../../../src/commands/tenants';
import { draft } from '../../../src/events/catalog';
import { tenantNameKey } from '../../../src/projections/pool';
import { e } from '../../support/events';
import { given, onPool, when } from '../../support/decide';

/** decideTenant against the pool the given events build: what the admin handler loads for the command. */
const tenants = onPool(decideTenant, (pool, command: TenantCommand) => {
  const name = command.type === 'AddTenant' || command.type === 'UpdateTenant' ? command.name : undefined;
  const tenantId = command.type === 'AddTenant' || command.type === 'RemoveTenantSetting' ? undefined : command.tenantId;
  const holder = name === undefined ? undefined : pool.tenantNames[tenantNameKey(name)];
  return {
    tenant: tenantId === undefined ? null : (pool.tenants[tenantId] ?? null),
    nameHolder: holder === undefined ? null : (pool.tenants[holder] ?? null),
    setting: command.type === 'RemoveTenantSetting' ? (pool.tenantSettings[command.settingId] ?? null) : null,
  };
});

const add = (over: Partial<Extract<TenantCommand, { type: 'AddTenant' }>> = {}): TenantCommand => ({ type: 'AddTenant', tenantId: 't-1', name: 'acme', secrets: ['s1'], ...over });
const update = (over: Omit<Extract<TenantCommand, { type: 'UpdateTenant' }>, 'type' | 'tenantId'>, tenantId = 't-1'): TenantCommand => ({
  type: 'UpdateTenant',
  tenantId,
  ...over,
});
const acme = [e.tenantAdded('t-1', 'acme', ['s1'])];

describe('AddTenant', () => {
  test('given nothing: added with its secrets', () => {
    when(tenants, add({ secrets: ['s1', 's2'] })).then([draft('TenantAdded', { tenantId: 't-1', name: 'acme', secrets: ['s1', 's2'] })]);
  });

  test('given a tenant with that name, in any case: tenantExists (its host would reach the other)', () => {
    given(acme)
      .when(tenants, add({ tenantId: 't-2', name: 'ACME' }))
      .thenError('tenantExists', 'A tenant named acme exists already (id=t-1)');
  });

  test('given a removed tenant with that name: the name is free again', () => {
    given([...acme, e.tenantRemoved('t-1')])
      .when(tenants, add({ tenantId: 't-2' }))
      .thenEvents();
  });

  test.each([
    ['a name that is no DNS label', add({ name: 'a.b' }), /must be a DNS label/],
    ['a name of 64 characters', add({ name: 'a'.repeat(64) }), /must be a DNS label/],
    ['no secret', add({ secrets: [] }), 'A tenant needs at least one secret'],
    ['21 secrets', add({ secrets: Array.from({ length: 21 }, (_, i) => `s${i}`) }), 'A tenant has at most 20 secrets'],
    ['a secret too long for the log', add({ secrets: ['s'.repeat(600)] }), /A secret is at most \d+ characters/],
  ])('%s: invalidTenant', (_why, command, message) => {
    when(tenants, command).thenError('invalidTenant', message);
  });
});

describe('UpdateTenant', () => {
  test('given no such tenant: tenantNotFound', () => {
    when(tenants, update({ name: 'x' })).thenError('tenantNotFound', "Couldn't find Tenant with id=t-1");
  });

  test('records only what changes; nothing changed, nothing recorded', () => {
    given(acme)
      .when(tenants, update({ name: 'acme2', secrets: ['s1'] }))
      .then([draft('TenantUpdated', { tenantId: 't-1', name: 'acme2' })]);
    given(acme)
      .when(tenants, update({ name: 'acme', secrets: ['s1'] }))
      .then([]);
  });

  test('its own name in another case is its own, not taken', () => {
    given(acme)
      .when(tenants, update({ name: 'Acme' }))
      .then([draft('TenantUpdated', { tenantId: 't-1', name: 'Acme' })]);
  });

  test("given another tenant's name: tenantExists", () => {
    given([...acme, e.tenantAdded('t-2', 'globex')])
      .when(tenants, update({ name: 'globex' }))
      .thenError('tenantExists');
  });

  test('LRS fields: an empty value clears, a URL must be http(s)', () => {
    const withLrs = [...acme, e.tenantUpdated('t-1', { lrsEndpoint: 'https://lrs.example.com' })];
    given(withLrs)
      .when(tenants, update({ lrs: { lrsEndpoint: '' } }))
      .then([draft('TenantUpdated', { tenantId: 't-1', lrsEndpoint: null })]);
    given(withLrs)
      .when(tenants, update({ lrs: { lrsEndpoint: 'https://lrs.example.com' } }))
      .then([]);
    given(acme)
      .when(tenants, update({ lrs: { kcTokenUrl: 'ftp://kc.example.com' } }))
      .thenError('invalidTenant', 'kc_token_url must be an http(s) URL');
  });
});

describe('RemoveTenant', () => {
  test('given the tenant: removed; given none: tenantNotFound', () => {
    given(acme)
      .when(tenants, { type: 'RemoveTenant', tenantId: 't-1' })
      .then([e.tenantRemoved('t-1')]);
    when(tenants, { type: 'RemoveTenant', tenantId: 't-1' }).thenError('tenantNotFound');
  });
});

describe('tenant settings', () => {
  const setting = (over: Partial<Extract<TenantCommand, { type: 'AddTenantSetting' }>> = {}): TenantCommand => ({
    type: 'AddTenantSetting',
    settingId: 'set-1',
    tenantId: 't-1',
    param: 'meta_course',
    value: 'HIS',
    override: false,
    ...over,
  });

  test('given the tenant: a setting is added; given none: tenantNotFound', () => {
    given(acme)
      .when(tenants, setting({ override: true }))
      .then([e.tenantSettingAdded('set-1', 't-1', 'meta_course', 'HIS', true)]);
    when(tenants, setting()).thenError('tenantNotFound');
  });

  test('a param that is no BBB parameter name, or a value too long for the log: invalidTenant', () => {
    given(acme)
      .when(tenants, setting({ param: 'a b' }))
      .thenError('invalidTenant', "'a b' is not a BBB parameter name");
    given(acme)
      .when(tenants, setting({ value: 'v'.repeat(100_000) }))
      .thenError('invalidTenant', /The value is longer than/);
  });

  test('given a setting: removed, with its tenant; given none: tenantSettingNotFound', () => {
    given([...acme, e.tenantSettingAdded('set-1', 't-1', 'meta_course', 'HIS')])
      .when(tenants, { type: 'RemoveTenantSetting', settingId: 'set-1' })
      .then([e.tenantSettingRemoved('set-1', 't-1')]);
    when(tenants, { type: 'RemoveTenantSetting', settingId: 'set-1' }).thenError('tenantSettingNotFound', "Couldn't find TenantSetting with id=set-1");
  });
});

describe('splitSecrets', () => {
  test('Scalelite keeps secrets as a:b:c; blanks go', () => {
    expect(splitSecrets(' a : b ::c ')).toEqual(['a', 'b', 'c']);
  });
});
