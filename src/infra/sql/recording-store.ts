import { createHash } from 'node:crypto';
import { PlaybackFormat, StoredEvent } from '../../events/catalog';
import { ProjectionGapError } from '../../projections/apply';
import { PolledCheckpoint } from '../../projections/waiters';
import { changesRecordings, evolveRecordings, Recording, RecordingsChanges, recordingsTouchedBy, tenantOf, TENANT_METADATUM } from '../../projections/recordings';
import { MeetingCallbacks, RebuildFeed, RebuildOutcome, RecordingQuery, RecordingStore } from '../../recordings/ports';
import { Sql, SqlRunner } from './sql';

const PROJECTION = 'recordings';

/** PostgreSQL's md5(text) of a UTF-8 database. */
const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/** LIKE treats % and _ as wildcards; a record id prefix is literal. */
const likePrefix = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

interface RecordingRow {
  record_id: string;
  meeting_id: string;
  name: string;
  published: boolean;
  protected: boolean;
  state: string | null;
  start_time: string | number | null;
  end_time: string | number | null;
  participants: number | null;
  publish_updated: boolean;
  ready_pending: boolean;
  imported_at: string | Date;
  updated_at: string | Date;
}

const iso = (v: string | Date): string => new Date(v).toISOString();
const numOrNull = (v: string | number | null): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * The recordings read model in PostgreSQL (or PGlite): recordings, metadata,
 * playback formats and thumbnails, plus the callback URLs of meetings. Each
 * batch is applied in one transaction together with the checkpoint, so an
 * event is applied exactly once even when projectors race. What a batch writes
 * is decided by evolveRecordings (src/projections/recordings.ts); this store
 * only loads what it names and persists the changes it returns.
 */
export class SqlRecordingStore implements RecordingStore {
  private readonly position: PolledCheckpoint;

  constructor(
    private readonly sql: Sql,
    defaultTimeoutMs = 10_000,
  ) {
    this.position = new PolledCheckpoint(() => readCheckpoint(this.sql), defaultTimeoutMs);
  }

  checkpoint(): Promise<number> {
    return this.position.current();
  }

  waitFor(offset: number, timeoutMs?: number): Promise<void> {
    return this.position.waitFor(offset, timeoutMs);
  }

  async apply(batch: StoredEvent[]): Promise<void> {
    if (batch.length === 0) return;
    const reached = await this.sql.transaction(async (tx) => {
      const checkpoint = await readCheckpoint(tx, true);
      const fresh = batch.filter((s) => s.offset > checkpoint);
      if (fresh.length === 0) return checkpoint;
      if (fresh[0].offset !== checkpoint + 1) throw new ProjectionGapError(checkpoint, fresh[0].offset);
      await applyEvents(tx, fresh);
      const last = fresh[fresh.length - 1].offset;
      await writeCheckpoint(tx, last);
      return last;
    });
    this.position.advance(reached);
  }

