/*
 * Just enough of the Dockerfile syntax for the structure tests (hadolint is not at hand):
 * comments dropped, `\` continuations joined, one instruction per line, split into stages
 * at each FROM.
 */

export interface Instruction {
  op: string;
  args: string;
}

export function dockerfileInstructions(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole) logical.push(whole);
  }
  if (pending.trim()) logical.push(pending.trim());
  return logical.map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    return { op: m[1].toUpperCase(), args: m[2].replace(/\s+/g, ' ') };
  });
}

/** The stages, each starting with its FROM. */
export function dockerfileStages(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  for (const i of dockerfileInstructions(text)) {
    if (i.op === 'FROM') stages.push([i]);
    else if (stages.length > 0) stages[stages.length - 1].push(i);
    else throw new Error(`Dockerfile: ${i.op} before the first FROM`);
  }
  return stages;
}
