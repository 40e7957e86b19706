/*
 * The recordings read model moved to src/projections/recordings.ts, beside the pool's
 * evolve: every read model's rules live in the projections room. Its readers (the API,
 * the decisions, the importer) import it from here until they are pointed there.
 */
export type { Recording } from '../projections/recordings';
export { evolveRecording, RECORDING_STATES, recordIdOf, tenantOf, TENANT_METADATUM } from '../projections/recordings';