  async skip(stored: StoredEvent): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const checkpoint = await readCheckpoint(tx, true);
      if (stored.offset <= checkpoint) return;
      if (stored.offset !== checkpoint + 1) throw new ProjectionGapError(checkpoint, stored.offset);
      await writeCheckpoint(tx, stored.offset);
    });
    this.position.advance(stored.offset);
  }

  async clear(): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await readCheckpoint(tx, true);
      for (const table of ['thumbnails', 'playback_formats', 'recording_metadata', 'recordings', 'meeting_callbacks']) await tx.query(`delete from ${table}`);
      await tx.query('delete from projection_checkpoints where name = $1', [PROJECTION]);
    });
    this.position.reset(-1);
  }

  async rebuild(feed: RebuildFeed, checkpoint: number): Promise<RebuildOutcome> {
    const outcome = await this.sql.transaction(async (tx) => {
      // Hold the checkpoint row: a projector applying a batch now waits for the rebuilt tables.
      await readCheckpoint(tx, true);
      // What the live tables said, kept in the database (not in memory) to compare with after.
      await tx.query(`create temporary table rebuild_before on commit drop as ${DIGESTS}`);
      await tx.query('delete from thumbnails');
      await tx.query('delete from playback_formats');
      await tx.query('delete from recording_metadata');
      await tx.query('delete from recordings');
      await tx.query('delete from meeting_callbacks');
      let events = 0;
      await feed(async (batch) => {
        const recordingEvents = batch.filter(isRecordingEvent);
        for (let i = 0; i < recordingEvents.length; i += 500) await applyEvents(tx, recordingEvents.slice(i, i + 500));
        events += recordingEvents.length;
      });
      await writeCheckpoint(tx, checkpoint);
      const differing = await tx.query<{ record_id: string }>(
        `select coalesce(a.record_id, b.record_id) as record_id from (${DIGESTS}) a full join rebuild_before b on a.record_id = b.record_id
         where a.digest is distinct from b.digest order by 1 limit ${MAX_DIFFERENCES}`,
      );
      const count = await tx.query<{ n: string | number }>('select count(*) as n from recordings');
      return { events, checkpoint, recordings: Number(count.rows[0].n), differences: differing.rows.map((r) => r.record_id) };
    });
    // A rebuild may move the checkpoint backwards (an emptier log); start over.
    this.position.reset(outcome.checkpoint);
    return outcome;
  }

  async recording(recordId: string): Promise<Recording | null> {
    const [r] = await loadRecordings(this.sql, [recordId]);
    return r ?? null;
  }

  async recordings(recordIds: string[]): Promise<Recording[]> {
    if (recordIds.length === 0) return [];
    const found = await loadRecordings(this.sql, [...new Set(recordIds)]);
    return sortNewestFirst(found);
  }

  async query(q: RecordingQuery): Promise<Recording[]> {
    const { where, params } = whereClause(q);
    let paging = '';
    if (q.limit !== undefined) {
      params.push(q.limit);
      paging += ` limit $${params.length}`;
    }
    if (q.offset) {
      params.push(q.offset);
      paging += ` offset $${params.length}`;
    }
    const ids = await this.sql.query<{ record_id: string }>(
      `select r.record_id from recordings r ${where} order by r.start_time desc nulls last, r.record_id desc${paging}`,
      params,
    );
    const found = await loadRecordings(
      this.sql,
      ids.rows.map((r) => r.record_id),
    );
    const byId = new Map(found.map((r) => [r.recordId, r]));
    return ids.rows.map((r) => byId.get(r.record_id)).filter((r): r is Recording => r !== undefined);
  }

  async count(q: RecordingQuery): Promise<number> {
    const { where, params } = whereClause(q);
    const r = await this.sql.query<{ n: string | number }>(`select count(*) as n from recordings r ${where}`, params);
    return Number(r.rows[0].n);
  }

  async callbacks(meetingId: string): Promise<MeetingCallbacks | null> {
    const r = await this.sql.query<{ meeting_id: string; tenant_id: string | null; recording_ready_url: string | null; analytics_callback_url: string | null }>(
      'select meeting_id, tenant_id, recording_ready_url, analytics_callback_url from meeting_callbacks where meeting_id = $1',
      [meetingId],
    );
    const row = r.rows[0];
    return row ? { meetingId: row.meeting_id, tenantId: row.tenant_id, recordingReadyUrl: row.recording_ready_url, analyticsCallbackUrl: row.analytics_callback_url } : null;
  }

  /** Recordings imported in [since, before) whose meeting's recording-ready callback is still owed. */
  async readyCallbacksOwed(importedSince: Date, importedBefore: Date, limit = 1000): Promise<Array<{ recordId: string; meetingId: string }>> {
    // Only callbacks registered before the import: a meetingID reused later must not notify old recordings.
    const r = await this.sql.query<{ record_id: string; meeting_id: string }>(
      `select r.record_id, r.meeting_id from recordings r join meeting_callbacks c on c.meeting_id = r.meeting_id
       where r.ready_pending and c.recording_ready_url is not null and c.registered_at <= r.imported_at
         and r.imported_at >= $1 and r.imported_at < $2
       order by r.imported_at limit $3`,
      [importedSince.toISOString(), importedBefore.toISOString(), limit],
    );
    return r.rows.map((row) => ({ recordId: row.record_id, meetingId: row.meeting_id }));
  }

  async close(): Promise<void> {
    this.position.stop();
  }
}

