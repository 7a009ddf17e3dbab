// Every list and get response of every resource in both versions validates against the response schemas of
// Keap's OpenAPI files (extracted to test/openapi/response-schemas.json by test/openapi/extract-schemas.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { loadSchemas, validate, type Schema, type SchemaFile } from './openapi/validate.js';
import { authed, NO_LIMITS, type Got } from './openapi/sandbox-client.js';

let sb: Sandbox;
let get: ReturnType<typeof authed>;
let schemas: SchemaFile;

before(async () => {
  sb = await startSandbox({ contacts: 300, seed: 7, limits: NO_LIMITS });
  get = authed(sb);
  schemas = loadSchemas();
});
after(() => sb.close());

/** [wire path, the spec path whose 200 schema applies] */
const V1: [string, string][] = [
  ['/v1/contacts?limit=50', '/v1/contacts'],
  ['/v1/contacts?limit=20&optional_properties=custom_fields,job_title,lead_source_id,social_accounts,fax_numbers,birthday,anniversary,origin,source_type,preferred_name,time_zone,website', '/v1/contacts'],
  ['/v1/contacts/5', '/v1/contacts/{id}'],
  ['/v1/contacts/5?optional_properties=custom_fields', '/v1/contacts/{id}'],
  ['/v1/contacts/model', '/v1/contacts/model'],
  ['/v1/contacts/5/tags', '/v1/contacts/{contactId}/tags'],
  ['/v1/contacts/5/emails', '/v1/contacts/{contactId}/emails'],
  ['/v1/companies?optional_properties=custom_fields,fax_number,notes', '/v1/companies'],
  ['/v1/companies/3', '/v1/companies/{companyId}'],
  ['/v1/companies/model', '/v1/companies/model'],
  ['/v1/tags', '/v1/tags'],
  ['/v1/tags/2', '/v1/tags/{id}'],
  ['/v1/tags/2/contacts', '/v1/tags/{tagId}/contacts'],
  ['/v1/products', '/v1/products'],
  ['/v1/products/2', '/v1/products/{productId}'],
  ['/v1/products/3', '/v1/products/{productId}'],
  ['/v1/orders?limit=50', '/v1/orders'],
  ['/v1/orders/4', '/v1/orders/{orderId}'],
  ['/v1/orders/model', '/v1/orders/model'],
  ['/v1/transactions?limit=30', '/v1/transactions'],
  ['/v1/subscriptions', '/v1/subscriptions'],
  ['/v1/subscriptions/model', '/v1/subscriptions/model'],
  ['/v1/opportunities?optional_properties=custom_fields', '/v1/opportunities'],
  ['/v1/opportunities/3', '/v1/opportunities/{opportunityId}'],
  ['/v1/opportunities/model', '/v1/opportunities/model'],
  ['/v1/opportunity/stage_pipeline', '/v1/opportunity/stage_pipeline'],
  ['/v1/tasks?limit=50', '/v1/tasks'],
  ['/v1/tasks/search?limit=10', '/v1/tasks/search'],
  ['/v1/tasks/3', '/v1/tasks/{taskId}'],
  ['/v1/tasks/model', '/v1/tasks/model'],
  ['/v1/notes?limit=50', '/v1/notes'],
  ['/v1/notes/3', '/v1/notes/{noteId}'],
  ['/v1/notes/model', '/v1/notes/model'],
  ['/v1/campaigns', '/v1/campaigns'],
  ['/v1/campaigns/2', '/v1/campaigns/{campaignId}'],
  ['/v1/emails?limit=50', '/v1/emails'],
  ['/v1/emails/3', '/v1/emails/{id}'],
  ['/v1/users', '/v1/users'],
  ['/v1/appointments', '/v1/appointments'],
  ['/v1/appointments/3', '/v1/appointments/{appointmentId}'],
  ['/v1/appointments/model', '/v1/appointments/model'],
  ['/v1/files', '/v1/files'],
  ['/v1/files/3', '/v1/files/{fileId}'],
  ['/v1/affiliates', '/v1/affiliates'],
  ['/v1/affiliates/2', '/v1/affiliates/{id}'],
  ['/v1/affiliates/model', '/v1/affiliates/model'],
  ['/v1/oauth/connect/userinfo', '/v1/oauth/connect/userinfo'],
  ['/v1/account/profile', '/v1/account/profile'],
  ['/v1/contacts/4/creditCards', '/v1/contacts/{contactId}/creditCards'],
  ['/v1/hooks/event_keys', '/v1/hooks/event_keys'],
  ['/v1/locales/defaultOptions', '/v1/locales/defaultOptions'],
  ['/v1/setting/contact/optionTypes', '/v1/setting/contact/optionTypes'],
];

