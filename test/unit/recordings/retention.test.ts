import { isDomainError } from '../../../src/commands/errors';
import { parseRetentionAge } from '../../../src/recordings/retention';

const DAY = 86_400_000;

describe('parseRetentionAge', () => {
  test.each([
    ['365d', 365 * DAY],
    ['48h', 2 * DAY],
    ['12w', 84 * DAY],
    ['2y', 730 * DAY],
    ['90', 90 * DAY],
    [' 30 D ', 30 * DAY],
  ])('%s is %d ms', (text, ms) => {
    expect(parseRetentionAge(text)).toBe(ms);
  });

  test.each(['', '0d', '-5d', '1.5d', 'a year', '10m', '3 days', '1234567d'])('%j is refused with a hint', (text) => {
    const parsed = parseRetentionAge(text);
    expect(isDomainError(parsed) && parsed.message).toMatch(/is not an age: use a number of hours, days, weeks or years/);
  });
});
