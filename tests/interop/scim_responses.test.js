// Every SCIM response of a representative run against the real service (the broker, through
// the gateway) validated by npm scimmy against the core schemas (scim_kit.js's validate: User
// with the enterprise extension, Group, ListResponse, Error, the discovery documents; content
// type, ETag equal to meta.version); and the PATCH differential through the service: every
// request of scim_patch_cases.js is sent over HTTP to a user or a group created from the
// case's resource (a group's members users made for the run), and the service's resource must
// be npm scim-patch's reading of it (or the RFC's, where the case notes that the library
// departs), a refusal the same scimType with the resource left as it was.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { URN, SCIMMY, startScim, validate } = require('./scim_kit');
const { CASES, CORE_USER, CORE_GROUP, clone, expectation } = require('./scim_patch_cases');

let scim;
before(async () => { scim = await startScim(); });
after(async () => { if (scim) await scim.stop(); });

// Okta's POST /Users (its SCIM 2.0 guide): groups [] and, with password sync, a password.
const okta = (userName) => ({
  schemas: [URN.user], userName, name: { givenName: 'Test', familyName: 'User' },
  emails: [{ primary: true, value: userName, type: 'work' }], displayName: 'Test User',
  locale: 'en-US', externalId: `okta-${userName}`, groups: [], password: '1mz050nq', active: true,
});
// Entra ID's POST /Users: the enterprise extension, active as a string, meta and roles sent.
const entra = (userName) => ({
  schemas: [URN.user, URN.enterprise], externalId: `entra-${userName}`, userName,
  active: 'True', displayName: 'Test User3', meta: { resourceType: 'User' }, roles: [],
  emails: [{ primary: true, type: 'work', value: userName }],
  name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
  [URN.enterprise]: { department: 'Engineering', manager: { value: 'm-1' }, employeeNumber: '42' },
});

const DISCOVERY = ['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/User', '/Schemas',
  `/Schemas/${URN.user}`, `/Schemas/${URN.enterprise}`, `/Schemas/${URN.group}`];

test('discovery documents', async () => {
  for (const path of DISCOVERY) {
    const r = await scim.call('GET', path);
    validate(r, { as: 'discovery', path, status: 200 });
  }
  // Every resource type served names a schema that /Schemas serves.
  const types = (await scim.call('GET', '/ResourceTypes')).json.Resources;
  for (const t of types)
    validate(await scim.call('GET', `/Schemas/${t.schema}`), { as: 'discovery', path: `/Schemas/${t.schema}`, status: 200 });
});

