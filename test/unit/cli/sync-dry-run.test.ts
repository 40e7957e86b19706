import { DesiredServer, endMeetingLog, planSync, SYNC_MODES, SyncStep } from '../../../src/commands/server-sync';
import { wouldDo } from '../../../cli/commands/servers/sync';
import { server } from '../../support/events';

const want = (id: string, over: Partial<DesiredServer> = {}): DesiredServer => ({
  url: `https://${id}.example.com/bigbluebutton/api`,
  secret: `secret-${id}`,
  enabled: true,
  loadMultiplier: 1,
  tag: null,
  ...over,
});

/** Every line a sync prints, in the order it prints them: the steps', each meeting ended, then what follows. */
const linesOf = (steps: SyncStep[], meetings: string[]) =>
  steps.flatMap((s) => [...s.log, ...(s.kind === 'endMeetingsAndRemove' ? [...meetings.map((m) => endMeetingLog(s.id, m)), ...s.doneLog] : [])]);

describe('servers:sync --dry-run words each step as what it would do', () => {
  test('given a plan with every kind of step in every mode: each line has its conditional form, with its server id kept', () => {
    const desired = new Map([
      ['new-on', want('new-on')],
      ['new-off', want('new-off', { enabled: false })],
      ['changed', want('changed', { url: 'https://moved.example.com/bigbluebutton/api', secret: 'new', loadMultiplier: 2, tag: 'gpu' })],
      ['to-cordon', want('to-cordon', { enabled: false })],
      ['to-enable', want('to-enable')],
    ]);
    const current = [
      server('changed', { url: 'https://changed.example.com/bigbluebutton/api', tag: 'old' }),
      server('to-cordon'),
      server('to-enable', { state: 'disabled' }),
      server('gone-empty'),
      server('gone-busy'),
      server('gone-busy-disabled', { state: 'disabled' }),
    ];
    const meetingsOn = (id: string) => (id.startsWith('gone-busy') ? 2 : 0);
    const kinds = new Set<string>();
    for (const mode of SYNC_MODES) {
      const steps = planSync(desired, current, meetingsOn, mode);
      steps.forEach((s) => kinds.add(s.kind));
      for (const line of linesOf(steps, ['m1', 'm2'])) {
        const would = wouldDo(line);
        expect([line, would]).toEqual([line, expect.stringMatching(/\b[Ww]ould\b/)]);
        expect(would!.slice(0, line.indexOf('] ') + 2)).toBe(line.slice(0, line.indexOf('] ') + 2));
      }
    }
    expect([...kinds].sort()).toEqual(['add', 'cordon', 'cordonForRemoval', 'enable', 'endMeetingsAndRemove', 'keep', 'remove', 'update']);
  });

  test.each([
    ['[bbb-1] Server created', '[bbb-1] Server would be created'],
    ['[bbb-1] Server enabled', '[bbb-1] Server would be enabled'],
    ['[bbb-1] Server disabled (cordoned)', '[bbb-1] Server would be disabled (cordoned)'],
    ['[bbb-1] Server updated: url=https://x.example.com/bigbluebutton/api', '[bbb-1] Server would be updated: url=https://x.example.com/bigbluebutton/api'],
    ['[bbb-1] Server updated: secret=*****', '[bbb-1] Server would be updated: secret=*****'],
    ['[bbb-1] Server not removed', '[bbb-1] Server would not be removed'],
    ['[bbb-1] Server removed', '[bbb-1] Server would be removed'],
    ['[bbb-1] Server not empty. Cordoned for removal', '[bbb-1] Server not empty. Would be cordoned for removal'],
    ['[bbb-1] Server not empty. Not removed', '[bbb-1] Server not empty. Would not be removed'],
    ['[bbb-1] Server not empty. Ending meetings now...', '[bbb-1] Server not empty. Would end its meetings:'],
    ['[bbb-1] Try to end meeting id=math [101]', '[bbb-1] Would end meeting id=math [101]'],
  ])('%s → %s', (line, expected) => {
    expect(wouldDo(line)).toBe(expected);
  });

  test('a line it does not know is left to the caller (null), not guessed at', () => {
    expect(wouldDo('[bbb-1] Server teleported')).toBeNull();
    expect(wouldDo('Server created, and more')).toBeNull();
  });
});
