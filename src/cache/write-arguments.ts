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
import { checkKey } from './entry.ts';

/** `set`'s options: an object; `tags`, when given, an array of strings. @throws InvalidOptionError */
export function checkSetOptions(options: unknown): asserts options is SetOptions {
  optionsObject(options);
  const { tags } = options as SetOptions;
  if (tags !== undefined && !(Array.isArray(tags) && tags.every((t) => typeof t === 'string'))) {
    throw new InvalidOptionError('tags', 'an array of strings', tags);
  }
}

/** `delete`'s options: an object. @throws InvalidOptionError */
export function checkDeleteOptions(options: unknown): asserts options is DeleteOptions {
  optionsObject(options);
}

/**
 * `invalidate`'s selector: an object; `keys` an array of valid keys, `prefix` and `tag` strings, when given.
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
  if (tag !== undefined && typeof tag !== 'string') throw new InvalidOptionError('tag', 'a string', tag);
}
