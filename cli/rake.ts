/*
 * Admins' scripts call Scalelite's rake tasks as `servers:add[URL,SECRET,2,tag]`.
 * We accept that form too: the bracketed arguments become positional ones.
 */

/** Tasks whose single bracketed argument is a ':'-separated list (rake's own convention). */
const LIST_TASKS = new Set(['meetings', 'meetings:list', 'meetings:end', 'servers:meeting_list']);

export function rakeArgs(argv: string[]): string[] {
  if (argv.length === 0) return argv;
  const first = argv[0];
  const m = /^([A-Za-z][\w:]*)\[(.*)\]$/s.exec(first);
  if (!m) return argv;
  const [, task, inner] = m;
  // As rake reads it: split on commas not escaped by a backslash, spaces around them dropped.
  let args = inner === '' ? [] : inner.split(/\s*(?<!\\),\s*/).map((a) => a.replace(/\\,/g, ',').trim());
  if (LIST_TASKS.has(task) && args.length === 1) args = args[0].split(':').filter((a) => a !== '');
  return [task, ...args, ...argv.slice(1)];
}
