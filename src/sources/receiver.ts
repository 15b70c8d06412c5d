// The receiver: every configured source, feeding one spool writer. Runs in its own thread; it does
// no SQLite work, only framing, spooling, counting and, while it has time, parsing what it spooled,
// so sockets are read promptly.
//
// The sources append to the writer's buffer; FLUSH_DELAY_MS after the first of them (or at once when
// a MiB waits, or a RADIUS request waits for its fsync) one flush writes it with a single write(2),
// publishes the new spool end and the counters through the shared Stats, and hands the bytes just
// written, parsed unless this thread is busy, to the committer (sources/handoff.ts): the one point
// every source's messages pass.
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config/load.js';
import { splitHostPort } from '../config/load.js';
import type { Transport } from '../spool/format.js';
import { SpoolWriter } from '../spool/writer.js';
import { MAX_TRACKED_DEVICES, Stats, type ConnectionRefusal, type DeviceSeen, type Slot } from '../core/counters.js';
import type { Sink, Source } from './sink.js';
import { canonicalAddress, StreamSource } from './tcp.js';
import { ImportJobs, type ImportProgress } from './import-jobs.js';
import { TAIL_STATE_FILE, TailSource, parseTailOrigin } from './tail.js';
import { UdpSource } from './udp.js';
import { RadiusSource } from './radius.js';
import { fault } from '../config/fault.js';
import { radiusClients } from '../config/load.js';
import type { RadiusDropReason } from '../core/counters.js';
import { IpfixSource } from './ipfix.js';
import { HandoffSender } from './handoff.js';
import type { Log } from '../core/log.js';

const RECEIVED_BYTES = Stats.slot('received_bytes');
/**
 * How long received messages may wait in memory before they are spooled. Flushing at the end of
 * every event-loop turn wrote ~40 messages a flush at 70k msg/s, and each flush costs a write(2), a
 * handoff buffer packed, transferred and opened: at 10 ms, ~700 a flush, and the process spent
 * 19.8 instead of 23.3 µs of CPU a message over UDP, 18.9 instead of 22.7 over TCP (session 7).
 * A message is *received* once spooled: this is the window a crash loses, as the kernel's socket
 * buffers already are. RADIUS requests do not wait for it (whenDurable flushes at once).
 */
const FLUSH_DELAY_MS = 10;

export class Receiver implements Sink {
  readonly writer: SpoolWriter;
  readonly sources: Source[] = [];
  private readonly udp: UdpSource[] = [];
  private readonly ipfix: IpfixSource[] = [];
  private readonly streams: StreamSource[] = [];
  private tail: TailSource | null = null;
  private readonly imports: ImportJobs;
  private flushTimer: NodeJS.Timeout | null = null;
  private resumeCbs: (() => void)[] = [];
  private pausedFlag = false;
  private readonly devices = new Map<string, DeviceSeen>();
  private timers: NodeJS.Timeout[] = [];
  /** Counts since the last flush, by Stats slot: published once per flush, never per message. */
  private readonly local: Float64Array;
  private readonly slotOf: Record<Transport, number>;
  private writeErrorLogged = 0;
  private readonly handoff: HandoffSender | null;
  private readonly radius: RadiusSource[] = [];
  /** RADIUS answers waiting for the spool write (and fsync) of their requests. */
  private durableWaiters: ((ok: boolean) => void)[] = [];

