-- NOT TO MERGE: a stand-in for branch i21-idpinit's migration 0013, so that this branch's 0014
-- numbers without a gap (scripts/gen_migrations.py). The lead drops this file at the merge.
SELECT 1;
