// Engines for one database name, started ahead of demand (an engine takes about half a second to
// start) and reused after a reset when the session left nothing behind.
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EngineArtifacts } from './artifacts.js';
import { EngineInstance } from './instance.js';
import { ENGINE_START_PARAMS } from './start-params.js';
import { cloneTemplate, readTemplateInfo, type TemplateInfo } from './template.js';

export interface EnginePoolOptions {
  artifacts: EngineArtifacts;
  templateDir: string;
  database: string;
  /** engines kept started and idle, ready for the next connection */
  spares: number;
  /**
   * engines whose Keap tables hold rows (kept by the session that ended), idle beyond the spares: the next
   * sessions of the database find their tables loaded. Default DEFAULT_IDLE_LOADED.
   */
  idleLoaded?: number;
  /** an idle loaded engine is ended after this long unused (ms); default 10 minutes */
  idleLoadedMs?: number;
  /** where per-session data directories live */
  sessionsDir?: string;
  highWaterBytes?: number;
  onError?: (err: unknown) => void;
}

/**
 * Counts of the catalog rows a session could add; a session that changed none can hand its engine on. The
 * temporary schemas a session's first temporary table creates stay, as in PostgreSQL, where they outlive the
 * backend: not counted (keapgres's own staging tables use them, and they hold nothing after DISCARD ALL).
 */
const FINGERPRINT_SQL = `SELECT concat_ws(',',
  (SELECT count(*) FROM pg_catalog.pg_class), (SELECT count(*) FROM pg_catalog.pg_proc),
  (SELECT count(*) FROM pg_catalog.pg_type),
  (SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname !~ '^pg_(toast_)?temp_'),
  (SELECT count(*) FROM pg_catalog.pg_constraint), (SELECT count(*) FROM pg_catalog.pg_trigger),
  (SELECT count(*) FROM pg_catalog.pg_rewrite), (SELECT count(*) FROM pg_catalog.pg_attribute),
  (SELECT count(*) FROM pg_catalog.pg_description), (SELECT count(*) FROM pg_catalog.pg_db_role_setting),
  (SELECT count(*) FROM pg_catalog.pg_extension), (SELECT count(*) FROM pg_catalog.pg_operator),
  (SELECT count(*) FROM pg_catalog.pg_database), (SELECT count(*) FROM pg_catalog.pg_sequence)
) AS fingerprint`;

/**
 * Loaded engines kept by default: a BI tool's pool for one dashboard (Metabase keeps up to 15 connections per
 * database) finds each of its sessions an engine with the dashboard's tables (bench/RESULTS.md, dashboard).
 */
export const DEFAULT_IDLE_LOADED = 16;

let sessionDirCounter = 0;
let poolCounter = 0;

/** What a session's set-up touches: roles, settings, the catalog a client's first queries read. */
const WARM_UP_SQL = `SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = current_user;
SELECT pg_catalog.set_config('application_name', '', false);
SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`;

export class EnginePool {
  private readonly opts: EnginePoolOptions;
  private templateDir: string;
  private readonly idle: EngineInstance[] = [];
  /** released with loaded Keap tables, most recent last, with when each was released */
  private readonly loaded: Array<{ engine: EngineInstance; at: number }> = [];
  private reaper?: NodeJS.Timeout;
  /** places among the loaded engines promised to sessions handing theirs on (reserveLoaded) */
  private reserved = 0;
  private starting = 0;
  private readonly startingNow = new Set<Promise<void>>();
  private fingerprint?: string;
  private closed = false;
  private readonly sessionsDir: string;
  private info?: { dir: string; info: TemplateInfo };

  constructor(opts: EnginePoolOptions) {
    this.opts = opts;
    this.templateDir = opts.templateDir;
    // One directory per pool: two pools of one process (two servers, as in tests) must never remove each
    // other's engines' files on close.
    this.sessionsDir = opts.sessionsDir ?? path.join(os.tmpdir(), `keapgres-${process.pid}`, `${opts.database}-${++poolCounter}`);
  }

  get database(): string {
    return this.opts.database;
  }

  /** Starts the spares; resolves when the first one is ready. */
  async warm(): Promise<void> {
    if (this.opts.spares <= 0) return;
    const first = await this.startOne();
    this.fingerprint ??= await this.readFingerprint(first);
    this.offer(first);
    this.replenish();
  }

  /** An engine for a new session: an idle one at once, otherwise the next to finish starting. */
  async acquire(): Promise<EngineInstance> {
    const warm = this.loaded.pop();
    if (warm) return warm.engine;
    const ready = this.idle.pop();
    this.replenish();
    if (ready) return ready;
    const engine = await this.startOne();
    this.fingerprint ??= await this.readFingerprint(engine).catch(() => undefined);
    return engine;
  }

  /**
   * Promises a place among the loaded engines to a session about to hand its engine on, so that it may load
   * more into it first; false when the loaded engines are full. Given back by release (or unreserveLoaded).
   */
  reserveLoaded(): boolean {
    if (this.closed || this.loaded.length + this.reserved >= (this.opts.idleLoaded ?? DEFAULT_IDLE_LOADED)) return false;
    this.reserved++;
    return true;
  }

  unreserveLoaded(): void {
    this.reserved = Math.max(0, this.reserved - 1);
  }

  /**
   * Takes an engine back from a session that ended. It is reset to the template's state and reused
   * when the session created nothing; otherwise it is ended (its data directory goes with it).
   */
  async release(engine: EngineInstance, keapTables: readonly string[], keepsRows = false, reserved = false): Promise<void> {
    try {
      await this.reset(engine, keapTables, keepsRows);
    } finally {
      if (reserved) this.unreserveLoaded();
    }
  }

