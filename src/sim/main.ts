import { parseArgs } from 'node:util';
import { describeSimulator, startSimulator } from './index';
import { ALL_CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, type SimulatorOptions } from './types';

// Runs the simulator as its own process for end-to-end tests and demos:
//   node dist/src/sim/main.js --servers 3 --port 9100 --control-port 9099
// Prints one JSON line ({controlUrl, servers:[{index,url,secret}]}) on stdout
// once every listener is up, then serves until SIGINT/SIGTERM.
// --recording-spool-dir (or SIM_RECORDING_SPOOL_DIR) makes recorded meetings
// deliver <record_id>.tar there when they end, as BBB's post_publish hook does.

const USAGE = `usage: sim [--servers N] [--port P] [--host H] [--control-port P] [--secret S ...]
           [--bbb-version V] [--algorithms sha1,sha256,...] [--empty-timeout-ms MS]
           [--no-reveal-version] [--no-end-callbacks] [--recording-spool-dir DIR]`;

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a non-negative integer`);
  return Number(value);
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): SimulatorOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      servers: { type: 'string', default: '1' },
      port: { type: 'string' },
      host: { type: 'string' },
      'control-port': { type: 'string' },
      secret: { type: 'string', multiple: true },
      'bbb-version': { type: 'string' },
      algorithms: { type: 'string' },
      'empty-timeout-ms': { type: 'string' },
      'no-reveal-version': { type: 'boolean' },
      'no-end-callbacks': { type: 'boolean' },
      'recording-spool-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const algorithms = values.algorithms?.split(',').map((a) => a.trim()) as ChecksumAlgorithm[] | undefined;
  for (const a of algorithms ?? []) if (!ALL_CHECKSUM_ALGORITHMS.includes(a)) throw new Error(`unknown checksum algorithm ${a}`);
  const port = intOption(values.port, 'port');
  const controlPort = intOption(values['control-port'], 'control-port');
  const emptyTimeout = intOption(values['empty-timeout-ms'], 'empty-timeout-ms');
  const spoolDir = values['recording-spool-dir'] ?? (env['SIM_RECORDING_SPOOL_DIR'] || undefined);
  return {
    servers: intOption(values.servers, 'servers') ?? 1,
    ...(port !== undefined ? { port } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(controlPort !== undefined ? { controlPort } : {}),
    ...(values.secret !== undefined ? { secrets: values.secret } : {}),
    ...(values['bbb-version'] !== undefined ? { bbbVersion: values['bbb-version'] } : {}),
    ...(algorithms !== undefined ? { checksumAlgorithms: algorithms } : {}),
    ...(emptyTimeout !== undefined ? { emptyMeetingTimeoutMs: emptyTimeout } : {}),
    ...(values['no-reveal-version'] ? { revealVersion: false } : {}),
    ...(values['no-end-callbacks'] ? { endCallbacks: false } : {}),
    ...(spoolDir !== undefined ? { recordingSpoolDir: spoolDir } : {}),
  };
}

async function main(): Promise<void> {
  const sim = await startSimulator(parseCli(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify(describeSimulator(sim))}\n`);
  const stop = () => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exit(1);
  });
}
