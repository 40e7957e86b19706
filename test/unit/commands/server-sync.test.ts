import { DesiredServer, endMeetingLog, parseDryRun, parseServersYaml, parseSyncMode, planSync, serversYaml, SyncMode, SyncStep } from '../../../src/commands/server-sync';
import { Server } from '../../../src/projections/pool';
import { server } from '../../support/events';

function desiredOf(yaml: string): Map<string, DesiredServer> {
  const parsed = parseServersYaml(yaml);
  if ('error' in parsed) throw new Error(`expected a valid document, got: ${parsed.error}`);
  return parsed.servers;
}

function errorOf(yaml: string): string {
  const parsed = parseServersYaml(yaml);
  if (!('error' in parsed)) throw new Error('expected an error');
  return parsed.error;
}

const want = (over: Partial<DesiredServer> = {}): DesiredServer => ({
  url: 'https://bbb-1.example.com/bigbluebutton/api',
  secret: 'secret-bbb-1',
  enabled: true,
  loadMultiplier: 1,
  tag: null,
  ...over,
});

/** The log a run would print, in order (force's per-meeting lines come from the executor). */
const logOf = (steps: SyncStep[]) => steps.flatMap((s) => [...s.log, ...(s.kind === 'endMeetingsAndRemove' ? s.doneLog : [])]);

