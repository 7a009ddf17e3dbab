import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConnectionString, maskConnectionString, ConfigError, KEAP_API_URL, type ConnectionSettings } from '../src/config/connection-string.js';

const env = { HOME: '/home/tester', XDG_CONFIG_HOME: '/home/tester/.config' };
const parse = (s: string, connectionName?: string) => parseConnectionString(s, { env, connectionName });
const OAUTH = 'InitiateOAuth=GETANDREFRESH;OAuthClientId=cid;OAuthClientSecret=csecret;';
const profileDir = mkdtempSync(join(tmpdir(), 'keapgres-profile-'));
const aFile = join(profileDir, 'file.txt');
writeFileSync(aFile, 'x');

test('defaults: an OAuth GETANDREFRESH connection gets Keap’s real addresses and CData’s defaults', () => {
  const s = parse(OAUTH);
  assert.ok(Object.isFrozen(s));
  assert.equal(s.authScheme, 'OAuth');
  assert.equal(s.initiateOAuth, 'GETANDREFRESH');
  assert.equal(s.url, KEAP_API_URL);
  assert.equal(s.url, 'https://api.infusionsoft.com/crm/rest');
  assert.equal(s.oauthAuthorizationUrl, 'https://accounts.infusionsoft.com/app/oauth/authorize');
  assert.equal(s.oauthAccessTokenUrl, 'https://api.infusionsoft.com/token');
  assert.equal(s.callbackUrl, 'http://localhost:33333');
  assert.equal(s.scope, 'full');
  assert.equal(s.timeoutSeconds, 60);
  assert.equal(s.pageSize, 1000);
  assert.equal(s.maxRows, -1);
  assert.equal(s.verbosity, 1);
  assert.equal(s.profile, undefined);
  assert.equal(s.apiKeyHeader, 'X-Keap-API-Key');
  assert.equal(s.openBrowser, true);
  assert.match(s.oauthSettingsLocation, /^\/home\/tester\/\.config\/keapgres\/oauth\/keap-[0-9a-f]{12}\.json$/);
  assert.deepEqual(s.ignoredProperties, []);
});

test('the default token file is one per served connection', () => {
  assert.notEqual(parse(OAUTH, 'acme').oauthSettingsLocation, parse(OAUTH, 'globex').oauthSettingsLocation);
  assert.equal(parse(OAUTH, 'acme').oauthSettingsLocation, parse(OAUTH, 'acme').oauthSettingsLocation);
});

const valid: Array<[string, string, Partial<ConnectionSettings>]> = [
  ['names are case-insensitive, values trimmed', ' initiateoauth = refresh ; OAUTHCLIENTID= cid ;oauthclientsecret=csecret', { initiateOAuth: 'REFRESH', oauthClientId: 'cid' }],
  ['names may contain spaces', 'Initiate OAuth=OFF;OAuth Access Token=tok123', { initiateOAuth: 'OFF', oauthAccessToken: 'tok123' }],
  ['a trailing ; and empty parts are fine', 'InitiateOAuth=OFF;;OAuthAccessToken=t;;', { oauthAccessToken: 't' }],
  ['single-quoted value holding ; and =', `${OAUTH.replace('csecret', `'se;cr=et'`)}`, { oauthClientSecret: 'se;cr=et' }],
  ['double-quoted value with doubled quotes inside', `InitiateOAuth=OFF;OAuthAccessToken="a""b'c"`, { oauthAccessToken: `a"b'c` }],
  ['quoting keeps leading and trailing spaces', `InitiateOAuth=OFF;OAuthAccessToken='  padded  '`, { oauthAccessToken: '  padded  ' }],
  ['an = inside an unquoted value is kept', 'InitiateOAuth=OFF;OAuthAccessToken=abc==', { oauthAccessToken: 'abc==' }],
  ['an empty value means the default', `${OAUTH}Timeout=;Pagesize=`, { timeoutSeconds: 60, pageSize: 1000 }],
  ['numbers', `${OAUTH}Timeout=0;Pagesize=250;MaxRows=10;Verbosity=5;OAuthExpiresIn=3600;OAuthTokenTimestamp=1767225600000`, { timeoutSeconds: 0, pageSize: 250, maxRows: 10, verbosity: 5, oauthExpiresIn: 3600, oauthTokenTimestamp: 1767225600000 }],
  ['a timestamp in seconds or ISO-8601', `${OAUTH}OAuthExpiresIn=60;OAuthTokenTimestamp=2026-01-01T00:00:00Z`, { oauthTokenTimestamp: Date.UTC(2026, 0, 1) }],
  ['URLs (trailing slash of URL dropped)', `${OAUTH}URL=http://127.0.0.1:9999/crm/rest/;OAuthAuthorizationURL=http://127.0.0.1:9999/app/oauth/authorize;OAuthAccessTokenURL=http://127.0.0.1:9999/token;CallbackURL=http://127.0.0.1:0/cb`, { url: 'http://127.0.0.1:9999/crm/rest', oauthAccessTokenUrl: 'http://127.0.0.1:9999/token', callbackUrl: 'http://127.0.0.1:0/cb' }],
  ['enumerations ignore case', 'authscheme=oauth;initiateoauth=off;oauthaccesstoken=t;scope=FULL', { authScheme: 'OAuth', initiateOAuth: 'OFF', scope: 'full' }],
  ['memory token store', `${OAUTH}OAuthSettingsLocation=memory://acct-1`, { oauthSettingsLocation: 'memory://acct-1' }],
  ['a token file path, ~ expanded', `${OAUTH}OAuthSettingsLocation=~/tokens/keap.json`, { oauthSettingsLocation: '/home/tester/tokens/keap.json' }],
  ['Profile names a directory', `${OAUTH}Profile=${profileDir}`, { profile: profileDir }],
  ['APIKey with Bearer header via Other', `AuthScheme=APIKey;APIKey=KeapAK-123;Other='APIKeyHeader=Authorization;OpenBrowser=false'`, { authScheme: 'APIKey', apiKey: 'KeapAK-123', apiKeyHeader: 'Authorization', openBrowser: false }],
  ['APIKey ignores OAuth properties, listing them', 'AuthScheme=APIKey;APIKey=pat-1;InitiateOAuth=GETANDREFRESH;OAuthClientId=x', { ignoredProperties: ['InitiateOAuth', 'OAuthClientId'] }],
  ['Logfile', `${OAUTH}Logfile=${join(profileDir, 'k.log')}`, { logfile: join(profileDir, 'k.log') }],
  ['REFRESH with a refresh token', 'InitiateOAuth=REFRESH;OAuthClientId=c;OAuthClientSecret=s;OAuthRefreshToken=r', { oauthRefreshToken: 'r' }],
];

