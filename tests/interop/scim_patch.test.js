// The SCIM PATCH engine (services/scim/scim_patch.c) against npm scim-patch, a widely used
// JavaScript implementation of RFC 7644 3.5.2: each request of scim_patch_cases.js (the shapes
// Okta and Entra ID send, from their public SCIM docs, then every op form and edge cases) is
// applied to the same resource by both, and both must give the same resource, or both refuse
// it. The C side is `test-scim --patch` ({resource, patch} on stdin; the new resource or the
// SCIM error out). Where the library departs from the RFC, the case's note says why and what
// the C module must give instead (scim_patch_cases.js's `expectation`). scim_responses.test.js
// sends the same requests through the real service.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = process.env.SSO_BUILD_DIR || path.join(ROOT, 'build');
const TEST_SCIM = path.join(BUILD, 'bin', 'test-scim');
const { CASES, GROUP, BABS, MARK, body, expectation, jsApply } = require('./scim_patch_cases');

function cApply(resource, patch) {
  const run = spawnSync(TEST_SCIM, ['--patch'], { input: JSON.stringify({ resource, patch }),
    encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

test('the corpus is large enough and holds the IdPs\' shapes', () => {
  assert.ok(CASES.length >= 40, `${CASES.length} requests`);
  for (const op of ['Add', 'Replace', 'Remove', 'add', 'replace', 'remove'])
    assert.ok(CASES.some((c) => (c.patch.Operations || []).some((o) => o.op === op)), op);
});

for (const c of CASES) {
  test(`patch: ${c.name}`, () => {
    const want = expectation(c);
    const out = cApply(c.resource, c.patch);
    if (want.error) {
      assert.equal(out.status, 400, JSON.stringify(out));
      assert.equal(out.scimType, want.error, out.detail);
      return;
    }
    assert.ok(out.resource, JSON.stringify(out));
    assert.deepEqual(out.resource, want.resource,
      c.departs ? `the RFC's reading (${c.departs})` : 'the same resource (C vs JS)');
  });
}

test('a group\'s members come back with the delta', () => {
  const out = cApply(GROUP, body([
    { op: 'Add', path: 'members', value: [{ value: 'n1' }, { value: BABS }] },
    { op: 'Remove', path: `members[value eq "${MARK}"]` },
  ]));
  assert.deepEqual(out.added, ['n1']);
  assert.deepEqual(out.removed, [MARK]);
});

test('10,000 members added in one op, then removed in 10,000 ops, agree with the library', () => {
  const ids = Array.from({ length: 10000 }, (_, i) => `m${String(i).padStart(5, '0')}`);
  const add = body([{ op: 'Add', path: 'members', value: ids.map((value) => ({ value })) }]);
  const grown = cApply(GROUP, add);
  assert.deepEqual(grown.resource, jsApply(GROUP, add).resource);
  assert.equal(grown.added.length, 10000);
  const remove = body(ids.map((id) => ({ op: 'Remove', path: `members[value eq "${id}"]` })));
  const shrunk = cApply(grown.resource, remove);
  assert.deepEqual(shrunk.resource, GROUP);
  assert.deepEqual(shrunk.resource, jsApply(grown.resource, remove).resource);
  assert.equal(shrunk.removed.length, 10000);
});

test('test-scim --help documents --patch', () => {
  const run = spawnSync(TEST_SCIM, ['--help'], { encoding: 'utf8' });
  assert.equal(run.status, 0);
  assert.match(run.stdout, /--patch/);
});