describe('parseServersYaml', () => {
  test('given a full entry, then its values', () => {
    const servers = desiredOf(`
servers:
  bbb1.example.com:
    url: https://bbb1.example.com/bigbluebutton/api/
    secret: abc123
    enabled: false
    load_multiplier: 2.5
    tag: gpu
`);
    expect([...servers]).toEqual([['bbb1.example.com', { url: 'https://bbb1.example.com/bigbluebutton/api/', secret: 'abc123', enabled: false, loadMultiplier: 2.5, tag: 'gpu' }]]);
  });

  test('given only a secret, then the defaults: url from the id, enabled, multiplier 1.0, no tag', () => {
    expect(desiredOf('servers:\n  bbb2.example.com:\n    secret: s\n').get('bbb2.example.com')).toEqual({
      url: 'https://bbb2.example.com/bigbluebutton/api',
      secret: 's',
      enabled: true,
      loadMultiplier: 1,
      tag: null,
    });
  });

  test('given null values, then the defaults apply', () => {
    expect(desiredOf('servers:\n  a:\n    secret: s\n    url:\n    enabled: ~\n    load_multiplier: null\n    tag:\n').get('a')).toEqual({
      url: 'https://a/bigbluebutton/api',
      secret: 's',
      enabled: true,
      loadMultiplier: 1,
      tag: null,
    });
  });

  test('keeps file order', () => {
    expect([...desiredOf('servers:\n  z: {secret: s}\n  a: {secret: s}\n  "10": {secret: s}\n').keys()]).toEqual(['z', 'a', '10']);
  });

  test('given an empty servers hash, then no servers (every server is then surplus)', () => {
    expect(desiredOf('servers: {}\n').size).toBe(0);
  });

  test.each([[''], ['   ']])('given a blank tag %p, then untagged', (tag) => {
    expect(desiredOf(`servers:\n  a:\n    secret: s\n    tag: '${tag}'\n`).get('a')!.tag).toBeNull();
  });

  test('given a tag with spaces around it, then it is trimmed', () => {
    expect(desiredOf(`servers:\n  a:\n    secret: s\n    tag: ' gpu '\n`).get('a')!.tag).toBe('gpu');
  });

  test('YAML 1.1 booleans as Psych reads them: enabled: no / off are false, yes / on true', () => {
    const s = desiredOf('servers:\n  a: {secret: s, enabled: no}\n  b: {secret: s, enabled: off}\n  c: {secret: s, enabled: yes}\n  d: {secret: s, enabled: On}\n');
    expect([...s.values()].map((v) => v.enabled)).toEqual([false, false, true, true]);
  });

  test('given secrets YAML would type as numbers or booleans, then the text as written', () => {
    const s = desiredOf('servers:\n  a: {secret: 0x1F}\n  b: {secret: 0777}\n  c: {secret: yes}\n  d: {secret: 12345}\n  e: {secret: 1:20}\n');
    expect([...s.values()].map((v) => v.secret)).toEqual(['0x1F', '0777', 'yes', '12345', '1:20']);
  });

  test('given a numeric string load_multiplier, then the number', () => {
    expect(desiredOf("servers:\n  a: {secret: s, load_multiplier: '3'}\n").get('a')!.loadMultiplier).toBe(3);
  });

  test('given the verbose servers:yaml fields, then they are accepted and ignored', () => {
    expect(desiredOf('servers:\n  a: {secret: s, load: 12.0, state: cordoned, bbb_version: 2.7.3, online: true}\n').get('a')).toEqual(
      want({ url: 'https://a/bigbluebutton/api', secret: 's' }),
    );
  });

  test('given an alias, then the value it points at', () => {
    expect(desiredOf('common: &s shared\nservers:\n  a: {secret: *s}\n').get('a')!.secret).toBe('shared');
  });

  test.each([
    ['not YAML', 'servers: [unclosed', /^Invalid YAML document: /],
    ['an empty document', '', /^Invalid YAML document$/],
    ['a list document', '- a\n- b\n', /^Invalid YAML document$/],
    ['no servers key', 'other: {}\n', /^Servers parameter not a hash$/],
    ['servers as a list', 'servers:\n  - url: x\n', /^Servers parameter not a hash$/],
    ['servers empty', 'servers:\n', /^Servers parameter not a hash$/],
    ['an id with a slash', 'servers:\n  a/b: {secret: s}\n', /^Server id=a\/b contains invalid characters$/],
    ['an id with a space', "servers:\n  'a b': {secret: s}\n", /^Server id=a b contains invalid characters$/],
    ['an id too long', `servers:\n  ${'a'.repeat(256)}: {secret: s}\n`, /is too long/],
    ['an id listed twice as number and string', "servers:\n  1: {secret: s}\n  '1': {secret: s}\n", /^Server id=1 is listed twice$/],
    ['no secret', 'servers:\n  a: {url: https://a/}\n', /^Server id=a has no secret$/],
    ['a blank secret', "servers:\n  a: {secret: '  '}\n", /^Server id=a has no secret$/],
    ['no parameters at all', 'servers:\n  a:\n', /^Server id=a has no secret$/],
    ['parameters that are a string', 'servers:\n  a: hello\n', /^Server id=a has parameters that are not a hash$/],
    ['unknown keys', 'servers:\n  a: {secret: s, foo: 1, Secret: 2}\n', /^Server id=a has bad parameters: \["foo", "Secret"\]$/],
    ['load_multiplier 0', 'servers:\n  a: {secret: s, load_multiplier: 0}\n', /^Server id=a has invalid load_multiplier=0$/],
    ['a negative load_multiplier', 'servers:\n  a: {secret: s, load_multiplier: -1.5}\n', /invalid load_multiplier=-1\.5$/],
    ['a non-numeric load_multiplier', 'servers:\n  a: {secret: s, load_multiplier: heavy}\n', /invalid load_multiplier=heavy$/],
    ['a url without scheme', 'servers:\n  a: {secret: s, url: a.example.com/bigbluebutton/api}\n', /^Server id=a has invalid url=a\.example\.com\/bigbluebutton\/api$/],
    ['an ftp url', 'servers:\n  a: {secret: s, url: "ftp://a/"}\n', /invalid url=ftp:\/\/a\/$/],
    ['an empty url', "servers:\n  a: {secret: s, url: ''}\n", /^Server id=a has invalid url=$/],
    ['enabled as a quoted string', "servers:\n  a: {secret: s, enabled: 'false'}\n", /^Server id=a has invalid enabled="false" \(expected true or false\)$/],
    ['a tag that is a list', 'servers:\n  a: {secret: s, tag: [x]}\n', /^Server id=a has invalid tag=a list$/],
    ['an oversized secret', `servers:\n  a: {secret: ${'x'.repeat(513)}}\n`, /secret longer than 512/],
  ])('given %s, then an error', (_what, yaml, message) => {
    expect(errorOf(yaml)).toMatch(message);
  });

  test('validates every server before accepting any: an error in the last fails the whole file', () => {
    expect(errorOf('servers:\n  a: {secret: s}\n  b: {secret: s}\n  c: {}\n')).toBe('Server id=c has no secret');
  });
});

describe('parseSyncMode / parseDryRun', () => {
  test.each([
    [undefined, 'cordon'],
    ['', 'cordon'],
    ['keep', 'keep'],
    ['cordon', 'cordon'],
    ['force', 'force'],
    [' force ', 'force'],
  ])('mode %p → %p', (value, mode) => {
    expect(parseSyncMode(value)).toBe(mode);
  });

  test.each([['delete'], ['Force']])('mode %p → error listing the modes', (value) => {
    expect(parseSyncMode(value)).toEqual({ error: `Unknown sync mode '${value}' (choose: keep cordon force)` });
  });

  test.each([
    [undefined, false],
    ['n', false],
    ['no', false],
    ['false', false],
    ['FALSE', false],
    ['No', false],
    ['true', true],
    ['yes', true],
    ['1', true],
    ['0', true],
    ['dry', true],
    ['', true],
  ])('dryrun %p → %p', (value, expected) => {
    expect(parseDryRun(value)).toBe(expected);
  });
});

