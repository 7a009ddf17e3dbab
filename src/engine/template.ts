// The template data directory every session's engine starts from: initdb, the client's database
// name, and every Keap table already created (so catalog queries see them before any data is
// fetched). initdb costs seconds, so templates are cached on disk by a hash of what went into them.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pgliteDistDir, type EngineArtifacts } from './artifacts.js';
import { EngineInstance } from './instance.js';
import { ENGINE_START_PARAMS } from './start-params.js';

const READY_MARKER = '.keapgres-template';

export function keapgresCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KEAPGRES_CACHE_DIR) return env.KEAPGRES_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'keapgres');
}

function pgliteVersion(): string {
  // package.json is not in the package's exports: read it beside dist/
  const pkg = JSON.parse(readFileSync(path.join(pgliteDistDir(), '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export interface TemplateSpec {
  database: string;
  /** SQL run once in the new database (the Keap tables, comments, helper functions) */
  setupSql: string;
  cacheDir?: string;
}

const building = new Map<string, Promise<string>>();

/** Returns the path of a ready template directory for the spec, building it if needed. */
export function ensureTemplate(artifacts: EngineArtifacts, spec: TemplateSpec): Promise<string> {
  const key = createHash('sha256')
    .update(pgliteVersion()).update('\0')
    .update(ENGINE_START_PARAMS.join(' ')).update('\0')
    .update(spec.database).update('\0')
    .update(spec.setupSql)
    .digest('hex')
    .slice(0, 24);
  const dir = path.join(spec.cacheDir ?? keapgresCacheDir(), 'templates', key);
  let p = building.get(dir);
  if (!p) {
    p = buildTemplate(artifacts, spec, dir);
    building.set(dir, p);
    p.catch(() => building.delete(dir));
  }
  return p;
}

async function buildTemplate(artifacts: EngineArtifacts, spec: TemplateSpec, dir: string): Promise<string> {
  if (existsSync(path.join(dir, READY_MARKER))) return dir;
  await mkdir(path.dirname(dir), { recursive: true });
  const work = `${dir}.building-${process.pid}-${Date.now()}`;
  await rm(work, { recursive: true, force: true });
  try {
    const init = await EngineInstance.start({ artifacts, dataDir: work, database: 'postgres', startParams: [...ENGINE_START_PARAMS] });
    try {
      if (spec.database !== 'postgres') await init.query(`CREATE DATABASE ${quoteIdent(spec.database)}`);
    } finally {
      await init.close();
    }
    const db = await EngineInstance.start({ artifacts, dataDir: work, database: spec.database, startParams: [...ENGINE_START_PARAMS] });
    try {
      if (spec.setupSql.trim()) await db.query(spec.setupSql);
      await db.query('CHECKPOINT');
    } finally {
      await db.close();
    }
    await writeFile(path.join(work, READY_MARKER), JSON.stringify({ database: spec.database, built: new Date().toISOString() }));
    try {
      await rename(work, dir);
    } catch (err) {
      // another process built the same template first: use theirs
      if (!existsSync(path.join(dir, READY_MARKER))) throw err;
      await rm(work, { recursive: true, force: true });
    }
    return dir;
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

export async function readTemplateInfo(dir: string): Promise<unknown> {
  return JSON.parse(await readFile(path.join(dir, READY_MARKER), 'utf8'));
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
