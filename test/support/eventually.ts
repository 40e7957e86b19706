/**
 * Polls `fn` until it gives a truthy value that is not an empty array (returned), or fails
 * after `timeoutMs` naming what it waited for. An empty list means "not yet", never "done".
 */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value && !(Array.isArray(value) && value.length === 0)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
