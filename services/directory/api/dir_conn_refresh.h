/* dir_conn_refresh: the scheduled refresh of SAML connections' IdP metadata URLs, and the event
   log's warnings before an IdP certificate expires. Driven by the directory loop's tick
   (sso_service_def_t.tick), between batches: the fetches run on a thread of their own, and a
   later tick applies what they brought in one write, so the loop never waits on an IdP. */
#ifndef DIR_CONN_REFRESH_H
#define DIR_CONN_REFRESH_H
#include "api/dir_api.h"

/* How many connections one round fetches (one after another, on its thread). */
#define DIR_CONN_REFRESH_ROUND 4
/* How often the tick looks for connections that are due (a read, a write only to claim). */
#define DIR_CONN_REFRESH_LOOK_S 5
/* How often the certificates are checked for their expiry. */
#define DIR_CONN_REFRESH_EXPIRY_LOOK_S 3600
/* Every event and log line of a refresh begins with it. */
#define DIR_CONN_REFRESH_REASON "IdP metadata refresh: "

/* The loop's timer work, never blocking on the network: takes a finished round's results
   (each applied in a write of its own: new certificates, which change the connection's
   version, so the saml service reads it again at the next login; or the last good ones kept
   and the reason recorded and logged as a failure event); when no round is in flight and a
   look is due (force: now), claims up to DIR_CONN_REFRESH_ROUND connections whose refresh is
   due (their next time moved on first, jittered by ±10% of dir->metadata_refresh_s, so that
   no other directory instance fetches them too) and starts their fetches on a thread; and
   hourly (force: now) warns of certificates that expire within 30, 7 and 1 days, once per
   threshold and certificate. */
void dir_conn_refresh_tick(dir_t *dir, bool force);

/* Waits for the fetch in progress of a round in flight (bounded by its timeout; the round's
   other fetches are skipped), drops the round's results and frees dir->conn_refresh. For the
   directory's stop, and tests. */
void dir_conn_refresh_stop(dir_t *dir);

/* After a create or a change of connection id (in the same write): url is its metadata URL
   now (NULL: none, the schedule goes), fetched whether this request took the metadata from it
   (the schedule starts over: refreshed now, no error, next in one period). Failures are
   logged only: a connection without a schedule is due at once. */
void dir_conn_refresh_imported(dir_t *dir, const char *id, const char *url, bool fetched);

/* Adds to a SAML connection's "saml" object: metadata_refreshed_at (the last good document's
   time: import or refresh), metadata_next_refresh_at and metadata_refresh_error (each null
   when there is none). */
void dir_conn_refresh_json(dir_t *dir, const char *id, json_t *saml);

void dir_conn_refresh_test(bool verbose);
#endif
