import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freshDataDir, removeDataDir } from '../support/data-dir';
import { baseEnv, cli as run, CliResult, cliJson as runJson, freePort, ROOT, ScaleliteProcess } from '../support/processes';

/*
 * The rake tenant tasks as an admin types them: `tenants*` and
 * `tenantSettings*` against `scalelite start` (embedded backend), one balancer
 * with MULTITENANCY_ENABLED=true and one without it.
 */

const MT_DISABLED = 'Multitenancy is disabled, task can not be completed\n';
const UUID = '[0-9a-f-]{36}';

interface Tenant {
  id: string;
  name: string;
  secrets: string;
  lrs_endpoint?: string | null;
  lrs_username?: string | null;
  lrs_password?: string | null;
  kc_token_url?: string | null;
  kc_client_id?: string | null;
  kc_client_secret?: string | null;
  kc_username?: string | null;
  kc_password?: string | null;
}
interface Setting {
  id: string;
  tenant_id: string;
  tenant_name?: string;
  param: string;
  value: string;
  override: boolean;
}

describe('tenants and tenantSettings commands (embedded backend)', () => {
  const dirs: string[] = [];
  const balancers: ScaleliteProcess[] = [];
  let on: NodeJS.ProcessEnv;
  let off: NodeJS.ProcessEnv;

  const cli = (...args: string[]): Promise<CliResult> => run(on, ...args);
  const cliJson = <T>(...args: string[]): Promise<T> => runJson<T>(on, ...args);
  const failure = (r: CliResult) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  const expectOk = (r: CliResult, stdout: RegExp | string) => {
    if (r.code !== 0) throw new Error(failure(r));
    if (typeof stdout === 'string') expect(r.stdout).toBe(stdout);
    else expect(r.stdout).toMatch(stdout);
  };
  /** Scalelite's failures: exactly this text on stderr, exit 1. */
  const expectFailure = (r: CliResult, stderr: string) => {
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr });
    expect(r.stdout).toBe('');
  };
  /** API errors: `Error: <the API's message>`, exit 1. */
  const expectApiError = (r: CliResult, message: string) => {
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: ${message}\n`);
    expect(r.stdout).toBe('');
  };
  const jsonError = (r: CliResult) => {
    expect(r.code).toBe(1);
    return (JSON.parse(r.stdout) as { error: { message: string } }).error.message;
  };

  async function balancer(extra: Record<string, string>): Promise<NodeJS.ProcessEnv> {
    const dir = await freshDataDir();
    dirs.push(dir);
    const port = await freePort();
    const env = baseEnv({ DATA_DIR: dir, PORT: String(port), BIND: '127.0.0.1', POLL_INTERVAL: '3600', ...extra });
    if (!extra.MULTITENANCY_ENABLED) delete env.MULTITENANCY_ENABLED; // nothing from the runner's environment
    const p = new ScaleliteProcess(`start${extra.MULTITENANCY_ENABLED ? '-multitenant' : ''}`, ['start'], env);
    balancers.push(p);
    await p.waitHealthy(`http://127.0.0.1:${port}`);
    return env;
  }

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'commands', 'tenantSettings', 'add.js'))) {
      throw new Error('the CLI is not built with the tenant commands: run `npm run build` first');
    }
    [on, off] = await Promise.all([balancer({ MULTITENANCY_ENABLED: 'true' }), balancer({})]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(balancers.map((p) => p.stop()));
    for (const d of dirs) removeDataDir(d);
  }, 60_000);

  let bn: string; // tenant ids
  let ca: string;
  let de: string;

  test('no tenants yet: only the total; no settings: nothing', async () => {
    const [text, json, settings, settingsJson] = await Promise.all([cli('tenants'), cliJson<Tenant[]>('tenants'), cli('tenantSettings'), cliJson('tenantSettings')]);
    expectOk(text, 'Total number of tenants: 0\n');
    expect(json).toEqual([]);
    expectOk(settings, '');
    expect(settings.stderr).toBe('');
    expect(settingsJson).toEqual({ settings: [] });
  });

  test('tenants:add, also in the rake bracket form and with --json', async () => {
    const added = await cli('tenants:add', 'bn', 'bn-secret-1:bn-secret-2');
    expectOk(added, new RegExp(`^OK\\nNew Tenant id: ${UUID}\\n$`));
    bn = /New Tenant id: (\S+)/.exec(added.stdout)![1];

    const bracket = await cli('tenants:add[ca,ca-secret]');
    expectOk(bracket, new RegExp(`^OK\\nNew Tenant id: ${UUID}\\n$`));
    ca = /New Tenant id: (\S+)/.exec(bracket.stdout)![1];

    const json = await cliJson<{ tenant: Tenant }>('tenants:add', 'de', 'de-secret');
    expect(json.tenant).toMatchObject({ name: 'de', secrets: 'de-secret' });
    expect(json.tenant.id).toMatch(new RegExp(`^${UUID}$`));
    de = json.tenant.id;
    expect(new Set([bn, ca, de]).size).toBe(3);
  });

  test('tenants:add errors', async () => {
    const required = 'Error: both name and secrets are required to create a Tenant\n';
    const [none, one, blank, bracket, json, duplicate] = await Promise.all([
      cli('tenants:add'),
      cli('tenants:add', 'xx'),
      cli('tenants:add', 'xx', ' '),
      cli('tenants:add[xx,]'),
      cli('tenants:add', '--json'),
      cli('tenants:add', 'bn', 'other-secret'),
    ]);
    expectFailure(none, required);
    expectFailure(one, required);
    expectFailure(blank, required);
    expectFailure(bracket, required);
    expect(jsonError(json)).toBe(required.trim());
    // the balancer refuses a second tenant of that name (Scalelite silently re-pointed the name index)
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/^Error: .+\n$/);
    expect((await cliJson<Tenant[]>('tenants')).map((t) => t.name).sort()).toEqual(['bn', 'ca', 'de']);
  });

  test('tenants lists every tenant, secrets masked unless --show-secrets, then the total', async () => {
    const [text, shown, json] = await Promise.all([cli('tenants'), cli('tenants', '--show-secrets'), cliJson<Tenant[]>('tenants', '--show-secrets')]);
    expectOk(text, /Total number of tenants: 3\n$/);
    expect(text.stdout).toContain(`id: ${bn}\n\tname: bn\n\tsecrets: ********\n`);
    expect(text.stdout).toContain(`id: ${ca}\n\tname: ca\n\tsecrets: ********\n`);
    expect(text.stdout).not.toContain('bn-secret');
    expect(text.stdout.split('\n').filter((l) => l.startsWith('id: '))).toHaveLength(3);
    expect(text.stdout).not.toContain('lrs_');
    expectOk(shown, /Total number of tenants: 3\n$/);
    expect(shown.stdout).toContain(`id: ${bn}\n\tname: bn\n\tsecrets: bn-secret-1:bn-secret-2\n`);
    expect(shown.stdout).toContain(`id: ${de}\n\tname: de\n\tsecrets: de-secret\n`);
    expect(json.find((t) => t.id === ca)).toMatchObject({ name: 'ca', secrets: 'ca-secret' });
  });

  test('tenants:update renames or changes secrets; blank values are kept', async () => {
    const updated = `OK\nUpdated Tenant id: ${de}\n`;
    expectOk(await cli('tenants:update', de, 'dd'), updated);
    expectOk(await cli(`tenants:update[${de},,d1:d2]`), updated);
    let tenant = (await cliJson<Tenant[]>('tenants', '--show-secrets')).find((t) => t.id === de);
    expect(tenant).toMatchObject({ name: 'dd', secrets: 'd1:d2' });

    expectOk(await cli('tenants:update', de, '--name', 'de', '--secrets', 'de-secret'), updated);
    const json = await cliJson<{ tenant: Tenant }>('tenants:update', de, '--secrets', 'de-secret-2');
    expect(json.tenant).toMatchObject({ id: de, name: 'de' });
    tenant = (await cliJson<Tenant[]>('tenants', '--show-secrets')).find((t) => t.id === de);
    expect(tenant).toMatchObject({ name: 'de', secrets: 'de-secret-2' });
  });

  test('tenants:update errors', async () => {
    const required = 'Error: id and either name or secrets are required to update a Tenant\n';
    const [none, idOnly, blanks, unknown, taken] = await Promise.all([
      cli('tenants:update'),
      cli('tenants:update', de),
      cli(`tenants:update[${de},,]`),
      cli('tenants:update', 'no-such-tenant', 'zz'),
      cli('tenants:update', de, 'bn'),
    ]);
    expectFailure(none, required);
    expectFailure(idOnly, required);
    expectFailure(blanks, required);
    expectApiError(unknown, "Couldn't find Tenant with id=no-such-tenant");
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^Error: .+\n$/);
  });

  test('tenants:update_lrs_basic and tenants:update_lrs_kc set the xAPI fields, which tenants then prints', async () => {
    expectOk(await cli('tenants:update_lrs_basic', bn, 'https://lrs.example.com/xapi/', 'lrs-user', 'lrs-pass'), `OK\nUpdated Tenant id: ${bn}\n`);
    expectOk(
      await cli(`tenants:update_lrs_kc[${ca},https://lrs.example.org/xapi/,https://kc.example.org/token,kc-client,kc-client-secret,kc-user,kc-pass]`),
      `OK\nUpdated Tenant id: ${ca}\n`,
    );
    const json = await cliJson<{ tenant: Tenant }>('tenants:update_lrs_basic', de, 'https://lrs.example.net/', 'u3', 'p3');
    expect(json.tenant).toMatchObject({ id: de, lrs_endpoint: 'https://lrs.example.net/', lrs_username: 'u3' });

    const [text, shown] = await Promise.all([cli('tenants'), cli('tenants', '--show-secrets')]);
    expect(text.stdout).toContain(`id: ${bn}\n\tname: bn\n\tsecrets: ********\n\tlrs_endpoint: https://lrs.example.com/xapi/\n\tlrs_username: lrs-user\n`);
    expect(text.stdout).not.toContain('lrs-pass');
    expect(text.stdout).not.toContain('kc-client-secret');
    expect(text.stdout).not.toContain('kc-pass');
    expect(shown.stdout).toContain(
      `id: ${bn}\n\tname: bn\n\tsecrets: bn-secret-1:bn-secret-2\n\tlrs_endpoint: https://lrs.example.com/xapi/\n\tlrs_username: lrs-user\n\tlrs_password: lrs-pass\n`,
    );
    expect(shown.stdout).toContain(
      `id: ${ca}\n\tname: ca\n\tsecrets: ca-secret\n\tlrs_endpoint: https://lrs.example.org/xapi/\n` +
        '\tkc_token_url: https://kc.example.org/token\n\tkc_client_id: kc-client\n\tkc_client_secret: kc-client-secret\n\tkc_username: kc-user\n\tkc_password: kc-pass\n',
    );
    const infos = await cliJson<Tenant[]>('tenants', '--show-secrets');
    expect(infos.find((t) => t.id === ca)).toMatchObject({ kc_client_id: 'kc-client', kc_password: 'kc-pass', lrs_username: null });
  });

  test('tenants:update_lrs_basic and tenants:update_lrs_kc errors', async () => {
    const basic = 'Error: id, LRS_ENDPOINT, LRS_USERNAME, LRS_PASSWORD are required to update a Tenant\n';
    const kc = 'Error: LRS_ENDPOINT, KC_TOKEN_URL, KC_CLIENT_ID, KC_CLIENT_SECRET, KC_USERNAME, KC_PASSWORD are required to update a Tenant\n';
    const [b0, b3, bBlank, k0, k6, kBlank, unknownB, unknownK] = await Promise.all([
      cli('tenants:update_lrs_basic'),
      cli('tenants:update_lrs_basic', bn, 'https://lrs/', 'user'),
      cli(`tenants:update_lrs_basic[${bn},https://lrs/,,pw]`),
      cli('tenants:update_lrs_kc'),
      cli('tenants:update_lrs_kc', ca, 'https://lrs/', 'https://kc/', 'id', 'secret', 'user'),
      cli(`tenants:update_lrs_kc[${ca},https://lrs/,,id,secret,user,pw]`),
      cli('tenants:update_lrs_basic', 'no-such-tenant', 'https://lrs/', 'user', 'pw'),
      cli('tenants:update_lrs_kc', 'no-such-tenant', 'https://lrs/', 'https://kc/', 'id', 'secret', 'user', 'pw'),
    ]);
    expectFailure(b0, basic);
    expectFailure(b3, basic);
    expectFailure(bBlank, basic);
    expectFailure(k0, kc);
    expectFailure(k6, kc);
    expectFailure(kBlank, kc);
    expectApiError(unknownB, "Couldn't find Tenant with id=no-such-tenant");
    expectApiError(unknownK, "Couldn't find Tenant with id=no-such-tenant");
  });

  let settingA: string;
  let settingB: string;

  test('tenantSettings:add, and tenantSettings lists them per tenant', async () => {
    const added = await cli('tenantSettings:add', bn, 'record', 'false', 'true');
    expectOk(added, new RegExp(`^OK\\nNew TenantSetting id: \\S+\\n$`));
    settingA = /New TenantSetting id: (\S+)/.exec(added.stdout)![1];
    const json = await cliJson<{ tenant_setting: Setting }>(`tenantSettings:add[${bn},meta_server-tag,big\\,fast,false]`);
    expect(json.tenant_setting).toMatchObject({ tenant_id: bn, param: 'meta_server-tag', value: 'big,fast', override: false });
    settingB = json.tenant_setting.id;
    expect(settingB).not.toBe(settingA);

    const listing = await cli('tenantSettings');
    expectOk(listing, /Tenant: bn\n/);
    expect(listing.stdout).toContain('Tenant: ca\n');
    expect(listing.stdout).toContain('Tenant: de\n');
    expect(listing.stdout).toContain(`  id: ${settingA}\n\tparam: record\n\tvalue: false\n\toverride: true\n`);
    expect(listing.stdout).toContain(`  id: ${settingB}\n\tparam: meta_server-tag\n\tvalue: big,fast\n\toverride: false\n`);
    // the two settings follow bn's heading, before the next tenant's
    const bnBlock = listing.stdout.slice(listing.stdout.indexOf('Tenant: bn\n')).split(/\nTenant: /)[0];
    expect(bnBlock).toContain(settingA);
    expect(bnBlock).toContain(settingB);
    // ca and de have none: said on stderr, once each
    expect(listing.stderr).toBe('  No custom settings are configured\n  No custom settings are configured\n');

    const all = await cliJson<{ settings: Setting[] }>('tenantSettings');
    expect(all.settings.map((s) => s.id).sort()).toEqual([settingA, settingB].sort());
    expect(all.settings.find((s) => s.id === settingA)).toMatchObject({ tenant_id: bn, tenant_name: 'bn', param: 'record', value: 'false', override: true });
  });

  test('tenantSettings:add errors', async () => {
    const required = 'Error: tenant_id, param, value and override are required to create a TenantSetting\n';
    const [none, three, blank, json, unknown] = await Promise.all([
      cli('tenantSettings:add'),
      cli('tenantSettings:add', bn, 'record', 'false'),
      cli(`tenantSettings:add[${bn},record,,true]`),
      cli('tenantSettings:add', bn, '--json'),
      cli('tenantSettings:add', 'no-such-tenant', 'record', 'false', 'true'),
    ]);
    expectFailure(none, required);
    expectFailure(three, required);
    expectFailure(blank, required);
    expect(jsonError(json)).toBe(required.trim());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^Error: .*no-such-tenant.*\n$/);
  });

  test('tenantSettings:remove', async () => {
    expectOk(await cli('tenantSettings:remove', settingA), 'TenantSetting was successfully deleted.\n');
    expect(await cliJson(`tenantSettings:remove[${settingB}]`)).toEqual({ success: 'TenantSetting was successfully deleted.' });
    const [again, none] = await Promise.all([cli('tenantSettings:remove', settingA), cli('tenantSettings:remove')]);
    expectApiError(again, `Couldn't find TenantSetting with id=${settingA}`);
    expectFailure(none, 'Error: id is required to remove a TenantSetting\n');
    const listing = await cli('tenantSettings');
    expectOk(listing, /^Tenant: \w+\nTenant: \w+\nTenant: \w+\n$/);
    expect(listing.stderr.split('\n').filter(Boolean)).toHaveLength(3);
  });

  test('tenants:remove', async () => {
    const kept = (await cliJson<{ tenant_setting: Setting }>('tenantSettings:add', de, 'welcome', 'Hello', 'false')).tenant_setting.id;
    expectOk(await cli('tenants:remove', de), 'Tenant was successfully deleted.\n');
    // as in Scalelite the tenant's settings stay; they are listed under the tenant id, so they can be found and removed
    const orphans = await cli('tenantSettings');
    expect(orphans.stdout).toContain(`Tenant: ${de} (no such tenant)\n  id: ${kept}\n\tparam: welcome\n\tvalue: Hello\n\toverride: false\n`);
    expectOk(await cli('tenantSettings:remove', kept), 'TenantSetting was successfully deleted.\n');
    expect(await cliJson(`tenants:remove[${ca}]`)).toEqual({ success: `Tenant id=${ca} was destroyed` });
    const [again, none, json] = await Promise.all([cli('tenants:remove', de), cli('tenants:remove'), cli('tenants:remove', de, '--json')]);
    expectApiError(again, `Couldn't find Tenant with id=${de}`);
    expectFailure(none, 'Error: id is required to remove a Tenant\n');
    expect(jsonError(json)).toBe(`Error: Couldn't find Tenant with id=${de}`);
    const listing = await cli('tenants');
    expectOk(listing, new RegExp(`^id: ${bn}\\n(\\t.*\\n)+Total number of tenants: 1\\n$`));
  });

  test('with multitenancy disabled every task aborts before anything else', async () => {
    const offCli = (...args: string[]) => run(off, ...args);
    // one of each kind: a listing, a change, missing arguments (the multitenancy check comes first, as in Scalelite), settings
    const calls = [
      ['tenants'],
      ['tenants:add[bn,secret]'],
      ['tenants:update'],
      ['tenants:update_lrs_kc', bn, 'https://lrs/', 'https://kc/', 'id', 'secret', 'u', 'p'],
      ['tenantSettings:remove', 'some-id'],
    ];
    const results = await Promise.all(calls.map((args) => offCli(...args)));
    results.forEach((r, i) => {
      try {
        expectFailure(r, MT_DISABLED);
      } catch (e) {
        throw new Error(`scalelite ${calls[i].join(' ')}: ${failure(r)}\n${(e as Error).message}`);
      }
    });
    const json = await offCli('tenants:add', 'bn', 'secret', '--json');
    expect(jsonError(json)).toBe(MT_DISABLED.trim());
    // the enabled balancer still has its tenant
    expect((await cliJson<Tenant[]>('tenants')).map((t) => t.id)).toEqual([bn]);
  });
});