  /** Without `handoff` (a port to the committer thread), the committer reads everything from the spool. */
  constructor(private readonly cfg: Config, private readonly stats: Stats, floor: number, private readonly log: Log, handoff: MessagePort | null = null) {
    this.handoff = handoff ? new HandoffSender(cfg, stats, handoff) : null;
    this.local = new Float64Array(stats.values.length);
    this.slotOf = { udp: Stats.slot('received_udp'), tcp: Stats.slot('received_tcp'), tls: Stats.slot('received_tls'), tail: Stats.slot('received_tail'), import: Stats.slot('received_import'), ipfix: Stats.slot('received_ipfix'), radius: Stats.slot('received_radius') };
    this.writer = new SpoolWriter({
      dir: join(cfg.hot_storage_dir, 'spool'),
      segmentBytes: cfg.spool_segment_bytes,
      fsync: cfg.spool_fsync,
      floor,
    });
    const rec = this.writer.recovery;
    if (rec.tornBytes) {
      stats.add('dropped_bytes_spool_torn', rec.tornBytes);
      log('warn', `spool: cut a torn tail of ${rec.tornBytes} bytes at recovery`);
    }
    stats.set('spool_end', this.writer.end);
    this.handoff?.mark(this.writer.end); // the backlog from the committed position on is in the spool
    for (const l of cfg.syslog_udp_listen) {
      const hp = splitHostPort(l)!;
      const s = new UdpSource(hp.host, hp.port, cfg.udp_recv_buffer_bytes, this);
      this.udp.push(s);
      this.sources.push(s);
    }
    if (cfg.radius_acct_listen.length) {
      const clients = radiusClients(cfg);
      for (const l of cfg.radius_acct_listen) {
        const hp = splitHostPort(l)!;
        const s = new RadiusSource(hp.host, hp.port, clients, this, cfg.udp_recv_buffer_bytes);
        this.radius.push(s);
        this.sources.push(s);
      }
    }
    for (const l of cfg.ipfix_listen) {
      const hp = splitHostPort(l)!;
      const s = new IpfixSource(hp.host, hp.port, cfg.udp_recv_buffer_bytes, this);
      this.ipfix.push(s);
      this.sources.push(s);
    }
    const devices = deviceAddresses(cfg);
    const stream = (l: string, tls: boolean) => {
      const hp = splitHostPort(l)!;
      const s = new StreamSource(
        {
          host: hp.host,
          port: hp.port,
          maxFrame: cfg.tcp_max_frame_bytes,
          maxConnections: cfg.tcp_max_connections,
          maxPerSource: cfg.tcp_max_connections_per_source,
          reservedForDevices: devices.size ? Math.floor((cfg.tcp_max_connections * cfg.tcp_reserved_for_devices_percent) / 100) : 0,
          devices,
          idleTimeoutSec: cfg.tcp_idle_timeout_sec,
          tls: tls ? { cert: cfg.tls_cert_file, key: cfg.tls_key_file, ca: cfg.tls_ca_file } : undefined,
        },
        this,
      );
      this.streams.push(s);
      this.sources.push(s);
    };
    for (const l of cfg.syslog_tcp_listen) stream(l, false);
    for (const l of cfg.syslog_tls_listen) stream(l, true);
    if (cfg.tail_file) {
      this.tail = new TailSource(cfg.tail_file, join(cfg.hot_storage_dir, TAIL_STATE_FILE), cfg.tail_poll_ms, cfg.tcp_max_frame_bytes, this, parseTailOrigin(rec.lastTailOrigin));
      this.sources.push(this.tail);
    }
    this.imports = new ImportJobs(cfg.hot_storage_dir, cfg.cold_storage_dir, cfg.tcp_max_frame_bytes, this, stats, rec.lastImportOrigin, log);
    this.sources.push(this.imports);
  }

  /** Import jobs waiting or running (the dashboard, `megalog import`). */
  importProgress(): ImportProgress[] {
    return this.imports.progress();
  }

  async start(): Promise<void> {
    for (const s of this.sources) {
      await s.start();
      this.log('info', `listening: ${s.describe()}`);
    }
    const granted = this.udp.reduce((m, u) => Math.max(m, u.recvBufferGranted), 0);
    this.stats.set('udp_rcvbuf_bytes', granted);
    this.stats.set('started_ms', Date.now());
    this.timers.push(
      setInterval(() => this.housekeeping(), 1000),
    );
    {
      // The tail's and import jobs' states may advance only after the spool bytes behind them are
      // written (and, unless spool_fsync is never, on disk): what they had spooled when the fsync
      // started is what they record once it is done, in the thread pool (SpoolWriter.syncAsync).
      this.timers.push(setInterval(() => {
        this.flush(); // the tail may have buffered lines this very turn
        const written = this.writer.buffered === 0;
        if (this.cfg.spool_fsync === 'never') {
          if (written) {
            this.tail?.persist();
            this.imports.persist();
          }
          return;
        }
        const tail = written ? this.tail?.mark() ?? null : null;
        const job = written ? this.imports.mark() : null;
        this.writer.syncAsync((err) => {
          if (err) return this.log('warn', `spool fsync failed: ${err.message}`);
          try {
            if (tail) this.tail!.persistAt(tail);
            if (job) this.imports.persistAt(job);
          } catch (e) {
            this.log('warn', `saving the tail's or an import job's position failed: ${(e as Error).message}`);
          }
        });
      }, this.cfg.spool_fsync_interval_ms));
    }
  }