for (const [name, input, expected] of valid) {
  test(`valid: ${name}`, () => {
    const s = parse(input);
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(s[k as keyof ConnectionSettings], v, k);
  });
}

// [case, input, message, detail-or-hint pattern]
const invalid: Array<[string, string, RegExp, RegExp?]> = [
  ['misspelled name', `${OAUTH}Timeout=5;OAuthClientSecert=x`, /^unknown connection property "OAuthClientSecert"$/, /Perhaps you meant "OAuthClientSecret"/],
  ['another misspelling', `${OAUTH}PageSize=5;Tmeout=3`, /^unknown connection property "Tmeout"$/, /Perhaps you meant "Timeout"/],
  ['prefix of a name', `${OAUTH}Timeout=5;Initiate=OFF`, /^unknown connection property "Initiate"$/, /Perhaps you meant "InitiateOAuth"/],
  ['no = at all', `${OAUTH}garbage`, /^connection string syntax error at character \d+: expected Name=Value after property "OAuthClientSecret"$/],
  ['a name missing', `${OAUTH}=value`, /^connection string syntax error at character \d+: a property name is missing before "="/],
  ['unterminated quote', `InitiateOAuth=OFF;OAuthAccessToken='abc`, /^connection string syntax error: the quoted value of "OAuthAccessToken" starting at character 36 has no closing '$/],
  ['text after a closing quote', `InitiateOAuth=OFF;OAuthAccessToken='abc'def`, /^connection string syntax error at character \d+: expected ";" after the quoted value of "OAuthAccessToken"$/],
  ['duplicate property', `${OAUTH}oauthclientid=other`, /^connection property "OAuthClientId" is given twice$/, /case-insensitive/],
  ['AuthScheme=None', 'AuthScheme=None', /^AuthScheme=None is not supported by Keap$/, /anonymous/],
  ['AuthScheme=Basic', 'AuthScheme=Basic', /^AuthScheme=Basic is not supported by Keap$/, /user name and password/],
  ['AuthScheme=NTLM', 'AuthScheme=NTLM', /^AuthScheme=NTLM is not supported by Keap$/, /NTLM/],
  ['AuthScheme=OAuth_Client', 'AuthScheme=OAuth_Client', /^AuthScheme=OAuth_Client is not supported by Keap$/, /client-credentials/],
  ['AuthScheme unknown', 'AuthScheme=Kerberos', /^invalid value for connection property "AuthScheme": value "Kerberos" is not recognized$/, /OAuth \(the default\) or APIKey/],
  ['InitiateOAuth unknown', 'InitiateOAuth=ALWAYS', /^invalid value for connection property "InitiateOAuth": value "ALWAYS" is not recognized$/, /OFF, GETANDREFRESH, REFRESH/],
  ['Scope other than full', `${OAUTH}Scope=read`, /"Scope": value "read" is not recognized$/, /Allowed values: full/],
  ['Timeout not a number', `${OAUTH}Timeout=soon`, /"Timeout": value "soon" is not an integer$/, /seconds from 0/],
  ['Timeout negative', `${OAUTH}Timeout=-1`, /"Timeout": value -1 is out of range$/],
  ['Pagesize above Keap’s maximum', `${OAUTH}Pagesize=5000`, /"Pagesize": value 5000 is out of range$/, /1 to 1000/],
  ['Pagesize fractional', `${OAUTH}Pagesize=1.5`, /"Pagesize": value "1.5" is not an integer$/],
  ['MaxRows below -1', `${OAUTH}MaxRows=-2`, /"MaxRows": value -2 is out of range$/, /-1 \(no limit\)/],
  ['Verbosity out of range', `${OAUTH}Verbosity=9`, /"Verbosity": value 9 is out of range$/, /1 .* to 5/],
  ['OAuthTokenTimestamp garbage', `${OAUTH}OAuthExpiresIn=5;OAuthTokenTimestamp=yesterday`, /"OAuthTokenTimestamp": value "yesterday" is not a time$/],
  ['OAuthTokenTimestamp without OAuthExpiresIn', `${OAUTH}OAuthTokenTimestamp=1767225600000`, /^OAuthTokenTimestamp needs OAuthExpiresIn$/],
  ['URL not a URL', `${OAUTH}URL=not a url`, /"URL": value "not a url" is not a URL$/, /http:\/\/ or https:\/\//],
  ['URL with another scheme', `${OAUTH}URL=ftp://example.com/`, /"URL": URL scheme "ftp" is not allowed$/],
  ['URL with credentials', `${OAUTH}OAuthAccessTokenURL=https://u:p@example.com/token`, /"OAuthAccessTokenURL": URL must not contain a user name or password$/],
  ['CallbackURL with a query', `${OAUTH}CallbackURL=http://localhost:1/cb?x=1`, /"CallbackURL": URL must not have a query or fragment$/],
  ['Profile missing', `${OAUTH}Profile=/nonexistent/keap`, /"Profile": directory "\/nonexistent\/keap" does not exist$/],
  ['Profile a file', `${OAUTH}Profile=${aFile}`, /"Profile": ".*file\.txt" is not a directory$/],
  ['OAuthSettingsLocation a directory', `${OAUTH}OAuthSettingsLocation=${profileDir}`, /"OAuthSettingsLocation": ".*" is a directory$/],
  ['memory store name with bad characters', `${OAUTH}OAuthSettingsLocation=memory://a/b`, /memory store name "a\/b" is not allowed$/],
  ['OFF without a token', 'InitiateOAuth=OFF', /^InitiateOAuth=OFF needs the OAuthAccessToken property$/, /GETANDREFRESH/],
  ['the default (OFF) without a token', 'AuthScheme=OAuth', /^InitiateOAuth=OFF needs the OAuthAccessToken property$/],
  ['GETANDREFRESH without client secret', 'InitiateOAuth=GETANDREFRESH;OAuthClientId=c', /^InitiateOAuth=GETANDREFRESH needs OAuthClientSecret$/, /keys\.developer\.keap\.com/],
  ['REFRESH without client credentials', 'InitiateOAuth=REFRESH;OAuthRefreshToken=r', /^InitiateOAuth=REFRESH needs OAuthClientId and OAuthClientSecret$/],
  ['APIKey without a key', 'AuthScheme=APIKey', /^AuthScheme=APIKey needs the APIKey property$/, /personal access token/],
  ['Other with an unknown name', `AuthScheme=APIKey;APIKey=k;Other='ApiKeyHeder=Authorization'`, /^unknown property "ApiKeyHeder" in Other$/, /Perhaps you meant "APIKeyHeader"/],
  ['APIKeyHeader value', `AuthScheme=APIKey;APIKey=k;Other='APIKeyHeader=Cookie'`, /"APIKeyHeader": is not a header Keap reads API keys from$/],
  ['OpenBrowser not boolean', `${OAUTH}Other='OpenBrowser=maybe'`, /"OpenBrowser": value "maybe" is not a boolean$/],
  ['an empty quoted value', `${OAUTH}Timeout=''`, /^connection property "Timeout" is empty$/],
  ['Other malformed', `${OAUTH}Other='OpenBrowser'`, /^connection property "Other" is malformed: connection string syntax error at character 1: expected Name=Value$/, /Other='APIKeyHeader=Authorization;OpenBrowser=false'/],
  ['an unknown name right after a secret is not quoted', `${OAUTH}abc=1`, /^unknown connection property at character 73, after property "OAuthClientSecret"$/, /If the value of OAuthClientSecret contains ";", quote it/],
  ['a NUL in a path', `${OAUTH}Logfile=/tmp/a\0b`, /"Logfile": path contains a NUL character$/],
  ['CacheConnection not a PostgreSQL URL', `${OAUTH}CacheConnection=mysql://u:pw@h/db`, /"CacheConnection": is not a PostgreSQL URL$/, /postgresql:\/\/USER:PASSWORD@HOST:PORT\/DATABASE/],
  ['CacheConnection misspelled', `CacheConection=postgresql://h/db;${OAUTH}`, /unknown connection property "CacheConection"/, /Perhaps you meant "CacheConnection"/],
];

for (const [name, input, message, extra] of invalid) {
  test(`invalid: ${name}`, () => {
    assert.throws(() => parse(input), (err: unknown) => {
      assert.ok(err instanceof ConfigError, `ConfigError, got ${String(err)}`);
      assert.equal(err.sqlstate, '22023');
      assert.match(err.message, message);
      if (extra) assert.match(`${err.detail ?? ''} ${err.hint ?? ''}`, extra);
      return true;
    });
  });
}

// hostile strings: a secret that holds an unquoted ";" must not appear in any error text
const hostile: Array<[string, string, string]> = [
  ['secret with an unquoted ; and a bare tail', `${OAUTH.replace('csecret', 'topsecret;tail-of-secret')}`, 'tail-of-secret'],
  ['secret with an unquoted ; and an = in the tail', `InitiateOAuth=OFF;OAuthAccessToken=abc;def=ghi-secret-part`, 'def'],
  ['unterminated quote swallowing the rest', `InitiateOAuth=OFF;OAuthAccessToken='sec;OAuthClientSecret=also-secret`, 'also-secret'],
];

for (const [name, input, secret] of hostile) {
  test(`hostile: ${name} — the error names positions, not secret text`, () => {
    assert.throws(() => parse(input), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = `${err.message} ${err.detail ?? ''} ${err.hint ?? ''}`;
      assert.ok(!text.includes(secret), `error text leaks "${secret}": ${text}`);
      return true;
    });
    assert.ok(!maskConnectionString(input).includes(secret), maskConnectionString(input));
  });
}

test('hostile: huge and control-character input is handled without crashing', () => {
  const long = 'x'.repeat(100_000);
  assert.throws(() => parse(`${long}=1`), (e: unknown) => e instanceof ConfigError && e.message.length < 200);
  assert.throws(() => parse('\u0000=\u0001;;;==;'), ConfigError);
  assert.throws(() => parse(`${OAUTH}Timeout=1;__proto__=x`), /unknown connection property "__proto__"/);
  assert.throws(() => parse(`${OAUTH}Timeout=1;constructor=x`), /unknown connection property "constructor"/);
});

const masks: Array<[string, string, string]> = [
  ['secrets masked, others kept', 'InitiateOAuth=GETANDREFRESH;OAuthClientId=cid;OAuthClientSecret=csecret;Timeout=5', 'InitiateOAuth=GETANDREFRESH;OAuthClientId=cid;OAuthClientSecret=********;Timeout=5;'],
  ['every secret property', 'OAuthAccessToken=a1;OAuthRefreshToken=r1;APIKey=k1;OAuthVerifier=v1', 'OAuthAccessToken=********;OAuthRefreshToken=********;APIKey=********;OAuthVerifier=********;'],
  ['quoted secrets and values needing quotes', `oauthclientsecret='a;b';Profile=' /x '`, `oauthclientsecret=********;Profile=' /x ';`],
  ['an unknown property’s value is masked (it may be a misspelled secret)', 'OAuthClientSecert=abc', 'OAuthClientSecert=********;'],
  ['a name after a secret is masked too', 'OAuthAccessToken=abc;def=ghi', 'OAuthAccessToken=********;********=********;'],
  ['a part without = is masked', 'OAuthClientSecret=abc;tail;Timeout=1', 'OAuthClientSecret=********;********;Timeout=1;'],
  ['unterminated quote', `Timeout=1;Profile='abc;OAuthClientSecret=x`, `Timeout=1;Profile=********;`],
  ['Other: own names kept, others masked', `Other='APIKeyHeader=Authorization;password=hunter2'`, `Other='APIKeyHeader=Authorization;password=********';`],
];

for (const [name, input, expected] of masks) {
  test(`mask: ${name}`, () => assert.equal(maskConnectionString(input), expected));
}

test('settings carry a masked copy of their connection string for logs', () => {
  const s = parse(`${OAUTH}OAuthAccessToken=tok-abc;OAuthRefreshToken=ref-abc`);
  for (const secret of ['csecret', 'tok-abc', 'ref-abc']) assert.ok(!s.masked.includes(secret));
  assert.match(s.masked, /OAuthClientId=cid/);
  assert.ok(!JSON.stringify({ masked: s.masked }).includes('csecret'));
});
