// The template data directory every session's engine starts from: initdb, the client's database
// name, and every Keap table already created (so catalog queries see them before any data is
// fetched). initdb costs seconds, so templates are cached on disk by a hash of what went into them.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, link, mkdir, readdir, rename, rm, writeFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pgliteDistDir, type EngineArtifacts } from './artifacts.js';
import { EngineInstance } from './instance.js';
import { ENGINE_START_PARAMS, INITDB_PARAMS } from './start-params.js';
import { BACKEND_CATALOG_SQL } from './backend-catalog.js';

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
  /**
   * Every database name the server serves. Each gets a row in pg_database (an empty database, never
   * opened by a session), so that psql's \l and DBeaver's database list show them all from any of them.
   */
  listedDatabases?: readonly string[];
  cacheDir?: string;
}

/** The databases to create besides the served one; initdb made postgres, template0 and template1. */
function otherDatabases(spec: TemplateSpec): string[] {
  const made = new Set([spec.database, 'postgres', 'template0', 'template1']);
  return [...new Set(spec.listedDatabases ?? [])].filter((name) => !made.has(name)).sort();
}

const building = new Map<string, Promise<string>>();

/**
 * Catalog additions for clients older than the engine's PostgreSQL 18, run after the setup SQL.
 * psql < 17 reads pg_database.daticulocale in \l (datlocale since 17): a function of the row type
 * answers `d.daticulocale` in attribute notation. psql < 18 prints a table's foreign keys in \d only
 * when pg_class.relhastriggers is set, which NOT ENFORCED keys (no triggers) leave false.
 */
export const CLIENT_COMPAT_SQL = `
CREATE FUNCTION pg_catalog.daticulocale(pg_catalog.pg_database) RETURNS text
  LANGUAGE sql STABLE AS 'SELECT $1.datlocale';
UPDATE pg_catalog.pg_class SET relhastriggers = true
  WHERE NOT relhastriggers AND oid IN (SELECT conrelid FROM pg_catalog.pg_constraint WHERE contype = 'f'
                                       UNION SELECT confrelid FROM pg_catalog.pg_constraint WHERE contype = 'f');
`;

/** Returns the path of a ready template directory for the spec, building it if needed. */
export function ensureTemplate(artifacts: EngineArtifacts, spec: TemplateSpec): Promise<string> {
  const hash = createHash('sha256')
    .update(pgliteVersion()).update('\0')
    .update(ENGINE_START_PARAMS.join(' ')).update(INITDB_PARAMS.join(' ')).update('\0')
    .update(spec.database).update('\0')
    .update(spec.setupSql).update('\0')
    .update(CLIENT_COMPAT_SQL).update('\0')
    .update(BACKEND_CATALOG_SQL);
  // only when there are any, so that a one-database server keeps the templates it has cached
  const others = otherDatabases(spec);
  if (others.length) hash.update('\0').update(others.join('\0'));
  const key = hash.digest('hex').slice(0, 24);
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
    const init = await EngineInstance.start({ artifacts, dataDir: work, database: 'postgres', startParams: [...ENGINE_START_PARAMS], initDbParams: [...INITDB_PARAMS] });
    try {
      if (spec.database !== 'postgres') await init.query(`CREATE DATABASE ${quoteIdent(spec.database)}`);
      for (const name of otherDatabases(spec)) await init.query(`CREATE DATABASE ${quoteIdent(name)}`);
    } finally {
      await init.close();
    }
    let databaseOid = '';
    const db = await EngineInstance.start({ artifacts, dataDir: work, database: spec.database, startParams: [...ENGINE_START_PARAMS] });
    try {
      if (spec.setupSql.trim()) await db.query(spec.setupSql);
      await db.query(CLIENT_COMPAT_SQL);
      await db.query(BACKEND_CATALOG_SQL);
      await db.query('CHECKPOINT');
      databaseOid = String((await db.query('SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()')).rows[0]?.oid);
    } finally {
      await db.close();
    }
    await writeFile(path.join(work, READY_MARKER), JSON.stringify({ database: spec.database, databaseOid, built: new Date().toISOString() } satisfies TemplateInfo));
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

export interface TemplateInfo {
  database: string;
  /** directory name under base/ of the served database: the only one a session writes to */
  databaseOid: string;
  built: string;
}

export async function readTemplateInfo(dir: string): Promise<TemplateInfo> {
  return JSON.parse(await readFile(path.join(dir, READY_MARKER), 'utf8')) as TemplateInfo;
}

/**
 * A session's data directory from the template. The other databases (template0, template1,
 * postgres, the other served names) are never opened by a session connected to its own database, so their files are hard
 * links instead of copies: a new engine copies a third of the bytes.
 */
export async function cloneTemplate(templateDir: string, info: TemplateInfo, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const entry of await readdir(templateDir)) {
    const from = path.join(templateDir, entry);
    const to = path.join(target, entry);
    if (entry !== 'base') {
      await cp(from, to, { recursive: true });
      continue;
    }
    await mkdir(to);
    for (const db of await readdir(from)) {
      if (db === info.databaseOid) {
        await cp(path.join(from, db), path.join(to, db), { recursive: true });
        continue;
      }
      await mkdir(path.join(to, db));
      for (const file of await readdir(path.join(from, db))) {
        await link(path.join(from, db, file), path.join(to, db, file));
      }
    }
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
