import type { Logger } from 'pino';
import { decideDelete, decidePublish, decideUpdate, publishable, RecordingUpdate } from '../commands/recordings';
import { DomainError, isDomainError } from '../commands/errors';
import { WriteSide } from '../commands/write-side';
import { Actor } from '../events/envelope';
import { escapeXml, el } from '../infra/bbb/xml';
import { RecordingDirs } from '../recordings/files';
import { storageOf } from '../recordings/fs-storage';
import { Recording, tenantOf } from '../recordings/model';
import { RecordingQuery, RecordingReader } from '../recordings/ports';
import { RecordingStorage } from '../recordings/storage';
import { PlaybackTokens } from '../recordings/tokens';
import { Params, presentParam } from './params';
import { ApiOutcome, failed, xml } from './responses';

export interface RecordingApiSettings {
  protectedEnabled: boolean;
  getRecordingsFiltered: boolean;
  tokenTtlMs: number;
}

export interface RecordingApiDeps {
  store: RecordingReader;
  writeSide: WriteSide<RecordingReader>;
  dirs: RecordingDirs;
  /** where the files are; the dirs when not given */
  storage?: RecordingStorage;
  tokens: PlaybackTokens;
  settings: RecordingApiSettings;
  logger: Logger;
  /** recordings read per query when getRecordings has no limit (it streams) */
  pageSize?: number;
}

export interface RecordingCall {
  params: Params;
  /** undefined: every recording; null: recordings of no tenant; else that tenant's only */
  scope: string | null | undefined;
  actor: Actor;
  correlationId: string;
  /** scheme://host[:port] of the request: playback URLs are made absolute with it */
  origin: string;
}

const RECORDINGS_OPEN = '<response><returncode>SUCCESS</returncode><recordings>';
const RECORDINGS_CLOSE = '</recordings></response>';

/** BBB's page size bound for getRecordings. */
export const MAX_LIMIT = 100;

const DEFAULT_STATES = ['published', 'unpublished'];

/** Nothing found, or recordings disabled: Scalelite's one answer. */
export const recordingsNotFound = (): ApiOutcome => failed('notFound', 'We could not find recordings');
const missingRecordId = () => failed('missingParamRecordID', 'You must specify a recordID.');

/** A comma-separated list, blanks dropped. */
const list = (value: string | undefined): string[] | undefined => {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  return items.length > 0 ? items : undefined;
};

/** Names usable as XML element names: a metadatum with another key cannot be rendered as BBB does. */
const XML_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;

/**
 * The BBB recording calls over the recordings read model. Changes go through
 * the write side: files are moved first, then the event is the commit point.
 */
export class RecordingApi {
  private readonly pageSize: number;
  private readonly storage: RecordingStorage;

  constructor(private readonly deps: RecordingApiDeps) {
    this.pageSize = deps.pageSize ?? 200;
    this.storage = storageOf(deps);
  }

  /** getRecordings params to a query, or the BBB error for bad ones. */
  parseQuery(call: Pick<RecordingCall, 'params' | 'scope'>): RecordingQuery | ApiOutcome {
    const p = call.params;
    const meetingIds = list(presentParam(p, 'meetingID'));
    const recordIdPrefixes = list(presentParam(p, 'recordID'));
    if (this.deps.settings.getRecordingsFiltered && !meetingIds && !recordIdPrefixes) {
      return failed('missingParameters', 'param meetingID or recordID must be included.');
    }
    const states = list(presentParam(p, 'state'));
    const metadata: Array<{ key: string; values: string[] }> = [];
    for (const [name, value] of p) {
      if (!name.startsWith('meta_') || name.length === 5) continue;
      metadata.push({ key: name.slice(5), values: value.split(',') });
    }
    const query: RecordingQuery = {
      states: states === undefined ? DEFAULT_STATES : states.includes('any') ? null : states,
      ...(meetingIds ? { meetingIds } : {}),
      ...(recordIdPrefixes ? { recordIdPrefixes } : {}),
      ...(metadata.length > 0 ? { metadata } : {}),
      ...(call.scope !== undefined ? { tenantId: call.scope } : {}),
    };
    // Beyond Scalelite: BBB's offset/limit, so an LMS can page through a large archive.
    const offset = presentParam(p, 'offset');
    if (offset !== undefined) {
      if (!/^\d{1,9}$/.test(offset.trim())) return failed('invalidParamOffset', 'The offset must be an integer greater than or equal to 0.');
      query.offset = Number(offset.trim());
    }
    const limit = presentParam(p, 'limit');
    if (limit !== undefined) {
      const n = /^\d{1,9}$/.test(limit.trim()) ? Number(limit.trim()) : NaN;
      if (!(n >= 1 && n <= MAX_LIMIT)) return failed('invalidParamLimit', `The limit must be an integer between 1 and ${MAX_LIMIT}.`);
      query.limit = n;
    } else if (offset !== undefined) query.limit = MAX_LIMIT;
    return query;
  }

