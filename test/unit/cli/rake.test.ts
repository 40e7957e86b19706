import { rakeArgs } from '../../../cli/rake';

describe("rakeArgs: Scalelite's rake bracket form", () => {
  test.each<[string[], string[]]>([
    [['servers:add[https://bbb1.example.com/bigbluebutton/api,s3cr3t]'], ['servers:add', 'https://bbb1.example.com/bigbluebutton/api', 's3cr3t']],
    [['servers:add[https://bbb1.example.com/bigbluebutton/api,s3cr3t,2.5,gpu]'], ['servers:add', 'https://bbb1.example.com/bigbluebutton/api', 's3cr3t', '2.5', 'gpu']],
    [['servers:update[id-1,,3,]'], ['servers:update', 'id-1', '', '3', '']],
    [['servers:panic[id-1,true]'], ['servers:panic', 'id-1', 'true']],
    [['servers:enable[id-1]'], ['servers:enable', 'id-1']],
    [['poll[30]'], ['poll', '30']],
    [['servers:add[]'], ['servers:add']],
  ])('%j -> %j', (argv, expected) => {
    expect(rakeArgs(argv)).toEqual(expected);
  });

  test("list tasks split their single argument on ':'", () => {
    expect(rakeArgs(['meetings:end[m1:m2:m3]'])).toEqual(['meetings:end', 'm1', 'm2', 'm3']);
    expect(rakeArgs(['meetings[m1:m2]'])).toEqual(['meetings', 'm1', 'm2']);
    expect(rakeArgs(['meetings:list[m1]'])).toEqual(['meetings:list', 'm1']);
    expect(rakeArgs(['servers:meeting_list[s1:s2]'])).toEqual(['servers:meeting_list', 's1', 's2']);
    expect(rakeArgs(['meetings:end[m1::m2:]'])).toEqual(['meetings:end', 'm1', 'm2']);
  });

  test("other tasks keep ':' inside an argument (URLs)", () => {
    expect(rakeArgs(['servers:tag[id-1,a:b]'])).toEqual(['servers:tag', 'id-1', 'a:b']);
    expect(rakeArgs(['servers:remove[https://x:8443/y]'])).toEqual(['servers:remove', 'https://x:8443/y']);
  });

  test('a list task with several arguments is not split further', () => {
    expect(rakeArgs(['meetings:end[m1:m2,m3]'])).toEqual(['meetings:end', 'm1:m2', 'm3']);
  });

  test('arguments after the bracketed task are kept', () => {
    expect(rakeArgs(['servers:add[https://x/api,s]', '--json'])).toEqual(['servers:add', 'https://x/api', 's', '--json']);
  });

  // Rake's own parser (Rake::Application#parse_task_string) drops the whitespace around each
  // comma and reads a backslash-escaped comma as part of an argument; admins' scripts written for Scalelite rely on rake's reading.
  test.each<[string, string[], string[]]>([
    ['whitespace around commas is dropped', ['servers:add[https://x/api, s3cr3t , 2]'], ['servers:add', 'https://x/api', 's3cr3t', '2']],
    ['a backslash-escaped comma stays in its argument', ['servers:tag[id-1,a\\,b]'], ['servers:tag', 'id-1', 'a,b']],
  ])('as rake reads it: %s', (_why, argv, expected) => {
    expect(rakeArgs(argv)).toEqual(expected);
  });

  test('anything else is left alone', () => {
    for (const argv of [[], ['servers'], ['servers:add', 'https://x', 's'], ['--help'], ['[x]'], ['servers:add[x'], ['1task[x]']]) {
      expect(rakeArgs(argv)).toEqual(argv);
    }
  });
});
