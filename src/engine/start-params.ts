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
]);
