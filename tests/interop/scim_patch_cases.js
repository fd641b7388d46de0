// The PATCH requests of the differential tests against npm scim-patch, shared by
// scim_patch.test.js (the C engine alone, `test-scim --patch`) and scim_responses.test.js (the
// same requests through the real service): the shapes Okta and Entra ID send (from their public
// SCIM docs), then every op form and edge cases, each on the resource it applies to.
//
// Where the library departs from the RFC, the request carries `departs` (why) and the RFC's
// reading, which our side must give: `rfc` (the resource given, changed by a function) or
// `error` (the scimType); `libraryRefuses` when the library refuses it too, otherwise.
'use strict';
const assert = require('node:assert/strict');
const { scimPatch, patchBodyValidation } = require('scim-patch');
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

// An Okta-shaped user (with the enterprise extension), an Entra-shaped one, a group.
const OKTA_USER = {
  schemas: [CORE_USER, ENTERPRISE],
  id: '2819c223-7f76-453a-919d-413861904646',
  externalId: '00u1abcd',
  userName: 'bjensen@example.com',
  displayName: 'Babs Jensen',
  active: true,
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@home.org', type: 'home' },
  ],
  meta: { resourceType: 'User', created: '2026-01-02T03:04:05Z', version: 'W/"a1"' },
  [ENTERPRISE]: { employeeNumber: '701984', manager: { value: '26118915' } },
};
const ENTRA_USER = {
  schemas: [CORE_USER],
  id: '902c246b-6245-4190-8e05-00816be7344a',
  externalId: '7a1b2c3d',
  userName: 'Mark.Doe@contoso.com',
  active: true,
  emails: [{ value: 'mark.doe@contoso.com', type: 'work', primary: true }],
  meta: { resourceType: 'User' },
};
const GROUP = {
  schemas: [CORE_GROUP],
  id: 'e9e30dba-f08f-4109-8486-d5c6a331660a',
  displayName: 'Tour Guides',
  members: [
    { value: '2819c223-7f76-453a-919d-413861904646' },
    { value: '902c246b-6245-4190-8e05-00816be7344a' },
  ],
  meta: { resourceType: 'Group' },
};
const BABS = GROUP.members[0].value;
const MARK = GROUP.members[1].value;

const clone = (x) => JSON.parse(JSON.stringify(x));
const body = (Operations) => ({ schemas: [PATCH_OP], Operations });
// rfc helpers: the resource given, changed
const changed = (resource, change) => () => { const r = clone(resource); change(r); return r; };

