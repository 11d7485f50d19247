/**
 * The arguments of the Cache's writes, checked before anything is written.
 *
 * Why: the write methods are called from JavaScript too, where a string passed for a list is iterated character by
 * character (`invalidate({ keys: 'user:1' })` deleted the keys 'u', 's', ... and kept 'user:1'; a `tags` string
 * matched any tag it contained), and a `null` options argument failed with a bare TypeError. Each mistake is a coded
 * error naming the argument and the value instead.
 */
import { InvalidOptionError } from '../errors.ts';
import { optionsObject } from '../options.ts';
import type { DeleteOptions, InvalidateSelector, SetOptions } from './cache-results.ts';
import { checkKey, isWellFormed } from './entry.ts';

/**
 * A tag: a string, well-formed UTF-16. Why the latter: a shared tier keeps a tag's index under its UTF-8 form, where
 * every lone surrogate becomes U+FFFD, so two such tags would share one index (as such keys would, see checkKey).
 */
function isTag(tag: unknown): tag is string {
  return typeof tag === 'string' && isWellFormed(tag);
}

/** `set`'s options: an object; `tags`, when given, an array of tags (well-formed strings). @throws InvalidOptionError */
export function checkSetOptions(options: unknown): asserts options is SetOptions {
  optionsObject(options);
  const { tags } = options as SetOptions;
  if (tags !== undefined && !(Array.isArray(tags) && tags.every(isTag))) {
    throw new InvalidOptionError('tags', 'an array of strings, each well-formed UTF-16', tags);
  }
}

/** `delete`'s options: an object. @throws InvalidOptionError */
export function checkDeleteOptions(options: unknown): asserts options is DeleteOptions {
  optionsObject(options);
}

/**
 * `invalidate`'s selector: an object; `keys` an array of valid keys, `prefix` a string, `tag` a tag, when given.
 * @throws InvalidOptionError; InvalidKeyError for a key in `keys`
 */
export function checkSelector(selector: unknown, maxKeyLength: number): asserts selector is InvalidateSelector {
  optionsObject(selector, 'selector');
  const { keys, prefix, tag } = selector as InvalidateSelector;
  if (keys !== undefined) {
    if (!Array.isArray(keys)) throw new InvalidOptionError('keys', 'an array of keys', keys);
    for (const key of keys) checkKey(key, maxKeyLength);
  }
  if (prefix !== undefined && typeof prefix !== 'string') throw new InvalidOptionError('prefix', 'a string', prefix);
  if (tag !== undefined && !isTag(tag)) throw new InvalidOptionError('tag', 'a string, well-formed UTF-16', tag);
}
