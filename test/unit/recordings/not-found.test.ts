import { recordingNotFoundPage } from '../../../src/recordings/not-found';

describe('recordingNotFoundPage', () => {
  const page = recordingNotFoundPage();

  test('titled "Recording Not Found", with Scalelite\'s message', () => {
    expect(page).toMatch(/<title>Recording Not Found<\/title>/);
    expect(page).toMatch(/<h1>Recording Not Found<\/h1>/);
    expect(page).toContain('<p>The recording URL is invalid. This recording may have been either protected or deleted.</p>');
  });

  test('a complete, accessible, self-contained document', () => {
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('<meta charset="utf-8">');
    expect(page).toContain('name="viewport"');
    expect(page).toMatch(/<main>[\s\S]*<\/main>/);
    expect(page).toMatch(/<\/html>\s*$/);
    // Nothing fetched from elsewhere: it must render whatever path it is served under.
    expect(page).not.toMatch(/<(script|link|img)\b|src=|href=|url\(/i);
  });
});
