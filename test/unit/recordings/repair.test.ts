import { Recording } from '../../../src/recordings/model';
import { planFiles } from '../../../src/recordings/repair';

const recording = (over: Partial<Recording>): Recording => ({ recordId: 'r-1', published: true, state: 'published', ...over }) as Recording;
const at = (format: string, published: boolean, unpublished: boolean) => ({ format, published, unpublished });

describe('planFiles', () => {
  test('given a published recording with its files in the published tree, then nothing to do', () => {
    expect(planFiles(recording({}), [at('presentation', true, false), at('video', true, false)])).toEqual({
      recordId: 'r-1',
      move: [],
      toPublished: true,
      missing: [],
      remove: false,
    });
  });

  test('given an unpublished recording still in the published tree (Scalelite before unpublish moved files), then its formats move to the unpublished tree', () => {
    expect(planFiles(recording({ published: false, state: 'unpublished' }), [at('presentation', true, false), at('video', false, true)])).toMatchObject({
      move: ['presentation'],
      toPublished: false,
      missing: [],
    });
  });

  test('given a copy in both trees, then the wrong copy is the one to go', () => {
    expect(planFiles(recording({}), [at('presentation', true, true)])).toMatchObject({ move: ['presentation'], toPublished: true });
  });

  test('given a format in neither tree, then it is reported missing, not moved', () => {
    expect(planFiles(recording({}), [at('presentation', true, false), at('video', false, false)])).toMatchObject({ move: [], missing: ['video'] });
  });

  test('given a deleted recording, then any dir left on disk is removed, and none is missing', () => {
    expect(planFiles(recording({ state: 'deleted' }), [at('presentation', false, false), at('video', false, true)])).toMatchObject({ remove: true, missing: [], move: [] });
    expect(planFiles(recording({ state: 'deleted' }), [at('presentation', false, false)])).toMatchObject({ remove: false });
  });
});
