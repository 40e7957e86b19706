import { isDomainError } from '../commands/errors';
import { WriteSide } from '../commands/write-side';
import { Actor } from '../events/envelope';
import { RecordingDirs } from './files';
import { storageOf } from './fs-storage';
import { Recording } from './model';
import { RecordingReader } from './ports';
import { FormatLocation, RecordingStorage } from './storage';

/*
 * recordings:update (Scalelite's one-off mover, made a general repair): put
 * each recording's files where its published state says, remove what a
 * deleted recording left on disk or in the bucket, and report recordings whose
 * files are gone.
 * The index (the log) is the truth; nothing here changes state, so no event
 * is written: the files follow the events, as after a publish.
 */

/** What to do with one recording's files. */
export interface FilePlan {
  recordId: string;
  /** formats in the wrong tree (alone, or also in the right one): move or drop the wrong copy */
  move: string[];
  toPublished: boolean;
  /** formats the index lists with no dir in either tree */
  missing: string[];
  /** a deleted recording with dirs left on disk */
  remove: boolean;
}

export function planFiles(recording: Recording, located: FormatLocation[]): FilePlan {
  const plan: FilePlan = { recordId: recording.recordId, move: [], toPublished: recording.published, missing: [], remove: false };
  if (recording.state === 'deleted') {
    plan.remove = located.some((l) => l.published || l.unpublished);
    return plan;
  }
  for (const l of located) {
    const [right, wrong] = recording.published ? [l.published, l.unpublished] : [l.unpublished, l.published];
    if (wrong) plan.move.push(l.format);
    else if (!right) plan.missing.push(l.format);
  }
  return plan;
}

export interface RepairProgress {
  checked: number;
  total: number;
}

export interface RepairOutcome {
  checked: number;
  moved: number;
  removed: number;
  missing: number;
  /** the first LISTED_MAX of each */
  movedIds: string[];
  removedIds: string[];
  missingFormats: Array<{ recordId: string; formats: string[] }>;
}

export interface RepairDeps {
  store: RecordingReader;
  writeSide: WriteSide<RecordingReader>;
  dirs: RecordingDirs;
  /** where the files are; the dirs when not given */
  storage?: RecordingStorage;
}

const PAGE = 500;
const LISTED_MAX = 1_000;

export async function repairRecordingFiles(deps: RepairDeps, actor: Actor, onProgress: (p: RepairProgress) => void = () => undefined): Promise<RepairOutcome> {
  const out: RepairOutcome = { checked: 0, moved: 0, removed: 0, missing: 0, movedIds: [], removedIds: [], missingFormats: [] };
  const total = await deps.store.count({ states: null });
  const storage = storageOf(deps);
  const anyFormat = await storage.formatsStored();
  const list = <T>(into: T[], item: T) => {
    if (into.length < LISTED_MAX) into.push(item);
  };
  // Newest first: what is imported meanwhile lands before the page being read, so nothing is skipped.
  for (let offset = 0; ; offset += PAGE) {
    // Under the decision lock, page by page: a publish through the API never moves files under our feet.
    const page = await deps.writeSide.decide(actor, async (store) => {
      const recordings = await store.query({ states: null, offset, limit: PAGE });
      const plans: FilePlan[] = [];
      for (const r of recordings) {
        const formats = r.state === 'deleted' ? anyFormat : r.formats.map((f) => f.format);
        const plan = planFiles(r, await storage.locateFormats(r.recordId, formats));
        if (plan.move.length > 0) await storage.moveRecording(r.recordId, plan.move, plan.toPublished);
        if (plan.remove) await storage.deleteRecording(r.recordId);
        plans.push(plan);
      }
      return { events: [], result: plans };
    });
    if (isDomainError(page)) throw new Error(page.message);
    for (const plan of page.result) {
      if (plan.move.length > 0) {
        out.moved += 1;
        list(out.movedIds, plan.recordId);
      }
      if (plan.remove) {
        out.removed += 1;
        list(out.removedIds, plan.recordId);
      }
      if (plan.missing.length > 0) {
        out.missing += 1;
        list(out.missingFormats, { recordId: plan.recordId, formats: plan.missing });
      }
    }
    out.checked += page.result.length;
    onProgress({ checked: out.checked, total: Math.max(total, out.checked) });
    if (page.result.length < PAGE) return out;
  }
}
