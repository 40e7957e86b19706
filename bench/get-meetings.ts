import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { apiBase } from '../src/infra/bbb/client';
import { signedQuery } from '../src/infra/bbb/checksum';
import { addServers, BIN, fmt, freePort, load, LoadResult, ROOT, spawnFirstLine, stop, waitHealthy } from './support';

/*
 * bench:getmeetings: getMeetings over a pool of simulated servers (100 by
 * default, 10 meetings of 15 users each), against a minimal aggregator that
 * copies each server's <meetings> content (bench/aggregator-server.ts), and
 * joins while getMeetings is hammered, against joins alone. All in one run.
 * Env: BENCH_SERVERS (100), BENCH_MEETINGS (10 per server), BENCH_USERS (15 per meeting), BENCH_DURATION (s, 10),
 * BENCH_JOIN_CONNECTIONS (2: an LMS's joins, for their latency; bench:join measures throughput),
 * BENCH_PROFILE (a directory: the balancer writes a CPU profile there).
 */

const SECRET = 'bench-secret';

interface SimInfo {
  controlUrl: string;
  servers: Array<{ index: number; url: string; secret: string }>;
}

async function seedMeetings(sim: SimInfo, perServer: number, users: number): Promise<void> {
  await Promise.all(
    sim.servers.map(async (s) => {
      for (let m = 0; m < perServer; m += 1) {
        const meetingID = `room-${s.index}-${m}`;
        const query = signedQuery(
          'sha256',
          'create',
          [
            ['meetingID', meetingID],
            ['name', `Lecture ${m} & seminar`],
            ['meta_bbb-origin', 'Moodle'],
          ],
          s.secret,
        );
        await (await request(`${apiBase(s.url)}create?${query}`)).body.text();
        const added = await request(`${sim.controlUrl}/servers/${s.index}/meetings/${encodeURIComponent(meetingID)}/participants`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ count: users, moderators: Math.min(2, users), withVideo: Math.min(3, users) }),
        });
        await added.body.text();
      }
    }),
  );
}

/** CPU time (user + system) a process has used so far, in ms, from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
}

/**
 * How long a process has waited for a core so far, in ms (/proc/<pid>/schedstat's run delay):
 * on a machine whose cores are all busy, a join can wait for the balancer to be scheduled at all.
 */
function runQueueMs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
}

/** The balancer's own event-loop delay since the previous scrape (prom-client's default metrics). */
async function eventLoopDelay(url: string): Promise<{ p99: number; max: number }> {
  const text = await (await request(`${url}/metrics`)).body.text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { p99: value('nodejs_eventloop_lag_p99_seconds'), max: value('nodejs_eventloop_lag_max_seconds') };
}

