import { Command, Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { AdminClient, AdminClientError } from '../src/infra/admin-client';
import { outgoingAlgorithm } from '../src/infra/bbb/checksum';
import { readSecretFile } from '../src/infra/config';

/** Where the CLI finds the balancer and the secret that signs its calls. */
export function adminTarget(urlFlag?: string): { url: string; secret: string | undefined } {
  const env = process.env;
  const port = env.PORT && env.PORT.trim() !== '' ? env.PORT.trim() : '3000';
  // A balancer bound to a Unix socket (BIND=unix:///path) is reached through it.
  const socket = env.BIND?.trim().startsWith('unix:///') ? env.BIND.trim() : undefined;
  const url = urlFlag ?? (env.SCALELITE_URL?.trim() || socket || `http://127.0.0.1:${port}`);
  const secret =
    env.LOADBALANCER_SECRET?.trim() ||
    (env.LOADBALANCER_SECRETS ?? '')
      .split(':')
      .map((s) => s.trim())
      .find(Boolean) ||
    readSecretFile(resolve(env.DATA_DIR?.trim() || './data'));
  return { url, secret };
}

/** A command that talks to a running balancer through its admin API. */
export abstract class AdminCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    balancer: Flags.string({ description: 'balancer URL (default: $SCALELITE_URL or http://127.0.0.1:$PORT)', helpGroup: 'GLOBAL' }),
  };

  protected client(urlFlag?: string): AdminClient {
    const { url, secret } = adminTarget(urlFlag);
    if (!secret) {
      this.error("No secret to sign with: set LOADBALANCER_SECRET to the balancer's secret (or run where DATA_DIR holds the generated one).", { exit: 2 });
    }
    return new AdminClient({ baseUrl: url, secret, algorithm: outgoingAlgorithm(process.env.LOADBALANCER_CHECKSUM_ALGORITHM) });
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (err instanceof AdminClientError) {
      // A clear message and a non-zero exit; no stack trace for an admin to wade through.
      return super.catch(Object.assign(new Error(err.message), { exitCode: 1, oclif: { exit: 1 } }));
    }
    return super.catch(err);
  }
}

/** Parse a yes/no argument of a rake task (Scalelite took any non-empty string as yes; we read it). */
export function yesNo(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  if (['true', 'yes', 'y', '1', 'keep_state', 'skip_end_calls'].includes(v)) return true;
  if (['false', 'no', 'n', '0'].includes(v)) return false;
  return undefined;
}

/**
 * A load multiplier as the rake tasks read it: unreadable or 0 becomes 1 with a
 * warning (Scalelite's behaviour); negative is refused.
 */
export function readLoadMultiplier(command: Command, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value === 0) {
    command.warn('Load-multiplier was not readable or 0, so it is now 1');
    return 1;
  }
  if (value < 0) command.error('Load-multiplier must be a positive number', { exit: 1 });
  return value;
}
