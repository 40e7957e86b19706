import { draft, EventDraft, LIMITS } from '../events/catalog';
import { Meeting, Server } from '../projections/pool';
import { Decision } from './decision';
import { DomainError, domainError } from './errors';

/*
 * Administrative decisions about the server pool: pure functions of a command
 * and the current view, returning the events that record it or a domain error.
 */

export type ServerStateChange = 'enable' | 'cordon' | 'disable';

export type ServerCommand =
  | { type: 'AddServer'; serverId: string; url: string; secret: string; loadMultiplier?: number; tag?: string | null }
  | {
      type: 'UpdateServer';
      serverId: string;
      url?: string;
      secret?: string;
      loadMultiplier?: number;
      /** null or '' removes the tag */
      tag?: string | null;
      state?: ServerStateChange;
    }
  | { type: 'RemoveServer'; serverId: string }
  | { type: 'PanicServer'; serverId: string; keepState: boolean; endCalls: boolean }
  | { type: 'DisableServer'; serverId: string; endMeetings: boolean };

export interface ServerView {
  /** the server the command names, if it exists */
  server: Server | null;
  /** meetings routed to it (used by panic and disable) */
  meetingsOnServer: Meeting[];
}

const notFound = (id: string) => domainError('serverNotFound', `Couldn't find server with id=${id}`);

export function normaliseTag(tag: string | null | undefined): string | null | undefined {
  if (tag === undefined) return undefined;
  if (tag === null) return null;
  const trimmed = tag.trim();
  return trimmed === '' ? null : trimmed;
}

function validUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** A value the log would refuse, as an error the admin can read. */
function tooLong(fields: { url?: string; secret?: string; tag?: string | null }): DomainError | null {
  if (fields.url !== undefined && fields.url.length > LIMITS.url) return domainError('invalidServer', `Server URL is too long (at most ${LIMITS.url} characters)`);
  if (fields.secret !== undefined && fields.secret.length > LIMITS.secret) return domainError('invalidServer', `Server secret is too long (at most ${LIMITS.secret} characters)`);
  if (fields.tag && fields.tag.length > LIMITS.tag) return domainError('invalidServer', `Server tag is too long (at most ${LIMITS.tag} characters)`);
  return null;
}

function stateEvents(server: Server, change: ServerStateChange): EventDraft[] {
  const serverId = server.id;
  switch (change) {
    case 'enable':
      return server.state === 'enabled' ? [] : [draft('ServerEnabled', { serverId })];
    case 'cordon':
      return server.state === 'cordoned' ? [] : [draft('ServerCordoned', { serverId })];
    case 'disable':
      return server.state === 'disabled' ? [] : [draft('ServerDisabled', { serverId, reason: 'admin' })];
  }
}

function endAll(meetings: Meeting[], reason: 'panic' | 'admin'): EventDraft[] {
  return meetings.map((m) => draft('MeetingEnded', { meetingId: m.meetingId, serverId: m.serverId, reason }));
}

export function decideServer(command: ServerCommand, view: ServerView): Decision {
  switch (command.type) {
    case 'AddServer': {
      if (!command.url || !command.secret) return domainError('invalidServer', 'Server needs a URL and a secret');
      if (!validUrl(command.url)) return domainError('invalidServer', 'Server URL must start with http:// or https://');
      const oversized = tooLong({ url: command.url, secret: command.secret, tag: normaliseTag(command.tag) });
      if (oversized) return oversized;
      if (view.server) return domainError('serverExists', `Server already exists with id '${command.serverId}'`);
      const loadMultiplier = command.loadMultiplier ?? 1;
      if (!Number.isFinite(loadMultiplier) || loadMultiplier <= 0) {
        return domainError('invalidLoadMultiplier', 'Load-multiplier must be a positive number');
      }
      return {
        events: [
          draft('ServerAdded', {
            serverId: command.serverId,
            url: command.url,
            secret: command.secret,
            loadMultiplier,
            tag: normaliseTag(command.tag) ?? null,
          }),
        ],
      };
    }
    case 'UpdateServer': {
      const server = view.server;
      if (!server) return notFound(command.serverId);
      if (command.loadMultiplier !== undefined && (!Number.isFinite(command.loadMultiplier) || command.loadMultiplier <= 0)) {
        return domainError('invalidLoadMultiplier', 'Load-multiplier must be a non-zero number');
      }
      if (command.url !== undefined && !validUrl(command.url)) {
        return domainError('invalidServer', 'Server URL must start with http:// or https://');
      }
      if (command.secret !== undefined && command.secret === '') return domainError('invalidServer', 'Server secret must not be empty');
      const oversized = tooLong({ url: command.url, secret: command.secret, tag: normaliseTag(command.tag) });
      if (oversized) return oversized;
      const tag = normaliseTag(command.tag);
      const changes = {
        ...(command.url !== undefined && command.url !== server.url ? { url: command.url } : {}),
        ...(command.secret !== undefined && command.secret !== server.secret ? { secret: command.secret } : {}),
        ...(command.loadMultiplier !== undefined && command.loadMultiplier !== server.loadMultiplier ? { loadMultiplier: command.loadMultiplier } : {}),
        ...(tag !== undefined && tag !== server.tag ? { tag } : {}),
      };
      const events: EventDraft[] = Object.keys(changes).length > 0 ? [draft('ServerUpdated', { serverId: server.id, ...changes })] : [];
      if (command.state) events.push(...stateEvents(server, command.state));
      return { events };
    }
    case 'RemoveServer': {
      if (!view.server) return notFound(command.serverId);
      return { events: [draft('ServerRemoved', { serverId: command.serverId })] };
    }
    case 'PanicServer': {
      const server = view.server;
      if (!server) return notFound(command.serverId);
      return {
        events: [
          ...endAll(view.meetingsOnServer, 'panic'),
          draft('ServerPanicked', {
            serverId: server.id,
            keepState: command.keepState,
            endCalls: command.endCalls,
            meetingsCleared: view.meetingsOnServer.length,
          }),
          ...(command.keepState || server.state === 'disabled' ? [] : [draft('ServerDisabled', { serverId: server.id, reason: 'panic' })]),
        ],
      };
    }
    case 'DisableServer': {
      const server = view.server;
      if (!server) return notFound(command.serverId);
      return {
        events: [...(command.endMeetings ? endAll(view.meetingsOnServer, 'admin') : []), ...stateEvents(server, 'disable')],
      };
    }
  }
}