test('Users: every answer of a create-to-delete run', async () => {
  // POST in Okta's and Entra's shapes.
  const a = validate(await scim.call('POST', '/Users', { body: okta('ann@example.com') }), { as: 'User', status: 201 });
  assert.equal(a.password, undefined, 'a password is never served');
  const b = validate(await scim.call('POST', '/Users', { body: entra('bob@example.com') }), { as: 'User', status: 201 });
  assert.equal(b.active, true);
  assert.deepEqual(b.schemas, [URN.user, URN.enterprise]);
  assert.equal(b[URN.enterprise].department, 'Engineering');
  const c = validate(await scim.call('POST', '/Users', { body: { schemas: [URN.user], userName: 'cy@example.com',
    [URN.enterprise]: { costCenter: '7' } } }), { as: 'User', status: 201 });
  assert.deepEqual(c.schemas, [URN.user, URN.enterprise], 'the extension\'s URN added to schemas');

  // GET by id; its ETag is meta.version.
  const got = validate(await scim.call('GET', `/Users/${b.id}`), { as: 'User', status: 200 });
  assert.deepEqual(got, b);

  // Lists: filters (Okta's and Entra's), paging, sortBy, and .search.
  const list = async (query, want) => {
    const l = validate(await scim.call('GET', `/Users?${query}`), { as: 'ListResponse', status: 200 });
    assert.deepEqual(l.Resources.map((u) => u.userName), want, query);
    return l;
  };
  await list(`filter=${encodeURIComponent('userName eq "ann@example.com"')}`, ['ann@example.com']);
  await list(`filter=${encodeURIComponent('emails[type eq "work"].value eq "BOB@example.com"')}`, ['bob@example.com']);
  await list(`filter=${encodeURIComponent(`externalId eq "entra-bob@example.com" or ${URN.enterprise}:costCenter pr`)}&sortBy=userName`,
    ['bob@example.com', 'cy@example.com']);
  await list(`filter=${encodeURIComponent('meta.created gt "2000-01-01T00:00:00Z" and not (userName sw "c")')}&sortBy=userName&sortOrder=descending`,
    ['bob@example.com', 'ann@example.com']);
  await list(`filter=${encodeURIComponent('userName eq "nobody"')}`, []);
  const page = await list('sortBy=userName&startIndex=2&count=1', ['bob@example.com']);
  assert.deepEqual([page.totalResults, page.itemsPerPage, page.startIndex], [3, 1, 2]);
  const empty = await list('count=0', []);
  assert.equal(empty.totalResults, 3);
  const found = validate(await scim.call('POST', '/Users/.search', { body: { schemas: [URN.search],
    filter: 'userName co "example"', sortBy: 'userName', startIndex: 1, count: 2 } }), { as: 'ListResponse', status: 200 });
  assert.deepEqual(found.Resources.map((u) => u.userName), ['ann@example.com', 'bob@example.com']);
  assert.equal(found.totalResults, 3);

  // attributes / excludedAttributes: what is served is what scimmy's own projection of the
  // full resource keeps (RFC 7644 3.4.2.5), and each list item likewise.
  const projections = [['attributes', 'userName,emails.value'], ['attributes', `${URN.enterprise}:department`],
    ['excludedAttributes', 'emails,name'], ['excludedAttributes', URN.enterprise]];
  for (const [param, value] of projections) {
    const one = validate(await scim.call('GET', `/Users/${b.id}?${param}=${encodeURIComponent(value)}`),
      { as: 'User', status: 200, projected: true });
    sameProjection(one, b, param, value);
    const many = validate(await scim.call('GET', `/Users?sortBy=userName&${param}=${encodeURIComponent(value)}`),
      { as: 'ListResponse', status: 200, projected: true });
    assert.equal(many.Resources.length, 3);
    sameProjection(many.Resources[1], b, param, value);
  }

  // PUT (If-Match), PATCH (Okta's deactivation), a stale If-Match.
  const put = validate(await scim.call('PUT', `/Users/${a.id}`, { headers: { 'if-match': a.meta.version },
    body: { ...okta('ann@example.com'), displayName: 'Ann', title: 'Engineer' } }), { as: 'User', status: 200 });
  assert.equal(put.title, 'Engineer');
  assert.notEqual(put.meta.version, a.meta.version);
  const off = validate(await scim.call('PATCH', `/Users/${a.id}`, { body: { schemas: [URN.patch],
    Operations: [{ op: 'replace', value: { active: false } }] } }), { as: 'User', status: 200 });
  assert.equal(off.active, false);
  validate(await scim.call('PUT', `/Users/${a.id}`, { headers: { 'if-match': a.meta.version },
    body: okta('ann@example.com') }), { status: 412 });
  validate(await scim.call('PATCH', `/Users/${a.id}`, { headers: { 'if-match': put.meta.version },
    body: { schemas: [URN.patch], Operations: [{ op: 'replace', path: 'title', value: 'x' }] } }), { status: 412 });

  // DELETE: 204 without a body, then 404.
  validate(await scim.call('DELETE', `/Users/${c.id}`), { status: 204 });
  validate(await scim.call('GET', `/Users/${c.id}`), { status: 404 });
  validate(await scim.call('DELETE', `/Users/${c.id}`), { status: 404 });
});

