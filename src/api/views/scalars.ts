/* Values as Scalelite's Rails JSON prints them, shared by the entity views. */

/** What stands for a secret unless the caller asked to see it. */
export const SECRET_MASK = '********';

/** A decimal as Ruby's BigDecimal prints it: 1 -> "1.0", 2.5 -> "2.5". */
export const decimalString = (n: number): string => (Number.isInteger(n) ? n.toFixed(1) : String(n));
