/**
 * Quickselect (Hoare, "Algorithm 65: Find", 1961): the k-th largest of n numbers in expected O(n), reordering them.
 * The rankers use it to find a top-k cut-off without sorting every candidate.
 */

/** The k-th largest (1-based k <= n) of a[0..n), reordering `a`. */
export function kthLargestInPlace(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  const want = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (want <= j) hi = j;
    else if (want >= i) lo = i;
    else break;
  }
  return a[want];
}