test("Groups: every answer of a create-to-delete run (Okta's and Entra's shapes)", async () => {
  const user = async (name) => validate(await scim.call('POST', '/Users', { body: okta(name) }), { as: 'User', status: 201 });
  const [u1, u2, u3] = [await user('g1@example.com'), await user('g2@example.com'), await user('g3@example.com')];
  // Okta's group push: POST with members; Entra's: externalId, and members added later.
  const eng = validate(await scim.call('POST', '/Groups', { body: { schemas: [URN.group], displayName: 'Engineering',
    members: [{ value: u1.id, display: 'g1' }, { value: u2.id }] } }), { as: 'Group', status: 201 });
  assert.deepEqual(eng.members.map((m) => m.value), [u1.id, u2.id]);
  const ops = validate(await scim.call('POST', '/Groups', { body: { schemas: [URN.group], displayName: 'Ops',
    externalId: 'entra-ops' } }), { as: 'Group', status: 201 });
  assert.equal(ops.members, undefined, 'no members: none served');
  validate(await scim.call('GET', `/Groups/${eng.id}`), { as: 'Group', status: 200 });
  validate(await scim.call('GET', `/ResourceTypes/Group`), { as: 'discovery', path: '/ResourceTypes/Group', status: 200 });
  // A member's groups on the user.
  const member = validate(await scim.call('GET', `/Users/${u1.id}`), { as: 'User', status: 200 });
  assert.deepEqual(member.groups.map((g) => g.value), [eng.id]);

  // Lists as Okta and Entra ask them (excludedAttributes=members), by member, paged.
  const list = async (query, want) => {
    const l = validate(await scim.call('GET', `/Groups?${query}`), { as: 'ListResponse', type: 'Group', status: 200, projected: /attributes/i.test(query) });
    assert.deepEqual(l.Resources.map((g) => g.displayName), want, query);
    return l;
  };
  const byName = await list(`filter=${encodeURIComponent('displayName eq "engineering"')}&excludedAttributes=members`, ['Engineering']);
  assert.equal(byName.Resources[0].members, undefined);
  await list(`filter=${encodeURIComponent('externalId eq "entra-ops"')}&excludedAttributes=members`, ['Ops']);
  await list(`filter=${encodeURIComponent(`members[value eq "${u2.id}"]`)}`, ['Engineering']);
  await list(`filter=${encodeURIComponent(`members.value eq "${u3.id}"`)}`, []);
  await list('sortBy=displayName&sortOrder=descending', ['Ops', 'Engineering']);
  const page = await list('sortBy=displayName&startIndex=2&count=1', ['Ops']);
  assert.deepEqual([page.totalResults, page.itemsPerPage, page.startIndex], [2, 1, 2]);
  validate(await scim.call('POST', '/Groups/.search', { body: { schemas: [URN.search], filter: 'displayName sw "O"' } }),
    { as: 'ListResponse', type: 'Group', status: 200 });

  // PATCH: Entra's capitalised Add of a member, Okta's remove by filter, a rename without a
  // path; 204 with the ETag, or the group when a shape is asked for.
  const added = await scim.call('PATCH', `/Groups/${ops.id}`, { body: { schemas: [URN.patch],
    Operations: [{ op: 'Add', path: 'members', value: [{ value: u3.id }] }] } });
  assert.equal(added.status, 204);
  const removed = validate(await scim.call('PATCH', `/Groups/${eng.id}?excludedAttributes=displayName`, { body: { schemas: [URN.patch],
    Operations: [{ op: 'remove', path: `members[value eq "${u1.id}"]` }] } }), { as: 'Group', status: 200, projected: true });
  assert.deepEqual(removed.members.map((m) => m.value), [u2.id]);
  const renamed = await scim.call('PATCH', `/Groups/${eng.id}`, { body: { schemas: [URN.patch],
    Operations: [{ op: 'replace', value: { id: eng.id, displayName: 'Eng' } }] } });
  assert.equal(renamed.status, 204);
  const now = validate(await scim.call('GET', `/Groups/${eng.id}`), { as: 'Group', status: 200 });
  assert.equal(renamed.headers.get('etag'), now.meta.version);
  assert.equal(now.displayName, 'Eng');

  // PUT with If-Match: the membership replaced; a stale If-Match is 412, nothing changed.
  const put = validate(await scim.call('PUT', `/Groups/${eng.id}`, { headers: { 'if-match': now.meta.version },
    body: { schemas: [URN.group], displayName: 'Eng', members: [{ value: u3.id }] } }), { as: 'Group', status: 200 });
  assert.deepEqual(put.members.map((m) => m.value), [u3.id]);
  validate(await scim.call('PUT', `/Groups/${eng.id}`, { headers: { 'if-match': now.meta.version },
    body: { schemas: [URN.group], displayName: 'X' } }), { status: 412 });
  // Refusals, each a SCIM Error: a member that is no user here, a nested group, an unknown
  // attribute, no displayName.
  validate(await scim.call('POST', '/Groups', { body: { schemas: [URN.group], displayName: 'X', members: [{ value: 'scu_nobody' }] } }), { status: 400 });
  validate(await scim.call('POST', '/Groups', { body: { schemas: [URN.group], displayName: 'X', members: [{ value: ops.id, type: 'Group' }] } }), { status: 400 });
  validate(await scim.call('POST', '/Groups', { body: { schemas: [URN.group], displayName: 'X', shoeSize: 1 } }), { status: 400 });
  validate(await scim.call('POST', '/Groups', { body: { schemas: [URN.group] } }), { status: 400 });
  assert.deepEqual(validate(await scim.call('GET', `/Groups/${eng.id}`), { as: 'Group', status: 200 }), put);

  // DELETE: 204, then 404.
  for (const g of [eng, ops]) {
    validate(await scim.call('DELETE', `/Groups/${g.id}`), { status: 204 });
    validate(await scim.call('GET', `/Groups/${g.id}`), { status: 404 });
  }
  for (const u of [u1, u2, u3])
    validate(await scim.call('DELETE', `/Users/${u.id}`), { status: 204 });
});

