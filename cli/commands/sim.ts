import { Command, Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { describeSimulator, startSimulator } from '../../src/sim';

export default class Sim extends Command {
  static override summary = 'Run N simulated BBB servers on loopback (for demos, tests and benchmarks).';
  static override examples = ['<%= config.bin %> sim --servers 3 --port 9100'];
  static override enableJsonFlag = true;
  static override flags = {
    servers: Flags.integer({ char: 'n', description: 'how many BBB servers', default: 3, min: 1, max: 500 }),
    port: Flags.integer({ char: 'p', description: 'first port (servers listen on P, P+1, ...); 0 picks free ports', default: 0, min: 0, max: 65535 }),
    host: Flags.string({ description: 'address to listen on', default: '127.0.0.1' }),
    'control-port': Flags.integer({ description: 'port of the JSON control API (0 picks one)', default: 0, min: 0, max: 65535 }),
    secret: Flags.string({ description: 'secret of each server, in order (repeatable)', multiple: true }),
    'bbb-version': Flags.string({ description: 'the BBB version the servers report', default: '3.0.4' }),
    'recording-spool-dir': Flags.string({
      description: "write a realistic recording tarball here when a record=true meeting ends (the balancer's RECORDING_SPOOL_DIR)",
    }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Sim);
    const sim = await startSimulator({
      servers: flags.servers,
      port: flags.port,
      host: flags.host,
      controlPort: flags['control-port'],
      bbbVersion: flags['bbb-version'],
      ...(flags.secret ? { secrets: flags.secret } : {}),
      ...(flags['recording-spool-dir'] ? { recordingSpoolDir: resolve(flags['recording-spool-dir']) } : {}),
    });
    const description = describeSimulator(sim);
    if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(description)}\n`);
    else {
      this.log(`${flags.servers} simulated BBB servers are up (control API: ${description.controlUrl}).`);
      this.log('Add them to the balancer with:');
      for (const s of description.servers) this.log(`  scalelite servers:add ${s.url} ${s.secret}`);
      this.log('Ctrl-C stops them.');
    }
    await new Promise<void>((resolve) => {
      const stop = () => void sim.close().then(resolve, resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return undefined;
  }
}
