import type { recordingJson } from '../admin-recordings';

/** A recording as the admin API answers (getRecordingList, purgeRecordings). */
export type RecordingJson = ReturnType<typeof recordingJson>;