  async getRecordings(call: RecordingCall): Promise<ApiOutcome> {
    const query = this.parseQuery(call);
    if ('kind' in query) return query;
    if (query.limit !== undefined) {
      const found = await this.deps.store.query(query);
      if (found.length === 0) return xml(noRecordingsXml());
      return xml(`${RECORDINGS_OPEN}${await this.recordingsXml(found, call.origin)}${RECORDINGS_CLOSE}`);
    }
    // Unbounded, as Scalelite answers: page through the index and write as we go, so a large
    // archive never has to fit in memory (Scalelite #718 timed out and grew instead).
    const first = await this.deps.store.query({ ...query, limit: this.pageSize });
    if (first.length === 0) return xml(noRecordingsXml());
    return { kind: 'xmlStream', chunks: this.streamRecordings(query, first, call.origin) };
  }

  private async *streamRecordings(query: RecordingQuery, first: Recording[], origin: string): AsyncGenerator<string> {
    yield RECORDINGS_OPEN;
    let page = first;
    for (;;) {
      yield await this.recordingsXml(page, origin);
      if (page.length < this.pageSize) break;
      const last = page[page.length - 1];
      page = await this.deps.store.query({ ...query, limit: this.pageSize, after: { startTime: last.startTime, recordId: last.recordId } });
      if (page.length === 0) break;
    }
    yield RECORDINGS_CLOSE;
  }

  /** One after another: a protected recording's formats each issue a token. */
  private async recordingsXml(recordings: Recording[], origin: string): Promise<string> {
    const rendered: string[] = [];
    for (const r of recordings) rendered.push(await this.recordingXml(r, origin));
    return rendered.join('');
  }

  private async recordingXml(r: Recording, origin: string): Promise<string> {
    const { settings, tokens, logger } = this.deps;
    const meta = Object.entries(r.metadata)
      .filter(([key]) => {
        if (XML_NAME.test(key)) return true;
        logger.warn({ recordId: r.recordId, key }, 'metadatum not rendered: its key is not an XML name');
        return false;
      })
      .map(([key, value]) => (value.trim() === '' ? `<${key}><![CDATA[]]></${key}>` : el(key, value)))
      .join('');
    const formats: string[] = [];
    for (const f of r.formats) {
      let url = origin + f.url;
      let preview = '';
      if (r.protected) {
        const token = await tokens.issue({ recordId: r.recordId, format: f.format }, settings.tokenTtlMs);
        url = `${origin}/recording/${encodeURIComponent(r.recordId)}/${encodeURIComponent(f.format)}?token=${token}`;
      } else if (f.thumbnails.length > 0) {
        const images = f.thumbnails
          .map((t) => `<image alt="${escapeXml(t.alt ?? '')}" width="${t.width ?? ''}" height="${t.height ?? ''}">${escapeXml(origin + t.url)}</image>`)
          .join('');
        preview = `<preview><images>${images}</images></preview>`;
      }
      formats.push(
        `<format>${el('type', f.format)}${el('url', url)}${el('length', f.length)}${f.processingTime === null ? '' : el('processingTime', f.processingTime)}${preview}</format>`,
      );
    }
    return (
      `<recording>${el('recordID', r.recordId)}${el('meetingID', r.meetingId)}${el('internalMeetingID', r.recordId)}${el('name', r.name)}` +
      `${el('published', r.published)}${settings.protectedEnabled ? el('protected', r.protected) : ''}${r.state === null ? '' : el('state', r.state)}` +
      `${el('startTime', r.startTime ?? 0)}${el('endTime', r.endTime ?? 0)}${r.participants === null ? '' : el('participants', r.participants)}` +
      `<metadata>${meta}</metadata><playback>${formats.join('')}</playback></recording>`
    );
  }

  /** The listed recordings the caller may see (exact ids). */
  private async visible(store: RecordingReader, recordIds: string[], scope: string | null | undefined): Promise<Recording[]> {
    const found = await store.recordings(recordIds);
    return scope === undefined ? found : found.filter((r) => tenantOf(r) === scope);
  }