const CASES = [
  // Entra ID (learn.microsoft.com, "Tutorial: Develop and plan provisioning for a SCIM endpoint")
  { name: 'Entra: disable a user with "False"', resource: ENTRA_USER,
    patch: body([{ op: 'Replace', path: 'active', value: 'False' }]),
    departs: 'the library stores the string; active is a boolean (RFC 7643 4.1.1), and Entra ' +
      'sends "False" for false',
    rfc: changed(ENTRA_USER, (r) => { r.active = false; }) },
  { name: 'Entra: replace userName, Replace capitalised', resource: ENTRA_USER,
    patch: body([{ op: 'Replace', path: 'userName', value: 'mark.d@contoso.com' }]) },
  { name: 'Entra: add a member', resource: GROUP,
    patch: body([{ op: 'Add', path: 'members', value: [{ value: 'c0ffee00' }] }]) },
  { name: 'Entra: remove a member by filter', resource: GROUP,
    patch: body([{ op: 'Remove', path: `members[value eq "${BABS}"]` }]) },
  { name: 'Entra: remove a member by value', resource: GROUP,
    patch: body([{ op: 'Remove', path: 'members', value: [{ value: MARK }] }]) },
  { name: 'Entra: replace displayName of a group', resource: GROUP,
    patch: body([{ op: 'Replace', path: 'displayName', value: 'Guides' }]) },
  { name: 'Entra: replace the work email through a filter', resource: ENTRA_USER,
    patch: body([{ op: 'Replace', path: 'emails[type eq "work"].value', value: 'm@contoso.com' }]) },
  { name: 'Entra: add an absent work phone through a filter', resource: ENTRA_USER,
    patch: body([{ op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '555-0100' }]) },
  { name: 'Entra: enterprise attribute with the URN as prefix', resource: OKTA_USER,
    patch: body([{ op: 'Add', path: `${ENTERPRISE}:department`, value: 'Tour Operations' }]) },
  { name: 'Entra: enterprise manager by the URN prefix', resource: OKTA_USER,
    patch: body([{ op: 'Replace', path: `${ENTERPRISE}:manager`, value: { value: 'e1' } }]) },
  { name: 'Entra: several ops in one request', resource: ENTRA_USER,
    patch: body([
      { op: 'Replace', path: 'displayName', value: 'Mark Doe' },
      { op: 'Add', path: 'title', value: 'Engineer' },
      { op: 'Replace', path: 'name.givenName', value: 'Mark' },
    ]) },
  // Okta (developer.okta.com, "SCIM 2.0 protocol reference")
  { name: 'Okta: deactivate without a path', resource: OKTA_USER,
    patch: body([{ op: 'replace', value: { active: false } }]) },
  { name: 'Okta: reactivate without a path', resource: ENTRA_USER,
    patch: body([{ op: 'replace', value: { active: true } }]) },
  { name: 'Okta: remove a member by filter', resource: GROUP,
    patch: body([{ op: 'remove', path: `members[value eq "${MARK}"]` }]) },
  { name: 'Okta: add members', resource: GROUP,
    patch: body([{ op: 'add', path: 'members',
      value: [{ value: 'a1', display: 'A One' }, { value: 'a2', display: 'A Two' }] }]) },
  { name: 'a user replaced without a path, its id repeated', resource: OKTA_USER,
    patch: body([{ op: 'replace', value: { id: OKTA_USER.id, displayName: 'Babs J' } }]) },
  { name: 'Okta: rename a group without a path', resource: GROUP,
    patch: body([{ op: 'replace', value: { id: GROUP.id, displayName: 'Guides' } }]) },
  { name: 'Okta: replace all members', resource: GROUP,
    patch: body([{ op: 'replace', path: 'members', value: [{ value: 'z1' }] }]) },
  // every form
  { name: 'add a new attribute', resource: ENTRA_USER,
    patch: body([{ op: 'add', path: 'nickName', value: 'Marky' }]) },
  { name: 'add replaces a single value', resource: OKTA_USER,
    patch: body([{ op: 'add', path: 'displayName', value: 'Barbara J' }]) },
  { name: 'add appends emails not already there', resource: OKTA_USER,
    patch: body([{ op: 'add', path: 'emails',
      value: [{ value: 'babs@home.org', type: 'home' }, { value: 'b@x.org', type: 'other' }] }]) },
  { name: 'add a sub-attribute', resource: OKTA_USER,
    patch: body([{ op: 'add', path: 'name.middleName', value: 'Jane' }]) },
  { name: 'add a complex value merges', resource: OKTA_USER,
    patch: body([{ op: 'add', path: 'name', value: { honorificPrefix: 'Ms.' } }]) },
  { name: 'replace a complex value merges (sub-attributes not given stay)', resource: OKTA_USER,
    patch: body([{ op: 'replace', path: 'name', value: { givenName: 'Babs' } }]) },
  { name: 'add without a path, several attributes', resource: ENTRA_USER,
    patch: body([{ op: 'add', value: { title: 'Engineer', nickName: 'Marky' } }]) },
  { name: 'add without a path, a dotted key', resource: OKTA_USER,
    patch: body([{ op: 'add', value: { 'name.givenName': 'Babs' } }]) },
  { name: 'replace the whole emails', resource: OKTA_USER,
    patch: body([{ op: 'replace', path: 'emails', value: [{ value: 'n@x.org', type: 'work' }] }]) },
  { name: 'replace an element through a filter', resource: OKTA_USER,
    patch: body([{ op: 'replace', path: 'emails[type eq "home"]',
      value: { value: 'new@home.org', type: 'home' } }]) },
  { name: 'replace a filtered sub-attribute with and', resource: OKTA_USER,
    patch: body([{ op: 'replace', path: 'emails[type eq "work" and primary eq true].value',
      value: 'b@work.example' }]) },
  { name: 'remove an attribute', resource: OKTA_USER,
    patch: body([{ op: 'remove', path: 'displayName' }]) },
  { name: 'remove a sub-attribute', resource: OKTA_USER,
    patch: body([{ op: 'remove', path: 'name.familyName' }]) },
  { name: 'remove filtered emails', resource: OKTA_USER,
    patch: body([{ op: 'remove', path: 'emails[type eq "home"]' }]) },
  { name: 'remove the last email: the attribute goes', resource: ENTRA_USER,
    patch: body([{ op: 'remove', path: 'emails[type eq "work"]' }]) },
  { name: 'remove an absent attribute changes nothing', resource: ENTRA_USER,
    patch: body([{ op: 'remove', path: 'nickName' }]) },
  { name: 'remove all members', resource: GROUP,
    patch: body([{ op: 'remove', path: 'members' }]) },
  { name: 'remove an enterprise attribute by the URN prefix', resource: OKTA_USER,
    patch: body([{ op: 'remove', path: `${ENTERPRISE}:employeeNumber` }]) },
  { name: 'core schema URN as prefix', resource: OKTA_USER,
    patch: body([{ op: 'replace', path: `${CORE_USER}:displayName`, value: 'B' }]) },
  { name: 'replace of a missing sub-attribute through a filter becomes add', resource: OKTA_USER,
    patch: body([{ op: 'replace', path: 'emails[type eq "home"].display', value: 'Home' }]) },
  // refused by both
  { name: 'wrong schemas', resource: ENTRA_USER,
    patch: { schemas: [CORE_USER], Operations: [{ op: 'remove', path: 'title' }] },
    error: 'invalidSyntax' },
  { name: 'no Operations', resource: ENTRA_USER, patch: { schemas: [PATCH_OP] },
    error: 'invalidSyntax' },
  { name: 'empty Operations', resource: ENTRA_USER, patch: body([]), error: 'invalidSyntax' },
  { name: 'unknown op', resource: ENTRA_USER, patch: body([{ op: 'move', path: 'title' }]),
    error: 'invalidSyntax' },
  { name: 'remove without a path', resource: ENTRA_USER, patch: body([{ op: 'remove' }]),
    error: 'noTarget' },
  { name: 'add without a value', resource: ENTRA_USER, patch: body([{ op: 'add', path: 'title' }]),
    error: 'invalidSyntax' },
  { name: 'path not a string', resource: ENTRA_USER,
    patch: body([{ op: 'remove', path: 7 }]), error: 'invalidPath' },
  { name: 'replace through a filter matching nothing', resource: ENTRA_USER,
    patch: body([{ op: 'replace', path: 'emails[value co "nowhere"]', value: { value: 'x' } }]),
    error: 'noTarget' },
  // where the library departs from the RFC
  { name: 'Entra: a second member add with the one already there', resource: GROUP,
    patch: body([{ op: 'Add', path: 'members', value: [{ value: BABS, display: 'Babs' }] }]),
    departs: 'the library compares whole objects; a member is its value (RFC 7643 4.2), so a ' +
      'member already there is not added twice',
    rfc: changed(GROUP, () => {}) },
  { name: 'add members without a path', resource: GROUP,
    patch: body([{ op: 'add', value: { members: [{ value: BABS }, { value: 'n1' }] } }]),
    departs: 'without a path the library appends every value, duplicates too; RFC 7644 ' +
      '3.5.2.1: values already there are not added again',
    rfc: changed(GROUP, (r) => { r.members.push({ value: 'n1' }); }) },
  { name: 'remove a member that is not there', resource: GROUP,
    patch: body([{ op: 'remove', path: 'members[value eq "nobody"]' }]),
    departs: 'the library changes nothing; RFC 7644 3.5.2: a filter that yields no match is ' +
      'noTarget', error: 'noTarget' },
  { name: 'Entra: remove a member by value, the stored one with a display', resource:
      { ...GROUP, members: [{ value: BABS, display: 'Babs' }, { value: MARK }] },
    patch: body([{ op: 'Remove', path: 'members', value: [{ value: BABS }] }]),
    departs: 'the library removes only equal objects; a member is named by its value',
    rfc: () => ({ ...clone(GROUP), members: [{ value: MARK }] }) },
  { name: 'replace without a path keeps the sub-attributes not given', resource: OKTA_USER,
    patch: body([{ op: 'replace', value: { name: { givenName: 'Babs' } } }]),
    departs: 'the library replaces the whole name; RFC 7644 3.5.2.3: sub-attributes not ' +
      'given are left unchanged', rfc: changed(OKTA_USER, (r) => { r.name.givenName = 'Babs'; }) },
  { name: 'an extension attribute on a user without the extension', resource: ENTRA_USER,
    patch: body([{ op: 'add', path: `${ENTERPRISE}:costCenter`, value: '4130' }]),
    departs: 'the library leaves schemas alone; RFC 7643 3: schemas lists the schemas of the ' +
      'attributes present',
    rfc: changed(ENTRA_USER, (r) => { r.schemas.push(ENTERPRISE); r[ENTERPRISE] = { costCenter: '4130' }; }) },
  { name: 'change the id', resource: ENTRA_USER,
    patch: body([{ op: 'replace', path: 'id', value: 'other' }]),
    departs: 'the library changes it; id is readOnly (RFC 7643 3.1): mutability',
    error: 'mutability' },
  { name: 'change meta', resource: ENTRA_USER,
    patch: body([{ op: 'replace', value: { meta: { resourceType: 'Group' } } }]),
    departs: 'the library changes it; meta is readOnly', error: 'mutability' },
  { name: 'an attribute outside the schema', resource: ENTRA_USER,
    patch: body([{ op: 'add', path: 'shoeSize', value: '9' }]),
    departs: 'the library adds anything; RFC 7644 3.5.2: a path naming no attribute of the ' +
      'schema is invalidPath', error: 'invalidPath' },
  { name: 'a string where a boolean goes', resource: ENTRA_USER,
    patch: body([{ op: 'replace', path: 'active', value: 'maybe' }]),
    departs: 'the library stores it; RFC 7644 3.12: invalidValue', error: 'invalidValue' },
  { name: 'remove userName', resource: ENTRA_USER,
    patch: body([{ op: 'remove', path: 'userName' }]),
    departs: 'the library removes it; userName is required (RFC 7643 4.1.1)',
    error: 'invalidValue' },
  { name: 'a malformed filter', resource: ENTRA_USER,
    patch: body([{ op: 'remove', path: 'emails[type eqq "work"]' }]),
    departs: 'the library refuses it only when applying, as InvalidScimPatchOp; the RFC ' +
      'reading is invalidPath', error: 'invalidPath', libraryRefuses: true },
];

