-- revoke_session: marks a live session revoked. The hash stays (a tombstone) until its TTL, the
-- session's end, so a late use of either token is still refused as revoked.
-- KEYS[1]: the session hash. ARGV[1]: now.
-- Returns 1 if the session was live, else 0 (unknown, already revoked, or ended).
local f = redis.call('HMGET', KEYS[1], 'rev', 're')
if f[1] ~= '0' or not f[2] then
  return 0
end
if not lt(ARGV[1], f[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'rev', '1')
return 1
