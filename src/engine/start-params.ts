// How every engine instance is started. PGlite's defaults, with PostgreSQL's own search_path
// (clients compare `SHOW search_path` with what a server says) and a small buffer pool: each session
// has its own instance, and table pages live in files, so the page cache does the caching.
export const ENGINE_START_PARAMS: readonly string[] = Object.freeze([
  '--single', '-F', '-O', '-j',
  '-c', 'search_path="$user", public',
  '-c', 'exit_on_error=false',
  '-c', 'log_checkpoints=false',
  '-c', 'max_worker_processes=0',
  '-c', 'max_parallel_workers=0',
  '-c', 'max_parallel_workers_per_gather=0',
  '-c', 'max_parallel_maintenance_workers=0',
  '-c', 'io_method=sync',
  '-c', 'shared_buffers=16MB',
  '-c', 'work_mem=8MB',
  '-c', 'temp_buffers=4MB',
  // WAL only matters for crash recovery, and a session's data directory does not outlive its session.
  '-c', 'wal_level=minimal',
  '-c', 'max_wal_senders=0',
  '-c', 'min_wal_size=2MB',
  '-c', 'max_wal_size=64MB',
]);

/** initdb: 1 MB WAL segments keep the template (copied for every session) small. */
export const INITDB_PARAMS: readonly string[] = Object.freeze(['--wal-segsize=1']);
