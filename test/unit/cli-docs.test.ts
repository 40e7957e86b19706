import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCliDocs } from '../../scripts/cli-docs';

/*
 * docs/cli.md's command reference is generated from the command classes (scripts/cli-docs.js,
 * through the oclif manifest the build writes). It is regenerated here, in memory, after the build
 * that `npm test` runs first, so a command whose summary, flags or examples changed without the
 * page fails here instead of going stale.
 */

const root = join(__dirname, '..', '..');
const page = join(root, 'docs', 'cli.md');
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, { hidden?: boolean }> };

describe('docs/cli.md', () => {
  test('given the built command classes, then the page is what `npm run docs:cli` writes', async () => {
    const current = readFileSync(page, 'utf8');
    const fresh = await renderCliDocs(current);
    if (fresh !== current) throw new Error('docs/cli.md is stale (a command changed since it was generated): run npm run docs:cli');
  });

  test('given the manifest, then every visible command has its section', async () => {
    const fresh = await renderCliDocs(readFileSync(page, 'utf8'));
    const visible = Object.entries(manifest.commands).filter(([, c]) => !c.hidden);
    expect(visible.length).toBeGreaterThan(30);
    for (const [id] of visible) expect(fresh).toContain(`### \`scalelite ${id}\`\n`);
    expect(fresh).toContain('$ scalelite servers:add https://bbb1.example.com/bigbluebutton/api/ SECRET');
  });

  test('given a page whose generated part was edited by hand, then regenerating restores it and keeps the prose', async () => {
    const current = readFileSync(page, 'utf8');
    const edited = current.replace('### `scalelite servers:add`', '### `scalelite servers:add` (edited)');
    expect(edited).not.toBe(current);
    expect(await renderCliDocs(edited)).toBe(await renderCliDocs(current));
    const prose = current.slice(0, current.indexOf('<!-- commands -->'));
    expect((await renderCliDocs(current)).startsWith(prose)).toBe(true);
  });

  test('given a page without the markers, then generating refuses it', async () => {
    await expect(renderCliDocs('# CLI\n')).rejects.toThrow(/<!-- commands -->/);
  });
});