async function main(): Promise<void> {
  const serverCount = Number(process.env.BENCH_SERVERS ?? 100);
  const perServer = Number(process.env.BENCH_MEETINGS ?? 10);
  const users = Number(process.env.BENCH_USERS ?? 15);
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const joinConnections = Number(process.env.BENCH_JOIN_CONNECTIONS ?? 2);
  const children: ChildProcess[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'scalelite-bench-'));
  try {
    const simStarted = await spawnFirstLine('node', [BIN, 'sim', '--servers', String(serverCount), '--json']);
    children.push(simStarted.child);
    const sim = JSON.parse(simStarted.line) as SimInfo;
    await seedMeetings(sim, perServer, users);

    const port = await freePort();
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const balancer = spawn('node', [...profile, BIN, 'start'], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), BIND: '127.0.0.1', LOADBALANCER_SECRET: SECRET, POLL_INTERVAL: '3600', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(balancer);
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url);
    await addServers(url, SECRET, sim.servers);
    await (
      await request(
        `${url}/bigbluebutton/api/create?${signedQuery(
          'sha256',
          'create',
          [
            ['meetingID', 'bench-join'],
            ['name', 'Join target'],
          ],
          SECRET,
        )}`,
      )
    ).body.text();
    const getMeetingsUrl = `${url}/bigbluebutton/api/getMeetings?${signedQuery('sha256', 'getMeetings', [], SECRET)}`;
    const joinUrl = `${url}/bigbluebutton/api/join?${signedQuery(
      'sha256',
      'join',
      [
        ['meetingID', 'bench-join'],
        ['fullName', 'Load Tester'],
        ['role', 'VIEWER'],
      ],
      SECRET,
    )}`;
    const answer = await (await request(getMeetingsUrl)).body.text();
    const found = answer.split('<meeting>').length - 1;
    if (found !== serverCount * perServer + 1) throw new Error(`getMeetings listed ${found} meetings, expected ${serverCount * perServer + 1}`);

    const basePort = await freePort();
    const baseline = await spawnFirstLine('node', [join(ROOT, 'dist', 'bench', 'aggregator-server.js'), String(basePort), JSON.stringify(sim.servers)]);
    children.push(baseline.child);
    const baseUrl = `http://127.0.0.1:${basePort}/`;

    const warm = Math.min(3, duration);
    await load(getMeetingsUrl, warm, 4);
    let cpu = cpuMs(balancer.pid!);
    const balancerGm = await load(getMeetingsUrl, duration, 4);
    const balancerCpu = (cpuMs(balancer.pid!) - cpu) / balancerGm.total;
    await load(baseUrl, warm, 4);
    cpu = cpuMs(baseline.child.pid!);
    const baseGm = await load(baseUrl, duration, 4);
    const baseCpu = (cpuMs(baseline.child.pid!) - cpu) / baseGm.total;
    await stop(children.pop());
    await load(joinUrl, warm, joinConnections);
    const joinsAlone = await load(joinUrl, duration, joinConnections);
    // prom-client's event-loop figures cover the time since the last scrape: read once to start afresh.
    await eventLoopDelay(url);
    const waited = runQueueMs(balancer.pid!);
    const [joinsDuring, gmDuring] = await Promise.all([load(joinUrl, duration, joinConnections), load(getMeetingsUrl, duration, 4)]);
    const waitedPerSecond = (runQueueMs(balancer.pid!) - waited) / duration;
    const loopDelay = await eventLoopDelay(url);

    const row = (name: string, r: LoadResult) =>
      `${name.padEnd(44)} ${fmt(r.rps, 1).padStart(9)} req/s   p50 ${fmt(r.p50, 1).padStart(7)} ms   p99 ${fmt(r.p99, 1).padStart(7)} ms   errors ${r.non2xx3xx}`;
    console.log(`bench:getmeetings  ${serverCount} servers x ${perServer} meetings (${users} users each), ${duration}s per measurement, reply ${fmt(answer.length / 1024)} kB`);
    console.log(row('getMeetings, balancer (4 connections)', balancerGm));
    console.log(row('getMeetings, minimal aggregator (baseline)', baseGm));
    console.log(`CPU per getMeetings: balancer ${fmt(balancerCpu, 1)} ms, minimal aggregator ${fmt(baseCpu, 1)} ms`);
    console.log(row(`join alone (${joinConnections} connections)`, joinsAlone));
    console.log(row('join while getMeetings is hammered', joinsDuring));
    console.log(row('getMeetings meanwhile (4 connections)', gmDuring));
    console.log(`balancer event loop delay meanwhile: p99 ${fmt(loopDelay.p99 * 1000, 1)} ms, max ${fmt(loopDelay.max * 1000, 1)} ms`);
    console.log(
      `balancer runnable but waiting for a core meanwhile: ${fmt(waitedPerSecond, 0)} ms per second (the cores are shared with the simulated servers and the load generator)`,
    );
    console.log(`ratio CPU per getMeetings balancer / aggregator: ${fmt(balancerCpu / Math.max(baseCpu, 0.001), 2)}x`);
    console.log(
      `ratio getMeetings balancer / aggregator: p50 ${fmt(balancerGm.p50 / Math.max(baseGm.p50, 0.001), 2)}x, p99 ${fmt(balancerGm.p99 / Math.max(baseGm.p99, 0.001), 2)}x, throughput ${fmt(balancerGm.rps / baseGm.rps, 2)}x`,
    );
    console.log(
      `ratio join during getMeetings / join alone: p99 ${fmt(joinsDuring.p99 / Math.max(joinsAlone.p99, 0.001), 2)}x, throughput ${fmt(joinsDuring.rps / joinsAlone.rps, 2)}x`,
    );
    if ([balancerGm, baseGm, joinsAlone, joinsDuring, gmDuring].some((r) => r.non2xx3xx > 0)) process.exitCode = 1;
  } finally {
    for (const c of children.reverse()) await stop(c);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
