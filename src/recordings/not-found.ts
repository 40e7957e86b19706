/*
 * The page Scalelite answers every refused playback with (§4.5), whatever the
 * reason: the same words for "protected" and "deleted" so that a probe learns
 * nothing about which recordings exist. Self-contained (no external assets) so
 * it renders under a strict CSP and from any path depth.
 */

export const RECORDING_NOT_FOUND_TITLE = 'Recording Not Found';
export const RECORDING_NOT_FOUND_MESSAGE = 'The recording URL is invalid. This recording may have been either protected or deleted.';

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${RECORDING_NOT_FOUND_TITLE}</title>
<style>
  body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f5f6f8; color: #1f2933; }
  main { max-width: 36rem; margin: 15vh auto 0; padding: 2rem; background: #fff; border-radius: 0.5rem; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.12); }
  h1 { margin-top: 0; font-size: 1.5rem; }
  p { line-height: 1.5; }
  @media (prefers-color-scheme: dark) {
    body { background: #111418; color: #e4e7eb; }
    main { background: #1f2933; box-shadow: none; }
  }
</style>
</head>
<body>
<main>
<h1>${RECORDING_NOT_FOUND_TITLE}</h1>
<p>${RECORDING_NOT_FOUND_MESSAGE}</p>
</main>
</body>
</html>
`;

/** The HTML body of the 404 answer (the caller sets the status and `Content-Type: text/html; charset=utf-8`). */
export function recordingNotFoundPage(): string {
  return PAGE;
}