  /** Ports actually bound (tests bind port 0). */
  ports(): { udp: number[]; tcp: number[]; tls: number[]; ipfix: number[]; radius: number[] } {
    return {
      udp: this.udp.map((u) => u.boundPort),
      ipfix: this.ipfix.map((s) => s.boundPort),
      tcp: this.streams.filter((s) => s.name.startsWith('tcp')).map((s) => s.boundPort),
      tls: this.streams.filter((s) => s.name.startsWith('tls')).map((s) => s.boundPort),
      radius: this.radius.map((s) => s.boundPort),
    };
  }

  // ---- Sink ----

  get paused(): boolean {
    return this.pausedFlag;
  }

  onResume(cb: () => void): void {
    this.resumeCbs.push(cb);
  }

  accept(transport: Transport, origin: string, payload: Buffer, truncated: boolean, recvMs = Date.now()): boolean {
    if (this.pausedFlag && (transport === 'udp' || transport === 'ipfix')) {
      this.bump('dropped_spool_full', 1);
      return false;
    }
    this.writer.append(recvMs, transport, origin.length > 255 ? origin.slice(0, 255) : origin, payload);
    this.local[this.slotOf[transport]]! += 1;
    this.local[RECEIVED_BYTES]! += payload.length;
    if (truncated) this.bump('frames_truncated', 1);
    if (transport !== 'tail' && transport !== 'import') this.seen(origin, 1);
    this.flushSoon();
    return true;
  }

  acceptSpooled(transport: Transport, chunk: Buffer, records: number, payloadBytes: number, origins: readonly string[], counts: readonly number[], truncated: number): boolean {
    if (this.pausedFlag && transport === 'udp') {
      this.bump('dropped_spool_full', records);
      return false;
    }
    this.writer.appendEncoded(chunk, records);
    this.local[this.slotOf[transport]]! += records;
    this.local[RECEIVED_BYTES]! += payloadBytes;
    if (truncated) this.bump('frames_truncated', truncated);
    for (let i = 0; i < origins.length; i++) if (counts[i]) this.seen(origins[i]!, counts[i]!);
    this.flushSoon();
    return true;
  }

