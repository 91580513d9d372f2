-- A running job belongs to its claimant only while the lease is renewed: with several replicas on
-- one database, a replica that starts (or recovers) takes back only jobs whose claimant stopped.
ALTER TABLE jobs ADD COLUMN lease_until TEXT;
