// How every command reports a failure: the message, then the DETAIL and HINT it carries, laid out as
// psql shows a server's error — a user must see the "Perhaps you meant …" and the "Allowed values …",
// not only the first line. Known secrets are scrubbed (an error may quote an upstream response).
import { SqlError } from '../errors.js';
import { scrubSecrets } from '../log/logger.js';

export function errorText(command: string, err: unknown): string {
  let text = `${command}: ${err instanceof Error ? err.message : String(err)}\n`;
  if (err instanceof SqlError) {
    if (err.detail) text += `DETAIL:  ${err.detail}\n`;
    if (err.hint) text += `HINT:  ${err.hint}\n`;
  }
  return scrubSecrets(text);
}
