import { stat } from 'node:fs/promises';
import { deleteRecordingFiles, formatsOnDisk, locateFormats, moveRecordingFiles, placeFormat, RecordingDirs, resolveResource } from './files';
import { FormatLocation, ObjectReply, RecordingStorage, StagedFormat, StoredResource } from './storage';

/**
 * Recording files on a filesystem (Scalelite's default, often NFS):
 * RECORDING_PUBLISH_DIR and RECORDING_UNPUBLISH_DIR. Staging writes nothing:
 * placing a format is a rename under the decision lock.
 */
export class FilesystemRecordingStorage implements RecordingStorage {
  readonly kind = 'filesystem' as const;

  constructor(private readonly dirs: Pick<RecordingDirs, 'publishDir' | 'unpublishDir'>) {}

  describe(): Record<string, string> {
    return { published: this.dirs.publishDir, unpublished: this.dirs.unpublishDir };
  }

  async probe(): Promise<void> {
    // The importer creates the dirs; what is wrong with them shows on the first import.
  }

  async stageFormat(format: string, recordId: string, dir: string, published: boolean): Promise<StagedFormat> {
    return { format, recordId, dir, published, written: [] };
  }

  placeFormat(staged: StagedFormat, published: boolean): Promise<void> {
    return placeFormat(this.dirs as RecordingDirs, staged.format, staged.recordId, staged.dir, published);
  }

  async discardStaged(): Promise<void> {
    // Nothing was written: the extracted dir goes with the work dir.
  }

  moveRecording(recordId: string, formats: string[], toPublished: boolean): Promise<void> {
    return moveRecordingFiles(this.dirs as RecordingDirs, recordId, formats, toPublished);
  }

  async prepareMove(): Promise<void> {
    // A rename is quick: it all happens under the lock.
  }

  locateFormats(recordId: string, formats: string[]): Promise<FormatLocation[]> {
    return locateFormats(this.dirs as RecordingDirs, recordId, formats);
  }

  formatsStored(): Promise<string[]> {
    return formatsOnDisk(this.dirs as RecordingDirs);
  }

  deleteRecording(recordId: string, formats?: string[]): Promise<void> {
    return deleteRecordingFiles(this.dirs as RecordingDirs, recordId, formats);
  }

  async resource(format: string, recordId: string, rest: string): Promise<StoredResource | null> {
    let path = resolveResource(this.dirs.publishDir, format, recordId, rest);
    if (!path) return null;
    const info = await stat(path).catch(() => null);
    if (info?.isDirectory()) path = resolveResource(this.dirs.publishDir, format, recordId, rest ? `${rest.replace(/\/$/, '')}/index.html` : 'index.html');
    if (!path || !(await stat(path).catch(() => null))?.isFile()) return null;
    return { kind: 'file', path };
  }

  async readResource(): Promise<ObjectReply> {
    // Files are sent by the HTTP layer (sendFile, with ranges): nothing is read through here.
    return { status: 404 };
  }

  presignedUrl(): Promise<string> {
    return Promise.reject(new Error('recording files on a filesystem have no presigned URLs'));
  }
}

/** The storage a workflow was given, or the two dirs it was given (the filesystem, as before S3_RECORDING). */
export const storageOf = (deps: { storage?: RecordingStorage; dirs: Pick<RecordingDirs, 'publishDir' | 'unpublishDir'> }): RecordingStorage =>
  deps.storage ?? new FilesystemRecordingStorage(deps.dirs);