// scimmy's reading of `attributes`/`excludedAttributes` over the full resource, as its
// SCIMMY.Types.Resource builds the filter from the query (`a pr and b pr`, `a np and b np`).
// Departs: with `attributes`, scimmy drops `schemas`, which RFC 7643 3 makes REQUIRED in every
// representation;
// the service keeps it, and meta (the resource's version: RFC 7644 3.14) unless excluded,
// which RFC 7644 3.4.2.5 leaves to the provider. Compared without both, and scimmy checked to
// still drop schemas.
function sameProjection(served, full, param, value) {
  const op = param === 'attributes' ? 'pr' : 'np';
  const filter = new SCIMMY.Types.Filter(value.split(',').map((a) => `${a} ${op}`).join(' and '));
  const theirs = JSON.parse(JSON.stringify(SCIMMY.Schemas.User.definition.coerce(full, 'out', undefined, filter)));
  if (param === 'attributes')
    assert.equal(theirs.schemas, undefined, 'scimmy now keeps schemas with attributes: drop the note');
  assert.deepEqual(served.schemas, full.schemas, 'schemas kept');
  assert.deepEqual(served.meta, full.meta, 'meta kept');
  const ours = clone(served);
  delete ours.schemas;
  delete ours.meta;
  delete theirs.schemas;
  delete theirs.meta;
  assert.deepEqual(ours, theirs, `${param}=${value}`);
}

