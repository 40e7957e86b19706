import { FilesystemRecordingStorage } from '../../recordings/fs-storage';
import { RecordingStorage } from '../../recordings/storage';
import type { StorageSettings } from './config';
import { s3Client, S3RecordingStorage } from './s3-storage';

/** The recording storage the configuration names, and how to let go of it. */
export function openRecordingStorage(settings: StorageSettings, dirs: { publishDir: string; unpublishDir: string }): { storage: RecordingStorage; close: () => void } {
  if (settings.kind === 'filesystem') return { storage: new FilesystemRecordingStorage(dirs), close: () => undefined };
  const client = s3Client(settings.s3);
  return { storage: new S3RecordingStorage(client, settings.s3), close: () => client.destroy() };
}