  /** Flush FLUSH_DELAY_MS from now, or now once a MiB is buffered. */
  private flushSoon(): void {
    if (this.writer.buffered >= 1 << 20) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_DELAY_MS);
  }

  discard(reason: 'framing_error' | 'oversize_tail' | 'empty', n: number): void {
    if (reason === 'empty') this.bump('dropped_empty', n);
    else this.bump(`dropped_bytes_${reason}`, n);
  }

  note(slot: 'ipfix_malformed' | 'ipfix_unknown_template_sets', n: number): void {
    this.bump(slot, n);
  }

  refuseConnection(reason: ConnectionRefusal): void {
    this.bump(`tcp_refused_${reason}`, 1);
    this.bump('dropped_connection_limit', 1); // the total, as dashboards built on it expect
  }

  reject(reason: RadiusDropReason): void {
    this.bump(`radius_dropped_${reason}`, 1);
  }

  whenDurable(cb: (ok: boolean) => void): void {
    this.durableWaiters.push(cb);
    // At the end of this turn even if a flush is already due later: a NAS waits for the answer.
    if (this.durableWaiters.length === 1) setImmediate(() => this.flush());
  }

  answered(): void {
    this.stats.add('radius_responses', 1); // after the flush that published the rest: straight to the shared slot
  }

  private bump(slot: Slot, n: number): void {
    this.local[Stats.slot(slot)]! += n;
  }

  /** Write the buffer, publish counters and the new spool end. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.durableWaiters.length) fault('radius_flush'); // tests: die with RADIUS requests accepted, not yet written
    const before = this.writer.recordsWritten;
    let written: Buffer | null = null;
    let failed = false;
    try {
      written = this.writer.flush();
    } catch (err) {
      failed = true;
      // The hot disk refused the write: those messages are lost, counted with their reason.
      let lost = 0;
      for (const i of Object.values(this.slotOf)) {
        lost += this.local[i]!;
        this.local[i] = 0;
      }
      this.bump('dropped_spool_write_error', lost);
      if (Date.now() - this.writeErrorLogged > 10_000) {
        this.writeErrorLogged = Date.now();
        this.log('error', `spool write failed (${(err as NodeJS.ErrnoException).code}): ${lost} messages dropped`);
      }
    }
    const shared = this.stats.values;
    for (let i = 0; i < shared.length; i++) {
      if (this.local[i]) {
        shared[i]! += this.local[i]!;
        this.local[i] = 0;
      }
    }
    if (this.writer.recordsWritten !== before) {
      this.stats.set('spool_records_written', this.writer.recordsWritten);
      this.stats.set('spool_end', this.writer.end);
    }
    if (this.durableWaiters.length) this.settleWaiters(!failed);
    if (written) this.handoff?.send(written, this.writer.end);
    this.checkBackpressure();
  }

  /** RADIUS answers: fsync what was written (their requests are in it), then let them go out. */
  private settleWaiters(written: boolean): void {
    const waiters = this.durableWaiters;
    this.durableWaiters = [];
    if (!written) {
      for (const cb of waiters) cb(false);
      return;
    }
    // answered once the fsync (in the thread pool) is done
    this.writer.syncAsync((err) => {
      if (err) this.log('error', `spool fsync failed (${(err as NodeJS.ErrnoException).code}): ${waiters.length} RADIUS requests left unanswered`);
      for (const cb of waiters) cb(!err);
    });
  }

  private checkBackpressure(): void {
    const backlog = this.writer.end - this.stats.get('committed_pos');
    if (!this.pausedFlag && backlog > this.cfg.spool_max_bytes) {
      this.pausedFlag = true;
      this.log('warn', `spool backlog ${backlog} bytes over spool_max_bytes: pausing TCP/TLS/tail, dropping UDP`);
    } else if (this.pausedFlag && backlog < this.cfg.spool_max_bytes * 0.9) {
      this.pausedFlag = false;
      this.log('info', 'spool backlog back under its limit: resuming');
      for (const cb of this.resumeCbs) cb();
    }
  }

  private seen(addr: string, messages: number): void {
    let d = this.devices.get(addr);
    if (!d) {
      if (this.devices.size >= MAX_TRACKED_DEVICES) addr = 'other';
      d = this.devices.get(addr);
      if (!d) this.devices.set(addr, (d = { address: addr, last_seen_ms: 0, messages: 0 }));
    }
    d.last_seen_ms = Date.now();
    d.messages += messages;
  }

  deviceSnapshot(): DeviceSeen[] {
    return [...this.devices.values()].map((d) => ({ ...d }));
  }

  private housekeeping(): void {
    this.checkBackpressure();
    this.handoff?.mark(this.writer.end); // shows the committer a gap that no handoff since has shown
    let drops = 0;
    for (const u of this.udp) drops += u.kernelDrops() ?? 0;
    this.stats.set('udp_kernel_drops', drops);
    this.stats.set('tcp_connections', this.streams.reduce((n, s) => n + s.connections, 0));
  }

  /** SIGHUP: reload TLS certificates. */
  reload(): void {
    for (const s of this.streams) {
      try {
        s.reload();
        this.log('info', `${s.name}: certificate reloaded`);
      } catch (err) {
        this.log('error', `${s.name}: certificate reload failed, keeping the old one: ${(err as Error).message}`);
      }
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sources) await s.stop();
    this.flush();
    this.handoff?.mark(this.writer.end);
    this.writer.close();
    this.tail?.persist();
  }
}

/** The configured devices' addresses, canonical (as StreamSource compares them). */
function deviceAddresses(cfg: Config): Set<string> {
  const out = new Set<string>();
  for (const a of Object.keys(cfg.devices)) out.add(canonicalAddress(a));
  return out;
}