test('error responses: 400, 401, 404, 409, 412, each an Error message', async () => {
  const user = validate(await scim.call('POST', '/Users', { body: okta('dee@example.com') }), { as: 'User', status: 201 });
  const refusals = [
    [400, 'invalidSyntax', await scim.call('POST', '/Users', { raw: '{"userName": ' })],
    [400, 'invalidSyntax', await scim.call('POST', '/Users', { raw: '[]' })],
    [400, 'invalidValue', await scim.call('POST', '/Users', { body: { schemas: [URN.user] } })],
    [400, 'invalidValue', await scim.call('POST', '/Users', { body: { schemas: [URN.user, 'urn:x:unknown'], userName: 'u' } })],
    [400, 'invalidValue', await scim.call('POST', '/Users', { body: { ...okta('eve@example.com'), active: 'maybe' } })],
    [400, 'invalidFilter', await scim.call('GET', `/Users?filter=${encodeURIComponent('userName eqq "x"')}`)],
    [400, 'invalidFilter', await scim.call('GET', `/Users?filter=${encodeURIComponent('('.repeat(40) + 'userName pr' + ')'.repeat(40))}`)],
    [400, 'invalidPath', await scim.call('PATCH', `/Users/${user.id}`, { body: { schemas: [URN.patch], Operations: [{ op: 'add', path: 'shoeSize', value: 9 }] } })],
    [400, 'noTarget', await scim.call('PATCH', `/Users/${user.id}`, { body: { schemas: [URN.patch], Operations: [{ op: 'remove' }] } })],
    [400, 'mutability', await scim.call('PATCH', `/Users/${user.id}`, { body: { schemas: [URN.patch], Operations: [{ op: 'replace', path: 'id', value: 'x' }] } })],
    [401, undefined, await scim.call('GET', '/Users', { token: null })],
    [401, undefined, await scim.call('GET', '/Users', { token: 'scim_wrong' })],
    [401, undefined, await scim.call('GET', '/ServiceProviderConfig', { token: '' })],
    [404, undefined, await scim.call('GET', '/Users/scu_nobody')],
    [404, undefined, await scim.call('PATCH', '/Users/scu_nobody', { body: { schemas: [URN.patch], Operations: [{ op: 'remove', path: 'title' }] } })],
    [409, 'uniqueness', await scim.call('POST', '/Users', { body: okta('DEE@example.com') })],
    [412, undefined, await scim.call('PUT', `/Users/${user.id}`, { headers: { 'if-match': 'W/"999"' }, body: okta('dee@example.com') })],
  ];
  for (const [status, scimType, r] of refusals) {
    const body = validate(r, { status });
    assert.equal(body.scimType, scimType, r.text);
    if (status === 401) assert.match(r.headers.get('www-authenticate') || '', /^Bearer/);
  }
  // Nothing of it changed the user.
  assert.deepEqual(validate(await scim.call('GET', `/Users/${user.id}`), { as: 'User', status: 200 }), user);
});

// Bodies that once were stored as given and then served as resources scimmy refuses: the
// service now holds a body (and a PATCH's result) to the schema. Each shape is checked to be
// one validate() refuses, so this test keeps meaning what it says.
test('what the schema does not allow is refused, not stored and served', async () => {
  const shapes = [
    ['invalidSyntax', { shoeSize: 9 }],
    ['invalidSyntax', { name: { givenName: 'A', nick: 'x' } }],
    ['invalidSyntax', { emails: [{ value: 'x@example.com', weird: 1 }] }],
    ['invalidSyntax', { [URN.enterprise]: { shoe: 1 } }],
    ['invalidValue', { name: 'A' }],
    ['invalidValue', { title: ['a'] }],
    ['invalidValue', { emails: [{ value: 'x@example.com', primary: 'yes' }] }],
  ];
  const user = validate(await scim.call('POST', '/Users', { body: okta('fay@example.com') }), { as: 'User', status: 201 });
  for (const [scimType, shape] of shapes) {
    const served = { ...user, ...shape };
    if (shape[URN.enterprise]) served.schemas = [URN.user, URN.enterprise];
    assert.throws(() => validate({ status: 200, headers: new Headers({ 'content-type': 'application/scim+json', etag: user.meta.version }),
      json: served, text: JSON.stringify(served) }, { as: 'User' }), undefined, `validate refuses ${JSON.stringify(shape)}`);
    const posted = await scim.call('POST', '/Users', { body: { ...okta('gus@example.com'), ...shape } });
    assert.equal(validate(posted, { status: 400 }).scimType, scimType, posted.text);
    const put = await scim.call('PUT', `/Users/${user.id}`, { body: { ...okta('fay@example.com'), ...shape } });
    assert.equal(validate(put, { status: 400 }).scimType, scimType, put.text);
    const patched = await scim.call('PATCH', `/Users/${user.id}`, { body: { schemas: [URN.patch],
      Operations: [{ op: 'add', value: shape }] } });
    assert.equal(validate(patched, { status: 400 }).status, '400', patched.text);
  }
  assert.deepEqual(validate(await scim.call('GET', `/Users/${user.id}`), { as: 'User', status: 200 }), user);
  validate(await scim.call('GET', `/Users?filter=${encodeURIComponent('userName eq "gus@example.com"')}`), { as: 'ListResponse', status: 200 })
    .Resources.forEach(() => assert.fail('a refused POST stored a user'));
  // A null is an unassigned attribute (RFC 7643 2.5), not one served as null.
  const nulls = validate(await scim.call('POST', '/Users', { body: { ...okta('hal@example.com'), nickName: null, title: 'T' } }),
    { as: 'User', status: 201 });
  assert.equal('nickName' in nulls, false);
});

