// What the SCIM interop tests share: the real broker with an organization's SCIM directory
// (startScim), a client of its base URL (call), and validate(): a SCIM response held to the
// core schemas by npm scimmy (RFC 7643 4: User, EnterpriseUser, Group; 5-6: the discovery
// documents; RFC 7644 3.4.2: ListResponse; 3.12: Error), with what scimmy does not check itself
// checked here: attributes no schema declares, schemas naming each extension present,
// meta.resourceType, the content type, and the ETag header equal to meta.version.
'use strict';
const assert = require('node:assert/strict');
const SCIMMY = require('scimmy');
const { startBroker } = require('./broker');

const SCIM_JSON = 'application/scim+json';
const URN = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  search: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
  config: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
};

// RFC 7644 3.12, table 9: each scimType and the status it goes with.
const SCIM_TYPES = {
  invalidFilter: '400', tooMany: '400', uniqueness: '409', mutability: '400',
  invalidSyntax: '400', invalidPath: '400', noTarget: '400', invalidValue: '400',
  invalidVers: '400', sensitive: '403',
};

// The User definition with the enterprise extension, as our /ResourceTypes declares it (not
// required). scimmy's definitions are module-wide: extend once.
const USER = SCIMMY.Schemas.User.definition;
if (!USER.attributes.some((a) => a.id === URN.enterprise))
  USER.extend(SCIMMY.Schemas.EnterpriseUser.definition, false);
const DEFINITIONS = { User: USER, Group: SCIMMY.Schemas.Group.definition };

// The broker, an organization and its SCIM directory; `scim` calls the directory's base URL.
async function startScim(extraEnv = {}) {
  const broker = await startBroker(extraEnv);
  const dir = await newDirectory(broker);
  return { broker, ...dir, stop: () => broker.stop() };
}

