/**
 * One request read from a trace: the unit every trace reader yields and the simulator replays.
 */

/** A request as read from a trace file. */
export type TraceRequest = {
  /** The key asked for. Never empty. */
  readonly key: string;
  /** Session the request belongs to, when the trace says. */
  readonly session?: string;
  /** User the request belongs to, when the trace says. */
  readonly user?: string;
  /** When the request was made, in milliseconds since the Unix epoch, when the trace says. */
  readonly timeMs?: number;
  /** 1-based line of the file the request came from (an ARC line yields several requests with one line). */
  readonly line: number;
};