async function readCheckpoint(q: SqlRunner, lock = false): Promise<number> {
  const r = await q.query<{ position: string | number }>(`select position from projection_checkpoints where name = $1${lock ? ' for update' : ''}`, [PROJECTION]);
  return r.rows.length > 0 ? Number(r.rows[0].position) : -1;
}

async function writeCheckpoint(q: SqlRunner, position: number): Promise<void> {
  await q.query(`insert into projection_checkpoints (name, position) values ($1, $2) on conflict (name) do update set position = excluded.position`, [PROJECTION, position]);
}

/** Whether an event changes the recordings model (a rebuild needs only these). */
export const isRecordingEvent = (e: StoredEvent): boolean => changesRecordings(e.event);

/** Fold events into the tables: the recordings the batch names are loaded together, evolved, and their changes written together. */
async function applyEvents(tx: SqlRunner, batch: StoredEvent[]): Promise<void> {
  const events = batch.map((s) => s.event);
  // One load for the whole batch (a migration or a rebuild brings thousands of recordings at once).
  const named = recordingsTouchedBy(events);
  const loaded = new Map<string, Recording | null>(named.map((id) => [id, null]));
  for (const r of await loadRecordings(tx, named)) loaded.set(r.recordId, r);
  await writeChanges(tx, evolveRecordings(loaded, events));
}

/** Persist what evolveRecordings decided, in the order RecordingsChanges prescribes. */
async function writeChanges(tx: SqlRunner, changes: RecordingsChanges): Promise<void> {
  for (const a of changes.assignments) {
    // One statement whatever the number of recordings, for the rows TenantAssignment describes (tenant_id holds tenantOf).
    await tx.query(
      `insert into recording_metadata (record_id, key, value) select record_id, $1, $2 from recordings where tenant_id is null
       on conflict (record_id, key) do update set value = excluded.value`,
      [TENANT_METADATUM, a.tenantId],
    );
    await tx.query('update recordings set tenant_id = $1, updated_at = $2 where tenant_id is null', [a.tenantId, a.at]);
  }
  await insertRows(
    tx,
    'insert into meeting_callbacks (meeting_id, tenant_id, recording_ready_url, analytics_callback_url, registered_at)',
    5,
    changes.callbacks.map((c) => [c.meetingId, c.tenantId, c.recordingReadyUrl, c.analyticsCallbackUrl, c.registeredAt]),
    ` on conflict (meeting_id) do update set tenant_id = excluded.tenant_id, recording_ready_url = excluded.recording_ready_url,
       analytics_callback_url = excluded.analytics_callback_url, registered_at = excluded.registered_at`,
  );
  await saveRecordings(tx, changes.put, changes.remove);
}

/** Rows per multi-row statement: well under PostgreSQL's 65,535 parameters whatever the row width. */
const ROWS_PER_STATEMENT = 1000;

/** Insert rows of `width` values each, a statement per ROWS_PER_STATEMENT rows. */
async function insertRows(tx: SqlRunner, head: string, width: number, rows: unknown[][], tail = ''): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    const values: unknown[] = [];
    const tuples = chunk.map((row) => {
      values.push(...row);
      const n = values.length;
      return `(${Array.from({ length: width }, (_, k) => `$${n - width + k + 1}`).join(', ')})`;
    });
    await tx.query(`${head} values ${tuples.join(', ')}${tail}`, values);
  }
}

