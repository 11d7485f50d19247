/**
 * The check that a value survives JSON unchanged, so a journaled write means after a restart what it meant when
 * it was acknowledged.
 *
 * Why: JSON.stringify does not refuse what it cannot represent, it changes it: NaN and Infinity become null, a
 * Date becomes a string, a Map or Set an empty object, a class instance a plain object, a property holding a
 * function vanishes, an array slot holding one becomes null. (A property holding undefined vanishes too, but means
 * "absent" either way: it is allowed, and the journaled value, without it, is what every path serves.) A write-back record is replayed from
 * its JSON, so such a value would be served one way before a restart or flush and another way after, and an
 * origin may refuse it outright at flush time (PostgreSQL jsonb takes no NaN), long after the write was
 * acknowledged. Refusing it at `put` time, naming where it is, is the only point where the caller can still act.
 *
 * It follows the walk of `checkJsonbValue` (src/origin/sql-table.ts: non-finite numbers, bigints and a top-level
 * undefined, function or symbol are refused) and is stricter where JSON loses information silently, but it does not
 * refuse strings JSON can carry and only some stores cannot (a NUL or lone surrogate for PostgreSQL): those are the
 * origin's to refuse at flush, where the write-back sets the record aside (split-refused.ts).
 *
 * Cost: one pass over the value, a Set operation per object or array (to report a cycle rather than overflow the
 * stack); strings are not scanned.
 */

/** What is wrong and where, the path built leaf first while the walk unwinds. */
type Loss = { readonly what: string; readonly path: Array<string | number> };

/** A property name that reads as `.name` in a path; anything else is quoted in brackets. */
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Describes the first part of `value` that JSON would change or cannot encode, with its path from `$` (the value
 * itself), e.g. `$.items[2].at is a Date (JSON turns it into a string)`; undefined when `value` round-trips.
 * Only plain objects (prototype Object.prototype or null, no `toJSON`), arrays, strings, booleans, null and finite
 * numbers pass; object keys are the own enumerable string keys, as JSON sees them. (-0 passes and comes back as 0.)
 */
export function jsonRoundTripLoss(value: unknown): string | undefined {
  let loss: Loss | undefined;
  try {
    loss = lossIn(value, new Set());
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return 'it is nested too deeply to check';
  }
  if (loss === undefined) return undefined;
  let path = '$';
  for (let i = loss.path.length - 1; i >= 0; i--) {
    const part = loss.path[i];
    path += typeof part === 'number' ? `[${part}]` : IDENTIFIER.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return `${path} ${loss.what}`;
}

function lossIn(value: unknown, ancestors: Set<object>): Loss | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : { what: `is ${value} (JSON turns it into null)`, path: [] };
    case 'bigint':
      return { what: 'is a bigint (JSON cannot encode it)', path: [] };
    case 'undefined':
    case 'function':
    case 'symbol':
      return { what: `is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`} (JSON drops it, or turns it into null in an array)`, path: [] };
  }
  if (value === null) return undefined;
  const object = value as object;
  if (ancestors.has(object)) return { what: 'refers back to an enclosing object (a cycle)', path: [] };
  if (Array.isArray(object)) {
    ancestors.add(object);
    for (let i = 0; i < object.length; i++) {
      const loss = lossIn(object[i], ancestors);
      if (loss !== undefined) return (loss.path.push(i), loss);
    }
    ancestors.delete(object);
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const name = (proto as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    const kind = typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a prototype';
    return { what: `is ${kind}, not a plain object (JSON turns it into a string or a plain object)`, path: [] };
  }
  if ('toJSON' in object) return { what: 'has a toJSON method (JSON would store what it returns)', path: [] };
  ancestors.add(object);
  for (const key of Object.keys(object)) {
    const property = (object as Record<string, unknown>)[key];
    // A property holding undefined means "absent" in JS as in JSON, which drops it: allowed (the value served is the
    // journaled one, without it, before a restart as after).
    if (property === undefined) continue;
    const loss = lossIn(property, ancestors);
    if (loss !== undefined) return (loss.path.push(key), loss);
  }
  ancestors.delete(object);
  return undefined;
}