// The validator itself: each of these breaks one rule it enforces.
test('validate() refuses what is not a SCIM response', () => {
  const ok = { schemas: [URN.user], id: 'u1', userName: 'u', active: true,
    meta: { resourceType: 'User', version: 'W/"1"', location: 'https://x/Users/u1', created: '2026-01-01T00:00:00Z' } };
  const answer = (json, { status = 200, type = 'application/scim+json', etag = 'W/"1"' } = {}) =>
    ({ status, headers: new Headers({ 'content-type': type, etag }), json, text: JSON.stringify(json) });
  validate(answer(ok), { as: 'User' });
  const broken = [
    [answer(ok, { type: 'application/json' }), 'User'],
    [answer(ok, { etag: 'W/"2"' }), 'User'],
    [answer({ ...ok, active: 'yes' }), 'User'],
    [answer({ ...ok, userName: undefined }), 'User'],
    [answer({ ...ok, id: undefined }), 'User'],
    [answer({ ...ok, schemas: [URN.group] }), 'User'],
    [answer({ ...ok, [URN.enterprise]: { department: 'D' } }), 'User'],
    [answer({ ...ok, meta: { ...ok.meta, resourceType: 'Group' } }), 'User'],
    [answer({ schemas: [URN.error], status: 400, scimType: 'invalidValue' }, { status: 400 }), 'Error'],
    [answer({ schemas: [URN.error], status: '409', scimType: 'invalidValue' }, { status: 409 }), 'Error'],
    [answer({ schemas: [URN.error], status: '400', scimType: 'badThing' }, { status: 400 }), 'Error'],
    [answer({ schemas: [URN.list], totalResults: 1, itemsPerPage: 2, startIndex: 1, Resources: [ok] }), 'ListResponse'],
    [answer({ schemas: [URN.list], totalResults: 1, itemsPerPage: 1, startIndex: 0, Resources: [ok] }), 'ListResponse'],
    [answer({ schemas: [URN.list], totalResults: '1', itemsPerPage: 1, startIndex: 1, Resources: [ok] }), 'ListResponse'],
  ];
  for (const [r, as] of broken)
    assert.throws(() => validate(r, { as: as === 'Error' ? undefined : as }), undefined, r.text);
});

// ---- the PATCH differential through the service -----------------------------------------

// A case's resource as an IdP would POST it: without what the server assigns.
const postable = (resource) => { const r = clone(resource); delete r.id; delete r.meta; return r; };
// A served resource without what the server assigns (id, meta) and adds (a User's read-only
// groups, when the case's resource has none).
const comparable = (served, given) => {
  const r = clone(served);
  delete r.id;
  delete r.meta;
  if (given.groups === undefined) delete r.groups;
  return r;
};

