export { createCredentialSource, refreshMargin, type CredentialSourceOptions, type CredentialStatus, type ManagedCredentialSource } from './credential-source.js';
export { openTokenStore, type StoredTokens, type TokenStore } from './token-store.js';
export { buildAuthorizationUrl, listenForCallback } from './authorization.js';
export { exchangeAuthorizationCode, refreshAccessToken, TokenEndpointError } from './token-endpoint.js';
