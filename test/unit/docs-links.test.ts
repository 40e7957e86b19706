import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { anchorOf } from '../../scripts/cli-docs';

/*
 * The README and docs/ point at each other and at the code: a page moved, a heading renamed or a
 * module moved leaves a dead link that nobody clicks until a newcomer does. Every relative link
 * must reach a file, and every #anchor a heading of that file (GitHub's anchors).
 */

const root = join(__dirname, '..', '..');
const PAGES = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The page without its fenced code blocks, which hold no links and no headings. */
const withoutFences = (markdown: string) => markdown.replace(/^[ \t]*(```|~~~)[^\n]*\n[\s\S]*?^[ \t]*\1[^\n]*$/gm, '');
/** …and without inline code, which holds no links either. */
const prose = (markdown: string) => withoutFences(markdown).replace(/`[^`\n]*`/g, '');

/** Inline links and images, `[text](target)`, and reference definitions, `[label]: target`. */
function linksOf(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const references = [...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]);
  return [...inline, ...references];
}

/** The anchors GitHub gives a page's headings; a repeated heading gets -1, -2… */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = anchorOf(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** What is wrong with `link` on `page`, or null when it leads somewhere. */
function brokenLink(page: string, link: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link)) return null; // https:, mailto: … are not checked here
  const [path, anchor] = link.split('#', 2);
  const target = path ? posix.normalize(posix.join(posix.dirname(page), decodeURI(path))) : page;
  if (target.startsWith('..')) return `${link}: points outside the repository`;
  if (!existsSync(join(root, target))) return `${link}: ${target} does not exist`;
  if (anchor === undefined) return null;
  if (!target.endsWith('.md') || statSync(join(root, target)).isDirectory()) return `${link}: an anchor into a file that is not Markdown`;
  return anchorsOf(readFileSync(join(root, target), 'utf8')).has(anchor) ? null : `${link}: ${target} has no heading with the anchor #${anchor}`;
}

// These two pages name Scalelite's own files (bin/start, app/…), not this repository's.
const ABOUT_SCALELITE = new Set(['docs/scalelite-behaviour.md', 'docs/migrating-from-scalelite.md']);
const REPO_PATH = /`((?:src|cli|docs|scripts|test|bench|deploy|bin)\/[^`\s<>*…]*)`/g;

describe('links in README.md and docs/', () => {
  test.each(PAGES)('given %s, then every relative link reaches a file and its anchor a heading', (page) => {
    const markdown = readFileSync(join(root, page), 'utf8');
    const broken = linksOf(markdown)
      .map((link) => brokenLink(page, link))
      .filter((b): b is string => b !== null);
    expect(broken).toEqual([]);
  });

  test.each(PAGES.filter((p) => !ABOUT_SCALELITE.has(p)))('given %s, then every repository path it names in backticks exists', (page) => {
    const markdown = readFileSync(join(root, page), 'utf8');
    const missing = [...markdown.matchAll(REPO_PATH)].map((m) => m[1]).filter((path) => !existsSync(join(root, path)) && !existsSync(join(root, dirname(page), path)));
    expect(missing).toEqual([]);
  });

  test('the checks find what they look for (a check over nothing would pass)', () => {
    const page =
      '[a](docs/reliability.md#the-fault-drill) `[b](nowhere.md)` [c](https://example.com)\n```\n[d](gone.md)\n```\n1. step\n   ```sh\n   [f](gone.md)\n   ```\n[e]: docs/gone.md\n';
    expect(linksOf(page)).toEqual(['docs/reliability.md#the-fault-drill', 'https://example.com', 'docs/gone.md']);
    expect(brokenLink('README.md', 'docs/reliability.md#the-fault-drill')).toBeNull();
    expect(brokenLink('README.md', 'docs/reliability.md#no-such-heading')).toMatch(/no heading with the anchor/);
    expect(brokenLink('README.md', 'docs/gone.md')).toMatch(/does not exist/);
    expect(brokenLink('docs/cli.md', 'configuration.md#production-roles')).toBeNull();
    expect(anchorsOf('## Setup\n## `scalelite servers:add`\n## Setup\n## 10. What users ask for / recurring pains (issues corpus)\n')).toEqual(
      new Set(['setup', 'scalelite-serversadd', 'setup-1', '10-what-users-ask-for--recurring-pains-issues-corpus']),
    );
  });
});