  private async reset(engine: EngineInstance, keapTables: readonly string[], keepsRows: boolean): Promise<void> {
    if (this.closed || !engine.alive || engine.dataDir.indexOf(this.templateGeneration()) < 0) {
      await engine.terminate();
      return;
    }
    try {
      await engine.query('ROLLBACK').catch(() => undefined);
      // DISCARD ALL (temporary tables, prepared statements, settings, session authorization) refuses
      // to run inside a transaction block, which a multi-statement query is: on its own.
      await engine.query('DISCARD ALL');
      if (keapTables.length) await engine.query(`TRUNCATE ${keapTables.map(quote).join(', ')}`);
      const fp = await this.readFingerprint(engine);
      if (this.fingerprint && fp === this.fingerprint && keepsRows && !this.closed && this.loaded.length < (this.opts.idleLoaded ?? DEFAULT_IDLE_LOADED)) {
        this.loaded.push({ engine, at: Date.now() });
        this.reapLater();
        return;
      }
      if (this.fingerprint && fp === this.fingerprint && this.idle.length < this.opts.spares) {
        this.offer(engine);
        return;
      }
    } catch {
      // an engine that cannot be reset is not reused
    }
    await engine.terminate();
  }

  /** Schema changed (custom fields refreshed): new sessions start from the new template. */
  async replaceTemplate(templateDir: string): Promise<void> {
    this.templateDir = templateDir;
    this.fingerprint = undefined;
    const old = [...this.idle.splice(0), ...this.loaded.splice(0).map((l) => l.engine)];
    await Promise.all(old.map((e) => e.terminate()));
    this.replenish();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.idle.splice(0);
    this.loaded.splice(0);
    if (this.reaper) clearTimeout(this.reaper);
    // Every engine this pool started ends here — idle, in a session, or being reset — before its data
    // directory is removed: an engine whose files vanish under it can spin.
    await Promise.all([...this.live].map((e) => e.terminate()));
    // a spare still starting ends itself once started (closed); removing its directory under it first
    // left its worker waiting forever, and the process with it
    // (bounded: an engine whose start never settles must not hold the server's stop forever)
    await Promise.race([Promise.allSettled([...this.startingNow]), new Promise((r) => setTimeout(r, 10_000).unref())]);
    await rm(this.sessionsDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Ends loaded engines nobody took for idleLoadedMs: their memory is worth more than a reload. */
  private reapLater(): void {
    if (this.reaper) return;
    const after = this.opts.idleLoadedMs ?? 600_000;
    this.reaper = setTimeout(() => {
      this.reaper = undefined;
      const now = Date.now();
      while (this.loaded.length && now - this.loaded[0]!.at >= after) void this.loaded.shift()!.engine.terminate();
      if (this.loaded.length) this.reapLater();
    }, Math.max(1000, after / 4));
    this.reaper.unref();
  }

  private templateGeneration(): string {
    return path.basename(this.templateDir);
  }

  /** engines started by this pool and not ended yet */
  private readonly live = new Set<EngineInstance>();

  private offer(engine: EngineInstance): void {
    // a release that finishes after close() would otherwise keep a worker (and the process) alive
    if (this.closed) {
      void engine.terminate();
      return;
    }
    // a spare that was starting when the template was replaced (a schema refresh) has the old tables
    if (!path.basename(engine.dataDir).startsWith(this.templateGeneration())) {
      void engine.terminate();
      this.replenish();
      return;
    }
    this.idle.push(engine);
  }

  private replenish(): void {
    if (this.closed) return;
    while (this.idle.length + this.starting < this.opts.spares) {
      this.starting++;
      const start = this.startOne()
        .then((e) => {
          this.starting--;
          if (this.closed) void e.terminate();
          else this.offer(e);
        })
        .catch((err) => {
          this.starting--;
          if (!this.closed) this.opts.onError?.(err);
        })
        .finally(() => this.startingNow.delete(start));
      this.startingNow.add(start);
    }
  }

  private async startOne(): Promise<EngineInstance> {
    const dir = path.join(this.sessionsDir, `${this.templateGeneration()}-${process.pid}-${++sessionDirCounter}`);
    await mkdir(this.sessionsDir, { recursive: true });
    const templateDir = this.templateDir;
    this.info ??= { dir: templateDir, info: await readTemplateInfo(templateDir) };
    if (this.info.dir !== templateDir) this.info = { dir: templateDir, info: await readTemplateInfo(templateDir) };
    await cloneTemplate(templateDir, this.info.info, dir);
    const engine = await EngineInstance.start({
      artifacts: this.opts.artifacts,
      dataDir: dir,
      database: this.opts.database,
      startParams: [...ENGINE_START_PARAMS],
      highWaterBytes: this.opts.highWaterBytes,
      ownsDataDir: true,
    });
    this.live.add(engine);
    engine.onExitOnce(() => this.live.delete(engine));
    // The first statements of a fresh engine pay for cold code paths and catalog caches (~40 ms):
    // pay it here, before a client waits on it.
    await engine.query(WARM_UP_SQL).catch(() => undefined);
    return engine;
  }

  private async readFingerprint(engine: EngineInstance): Promise<string> {
    const { rows } = await engine.query(FINGERPRINT_SQL);
    return String(rows[0]?.fingerprint ?? '');
  }
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
