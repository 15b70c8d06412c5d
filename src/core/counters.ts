// Counters shared by the threads of one process: a Float64Array over a SharedArrayBuffer, one slot per
// counter, each slot written by ONE thread only (the receiver or the committer) and read by any. Aligned
// 64-bit stores do not tear on the platforms we ship for, so readers need no lock. Hot paths add to a
// local number and store it once per batch, never per message.
//
// daemon/metrics.ts turns a snapshot of these slots into Prometheus text; `megalog processor` also writes the
// snapshot to <hot>/status.json so that a separate `megalog web` can serve it.
/**
 * Why a recognised line yields no record. The values label a Prometheus counter, so the set is closed:
 * - `no_translation`: a traffic line without a public address (MikroTik srcnat/input chains, a session whose
 *   translated source equals the original, PAN-OS NAT source 0.0.0.0);
 * - `deny`: a denied or dropped session;
 * - `dnat_only`: only the destination was translated (port forwarding);
 * - `session_update`: an interim update of a session already logged (conntrack UPDATE, FortiGate interim);
 * - `not_nat_event`: a message of a known vendor that is not about NAT (logins, alarms, thresholds, system).
 */
export const IGNORE_REASONS = ['no_translation', 'deny', 'dnat_only', 'session_update', 'not_nat_event'] as const;
export type IgnoreReason = (typeof IGNORE_REASONS)[number];

/** Why whole messages were refused or lost, counted in messages (megalog_messages_dropped_total{reason}). */
export const DROP_REASONS = [
  'spool_full', // uncommitted spool above spool_max_bytes: UDP message refused
  'spool_write_error', // the hot disk refused the write (ENOSPC, EIO)
  'noise', // lines matched by noise_filters, counted and not stored
  'connection_limit', // TCP/TLS connections refused at accept, whatever the limit (by limit: CONNECTION_REFUSALS)
  'empty', // datagrams with nothing but CR, LF or NUL
] as const;

/**
 * Why bytes were lost where no message count can be known, counted in bytes
 * (megalog_dropped_bytes_total{reason}).
 */
export const DROP_BYTE_REASONS = [
  'framing_error', // TCP bytes that formed no frame (bad octet count, garbage between frames)
  'oversize_tail', // bytes of an oversized frame beyond tcp_max_frame_bytes (the head is kept as a message)
  'spool_corrupt', // spool bytes that failed their checksum when read back
  'spool_torn', // spool bytes cut from a torn tail at recovery
] as const;

/** Why a TCP/TLS connection was refused at accept (megalog_tcp_connections_refused_total). */
export const CONNECTION_REFUSALS = [
  'per_source', // the sender address (IPv6: its /64) already holds tcp_max_connections_per_source
  'reserved_for_devices', // only the share kept by tcp_reserved_for_devices_percent is left, and the sender is not a configured device
  'max_connections', // the listener holds tcp_max_connections
] as const;
export type ConnectionRefusal = (typeof CONNECTION_REFUSALS)[number];

