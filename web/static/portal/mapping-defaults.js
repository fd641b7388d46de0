// mapping-defaults.js: where the broker reads each profile field from when a connection maps
// none: the SAML attribute names of services/saml/saml_attributes.c (s_default_*; any case, the
// first one the IdP sends) and the OIDC claims of services/oidc/oidc_claims.c. Data only, so
// that tests/interop/portal_mapping.test.js can check it against those sources.

const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/';

// The profile fields a mapping may set (dir_conn_options.c s_fields), with their labels.
export const MAPPING_FIELDS = [
  ['email', 'Email'],
  ['name', 'Name (display name)'],
  ['given_name', 'Given name'],
  ['family_name', 'Family name'],
  ['groups', 'Groups'],
];

// The value that takes a field from the SAML assertion's NameID instead of an attribute.
export const NAMEID_SOURCE = '$nameid';

export const SAML_DEFAULTS = {
  email: ['email', 'mail', 'emailAddress', 'email_address', 'User.Email', `${CLAIMS}emailaddress`,
    'http://schemas.xmlsoap.org/claims/EmailAddress', 'urn:oid:0.9.2342.19200300.100.1.3'],
  given_name: ['firstName', 'first_name', 'givenName', 'given_name', 'User.FirstName',
    `${CLAIMS}givenname`, 'urn:oid:2.5.4.42'],
  family_name: ['lastName', 'last_name', 'surname', 'surName', 'sn', 'familyName', 'family_name',
    'User.LastName', `${CLAIMS}surname`, 'urn:oid:2.5.4.4'],
  name: ['name', 'displayName', 'display_name', 'fullName', 'full_name',
    'http://schemas.microsoft.com/identity/claims/displayname',
    'urn:oid:2.16.840.1.113730.3.1.241', 'urn:oid:2.5.4.3'],
  groups: ['groups', 'memberOf', 'member_of', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
    'http://schemas.xmlsoap.org/claims/Group', 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1'],
};

// What the broker falls back to after the names (SAML: also when the field is mapped, for the
// email; only when unmapped, for the name).
export const SAML_FALLBACKS = {
  email: 'Mapped or not, an emailAddress NameID fills it when no value came.',
  name: `Else the given and family names, else Entra ID's ${CLAIMS}name (its UPN).`,
};

export const OIDC_DEFAULTS = {
  email: ['email'],
  given_name: ['given_name'],
  family_name: ['family_name'],
  name: ['name'],
  groups: ['groups', 'roles'],
};

export const OIDC_FALLBACKS = {
  email: 'Else upn, else preferred_username, when it reads as an email address (never as verified).',
};
