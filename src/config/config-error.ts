// A bad connection string or server configuration. It is a SqlError (22023) so that a client
// connecting to a misconfigured database sees the same precise text an operator sees at start-up.
import { SqlError, SQLSTATE, type SqlErrorFields } from '../errors.js';

export class ConfigError extends SqlError {
  constructor(message: string, fields: SqlErrorFields = {}) {
    super(SQLSTATE.invalidParameterValue, message, fields);
    this.name = 'ConfigError';
  }
}