const V2: [string, string][] = [
  ['/v2/contacts?page_size=50', '/v2/contacts'],
  ['/v2/contacts?page_size=20&fields=' + ['addresses', 'anniversary_date', 'birth_date', 'company', 'contact_type', 'create_time', 'custom_fields', 'email_addresses', 'family_name', 'fax_numbers', 'given_name', 'job_title', 'leadsource_id', 'links', 'middle_name', 'origin', 'owner_id', 'phone_numbers', 'preferred_locale', 'preferred_name', 'prefix', 'referral_code', 'score_value', 'social_accounts', 'source_type', 'spouse_name', 'suffix', 'tag_ids', 'time_zone', 'update_time', 'utm_parameters', 'website'].join(','), '/v2/contacts'],
  ['/v2/contacts/5?fields=custom_fields,tag_ids,origin', '/v2/contacts/{contact_id}'],
  ['/v2/contacts/model', '/v2/contacts/model'],
  ['/v2/contacts/5/notes', '/v2/contacts/{contact_id}/notes'],
  ['/v2/companies?fields=address,email_address,phone_number,fax_number,notes,custom_fields,create_time,update_time', '/v2/companies'],
  ['/v2/companies/3?fields=address,custom_fields', '/v2/companies/{company_id}'],
  ['/v2/tags', '/v2/tags'],
  ['/v2/tags/2', '/v2/tags/{tag_id}'],
  ['/v2/tags/categories', '/v2/tags/categories'],
  ['/v2/tags/categories/2', '/v2/tags/categories/{tag_category_id}'],
  ['/v2/tags/2/contacts', '/v2/tags/{tag_id}/contacts'],
  ['/v2/products', '/v2/products'],
  ['/v2/products/2', '/v2/products/{product_id}'],
  ['/v2/products/12', '/v2/products/{product_id}'],
  ['/v2/orders?page_size=50', '/v2/orders'],
  ['/v2/orders/4', '/v2/orders/{order_id}'],
  ['/v2/orders/model', '/v2/orders/model'],
  ['/v2/orders/4/payments', '/v2/orders/{order_id}/payments'],
  ['/v2/subscriptions', '/v2/subscriptions'],
  ['/v2/subscriptions/2', '/v2/subscriptions/{subscription_id}'],
  ['/v2/subscriptions/model', '/v2/subscriptions/model'],
  ['/v2/opportunities?fields=custom_fields', '/v2/opportunities'],
  ['/v2/opportunities/3', '/v2/opportunities/{opportunity_id}'],
  ['/v2/opportunities/stages', '/v2/opportunities/stages'],
  ['/v2/opportunities/stages/2', '/v2/opportunities/stages/{stage_id}'],
  ['/v2/tasks', '/v2/tasks'],
  ['/v2/tasks/3', '/v2/tasks/{task_id}'],
  ['/v2/tasks/model', '/v2/tasks/model'],
  ['/v2/notes/model', '/v2/notes/model'],
  ['/v2/campaigns', '/v2/campaigns'],
  ['/v2/campaigns/2', '/v2/campaigns/{campaign_id}'],
  ['/v2/emails?page_size=50', '/v2/emails'],
  ['/v2/emails/3', '/v2/emails/{id}'],
  ['/v2/users', '/v2/users'],
  ['/v2/users/1', '/v2/users/{user_id}'],
  ['/v2/files', '/v2/files'],
  ['/v2/files/3', '/v2/files/{file_id}'],
  ['/v2/affiliates', '/v2/affiliates'],
  ['/v2/affiliates/2', '/v2/affiliates/{id}'],
  ['/v2/affiliates/model', '/v2/affiliates/model'],
  ['/v2/oauth/connect/userinfo', '/v2/oauth/connect/userinfo'],
  ['/v2/leadSources', '/v2/leadSources'],
  ['/v2/leadSources/3', '/v2/leadSources/{lead_source_id}'],
  ['/v2/leadSourceCategories', '/v2/leadSourceCategories'],
  ['/v2/leadSourceCategories/2', '/v2/leadSourceCategories/{lead_source_category_id}'],
  ['/v2/contacts/3/leadScore', '/v2/contacts/{contact_id}/leadScore'],
  ['/v2/contacts/4/paymentMethods', '/v2/contacts/{contact_id}/paymentMethods'],
  ['/v2/contacts/-/paymentMethods?page_size=50', '/v2/contacts/{contact_id}/paymentMethods'],
  ['/v2/settings/contactOptionTypes', '/v2/settings/contactOptionTypes'],
];

