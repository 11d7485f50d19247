/**
 * What the shadow catalogs (shadow-catalog.ts) report: their counters, and a read they served. Apart so the
 * catalogs' module holds their logic.
 */

/** Counters of the shadow catalogs. */
export type ShadowStats = {
  readonly userCatalogs: number;
  readonly segmentCatalogs: number;
  /** References held, dead ones (deleted keys) not yet released included. */
  readonly references: number;
  /** Distinct keys referenced (each stored once). */
  readonly heldKeys: number;
  /** Items predicted for some catalog before they were cached, waiting to be stored (pending-references.ts). */
  readonly pendingKeys: number;
  /** Bytes (`sizeBytes`) of the entries referenced. */
  readonly bytes: number;
  /** Of those, bytes of entries the memory tier no longer holds: what the catalogs alone keep alive, beyond `maxBytes`. */
  readonly bytesOutsideTier: number;
  /** Reads served from a catalog. */
  readonly hits: number;
  /** Catalog reads that found their entry stale and went to the origin before being served. */
  readonly refreshedBeforeServe: number;
  /** References evicted (or newcomers refused) by the per-catalog bound. */
  readonly evictedReferences: number;
  /** Catalogs dropped by the `maxCatalogs` bound. */
  readonly droppedCatalogs: number;
  /** Items no catalog serves any more because the bytes kept outside the memory tier passed `maxBytesOutsideTier`. */
  readonly trimmedOutsideTier: number;
};

/** A read served from a catalog (a `ReadResult` of the cache). */
export type ShadowRead<V> = {
  readonly key: string;
  readonly value: V;
  readonly isFound: true;
  readonly version: number;
  readonly status: 'hit' | 'prefetched';
  readonly servedFrom: 'shadow';
  readonly wasInflight: false;
};
