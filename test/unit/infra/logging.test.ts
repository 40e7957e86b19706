import { Writable } from 'node:stream';
import { createLogger } from '../../../src/infra/logging';

/** A logger writing JSON lines into an array, as a log shipper would read them. */
function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger({ level: 'info', format: 'json', destination }), lines };
}

describe('log lines', () => {
  test("a failed SQL statement's parameters are not logged; its message, code and query are", () => {
    const { logger, lines } = capturedLogger();
    const failed = Object.assign(new Error('could not open file "base/5/16526"'), {
      code: '58P01',
      query: 'insert into pool_snapshots (position, state) values ($1, $2)',
      params: [7, '{"servers":{"s1":{"secret":"bbb-server-secret","moderatorPassword":"mod-pw"}}}'],
    });
    logger.warn({ err: failed }, 'could not save a read-model snapshot');
    const line = JSON.parse(lines.join(''));
    expect(line.err).toMatchObject({
      message: 'could not open file "base/5/16526"',
      code: '58P01',
      query: 'insert into pool_snapshots (position, state) values ($1, $2)',
      params: '[not logged]',
    });
    expect(lines.join('')).not.toContain('bbb-server-secret');
    expect(lines.join('')).not.toContain('mod-pw');
  });

  test('an error without parameters is logged as pino logs it, stack included; secrets in fields stay redacted', () => {
    const { logger, lines } = capturedLogger();
    logger.error({ err: new Error('boom'), server: { secret: 'bbb-server-secret' } }, 'failed');
    const line = JSON.parse(lines.join(''));
    expect(line.err).toMatchObject({ type: 'Error', message: 'boom' });
    expect(line.err.stack).toContain('logging.test');
    expect(line.server.secret).toBe('[redacted]');
  });
});