/** v2 lists the 2025-11-05 file lacks (they come from Keap's newer swagger): envelope key and item component. */
const V2_BY_COMPONENT: [string, string, string][] = [
  ['/v2/notes?page_size=50', 'notes', 'Note'],
  ['/v2/contacts/5/tags', 'tags', 'Tag'],
  ['/v2/paymentMethods?page_size=50', 'payment_methods', 'PaymentMethod'],
  ['/v2/referrals', 'referrals', 'Referral'],
  ['/v2/affiliates/1/referrals', 'referrals', 'Referral'],
];

function check(label: string, got: Got, schema: Schema | undefined, allowNull: boolean): void {
  assert.equal(got.status, 200, `${label}: ${got.text.slice(0, 200)}`);
  assert.ok(schema, `${label}: no schema in the spec`);
  const errs = validate(got.json, schema, { allowNull });
  assert.deepEqual(errs.slice(0, 10), [], `${label} does not match its schema`);
}

test('every v1 list and get response validates against the v1 OpenAPI schema (unset values as null, as v1 sends them)', async () => {
  for (const [path, spec] of V1) check(path, await get(path), schemas.v1[spec], true);
});

test('every v2 list and get response validates against the v2 OpenAPI schema (no nulls)', async () => {
  for (const [path, spec] of V2) check(path, await get(path), schemas.v2[spec], false);
  for (const [path, envelope, component] of V2_BY_COMPONENT) {
    const item = schemas.components.v2[component];
    const schema: Schema = { type: 'object', properties: { [envelope]: { type: 'array', items: component === 'Tag' ? { type: 'object', properties: { tag: item!, applied_time: { type: 'string' } } } : item! }, next_page_token: { type: 'string' } } };
    check(path, await get(path), schema, false);
  }
});

test('v2 payments and transactions validate against Payment/TransactionV2 where the spec has them, and carry string ids', async () => {
  for (const [path, envelope] of [['/v2/sales/payments?page_size=20', 'payments'], ['/v2/sales/transactions?page_size=20', 'transactions']] as const) {
    const got = await get(path);
    assert.equal(got.status, 200);
    const items = (got.json as Record<string, Record<string, unknown>[]>)[envelope]!;
    assert.ok(items.length > 0);
    for (const it of items) {
      assert.equal(typeof it.contact_id, 'string');
      assert.ok(Array.isArray(it.order_ids) && (it.order_ids as unknown[]).every((x) => typeof x === 'string'));
      assert.equal(typeof it.amount, 'number');
    }
  }
});

test('a validator that can fail: a wrong type, a bad enum and a missing required property are reported', () => {
  const schema = schemas.v2['/v2/opportunities']!;
  const bad = { opportunities: [{ id: 5, contact: { id: '1' }, stage: { id: '1', name: 'x' }, include_in_forecast: 'yes' }] };
  const errs = validate(bad, schema);
  assert.ok(errs.some((e) => e.includes('.id: expected string')), errs.join('\n'));
  assert.ok(errs.some((e) => e.includes('missing required property opportunity_title')), errs.join('\n'));
  assert.ok(errs.some((e) => e.includes('include_in_forecast: expected boolean')), errs.join('\n'));
  assert.ok(validate({ orders: [{ status: 'SHIPPED' }] }, schemas.v2['/v2/orders']!).some((e) => e.includes('is not one of')));
});
