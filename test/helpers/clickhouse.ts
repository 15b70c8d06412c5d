// A clickhouse-server of the test's own: its config, data and logs under a temporary directory,
// listening on 127.0.0.1 only, on free ports; never the system service. `stop()` (SIGTERM) and
// `kill()` (SIGKILL) end it; `start()` again on the same directory keeps its data (a restart).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLICKHOUSE_BIN = '/usr/sbin/clickhouse-server';
export const hasClickhouse = existsSync(CLICKHOUSE_BIN);
/** Appended to a suite's name when it is skipped for want of a server: a skipped case says why. */
export const NO_CLICKHOUSE = hasClickhouse ? '' : ' — skipped: no /usr/sbin/clickhouse-server (Debian 12: bash test/setup.sh)';

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export interface ClusterShard {
  tcpPort: number;
}

export interface ChOptions {
  /** `<remote_servers>` cluster `name` over these shards' native ports (one replica each). */
  cluster?: { name: string; shards: ClusterShard[] };
  /** Password of the `megalog` user (else only `default` without password). */
  password?: string;
  /** PEM certificate and key: also serve HTTPS on `httpsPort`. */
  tls?: { cert: string; key: string };
  /** A replica: ZooKeeper's client port, and this server's {shard} and {replica} macros. */
  replica?: { zookeeperPort: number; shard: string; name: string };
}

/**
 * Servers left by a test process that died without stopping them (a hook that timed out while a
 * synchronous statement held its thread, and the runner killed it): each server's directory records
 * its pid and its owner's; at load, a server whose owner is gone is killed and its directory removed.
 */