/** Write recordings as they now are, and delete those gone; their children are replaced wholesale. */
async function saveRecordings(tx: SqlRunner, kept: Recording[], gone: string[]): Promise<void> {
  if (gone.length > 0) await tx.query('delete from recordings where record_id = any($1)', [gone]);
  if (kept.length === 0) return;
  await insertRows(
    tx,
    'insert into recordings (record_id, meeting_id, name, published, protected, state, start_time, end_time, participants, publish_updated, tenant_id, imported_at, updated_at, ready_pending)',
    14,
    kept.map((r) => [
      r.recordId,
      r.meetingId,
      r.name,
      r.published,
      r.protected,
      r.state,
      r.startTime,
      r.endTime,
      r.participants,
      r.publishUpdated,
      tenantOf(r),
      r.importedAt,
      r.updatedAt,
      r.readyPending,
    ]),
    ` on conflict (record_id) do update set meeting_id = excluded.meeting_id, name = excluded.name, published = excluded.published,
       protected = excluded.protected, state = excluded.state, start_time = excluded.start_time, end_time = excluded.end_time,
       participants = excluded.participants, publish_updated = excluded.publish_updated, tenant_id = excluded.tenant_id,
       imported_at = excluded.imported_at, updated_at = excluded.updated_at, ready_pending = excluded.ready_pending`,
  );
  // Children are small (a handful of rows each): replace them wholesale.
  const ids = kept.map((r) => r.recordId);
  await tx.query('delete from recording_metadata where record_id = any($1)', [ids]);
  await tx.query('delete from playback_formats where record_id = any($1)', [ids]);
  await insertRows(
    tx,
    'insert into recording_metadata (record_id, key, value)',
    3,
    kept.flatMap((r) => Object.entries(r.metadata).map(([k, v]) => [r.recordId, k, v])),
  );
  await insertRows(
    tx,
    'insert into playback_formats (record_id, format, url, length, processing_time)',
    5,
    kept.flatMap((r) => r.formats.map((f) => [r.recordId, f.format, f.url, f.length, f.processingTime])),
  );
  await insertRows(
    tx,
    'insert into thumbnails (record_id, format, sequence, url, width, height, alt)',
    7,
    kept.flatMap((r) => r.formats.flatMap((f) => f.thumbnails.map((t, i) => [r.recordId, f.format, i, t.url, t.width, t.height, t.alt]))),
  );
}

async function loadRecordings(q: SqlRunner, recordIds: string[]): Promise<Recording[]> {
  if (recordIds.length === 0) return [];
  const rows = await q.query<RecordingRow>(
    `select record_id, meeting_id, name, published, protected, state, start_time, end_time, participants, publish_updated, ready_pending, imported_at, updated_at
     from recordings where record_id = any($1)`,
    [recordIds],
  );
  if (rows.rows.length === 0) return [];
  const ids = rows.rows.map((r) => r.record_id);
  // One after another: a transaction's connection runs one query at a time.
  const meta = await q.query<{ record_id: string; key: string; value: string }>('select record_id, key, value from recording_metadata where record_id = any($1) order by key', [
    ids,
  ]);
  const formats = await q.query<{ record_id: string; format: string; url: string; length: number; processing_time: number | null }>(
    'select record_id, format, url, length, processing_time from playback_formats where record_id = any($1) order by format',
    [ids],
  );
  const thumbs = await q.query<{ record_id: string; format: string; url: string; width: number | null; height: number | null; alt: string | null }>(
    'select record_id, format, url, width, height, alt from thumbnails where record_id = any($1) order by sequence',
    [ids],
  );
  const metadata = new Map<string, Record<string, string>>();
  for (const m of meta.rows) {
    const entry = metadata.get(m.record_id) ?? {};
    entry[m.key] = m.value;
    metadata.set(m.record_id, entry);
  }
  const thumbnails = new Map<string, PlaybackFormat['thumbnails']>();
  for (const t of thumbs.rows) {
    const key = `${t.record_id}\u0000${t.format}`;
    const list = thumbnails.get(key) ?? [];
    list.push({ url: t.url, width: t.width, height: t.height, alt: t.alt });
    thumbnails.set(key, list);
  }
  const playback = new Map<string, PlaybackFormat[]>();
  for (const f of formats.rows) {
    const list = playback.get(f.record_id) ?? [];
    list.push({
      format: f.format,
      url: f.url,
      length: Number(f.length),
      processingTime: f.processing_time === null ? null : Number(f.processing_time),
      thumbnails: thumbnails.get(`${f.record_id}\u0000${f.format}`) ?? [],
    });
    playback.set(f.record_id, list);
  }
  return rows.rows.map((r) => ({
    recordId: r.record_id,
    meetingId: r.meeting_id,
    name: r.name,
    published: r.published,
    protected: r.protected,
    state: r.state,
    startTime: numOrNull(r.start_time),
    endTime: numOrNull(r.end_time),
    participants: r.participants,
    publishUpdated: r.publish_updated,
    metadata: metadata.get(r.record_id) ?? {},
    formats: playback.get(r.record_id) ?? [],
    importedAt: iso(r.imported_at),
    updatedAt: iso(r.updated_at),
    readyPending: r.ready_pending,
  }));
}

