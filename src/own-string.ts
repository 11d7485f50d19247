/**
 * ownString: a copy of a string that keeps nothing else alive, for strings a long-lived structure will hold.
 *
 * Why: V8 makes a substring of 13 or more characters a slice of its parent (a request URL, a whole request body)
 * rather than a copy, and the slice keeps the parent alive. A session id cut out of `/v1/items/…?session=…&user=…`
 * and kept as a map key for an hour keeps the whole URL for an hour: a soak of the service found 95,000 URLs held
 * that way by 100,000 remembered sessions. Concatenating makes a cons string, and slicing a cons string first
 * flattens it into a new string of its own: the result references only that. Shorter strings are always copied, so
 * they are returned as they are. Cost: one small allocation per string kept, where it is first stored.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}