describe('planSync: servers in the file', () => {
  const none = () => 0;

  test('given a new enabled server, then add, then enable', () => {
    const steps = planSync(new Map([['bbb-1', want({ tag: 'gpu', loadMultiplier: 2 })]]), [], none, 'cordon');
    expect(steps).toEqual([
      { kind: 'add', id: 'bbb-1', url: want().url, secret: want().secret, loadMultiplier: 2, tag: 'gpu', log: ['[bbb-1] Server created'] },
      { kind: 'enable', id: 'bbb-1', log: ['[bbb-1] Server enabled'] },
    ]);
  });

  test('given a new server with enabled: false, then add only (it starts disabled)', () => {
    expect(planSync(new Map([['bbb-1', want({ enabled: false })]]), [], none, 'cordon').map((s) => s.kind)).toEqual(['add']);
  });

  test('given a server that matches the file, then nothing', () => {
    expect(planSync(new Map([['bbb-1', want()]]), [server('bbb-1')], none, 'cordon')).toEqual([]);
  });

  test('given every field changed, then one update with all changes, the secret masked in the log', () => {
    const steps = planSync(
      new Map([['bbb-1', want({ url: 'https://new.example.com/bigbluebutton/api', secret: 'new', loadMultiplier: 3, tag: 'gpu' })]]),
      [server('bbb-1')],
      none,
      'cordon',
    );
    expect(steps).toEqual([
      {
        kind: 'update',
        id: 'bbb-1',
        changes: { url: 'https://new.example.com/bigbluebutton/api', secret: 'new', loadMultiplier: 3, tag: 'gpu' },
        log: [
          '[bbb-1] Server updated: url=https://new.example.com/bigbluebutton/api',
          '[bbb-1] Server updated: secret=*****',
          '[bbb-1] Server updated: load_multiplier=3.0',
          '[bbb-1] Server updated: tag=gpu',
        ],
      },
    ]);
    expect(JSON.stringify(steps[0].log)).not.toContain('"new"');
  });

  test('given a tag removed from the file, then update tag to null', () => {
    expect(planSync(new Map([['bbb-1', want()]]), [server('bbb-1', { tag: 'gpu' })], none, 'cordon')).toEqual([
      { kind: 'update', id: 'bbb-1', changes: { tag: null }, log: ['[bbb-1] Server updated: tag='] },
    ]);
  });

  test.each([
    ['enabled', true, []],
    ['cordoned', true, ['enable']],
    ['disabled', true, ['enable']],
    ['enabled', false, ['cordon']],
    ['cordoned', false, []],
    ['disabled', false, []],
  ] as const)('given a %s server and enabled: %p, then %p', (state, enabled, kinds) => {
    const steps = planSync(new Map([['bbb-1', want({ enabled })]]), [server('bbb-1', { state })], none, 'cordon');
    expect(steps.map((s) => s.kind)).toEqual(kinds);
  });

  test('the cordon step logs as Scalelite does', () => {
    expect(logOf(planSync(new Map([['bbb-1', want({ enabled: false })]]), [server('bbb-1')], none, 'cordon'))).toEqual(['[bbb-1] Server disabled (cordoned)']);
  });

  test('given an update and a state change, then the update comes first', () => {
    const steps = planSync(new Map([['bbb-1', want({ secret: 'x' })]]), [server('bbb-1', { state: 'disabled' })], none, 'cordon');
    expect(steps.map((s) => s.kind)).toEqual(['update', 'enable']);
  });
});

