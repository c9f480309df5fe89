-- After a refresh revoked a session (theft or reuse) on the main connection: writes the mark
-- again on the connection that waits for replicas, so that connection's last write lies at or
-- after the revocation in the replication stream and its WAIT covers the revocation too.
-- KEYS[1]: the session hash. Returns 1 if the session is still there.
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'rev', '1')
  return 1
end
return 0