  async publishRecordings(call: RecordingCall): Promise<ApiOutcome> {
    const ids = list(presentParam(call.params, 'recordID'));
    if (!ids) return missingRecordId();
    const publishParam = presentParam(call.params, 'publish');
    if (publishParam === undefined) return failed('missingParamPublish', 'You must specify a publish value true or false.');
    const publish = publishParam.trim().toLowerCase() === 'true';
    const { writeSide, logger } = this.deps;
    // Ahead of the decision lock, which placements share: a bucket copies the objects now, so the move under the lock only checks and deletes.
    for (const r of publishable(await this.visible(this.deps.store, ids, call.scope), publish)) {
      await this.storage
        .prepareMove(
          r.recordId,
          r.formats.map((f) => f.format),
          publish,
        )
        .catch((err: unknown) => logger.warn({ err, recordId: r.recordId }, 'copying recording files ahead of a publish failed; the publish copies them'));
    }
    const outcome = await writeSide.decide(
      call.actor,
      async (store) => {
        const found = await this.visible(store, ids, call.scope);
        const decided = decidePublish({ publish }, found);
        if (isDomainError(decided)) return decided;
        const moved: Recording[] = [];
        try {
          for (const r of publishable(found, publish)) {
            await this.storage.moveRecording(
              r.recordId,
              r.formats.map((f) => f.format),
              publish,
            );
            moved.push(r);
          }
        } catch (err) {
          logger.error({ err, recordIds: ids, publish }, 'moving recording files failed');
          // Put back what was moved, so files and index keep agreeing.
          for (const r of moved) {
            await this.storage
              .moveRecording(
                r.recordId,
                r.formats.map((f) => f.format),
                !publish,
              )
              .catch(() => undefined);
          }
          return { error: 'invalidRequest', message: 'Unable to publish/unpublish recording.' } as DomainError;
        }
        return { events: decided.events, result: publish };
      },
      call.correlationId,
    );
    if (isDomainError(outcome)) return outcome.error === 'recordingsNotFound' ? recordingsNotFound() : failed('internalError', outcome.message);
    return xml(`<response><returncode>SUCCESS</returncode>${el('published', outcome.result)}</response>`);
  }

  async updateRecordings(call: RecordingCall): Promise<ApiOutcome> {
    const ids = list(presentParam(call.params, 'recordID'));
    if (!ids) return missingRecordId();
    const update: RecordingUpdate = { metadata: [] };
    for (const [name, value] of call.params) {
      if (name.startsWith('meta_') && name.length > 5) update.metadata.push([name.slice(5).toLowerCase(), value]);
    }
    const protect = presentParam(call.params, 'protect');
    if (protect !== undefined) update.protect = protect.trim().toLowerCase() === 'true';
    const outcome = await this.deps.writeSide.decide(
      call.actor,
      async (store) => decideUpdate({ recordIds: ids, update }, await this.visible(store, ids, call.scope)),
      call.correlationId,
    );
    if (isDomainError(outcome)) return failed('internalError', outcome.message);
    return xml(`<response><returncode>SUCCESS</returncode>${el('updated', outcome.result.updated)}</response>`);
  }

  async deleteRecordings(call: RecordingCall): Promise<ApiOutcome> {
    const ids = list(presentParam(call.params, 'recordID'));
    if (!ids) return missingRecordId();
    const { writeSide, logger } = this.deps;
    const outcome = await writeSide.decide(
      call.actor,
      async (store) => {
        const found = await this.visible(store, ids, call.scope);
        const decided = decideDelete({}, found);
        if (isDomainError(decided)) return decided;
        try {
          // Published and unpublished copies both go (Scalelite leaves the unpublished ones on disk).
          for (const r of found) await this.storage.deleteRecording(r.recordId);
        } catch (err) {
          logger.error({ err, recordIds: ids }, 'deleting recording files failed');
          return { error: 'invalidRequest', message: 'Unable to delete recording.' } as DomainError;
        }
        return { events: decided.events, result: true };
      },
      call.correlationId,
    );
    if (isDomainError(outcome)) return outcome.error === 'recordingsNotFound' ? recordingsNotFound() : failed('internalError', outcome.message);
    return xml('<response><returncode>SUCCESS</returncode><deleted>true</deleted></response>');
  }
}

export const noRecordingsXml = (): string =>
  `<response><returncode>SUCCESS</returncode><recordings></recordings><messageKey>noRecordings</messageKey><message>There are not recordings for the meetings</message></response>`;
