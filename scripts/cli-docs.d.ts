// Types of scripts/cli-docs.js, for the tests that import it.

/** `current` (docs/cli.md) with its generated part remade from the build's oclif manifest under `dir` (the repository). */
export function renderCliDocs(current: string, dir?: string): Promise<string>;

/** GitHub's anchor for a Markdown heading. */
export function anchorOf(heading: string): string;
