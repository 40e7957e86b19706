import { draft } from '../events/catalog';
import { RebuildReport } from '../projections/projector';
import { Decided } from './decision';

/** A projector rebuilt its store from the log by itself: the audit history says so, with what it found. */
export function decideReadModelRebuilt(report: RebuildReport): Decided {
  return {
    events: [draft('ReadModelRebuilt', { projection: report.projection.slice(0, 64), reason: report.reason, found: report.found, expected: report.expected, head: report.head })],
  };
}