describe('planSync: servers missing from the file, by mode', () => {
  const pool: Server[] = [server('kept'), server('empty'), server('busy-enabled'), server('busy-cordoned', { state: 'cordoned' }), server('busy-disabled', { state: 'disabled' })];
  const meetings: Record<string, number> = { 'busy-enabled': 2, 'busy-cordoned': 1, 'busy-disabled': 3 };
  const desired = new Map([['kept', want({ url: server('kept').url, secret: server('kept').secret })]]);
  const plan = (mode: SyncMode) => planSync(desired, pool, (id) => meetings[id] ?? 0, mode);

  test('keep: every surplus server stays', () => {
    expect(plan('keep')).toEqual([
      { kind: 'keep', id: 'empty', log: ['[empty] Server not removed'] },
      { kind: 'keep', id: 'busy-enabled', log: ['[busy-enabled] Server not removed'] },
      { kind: 'keep', id: 'busy-cordoned', log: ['[busy-cordoned] Server not removed'] },
      { kind: 'keep', id: 'busy-disabled', log: ['[busy-disabled] Server not removed'] },
    ]);
  });

  test('cordon: empty ones removed, busy enabled ones cordoned, busy others left', () => {
    expect(plan('cordon')).toEqual([
      { kind: 'remove', id: 'empty', log: ['[empty] Server removed'] },
      { kind: 'cordonForRemoval', id: 'busy-enabled', log: ['[busy-enabled] Server not empty. Cordoned for removal'] },
      { kind: 'keep', id: 'busy-cordoned', log: ['[busy-cordoned] Server not empty. Not removed'] },
      { kind: 'keep', id: 'busy-disabled', log: ['[busy-disabled] Server not empty. Not removed'] },
    ]);
  });

  test('force: empty ones removed; busy ones cordoned (if enabled), their meetings ended, then removed', () => {
    expect(plan('force')).toEqual([
      { kind: 'remove', id: 'empty', log: ['[empty] Server removed'] },
      { kind: 'cordonForRemoval', id: 'busy-enabled', log: ['[busy-enabled] Server not empty. Cordoned for removal'] },
      {
        kind: 'endMeetingsAndRemove',
        id: 'busy-enabled',
        meetings: 2,
        log: ['[busy-enabled] Server not empty. Ending meetings now...'],
        doneLog: ['[busy-enabled] Server removed'],
      },
      {
        kind: 'endMeetingsAndRemove',
        id: 'busy-cordoned',
        meetings: 1,
        log: ['[busy-cordoned] Server not empty. Ending meetings now...'],
        doneLog: ['[busy-cordoned] Server removed'],
      },
      {
        kind: 'endMeetingsAndRemove',
        id: 'busy-disabled',
        meetings: 3,
        log: ['[busy-disabled] Server not empty. Ending meetings now...'],
        doneLog: ['[busy-disabled] Server removed'],
      },
    ]);
  });

  test('file servers are handled before surplus ones', () => {
    const steps = planSync(new Map([['new', want()]]), [server('old')], () => 0, 'cordon');
    expect(steps.map((s) => `${s.kind}:${s.id}`)).toEqual(['add:new', 'enable:new', 'remove:old']);
  });

  test('endMeetingLog', () => {
    expect(endMeetingLog('bbb-1', 'm 1')).toBe('[bbb-1] Try to end meeting id=m 1');
  });
});

describe('serversYaml', () => {
  const pool: Server[] = [
    server('bbb1.example.com', { loadMultiplier: 1, load: 12, bbbVersion: '2.7.3' }),
    server('gpu-2', { tag: 'gpu', loadMultiplier: 2.5, state: 'cordoned', online: false, load: null, bbbVersion: '' }),
    server('123', { secret: 'no', state: 'disabled' }),
    server('__proto__', { secret: '0777' }),
  ];

  test('given servers, then the Psych-shaped document, in pool order', () => {
    expect(serversYaml(pool.slice(0, 2), false)).toBe(
      [
        '---',
        'servers:',
        '  bbb1.example.com:',
        '    url: https://bbb1.example.com.example.com/bigbluebutton/api',
        '    secret: secret-bbb1.example.com',
        '    load_multiplier: 1.0',
        "    tag: ''",
        '    enabled: true',
        '  gpu-2:',
        '    url: https://gpu-2.example.com/bigbluebutton/api',
        '    secret: secret-gpu-2',
        '    load_multiplier: 2.5',
        '    tag: gpu',
        '    enabled: false',
        '',
      ].join('\n'),
    );
  });

  test('verbose adds state, load (-1.0 when unknown), bbb_version and online', () => {
    const yaml = serversYaml(pool.slice(0, 2), true);
    expect(yaml).toContain('    enabled: true\n    state: enabled\n    load: 12.0\n    bbb_version: 2.7.3\n    online: true\n');
    expect(yaml).toContain("    enabled: false\n    state: cordoned\n    load: -1.0\n    bbb_version: ''\n    online: false\n");
  });

  test('given no servers, then an empty hash', () => {
    expect(serversYaml([], false)).toBe('---\nservers: {}\n');
  });

  test.each([[false], [true]])('round trip (verbose %p): servers:yaml output read by servers:sync is the pool, and plans nothing', (verbose) => {
    const desired = desiredOf(serversYaml(pool, verbose));
    expect([...desired.keys()]).toEqual(pool.map((s) => s.id));
    for (const s of pool) {
      expect(desired.get(s.id)).toEqual({ url: s.url, secret: s.secret, enabled: s.state === 'enabled', loadMultiplier: s.loadMultiplier, tag: s.tag });
    }
    expect(planSync(desired, pool, () => 1, 'force')).toEqual([]);
  });
});