async function newDirectory(broker) {
  const org = await broker.api('POST', '/organizations', { display_name: `SCIM interop ${Date.now()}` });
  assert.equal(org.status, 201, JSON.stringify(org.json));
  const made = await broker.api('POST', `/organizations/${org.json.id}/directories`, { name: 'IdP' });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  const base = `${broker.url}/scim/v2/${made.json.id}`;
  const { token } = made.json;
  // One SCIM call: { status, headers, json (null when no body), text }.
  async function call(method, path, { body, raw, token: bearer = token, headers = {} } = {}) {
    const h = { ...headers };
    if (bearer !== null) h.authorization = `Bearer ${bearer}`;
    if (body !== undefined || raw !== undefined) h['content-type'] = SCIM_JSON;
    const r = await fetch(base + path, { method, headers: h,
      body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json = null;
    if (text) json = JSON.parse(text); // every answer with a body is JSON: a throw fails the test
    return { status: r.status, headers: r.headers, json, text };
  }
  return { directory: made.json.id, base, token, call };
}

// Every member of served (at any depth) is one the schema declares: scimmy drops undeclared
// members silently, so what it gave back (coerced) must hold all that was served. A dateTime
// comes back from scimmy in its own form: compared as instants.
function s_declared(served, coerced, where) {
  if (Array.isArray(served)) {
    assert.ok(Array.isArray(coerced) && coerced.length === served.length, `${where}: a list`);
    served.forEach((v, i) => s_declared(v, coerced[i], `${where}[${i}]`));
    return;
  }
  if (served !== null && typeof served === 'object') {
    assert.ok(coerced && typeof coerced === 'object', `${where}: an object`);
    const keys = Object.fromEntries(Object.keys(coerced).map((k) => [k.toLowerCase(), k]));
    for (const [k, v] of Object.entries(served)) {
      assert.ok(keys[k.toLowerCase()] !== undefined, `${where}.${k}: no schema declares it`);
      s_declared(v, coerced[keys[k.toLowerCase()]], `${where}.${k}`);
    }
    return;
  }
  if (typeof served === 'string' && served !== coerced && /^\d{4}-\d\d-\d\dT/.test(served))
    assert.equal(new Date(served).getTime(), new Date(coerced).getTime(), `${where}: the instant`);
  else
    assert.equal(served, coerced, `${where}: the value`);
}

// A resource (User or Group) as served: scimmy's coerce on the way out (types, plurality,
// canonical values, required attributes, the extension's), then what scimmy leaves unchecked.
// projected: the response of `attributes`/`excludedAttributes`, where attributes the request
// left out are absent (required ones too): checked member by member instead.
function validateResource(resource, type, { projected = false } = {}) {
  const definition = DEFINITIONS[type];
  assert.ok(definition, `a schema for ${type}`);
  assert.equal(typeof resource.id, 'string', 'id');
  assert.ok(Array.isArray(resource.schemas) && resource.schemas.includes(definition.id),
    `schemas names ${definition.id}: ${JSON.stringify(resource.schemas)}`);
  const extensions = definition.attributes.filter((a) => a.id).map((a) => a.id);
  for (const urn of resource.schemas)
    assert.ok(urn === definition.id || extensions.includes(urn), `schemas: ${urn} is not ${type}'s`);
  // A projection (attributes/excludedAttributes) may leave out an extension's attributes
  // while schemas still names the resource's schemas.
  for (const urn of extensions)
    if (!projected || resource[urn] !== undefined)
      assert.equal(resource[urn] !== undefined, resource.schemas.includes(urn),
        `schemas lists ${urn} exactly when its attributes are there (RFC 7643 3)`);
  if (resource.meta !== undefined) {
    assert.equal(resource.meta.resourceType, type, 'meta.resourceType');
    assert.ok(/^(W\/)?"[^"]*"$/.test(resource.meta.version), `meta.version an ETag: ${resource.meta.version}`);
    assert.ok(resource.meta.location.endsWith(`/${type}s/${resource.id}`), resource.meta.location);
  }
  let coerced;
  if (!projected) {
    coerced = definition.coerce(resource, 'out');
  } else {
    // Without the schema's required check: each attribute served, coerced on its own.
    coerced = {};
    for (const [k, v] of Object.entries(resource)) {
      if (k === 'schemas') { coerced[k] = v; continue; }
      const attribute = definition.attribute(k); // throws when no schema declares k
      coerced[k] = attribute.coerce(v, 'out');
    }
  }
  s_declared(resource, JSON.parse(JSON.stringify({ ...coerced, schemas: resource.schemas })), type);
  return resource;
}

// An Error message (RFC 7644 3.12): exactly its schema, status a string equal to the HTTP
// status, scimType one of table 9's for that status; scimmy's ErrorResponse takes it too.
function validateError(json, status) {
  assert.deepEqual(json.schemas, [URN.error], 'schemas of an Error');
  assert.equal(json.status, String(status), 'status, a string');
  if (json.scimType !== undefined) {
    assert.ok(SCIM_TYPES[json.scimType], `scimType ${json.scimType} is RFC 7644 3.12's`);
    assert.equal(SCIM_TYPES[json.scimType], json.status, `${json.scimType} goes with ${SCIM_TYPES[json.scimType]}`);
  }
  for (const k of Object.keys(json))
    assert.ok(['schemas', 'status', 'scimType', 'detail'].includes(k), `an Error has no ${k}`);
  if (json.detail !== undefined) assert.equal(typeof json.detail, 'string');
  const msg = new SCIMMY.Messages.ErrorResponse({ status: Number(json.status), scimType: json.scimType, detail: json.detail });
  assert.equal(msg.status, json.status);
  return json;
}

// A ListResponse (RFC 7644 3.4.2): its schema alone, integers, each resource of type.
function validateList(json, type, opts) {
  assert.deepEqual(json.schemas, [URN.list], 'schemas of a ListResponse');
  new SCIMMY.Messages.ListResponse(json); // throws on non-integers or another schema
  for (const k of ['totalResults', 'itemsPerPage', 'startIndex'])
    assert.ok(Number.isInteger(json[k]) && json[k] >= 0, `${k}: ${json[k]}`);
  assert.ok(json.startIndex >= 1, 'startIndex is 1-based');
  const resources = json.Resources || [];
  assert.equal(resources.length, json.itemsPerPage, 'itemsPerPage counts the page\'s Resources');
  assert.ok(json.totalResults >= resources.length + json.startIndex - 1 || resources.length === 0,
    'totalResults covers the page');
  for (const k of Object.keys(json))
    assert.ok(['schemas', 'totalResults', 'itemsPerPage', 'startIndex', 'Resources'].includes(k), `a ListResponse has no ${k}`);
  for (const r of resources) validateResource(r, type, opts);
  return json;
}

// A discovery document by its path: /ServiceProviderConfig, /ResourceTypes(/x), /Schemas(/x).
function validateDiscovery(json, path) {
  if (path === '/ServiceProviderConfig') {
    assert.deepEqual(json.schemas, [URN.config]);
    // Departs: scimmy's authenticationSchemes declares no `primary`, which RFC 7643 2.4 gives
    // every multi-valued attribute and its own example (8.5) carries; checked apart, and that
    // scimmy still drops it.
    const served = JSON.parse(JSON.stringify(json));
    for (const scheme of served.authenticationSchemes) {
      assert.equal(typeof scheme.primary, 'boolean', 'authenticationSchemes[].primary');
      delete scheme.primary;
    }
    const coerced = SCIMMY.Schemas.ServiceProviderConfig.definition.coerce(json, 'out');
    assert.ok(JSON.parse(JSON.stringify(coerced)).authenticationSchemes.every((a) => a.primary === undefined),
      'scimmy now declares authenticationSchemes.primary: drop the departure note');
    s_declared(served, JSON.parse(JSON.stringify(coerced)), 'ServiceProviderConfig');
  } else if (path.startsWith('/ResourceTypes/')) {
    assert.deepEqual(json.schemas, [URN.resourceType]);
    s_declared(json, JSON.parse(JSON.stringify(SCIMMY.Schemas.ResourceType.definition.coerce(json, 'out'))), 'ResourceType');
    assert.ok(DEFINITIONS[json.name], `a resource type scimmy knows: ${json.name}`);
    assert.equal(json.schema, DEFINITIONS[json.name].id);
  } else if (path.startsWith('/Schemas/')) {
    validateSchema(json);
  } else {
    assert.deepEqual(json.schemas, [URN.list]);
    const type = path === '/ResourceTypes' ? '/ResourceTypes/' : '/Schemas/';
    assert.equal(json.totalResults, json.Resources.length);
    for (const r of json.Resources) validateDiscovery(r, type + (r.id || r.name));
  }
  return json;
}

// An attribute definition's characteristics, RFC 7643 7's values.
function s_attribute(a, where) {
  assert.ok(['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'binary', 'complex']
    .includes(a.type), `${where}: type ${a.type}`);
  for (const k of ['multiValued', 'required', 'caseExact'])
    assert.equal(typeof a[k], 'boolean', `${where}: ${k}`);
  assert.ok(['readOnly', 'readWrite', 'immutable', 'writeOnly'].includes(a.mutability), `${where}: mutability`);
  assert.ok(['always', 'never', 'default', 'request'].includes(a.returned), `${where}: returned`);
  assert.ok(['none', 'server', 'global'].includes(a.uniqueness), `${where}: uniqueness`);
  if (a.type === 'reference') assert.ok(Array.isArray(a.referenceTypes) && a.referenceTypes.length, `${where}: referenceTypes`);
  assert.equal(a.type === 'complex', Array.isArray(a.subAttributes), `${where}: subAttributes exactly when complex`);
  for (const sub of a.subAttributes || []) s_attribute(sub, `${where}.${sub.name}`);
}

// A schema document (RFC 7643 7) against scimmy's own description of the same schema: every
// attribute it declares with the same name, type, plurality and sub-attributes.
function validateSchema(json) {
  assert.deepEqual(json.schemas, [URN.schema]);
  const ours = { [URN.user]: SCIMMY.Schemas.User.definition, [URN.group]: SCIMMY.Schemas.Group.definition,
    [URN.enterprise]: SCIMMY.Schemas.EnterpriseUser.definition }[json.id];
  assert.ok(ours, `a schema scimmy knows: ${json.id}`);
  const theirs = JSON.parse(JSON.stringify(ours.describe()));
  // Not a departure of either: the service never keeps a password (RFC 7644 3.3 lets it ignore
  // one), so its schema does not declare one; scimmy's (writeOnly, returned never) does.
  theirs.attributes = theirs.attributes.filter((a) => a.name !== 'password');
  const shape = (attrs) => Object.fromEntries((attrs || []).map((a) => [a.name,
    { type: a.type, multiValued: a.multiValued, required: a.required,
      subAttributes: shape(a.subAttributes) }]));
  assert.deepEqual(shape(json.attributes), shape(theirs.attributes), `${json.id}'s attributes`);
  for (const a of json.attributes) s_attribute(a, `${json.id}:${a.name}`);
  return json;
}

// One response, validated as what it is: { as: 'User' | 'Group' | 'ListResponse' | 'Error' |
// 'discovery', type (a list's resources), path (a discovery document's), projected }.
function validate(r, { as, type = 'User', path, projected = false, status } = {}) {
  if (status !== undefined) assert.equal(r.status, status, r.text);
  if (r.status === 204) {
    assert.equal(r.text, '', 'a 204 has no body');
    return null;
  }
  assert.ok((r.headers.get('content-type') || '').startsWith(SCIM_JSON), `content type ${r.headers.get('content-type')}`);
  const json = r.json;
  assert.ok(json && typeof json === 'object', 'a JSON object');
  if (r.status >= 400 || as === 'Error') {
    assert.ok(as === undefined || as === 'Error', `${as} expected, got ${r.status}: ${r.text}`);
    return validateError(json, r.status);
  }
  if (as === 'ListResponse') return validateList(json, type, { projected });
  if (as === 'discovery') return validateDiscovery(json, path);
  validateResource(json, as, { projected });
  if (json.meta && json.meta.version !== undefined)
    assert.equal(r.headers.get('etag'), json.meta.version, 'ETag is meta.version');
  return json;
}

module.exports = { URN, SCIM_JSON, SCIM_TYPES, SCIMMY, startScim, newDirectory, validate };
