import { renderMetrics } from '../../../src/api/metrics';
import { e, poolAfter } from '../../support/events';

describe('renderMetrics', () => {
  const state = poolAfter([
    e.serverAdded('bbb-1', { url: 'https://bbb1.example.com/bigbluebutton/api/' }),
    e.serverEnabled('bbb-1'),
    e.wentOnline('bbb-1'),
    e.serverPolled('bbb-1', 42, { meetings: 2, users: 30, largestMeeting: 20, videos: 3 }),
    e.serverAdded('bbb-2', { url: 'https://bbb2.example.com/bigbluebutton/api/', loadMultiplier: 2 }),
    e.meetingPlaced('m-1', 'bbb-1'),
  ]);
  const text = renderMetrics({
    servers: Object.values(state.servers),
    meetings: Object.values(state.meetings),
    logHead: 10,
    poolCheckpoint: 10,
    recordingsCheckpoint: 7,
    historyCheckpoint: 9,
    parkedEvents: 2,
    readModelRebuilds: 1,
    importer: null,
  });

  test('given a pool, then each server has its gauges, labelled by id, host and state', () => {
    expect(text).toContain('# TYPE scalelite_server_online gauge');
    expect(text).toContain('scalelite_server_online{server_id="bbb-1",host="bbb1.example.com",state="enabled"} 1');
    expect(text).toContain('scalelite_server_online{server_id="bbb-2",host="bbb2.example.com",state="disabled"} 0');
    expect(text).toMatch(/scalelite_server_users\{server_id="bbb-1",[^}]*\} 30\n/);
    expect(text).toContain('scalelite_server_load_multiplier{server_id="bbb-2",host="bbb2.example.com",state="disabled"} 2');
    expect(text).toContain('scalelite_meeting_routes{server_id="bbb-1"} 1');
  });

  test('a server with no known load has no load sample; the read models say how far behind they are', () => {
    expect(text).not.toMatch(/scalelite_server_load\{server_id="bbb-2"/);
    expect(text).toContain('scalelite_read_model_lag_events{model="pool"} 0');
    expect(text).toContain('scalelite_read_model_lag_events{model="recordings"} 3');
    expect(text).toContain('scalelite_read_model_lag_events{model="history"} 1');
    expect(text).not.toContain('secret');
  });

  test('parked events and read models rebuilt by themselves are counted', () => {
    expect(text).toContain('scalelite_parked_events 2');
    expect(text).toContain('# TYPE scalelite_read_model_rebuilds_total counter');
    expect(text).toContain('scalelite_read_model_rebuilds_total 1');
  });

  test('label values are escaped', () => {
    const odd = poolAfter([e.serverAdded('a"b\\c')]);
    expect(renderMetrics({ servers: Object.values(odd.servers), meetings: [], logHead: 0, poolCheckpoint: 0, recordingsCheckpoint: 0, historyCheckpoint: 0, parkedEvents: 0, readModelRebuilds: 0, importer: null })).toContain(
      'server_id="a\\"b\\\\c"',
    );
  });
});