/** How a message reached us. The index is the transport's code in a spool record (spool/format.ts): append only. */
export const TRANSPORTS = ['udp', 'tcp', 'tls', 'tail', 'import', 'ipfix', 'radius'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/**
 * Why a RADIUS Accounting-Request was dropped unanswered (megalog_radius_requests_dropped_total{reason}):
 * the NAS retransmits and, with a bad secret, goes on failing visibly in this counter.
 */
export const RADIUS_DROP_REASONS = [
  'unknown_nas', // the sender is not a configured NAS client
  'bad_authenticator', // the Request Authenticator does not match the NAS's secret
  'malformed', // lengths that do not hold, attribute values of the wrong size, no Acct-Status-Type
  'not_accounting', // a packet code other than Accounting-Request
  'spool', // spool full or failing: not received, so not answered
] as const;
export type RadiusDropReason = (typeof RADIUS_DROP_REASONS)[number];

/**
 * The processor's threads, by the name each gives itself (core/native.ts threadName): CPU seconds
 * each used (megalog_thread_cpu_seconds_total), to tell which stage limits the rate.
 */
export const THREADS = ['main', 'receiver', 'committer', 'lines', 'udp'] as const;
export type ThreadRole = (typeof THREADS)[number];

/** Upper bounds (seconds) of the commit duration histogram. */
export const COMMIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const NAMES = [
  ...TRANSPORTS.map((t) => `received_${t}`),
  'received_bytes',
  'frames_truncated',
  'invalid_utf8',
  ...DROP_REASONS.map((r) => `dropped_${r}`),
  ...DROP_BYTE_REASONS.map((r) => `dropped_bytes_${r}`),
  ...CONNECTION_REFUSALS.map((r) => `tcp_refused_${r}`),
  'udp_kernel_drops',
  ...RADIUS_DROP_REASONS.map((r) => `radius_dropped_${r}`),
  'radius_responses', // receiver: Accounting-Responses sent (each after its request was spooled and fsynced)
  'radius_events_committed', // committer: session events written to day files
  'radius_events_duplicate', // committer: session events a day file held already (NAS retransmissions)
  'udp_rcvbuf_bytes',
  'ipfix_unknown_template_sets', // receiver: IPFIX data sets whose template the exporter had not sent yet (kept, decoded as nothing)
  'ipfix_malformed', // receiver: IPFIX packets whose sets ran past their length, or that were no IPFIX (kept as unparsed)
  ...THREADS.map((t) => `cpu_seconds_${t}`),
  'tcp_connections',
  'spool_end',
  'spool_records_written',
  'handoff_sent_bytes', // receiver: handoff buffers sent to the committer (spool/handoff.ts)
  'handoff_released_bytes', // committer: handoff buffers it is done with
  'handoff_overflow_bytes', // receiver: spooled bytes not handed over, the committer being handoff_max_bytes behind
  'handoff_unparsed_bytes', // receiver: spooled bytes handed over unparsed (import jobs, a busy receiver)
  'spool_reread_bytes', // committer: spool bytes read back (recovery, overflow)
  'committed_pos',
  'records_committed',
  'lines_committed',
  'lines_unparsed',
  'lines_ignored',
  ...IGNORE_REASONS.map((r) => `ignored_${r}`),
  'time_out_of_range',
  'commit_errors',
  'days_sealed',
  'sealed_day_reopens',
  'sealed_day_lines',
  'seal_errors',
  'cold_full',
  'last_commit_ms',
  'records_today',
  'commit_count',
  'commit_seconds_sum',
  ...COMMIT_BUCKETS.map((_, i) => `commit_bucket_${i}`),
  'started_ms',
] as const;
export type Slot = (typeof NAMES)[number];

const INDEX = new Map<string, number>(NAMES.map((n, i) => [n, i]));

export class Stats {
  readonly values: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(NAMES.length * 8)) {
    this.values = new Float64Array(buffer);
  }

  static slot(name: Slot): number {
    return INDEX.get(name)!;
  }

  get(name: Slot): number {
    return this.values[INDEX.get(name)!]!;
  }

  set(name: Slot, v: number): void {
    this.values[INDEX.get(name)!] = v;
  }

  add(name: Slot, v: number): void {
    if (v !== 0) this.values[INDEX.get(name)!]! += v;
  }

  observeCommit(seconds: number): void {
    this.add('commit_count', 1);
    this.add('commit_seconds_sum', seconds);
    const i = COMMIT_BUCKETS.findIndex((b) => seconds <= b);
    if (i >= 0) this.add(`commit_bucket_${i}` as Slot, 1);
  }

  snapshot(): Record<string, number> {
    const o: Record<string, number> = {};
    NAMES.forEach((n, i) => (o[n] = this.values[i]!));
    return o;
  }
}

/** Per-device last-seen and counts, kept by the receiver; bounded so a flood of forged senders cannot grow it. */
export interface DeviceSeen {
  address: string;
  last_seen_ms: number;
  messages: number;
}

export const MAX_TRACKED_DEVICES = 4096;
