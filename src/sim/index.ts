import { ControlServer } from './control';
import { randomAlnum } from './meetings';
import { SimRecorder } from './recordings';
import { SimServer } from './server';
import { ALL_CHECKSUM_ALGORITHMS, type Simulator, type SimulatorDescription, type SimulatorOptions } from './types';

// A pool of fake BigBlueButton servers on loopback, for integration tests,
// benchmarks and demos. Self-contained on purpose: it validates the balancer's
// outgoing signing, so it must not share code with the balancer.

export type {
  AddParticipantsOptions,
  ChecksumAlgorithm,
  FailureKind,
  SimAttendeeSnapshot,
  SimMeetingSnapshot,
  SimMode,
  SimRequestRecord,
  SimulatedServer,
  Simulator,
  SimulatorDescription,
  SimulatorOptions,
} from './types';
export { ALL_CHECKSUM_ALGORITHMS } from './types';
export { computeChecksum, signQuery, verifyChecksum, stripChecksum, algorithmForChecksum } from './checksum';
export { simModeSchema } from './control';
export { generateRecording, DEFAULT_RECORDING_FORMATS, type GenerateRecordingOptions, type GeneratedRecording, type ProducedRecording } from './recordings';

export const DEFAULT_BBB_VERSION = '3.0.4';

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  if (!Number.isInteger(opts.servers) || opts.servers < 1) throw new Error('servers must be a positive integer');
  const host = opts.host ?? '127.0.0.1';
  const basePort = opts.port ?? 0;
  const algorithms = opts.checksumAlgorithms ?? [...ALL_CHECKSUM_ALGORITHMS];
  if (algorithms.length === 0) throw new Error('checksumAlgorithms must not be empty');

  const recorder = opts.recordingSpoolDir ? new SimRecorder(opts.recordingSpoolDir) : undefined;
  const servers: SimServer[] = [];
  let control: ControlServer | undefined;
  try {
    for (let index = 0; index < opts.servers; index++) {
      const server = new SimServer({
        index,
        host,
        port: basePort === 0 ? 0 : basePort + index,
        // bbb-conf generates 40-character alphanumeric secrets.
        secret: opts.secrets?.[index] ?? randomAlnum(40),
        bbbVersion: opts.bbbVersion ?? DEFAULT_BBB_VERSION,
        checksumAlgorithms: algorithms,
        revealVersion: opts.revealVersion ?? true,
        ...(opts.emptyMeetingTimeoutMs !== undefined ? { emptyMeetingTimeoutMs: opts.emptyMeetingTimeoutMs } : {}),
        endCallbacks: opts.endCallbacks ?? true,
        ...(recorder ? { recorder } : {}),
      });
      servers.push(server);
      await server.start();
    }
    control = new ControlServer(servers, recorder);
    await control.listen(opts.controlPort ?? 0);
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    await control?.close();
    throw err;
  }

  const controlServer = control;
  let closing: Promise<void> | undefined;
  const settled = () => recorder?.settled() ?? Promise.resolve();
  return {
    servers,
    controlUrl: controlServer.url,
    ...(recorder ? { recordingSpoolDir: recorder.spoolDir } : {}),
    recordingsSettled: settled,
    close: () => {
      // Recordings under way finish first, so no half-built tarball outlives the simulator.
      closing ??= Promise.all([...servers.map((s) => s.close()), controlServer.close()])
        .then(settled)
        .then(() => undefined);
      return closing;
    },
  };
}

/** What another process needs to talk to the simulator (printed by the CLI). */
export function describeSimulator(sim: Simulator): SimulatorDescription {
  return {
    controlUrl: sim.controlUrl,
    servers: sim.servers.map((s) => ({ index: s.index, url: s.url, secret: s.secret })),
  };
}
