import { decideReadyCallbackAnswered, ReadyCallbackAnswered } from '../../../src/commands/ready-callbacks';
import { LIMITS } from '../../../src/events/catalog';
import { expectValidEvents } from '../../support/decide';

const answered = (over: Partial<ReadyCallbackAnswered> = {}): ReadyCallbackAnswered => ({
  recordId: 'rec-1',
  meetingId: 'biology-7',
  url: 'https://lms.example.com/ready',
  outcome: 'delivered',
  status: 200,
  attempts: 1,
  ...over,
});

describe('decideReadyCallbackAnswered', () => {
  test('given a delivered callback: RecordingReadyNotified says so, with the status and the attempts', () => {
    const { events } = decideReadyCallbackAnswered(answered({ attempts: 3 }));
    expectValidEvents(events);
    expect(events).toEqual([
      { type: 'RecordingReadyNotified', data: { recordId: 'rec-1', meetingId: 'biology-7', url: 'https://lms.example.com/ready', outcome: 'delivered', status: 200, attempts: 3 } },
    ]);
  });

  test('given a callback never sent (a URL that is not http): recorded as failed after one attempt, as the catalogue wants one', () => {
    const { events } = decideReadyCallbackAnswered(answered({ url: 'ftp://lms', outcome: 'failed', status: null, attempts: 0 }));
    expectValidEvents(events);
    expect(events[0].data).toMatchObject({ outcome: 'failed', status: null, attempts: 1 });
  });

  test('given a URL longer than an event holds: recorded cut to the limit, so the outcome is still recorded', () => {
    const { events } = decideReadyCallbackAnswered(answered({ url: `https://lms.example.com/${'x'.repeat(LIMITS.url)}`, outcome: 'rejected', status: 404 }));
    expectValidEvents(events);
    expect((events[0].data as { url: string }).url).toHaveLength(LIMITS.url);
  });
});