function reapOrphans(): void {
  let names: string[] = [];
  try {
    names = readdirSync(tmpdir()).filter((n) => /^megalog-(ch|zk)-/.test(n));
  } catch {
    return;
  }
  for (const n of names) {
    const d = join(tmpdir(), n);
    try {
      const [pid, owner] = readFileSync(join(d, 'pids'), 'utf8').trim().split(' ').map(Number) as [number, number];
      if (alive(owner)) continue;
      if (alive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(d)) process.kill(pid, 'SIGKILL');
      rmSync(d, { recursive: true, force: true });
    } catch {
      /* not one of ours, or already gone */
    }
  }
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
reapOrphans();

/** Servers still running when the test process exits (a hook timed out): killed, never left orphaned. */
const running = new Set<ChildProcess>();
let guarded = false;
function orphanGuard(p: ChildProcess): void {
  running.add(p);
  p.once('exit', () => running.delete(p));
  if (guarded) return;
  guarded = true;
  process.once('exit', () => {
    for (const c of running) if (c.exitCode == null) c.kill('SIGKILL');
  });
}

export class ClickhouseServer {
  readonly dir: string;
  httpPort = 0;
  tcpPort = 0;
  httpsPort = 0;
  interserverPort = 0;
  private proc: ChildProcess | null = null;

  constructor(private readonly opts: ChOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'megalog-ch-'));
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** Ports chosen before start, so a cluster's servers can name each other. */
  async ports(): Promise<void> {
    if (!this.httpPort) this.httpPort = await freePort();
    if (!this.tcpPort) this.tcpPort = await freePort();
    if (this.opts.tls && !this.httpsPort) this.httpsPort = await freePort();
    if (this.opts.replica && !this.interserverPort) this.interserverPort = await freePort();
  }

  async start(): Promise<void> {
    await this.ports();
    const d = this.dir;
    for (const sub of ['data', 'data/tmp', 'data/user_files', 'data/format_schemas', 'log']) mkdirSync(join(d, sub), { recursive: true });
    const cluster = this.opts.cluster
      ? `<remote_servers><${this.opts.cluster.name}>${this.opts.cluster.shards.map((s) => `<shard><replica><host>127.0.0.1</host><port>${s.tcpPort}</port></replica></shard>`).join('')}</${this.opts.cluster.name}></remote_servers>`
      : '';
    const pw = this.opts.password ?? '';
    const tls = this.opts.tls
      ? `<https_port>${this.httpsPort}</https_port><openSSL><server><certificateFile>${this.opts.tls.cert}</certificateFile><privateKeyFile>${this.opts.tls.key}</privateKeyFile><verificationMode>none</verificationMode><loadDefaultCAFile>false</loadDefaultCAFile><disableProtocols>sslv2,sslv3</disableProtocols></server></openSSL>`
      : '';
    const rep = this.opts.replica
      ? `<zookeeper><node><host>127.0.0.1</host><port>${this.opts.replica.zookeeperPort}</port></node></zookeeper><macros><shard>${this.opts.replica.shard}</shard><replica>${this.opts.replica.name}</replica></macros><interserver_http_port>${this.interserverPort}</interserver_http_port><interserver_http_host>127.0.0.1</interserver_http_host>`
      : '';
    writeFileSync(
      join(d, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default>
    <megalog><password>${pw}</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></megalog>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`,
    );
    writeFileSync(
      join(d, 'config.xml'),
      `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${d}/log/server.log</log><errorlog>${d}/log/server.err.log</errorlog><size>10M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${this.httpPort}</http_port>
  <tcp_port>${this.tcpPort}</tcp_port>
  <path>${d}/data/</path>
  <tmp_path>${d}/data/tmp/</tmp_path>
  <user_files_path>${d}/data/user_files/</user_files_path>
  <format_schema_path>${d}/data/format_schemas/</format_schema_path>
  <users_config>${d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <keep_alive_timeout>10</keep_alive_timeout>
  ${tls}
  ${rep}
  ${cluster}
</yandex>
`,
    );
    const p = spawn(CLICKHOUSE_BIN, [`--config-file=${join(d, 'config.xml')}`], { stdio: ['ignore', 'ignore', 'ignore'] });
    this.proc = p;
    orphanGuard(p);
    writeFileSync(join(d, 'pids'), `${p.pid} ${process.pid}`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (p.exitCode != null) throw new Error(`clickhouse-server exited (${p.exitCode}); see ${d}/log`);
      try {
        const r = await fetch(`${this.url}/ping`);
        if (r.ok) return;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline) throw new Error(`clickhouse-server did not answer on ${this.url}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A query as the default user (tests' checks): the body's text. */
  async query(sql: string): Promise<string> {
    const r = await fetch(`${this.url}/?${new URLSearchParams({ query: sql })}`, { method: 'POST' });
    const text = await r.text();
    if (!r.ok) throw new Error(`clickhouse: ${text}`);
    return text;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode != null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  }

  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
export const hasZookeeper = existsSync(ZOOKEEPER_JAR) && existsSync('/usr/bin/java');
export const NO_ZOOKEEPER = hasZookeeper ? '' : ' — skipped: no ZooKeeper (Debian: apt-get install zookeeper, needs Java)';

/** A standalone ZooKeeper of the test's own (Debian's `zookeeper` package), on loopback. */
export class ZookeeperServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'megalog-zk-'));
  port = 0;
  private proc: ChildProcess | null = null;

  async start(): Promise<void> {
    this.port = await freePort();
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    writeFileSync(join(this.dir, 'zoo.cfg'), `tickTime=2000\ndataDir=${this.dir}/data\nclientPort=${this.port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=ruok\n`);
    writeFileSync(join(this.dir, 'log4j.properties'), 'log4j.rootLogger=WARN, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\nlog4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n');
    this.proc = spawn('java', ['-Xmx128m', '-cp', `${this.dir}:${ZOOKEEPER_JAR}`, `-Dzookeeper.log.dir=${this.dir}`, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', join(this.dir, 'zoo.cfg')], { stdio: 'ignore' });
    orphanGuard(this.proc);
    writeFileSync(join(this.dir, 'pids'), `${this.proc.pid} ${process.pid}`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.proc.exitCode != null) throw new Error(`zookeeper exited (${this.proc.exitCode})`);
      if ((await this.ruok()) === 'imok') return;
      if (Date.now() > deadline) throw new Error('zookeeper did not answer');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private ruok(): Promise<string> {
    return new Promise((resolve) => {
      const s = connect(this.port, '127.0.0.1');
      let out = '';
      s.on('data', (c) => (out += c));
      s.on('connect', () => s.end('ruok'));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(''));
    });
  }

  async destroy(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p && p.exitCode == null) await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