// The library's reading: the new resource, or { refused } with its error.
function jsApply(resource, patch) {
  try {
    patchBodyValidation(patch);
    return { resource: scimPatch(clone(resource), patch.Operations,
      { mutateDocument: false, treatMissingAsAdd: true }) };
  } catch (error) {
    return { refused: `${error.name}: ${error.message}` };
  }
}

// What our side must give for case c: { resource } or { error } (a scimType). On the way it
// holds the library to the case's notes: where there is none it gives that same reading (and
// leaves the resource given as it was), and where there is one it still differs, so a note
// cannot outlive the difference it explains.
function expectation(c) {
  const given = clone(c.resource);
  const js = jsApply(c.resource, c.patch);
  assert.deepEqual(c.resource, given, 'the library changed the resource given');
  if (!c.departs) {
    if (c.error) {
      assert.ok(js.refused, 'the library refuses it too');
      return { error: c.error };
    }
    assert.ok(!js.refused, js.refused);
    return { resource: js.resource };
  }
  if (c.error) {
    if (c.libraryRefuses)
      assert.ok(js.refused && !/InvalidScimPatchRequest/.test(js.refused), js.refused);
    else
      assert.ok(!js.refused, `the library now refuses it (${js.refused}): drop the note`);
    return { error: c.error };
  }
  const rfc = c.rfc();
  assert.ok(js.refused || JSON.stringify(js.resource) !== JSON.stringify(rfc),
    'the library now agrees with the RFC here: drop the departure note');
  return { resource: rfc };
}

module.exports = {
  PATCH_OP, CORE_USER, CORE_GROUP, ENTERPRISE, OKTA_USER, ENTRA_USER, GROUP, BABS, MARK,
  CASES, clone, body, jsApply, expectation,
};
