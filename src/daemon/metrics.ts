// Every Prometheus metric, declared in one place, read from a Stats snapshot at scrape time.
// Names: megalog_<name>_<unit>[_total]; labels take bounded values only (transport, reason, configured
// device names — an unconfigured sender is counted under "unconfigured", never under its address).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/load.js';
import { diskOf } from '../core/fs.js';
import { COMMIT_BUCKETS, CONNECTION_REFUSALS, DROP_BYTE_REASONS, DROP_REASONS, IGNORE_REASONS, RADIUS_DROP_REASONS, THREADS, TRANSPORTS, type DeviceSeen } from '../core/counters.js';

export interface MetricsInput {
  stats: Record<string, number>;
  devices: DeviceSeen[];
}

export class Metrics {
  readonly registry = new Registry();
  private input: MetricsInput = { stats: {}, devices: [] };

  constructor(private readonly cfg: Config, private readonly read: () => MetricsInput) {
    const r = this.registry;
    const s = () => this.input.stats;
    const counter = (name: string, help: string, slot: string) =>
      new Counter({ name, help, registers: [r], collect() { this.reset(); this.inc(s()[slot] ?? 0); } });
    /** A counter with one bounded label whose values map to slots `<prefix><value>`. */
    const labelled = (name: string, help: string, label: string, values: readonly string[], prefix: string) =>
      new Counter({
        name,
        help,
        labelNames: [label],
        registers: [r],
        collect() {
          this.reset();
          for (const v of values) this.inc({ [label]: v }, s()[`${prefix}${v}`] ?? 0);
        },
      });
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({ name, help, registers: [r], collect() { this.set(value()); } });

    labelled('megalog_messages_received_total', 'Messages appended to the spool, by transport.', 'transport', TRANSPORTS, 'received_');
    counter('megalog_received_bytes_total', 'Payload bytes appended to the spool.', 'received_bytes');
    counter('megalog_records_committed_total', 'NAT records committed to the store.', 'records_committed');
    counter('megalog_lines_committed_total', 'Messages committed (records, ignored or unparsed).', 'lines_committed');
    counter('megalog_lines_unparsed_total', 'Messages no parser recognised (kept as unparsed).', 'lines_unparsed');
    labelled('megalog_lines_ignored_total', 'Recognised messages that carry no translation (kept, no record), by reason.', 'reason', IGNORE_REASONS, 'ignored_');
    counter('megalog_frames_truncated_total', 'Frames longer than tcp_max_frame_bytes (head kept).', 'frames_truncated');
    counter('megalog_invalid_utf8_total', 'Messages that were not valid UTF-8 (kept byte for byte).', 'invalid_utf8');
    counter('megalog_time_out_of_range_total', 'Records whose own time was implausible, filed under their receive time.', 'time_out_of_range');
    counter('megalog_commit_errors_total', 'Failed commit attempts (retried).', 'commit_errors');
    counter('megalog_days_sealed_total', 'Day files sealed: hashed into the seal manifest and made read-only (resealing included).', 'days_sealed');
    counter('megalog_sealed_day_reopens_total', 'Sealed day files reopened to take late lines (each recorded in the seal manifest).', 'sealed_day_reopens');
    counter('megalog_sealed_day_lines_total', 'Messages committed into a day file after it had been sealed once.', 'sealed_day_lines');
    counter('megalog_seal_errors_total', 'Failed seal attempts (retried; e.g. a console reader held the file).', 'seal_errors');
    labelled('megalog_messages_dropped_total', 'Messages refused or lost, by reason.', 'reason', DROP_REASONS, 'dropped_');
    labelled('megalog_dropped_bytes_total', 'Bytes lost where no message count is known (framing, oversize tails, spool damage), by reason.', 'reason', DROP_BYTE_REASONS, 'dropped_bytes_');
    counter('megalog_udp_kernel_drops_total', 'Datagrams the kernel dropped on our UDP sockets (/proc/net/udp "drops").', 'udp_kernel_drops');
    counter('megalog_ipfix_unknown_template_sets_total', 'IPFIX / NetFlow v9 data sets whose template the exporter had not sent (since start): kept, decoded as nothing.', 'ipfix_unknown_template_sets');
    counter('megalog_ipfix_malformed_total', 'IPFIX / NetFlow v9 packets with a set running past its length, or no such packet at all: kept (unparsed when undecodable).', 'ipfix_malformed');
    gauge('megalog_udp_receive_buffer_bytes', 'UDP receive buffer the kernel granted.', () => s().udp_rcvbuf_bytes ?? 0);
    gauge('megalog_tcp_connections', 'Open TCP/TLS syslog connections.', () => s().tcp_connections ?? 0);
    labelled('megalog_tcp_connections_refused_total', 'TCP/TLS connections closed at accept, by the limit that refused them.', 'reason', CONNECTION_REFUSALS, 'tcp_refused_');
    labelled('megalog_radius_requests_dropped_total', 'RADIUS Accounting-Requests dropped unanswered, by reason.', 'reason', RADIUS_DROP_REASONS, 'radius_dropped_');
    counter('megalog_radius_responses_total', 'Accounting-Responses sent, each after its request was spooled and fsynced.', 'radius_responses');
    counter('megalog_radius_events_committed_total', 'RADIUS session events written to day files.', 'radius_events_committed');
    counter('megalog_radius_events_duplicate_total', 'RADIUS session events a day file held already (retransmissions), not written again.', 'radius_events_duplicate');
    counter('megalog_spool_reread_bytes_total', 'Spool bytes the committer read back: the backlog at start-up, and what the receiver did not hand over in memory because the committer was behind.', 'spool_reread_bytes');
    counter('megalog_handoff_overflow_bytes_total', 'Spooled bytes the receiver did not hand over in memory, the committer holding handoff_max_bytes already (it reads them from the spool).', 'handoff_overflow_bytes');
    counter('megalog_handoff_unparsed_bytes_total', 'Spooled bytes the receiver handed over unparsed, for the committer to parse (the receiver was behind).', 'handoff_unparsed_bytes');
    labelled('megalog_thread_cpu_seconds_total', "CPU seconds the processor's threads used, by role (main, receiver, committer, lines: the original lines' encoding, udp: the addon's socket readers).", 'thread', THREADS, 'cpu_seconds_');
    gauge('megalog_handoff_queued_bytes', 'Handoff buffers the receiver sent and the committer has not taken yet.', () => Math.max(0, (s().handoff_sent_bytes ?? 0) - (s().handoff_released_bytes ?? 0)));
    gauge('megalog_spool_backlog_bytes', 'Spooled bytes not yet committed.', () => Math.max(0, (s().spool_end ?? 0) - (s().committed_pos ?? 0)));
    gauge('megalog_cold_storage_full', '1 while the store refuses writes (disk full).', () => s().cold_full ?? 0);
    gauge('megalog_last_commit_timestamp_seconds', 'Time of the last successful commit.', () => (s().last_commit_ms ?? 0) / 1000);
    /** Free and total bytes of the file systems holding the hot and the cold directory (statfs at scrape). */
    const disks = [['hot', cfg.hot_storage_dir], ['cold', cfg.cold_storage_dir]] as const;
    const diskGauge = (name: string, help: string, pick: (d: { total_bytes: number; free_bytes: number }) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['disk'],
        registers: [r],
        collect() {
          this.reset();
          for (const [disk, dir] of disks) {
            const d = diskOf(dir);
            if (d) this.set({ disk }, pick(d));
          }
        },
      });
    diskGauge('megalog_disk_free_bytes', 'Bytes available to the megalog user on the file system of the hot or cold directory.', (d) => d.free_bytes);
    diskGauge('megalog_disk_size_bytes', 'Size of the file system of the hot or cold directory.', (d) => d.total_bytes);
    const cfgDevices = cfg.devices;
    new Gauge({
      name: 'megalog_device_last_seen_timestamp_seconds',
      help: 'Last message from each configured device ("unconfigured" for the rest).',
      labelNames: ['device'],
      registers: [r],
      collect: () => {
        const g = this.registry.getSingleMetric('megalog_device_last_seen_timestamp_seconds') as Gauge;
        g.reset();
        for (const [name, last] of byDevice(cfgDevices, this.input.devices, (d) => d.last_seen_ms, Math.max)) g.set({ device: name }, last / 1000);
      },
    });
    new Counter({
      name: 'megalog_device_messages_total',
      help: 'Messages from each configured device ("unconfigured" for the rest).',
      labelNames: ['device'],
      registers: [r],
      collect: () => {
        const c = this.registry.getSingleMetric('megalog_device_messages_total') as Counter;
        c.reset();
        for (const [name, n] of byDevice(cfgDevices, this.input.devices, (d) => d.messages, (a, b) => a + b)) c.inc({ device: name }, n);
      },
    });
    collectDefaultMetrics({ register: r, prefix: 'megalog_' });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async text(): Promise<string> {
    this.input = this.read();
    return (await this.registry.metrics()) + histogramText(this.input.stats);
  }
}

function byDevice(cfg: Config['devices'], seen: DeviceSeen[], pick: (d: DeviceSeen) => number, merge: (a: number, b: number) => number): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of seen) {
    const name = cfg[d.address]?.name ?? 'unconfigured';
    const prev = out.get(name);
    out.set(name, prev === undefined ? pick(d) : merge(prev, pick(d)));
  }
  return out;
}

/** megalog_commit_duration_seconds, written from the shared bucket counters. */
function histogramText(s: Record<string, number>): string {
  const name = 'megalog_commit_duration_seconds';
  const lines = [`# HELP ${name} Time to commit one batch (parse, insert, transaction).`, `# TYPE ${name} histogram`];
  let cum = 0;
  COMMIT_BUCKETS.forEach((le, i) => {
    cum += s[`commit_bucket_${i}`] ?? 0;
    lines.push(`${name}_bucket{le="${le}"} ${cum}`);
  });
  lines.push(`${name}_bucket{le="+Inf"} ${s.commit_count ?? 0}`, `${name}_sum ${s.commit_seconds_sum ?? 0}`, `${name}_count ${s.commit_count ?? 0}`, '');
  return lines.join('\n');
}