// A case's resource goes to its endpoint. A Group's members must be users of the directory:
// each member id a case names (a UUID) stands for a user made once for the run, its id put in
// the case's resource and patch (in the case's letter case: values compare case-insensitively)
// and the served members read back as the case's ids. The service serves every member with
// its display, $ref and type, and in no defined order (RFC 7643 2.4): members compare as the
// sorted list of their values.
const ENDPOINTS = { [CORE_USER]: ['/Users', 'User'], [CORE_GROUP]: ['/Groups', 'Group'] };
const members = new Map(); // case member id (lower case) -> user id
const memberOf = async (caseId) => {
  const key = caseId.toLowerCase();
  if (!members.has(key)) {
    const made = validate(await scim.call('POST', '/Users', { body: okta(`m-${key}@example.com`) }),
      { as: 'User', status: 201 });
    members.set(key, made.id);
  }
  return members.get(key);
};
// The member ids a Group case names: the values of every "members" array (of the resource, or
// of an op's value object), of an op's value when its path is members, and of a filter
// `members[value eq "..."]` in a path.
const memberIdsOf = (c) => {
  const ids = new Set();
  const walk = (x, key) => {
    if (Array.isArray(x)) {
      for (const e of x) {
        if (/^members$/i.test(key) && e && typeof e.value === 'string') ids.add(e.value);
        walk(e, key);
      }
    } else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) walk(v, k);
    }
  };
  walk(c.resource.members, 'members');
  for (const op of c.patch.Operations || []) {
    const path = typeof op.path === 'string' ? op.path : '';
    walk(op.value, /^members$/i.test(path) ? 'members' : '');
    for (const m of path.matchAll(/value eq "([^"]+)"/gi)) ids.add(m[1]);
  }
  return ids;
};
// The case with its member ids replaced by users' ids, in the case's letter case.
const withUsers = async (c) => {
  let text = JSON.stringify({ resource: c.resource, patch: c.patch });
  for (const id of memberIdsOf(c)) {
    const user = await memberOf(id);
    const spelled = id !== id.toLowerCase() && id === id.toUpperCase() ? user.toUpperCase() : user;
    text = text.split(`"${id}"`).join(`"${spelled}"`).split(`\\"${id}\\"`).join(`\\"${spelled}\\"`);
  }
  return JSON.parse(text);
};
const caseIdOf = (userId) => [...members].find(([, u]) => u === userId)?.[0] ?? userId;
const membersComparable = (r, back) => {
  if (r.members === undefined) return;
  r.members = r.members.map((m) => (back ? caseIdOf(m.value) : m.value).toLowerCase()).sort();
  if (r.members.length === 0) delete r.members;
};
const comparableGroup = (served, back) => { const r = comparable(served, {}); membersComparable(r, back); return r; };
const expectedGroup = (resource) => { const r = postable(resource); membersComparable(r, false); return r; };

test('the PATCH corpus goes through the service: every case has its endpoint', () => {
  assert.ok(CASES.every((c) => ENDPOINTS[c.resource.schemas[0]]), 'a case of no endpoint');
  assert.ok(CASES.filter((c) => c.resource.schemas[0] === CORE_GROUP).length >= 10, 'Group cases');
  assert.ok(CASES.filter((c) => c.resource.schemas[0] === CORE_USER).length >= 40, 'User cases');
});

for (const c of CASES) {
  test(`patch through the service: ${c.name}`, async () => {
    const [endpoint, as] = ENDPOINTS[c.resource.schemas[0]];
    const group = as === 'Group';
    const want = expectation(c);
    const real = group ? await withUsers(c) : c;
    const made = validate(await scim.call('POST', endpoint, { body: postable(real.resource) }), { as, status: 201 });
    // A patch that repeats the resource's id (Okta's rename) names the id the service made.
    const patchBody = JSON.parse(JSON.stringify(real.patch).split(`"${c.resource.id}"`).join(`"${made.id}"`));
    const read = async () => validate(await scim.call('GET', `${endpoint}/${made.id}`), { as, status: 200 });
    try {
      if (group)
        assert.deepEqual(comparableGroup(made, false), expectedGroup(real.resource), 'the group stored as given');
      else
        assert.deepEqual(comparable(made, c.resource), postable(c.resource), 'the resource stored as given');
      const r = await scim.call('PATCH', `${endpoint}/${made.id}`, { body: patchBody });
      if (want.error) {
        const error = validate(r, { status: 400 });
        assert.equal(error.scimType, want.error, error.detail);
        assert.deepEqual(await read(), made, 'a refused PATCH changes nothing');
        return;
      }
      // A group's PATCH answers 204 with the ETag (Okta's documented answer): read it back.
      const patched = group && r.status === 204 ? await read() : validate(r, { as, status: 200 });
      if (group && r.status === 204)
        assert.equal(r.headers.get('etag'), patched.meta.version, 'the 204 names the new version');
      const note = c.departs ? `the RFC's reading (${c.departs})` : 'the same resource (service vs scim-patch)';
      if (group)
        assert.deepEqual(comparableGroup(patched, true), expectedGroup(want.resource), note);
      else
        assert.deepEqual(comparable(patched, c.resource), postable(want.resource), note);
      assert.deepEqual(await read(), patched, 'stored as answered');
    } finally {
      validate(await scim.call('DELETE', `${endpoint}/${made.id}`), { status: 204 });
    }
  });
}
