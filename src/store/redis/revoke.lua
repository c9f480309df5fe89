-- revoke: marks a live session revoked. The hash stays (a tombstone) until its TTL, the
-- session's end, so a late use of either token is still refused as revoked.
-- KEYS[1]: the session hash. ARGV[1]: now. ARGV[2] (only when revoking through the subject
-- index): the TTL in milliseconds of a tombstone to plant if the session is not there yet.
-- An indexed id whose session is missing belongs to a login still between its two steps (index,
-- then session): the tombstone makes that login write its session revoked (see create.lua),
-- rather than leave a live session that the index no longer lists.
-- Returns 1 if the session was live, else 0 (unknown, already revoked, or ended).
local f = redis.call('HMGET', KEYS[1], 'rev', 're')
if not f[1] then
  if ARGV[2] and tonumber(ARGV[2]) > 0 then
    redis.call('HSET', KEYS[1], 'rev', '1')
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return 0
end
if f[1] ~= '0' or not f[2] then
  return 0
end
if not lt(ARGV[1], f[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'rev', '1')
return 1