function sortNewestFirst(list: Recording[]): Recording[] {
  return [...list].sort((a, b) => (b.startTime ?? -1) - (a.startTime ?? -1) || (a.recordId < b.recordId ? 1 : a.recordId > b.recordId ? -1 : 0));
}

function whereClause(q: RecordingQuery): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (q.states) clauses.push(`r.state = any(${param(q.states)})`);
  if (q.meetingIds) clauses.push(`r.meeting_id = any(${param(q.meetingIds)})`);
  if (q.recordIdPrefixes) {
    clauses.push(`(${q.recordIdPrefixes.map((p) => `r.record_id like ${param(likePrefix(p))}`).join(' or ')})`);
  }
  if (q.tenantId === null) clauses.push('r.tenant_id is null');
  else if (q.tenantId !== undefined) clauses.push(`r.tenant_id = ${param(q.tenantId)}`);
  if (q.startedBefore !== undefined) {
    const before = param(q.startedBefore);
    clauses.push(`(r.start_time < ${before} or (r.start_time is null and r.imported_at < to_timestamp(${before}::bigint / 1000.0)))`);
  }
  if (q.after) {
    // The listing order is start_time desc nulls last, record_id desc: what follows the cursor.
    const id = param(q.after.recordId);
    if (q.after.startTime === null) clauses.push(`(r.start_time is null and r.record_id < ${id})`);
    else {
      const start = param(q.after.startTime);
      clauses.push(`(r.start_time < ${start} or (r.start_time = ${start} and r.record_id < ${id}) or r.start_time is null)`);
    }
  }
  if (q.metadata && q.metadata.length > 0) {
    // md5(value) finds the rows by the index (recording_metadata_key_digest); value = … keeps it exact.
    const any = q.metadata.map((m) => `(m.key = ${param(m.key)} and md5(m.value) = any(${param(m.values.map(md5))}) and m.value = any(${param(m.values)}))`).join(' or ');
    clauses.push(`exists (select 1 from recording_metadata m where m.record_id = r.record_id and (${any}))`);
  }
  return { where: clauses.length ? `where ${clauses.join(' and ')}` : '', params };
}

/** One digest per recording, to tell which rows a rebuild changed. */
/** One digest per recording over everything the index holds of it (a rebuild compares them). */
const DIGESTS = `select r.record_id, md5(concat_ws('|', r.meeting_id, r.name, r.published, r.protected, r.state, r.start_time, r.end_time, r.participants,
    r.publish_updated, r.tenant_id,
    (select string_agg(key || '=' || value, ',' order by key) from recording_metadata m where m.record_id = r.record_id),
    (select string_agg(format || ' ' || url || ' ' || length || ' ' || coalesce(processing_time, -1), ',' order by format) from playback_formats f where f.record_id = r.record_id),
    (select string_agg(format || ' ' || sequence || ' ' || url, ',' order by format, sequence) from thumbnails t where t.record_id = r.record_id))) as digest
  from recordings r`;

/** A rebuild reports at most this many differing recordings. */
const MAX_DIFFERENCES = 1_000;
